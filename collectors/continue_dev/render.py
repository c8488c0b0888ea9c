"""Continue session JSON: metadata and Markdown.

Format (continuedev/continue ``core/index.d.ts``: ``Session``, ``ChatHistoryItem``,
``ChatMessage``, ``ToolCallState``, ``BaseSessionMetadata``)::

    {"sessionId", "title", "workspaceDirectory", "mode"?, "chatModelTitle"?, "usage"?,
     "history": [{"message": {"role": "user" | "assistant" | "thinking" | "system" | "tool",
                              "content": "…" | [{"type": "text", "text"} |
                                                {"type": "imageUrl", "imageUrl": {"url"}}],
                              "toolCalls"?: [{"id", "type", "function": {"name", "arguments"}}],
                              "toolCallId"? (role tool)},
                  "contextItems": [{"name", "description", "content", "uri"?}],
                  "toolCallStates"?: [{"toolCallId", "toolCall", "status", "output"?: [ContextItem]}],
                  "reasoning"?: {"text", "startAt", "endAt"}, "promptLogs"?: […]}]}

``sessions.json`` beside the sessions is a list of ``{sessionId, title, dateCreated,
workspaceDirectory}``. Never raises on content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .. import chatmd
from .. import markdown as md
from ..jsonfile import parse_json_bytes
from ..titles import title_from_text

__all__ = ["SessionInfo", "message_text", "render_session", "session_info"]


@dataclass
class SessionInfo:
    """Title (``None`` if the session has none), first prompt, workspace, model, counts."""

    title: str | None = None
    prompt: str = ""
    session_id: str | None = None
    workspace: str | None = None
    model: str | None = None
    mode: str | None = None
    items: int = 0


def message_text(content: Any) -> str:
    """The text of a ``MessageContent`` (a string or a list of parts); images as markers."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
            elif isinstance(part, dict) and part.get("type") == "imageUrl":
                out.append("[image]")
        return "\n\n".join(out)
    return ""


def session_info(doc: Any) -> SessionInfo:
    """Metadata of a parsed session (empty for a non-object)."""
    info = SessionInfo()
    if not isinstance(doc, dict):
        return info
    for attr, key in (("title", "title"), ("session_id", "sessionId"), ("workspace", "workspaceDirectory"),
                      ("model", "chatModelTitle"), ("mode", "mode")):
        value = doc.get(key)
        if isinstance(value, str) and value.strip():
            setattr(info, attr, value)
    history = doc.get("history") if isinstance(doc.get("history"), list) else []
    info.items = len(history)
    for item in history:
        message = item.get("message") if isinstance(item, dict) else None
        if isinstance(message, dict) and message.get("role") == "user":
            info.prompt = title_from_text(message_text(message.get("content")))
            if info.prompt:
                break
    return info


def render_session(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a stored version (its one session ``.json``)."""
    doc = md.Document()
    names = sorted(n for n in files if n.endswith(".json"))
    session, problem = parse_json_bytes(files[names[0]]) if names else (None, "no session file")
    info = session_info(session)
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else (info.title or info.prompt or "Untitled"))
    doc.add(chatmd.header_lines([
        ("Session", meta.get("native_id") or info.session_id),
        ("Workspace", info.workspace),
        ("Model", info.model),
        ("Mode", chatmd.plain(info.mode) if info.mode else None),
    ]))
    if problem or not isinstance(session, dict):
        doc.add(md.note(f"⚠ {problem or 'not a JSON object'}; the raw file is kept as it was"))
        return doc.render()
    history = session.get("history") if isinstance(session.get("history"), list) else []
    for item in history:
        try:
            _item(doc, item)
        except Exception as exc:  # noqa: BLE001 - one odd record must not cost the view
            doc.add(md.note(f"⚠ a history item could not be rendered ({type(exc).__name__})"))
    return doc.render()


def _context(doc: md.Document, items: Any, label: str = "Context") -> None:
    for c in items if isinstance(items, list) else ():
        if not isinstance(c, dict):
            continue
        name = c.get("name") or c.get("description") or "item"
        body = c.get("content")
        block = md.fence(body) if isinstance(body, str) and body.strip() else "_(empty)_"
        doc.add(md.details(f"{label}: {name}"[:300], block))


def _item(doc: md.Document, item: Any) -> None:
    if not isinstance(item, dict):
        doc.add(md.note("⚠ history item is not an object"))
        return
    message = item.get("message") if isinstance(item.get("message"), dict) else {}
    role = message.get("role") if isinstance(message.get("role"), str) else "message"
    if role == "thinking":
        doc.add(chatmd.thinking_block(message_text(message.get("content"))))
        return
    if role == "tool":
        ident = message.get("toolCallId")
        doc.add(f"**Tool result**{' for ' + md.code_span(str(ident)) if ident else ''}")
        doc.add(chatmd.output_block(message_text(message.get("content"))))
        return
    doc.heading(3, chatmd.heading_text(role))
    reasoning = item.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("text"), str) and reasoning["text"].strip():
        doc.add(chatmd.thinking_block(reasoning["text"]))
    if role == "system":
        doc.add(md.details("System message", md.text_block(message_text(message.get("content")))))
    else:
        doc.add(md.text_block(message_text(message.get("content"))))
    _context(doc, item.get("contextItems"))
    states = {s.get("toolCallId"): s for s in item.get("toolCallStates") or [] if isinstance(s, dict)}
    for call in message.get("toolCalls") or []:
        if not isinstance(call, dict):
            continue
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        state = states.pop(call.get("id"), None)
        doc.add(chatmd.tool_call_line(fn.get("name"), call.get("id"), state.get("status") if state else None))
        doc.add(chatmd.arguments_block(fn.get("arguments")))
        if state:
            _context(doc, state.get("output"), "Output")
    for ident, state in states.items():
        call = state.get("toolCall") if isinstance(state.get("toolCall"), dict) else {}
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        doc.add(chatmd.tool_call_line(fn.get("name"), ident, state.get("status")))
        doc.add(chatmd.arguments_block(fn.get("arguments")))
        _context(doc, state.get("output"), "Output")
    logs = item.get("promptLogs")
    if isinstance(logs, list) and logs:
        doc.add(md.note(f"{len(logs)} prompt log(s) in the raw file"))
