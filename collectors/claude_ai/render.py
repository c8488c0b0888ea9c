"""Claude.ai versions → Markdown: conversations, projects and the memories page.

A conversation (``conversation.json``): title, times, account, model; then its messages.
When the messages carry ``parent_message_uuid`` links, the current thread comes first
(``current_leaf_message_uuid`` when the web API gave one, else the newest leaf by
``created_at``), whole, then every other branch from where it forks, marked
``## Branch N (continues after message M)``; messages are numbered in the order shown, so
every message appears once. Without links, the messages in export order. Content blocks:
``text`` as Markdown, ``thinking`` and ``tool_use``/``tool_result`` in ``<details>``, anything
else as JSON in ``<details>``; attachments are listed with the names they are stored under
(:mod:`.naming`), ``files[]`` by name (the export holds no bytes for them).

A project (``project.json``): description, instructions and the list of docs; memories
(``memories.json``): each memory text. Never raises on content (the importer's
``render_markdown`` adds :func:`collectors.markdown.never_raises` on top).
"""

from __future__ import annotations

import json
from typing import Any, Hashable, Mapping

from .. import markdown as md
from ..branches import Thread
from ..threadmd import add_threads, branch_heading
from ..timestamps import format_time, parse_iso
from .conversation import conversation_title, message_tree
from .naming import attachment_names, doc_names, memory_names

__all__ = ["render_version"]

JSON_LIMIT = 16 * 1024
SENDERS = {"human": "User", "assistant": "Claude"}


