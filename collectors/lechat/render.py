"""A stored Le Chat chat → Markdown.

Layout::

    # <title>
    - Chat id and address, first and last message time, message count
    ## Conversation
    ### User · <time>            the message text (``content``; or its text chunks),
    ### Le Chat · <time>         then, in chunk order, tool calls (collapsed, with their
                                 ``publicArguments`` and ``publicResult``), reference ids,
                                 other chunks (collapsed JSON); attachments by stored name;
                                 canvas, quotes and context collapsed; a reaction if any
    ## Attachments               the version's ``files/…`` with sizes

Messages are shown in time order (:func:`.chat.chronological`); Le Chat exports have no
branches (no parent ids), so there is one thread. Never raises on content.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Mapping

from .. import markdown as md
from ..importing import CONVERSATION_FILE
from ..timestamps import format_time, parse_epoch, parse_iso
from .chat import chat_url, chronological, named_files

__all__ = ["render_chat"]

log = logging.getLogger(__name__)

JSON_LIMIT = 64 * 1024
ROLES = {"user": "User", "assistant": "Le Chat", "system": "System"}


def render_chat(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render one Le Chat version: ``conversation.json`` (a message array) plus
    ``files/…`` attachments, and its ``meta.json`` dict."""
    doc = md.Document()
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else "Untitled")
    messages: list[Any] | None = None
    problem = ""
    data = files.get(CONVERSATION_FILE)
    if data is None:
        problem = "no conversation.json in this version"
    else:
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):
            problem = "conversation.json is not valid JSON"
        else:
            if isinstance(value, list):
                messages = value
            else:
                problem = "conversation.json is not a message array"
    _header(doc, meta, messages or [])
    if messages is None:
        doc.add(md.note(f"⚠ {problem}; the raw files are kept"))
    else:
        doc.heading(2, "Conversation")
        if not messages:
            doc.add(md.note("(no messages)"))
        for number, index in enumerate(chronological(messages), 1):
            message = messages[index]
            try:
                _message(doc, message, files)
            except Exception as exc:  # noqa: BLE001 - one odd message must not lose the page
                log.debug("could not render message %d", number, exc_info=True)
                doc.add(md.note(f"⚠ could not render message {number} ({type(exc).__name__})"))
    _file_list(doc, files)
    return doc.render()


def _header(doc: md.Document, meta: Mapping[str, Any], messages: list[Any]) -> None:
    lines: list[str] = []
    native = meta.get("native_id")
    if isinstance(native, str) and native:
        lines.append(f"- **Chat:** {md.code_span(native)} · <{chat_url(native)}>"
                     if _plain_id(native) else f"- **Chat:** {md.code_span(native)}")
    times = [t for t in (parse_iso(m.get("createdAt")) for m in messages if isinstance(m, dict))
             if t is not None]
    if times:
        lines.append(f"- **Started:** {format_time(min(times))}")
        lines.append(f"- **Last message:** {format_time(max(times))}")
    lines.append(f"- **Messages:** {len(messages)}")
    doc.add("\n".join(lines))


def _plain_id(text: str) -> bool:
    return all(c.isalnum() or c == "-" for c in text) and len(text) <= 100


def _message(doc: md.Document, message: Any, files: Mapping[str, bytes]) -> None:
    if not isinstance(message, dict):
        doc.add(md.note("⚠ a message that is not an object"))
        return
    role = message.get("role")
    label = [ROLES.get(role, role) if isinstance(role, str) and role else "Message"]
    when = parse_iso(message.get("createdAt"))
    if when is not None:
        label.append(format_time(when))
    version = message.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > 0:
        label.append(f"version {version}")
    doc.heading(3, " · ".join(str(x) for x in label))

    content = message.get("content")
    content = content if isinstance(content, str) else ""
    chunks = message.get("contentChunks")
    chunks = chunks if isinstance(chunks, list) else []
    has_text = any(isinstance(c, dict) and c.get("type") == "text"
                   and isinstance(c.get("text"), str) and c["text"].strip() for c in chunks)
    shown = False
    if content.strip() and not has_text:
        doc.add(md.text_block(content))
        shown = True
    for chunk in chunks:
        shown = _chunk(doc, chunk) or shown
    if not shown:
        doc.add(md.note("(no text)"))
    _attachments(doc, message, files)
    for key, label_text in (("canvas", "Canvas"), ("quotes", "Quoted"), ("context", "Context")):
        value = message.get(key)
        if value not in (None, [], {}, ""):
            _collapsed_value(doc, label_text, value)
    reaction = message.get("reaction")
    comment = message.get("reactionComment")
    parts = []
    if isinstance(reaction, str) and reaction and reaction != "neutral":
        parts.append(f"reaction: {reaction}")
    detail = message.get("reactionDetail")
    if isinstance(detail, str) and detail:
        parts.append(detail)
    if isinstance(comment, str) and comment.strip():
        parts.append(f"comment: {comment}")
    if parts:
        doc.add(md.note("; ".join(parts)))


