"""A stored DeepSeek conversation → Markdown.

Layout: title, ids, times and models; then the current thread whole (the platform's current
node, else the newest leaf), then every other branch from where it forks, headed
"Branch N (continues after message K)". Messages are numbered once, in that order.
Fragments: ``REQUEST``/``RESPONSE`` as Markdown, ``THINK`` and ``SEARCH`` results (and tool
fragments, response ``references``) in ``<details>``, ``FILE`` fragments and message files
as a list of names (the export holds no file bytes). Never raises on content.
"""

from __future__ import annotations

from typing import Any, Hashable, Mapping

from .. import markdown as md
from ..branches import Thread
from ..importing import CONVERSATION_FILE
from ..threadmd import add_threads, branch_heading, start_page, summary_lines
from ..timestamps import format_time, parse_time
from .model import EXPORT, SINGLE, WEB_API, Conversation, Message, parse_conversation, shape_of

__all__ = ["render_conversation"]

JSON_LIMIT = 16 * 1024
_FORMATS = {EXPORT: "DeepSeek data export (conversations.json)",
            SINGLE: "DeepSeek conversation file",
            WEB_API: "DeepSeek web API history (saved by an exporter script)"}
_ROLES = {"user": "User", "assistant": "DeepSeek"}


def render_conversation(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a version: ``files[conversation.json]`` (any of the :mod:`.model` shapes) and
    ``meta`` (the version's ``meta.json``). Returns Markdown; never raises on bad content."""
    attributes = meta.get("attributes")
    stored_as = attributes.get("format") if isinstance(attributes, Mapping) else None
    doc, conv, ordered = start_page(files.get(CONVERSATION_FILE), meta,
                                    lambda value: _parse(value, stored_as))
    if conv is None:
        return doc.render()
    _header(doc, conv, meta, len(ordered))
    count = add_threads(doc, ordered, conv.messages.get,
                        lambda number, msg: _message(doc, number, msg), _thread_heading)
    if count == 0:
        doc.add(md.note("(no messages)"))
    return doc.render()


def _parse(value: Any, stored_as: Any) -> Conversation:
    shape = shape_of(value) or EXPORT
    if shape == SINGLE and stored_as == EXPORT:
        shape = EXPORT  # an element of conversations.json, stored on its own
    return parse_conversation(value, shape)


def _header(doc: md.Document, conv: Conversation, meta: Mapping[str, Any], threads: int) -> None:
    lines: list[str] = []
    native = conv.native_id or meta.get("native_id")
    if isinstance(native, str) and native:
        lines.append(f"- **Conversation:** {md.code_span(native)}")
    lines.append(f"- **Source:** {md.escape_inline(_FORMATS.get(conv.shape, conv.shape))}")
    lines += summary_lines(conv.created_at, conv.updated_at, conv.models(), len(conv.messages),
                           threads)
    for warning in conv.warnings:
        lines.append(f"- ⚠ {md.escape_inline(warning)}")
    doc.add("\n".join(lines))


def _thread_heading(number: int, thread: Thread, numbers: Mapping[Hashable, int]) -> str:
    return branch_heading(number, thread, numbers, "a separate start" if thread.fork_after is None
                          else "starts over from the beginning")


def _message(doc: md.Document, number: int, msg: Message) -> None:
    parts = [str(number), _ROLES.get(msg.role, msg.role.title() if msg.role else "Message")]
    head = " · ".join(md.escape_inline(p) for p in parts)
    if msg.model:
        head += " · " + md.code_span(msg.model)
    if msg.time is not None:
        head += " · " + format_time(msg.time)
    doc.add(f"### {head}")
    if msg.status and msg.status.upper() != "FINISHED":
        doc.add(md.note(f"status: {msg.status}"))
    files = _files(msg)
    for frag in msg.fragments:
        _fragment(doc, frag)
    if files:
        doc.add("**Files** (named in the export; their contents are not part of it):\n"
                + "\n".join(files))
    if not msg.fragments:
        doc.add(md.note("(no content)"))


def _fragment(doc: md.Document, frag: dict) -> None:
    kind = frag.get("type")
    content = frag.get("content")
    if kind in ("REQUEST", "RESPONSE"):
        if isinstance(content, str) and content.strip():
            doc.add(md.text_block(content))
        _references(doc, frag.get("references"))
    elif kind == "THINK":
        summary = "Thinking"
        elapsed = frag.get("elapsed_secs")
        if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool) and elapsed >= 0:
            summary += f" ({elapsed:.0f} s)"
        text = content if isinstance(content, str) else md.json_text(content)
        doc.add(md.details(summary, md.text_block(text) or "_(empty)_"))
        _references(doc, frag.get("references"))
    elif kind == "SEARCH":
        results = frag.get("results")
        items = results if isinstance(results, list) else []
        doc.add(md.details(f"Search results ({len(items)})", _results(items)))
    elif kind == "FILE":
        pass  # listed with the message's files
    else:
        label = kind if isinstance(kind, str) and kind else "fragment"
        doc.add(md.details(label, md.json_block(frag, limit=JSON_LIMIT)))


def _references(doc: md.Document, refs: Any) -> None:
    if isinstance(refs, list) and refs:
        doc.add(md.details(f"References ({len(refs)})", _results(refs)))


def _results(items: list) -> str:
    lines: list[str] = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            lines.append(f"{i}. " + md.code_span(md.json_text(item, indent=None)[:500]))
            continue
        label = item.get("cite_index")
        number = label if isinstance(label, int) and not isinstance(label, bool) else i
        title = item.get("title") if isinstance(item.get("title"), str) else ""
        url = item.get("url") if isinstance(item.get("url"), str) else ""
        line = f"{number}. {md.escape_inline(title, 300) or '(untitled)'}"
        if url:
            line += " — " + md.code_span(url[:2000])
        site = item.get("site_name")
        if isinstance(site, str) and site.strip():
            line += f" ({md.escape_inline(site, 100)})"
        published = parse_time(item.get("published_at"))
        if published is not None:
            line += f", {format_time(published)}"
        snippet = item.get("snippet")
        if isinstance(snippet, str) and snippet.strip():
            line += f"\n   {md.escape_inline(snippet, 600)}"
        lines.append(line)
    return "\n".join(lines) or "_(none)_"


def _files(msg: Message) -> list[str]:
    """``- name (size)`` lines for the message's files and ``FILE`` fragments, each once."""
    entries: list[dict] = list(msg.files)
    for frag in msg.fragments:
        if frag.get("type") == "FILE" and isinstance(frag.get("files"), list):
            entries.extend(f for f in frag["files"] if isinstance(f, dict))
    merged: dict[str, dict[str, Any]] = {}  # the same file named twice: combine what is known
    for entry in entries:
        name = entry.get("file_name") or entry.get("name")
        ident = entry.get("file_id") or entry.get("id")
        ident = ident if isinstance(ident, (str, int)) and not isinstance(ident, bool) else None
        name = name if isinstance(name, str) and name else None
        size = entry.get("file_size") if "file_size" in entry else entry.get("size")
        size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
        info = merged.setdefault(str(ident if ident is not None else name), {})
        for key, value in (("name", name), ("id", ident), ("size", size)):
            if value is not None and info.get(key) is None:
                info[key] = value
    lines: list[str] = []
    for info in merged.values():
        name = md.escape_inline(info["name"], 300) if info.get("name") else "(unnamed file)"
        line = f"- 📎 {name}"
        if info.get("size") is not None:
            line += f" ({md.human_bytes(info['size'])})"
        if info.get("id") is not None:
            line += " " + md.code_span(str(info["id"])[:200])
        lines.append(line)
    return lines
