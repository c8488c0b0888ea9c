"""A stored Grok conversation → Markdown.

Layout: title, ids, times, models; the current thread whole (``leaf_response_id``, else the
newest leaf), then every other branch from its fork ("Branch N (continues after message K)"),
each message once, numbered in that order, with its sender, model and time. Per response:
the message as Markdown (inline ``<grok:render>`` citation cards shown as ``[N]``);
``thinking_trace`` and agent traces, ``steps``, web search results and cards in
``<details>``; attachments by their stored names (``files/<asset id>/…``) or marked as not
in the export; generated image URLs listed. Never raises on content.
"""

from __future__ import annotations

import json
import re
from functools import partial
from typing import Any, Hashable, Mapping

from .. import markdown as md
from ..branches import Thread
from ..importing import CONVERSATION_FILE
from ..threadmd import add_threads, branch_heading, start_page, summary_lines
from ..timestamps import format_time
from .model import Conversation, Response, parse_conversation

__all__ = ["render_conversation"]

JSON_LIMIT = 16 * 1024
# Grok's inline citation markup: <grok:render … type="render_inline_citation"><argument
# name="citation_id">31</argument></grok:render>, shown as [31]; other markup stays visible.
_CITATION = re.compile(
    r'<grok:render\b[^>]{0,300}>\s{0,20}<argument name="citation_id">\s{0,5}(\d{1,6})\s{0,5}'
    r'</argument>\s{0,20}</grok:render>')
_ROLES = {"user": "User", "assistant": "Grok"}


def render_conversation(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a version: ``files[conversation.json]`` (one element of the export's
    ``conversations``), its ``files/<asset id>/…`` attachments, and ``meta`` (the version's
    ``meta.json``). Returns Markdown; never raises on bad content."""
    doc, conv, ordered = start_page(files.get(CONVERSATION_FILE), meta, parse_conversation)
    if conv is None:
        return doc.render()
    _header(doc, conv, len(ordered))
    count = add_threads(doc, ordered, conv.responses.get,
                        lambda number, resp: _response(doc, number, resp, files),
                        partial(_thread_heading, conv))
    if count == 0:
        doc.add(md.note("(no messages)"))
    return doc.render()


def _thread_heading(conv: Conversation, number: int, thread: Thread,
                    numbers: Mapping[Hashable, int]) -> str:
    return branch_heading(number, thread, numbers, "its parent message is not in the export"
                          if _parent_missing(conv, thread.ids) else "a separate start")


def _parent_missing(conv: Conversation, ids: tuple) -> bool:
    first = conv.responses.get(ids[0]) if ids else None
    return first is not None and first.parent is not None and first.parent not in conv.responses


def _header(doc: md.Document, conv: Conversation, threads: int) -> None:
    lines = [f"- **Conversation:** {md.code_span(conv.native_id)}"]
    lines += summary_lines(conv.created_at, conv.updated_at, conv.models(), len(conv.responses),
                           threads)
    flags = [k for k in ("starred", "temporary") if conv.flags.get(k) is True]
    if flags:
        lines.append(f"- **Flags:** {', '.join(flags)}")
    prompt = conv.flags.get("system_prompt_name")
    if isinstance(prompt, str) and prompt:
        lines.append(f"- **System prompt:** {md.escape_inline(prompt, 100)}")
    for warning in conv.warnings:
        lines.append(f"- ⚠ {md.escape_inline(warning)}")
    doc.add("\n".join(lines))


def _response(doc: md.Document, number: int, resp: Response, files: Mapping[str, bytes]) -> None:
    who = _ROLES.get(resp.role) or (resp.sender.strip() or "Message")
    head = f"{number} · {md.escape_inline(who, 60)}"
    if resp.model:
        head += " · " + md.code_span(resp.model[:100])
    if resp.time is not None:
        head += " · " + format_time(resp.time)
    doc.add(f"### {head}")
    raw = resp.raw
    if raw.get("partial") is True:
        doc.add(md.note("(partial response)"))
    error = raw.get("error")
    if error:
        doc.add(md.details("⚠ Error", md.json_block(error, limit=JSON_LIMIT)))
    thinking = raw.get("thinking_trace")
    if isinstance(thinking, str) and thinking.strip():
        doc.add(md.details("Thinking", md.text_block(thinking)))
    for key, label in (("agent_thinking_traces", "Agent thinking"), ("steps", "Steps")):
        value = raw.get(key)
        if value:
            doc.add(md.details(f"{label} ({_count(value)})",
                               md.json_block(value, limit=JSON_LIMIT)))
    query = raw.get("query")
    if isinstance(query, str) and query.strip():
        doc.add(md.details("Search query", md.fence(query)))
    message = raw.get("message")
    if isinstance(message, str) and message.strip():
        doc.add(md.text_block(_CITATION.sub(r"[\1]", message)))
    elif message not in (None, ""):
        doc.add(md.json_block(message, limit=JSON_LIMIT))
    for key, label in (("web_search_results", "Web search results"),
                       ("cited_web_search_results", "Cited web results")):
        value = raw.get(key)
        if isinstance(value, list) and value:
            doc.add(md.details(f"{label} ({len(value)})", _results(value)))
    cards = raw.get("card_attachments_json")
    if cards:
        doc.add(md.details("Cards", md.json_block(_maybe_json(cards), limit=JSON_LIMIT)))
    attachments = _attachments(resp, files)
    if attachments:
        doc.add("**Attachments:**\n" + "\n".join(attachments))
    images = raw.get("generated_image_urls")
    if isinstance(images, list) and images:
        lines = [f"- {md.code_span(u[:2000])}" for u in images if isinstance(u, str)]
        if lines:
            doc.add("**Generated images** (URLs; not stored):\n" + "\n".join(lines))
    if (message is None or (isinstance(message, str) and not message.strip())) and not attachments:
        doc.add(md.note("(no text)"))


def _attachments(resp: Response, files: Mapping[str, bytes]) -> list[str]:
    lines: list[str] = []
    for asset in resp.attachments:
        prefix = f"files/{asset}/"
        stored = sorted(n for n in files if n.startswith(prefix))
        if stored:
            for name in stored:
                lines.append(f"- 📎 {md.code_span(name)} ({md.human_bytes(len(files[name]))})")
        else:
            lines.append(f"- 📎 {md.code_span(asset[:200])} (not in the export)")
    return lines


def _results(items: list) -> str:
    lines: list[str] = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            lines.append(f"{i}. " + md.code_span(md.json_text(item, indent=None)[:500]))
            continue
        title = item.get("title") if isinstance(item.get("title"), str) else ""
        url = item.get("url") if isinstance(item.get("url"), str) else ""
        line = f"{i}. {md.escape_inline(title, 300) or '(untitled)'}"
        if url:
            line += " — " + md.code_span(url[:2000])
        preview = item.get("preview") or item.get("snippet") or item.get("description")
        if isinstance(preview, str) and preview.strip():
            line += f"\n   {md.escape_inline(preview, 600)}"
        lines.append(line)
    return "\n".join(lines)


def _count(value: Any) -> int:
    return len(value) if isinstance(value, (list, dict)) else 1


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value
