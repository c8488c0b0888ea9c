"""A stored ChatGPT conversation → Markdown.

Layout of the document::

    # <title>
    - Conversation id, created / updated, model, models used, custom GPT, flags, files
    ## Current thread            root → ``current_node`` (newest leaf when it is missing)
    ### 1. User · <time>
    ### 2. Assistant · gpt-4o · <time>
    ## Branch 2 (continues after message 2)      edits and regenerations, each once

(With a single thread the ``## Current thread`` heading is left out.) Messages are numbered in
the order shown; the root's ``message: null`` is skipped. System messages, messages hidden
from the conversation (``metadata.is_visually_hidden_from_conversation``, e.g. custom
instructions), tool messages and assistant calls to a tool (``recipient`` other than ``all``)
are one collapsed ``<details>`` each. Content types: ``text``, ``multimodal_text`` (text parts;
image/audio pointers shown as the stored ``files/…`` name, or marked as not in the export),
``code``, ``execution_output``, ``tether_browsing_display``, ``tether_quote``, ``thoughts``,
``reasoning_recap``, ``user_editable_context``, ``model_editable_context``, ``system_error``,
``sonic_webpage``; anything else as collapsed JSON. Never raises on content.

Source of the shapes: pionxzh/chatgpt-exporter ``src/api.ts``; ``../shared/FORMATS.md``.
"""

from __future__ import annotations

import json
from typing import Any, Hashable, Mapping

from .. import markdown as md
from ..branches import Thread, threads
from ..threadmd import add_threads
from ..timestamps import format_time, parse_time
from .shape import file_id_of_name, is_hidden, message_time, pointer_file_id, tree_of

__all__ = ["render_conversation"]

JSON_LIMIT = 16 * 1024
_ROLES = {"user": "User", "assistant": "Assistant", "system": "System", "tool": "Tool",
          "critic": "Critic", "function": "Function"}
_DONE = (None, "finished_successfully", "finished")
_FOLDED = {"thoughts", "tether_browsing_display", "tether_quote", "execution_output",
           "user_editable_context", "model_editable_context", "system_error", "sonic_webpage",
           "tether_browsing_code"}
_MEDIA = {"image_asset_pointer": "Image", "audio_asset_pointer": "Audio",
          "video_container_asset_pointer": "Video"}


def render_conversation(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render ``files["conversation.json"]`` (one conversation object) with the other stored
    files (``files/…``, ``textdocs/…``) named where the messages refer to them. ``meta`` is the
    version's ``meta.json`` dict (``title``, ``native_id``, ``created_at`` … are used when
    present). Garbage in ``conversation.json`` gives a page saying so, not an exception."""
    doc = md.Document()
    conv, problem = _load(files.get("conversation.json"))
    title = meta.get("title") if isinstance(meta.get("title"), str) else ""
    if not title and conv is not None and isinstance(conv.get("title"), str):
        title = conv["title"]
    doc.heading(1, title or "Untitled")
    stored = _Stored(files)
    _header(doc, conv or {}, meta, stored)
    if problem:
        doc.add(md.note(f"⚠ {problem}; the raw file is kept as it was exported"))
        return doc.render()
    assert conv is not None
    mapping = conv.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        doc.add(md.note("no messages (the conversation has no mapping)"))
        return doc.render()
    _Body(doc, conv, mapping, stored).run()
    return doc.render()


def _load(raw: bytes | None) -> tuple[dict | None, str | None]:
    if raw is None:
        return None, "this version has no conversation.json"
    try:
        value = json.loads(bytes(raw).decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError, TypeError):
        return None, "conversation.json could not be parsed (cut off or not JSON)"
    if not isinstance(value, dict):
        return None, "conversation.json is not a conversation object"
    return value, None


class _Stored:
    """The version's stored files, looked up by file id (for pointers and attachments)."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.attachments = sorted(n for n in files if isinstance(n, str) and n.startswith("files/"))
        self.textdocs = sorted(n for n in files if isinstance(n, str) and n.startswith("textdocs/"))
        self.by_id: dict[str, list[str]] = {}
        for name in self.attachments:
            fid = file_id_of_name(name.rsplit("/", 1)[-1])
            if fid:
                self.by_id.setdefault(fid, []).append(name)

    def names_for(self, ident: Any) -> list[str]:
        return self.by_id.get(ident, []) if isinstance(ident, str) else []


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _header(doc: md.Document, conv: Mapping[str, Any], meta: Mapping[str, Any],
            stored: _Stored) -> None:
    lines: list[str] = []
    ident = _s(conv.get("conversation_id")) or _s(conv.get("id")) or _s(meta.get("native_id"))
    if ident:
        lines.append(f"- **Conversation:** {md.code_span(ident)}")
    created = parse_time(conv.get("create_time"))
    updated = parse_time(conv.get("update_time"))
    if created is None and isinstance(meta.get("created_at"), (int, float)):
        created = float(meta["created_at"])
    if updated is None and isinstance(meta.get("updated_at"), (int, float)):
        updated = float(meta["updated_at"])
    if created is not None:
        lines.append(f"- **Created:** {format_time(created)}")
    if updated is not None:
        lines.append(f"- **Updated:** {format_time(updated)}")
    model = _s(conv.get("default_model_slug"))
    if model:
        lines.append(f"- **Model:** {md.code_span(model)}")
    used = _models(conv.get("mapping"))
    if used and used != [model]:
        lines.append("- **Models used:** " + ", ".join(md.code_span(m) for m in used[:20]))
    gizmo = _s(conv.get("gizmo_id"))
    if gizmo:
        kind = _s(conv.get("gizmo_type"))
        label = "Project" if kind == "snorlax" else "Custom GPT"
        extra = f" ({md.escape_inline(kind, 40)})" if kind else ""
        lines.append(f"- **{label}:** {md.code_span(gizmo)}{extra}")
    template = _s(conv.get("conversation_template_id"))
    if template and template != gizmo:
        lines.append(f"- **Template:** {md.code_span(template)}")
    flags = [name for key, name in (("is_archived", "archived"), ("is_starred", "starred"),
                                    ("is_temporary_chat", "temporary chat"),
                                    ("is_do_not_remember", "not remembered"))
             if conv.get(key) is True]
    if flags:
        lines.append("- **Flags:** " + ", ".join(flags))
    if stored.attachments:
        lines.append("- **Files:** " + ", ".join(md.code_span(n) for n in stored.attachments))
    if stored.textdocs:
        lines.append("- **Canvas documents:** "
                     + ", ".join(md.code_span(n) for n in stored.textdocs))
    doc.add("\n".join(lines))


