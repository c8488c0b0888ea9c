"""One Perplexity thread as a thread exporter writes it, and the facts read from it.

Perplexity has no official bulk export. Browser extensions (the "Thread Exporter" kind) save
the web app's own thread response (``GET /rest/thread/<slug>``). Format source:
Superkikim/nexus-ai-chat-importer ``src/providers/perplexity/perplexity-types.ts``
(``PerplexityEntryExportFile``), the web API's block names as used by Perplexity clients::

    {status: "success",
     thread_metadata: {title, created_at, updated_at},        ISO 8601, no offset = UTC
     entries: [{uuid, backend_uuid, context_uuid, thread_title, thread_url_slug,
                query_str, display_model, user_selected_model, mode,
                related_queries: [str], related_query_items: [{text, type}],
                blocks: [{intended_usage: "ask_text" | "web_results" | …,
                          markdown_block?: {answer, chunks: [str]},
                          web_result_block?: {web_results: [{name, url, snippet, …}]}, …}],
                entry_created_datetime, entry_updated_datetime, updated_datetime, …}]}

A bare JSON list of such entries is accepted too. One entry is one question and its answer;
all entries of a file form one thread (one conversation).

Everything here works on parsed values and never raises on content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..timestamps import parse_iso
from ..titles import title_from_text

__all__ = [
    "ThreadInfo",
    "answer_blocks",
    "entries_of",
    "main_answer",
    "related_of",
    "sources_of",
    "thread_info",
    "thread_url",
]

ENTRY_KEYS = ("query_str", "backend_uuid", "thread_url_slug", "blocks", "context_uuid")


def thread_url(slug: str) -> str:
    """The thread's address on perplexity.ai."""
    return f"https://www.perplexity.ai/search/{slug}"


def entries_of(value: Any) -> tuple[list[Any], dict[str, Any]] | None:
    """``(entries, thread_metadata)`` of a thread file's parsed JSON, or ``None`` when it is
    not one (no entries list, or no entry with any Perplexity entry key)."""
    meta: dict[str, Any] = {}
    if isinstance(value, dict):
        entries = value.get("entries")
        if isinstance(value.get("thread_metadata"), dict):
            meta = value["thread_metadata"]
    else:
        entries = value
    if not isinstance(entries, list):
        return None
    if not any(isinstance(e, dict) and any(k in e for k in ENTRY_KEYS) for e in entries):
        if entries or not isinstance(value, dict) or "thread_metadata" not in value:
            return None
    return entries, meta


@dataclass
class ThreadInfo:
    """Facts about one thread. Times are Unix seconds."""

    native_id: str | None = None
    slug: str | None = None
    title: str = ""
    created_at: float | None = None
    updated_at: float | None = None
    entries: int = 0
    models: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def thread_info(entries: list[Any], meta: dict[str, Any]) -> ThreadInfo:
    """The thread's id, title, times, models and modes.

    ``native_id``: the ``thread_url_slug`` (first entry that has one), else the first
    entry's ``context_uuid``, else its ``uuid`` (or ``backend_uuid``). ``title``:
    ``thread_metadata.title``, else an entry's ``thread_title``, else the first query cut
    by :func:`~collectors.titles.title_from_text` (``""`` if none)."""
    info = ThreadInfo()
    good = [e for e in entries if isinstance(e, dict)]
    info.entries = len(good)
    info.slug = next((s for s in (_str(e.get("thread_url_slug")) for e in good) if s), None)
    first = good[0] if good else {}
    info.native_id = (info.slug or _str(first.get("context_uuid")) or _str(first.get("uuid"))
                      or _str(first.get("backend_uuid")))
    title = _str(meta.get("title")) or next(
        (t for t in (_str(e.get("thread_title")) for e in good) if t), None)
    if title is None:
        for e in good:
            query = _str(e.get("query_str"))
            title = title_from_text(query) if query else ""
            if title:
                break
    info.title = (title or "").strip()
    created = [t for t in (parse_iso(e.get("entry_created_datetime")) for e in good)
               if t is not None]
    updated = [t for e in good for t in (parse_iso(e.get(k)) for k in (
        "entry_updated_datetime", "updated_datetime", "entry_created_datetime")) if t is not None]
    info.created_at = parse_iso(meta.get("created_at"))
    if info.created_at is None and created:
        info.created_at = min(created)
    info.updated_at = parse_iso(meta.get("updated_at"))
    if info.updated_at is None and updated:
        info.updated_at = max(updated)
    for e in good:
        for key, into in (("display_model", info.models), ("mode", info.modes)):
            value = _str(e.get(key))
            if value and value not in into:
                into.append(value)
    return info


def answer_blocks(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """``(intended_usage, text)`` of every block with a ``markdown_block``: its ``answer``,
    else its ``chunks`` joined."""
    out: list[tuple[str, str]] = []
    blocks = entry.get("blocks")
    if not isinstance(blocks, list):
        return out
    for block in blocks:
        if not isinstance(block, dict):
            continue
        mb = block.get("markdown_block")
        if not isinstance(mb, dict):
            continue
        text = mb.get("answer")
        if not isinstance(text, str) or not text:
            chunks = mb.get("chunks")
            pieces = chunks if isinstance(chunks, list) else []
            text = "".join(c for c in pieces if isinstance(c, str))
        usage = block.get("intended_usage")
        out.append((usage if isinstance(usage, str) else "", text))
    return out


def main_answer(entry: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """``(answer, other answer blocks)``: the ``ask_text`` block's text, else the first
    markdown block's, else an entry-level ``answer``; the others are the remaining markdown
    blocks whose text differs from it (drafts, per-step answers)."""
    blocks = [(u, t) for u, t in answer_blocks(entry) if t.strip()]
    chosen = next((i for i, (u, _) in enumerate(blocks) if u == "ask_text"), 0 if blocks else None)
    if chosen is None:
        answer = entry.get("answer")
        return (answer if isinstance(answer, str) else ""), []
    text = blocks[chosen][1]
    others = [(u, t) for i, (u, t) in enumerate(blocks)
              if i != chosen and t.strip() != text.strip()]
    return text, others


def sources_of(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The entry's web results (``blocks[].web_result_block.web_results``, else an
    entry-level ``web_results`` or ``sources``), objects only, in order."""
    found: list[dict[str, Any]] = []
    blocks = entry.get("blocks")
    for block in blocks if isinstance(blocks, list) else []:
        wrb = block.get("web_result_block") if isinstance(block, dict) else None
        results = wrb.get("web_results") if isinstance(wrb, dict) else None
        if isinstance(results, list):
            found.extend(r for r in results if isinstance(r, dict))
    if not found:
        for key in ("web_results", "sources"):
            results = entry.get(key)
            if isinstance(results, list):
                found.extend(r for r in results if isinstance(r, dict))
                if found:
                    break
    return found


def related_of(entry: dict[str, Any]) -> list[str]:
    """Suggested follow-up questions: ``related_queries``, else ``related_query_items[].text``."""
    related = entry.get("related_queries")
    if isinstance(related, list):
        texts = [q for q in related if isinstance(q, str) and q.strip()]
        if texts:
            return texts
    items = entry.get("related_query_items")
    if isinstance(items, list):
        return [i["text"] for i in items
                if isinstance(i, dict) and isinstance(i.get("text"), str) and i["text"].strip()]
    return []