def _chunk(doc: md.Document, chunk: Any) -> bool:
    """Add one content chunk; True if it showed something."""
    if not isinstance(chunk, dict):
        return False
    kind = chunk.get("type")
    if kind == "text":
        text = chunk.get("text")
        if isinstance(text, str) and text.strip():
            doc.add(md.text_block(text))
            return True
        return False
    if kind == "tool_call":
        doc.add(_tool_call(chunk))
        return True
    if kind == "reference":
        ids = chunk.get("referenceIds")
        if isinstance(ids, list) and ids:
            doc.add("_References: " + ", ".join(md.escape_inline(f"[{i}]") for i in ids
                                                if isinstance(i, (int, str))) + "_")
            return True
        return False
    name = kind if isinstance(kind, str) and kind else "unknown"
    doc.add(md.details(f"Content chunk: {name}", md.json_block(chunk, limit=JSON_LIMIT)))
    return True


def _tool_call(chunk: Mapping[str, Any]) -> str:
    name = chunk.get("name")
    summary = f"Tool call: {name if isinstance(name, str) and name else '?'}"
    if chunk.get("success") is False:
        summary += " (failed)"
    elif chunk.get("isInterrupted") is True:
        summary += " (interrupted)"
    elif chunk.get("isDone") is False:
        summary += " (not finished)"
    body: list[str] = []
    facts = []
    ident = chunk.get("id")
    if isinstance(ident, str) and ident:
        facts.append(f"id {md.code_span(ident)}")
    start = parse_epoch(chunk.get("startTime"), unit="ms")
    end = parse_epoch(chunk.get("endTime"), unit="ms")
    if start is not None:
        facts.append(f"started {format_time(start)}")
        if end is not None and end >= start:
            facts.append(f"took {end - start:.1f} s")
    if facts:
        body.append("_" + "; ".join(facts) + "_")
    arguments = chunk.get("publicArguments")
    if isinstance(arguments, str) and arguments:
        body.append("**Arguments**")
        try:
            body.append(md.json_block(json.loads(arguments), limit=JSON_LIMIT))
        except (ValueError, RecursionError):
            body.append(md.fence(md.truncate(arguments, JSON_LIMIT)))
    elif arguments is not None:
        body.append("**Arguments**")
        body.append(md.json_block(arguments, limit=JSON_LIMIT))
    result = chunk.get("publicResult")
    if result is not None:
        body.append("**Result**")
        if isinstance(result, str):
            body.append(md.fence(md.truncate(result, JSON_LIMIT)))
        else:
            body.append(md.json_block(result, limit=JSON_LIMIT))
    return md.details(summary, "\n\n".join(body) or md.note("(no arguments)"))


def _attachments(doc: md.Document, message: Mapping[str, Any], files: Mapping[str, bytes]) -> None:
    names = named_files(message)
    if not names:
        return
    stored = {n.rsplit("/", 1)[-1]: n for n in files if n.startswith("files/")}
    items = []
    for name in names:
        base = name.rsplit("/", 1)[-1]
        if base in stored:
            items.append(md.code_span(stored[base]))
        else:
            items.append(f"{md.code_span(name)} (not in this export)")
    doc.add("_Attached:_ " + ", ".join(items))


def _collapsed_value(doc: md.Document, label: str, value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            title = item.get("title") or item.get("name")
            content = item.get("content") if isinstance(item.get("content"), str) else None
            summary = f"{label}: {title}" if isinstance(title, str) and title else label
            if content is not None:
                rest = {k: v for k, v in item.items() if k != "content"}
                body = (md.fence(md.truncate(content, JSON_LIMIT)) + "\n\n"
                        + md.json_block(rest, limit=JSON_LIMIT))
            else:
                body = md.json_block(item, limit=JSON_LIMIT)
            doc.add(md.details(summary, body))
        elif isinstance(item, str):
            doc.add(md.details(label, md.fence(md.truncate(item, JSON_LIMIT))))
        else:
            doc.add(md.details(label, md.json_block(item, limit=JSON_LIMIT)))


def _file_list(doc: md.Document, files: Mapping[str, bytes]) -> None:
    attached = sorted(n for n in files if n.startswith("files/"))
    others = sorted(n for n in files if n != CONVERSATION_FILE and not n.startswith("files/"))
    if attached:
        doc.heading(2, "Attachments")
        doc.add("\n".join(f"- {md.code_span(n)} ({md.human_bytes(len(files[n]))})"
                          for n in attached))
    if others:
        doc.heading(2, "Other files")
        doc.add("\n".join(f"- {md.code_span(n)} ({md.human_bytes(len(files[n]))})"
                          for n in others))
