"""Goose session → Markdown: each message with its content items in order (see
:mod:`.messages` for the format). Tool requests are paired visually with their responses by
id; messages hidden from the user or from the agent (Goose's compaction keeps the old turns
with ``agentVisible: false`` and adds a summary with ``userVisible: false``) are marked.
Never raises on content."""

from __future__ import annotations

from typing import Any, Mapping

from .. import chatmd
from .. import markdown as md
from ..timestamps import format_time
from .messages import Message, Session, first_prompt, load_db_session, load_jsonl_session

__all__ = ["render_goose"]


def render_goose(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a stored version: DB rows (``sessions.jsonl``, ``messages.jsonl``) or one legacy
    ``<name>.jsonl``."""
    if "sessions.jsonl" in files or "messages.jsonl" in files:
        s = load_db_session(files)
        layout = "database rows"
    else:
        names = sorted(n for n in files if n.endswith(".jsonl"))
        s = load_jsonl_session(files[names[0]], names[0]) if names else Session()
        layout = "legacy JSONL file"
        if not names:
            s.problems.append("no session file in this version")
    doc = md.Document()
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else (s.name or first_prompt(s) or "Untitled"))
    native = meta.get("native_id") if isinstance(meta.get("native_id"), str) else s.id
    tokens = ", ".join(f"{k} {v}" for k, v in sorted(s.tokens.items()))
    doc.add(chatmd.header_lines([
        ("Session", native),
        ("Description", chatmd.plain(s.description) if s.description and s.description != title else None),
        ("Directory", s.working_dir),
        ("Type", chatmd.plain(s.session_type) if s.session_type else None),
        ("Started", chatmd.plain(format_time(s.created_at)) if s.created_at else None),
        ("Last activity", chatmd.plain(format_time(s.updated_at)) if s.updated_at else None),
        ("Tokens", chatmd.plain(tokens) if tokens else None),
        ("Stored as", chatmd.plain(layout)),
    ]))
    if s.recipe is not None:
        doc.add(md.details("Recipe", md.json_block(s.recipe, limit=chatmd.JSON_LIMIT)))
    for problem in s.problems:
        doc.add(md.note(f"⚠ {problem}"))
    for m in s.messages:
        try:
            _message(doc, m)
        except Exception as exc:  # noqa: BLE001 - one odd record must not cost the view
            doc.add(md.note(f"⚠ a message could not be rendered ({type(exc).__name__})"))
    return doc.render()


def _message(doc: md.Document, m: Message) -> None:
    kinds = {c.get("type") for c in m.content if isinstance(c, dict)}
    role = "Tool output" if kinds == {"toolResponse"} else m.role
    flags = []
    if m.metadata.get("userVisible") is False:
        flags.append("not shown to the user")
    if m.metadata.get("agentVisible") is False:
        flags.append("hidden from the agent")
    doc.heading(3, chatmd.heading_text(role, m.created, *(f"({f})" for f in flags)))
    for item in m.content:
        if not isinstance(item, dict):
            doc.add(md.note("⚠ content item is not an object"))
            continue
        _item(doc, item)


def _call(value: Any) -> tuple[Any, Any, str | None]:
    """``(name, arguments, error)`` of a ``ToolResult<CallToolRequestParam>``."""
    if not isinstance(value, dict):
        return None, None, None
    if value.get("status") == "error":
        return None, None, str(value.get("error", ""))
    inner = value.get("value") if "value" in value else value
    if isinstance(inner, dict):
        return inner.get("name"), inner.get("arguments"), None
    return None, None, None


def _result(value: Any) -> tuple[str, bool]:
    """``(text, is_error)`` of a ``ToolResult<CallToolResult>`` (old: value = content list)."""
    if not isinstance(value, dict):
        return md.json_text(value), False
    if value.get("status") == "error":
        return str(value.get("error", "")), True
    inner = value.get("value", value)
    is_error = False
    if isinstance(inner, dict):
        is_error = inner.get("isError") is True
        inner = inner.get("content", inner)
    if isinstance(inner, list):
        texts = []
        for c in inner:
            if isinstance(c, dict) and isinstance(c.get("text"), str):
                texts.append(c["text"])
            elif isinstance(c, dict) and c.get("type") == "image":
                texts.append(f"[image {c.get('mimeType', '')}]")
            elif isinstance(c, dict) and isinstance(c.get("resource"), dict):
                res = c["resource"]
                texts.append(res.get("text") if isinstance(res.get("text"), str) else md.json_text(res))
            else:
                texts.append(md.json_text(c))
        return "\n".join(texts), is_error
    return (inner if isinstance(inner, str) else md.json_text(inner)), is_error


def _item(doc: md.Document, c: dict[str, Any]) -> None:
    kind = c.get("type")
    if kind == "text":
        doc.add(md.text_block(c.get("text") if isinstance(c.get("text"), str) else ""))
    elif kind == "image":
        data = c.get("data")
        doc.add(chatmd.image_note(c.get("mimeType"), len(data) * 3 // 4 if isinstance(data, str) else None))
    elif kind in ("toolRequest", "frontendToolRequest"):
        name, args, error = _call(c.get("toolCall"))
        label = "frontend tool" if kind == "frontendToolRequest" else None
        doc.add(chatmd.tool_call_line(name, c.get("id"), label))
        if error is not None:
            doc.add(chatmd.output_block(error, is_error=True))
        else:
            doc.add(chatmd.arguments_block(args))
    elif kind == "toolResponse":
        text, is_error = _result(c.get("toolResult"))
        ident = c.get("id")
        doc.add(f"**Tool result**{' for ' + md.code_span(ident) if isinstance(ident, str) else ''}")
        doc.add(chatmd.output_block(text, is_error=is_error))
    elif kind == "toolConfirmationRequest":
        doc.add(md.note(f"Confirmation asked for tool {c.get('toolName') or '?'}"))
        doc.add(chatmd.arguments_block(c.get("arguments")))
    elif kind == "actionRequired":
        data = c.get("data") if isinstance(c.get("data"), dict) else {}
        doc.add(md.note(f"Action required: {data.get('actionType') or '?'}"))
        doc.add(md.details("Action", md.json_block(data, limit=chatmd.JSON_LIMIT)))
    elif kind == "thinking":
        doc.add(chatmd.thinking_block(c.get("thinking") if isinstance(c.get("thinking"), str) else ""))
    elif kind == "redactedThinking":
        doc.add(md.note("(redacted thinking)"))
    elif kind == "systemNotification":
        doc.add(md.note(f"ℹ {c.get('msg') or ''}"))
    elif kind in ("contextLengthExceeded", "summarizationRequested", "conversationCompacted"):
        doc.add("---")
        doc.add(md.note(f"{kind}: {c.get('msg') or ''}"))
    else:
        doc.add(md.note(f"⚠ unknown content type {kind!r}"))
        doc.add(md.details("Content", md.json_block(c, limit=chatmd.JSON_LIMIT)))
