"""Markdown pieces shared by several collectors' renderers, on top of :mod:`collectors.markdown`.

* :func:`collapse` puts a long block into a ``<details>`` (by line and character count);
* :func:`arguments_block` shows tool-call arguments (JSON pretty-printed, strings fenced);
* :func:`output_block` shows a tool's textual output (collapsed when long, marked when empty);
* :func:`side_files` lists a conversation's side files (spilled tool output, workspace
  files …) with a bounded preview of each text file.

Pure functions on ``str``/``bytes``; nothing here raises on odd content.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from . import chatmd
from . import markdown as md

__all__ = [
    "COLLAPSE_CHARS",
    "COLLAPSE_LINES",
    "JSON_LIMIT",
    "arguments_block",
    "collapse",
    "output_block",
    "side_files",
]

COLLAPSE_LINES = chatmd.COLLAPSE_LINES
COLLAPSE_CHARS = chatmd.COLLAPSE_CHARS
JSON_LIMIT = 64 * 1024
PREVIEW_LIMIT = 256 * 1024


def collapse(label: str, block: str, text: str | None = None, *, always: bool = False) -> str:
    """:func:`collectors.chatmd.collapse`, measuring ``text`` (or the block itself)."""
    return chatmd.collapse(label, block, size_hint=text, always=always)


def arguments_block(value: Any, label: str = "Input") -> str | None:
    """Tool-call arguments as Markdown: a dict/list (or a string holding JSON) as a ``json``
    fence, any other string as a plain fence; ``None`` when there are none."""
    if value is None or value == {} or value == "":
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith(("{", "[")):
            try:
                value = json.loads(stripped)
            except (ValueError, RecursionError):
                return collapse(label, md.fence(value), value)
        else:
            return collapse(label, md.fence(value), value)
    block = md.json_block(value, limit=JSON_LIMIT)
    return collapse(label, block)


def output_block(text: str, label: str = "Output", lang: str = "") -> str:
    """A tool's output text fenced (collapsed when long); ``_(empty)_`` when blank."""
    if not text.strip():
        return "_(empty)_"
    return collapse(label, md.fence(text, lang), text)


def side_files(
    doc: md.Document, files: Mapping[str, bytes], names: Iterable[str], heading: str
) -> None:
    """Add a section ``heading`` listing ``names`` (raw file names of ``files``), each text
    file previewed (first :data:`PREVIEW_LIMIT` bytes) inside a collapsed ``<details>``."""
    names = sorted(names)
    if not names:
        return
    doc.heading(2, heading)
    for name in names:
        data = files.get(name, b"")
        text = md.decode_preview(data, PREVIEW_LIMIT)
        if text is None:
            size = md.human_bytes(len(data))
            doc.add(f"- {md.code_span(name)}: {md.note('binary file, ' + size)}")
            continue
        body = md.fence(text, md.guess_language(name))
        if len(data) > PREVIEW_LIMIT:
            body += "\n\n" + md.note(
                f"(first {md.human_bytes(PREVIEW_LIMIT)} of {md.human_bytes(len(data))} shown; "
                "the raw file is complete)"
            )
        doc.add(md.details(f"{name} ({md.human_bytes(len(data))})", body))
