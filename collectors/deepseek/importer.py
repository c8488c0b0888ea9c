"""DeepSeek data exports → conversation snapshots.

What is read (shapes in :mod:`.model`):

* the official export (chat.deepseek.com > Settings > Data > "Export all history"), as its
  zip, the extracted folder, or just its ``conversations.json``: an array of conversations,
  streamed element by element; each element's exact bytes become that conversation's
  ``conversation.json``;
* one conversation object as a whole file (hand-built samples, some converters);
* a chat saved by the ceyaima/deepseek-exporter user script as "RAW": the web API's
  ``history_messages`` response for one chat. The whole file is that chat's
  ``conversation.json``; a folder of such files gives one conversation per file.

Attachments: the export lists uploaded files by name (``FILE`` fragments, message ``files``)
but, as far as the published layouts show, does not contain their bytes; the names are shown
in the Markdown and nothing is resolved. The account comes from ``user.json`` beside
``conversations.json`` when present; its layout is an assumption (no published sample;
one public converter reads ``mobile.mobile_number`` from it), see
:meth:`DeepSeekImporter.account`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile

from .. import markdown as md
from ..export_source import ExportError, ExportSource
from ..importing import CONVERSATION_FILE, Skipped, snapshot_or_skipped
from ..jsonstream import JsonStreamError, iter_array, looks_complete
from .model import EXPORT, SINGLE, WEB_API, Conversation, parse_conversation, shape_of
from .render import render_conversation

__all__ = ["DeepSeekImporter"]

log = logging.getLogger(__name__)

CONVERSATIONS = "conversations.json"
USER = "user.json"
USER_LIMIT = 1024 * 1024
ARRAY = "array"


def _key(name: str) -> re.Pattern[str]:
    # A JSON key, not the same word inside a string (where its quotes would be escaped).
    return re.compile(r'(?<!\\)"' + re.escape(name) + r'"\s*:')


_MAPPING, _FRAGMENTS, _INSERTED = _key("mapping"), _key("fragments"), _key("inserted_at")
_AUTHOR, _BIZ, _SESSION, _MESSAGES = (_key("author"), _key("biz_data"), _key("chat_session"),
                                      _key("chat_messages"))


def head_shape(head: str) -> str | None:
    """What the first few KiB of a JSON file say it is: ``"array"`` (an official
    ``conversations.json``), ``"export-single"`` (one conversation object), ``"web-api"``
    (a ``history_messages`` response), or ``None``.

    DeepSeek trees are told from ChatGPT's (also ``mapping``) by ``fragments``/``inserted_at``
    keys and the absence of ChatGPT's ``author`` key."""
    text = head.lstrip("\ufeff \t\r\n")
    deepseek_tree = (bool(_MAPPING.search(text))
                     and bool(_FRAGMENTS.search(text) or _INSERTED.search(text))
                     and not _AUTHOR.search(text))
    if text.startswith("["):
        return ARRAY if deepseek_tree else None
    if text.startswith("{"):
        if _BIZ.search(text) and (_SESSION.search(text) or _MESSAGES.search(text)):
            return WEB_API
        return SINGLE if deepseek_tree else None
    return None


