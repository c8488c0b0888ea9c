"""Markdown pieces for chat transcripts, shared by the collectors of message-list formats
(opencode, Continue, Amp, Goose, Zed): headings per message, thinking, tool calls and their
output, images, in the same look as the Claude Code and Codex views.

Builds on :mod:`collectors.markdown` (fences, ``<details>``, escaping); everything returns a
safe Markdown block (``str``) and never raises on odd values.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from . import markdown as md
from .timestamps import format_time

__all__ = [
    "COLLAPSE_CHARS",
    "COLLAPSE_LINES",
    "Plain",
    "JSON_LIMIT",
    "arguments_block",
    "collapse",
    "header_lines",
    "heading_text",
    "image_note",
    "output_block",
    "plain",
    "thinking_block",
    "tool_call_line",
]

COLLAPSE_LINES = 30
COLLAPSE_CHARS = 3000
JSON_LIMIT = 64 * 1024
_SAFE = re.compile(r"^[A-Za-z0-9 .:,/+()=-]*$")  # no Markdown or HTML meaning mid-line


def heading_text(role: str, when: float | None = None, *extra: str | None) -> str:
    """``"Assistant · claude-sonnet-4 · 2025-07-19 22:21:00 UTC"`` (for ``Document.heading``)."""
    parts = [role[:1].upper() + role[1:] if role else "Message"]
    parts.extend(e for e in extra if e)
    if when is not None:
        parts.append(format_time(when))
    return " · ".join(parts)


def collapse(label: str, block: str, size_hint: str | None = None, always: bool = False) -> str:
    """``block`` as is, or inside ``<details>`` when long (more than 30 lines / 3000 chars)."""
    text = size_hint if size_hint is not None else block
    lines = text.count("\n") + 1
    if always or lines > COLLAPSE_LINES or len(text) > COLLAPSE_CHARS:
        return md.details(f"{label} ({lines} line{'' if lines == 1 else 's'})", block)
    return block


def thinking_block(text: str, label: str = "Thinking") -> str:
    """Reasoning text, collapsed."""
    return md.details(label, md.text_block(text)) if text.strip() else md.note(f"({label.lower()}: empty)")


def tool_call_line(name: Any, ident: Any = None, status: Any = None, title: Any = None) -> str:
    """``**Tool call:** `bash` · `call_1` · completed — title``."""
    head = "**Tool call:** " + md.code_span(name if isinstance(name, str) and name else "?")
    if isinstance(ident, str) and ident:
        head += " · " + md.code_span(ident)
    if isinstance(status, str) and status:
        head += " · " + md.escape_inline(status)
    if isinstance(title, str) and title.strip():
        head += " — " + md.escape_inline(title, 200)
    return head


def arguments_block(value: Any, label: str = "Input") -> str:
    """Tool input: a JSON string is parsed and pretty-printed; collapsed when long."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return collapse(label, md.fence(value), size_hint=value)
    if value in (None, {}, []):
        return ""
    block = md.json_block(value, limit=JSON_LIMIT)
    return collapse(label, block)


def output_block(value: Any, *, is_error: bool = False, label: str = "Output") -> str:
    """Tool output (text, or JSON shown as such) as a fence, collapsed when long; an error is
    labelled so. Empty output gives a short note."""
    text = value if isinstance(value, str) else md.json_text(value)
    head = f"**{'Error' if is_error else label}**"
    if not text.strip():
        return head + " _(empty)_"
    lang = "" if isinstance(value, str) else "json"
    if len(text) > JSON_LIMIT * 4:
        text = text[: JSON_LIMIT * 4] + f"\n… ({len(text) - JSON_LIMIT * 4} more characters in the raw file)"
    return head + "\n\n" + collapse(label, md.fence(text, lang), size_hint=text)


def image_note(mime: Any = None, size: int | None = None, name: Any = None) -> str:
    """``_🖼 image (image/png, 12.3 KiB) name_`` (image data itself is not inlined)."""
    bits = [b for b in (mime if isinstance(mime, str) else None,
                        md.human_bytes(size) if isinstance(size, int) else None) if b]
    label = "🖼 image" + (f" ({', '.join(bits)})" if bits else "")
    if isinstance(name, str) and name:
        label += f" {name}"
    return md.note(label)


def header_lines(pairs: Iterable[tuple[str, Any]]) -> str:
    """A bullet list ``- **Label:** value`` of the pairs whose value is set; values that are
    ids/paths are shown as code, :class:`Plain` values (times, versions) as text."""
    lines = []
    for label, value in pairs:
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            shown = md.escape_inline(str(value))
        elif isinstance(value, Plain):
            text = " ".join(value.split())
            shown = text if _SAFE.match(text) else md.escape_inline(text)
        else:
            shown = md.code_span(str(value))
        lines.append(f"- **{label}:** {shown}")
    return "\n".join(lines)


class Plain(str):
    """A header value shown as escaped text rather than as code (see :func:`header_lines`)."""


def plain(value: str) -> Plain:
    """Mark ``value`` to be shown as text in :func:`header_lines` (times, versions, counts)."""
    return Plain(value)
