"""Amp thread JSON: metadata and Markdown.

Format (Amp is closed source; the shape below is what public readers of the files rely on:
jonathan-kellerai/cross_agent_session_resumer ``src/providers/amp.rs``, noamsto/houston
``docs/AMP_AGENT_SUPPORT.md``)::

    {"v": 0, "id": "T-<uuid>", "created": <ms>, "title": "…", "agentMode": "smart",
     "env": {"initial": {"trees": [{"displayName", "uri", "repository"}], "platform": {…}}},
     "messages": [{"role": "user" | "assistant" | "info", "messageId": 0,
                   "content": [{"type": "text", "text"} | {"type": "thinking", "thinking"} |
                               {"type": "tool_use", "id", "name", "input"} |
                               {"type": "tool_result", "toolUseID", "run": {"status",
                                "result" | "progress" | "error"}} |
                               {"type": "image", "source": {…}} |
                               {"type": "summary", "summary": {"type", "summary" | "thread"}}],
                   "state": {"type", "stopReason"}, "meta": {"sentAt": <ms>},
                   "usage": {"model", "inputTokens", "outputTokens", …}}]}

Unknown block types and fields are shown as JSON, never dropped. Never raises on content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .. import chatmd
from .. import markdown as md
from ..jsonfile import parse_json_bytes
from ..timestamps import format_time, parse_epoch
from ..titles import title_from_text

__all__ = ["ThreadInfo", "render_thread", "thread_info"]


@dataclass
class ThreadInfo:
    """What :meth:`AmpCollector.read` needs: title (``None`` if the thread has none), first
    prompt, times (Unix s), models, working trees, message count."""

    title: str | None = None
    prompt: str = ""
    created: float | None = None
    updated: float | None = None
    models: tuple[str, ...] = ()
    trees: tuple[str, ...] = ()
    agent_mode: str | None = None
    messages: int = 0


def _blocks(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content if isinstance(content, list) else []


def _text(blocks: list[Any]) -> str:
    return "\n\n".join(b["text"] for b in blocks
                       if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str))


def _sent(message: Any) -> float | None:
    meta = message.get("meta") if isinstance(message, dict) else None
    return parse_epoch(meta.get("sentAt"), unit="ms") if isinstance(meta, dict) else None


def thread_info(doc: Any) -> ThreadInfo:
    """Metadata of a parsed thread (an empty :class:`ThreadInfo` for a non-object)."""
    info = ThreadInfo()
    if not isinstance(doc, dict):
        return info
    if isinstance(doc.get("title"), str) and doc["title"].strip():
        info.title = doc["title"]
    info.created = parse_epoch(doc.get("created"), unit="ms")
    info.agent_mode = doc.get("agentMode") if isinstance(doc.get("agentMode"), str) else None
    messages = doc.get("messages") if isinstance(doc.get("messages"), list) else []
    info.messages = len(messages)
    models: list[str] = []
    times = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        if not info.prompt and m.get("role") == "user":
            info.prompt = title_from_text(_text(_blocks(m)))
        usage = m.get("usage")
        model = usage.get("model") if isinstance(usage, dict) else None
        if isinstance(model, str) and model and model not in models:
            models.append(model)
        t = _sent(m)
        if t is not None:
            times.append(t)
    info.models = tuple(models)
    if times:
        info.updated = max(times)
        info.created = info.created if info.created is not None else min(times)
    env = doc.get("env")
    initial = env.get("initial") if isinstance(env, dict) else None
    trees = initial.get("trees") if isinstance(initial, dict) else None
    if isinstance(trees, list):
        info.trees = tuple(str(t.get("uri") or t.get("displayName")) for t in trees
                           if isinstance(t, dict) and (t.get("uri") or t.get("displayName")))
    return info


def render_thread(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a stored version (its one ``.json`` file)."""
    doc = md.Document()
    names = sorted(n for n in files if n.endswith(".json"))
    thread, problem = parse_json_bytes(files[names[0]]) if names else (None, "no thread file")
    info = thread_info(thread)
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else (info.title or info.prompt or "Untitled"))
    doc.add(chatmd.header_lines([
        ("Thread", meta.get("native_id") or (thread.get("id") if isinstance(thread, dict) else None)),
        ("Workspace", ", ".join(info.trees) or None),
        ("Mode", chatmd.plain(info.agent_mode) if info.agent_mode else None),
        ("Models", ", ".join(info.models) or None),
        ("Started", chatmd.plain(format_time(info.created)) if info.created else None),
        ("Last message", chatmd.plain(format_time(info.updated)) if info.updated else None),
    ]))
    if problem or not isinstance(thread, dict):
        doc.add(md.note(f"⚠ {problem or 'not a JSON object'}; the raw file is kept as it was"))
        return doc.render()
    for key in ("relationships", "forkedFrom", "parentThreadID", "handoff"):
        if thread.get(key):
            doc.add(md.details(f"{key}", md.json_block(thread[key], limit=chatmd.JSON_LIMIT)))
    for m in thread.get("messages") or []:
        try:
            _message(doc, m)
        except Exception as exc:  # noqa: BLE001 - one odd record must not cost the view
            doc.add(md.note(f"⚠ a message could not be rendered ({type(exc).__name__})"))
    return doc.render()


