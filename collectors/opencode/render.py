"""opencode session → Markdown.

Shown per message (``MessageV2`` in anomalyco/opencode
``packages/opencode/src/session/message-v2.ts``): a heading (role, agent, model, time), then
its parts in id order: ``text`` (synthetic ones marked), ``reasoning`` (collapsed), ``tool``
(name, status, title, input and output or error), ``file`` (name, type, where), ``subtask``,
``agent``, ``patch``, ``compaction``, ``retry``; ``step-start``/``step-finish``/``snapshot``
are bookkeeping and left out. A message's ``error`` is marked ⚠. A session ``revert``
(opencode's undo: later messages are hidden until the next prompt removes them) is drawn as
a marker before the first reverted message. The todo list comes last. Unknown part types
get a short marked line. Never raises on content.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import chatmd
from .. import markdown as md
from ..timestamps import format_time
from .session import Message, Session, first_prompt, load_session, ms_to_seconds

__all__ = ["render_session"]

_SILENT_PARTS = frozenset({"step-start", "step-finish", "snapshot"})


def render_session(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render one stored version (DB rows or legacy tree files) as Markdown."""
    s = load_session(files)
    doc = md.Document()
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else (s.title or first_prompt(s) or "Untitled"))
    doc.add(_header(s, meta))
    for problem in s.problems:
        doc.add(md.note(f"⚠ {problem}"))
    revert_at = _revert_point(s)
    for index, message in enumerate(s.messages):
        if revert_at is not None and index == revert_at[0]:
            doc.add("---")
            doc.add(md.note("⤺ Reverted from here: opencode hides the following messages (undo)"))
        try:
            _message(doc, message, revert_at[1] if revert_at and index == revert_at[0] else None)
        except Exception as exc:  # noqa: BLE001 - one odd record must not cost the view
            doc.add(md.note(f"⚠ message {message.id} could not be rendered ({type(exc).__name__})"))
    if s.todos:
        doc.heading(2, "Todo list")
        doc.add("\n".join(_todo(t) for t in s.todos))
    if s.extra_records:
        doc.add(md.details(f"Session records ({len(s.extra_records)})",
                           md.json_block(s.extra_records, limit=chatmd.JSON_LIMIT)))
    return doc.render()


def _header(s: Session, meta: Mapping[str, Any]) -> str:
    native = meta.get("native_id") if isinstance(meta.get("native_id"), str) else s.id
    summary = ", ".join(f"{k} {v}" for k, v in sorted(s.summary.items()))
    return chatmd.header_lines(
        [
            ("Session", native),
            ("Id in opencode", s.id if s.id and s.id != native else None),
            ("Directory", s.directory),
            ("Parent session", s.parent_id),
            ("Project", s.project_id),
            ("Started", chatmd.plain(format_time(ms_to_seconds(s.created_ms))) if s.created_ms else None),
            ("Last activity", chatmd.plain(format_time(ms_to_seconds(s.updated_ms))) if s.updated_ms else None),
            ("Archived", chatmd.plain(format_time(ms_to_seconds(s.archived_ms))) if s.archived_ms else None),
            ("opencode", chatmd.plain(s.version) if s.version else None),
            ("Shared at", s.share_url),
            ("Changes", chatmd.plain(summary) if summary else None),
            ("Stored as", chatmd.plain("database rows" if s.layout == "db" else "JSON storage tree")),
        ]
    )


def _revert_point(s: Session) -> tuple[int, str | None] | None:
    if not s.revert:
        return None
    target = s.revert.get("messageID")
    part = s.revert.get("partID")
    for index, m in enumerate(s.messages):
        if m.id == target:
            return index, part if isinstance(part, str) else None
    return None


