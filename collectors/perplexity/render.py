"""A stored Perplexity thread → Markdown.

Layout::

    # <title>
    - Thread slug and address, start and last activity, models, modes, entry count
    ## Conversation
    ### User · <time>                 the entry's ``query_str``
    ### Perplexity · <model> · <mode> the answer (the ``ask_text`` markdown block, else the
                                      first markdown block, else the chunks joined), then
                                      collapsed: sources (web results, numbered as the
                                      answer's ``[n]`` cites them), other answer blocks,
                                      other blocks (JSON); related questions listed

Perplexity threads are linear (no branches). Never raises on content.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Mapping

from .. import markdown as md
from ..importing import CONVERSATION_FILE
from ..timestamps import format_time, parse_iso
from .thread import entries_of, main_answer, related_of, sources_of, thread_info, thread_url

__all__ = ["render_thread"]

log = logging.getLogger(__name__)

JSON_LIMIT = 64 * 1024
SNIPPET_LIMIT = 300
_SAFE_URL = re.compile(r"^https?://[^\s<>`]+$", re.IGNORECASE)


def render_thread(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render one Perplexity version (``conversation.json``, a thread file) with its
    ``meta.json`` dict."""
    doc = md.Document()
    title = meta.get("title")
    shape = None
    problem = ""
    data = files.get(CONVERSATION_FILE)
    if data is None:
        problem = "no conversation.json in this version"
    else:
        try:
            shape = entries_of(json.loads(data))
        except (ValueError, RecursionError):
            problem = "conversation.json is not valid JSON"
        else:
            if shape is None:
                problem = "conversation.json is not a Perplexity thread"
    entries, thread_meta = shape if shape is not None else ([], {})
    info = thread_info(entries, thread_meta)
    doc.heading(1, title if isinstance(title, str) and title else (info.title or "Untitled"))
    lines: list[str] = []
    if info.slug:
        url = thread_url(info.slug)
        link = f" · <{url}>" if _SAFE_URL.match(url) else ""
        lines.append(f"- **Thread:** {md.code_span(info.slug)}{link}")
    elif isinstance(meta.get("native_id"), str) and meta["native_id"]:
        lines.append(f"- **Thread:** {md.code_span(meta['native_id'])}")
    if info.created_at is not None:
        lines.append(f"- **Started:** {format_time(info.created_at)}")
    if info.updated_at is not None:
        lines.append(f"- **Last activity:** {format_time(info.updated_at)}")
    if info.models:
        lines.append("- **Models:** " + ", ".join(md.code_span(m) for m in info.models))
    if info.modes:
        lines.append("- **Modes:** " + ", ".join(md.code_span(m) for m in info.modes))
    lines.append(f"- **Questions:** {info.entries}")
    doc.add("\n".join(lines))
    if shape is None:
        doc.add(md.note(f"⚠ {problem}; the raw files are kept"))
        return doc.render()
    doc.heading(2, "Conversation")
    if not entries:
        doc.add(md.note("(no entries)"))
    for number, entry in enumerate(entries, 1):
        try:
            _entry(doc, entry, number)
        except Exception as exc:  # noqa: BLE001 - one odd entry must not lose the page
            log.debug("could not render entry %d", number, exc_info=True)
            doc.add(md.note(f"⚠ could not render entry {number} ({type(exc).__name__})"))
    others = sorted(n for n in files if n != CONVERSATION_FILE)
    if others:
        doc.heading(2, "Other files")
        doc.add("\n".join(f"- {md.code_span(n)} ({md.human_bytes(len(files[n]))})" for n in others))
    return doc.render()


def _entry(doc: md.Document, entry: Any, number: int) -> None:
    if not isinstance(entry, dict):
        doc.add(md.note(f"⚠ entry {number} is not an object"))
        return
    head = ["User"]
    when = parse_iso(entry.get("entry_created_datetime"))
    if when is not None:
        head.append(format_time(when))
    doc.heading(3, " · ".join(head))
    query = entry.get("query_str")
    if isinstance(query, str) and query.strip():
        doc.add(md.text_block(query))
    else:
        doc.add(md.note("(no question text)"))
    attachments = entry.get("attachments")
    if isinstance(attachments, list):
        names = [a for a in attachments if isinstance(a, str) and a]
        if names:
            doc.add("_Attached:_ " + ", ".join(md.code_span(a) for a in names))

    label = ["Perplexity"]
    for key in ("display_model", "mode"):
        value = entry.get(key)
        if isinstance(value, str) and value:
            label.append(value)
    doc.heading(3, " · ".join(label))
    answer, other_answers = main_answer(entry)
    if answer.strip():
        doc.add(md.text_block(answer))
    else:
        doc.add(md.note("(no answer text)"))
    sources = sources_of(entry)
    if sources:
        doc.add(md.details(f"Sources ({len(sources)})", _sources(sources)))
    for usage, text in other_answers:
        doc.add(md.details(f"Answer block {usage or '(unnamed)'}", md.text_block(text)))
    rest = _other_blocks(entry)
    if rest:
        names = ", ".join(sorted({u for u, _ in rest}))
        body = "\n\n".join(md.json_block(b, limit=JSON_LIMIT) for _, b in rest)
        doc.add(md.details(f"Other blocks ({len(rest)}): {names}", body))
    related = related_of(entry)
    if related:
        doc.add("_Related questions:_\n\n" + "\n".join(f"- {md.escape_inline(q)}" for q in related))


def _sources(sources: list[dict[str, Any]]) -> str:
    lines = []
    for number, source in enumerate(sources, 1):
        name = source.get("name") or source.get("title")
        url = source.get("url")
        parts = [f"{number}."]
        if isinstance(name, str) and name.strip():
            parts.append(f"**{md.escape_inline(name, 200)}**")
        if isinstance(url, str) and url:
            parts.append(f"<{url}>" if _SAFE_URL.match(url) and len(url) < 2000
                         else md.code_span(md.truncate(url, 500)))
        snippet = source.get("snippet")
        if isinstance(snippet, str) and snippet.strip():
            parts.append("— " + md.escape_inline(snippet, SNIPPET_LIMIT))
        if len(parts) == 1:
            parts.append(md.note("(no name or address)"))
        lines.append(" ".join(parts))
    return "\n".join(lines)


def _other_blocks(entry: dict[str, Any]) -> list[tuple[str, Any]]:
    """Blocks that are neither markdown answers nor web results, as ``(usage, block)``."""
    blocks = entry.get("blocks")
    out = []
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict) and ("markdown_block" in block or "web_result_block" in block):
            continue
        usage = block.get("intended_usage") if isinstance(block, dict) else None
        out.append((usage if isinstance(usage, str) and usage else "unnamed", block))
    return out
