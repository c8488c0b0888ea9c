"""cursor-agent sessions and agent transcripts → Markdown.

A session (``store.jsonl``) shows the messages reached from the latest root blob in tree
order, then "Earlier states": message blobs of the session that the latest tree no longer
reaches (rewound or replaced turns). A transcript shows its main file, then each subagent
file under its own heading. In both, a user message shows the words inside
``<user_query>`` and collapses the context Cursor adds around them; consecutive assistant
messages share one heading; thinking is collapsed; tool calls show their arguments and
results. Unknown blocks with text are shown with their type, others as JSON. Nothing raises.
"""

from __future__ import annotations

import posixpath
from typing import Any, Mapping

from .. import markdown as md
from ..jsonl import BadLine, JsonLine, iter_jsonl
from .agent_store import META_KEY, decode_meta, walk_messages
from .messages import MessageStats, agent_text, split_user_query
from .records import iter_records
from .render_parts import collapse, header, loads_maybe, tool_call, tool_output

__all__ = ["render_store", "render_transcript"]

_TEXT = frozenset({"text", "input_text", "output_text"})
_THINKING = frozenset({"thinking", "reasoning"})
_CALLS = frozenset({"tool_use", "tool_call", "tool-call", "function_call"})
_RESULTS = frozenset({"tool_result", "tool-result", "function_call_output"})


class _Messages:
    """Renders agent messages in order, merging consecutive assistant headings."""

    def __init__(self, doc: md.Document) -> None:
        self.doc = doc
        self.speaker: str | None = None
        self.rendered = 0

    def _heading(self, who: str, force: bool = False) -> None:
        if who != self.speaker or force:
            self.doc.heading(3, who)
            self.speaker = who

    def message(self, message: Any, where: str) -> None:
        if not isinstance(message, dict):
            self.doc.add(md.note(f"⚠ {where}: message is not a JSON object"))
            return
        try:
            self._message(message)
        except Exception as exc:  # noqa: BLE001 - one odd message must not cost the view
            self.doc.add(md.note(f"⚠ {where} could not be rendered ({type(exc).__name__})"))

    def _message(self, m: dict[str, Any]) -> None:
        role = m.get("role") if isinstance(m.get("role"), str) else "message"
        content = m.get("content")
        if content is None and isinstance(m.get("message"), dict):
            content = m["message"].get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        self.rendered += 1
        if role == "system":
            self.speaker = None
            text = agent_text(content)
            self.doc.add(md.details("System prompt", md.text_block(text) if text else
                                    md.json_block(content)))
            return
        if role == "user":
            self._user(blocks)
            return
        if role == "tool":
            self._heading("Tool")
        else:
            self._heading(role.capitalize() if role != "assistant" else "Assistant")
        model = m.get("model")
        if isinstance(model, str) and model:
            self.doc.add(md.note(f"Model: {model}"))
        for block in blocks:
            self.doc.extend(_block(block))

    def _user(self, blocks: list[Any]) -> None:
        words = [b for b in blocks if not (isinstance(b, dict) and b.get("type") in _RESULTS)]
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") in _RESULTS]
        if words:
            self._heading("User", force=True)
            for block in words:
                if isinstance(block, dict) and block.get("type", "text") in _TEXT | {None}:
                    text = block.get("text")
                    text = text if isinstance(text, str) else ""
                    query, context = split_user_query(text)
                    if query.strip():
                        self.doc.add(md.text_block(query))
                    if context:
                        self.doc.add(md.details("Context added by Cursor", md.text_block(context)))
                else:
                    self.doc.extend(_block(block))
        for block in results:  # tool results sent back as the user's turn
            if self.speaker not in ("Assistant", "Tool"):
                self._heading("Tool")
            self.doc.extend(_block(block))


def _block(block: Any) -> list[str]:
    if isinstance(block, str):
        return [md.text_block(block)] if block.strip() else []
    if not isinstance(block, dict):
        return [md.json_block(block)]
    kind = block.get("type")
    if kind in _TEXT or (kind is None and isinstance(block.get("text"), str)):
        text = block.get("text")
        return [md.text_block(text)] if isinstance(text, str) and text.strip() else []
    if kind in _THINKING:
        text = block.get("thinking")
        text = text if isinstance(text, str) else block.get("text")
        return [md.details("Thinking", md.text_block(text))] if isinstance(text, str) else []
    if kind in ("redacted-reasoning", "redacted_thinking"):
        return [md.note("(redacted thinking)")]
    if kind in _CALLS:
        name = block.get("name") or block.get("toolName")
        keys = ("input", "args", "arguments", "params")
        args = next((block[k] for k in keys if k in block), None)
        ident = block.get("id") or block.get("toolCallId") or block.get("call_id")
        return tool_call(name, args, ident=ident, status=block.get("status"))
    if kind in _RESULTS:
        value = next((block[k] for k in ("content", "result", "output") if k in block), None)
        ident = block.get("tool_use_id") or block.get("toolCallId") or block.get("call_id")
        name = block.get("name") or block.get("toolName")
        error = bool(block.get("is_error") or block.get("isError"))
        label = name if isinstance(name, str) else ""
        return tool_output(value, ident=ident, error=error, label=label)
    if kind == "image":
        return [md.note("[image]")]
    text = block.get("text")
    if isinstance(text, str) and text.strip():
        return [md.note(f"({kind} block)"), md.text_block(text)]
    return [collapse(f"{kind or 'unknown'} block", md.json_block(block, limit=64 * 1024),
                     always=True)]


