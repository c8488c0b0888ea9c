"""A Zed agent thread as stored: the ``threads`` row and its JSON document.

Source: zed-industries/zed ``crates/agent/src/db.rs`` (``ThreadsDatabase``): table
``threads(id TEXT PRIMARY KEY, summary TEXT, updated_at TEXT (RFC 3339), data_type TEXT
('zstd' | 'json'), data BLOB, parent_id TEXT, folder_paths TEXT, folder_paths_order TEXT,
created_at TEXT)``; ``data`` is the thread JSON, zstd-compressed (level 3) when
``data_type = 'zstd'``. The JSON comes in two shapes:

* ``DbThread`` (``"version": "0.3.0"``): ``title``, ``messages`` = externally tagged enums
  ``{"User": {id, content: [{"Text": s} | {"Mention": {uri, content}} | {"Image": {…}}]}}``,
  ``{"Agent": {content: [{"Text": s} | {"Thinking": {text, signature}} |
  {"RedactedThinking": s} | {"ToolUse": {id, name, raw_input, input}}], tool_results: {id:
  {tool_use_id, tool_name, is_error, content, output}}}}`` or ``"Resume"``; ``model``
  ``{provider, model}``, ``profile``, ``detailed_summary``, ``subagent_context``.
* the agent-1 ``SerializedThread`` (``crates/agent/src/legacy_thread.rs``, versions 0.1/0.2
  or none): ``summary``, ``messages: [{id, role, segments: [{type: text|thinking|
  redacted_thinking, …}] (0.1: text), tool_uses: [{id, name, input}], tool_results:
  [{tool_use_id, is_error, content, output}], context, is_hidden}]``.

Nothing here raises on content.
"""

from __future__ import annotations

import io
from typing import Any

import zstandard

from ..titles import title_from_text

__all__ = ["MAX_JSON", "decompress_limited", "first_prompt", "json_title", "user_text"]

MAX_JSON = 256 * 1024 * 1024


def decompress_limited(data: bytes, limit: int = MAX_JSON) -> tuple[bytes | None, str | None]:
    """``(json bytes, None)`` or ``(None, reason)``: ``"compressed data is corrupt"``,
    ``"compressed data is cut off"``, ``"decompresses to more than N bytes"``."""
    dctx = zstandard.ZstdDecompressor()
    out = io.BytesIO()
    try:
        obj = dctx.decompressobj()
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            chunk = obj.decompress(view[pos : pos + (1 << 20)].tobytes())
            pos += 1 << 20
            out.write(chunk)
            if out.tell() > limit:
                return None, f"decompresses to more than {limit} bytes"
            if obj.eof:
                break
        if not obj.eof:
            return None, "compressed data is cut off"
    except zstandard.ZstdError:
        return None, "compressed data is corrupt"
    return out.getvalue(), None


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("Text", "text"):
            if isinstance(value.get(key), str):
                return value[key]
    return ""


def user_text(message: Any) -> str | None:
    """The text a user typed in one message of either shape, ``None`` if not a user message."""
    if isinstance(message, dict) and isinstance(message.get("User"), dict):
        content = message["User"].get("content")
        parts = [_text_of(c) for c in content] if isinstance(content, list) else []
        return "\n".join(p for p in parts if p)
    if isinstance(message, dict) and message.get("role") == "user":
        segments = message.get("segments")
        if isinstance(segments, list):
            return "\n".join(s.get("text", "") for s in segments
                             if isinstance(s, dict) and s.get("type") == "text" and isinstance(s.get("text"), str))
        return message.get("text") if isinstance(message.get("text"), str) else ""
    return None


def json_title(doc: Any) -> str | None:
    """The thread's own title in its JSON (``title``, or ``summary`` in agent-1 threads)."""
    if not isinstance(doc, dict):
        return None
    for key in ("title", "summary"):
        if isinstance(doc.get(key), str) and doc[key].strip():
            return doc[key]
    return None


def first_prompt(doc: Any) -> str:
    """Title from the first user message with text, or ``""``."""
    messages = doc.get("messages") if isinstance(doc, dict) else None
    for m in messages if isinstance(messages, list) else ():
        text = user_text(m)
        if text:
            title = title_from_text(text)
            if title:
                return title
    return ""
