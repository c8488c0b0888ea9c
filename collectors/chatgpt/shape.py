"""What a ChatGPT conversation object looks like, and the look-ups importer and renderer share.

A conversation (one element of ``conversations.json``) is a dict::

    {"id" | "conversation_id": "<uuid>", "title": str | null,
     "create_time": 1714585031.14, "update_time": ...,        # epoch seconds (float), or
                                                              # ISO strings (backend-api shape)
     "current_node": "<node id>",                             # leaf of the thread shown in the UI
     "mapping": {"<node id>": {"id", "parent": id | null, "children": [ids],
                               "message": null | {"id", "author": {"role", "name"},
                                                  "create_time", "content": {"content_type", ...},
                                                  "status", "recipient", "metadata": {...}}}},
     "default_model_slug", "gizmo_id", "gizmo_type", "is_archived", ...}

Files are referenced by *file ids*: ``asset_pointer`` values ``file-service://file-XXXX``
(legacy) and ``sediment://file_XXXX`` (current) in content parts, and
``metadata.attachments[].id`` on user messages. The export names the matching file after the
id: ``file-XXXX-<original name>`` at the root, ``dalle-generations/file-XXXX-<uuid>.webp``,
``user-<user id>/file_XXXX-<uuid>.png`` … so a member belongs to id ``X`` when its basename is
``X`` or starts with ``X`` followed by a character that cannot be part of an id.

Canvas documents are identified by a ``textdoc_id`` (32 hex digits), which appears in the
conversation as ``metadata.canvas.textdoc_id`` on the tool message answering a
``canmore.create_textdoc`` / ``canmore.update_textdoc`` call, and in that tool message's text
(``... unique identifier textdoc_id: '<id>'``).

Sources: ``../shared/FORMATS.md`` ("ChatGPT"); pionxzh/chatgpt-exporter ``src/api.ts``
(content types, asset pointers, message metadata); mohamed-chs/convoviz
``convoviz/io/loaders.py`` (split ``conversations-NNN.json`` files, the ``{"conversations":
[...]}`` wrapper) and its asset resolution by id prefix.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from ..timestamps import parse_time

__all__ = [
    "POINTER_PREFIXES",
    "Refs",
    "collect_refs",
    "conversation_id",
    "derived_id",
    "file_id_of_name",
    "is_hidden",
    "iter_messages",
    "message_time",
    "pointer_file_id",
    "tree_of",
    "visible_text",
]

POINTER_PREFIXES = ("file-service://", "sediment://")
_FILE_ID = re.compile(r"file[-_][A-Za-z0-9]+")
_TEXTDOC_IN_TEXT = re.compile(r"textdoc_id['\"]?\s*[:=]\s*['\"]?([A-Za-z0-9_-]{8,100})")
_ID_MAX = 200


def file_id_of_name(basename: str) -> str | None:
    """The file id a member's basename starts with (``file-abc-photo.png`` → ``file-abc``,
    ``file_00ff-1a2b.png`` → ``file_00ff``), ``None`` when it does not start with one."""
    m = _FILE_ID.match(basename)
    return m.group() if m else None


def pointer_file_id(pointer: Any) -> str | None:
    """The file id of an asset pointer (``sediment://file_00ff`` → ``file_00ff``), ``None``
    for anything that is not a ``file-service://`` or ``sediment://`` pointer."""
    if not isinstance(pointer, str):
        return None
    for prefix in POINTER_PREFIXES:
        if pointer.startswith(prefix):
            rest = pointer[len(prefix):]
            m = _FILE_ID.match(rest)
            if m:
                return m.group()
            return rest if 0 < len(rest) <= _ID_MAX and rest.isprintable() else None
    return None


def _good_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        value = value.strip()
        if 0 < len(value) <= _ID_MAX and value.isprintable() and "/" not in value:
            return value
    return None


def conversation_id(conv: Mapping[str, Any]) -> str | None:
    """The platform's id of a conversation: ``conversation_id``, else ``id``; ``None`` when
    neither is a usable string (non-empty, printable, at most 200 characters, no ``/``)."""
    return _good_id(conv.get("conversation_id")) or _good_id(conv.get("id"))


def derived_id(conv: Mapping[str, Any]) -> str:
    """A stable id for a conversation that has no usable one: ``"sha-"`` + the first 32 hex
    digits of SHA-256 over the JSON text of ``[create_time, title]`` (as found in the entry, so
    the same entry gives the same id in every export; renaming the conversation changes it).
    An unusable ``conversation_id`` / ``id`` the entry does have (too long, ``/``, control
    characters) is added to that list, so two such conversations with the same time and title
    stay two conversations."""
    parts = [conv.get("create_time"), conv.get("title")]
    parts += [conv[k] for k in ("conversation_id", "id") if conv.get(k) is not None]
    material = json.dumps(parts, ensure_ascii=True, sort_keys=True, default=repr)
    return "sha-" + hashlib.sha256(material.encode()).hexdigest()[:32]


@dataclass(slots=True)
class Refs:
    """Ids a conversation refers to, each list in first-seen order without repeats:
    ``pointers`` (file ids of asset pointers), ``attachments`` (``metadata.attachments[].id``),
    ``textdocs`` (Canvas ``textdoc_id`` values)."""

    pointers: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    textdocs: list[str] = field(default_factory=list)


def _add(target: list[str], seen: set[str], value: str) -> None:
    if value not in seen:
        seen.add(value)
        target.append(value)


def iter_messages(mapping: Any) -> Iterator[tuple[str, dict]]:
    """``(node id, message)`` for every node of ``mapping`` that holds a message dict."""
    if not isinstance(mapping, dict):
        return
    for key, node in mapping.items():
        if isinstance(node, dict) and isinstance(node.get("message"), dict):
            yield key, node["message"]


def collect_refs(conv: Mapping[str, Any]) -> Refs:
    """Every file id and Canvas id the messages of ``conv`` mention (walks each message
    iteratively, so deep or odd structures cannot overflow the stack)."""
    refs = Refs()
    seen_p: set[str] = set()
    seen_a: set[str] = set()
    seen_t: set[str] = set()
    for _, message in iter_messages(conv.get("mapping")):
        meta = message.get("metadata")
        if isinstance(meta, dict):
            attachments = meta.get("attachments")
            if isinstance(attachments, list):
                for a in attachments:
                    if isinstance(a, dict):
                        ident = _good_id(a.get("id"))
                        if ident:
                            _add(refs.attachments, seen_a, ident)
        stack: list[Any] = [message]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for key, value in item.items():
                    if key == "textdoc_id":
                        ident = _good_id(value)
                        if ident:
                            _add(refs.textdocs, seen_t, ident)
                    if isinstance(value, (dict, list)):
                        stack.append(value)
                    elif isinstance(value, str):
                        _scan_string(value, refs, seen_p, seen_t)
            elif isinstance(item, list):
                for value in item:
                    if isinstance(value, (dict, list)):
                        stack.append(value)
                    elif isinstance(value, str):
                        _scan_string(value, refs, seen_p, seen_t)
    return refs


def _scan_string(value: str, refs: Refs, seen_p: set[str], seen_t: set[str]) -> None:
    if value.startswith(POINTER_PREFIXES):
        ident = pointer_file_id(value)
        if ident:
            _add(refs.pointers, seen_p, ident)
    elif "textdoc_id" in value:
        for m in _TEXTDOC_IN_TEXT.finditer(value):
            _add(refs.textdocs, seen_t, m.group(1))


def tree_of(mapping: Mapping[str, Any]) -> tuple[dict[str, str | None], dict[str, list]]:
    """``(parents, children)`` of a ``mapping`` for :func:`collectors.branches.threads`:
    node id → parent id (``None`` when missing or not a string), node id → listed children."""
    parents: dict[str, str | None] = {}
    children: dict[str, list] = {}
    for key, node in mapping.items():
        if not isinstance(node, dict):
            parents[key] = None
            continue
        parent = node.get("parent")
        parents[key] = parent if isinstance(parent, str) else None
        kids = node.get("children")
        if isinstance(kids, list):
            children[key] = [k for k in kids if isinstance(k, str)]
    return parents, children


def message_time(message: Any) -> float | None:
    """A message's ``create_time`` (epoch seconds or ISO string) as Unix seconds, or ``None``."""
    if not isinstance(message, dict):
        return None
    return parse_time(message.get("create_time"))


def is_hidden(message: Mapping[str, Any]) -> bool:
    """True for messages the ChatGPT UI does not show (``is_visually_hidden_from_conversation``)."""
    meta = message.get("metadata")
    return isinstance(meta, dict) and meta.get("is_visually_hidden_from_conversation") is True


def visible_text(message: Mapping[str, Any]) -> str:
    """The plain text of a ``text`` / ``multimodal_text`` message (string parts, and dict parts
    carrying ``text``), joined by blank lines; ``""`` for other content."""
    content = message.get("content")
    if not isinstance(content, dict):
        return ""
    if content.get("content_type") not in ("text", "multimodal_text"):
        return ""
    parts = content.get("parts")
    if not isinstance(parts, list):
        return ""
    texts: list[str] = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "\n\n".join(t for t in texts if t.strip())