# -- store.db sessions ----------------------------------------------------------------------


def render_store(data: bytes, meta: Mapping[str, Any]) -> str:
    """Render a cursor-agent session version (``store.jsonl``)."""
    doc = md.Document()
    session: dict[str, Any] | None = None
    blobs: dict[str, bytes] = {}
    order: list[str] = []
    bad: list[BadLine] = []
    for item in iter_records(data):
        if isinstance(item, BadLine):
            bad.append(item)
        elif item.table == "meta" and item.key == META_KEY and session is None:
            session = decode_meta(item.data)
        elif item.table == "blobs" and item.data is not None:
            blobs[item.key] = item.data
            order.append(item.key)
    root = session.get("latestRootBlobId") if session else None
    messages, reached = walk_messages(blobs, root if isinstance(root, str) else None)
    loose = [i for i in order if i not in reached and blobs[i][:1] == b"{"]
    in_order = not messages
    if in_order:
        messages = [(i, _loads(blobs[i])) for i in loose]
        loose = []
    stats = MessageStats()
    for _, message in messages:
        stats.feed_agent(message)
    s = session or {}
    ident = s.get("agentId") if isinstance(s.get("agentId"), str) else meta.get("native_id")
    header(doc, meta, s.get("name") if isinstance(s.get("name"), str) else "Untitled", [
        ("Session", md.code_span(ident) if isinstance(ident, str) else None),
        ("Mode", md.escape_inline(s["mode"]) if isinstance(s.get("mode"), str) else None),
        ("Model", md.code_span(s["lastUsedModel"]) if isinstance(s.get("lastUsedModel"), str)
         else None),
        ("Messages", stats.messages or None),
        ("Blobs", len(blobs) or None),
    ])
    if session is None:
        doc.add(md.note("⚠ no readable session metadata"))
    for line in bad:
        doc.add(md.bad_line_note(line.number, line.size, line.reason, "store.jsonl"))
    doc.heading(2, "Conversation")
    if in_order and messages:
        doc.add(md.note("No message tree from the latest root: messages in stored order."))
    renderer = _Messages(doc)
    for blob_id, message in messages:
        renderer.message(message, f"blob {blob_id[:12]}")
    if not messages:
        doc.add(md.note("(no messages)"))
    if loose:
        doc.heading(2, "Earlier states")
        doc.add(md.note("Messages stored in this session that the latest conversation tree "
                        "no longer reaches (rewound or replaced turns)."))
        renderer.speaker = None
        for blob_id in loose:
            renderer.message(_loads(blobs[blob_id]), f"blob {blob_id[:12]}")
    return doc.render()


def _loads(data: bytes) -> Any:
    try:
        return loads_maybe(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None


# -- transcripts ----------------------------------------------------------------------------


def render_transcript(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render an agent transcript version: the main ``<id>.jsonl``, then ``subagents/…``
    (and ``flat/…``) files."""
    doc = md.Document()
    top = sorted(n for n in files if "/" not in n and n.endswith(".jsonl"))
    attributes = meta.get("attributes") if isinstance(meta.get("attributes"), Mapping) else {}
    wanted = attributes.get("transcript_id")
    if isinstance(wanted, str) and f"{wanted}.jsonl" in top:
        top.remove(f"{wanted}.jsonl")
        top.insert(0, f"{wanted}.jsonl")
    subagents = sorted(n for n in files if n.startswith("subagents/"))
    header(doc, meta, "Untitled", [
        ("Transcript", md.code_span(wanted) if isinstance(wanted, str) else None),
        ("Project folder", md.code_span(attributes["project_dir"])
         if isinstance(attributes.get("project_dir"), str) else None),
        ("Subagents", len(subagents) or None),
    ])
    if not top:
        doc.add(md.note("⚠ no transcript file in this version"))
    for index, name in enumerate(top):
        doc.heading(2, "Conversation" if index == 0 else f"Transcript {name}")
        _transcript(doc, files[name], name)
    for name in subagents:
        doc.heading(2, f"Subagent {posixpath.basename(name)[: -len('.jsonl')] or name}")
        _transcript(doc, files[name], name)
    others = sorted(n for n in files if n not in top and n not in subagents)
    for name in others:
        doc.heading(2, f"Transcript {name}")
        _transcript(doc, files[name], name)
    return doc.render()


def _transcript(doc: md.Document, data: bytes, name: str) -> None:
    renderer = _Messages(doc)
    for item in iter_jsonl(data):
        if isinstance(item, BadLine):
            doc.add(md.bad_line_note(item.number, item.size, item.reason, name))
            continue
        assert isinstance(item, JsonLine)
        value = item.value
        if isinstance(value.get("role"), str):
            renderer.message(value, f"{name} line {item.number}")
            continue
        kind = value.get("type")
        status = value.get("status")
        label = str(kind).replace("_", " ").capitalize() if kind else "Record without a role"
        doc.add(md.note(label + (f" · {status}" if isinstance(status, str) else "")))
    if not renderer.rendered:
        doc.add(md.note("(no messages)"))