def _message(doc: md.Document, m: Message, revert_part: str | None) -> None:
    info = m.info
    model = info.get("modelID")
    if not isinstance(model, str) and isinstance(info.get("model"), dict):
        model = info["model"].get("modelID")
    agent = info.get("agent") or info.get("mode")
    doc.heading(3, chatmd.heading_text(
        m.role, ms_to_seconds(m.created_ms),
        agent if isinstance(agent, str) and m.role == "assistant" else None,
        model if isinstance(model, str) and m.role == "assistant" else None,
    ))
    for part in m.parts:
        if revert_part is not None and part.get("id") == revert_part:
            doc.add(md.note("⤺ reverted from this part on"))
        try:
            _part(doc, part)
        except Exception as exc:  # noqa: BLE001
            doc.add(md.note(f"⚠ part {part.get('id')} could not be rendered ({type(exc).__name__})"))
    error = info.get("error")
    if isinstance(error, dict):
        data = error.get("data")
        message = data.get("message") if isinstance(data, dict) else None
        doc.add(md.note(f"⚠ {error.get('name') or 'error'}: {message or ''}".rstrip(": ")))
    if not m.parts and m.role == "user":
        summary = info.get("summary")
        body = summary.get("body") if isinstance(summary, dict) else None
        if isinstance(body, str) and body.strip():
            doc.add(md.text_block(body))


def _part(doc: md.Document, p: dict[str, Any]) -> None:
    kind = p.get("type")
    if kind == "text":
        text = p.get("text") if isinstance(p.get("text"), str) else ""
        if p.get("synthetic"):
            doc.add(md.details("Synthetic text (added by opencode)", md.text_block(text)))
        elif p.get("ignored"):
            doc.add(md.details("Ignored text", md.text_block(text)))
        else:
            doc.add(md.text_block(text))
    elif kind == "reasoning":
        doc.add(chatmd.thinking_block(p.get("text") if isinstance(p.get("text"), str) else ""))
    elif kind == "tool":
        state = p.get("state") if isinstance(p.get("state"), dict) else {}
        doc.add(chatmd.tool_call_line(p.get("tool"), p.get("callID"), state.get("status"), state.get("title")))
        doc.add(chatmd.arguments_block(state.get("input")))
        if state.get("status") == "error" or "error" in state:
            doc.add(chatmd.output_block(state.get("error", ""), is_error=True))
        elif "output" in state:
            doc.add(chatmd.output_block(state.get("output")))
        for att in state.get("attachments") or []:
            if isinstance(att, dict):
                _file(doc, att)
    elif kind == "file":
        _file(doc, p)
    elif kind == "subtask":
        who = p.get("agent") if isinstance(p.get("agent"), str) else "?"
        doc.add(md.note(f"Subtask for agent {who}: {p.get('description') or ''}"))
        if isinstance(p.get("prompt"), str):
            doc.add(md.details("Subtask prompt", md.text_block(p["prompt"])))
    elif kind == "agent":
        doc.add(md.note(f"Agent: {p.get('name') or '?'}"))
    elif kind == "patch":
        files = p.get("files") if isinstance(p.get("files"), list) else []
        doc.add(md.note(f"Patch {str(p.get('hash') or '')[:12]}: {len(files)} file(s)"))
        if files:
            doc.add("\n".join(f"- {md.code_span(str(f))}" for f in files))
    elif kind == "compaction":
        doc.add("---")
        doc.add("**Context compacted**" + (" (automatic)" if p.get("auto") else ""))
    elif kind == "retry":
        error = p.get("error")
        name = error.get("name") if isinstance(error, dict) else None
        doc.add(md.note(f"⟳ retry {p.get('attempt') or ''} {name or ''}".strip()))
    elif kind in _SILENT_PARTS:
        return
    else:
        doc.add(md.note(f"⚠ unknown part type {kind!r}"))
        doc.add(md.details("Part", md.json_block(p, limit=chatmd.JSON_LIMIT)))


def _file(doc: md.Document, p: dict[str, Any]) -> None:
    url = p.get("url") if isinstance(p.get("url"), str) else ""
    where = "inline data" if url.startswith("data:") else url
    name = p.get("filename") or "file"
    mime = p.get("mime") or "?"
    doc.add(md.note(f"📎 {name} ({mime}) {where}".rstrip()))


def _todo(t: dict[str, Any]) -> str:
    status = t.get("status") if isinstance(t.get("status"), str) else "?"
    box = "[x]" if status == "completed" else "[ ]"
    priority = f" ({t['priority']})" if isinstance(t.get("priority"), str) else ""
    return f"- {box} {md.escape_inline(str(t.get('content', '')), 500)} — {md.escape_inline(status)}{priority}"
