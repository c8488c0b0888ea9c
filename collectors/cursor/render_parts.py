"""Markdown pieces shared by the Cursor renderers: collapsed long output, tool calls and
results, JSON-in-a-string values, the document header. Pure functions; never raise."""

from __future__ import annotations

import json
from typing import Any, Mapping

from .. import markdown as md
from ..timestamps import format_time

__all__ = [
    "JSON_LIMIT",
    "collapse",
    "header",
    "loads_maybe",
    "tool_call",
    "tool_output",
    "value_text",
]

COLLAPSE_LINES = 30
COLLAPSE_CHARS = 3000
JSON_LIMIT = 64 * 1024
TEXT_LIMIT = 256 * 1024


def collapse(label: str, block: str, size_hint: str | None = None, always: bool = False) -> str:
    """``block`` as is, or inside a collapsed ``<details>`` when long (or ``always``)."""
    text = size_hint if size_hint is not None else block
    lines = text.count("\n") + 1
    if always or lines > COLLAPSE_LINES or len(text) > COLLAPSE_CHARS:
        return md.details(f"{label} ({lines} lines)", block)
    return block


def loads_maybe(value: Any) -> Any:
    """A string holding JSON (Cursor keeps tool arguments and results as JSON text) parsed;
    anything else unchanged."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def value_text(value: Any) -> str:
    """Readable text of a tool result: a string as is; a list of content blocks joined;
    an object with one obvious text member (``contents``, ``output``, ``text`` …) that member;
    anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(
        isinstance(p, str) or (isinstance(p, dict) and isinstance(p.get("text"), str))
        for p in value
    ):
        return "\n".join(p if isinstance(p, str) else p["text"] for p in value)
    if isinstance(value, dict):
        for key in ("contents", "output", "text", "content", "stdout", "result"):
            inner = value.get(key)
            if isinstance(inner, str) and inner.strip():
                rest = {k: v for k, v in value.items() if k != key}
                return inner if not rest else inner + "\n\n" + md.json_text(rest)
    return md.json_text(value)


def _limited(text: str) -> str:
    if len(text) > TEXT_LIMIT:
        more = len(text) - TEXT_LIMIT
        return text[:TEXT_LIMIT] + f"\n… ({more} more characters in the raw file)"
    return text


def tool_call(
    name: Any, args: Any, *, ident: Any = None, status: Any = None, label: str = "Tool"
) -> list[str]:
    """A tool call: ``**Tool:** `name` · status · `id``` and its arguments (JSON, collapsed
    when long)."""
    shown = name if isinstance(name, str) and name else ("?" if name is None else str(name))
    head = f"**{label}:** {md.code_span(shown)}"
    if isinstance(status, str) and status:
        head += f" · {md.escape_inline(status)}"
    if isinstance(ident, str) and ident:
        head += f" · {md.code_span(ident)}"
    blocks = [head]
    args = loads_maybe(args)
    if args not in (None, "", {}, []):
        if isinstance(args, str):
            body = md.fence(_limited(args))
            blocks.append(collapse("Arguments", body, size_hint=args))
        else:
            text = md.json_text(args)
            blocks.append(collapse("Arguments", md.json_block(args, limit=JSON_LIMIT), text))
    return blocks


def tool_output(
    value: Any, *, ident: Any = None, error: bool = False, label: str = ""
) -> list[str]:
    """A tool's result, collapsed when long; ``_(empty)_`` when there is none."""
    head = "**Tool error**" if error else "**Tool result**"
    if label:
        head += f" of {md.code_span(label)}"
    if isinstance(ident, str) and ident:
        head += f" · {md.code_span(ident)}"
    text = value_text(loads_maybe(value)) if value is not None else ""
    if not text.strip():
        return [head + " _(empty)_"]
    return [head, collapse("Output", md.fence(_limited(text)), size_hint=text)]


def header(
    doc: md.Document, meta: Mapping[str, Any], fallback_title: str, facts: list[tuple[str, Any]]
) -> None:
    """``# title`` and a bullet list of the ``facts`` that have a value (code spans for ids
    and paths are the caller's choice: pass already-formatted strings), then the workspace,
    times and warnings from ``meta``."""
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else fallback_title)
    attributes = meta.get("attributes") if isinstance(meta.get("attributes"), Mapping) else {}
    lines: list[str] = []
    for label, value in facts:
        if value not in (None, "", [], ()):
            lines.append(f"- **{label}:** {value}")
    workspace = attributes.get("workspace_path") or attributes.get("workspace")
    if isinstance(workspace, str) and workspace:
        lines.append(f"- **Workspace:** {md.code_span(workspace)}")
    for label, key in (("Created", "created_at"), ("Last activity", "updated_at")):
        value = meta.get(key)
        if isinstance(value, (int, float)):
            lines.append(f"- **{label}:** {format_time(float(value))}")
    links = meta.get("links") if isinstance(meta.get("links"), Mapping) else {}
    for rel, target in links.items():
        if isinstance(target, str):
            lines.append(f"- **{md.escape_inline(rel.replace('_', ' ').capitalize())}:** "
                         f"{md.code_span(target)}")
    warnings = meta.get("warnings")
    if isinstance(warnings, list):
        for warning in warnings:
            if isinstance(warning, str):
                lines.append(f"- ⚠ {md.escape_inline(warning)}")
    if lines:
        doc.add("\n".join(lines))