def _models(mapping: Any) -> list[str]:
    found: set[str] = set()
    if isinstance(mapping, dict):
        for node in mapping.values():
            message = node.get("message") if isinstance(node, dict) else None
            meta = message.get("metadata") if isinstance(message, dict) else None
            slug = meta.get("model_slug") if isinstance(meta, dict) else None
            if isinstance(slug, str) and slug.strip():
                found.add(slug)
    return sorted(found)


class _Body:
    """The threads of one conversation, messages numbered in the order shown."""

    def __init__(self, doc: md.Document, conv: Mapping[str, Any], mapping: dict,
                 stored: _Stored) -> None:
        self.doc = doc
        self.conv = conv
        self.mapping = mapping
        self.stored = stored
        self.parents, self.children = tree_of(mapping)

    def message(self, key: Any) -> dict | None:
        node = self.mapping.get(key)
        message = node.get("message") if isinstance(node, dict) else None
        return message if isinstance(message, dict) else None

    def run(self) -> None:
        current = self.conv.get("current_node")
        if not (isinstance(current, str) and current in self.mapping):
            if current is not None:
                self.doc.add(md.note("⚠ current_node names no message; the thread ending in "
                                     "the newest message is shown first"))
            current = None
        runs = threads(self.parents, current=current,
                       sort_key=lambda k: message_time(self.message(k)), children=self.children)
        runs = [r for r in runs if any(self.message(k) is not None for k in r.ids)]
        if not runs:
            self.doc.add(md.note("no messages"))
            return
        add_threads(self.doc, runs, self.message, self._show, self._heading)

    def _heading(self, number: int, run: Thread, numbers: Mapping[Hashable, int]) -> str:
        if number == 1 and run.current:
            return "Current thread"
        return f"Branch {number} ({self._fork_label(run.fork_after, numbers)})"

    def _show(self, number: int, message: dict) -> None:
        try:
            self._message(number, message)
        except Exception as exc:  # noqa: BLE001 - one odd message must not cost the page
            self.doc.add(md.note(f"⚠ message {number} could not be rendered "
                                 f"({type(exc).__name__})"))

    def _fork_label(self, fork_after: Any, numbers: Mapping[Hashable, int]) -> str:
        node, guard = fork_after, set()
        while node is not None and node not in guard:
            guard.add(node)
            if node in numbers:
                return f"continues after message {numbers[node]}"
            node = self.parents.get(node)
        return "a separate start" if fork_after is None else "an alternative start"

    # -- one message ----------------------------------------------------------------------

    def _message(self, number: int, message: dict) -> None:
        author = message.get("author") if isinstance(message.get("author"), dict) else {}
        role = author.get("role") if isinstance(author.get("role"), str) else "unknown"
        name = _s(author.get("name"))
        content = message.get("content") if isinstance(message.get("content"), dict) else {}
        ctype = content.get("content_type") if isinstance(content.get("content_type"), str) else ""
        meta = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
        recipient = message.get("recipient")
        recipient = recipient if isinstance(recipient, str) and recipient != "all" else None
        model = _s(meta.get("model_slug"))
        when = message_time(message)
        status = message.get("status")
        hidden = is_hidden(message)

        label = [f"{number}. {_ROLES.get(role, role.capitalize() or 'Unknown')}"]
        if name:
            label.append(name)
        if model:
            label.append(model)
        if recipient:
            label.append(f"→ {recipient}")
        collapsed = role in ("system", "tool") or hidden or (role == "assistant" and recipient)
        if collapsed:
            if ctype and ctype != "text":
                label.append(ctype)
            if hidden:
                label.append("hidden")
        if when is not None:
            label.append(format_time(when))
        if isinstance(status, str) and status not in _DONE:
            label.append(status)

        blocks = self._content(content, ctype, meta, fold=not collapsed)
        blocks.extend(self._attachments(meta))
        finish = meta.get("finish_details")
        if isinstance(finish, dict) and finish.get("type") == "interrupted":
            blocks.append(md.note("(interrupted)"))
        if collapsed:
            body = "\n\n".join(b for b in blocks if b.strip()) or md.note("(empty)")
            self.doc.add(md.details(" · ".join(label), body))
        else:
            self.doc.heading(3, " · ".join(label))
            self.doc.extend(blocks or [md.note("(empty)")])

    def _content(self, content: dict, ctype: str, meta: dict, fold: bool) -> list[str]:
        def wrap(summary: str, body: str) -> str:
            if fold:
                return md.details(summary, body)
            return f"**{md.escape_inline(summary)}**\n\n{body}"

        if ctype in ("text", "multimodal_text") or (not ctype and "parts" in content):
            parts = content.get("parts")
            out: list[str] = []
            for part in parts if isinstance(parts, list) else []:
                out.extend(self._part(part, fold))
            return out
        if ctype == "code":
            text = content.get("text") if isinstance(content.get("text"), str) else ""
            lang = content.get("language") if isinstance(content.get("language"), str) else ""
            block = md.fence(text, "" if lang == "unknown" else lang)
            return [wrap("Code", block)] if fold else [block]
        if ctype == "execution_output":
            text = content.get("text") if isinstance(content.get("text"), str) else ""
            out = [wrap("Output", md.fence(text))]
            out.extend(self._aggregate_images(meta))
            return out
        if ctype == "tether_browsing_display":
            pieces = [md.text_block(v) for v in (content.get("summary"), content.get("result"))
                      if isinstance(v, str) and v.strip()]
            return [wrap("Browsing result", "\n\n".join(pieces) or md.note("(empty)"))]
        if ctype in ("tether_quote", "sonic_webpage"):
            head = " — ".join(v for v in (_s(content.get("title")), _s(content.get("url"))) if v)
            text = content.get("text") if isinstance(content.get("text"), str) else ""
            body = md.text_block(text) or md.note("(empty)")
            return [wrap(f"Quote: {head}" if head else "Quote", body)]
        if ctype == "thoughts":
            items = content.get("thoughts")
            pieces = []
            for t in items if isinstance(items, list) else []:
                if not isinstance(t, dict):
                    continue
                summary, body = _s(t.get("summary")), t.get("content")
                if summary:
                    pieces.append(f"**{md.escape_inline(summary)}**")
                if isinstance(body, str) and body.strip():
                    pieces.append(md.text_block(body))
            return [wrap("Thinking", "\n\n".join(pieces) or md.note("(empty)"))]
        if ctype == "reasoning_recap":
            text = _s(content.get("content")) or "Reasoning"
            return [md.note(text)]
        if ctype == "user_editable_context":
            pieces = []
            for key, heading in (("user_profile", "About the user"),
                                 ("user_instructions", "How to respond")):
                value = content.get(key)
                if isinstance(value, str) and value.strip():
                    pieces.append(f"**{heading}**\n\n{md.text_block(value)}")
            return [wrap("Custom instructions", "\n\n".join(pieces) or md.note("(empty)"))]
        if ctype == "model_editable_context":
            value = content.get("model_set_context")
            body = (md.text_block(value) if isinstance(value, str) and value.strip()
                    else md.note("(empty)"))
            return [wrap("Memory given to the model", body)]
        if ctype == "system_error":
            text = content.get("text") if isinstance(content.get("text"), str) else ""
            name = _s(content.get("name"))
            return [wrap(f"Tool error{': ' + name if name else ''}", md.fence(text))]
        text = content.get("text")
        if isinstance(text, str) and set(content) <= {"content_type", "text", "language"}:
            return [wrap(ctype or "Content", md.text_block(text))]
        return [wrap(ctype or "Content", md.json_block(content, limit=JSON_LIMIT))]

    def _part(self, part: Any, fold: bool) -> list[str]:
        if isinstance(part, str):
            return [md.text_block(part)] if part.strip() else []
        if not isinstance(part, dict):
            return [md.note(f"(unreadable part: {type(part).__name__})")]
        ctype = part.get("content_type") if isinstance(part.get("content_type"), str) else ""
        if isinstance(part.get("asset_pointer"), str):
            return self._media(part, _MEDIA.get(ctype, "File"), fold)
        if ctype == "audio_transcription":
            text = part.get("text")
            if not (isinstance(text, str) and text.strip()):
                return []
            return [md.note("(voice, transcribed)"), md.text_block(text)]
        if ctype == "real_time_user_audio_video_asset_pointer":
            out: list[str] = []
            for key, kind in (("audio_asset_pointer", "Audio"),
                              ("video_container_asset_pointer", "Video")):
                inner = part.get(key)
                if isinstance(inner, dict) and isinstance(inner.get("asset_pointer"), str):
                    out.extend(self._media(inner, kind, fold))
            frames = part.get("frames_asset_pointers")
            for frame in frames if isinstance(frames, list) else []:
                if isinstance(frame, dict) and isinstance(frame.get("asset_pointer"), str):
                    out.extend(self._media(frame, "Video frame", fold))
            return out
        if isinstance(part.get("text"), str):
            return [md.text_block(part["text"])] if part["text"].strip() else []
        summary = ctype or "Part"
        block = md.json_block(part, limit=JSON_LIMIT)
        return [md.details(summary, block) if fold else block]

    def _media(self, part: dict, kind: str, fold: bool = True) -> list[str]:
        pointer = part["asset_pointer"]
        names = self.stored.names_for(pointer_file_id(pointer))
        size = ""
        w, h = part.get("width"), part.get("height")
        if isinstance(w, int) and isinstance(h, int) and not isinstance(w, bool):
            size = f" ({w}×{h})"
        if names:
            line = f"{kind}{size}: " + ", ".join(md.code_span(n) for n in names)
        else:
            line = f"{kind}{size}: {md.code_span(pointer[:200])} (not in the export)"
        out = [line]
        meta = part.get("metadata")
        dalle = meta.get("dalle") if isinstance(meta, dict) else None
        prompt = dalle.get("prompt") if isinstance(dalle, dict) else None
        if isinstance(prompt, str) and prompt.strip():
            out.append(md.details("Image prompt", md.text_block(prompt)) if fold
                       else f"**Image prompt**\n\n{md.text_block(prompt)}")
        return out

    def _aggregate_images(self, meta: dict) -> list[str]:
        result = meta.get("aggregate_result")
        messages = result.get("messages") if isinstance(result, dict) else None
        out: list[str] = []
        for m in messages if isinstance(messages, list) else []:
            url = m.get("image_url") if isinstance(m, dict) else None
            if isinstance(url, str) and pointer_file_id(url):
                out.extend(self._media({"asset_pointer": url}, "Image"))
        return out

    def _attachments(self, meta: dict) -> list[str]:
        items = meta.get("attachments")
        lines: list[str] = []
        for a in items if isinstance(items, list) else []:
            if not isinstance(a, dict):
                continue
            name = _s(a.get("name")) or _s(a.get("id")) or "attachment"
            names = self.stored.names_for(a.get("id"))
            where = (", ".join(md.code_span(n) for n in names) if names
                     else "not in the export")
            extra = [v for v in (_s(a.get("mime_type")),) if v]
            size = a.get("size")
            if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
                extra.append(md.human_bytes(size))
            detail = f" ({md.escape_inline(', '.join(extra))})" if extra else ""
            lines.append(f"- 📎 {md.escape_inline(name, 200)}{detail}: {where}")
        return ["\n".join(lines)] if lines else []