class DeepSeekImporter:
    """Imports DeepSeek exports (see the module docstring). Registered as ``deepseek``."""

    name: ClassVar[str] = "deepseek"
    provider: ClassVar[str] = "deepseek"

    # -- what the export is --------------------------------------------------------------

    def detect(self, export: ExportSource) -> bool:
        """True if the export's ``conversations.json`` (else its only file, else its first
        ``.json`` file) starts like one of the DeepSeek shapes. Reads at most 4 KiB."""
        candidates = _candidates(export)
        if not candidates:
            return False
        return head_shape(export.head(candidates[0]).decode("utf-8", "replace")) is not None

    def is_full(self, export: ExportSource) -> bool:
        """True for the official export: a zip or folder holding ``conversations.json``."""
        return export.kind in ("zip", "folder") and bool(export.find(CONVERSATIONS))

    def account(self, export: ExportSource) -> str | None:
        """The account named by ``user.json`` (the one beside ``conversations.json`` first):
        its e-mail address, else its mobile number (``area_code`` + ``mobile_number``), else
        its user id; ``None`` when there is no such file or it says none of these. The
        layout of ``user.json`` is an assumption (no published sample): an object, possibly
        under ``user`` or ``data``, with ``email``, ``mobile`` (object or string) or
        ``mobile_number``, and ``id``/``user_id``."""
        names = export.find(USER)
        if not names:
            return None
        homes = {n.rsplit("/", 1)[0] if "/" in n else "" for n in export.find(CONVERSATIONS)}
        names.sort(key=lambda n: ((n.rsplit("/", 1)[0] if "/" in n else "") not in homes,
                                  n.count("/"), n))
        try:
            doc = json.loads(export.read(names[0], limit=USER_LIMIT))
        except (ExportError, ValueError, RecursionError):
            return None
        return _account_of(doc)

    # -- reading -------------------------------------------------------------------------

    def read(self, export: ExportSource) -> Iterator[ConversationSnapshot | Skipped]:
        """Yield a snapshot per conversation and a :class:`Skipped` per entry that cannot be
        one (not an object, no ``mapping``, no id …). Raises :class:`ExportError` for a
        ``conversations.json`` that is cut off, not JSON, or not a DeepSeek layout."""
        candidates = _candidates(export)
        if not candidates:
            raise ExportError(str(export.path), "no DeepSeek conversations.json or chat file found")
        official = bool(export.find(CONVERSATIONS)) or len(candidates) == 1
        for member in candidates:
            shape = head_shape(export.head(member, strict=True).decode("utf-8", "replace"))
            if shape is None:
                if official:
                    raise ExportError(export.where(member),
                                      "not a DeepSeek export (unknown layout)")
                yield Skipped(member, "not a DeepSeek chat file")
                continue
            if not looks_complete(export.tail(member)):
                raise ExportError(export.where(member), "the file ends early (half-downloaded?); "
                                  "download the export again")
            if shape == ARRAY:
                yield from self._read_array(export, member)
            else:
                yield self._read_single(export, member, official)

    def _read_array(self, export: ExportSource,
                    member: str) -> Iterator[ConversationSnapshot | Skipped]:
        where = export.where(member)
        try:
            with export.open(member) as stream:
                for index, (raw, value) in enumerate(iter_array(stream), 1):
                    yield self._entry(export, member, f"{member} entry {index}", raw, value, EXPORT)
        except JsonStreamError as e:
            if e.truncated:
                raise ExportError(where, "the file ends early (half-downloaded?); "
                                  "download the export again") from None
            raise ExportError(where, f"not a readable DeepSeek export ({e})") from None

    def _read_single(self, export: ExportSource, member: str,
                     official: bool) -> ConversationSnapshot | Skipped:
        data = export.read(member)
        try:
            value = json.loads(data.decode("utf-8-sig", "surrogateescape"))
        except (ValueError, RecursionError):
            if official:
                raise ExportError(export.where(member), "not valid JSON") from None
            return Skipped(member, "not valid JSON")
        shape = shape_of(value)
        if shape is None:
            if official:
                raise ExportError(export.where(member), "not a DeepSeek export (unknown layout)")
            return Skipped(member, "not a DeepSeek chat file")
        return self._entry(export, member, member, data, value, shape)

    def _entry(self, export: ExportSource, member: str, label: str, raw: bytes, value: Any,
               shape: str) -> ConversationSnapshot | Skipped:
        """One conversation's snapshot, or why not (``label`` names it without content)."""
        try:
            conv = parse_conversation(value, shape)
        except ValueError as e:  # content-free reasons from .model
            wid = value.get("id") if isinstance(value, dict) else None
            return Skipped(label, str(e), wid if isinstance(wid, str) and wid else None)
        if conv.native_id is None:
            return Skipped(label, "no conversation id")
        return snapshot_or_skipped(
            conv.native_id, lambda: _snapshot(conv, raw, export.where(member)), log)

    # -- viewing -------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version (see :func:`.render.render_conversation`)."""
        return render_conversation(files, meta)


