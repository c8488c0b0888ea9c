"""Cursor IDE conversations → Markdown: composers, legacy chats, the prompt history.

Input: a version's raw file (:mod:`.records` layout). A composer is shown in the order of
``fullConversationHeadersOnly`` (or its inline ``conversation[]``); bubbles of the composer
that the header does not name (rewound or replaced turns) follow under "Other messages".
Consecutive assistant bubbles (Cursor splits one answer into thinking, tool and text
bubbles) share one heading. Shown per bubble: thinking (collapsed), text, code blocks not
already in the text, tool calls with arguments and results, attached files and selections.
Bad lines and bubbles that do not parse are marked; nothing raises.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import markdown as md
from ..jsonl import BadLine
from ..timestamps import format_time, parse_time
from .messages import MessageStats, bubble_role, bubble_text
from .records import Record, iter_records
from .render_parts import collapse, header, tool_call, tool_output
from .vscdb import BUBBLE_PREFIX, COMPOSER_PREFIX, header_bubble_ids, inline_bubbles

__all__ = ["render_chat", "render_composer", "render_prompts"]


def _split(data: bytes) -> tuple[list[Record], list[BadLine]]:
    records: list[Record] = []
    bad: list[BadLine] = []
    for item in iter_records(data):
        (records if isinstance(item, Record) else bad).append(item)  # type: ignore[arg-type]
    return records, bad


def _bad_notes(doc: md.Document, bad: list[BadLine], name: str) -> None:
    for line in bad:
        doc.add(md.bad_line_note(line.number, line.size, line.reason, name))


# -- composers ------------------------------------------------------------------------------


def render_composer(data: bytes, meta: Mapping[str, Any]) -> str:
    """Render a composer version (``composer.jsonl``, global or workspace inline)."""
    doc = md.Document()
    records, bad = _split(data)
    head: Record | None = None
    bubbles: dict[str, tuple[Record, Any]] = {}
    order: list[str] = []
    for record in records:
        if head is None and (
            record.key.startswith(COMPOSER_PREFIX) or record.element_of == "/allComposers"
        ):
            head = record
        elif record.key.startswith(BUBBLE_PREFIX):
            bid = record.key.rsplit(":", 1)[-1]
            bubbles[bid] = (record, record.json()[0])
            order.append(bid)
    parsed, reason = head.json() if head is not None else (None, "missing")
    composer = parsed if isinstance(parsed, dict) else {}
    stats = MessageStats()
    for _, value in bubbles.values():
        stats.feed_bubble(value)
    inline = inline_bubbles(composer)
    for bubble in inline:
        stats.feed_bubble(bubble)
    cid = composer.get("composerId") if isinstance(composer.get("composerId"), str) else None
    if cid is None and head is not None and head.key.startswith(COMPOSER_PREFIX):
        cid = head.key[len(COMPOSER_PREFIX) :]
    attributes = meta.get("attributes") if isinstance(meta.get("attributes"), Mapping) else {}
    mode = composer.get("unifiedMode") or composer.get("forceMode")
    header(doc, meta, "Untitled", [
        ("Composer", md.code_span(cid) if cid else None),
        ("Mode", md.escape_inline(mode) if isinstance(mode, str) else None),
        ("Status", md.escape_inline(composer["status"]) if isinstance(composer.get("status"), str)
         else None),
        ("Models", ", ".join(md.code_span(m) for m in stats.models)),
        ("Messages", stats.messages or None),
        ("Storage", "workspace database (old inline format)"
         if attributes.get("kind") == "workspace-composer" else None),
    ])
    if head is None or reason:
        doc.add(md.note(f"⚠ the conversation header could not be read ({reason})"))
    _bad_notes(doc, bad, "composer.jsonl")

    renderer = _Bubbles(doc)
    doc.heading(2, "Conversation")
    named = header_bubble_ids(composer)
    mapping = composer.get("conversationMap")
    mapping = mapping if isinstance(mapping, dict) else {}
    shown: set[str] = set()
    for bid in named:
        if bid in bubbles:
            record, value = bubbles[bid]
            renderer.guarded(value, record.line)
        elif bid in mapping:
            renderer.guarded(mapping[bid], None)
        else:
            doc.add(md.note(f"⚠ message {bid} is named by the conversation but not stored"))
        shown.add(bid)
    if not named:
        for bubble in inline:
            renderer.guarded(bubble, None)
    rest = [b for b in order if b not in shown]
    if rest:
        doc.heading(2, "Other messages")
        doc.add(md.note("Stored for this conversation but not in its current order "
                        "(rewound, replaced or not yet linked)."))
        renderer.speaker = None
        for bid in rest:
            record, value = bubbles[bid]
            renderer.guarded(value, record.line)
    if not renderer.rendered:
        doc.add(md.note("(no messages)"))
    return doc.render()


_WHO = {"user": "User", "assistant": "Assistant"}


class _Bubbles:
    """Renders bubbles one after the other, tracking who speaks to merge headings."""

    def __init__(self, doc: md.Document) -> None:
        self.doc = doc
        self.speaker: str | None = None
        self.rendered = 0

    def guarded(self, bubble: Any, line: int | None) -> None:
        where = f"line {line}" if line is not None else "inline message"
        if not isinstance(bubble, dict):
            self.doc.add(md.note(f"⚠ {where}: message is not a JSON object"))
            return
        try:
            self.bubble(bubble)
        except Exception as exc:  # noqa: BLE001 - one odd message must not cost the view
            self.doc.add(md.note(f"⚠ {where} could not be rendered ({type(exc).__name__})"))

    def bubble(self, b: dict[str, Any]) -> None:
        role = bubble_role(b)
        blocks = _bubble_blocks(b, role)
        if not blocks:
            return
        who = _WHO.get(role) or f"Message (type {b.get('type')!r})"
        if who != self.speaker or role == "user":
            parts = [who]
            when = parse_time(b.get("createdAt"), numeric_unit="ms")
            if when is not None:
                parts.append(format_time(when))
            model = _model(b)
            if model and role != "user":
                parts.append(model)
            self.doc.heading(3, " · ".join(parts))
            self.speaker = who
        self.doc.extend(blocks)
        self.rendered += 1


def _model(b: dict[str, Any]) -> str | None:
    info = b.get("modelInfo")
    if isinstance(info, dict) and isinstance(info.get("modelName"), str) and info["modelName"]:
        return info["modelName"]
    value = b.get("modelType")
    return value if isinstance(value, str) and value else None


def _bubble_blocks(b: dict[str, Any], role: str) -> list[str]:
    blocks: list[str] = []
    text = bubble_text(b)
    thinking = _thinking(b)
    if b.get("isThought") is True and text.strip() and not thinking:
        thinking, text = [text], ""
    for thought in thinking:
        blocks.append(md.details("Thinking", md.text_block(thought)))
    if text.strip():
        blocks.append(md.text_block(text))
    for code in b.get("codeBlocks") or []:
        if isinstance(code, dict) and isinstance(code.get("content"), str):
            content = code["content"]
            if content.strip() and content not in text:
                lang = code.get("languageId") if isinstance(code.get("languageId"), str) else ""
                blocks.append(collapse("Code", md.fence(content, lang), size_hint=content))
    tool = b.get("toolFormerData")
    if isinstance(tool, dict) and (tool.get("name") or tool.get("tool") is not None):
        name = tool.get("name") or f"tool {tool.get('tool')}"
        blocks.extend(tool_call(name, tool.get("rawArgs") or tool.get("params"),
                                ident=tool.get("toolCallId"), status=tool.get("status")))
        decision = tool.get("userDecision")
        if isinstance(decision, str) and decision:
            blocks.append(md.note(f"User decision: {decision}"))
        if tool.get("result") not in (None, ""):
            blocks.extend(tool_output(tool.get("result"), ident=None,
                                      error=tool.get("status") in ("error", "failed")))
        if isinstance(tool.get("error"), str) and tool["error"]:
            blocks.extend(tool_output(tool["error"], error=True))
    for result in b.get("toolResults") or []:
        if isinstance(result, dict):
            name = result.get("toolName") or result.get("name")
            label = str(name) if name else ""
            blocks.extend(tool_output(result.get("result", result), label=label))
    for result in b.get("interpreterResults") or []:
        blocks.extend(tool_output(result, label="interpreter"))
    if role == "user":
        blocks.extend(_attachments(b))
    return blocks


def _thinking(b: dict[str, Any]) -> list[str]:
    found: list[str] = []
    value = b.get("thinking")
    if isinstance(value, dict):
        value = value.get("text") or value.get("thinking")
    if isinstance(value, str) and value.strip():
        found.append(value)
    for block in b.get("allThinkingBlocks") or []:
        text = block.get("thinking") or block.get("text") if isinstance(block, dict) else block
        if isinstance(text, str) and text.strip() and text not in found:
            found.append(text)
    return found


def _attachments(b: dict[str, Any]) -> list[str]:
    """Attached files (names) and code selections (collapsed) of a user message."""
    context = b.get("context") if isinstance(b.get("context"), dict) else b
    names: list[str] = []
    for field in ("fileSelections", "folderSelections", "selectedImages", "selectedDocs"):
        for entry in context.get(field) or []:
            name = _entry_name(entry)
            if name and name not in names:
                names.append(name)
    blocks = []
    if names:
        blocks.append("_Attached:_ " + ", ".join(md.code_span(n) for n in names[:50])
                      + (f" _and {len(names) - 50} more_" if len(names) > 50 else ""))
    for selection in context.get("selections") or []:
        if isinstance(selection, dict) and isinstance(selection.get("text"), str):
            label = _entry_name(selection) or "selection"
            blocks.append(md.details(f"Selection: {label}", md.fence(selection["text"])))
    return blocks


def _entry_name(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if not isinstance(entry, dict):
        return None
    for key in ("path", "relativeWorkspacePath", "name", "fsPath"):
        if isinstance(entry.get(key), str) and entry[key]:
            return entry[key]
    uri = entry.get("uri")
    if isinstance(uri, dict):
        for key in ("fsPath", "path", "external"):
            if isinstance(uri.get(key), str) and uri[key]:
                return uri[key]
    return uri if isinstance(uri, str) and uri else None


# -- legacy chat ----------------------------------------------------------------------------


def render_chat(data: bytes, meta: Mapping[str, Any]) -> str:
    """Render a legacy chat tab version (``chat.jsonl``)."""
    doc = md.Document()
    records, bad = _split(data)
    tab: dict[str, Any] = {}
    reason: str | None = "missing"
    for record in records:
        value, reason = record.json()
        if isinstance(value, dict):
            tab = value
            break
    bubbles = tab.get("bubbles") if isinstance(tab.get("bubbles"), list) else []
    stats = MessageStats()
    for bubble in bubbles:
        stats.feed_bubble(bubble)
    tab_id = tab.get("tabId")
    header(doc, meta, tab.get("chatTitle") or "Untitled", [
        ("Chat tab", md.code_span(tab_id) if isinstance(tab_id, str) else None),
        ("Models", ", ".join(md.code_span(m) for m in stats.models)),
        ("Messages", stats.messages or None),
        ("Storage", "legacy chat panel (workspace database)"),
    ])
    if not tab:
        doc.add(md.note(f"⚠ the chat could not be read ({reason})"))
    _bad_notes(doc, bad, "chat.jsonl")
    doc.heading(2, "Conversation")
    renderer = _Bubbles(doc)
    for bubble in bubbles:
        renderer.guarded(bubble, None)
    if not renderer.rendered:
        doc.add(md.note("(no messages)"))
    return doc.render()


# -- prompt history -------------------------------------------------------------------------


def render_prompts(data: bytes, meta: Mapping[str, Any]) -> str:
    """Render a workspace's prompt history (``prompts.jsonl``: ``aiService.prompts``)."""
    doc = md.Document()
    records, bad = _split(data)
    prompts: list[Any] = []
    reason: str | None = "missing"
    for record in records:
        value, reason = record.json()
        if isinstance(value, list):
            prompts = value
            break
    header(doc, meta, "Prompt history", [("Prompts", len(prompts) or None)])
    if not prompts and reason:
        doc.add(md.note(f"⚠ the prompt history could not be read ({reason})"))
    _bad_notes(doc, bad, "prompts.jsonl")
    for number, prompt in enumerate(prompts, 1):
        text = prompt.get("text") if isinstance(prompt, dict) else prompt
        kind = prompt.get("commandType") if isinstance(prompt, dict) else None
        suffix = f" · command type {kind}" if kind is not None else ""
        doc.heading(3, f"Prompt {number}{suffix}")
        if isinstance(text, str):
            doc.add(md.text_block(text) if text.strip() else md.note("(empty)"))
        else:
            doc.add(md.json_block(prompt))
    return doc.render()

