"""Zed thread → Markdown (both JSON shapes, see :mod:`.thread`): user messages with their
mentions, agent messages with text, thinking (collapsed), tool uses each followed by its
result, ``Resume`` markers, the detailed summary. Never raises on content."""

from __future__ import annotations

from typing import Any, Mapping

from .. import chatmd
from .. import markdown as md
from ..jsonfile import parse_json_bytes
from ..timestamps import format_time, parse_iso
from .thread import decompress_limited, first_prompt, json_title

__all__ = ["render_thread"]


def render_thread(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a stored version: ``row.json`` plus ``thread.json`` (or ``thread.json.zst``)."""
    doc = md.Document()
    problems: list[str] = []
    row, problem = parse_json_bytes(files.get("row.json", b"{}"))
    if not isinstance(row, dict):
        problems.append(f"row.json: {problem or 'not an object'}")
        row = {}
    data = files.get("thread.json")
    if data is None and "thread.json.zst" in files:
        data, problem = decompress_limited(files["thread.json.zst"])
        if problem:
            problems.append(f"thread.json.zst: {problem}")
    thread, problem = parse_json_bytes(data) if data is not None else (None, "no thread data")
    if not isinstance(thread, dict):
        problems.append(f"thread: {problem or 'not a JSON object'}")
        thread = {}
    title = meta.get("title")
    if not (isinstance(title, str) and title):
        title = row.get("summary") or json_title(thread) or first_prompt(thread) or "Untitled"
    doc.heading(1, str(title))
    model = thread.get("model")
    model_name = None
    if isinstance(model, dict):
        model_name = "/".join(str(model[k]) for k in ("provider", "model") if isinstance(model.get(k), str))
    created, updated = parse_iso(row.get("created_at")), parse_iso(row.get("updated_at"))
    doc.add(chatmd.header_lines([
        ("Thread", meta.get("native_id") or row.get("id")),
        ("Parent thread", row.get("parent_id")),
        ("Folders", row.get("folder_paths")),
        ("Model", model_name),
        ("Profile", thread.get("profile") if isinstance(thread.get("profile"), str) else None),
        ("Started", chatmd.plain(format_time(created)) if created else None),
        ("Last activity", chatmd.plain(format_time(updated)) if updated else None),
        ("Format", chatmd.plain(f"thread JSON {thread.get('version') or '(agent 1)'}")),
    ]))
    for p in problems:
        doc.add(md.note(f"⚠ {p}"))
    summary = thread.get("detailed_summary")
    state = thread.get("detailed_summary_state")
    if isinstance(state, dict) and isinstance(state.get("Generated"), dict):
        summary = state["Generated"].get("text")
    if isinstance(summary, str) and summary.strip():
        doc.add(md.details("Detailed summary", md.text_block(summary)))
    messages = thread.get("messages")
    for m in messages if isinstance(messages, list) else ():
        try:
            _message(doc, m)
        except Exception as exc:  # noqa: BLE001 - one odd record must not cost the view
            doc.add(md.note(f"⚠ a message could not be rendered ({type(exc).__name__})"))
    return doc.render()


def _message(doc: md.Document, m: Any) -> None:
    if m == "Resume":
        doc.add(md.note("⟳ Resumed"))
    elif isinstance(m, dict) and isinstance(m.get("User"), dict):
        doc.heading(3, "User")
        for c in m["User"].get("content") or []:
            _user_content(doc, c)
    elif isinstance(m, dict) and isinstance(m.get("Agent"), dict):
        doc.heading(3, "Assistant")
        _agent(doc, m["Agent"])
    elif isinstance(m, dict) and isinstance(m.get("role"), str):
        _legacy(doc, m)
    else:
        doc.add(md.note("⚠ unknown message shape"))
        doc.add(md.details("Message", md.json_block(m, limit=chatmd.JSON_LIMIT)))


def _user_content(doc: md.Document, c: Any) -> None:
    if isinstance(c, str):
        doc.add(md.text_block(c))
    elif isinstance(c, dict) and "Text" in c:
        doc.add(md.text_block(str(c["Text"])))
    elif isinstance(c, dict) and isinstance(c.get("Mention"), dict):
        mention = c["Mention"]
        uri = mention.get("uri")
        label = uri if isinstance(uri, str) else md.json_text(uri, indent=None)
        body = mention.get("content")
        block = md.fence(body) if isinstance(body, str) and body else ""
        doc.add(md.details(f"@ {label}"[:300], block or "_(no content)_"))
    elif isinstance(c, dict) and isinstance(c.get("Image"), dict):
        img = c["Image"]
        doc.add(chatmd.image_note(None, img.get("size") if isinstance(img.get("size"), int) else None))
    else:
        doc.add(md.details("Content", md.json_block(c, limit=chatmd.JSON_LIMIT)))


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        if isinstance(content.get("Text"), str):
            return content["Text"]
        if "Image" in content:
            return "[image]"
    if isinstance(content, list):
        return "\n".join(_result_text(c) for c in content)
    return md.json_text(content)


def _result(doc: md.Document, r: Any) -> None:
    if not isinstance(r, dict):
        return
    doc.add(chatmd.output_block(_result_text(r.get("content")), is_error=r.get("is_error") is True,
                                label="Result"))


def _agent(doc: md.Document, agent: dict[str, Any]) -> None:
    results = agent.get("tool_results") if isinstance(agent.get("tool_results"), dict) else {}
    shown: set[str] = set()
    for c in agent.get("content") or []:
        if isinstance(c, dict) and "Text" in c:
            doc.add(md.text_block(str(c["Text"])))
        elif isinstance(c, dict) and isinstance(c.get("Thinking"), dict):
            doc.add(chatmd.thinking_block(str(c["Thinking"].get("text", ""))))
        elif isinstance(c, dict) and "RedactedThinking" in c:
            doc.add(md.note("(redacted thinking)"))
        elif isinstance(c, dict) and isinstance(c.get("ToolUse"), dict):
            use = c["ToolUse"]
            ident = use.get("id")
            doc.add(chatmd.tool_call_line(use.get("name"), ident))
            doc.add(chatmd.arguments_block(use.get("input", use.get("raw_input"))))
            if isinstance(ident, str) and ident in results:
                shown.add(ident)
                _result(doc, results[ident])
        else:
            doc.add(md.details("Content", md.json_block(c, limit=chatmd.JSON_LIMIT)))
    for ident, r in results.items():
        if ident not in shown:
            doc.add(f"**Tool result** for {md.code_span(str(ident))}")
            _result(doc, r)


def _legacy(doc: md.Document, m: dict[str, Any]) -> None:
    role = m["role"]
    hidden = " (hidden)" if m.get("is_hidden") else ""
    doc.heading(3, role.capitalize() + hidden)
    context = m.get("context")
    if isinstance(context, str) and context.strip():
        doc.add(md.details("Attached context", md.text_block(context)))
    segments = m.get("segments")
    if not isinstance(segments, list):
        segments = [{"type": "text", "text": m.get("text", "")}]
    for s in segments:
        if not isinstance(s, dict):
            continue
        if s.get("type") == "thinking":
            doc.add(chatmd.thinking_block(str(s.get("text", ""))))
        elif s.get("type") == "redacted_thinking":
            doc.add(md.note("(redacted thinking)"))
        else:
            doc.add(md.text_block(str(s.get("text", ""))))
    results = {r.get("tool_use_id"): r for r in m.get("tool_results") or [] if isinstance(r, dict)}
    for use in m.get("tool_uses") or []:
        if not isinstance(use, dict):
            continue
        doc.add(chatmd.tool_call_line(use.get("name"), use.get("id")))
        doc.add(chatmd.arguments_block(use.get("input")))
        r = results.pop(use.get("id"), None)
        if r is not None:
            _result(doc, r)
    for ident, r in results.items():
        doc.add(f"**Tool result** for {md.code_span(str(ident))}")
        _result(doc, r)