def _snapshot(conv: Conversation, raw: bytes, source_path: str) -> ConversationSnapshot:
    ordered = conv.threads()
    attributes: dict[str, Any] = {"format": conv.shape, "messages": len(conv.messages),
                                  "branches": len(ordered)}
    models = conv.models()
    if models:
        attributes["models"] = models[:20]
    if ordered and ordered[0].ids:
        attributes["current_node"] = str(ordered[0].ids[-1])
    referenced = _file_names(conv)
    if referenced:
        attributes["files_referenced"] = referenced
    attributes.update(conv.extra)
    stamp = conv.updated_at if conv.updated_at is not None else conv.created_at
    return ConversationSnapshot(
        provider=DeepSeekImporter.provider,
        native_id=conv.native_id or "",
        title=conv.display_title(ordered),
        files=(RawFile(CONVERSATION_FILE, data=raw,
                       mtime_ns=int(stamp * 1e9) if stamp is not None else None),),
        created_at=conv.created_at,
        updated_at=conv.updated_at,
        source_path=source_path,
        attributes=attributes,
        warnings=tuple(conv.warnings),
    )


def _file_names(conv: Conversation) -> int:
    """How many distinct uploaded files the conversation names (by id or name)."""
    seen: set[str] = set()
    for msg in conv.messages.values():
        entries = list(msg.files)
        for frag in msg.fragments:
            if frag.get("type") == "FILE" and isinstance(frag.get("files"), list):
                entries.extend(f for f in frag["files"] if isinstance(f, dict))
        for entry in entries:
            key = entry.get("file_id") or entry.get("id") or entry.get("file_name")
            if isinstance(key, (str, int)) and not isinstance(key, bool):
                seen.add(str(key))
    return len(seen)


def _candidates(export: ExportSource) -> list[str]:
    """The members to read: every ``conversations.json`` (shallowest first); else the single
    file; else every ``.json`` file except ``user.json``."""
    names = sorted(export.find(CONVERSATIONS), key=lambda n: (n.count("/"), n))
    if names:
        return names
    if export.kind == "file":
        return list(export.members)
    return [n for n, m in export.members.items()
            if n.lower().endswith(".json") and m.basename != USER]


def _account_of(doc: Any) -> str | None:
    for _ in range(3):  # {"user": {...}} / {"data": {...}} wrappers
        if isinstance(doc, dict) and not any(k in doc for k in ("email", "mobile", "mobile_number",
                                                                 "id", "user_id")):
            inner = doc.get("user") if isinstance(doc.get("user"), dict) else doc.get("data")
            if isinstance(inner, dict):
                doc = inner
                continue
        break
    if not isinstance(doc, dict):
        return None
    email = doc.get("email")
    if isinstance(email, str) and "@" in email.strip():
        return email.strip()
    mobile = doc.get("mobile")
    if isinstance(mobile, dict):
        number, area = mobile.get("mobile_number"), mobile.get("area_code")
    else:
        number = mobile if mobile is not None else doc.get("mobile_number")
        area = doc.get("area_code")
    if _plain(number):
        prefix = str(area).strip() if _plain(area) else ""
        if prefix and not prefix.startswith("+"):
            prefix = "+" + prefix
        return f"{prefix}{str(number).strip()}"
    for key in ("id", "user_id"):
        value = doc.get(key)
        if _plain(value):
            return str(value).strip()
    return None


def _plain(value: Any) -> bool:
    """A non-blank string or an integer (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    return bool(str(value).strip())