def _message(doc: md.Document, m: Any) -> None:
    if not isinstance(m, dict):
        doc.add(md.note("⚠ message is not an object"))
        return
    role = m.get("role") if isinstance(m.get("role"), str) else "message"
    blocks = _blocks(m)
    if role == "user" and blocks and all(isinstance(b, dict) and b.get("type") == "tool_result" for b in blocks):
        role = "tool results"
    usage = m.get("usage") if isinstance(m.get("usage"), dict) else {}
    model = usage.get("model") if isinstance(usage.get("model"), str) else None
    doc.heading(3, chatmd.heading_text(role, _sent(m), model))
    for b in blocks:
        _block(doc, b)
    state = m.get("state")
    if isinstance(state, dict) and state.get("type") not in (None, "complete"):
        doc.add(md.note(f"state: {state.get('type')}"))


def _run_output(run: Any) -> tuple[Any, bool]:
    if not isinstance(run, dict):
        return run, False
    status = run.get("status")
    is_error = status in ("error", "cancelled", "rejected-by-user")
    for key in ("result", "progress", "error"):
        if key in run and run[key] not in (None, "", [], {}):
            value = run[key]
            if isinstance(value, dict) and isinstance(value.get("output"), str):
                value = value["output"]
            return value, is_error or key == "error"
    return f"(status: {status})" if status else "", is_error


def _block(doc: md.Document, b: Any) -> None:
    if not isinstance(b, dict):
        doc.add(md.details("Content", md.json_block(b, limit=chatmd.JSON_LIMIT)))
        return
    kind = b.get("type")
    if kind == "text":
        doc.add(md.text_block(b.get("text") if isinstance(b.get("text"), str) else ""))
    elif kind == "thinking":
        doc.add(chatmd.thinking_block(str(b.get("thinking") or b.get("text") or "")))
    elif kind == "redacted_thinking":
        doc.add(md.note("(redacted thinking)"))
    elif kind == "tool_use":
        doc.add(chatmd.tool_call_line(b.get("name"), b.get("id")))
        doc.add(chatmd.arguments_block(b.get("input")))
    elif kind == "tool_result":
        ident = b.get("toolUseID") or b.get("tool_use_id")
        run = b.get("run")
        value, is_error = _run_output(run)
        status = run.get("status") if isinstance(run, dict) else None
        doc.add(f"**Tool result**{' for ' + md.code_span(str(ident)) if ident else ''}"
                + (f" · {md.escape_inline(str(status))}" if status else ""))
        doc.add(chatmd.output_block(value, is_error=is_error))
    elif kind == "image":
        source = b.get("source") if isinstance(b.get("source"), dict) else {}
        data = source.get("data")
        doc.add(chatmd.image_note(source.get("mediaType") or source.get("media_type"),
                                  len(data) * 3 // 4 if isinstance(data, str) else None))
    elif kind == "summary":
        summary = b.get("summary") if isinstance(b.get("summary"), dict) else {}
        doc.add("---")
        if isinstance(summary.get("summary"), str):
            doc.add(md.details("Summary of the earlier conversation", md.text_block(summary["summary"])))
        elif summary.get("thread"):
            doc.add(md.note(f"Summarized into thread {summary['thread']}"))
    else:
        doc.add(md.note(f"⚠ unknown block type {kind!r}"))
        doc.add(md.details("Block", md.json_block(b, limit=chatmd.JSON_LIMIT)))