def render_version(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Pick the page for a stored version by its files (``project.json``, ``memories.json``,
    else ``conversation.json``) and render it."""
    kind = (meta.get("attributes") or {}).get("kind") if isinstance(meta.get("attributes"), dict) else None
    if "project.json" in files and kind in (None, "project"):
        return render_project(files, meta)
    if "memories.json" in files and kind in (None, "memories"):
        return render_memories(files, meta)
    return render_conversation(files, meta)


def _parse(data: bytes | None) -> tuple[Any, str | None]:
    """Parsed JSON, or ``(None, why)``."""
    if data is None:
        return None, "missing"
    try:
        text = bytes(data).decode("utf-8", "replace")
        return json.loads(text[1:] if text.startswith("\ufeff") else text), None
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not valid JSON"


def _title(meta: Mapping[str, Any], fallback: str) -> str:
    title = meta.get("title")
    return title if isinstance(title, str) and title.strip() else fallback


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _time_line(label: str, value: Any) -> str | None:
    seconds = parse_iso(value) if isinstance(value, str) else None
    return f"- **{label}:** {format_time(seconds)}" if seconds is not None else None


def _files_note(doc: md.Document, files: Mapping[str, bytes]) -> None:
    names = ", ".join(md.code_span(n) for n in sorted(files)) or "none"
    doc.add(md.note("raw files in this version:") + " " + names)


# -- conversations ---------------------------------------------------------------------------

def render_conversation(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a conversation version (``conversation.json`` plus attachments)."""
    doc = md.Document()
    conv, why = _parse(files.get("conversation.json"))
    if not isinstance(conv, dict):
        doc.heading(1, _title(meta, "Untitled"))
        doc.add(md.note(f"⚠ conversation.json is {why or 'not a JSON object'}; the raw files are kept as they are"))
        _files_note(doc, files)
        return doc.render()
    doc.heading(1, _title(meta, conversation_title(conv)))
    messages = conv.get("chat_messages")
    messages = messages if isinstance(messages, list) else []
    tree = message_tree(messages)
    runs = tree.threads(conv.get("current_leaf_message_uuid")) if tree is not None else []
    _conversation_header(doc, conv, meta, messages, len(runs))
    summary = _str(conv.get("summary"))
    if summary.strip():
        doc.add(md.details("Summary", md.text_block(summary)))
    if not messages:
        doc.add(md.note("no messages"))
        return doc.render()
    stored = attachment_names(messages)
    if tree is None:
        for number, message in enumerate(messages, 1):
            _message(doc, number, number - 1, message, stored, files)
        return doc.render()
    add_threads(doc, runs, tree.index.get,
                lambda number, index: _message(doc, number, index, messages[index], stored, files),
                _thread_heading)
    bad = len(messages) - len(tree.index)
    if bad:
        doc.add(md.note(f"⚠ {bad} message(s) are not JSON objects and are not shown"))
    return doc.render()


def _thread_heading(number: int, run: Thread, numbers: Mapping[Hashable, int]) -> str:
    return branch_heading(number, run, numbers, "starts separately", current="Current thread")


def _conversation_header(doc: md.Document, conv: Mapping[str, Any], meta: Mapping[str, Any],
                         messages: list, branches: int) -> None:
    lines: list[str] = []
    uuid = conv.get("uuid") if isinstance(conv.get("uuid"), str) else meta.get("native_id")
    if isinstance(uuid, str) and uuid:
        lines.append(f"- **Conversation:** {md.code_span(uuid)}")
    for label, key in (("Created", "created_at"), ("Updated", "updated_at")):
        line = _time_line(label, conv.get(key))
        if line:
            lines.append(line)
    account = conv.get("account")
    if isinstance(account, dict) and isinstance(account.get("uuid"), str):
        lines.append(f"- **Account:** {md.code_span(account['uuid'])}")
    if isinstance(meta.get("org"), str) and meta["org"]:
        lines.append(f"- **Org:** {md.escape_inline(meta['org'])}")
    if _str(conv.get("model")):
        lines.append(f"- **Model:** {md.code_span(conv['model'])}")
    if _str(conv.get("project_uuid")):
        lines.append(f"- **Project:** {md.code_span(conv['project_uuid'])}")
    count = f"- **Messages:** {len(messages)}"
    if branches > 1:
        count += f" in {branches} branches (current thread first)"
    lines.append(count)
    doc.add("\n".join(lines))


def _message(doc: md.Document, number: int, index: int, message: Any,
             stored: Mapping[tuple[int, int], str], files: Mapping[str, bytes]) -> None:
    if not isinstance(message, dict):
        doc.heading(3, f"Message {number} · unreadable")
        doc.add(md.note("⚠ this message is not a JSON object"))
        return
    sender = message.get("sender")
    who = SENDERS.get(sender, sender if isinstance(sender, str) and sender else "Unknown sender")
    when = parse_iso(message.get("created_at"))
    doc.heading(3, f"Message {number} · {who}" + (f" · {format_time(when)}" if when is not None else ""))
    if message.get("truncated") is True:
        doc.add(md.note("the platform marked this message as truncated"))
    content = message.get("content")
    blocks = content if isinstance(content, list) else []
    has_text = any(isinstance(b, dict) and b.get("type") == "text" for b in blocks)
    text = message.get("text")
    if not has_text and isinstance(text, str) and text.strip():
        doc.add(md.text_block(text))
    for block in blocks:
        doc.add(_block(block))
    if content is not None and not isinstance(content, list):
        doc.add(md.details("content (not a list)", md.json_block(content, limit=JSON_LIMIT)))
    _attachments(doc, index, message, stored, files)


def _block(block: Any) -> str:
    """One content block as Markdown."""
    if not isinstance(block, dict):
        return md.details("content block (not an object)", md.json_block(block, limit=JSON_LIMIT))
    kind = block.get("type")
    if kind == "text":
        text = _str(block.get("text"))
        out = md.text_block(text) if text.strip() else ""
        citations = block.get("citations")
        if isinstance(citations, list) and citations:
            out += "\n\n" + md.details(f"Citations ({len(citations)})",
                                       md.json_block(citations, limit=JSON_LIMIT))
        return out
    if kind == "thinking":
        label = "Thinking"
        summaries = block.get("summaries")
        if isinstance(summaries, list) and summaries and isinstance(summaries[-1], dict):
            last = _str(summaries[-1].get("summary"))
            if last.strip():
                label = f"Thinking: {md.truncate(' '.join(last.split()), 120)}"
        return md.details(label, md.text_block(_str(block.get("thinking"))) or md.note("(empty)"))
    if kind == "redacted_thinking":
        return md.note("thinking redacted by the platform")
    if kind == "tool_use":
        name = _str(block.get("name")) or "tool"
        body = md.json_block(block.get("input"), limit=JSON_LIMIT)
        return md.details(f"Tool call: {name}", body)
    if kind == "tool_result":
        name = _str(block.get("name")) or "tool"
        label = f"Tool result: {name}" + (" (error)" if block.get("is_error") is True else "")
        return md.details(label, _tool_result_body(block.get("content")))
    label = f"{kind} block" if isinstance(kind, str) and kind else "content block"
    return md.details(label, md.json_block(block, limit=JSON_LIMIT))


def _tool_result_body(content: Any) -> str:
    if isinstance(content, str):
        return md.fence(content) if content else md.note("(empty)")
    if not isinstance(content, list):
        return md.json_block(content, limit=JSON_LIMIT)
    parts: list[str] = []
    for item in content:
        if isinstance(item, dict) and item.get("type") == "text" and isinstance(item.get("text"), str):
            parts.append(md.fence(item["text"]))
        elif isinstance(item, dict) and item.get("type") == "knowledge":
            title = _str(item.get("title")) or "(untitled)"
            url = _str(item.get("url"))
            parts.append("- " + md.escape_inline(title, 200) + (f" — {md.code_span(url)}" if url else ""))
        else:
            parts.append(md.json_block(item, limit=JSON_LIMIT))
    return "\n\n".join(parts) or md.note("(empty)")


def _attachments(doc: md.Document, index: int, message: Mapping[str, Any],
                 stored: Mapping[tuple[int, int], str], files: Mapping[str, bytes]) -> None:
    atts = message.get("attachments")
    lines: list[str] = []
    for ai, att in enumerate(atts if isinstance(atts, list) else []):
        if not isinstance(att, dict):
            continue
        name = _str(att.get("file_name")) or "(no name)"
        facts = [x for x in (_str(att.get("file_type")),
                             md.human_bytes(att["file_size"]) if isinstance(att.get("file_size"), int)
                             and not isinstance(att.get("file_size"), bool) and att["file_size"] >= 0 else "") if x]
        line = f"- {md.escape_inline(name, 200)}" + (f" ({md.escape_inline(', '.join(facts))})" if facts else "")
        where = stored.get((index, ai))
        if where is not None:
            line += f" → {md.code_span(where)}" + ("" if where in files else " (not in this version)")
        else:
            line += " — no extracted text in the export"
        lines.append(line)
    listed: set[str] = set()
    for key in ("files", "files_v2"):  # the web API repeats files[] in files_v2: list once
        entries = message.get(key)
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            name = _str(entry.get("file_name")) or _str(entry.get("file_uuid")) or "(no name)"
            ident = _str(entry.get("file_uuid")) or name
            if ident in listed:
                continue
            listed.add(ident)
            kind = _str(entry.get("file_kind"))
            lines.append(f"- {md.escape_inline(name, 200)}" + (f" ({md.escape_inline(kind)})" if kind else "")
                         + " — file not included in the export")
    if lines:
        doc.add("**Attachments:**\n\n" + "\n".join(lines))


# -- projects and memories -------------------------------------------------------------------

def render_project(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a project version (``project.json``, ``prompt_template.md``, ``docs/…``)."""
    doc = md.Document()
    proj, why = _parse(files.get("project.json"))
    if not isinstance(proj, dict):
        doc.heading(1, _title(meta, "Project"))
        doc.add(md.note(f"⚠ project.json is {why or 'not a JSON object'}; the raw files are kept as they are"))
        _files_note(doc, files)
        return doc.render()
    name = _str(proj.get("name"))
    doc.heading(1, _title(meta, f"Project: {name or 'Untitled'}"))
    lines: list[str] = []
    if _str(proj.get("uuid")):
        lines.append(f"- **Project:** {md.code_span(proj['uuid'])}")
    for label, key in (("Created", "created_at"), ("Updated", "updated_at")):
        line = _time_line(label, proj.get(key))
        if line:
            lines.append(line)
    if isinstance(proj.get("is_private"), bool):
        lines.append(f"- **Private:** {'yes' if proj['is_private'] else 'no'}")
    creator = proj.get("creator")
    if isinstance(creator, dict):
        who = _str(creator.get("full_name")) or _str(creator.get("uuid"))
        if who:
            lines.append(f"- **Creator:** {md.escape_inline(who, 200)}")
    doc.add("\n".join(lines))
    description = _str(proj.get("description"))
    if description.strip():
        doc.heading(2, "Description")
        doc.add(md.text_block(description))
    template = _str(proj.get("prompt_template"))
    if template.strip():
        doc.heading(2, "Instructions")
        doc.add(md.details("prompt_template.md", md.text_block(template)))
    docs = proj.get("docs")
    docs = docs if isinstance(docs, list) else []
    doc.heading(2, f"Documents ({len(docs)})")
    stored = doc_names(docs)
    items: list[str] = []
    for di, entry in enumerate(docs):
        if not isinstance(entry, dict):
            items.append(f"- {md.note('⚠ an entry that is not an object')}")
            continue
        fname = _str(entry.get("filename")) or "(no name)"
        line = f"- {md.escape_inline(fname, 200)}"
        content = entry.get("content")
        if isinstance(content, str):
            line += f" ({len(content)} characters)"
        created = parse_iso(entry.get("created_at"))
        if created is not None:
            line += f", added {format_time(created)}"
        where = stored.get(di)
        line += f" → {md.code_span(where)}" if where else " — no text content in the export"
        items.append(line)
    doc.add("\n".join(items) if items else md.note("no documents"))
    return doc.render()


def render_memories(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render the memories version (``memories.json``): the account memory, then each
    project's memory."""
    doc = md.Document()
    doc.heading(1, _title(meta, "Memories"))
    value, why = _parse(files.get("memories.json"))
    if why:
        doc.add(md.note(f"⚠ memories.json is {why}; the raw file is kept as it is"))
        return doc.render()
    entries = value if isinstance(value, list) else [value] if isinstance(value, dict) else None
    if entries is None:
        doc.add(md.note("memories.json has an unexpected shape; shown as JSON"))
        doc.add(md.json_block(value, limit=JSON_LIMIT))
        return doc.render()
    names = iter(memory_names(value))
    shown = 0
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            doc.add(md.note(f"⚠ entry {n} is not an object"))
            continue
        suffix = f" (entry {n})" if len(entries) > 1 else ""
        account = _str(entry.get("account_uuid"))
        memory = _str(entry.get("conversations_memory"))
        if memory.strip():
            stored, _ = next(names)
            doc.heading(2, "Memory from conversations" + suffix)
            doc.add((f"- **Account:** {md.code_span(account)}\n" if account else "")
                    + f"- **File:** {md.code_span(stored)}")
            doc.add(md.text_block(memory))
            shown += 1
        projects = entry.get("project_memories")
        for key, text in projects.items() if isinstance(projects, dict) else ():
            if isinstance(text, str) and text.strip():
                stored, _ = next(names)
                doc.heading(2, f"Project memory {key}{suffix}")
                doc.add(f"- **File:** {md.code_span(stored)}")
                doc.add(md.text_block(text))
                shown += 1
        other = {k: v for k, v in entry.items()
                 if k not in ("conversations_memory", "project_memories", "account_uuid")}
        if other:
            doc.add(md.details(f"Other fields{suffix}", md.json_block(other, limit=JSON_LIMIT)))
    if not shown:
        doc.add(md.note("no memories"))
    return doc.render()
