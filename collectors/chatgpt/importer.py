"""ChatGPT data export → one snapshot per conversation.

The export (Settings → Data controls → Export data) is a zip, which users may extract, holding:

- the conversations: ``conversations.json`` (a JSON array), or since 2026 the same array split
  into ``conversations-000.json``, ``conversations-001.json`` … (read in number order), either
  of them sometimes wrapped as ``{"conversations": [...]}``;
- ``user.json`` (``id``, ``email`` …), ``chat.html``, ``message_feedback.json``,
  ``shared_conversations.json`` …;
- uploads and generated files named after their file id: ``file-XXXX-<name>`` at the root,
  ``dalle-generations/file-XXXX-<uuid>.webp``, ``user-<user id>/file_XXXX-<uuid>.png``, and
  per-conversation folders ``<conversation uuid>/…`` (e.g. ``image/``, ``audio/``);
- ``textdocs/``: Canvas documents (naming not documented; see :class:`AssetIndex`).

All of it may sit at the root of the export or inside one top folder. A single conversations
file (or one part of a split export) can be imported on its own; a file holding one
conversation object (the backend-api shape, ``GET /backend-api/conversation/{id}``) too.

Each snapshot's files: ``conversation.json`` (the entry's exact bytes), ``files/<basename>``
for every member its asset pointers, attachment ids or conversation folder resolve to, and
``textdocs/<name>`` for its Canvas documents.

Sources: ``../shared/FORMATS.md`` ("ChatGPT"); mohamed-chs/convoviz ``convoviz/io/loaders.py``
(split files, wrapper) and its asset resolution by file-id prefix; pionxzh/chatgpt-exporter
``src/api.ts`` (conversation and message fields).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from vault import ConversationSnapshot, RawFile

from .. import markdown as md
from ..branches import threads
from ..export_source import ExportError, ExportSource
from ..importing import CONVERSATION_FILE, Skipped
from ..jsonstream import TOO_DEEP, JsonStreamError, iter_array, looks_complete
from ..timestamps import parse_time
from ..titles import UNTITLED, title_from_text
from .render import render_conversation
from .shape import (
    Refs,
    collect_refs,
    conversation_id,
    derived_id,
    file_id_of_name,
    is_hidden,
    iter_messages,
    message_time,
    tree_of,
    visible_text,
)

__all__ = ["AssetIndex", "ChatGPTImporter"]

log = logging.getLogger(__name__)

SINGLE_FILE = "conversations.json"
_PART = re.compile(r"conversations-(\d+)\.json")
_KEY = {k: re.compile(rb'"%s"\s*:' % k.encode()) for k in (
    "mapping", "author", "content_type", "current_node",
    "fragments", "chat_messages", "inserted_at", "chat_session", "responses")}
_POSITIVE = ("author", "content_type", "current_node")
_NEGATIVE = ("fragments", "chat_messages", "inserted_at", "chat_session", "responses")
_EVIDENCE = ("chat.html", "message_feedback.json", "model_comparisons.json",
             "shared_conversations.json")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEXID = re.compile(r"[0-9a-fA-F]{24,64}")
_TEXTDOC_HEAD_KEYS = re.compile(
    rb'"(?:textdoc_id|conversation_id|id)"\s*:\s*"([A-Za-z0-9_-]{6,100})"')
_TEXTDOC_SNIFF_LIMIT = 5000
_ATTRIBUTE_KEYS = ("default_model_slug", "gizmo_id", "gizmo_type", "is_archived", "is_starred",
                   "conversation_template_id", "conversation_origin", "memory_scope",
                   "is_do_not_remember", "is_temporary_chat", "is_study_mode", "async_status")
_SINGLE_OBJECT_LIMIT = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the conversations are: ``root`` (``""`` or ``"folder/"``), the conversation
    ``files`` in reading order, whether they are ``split`` parts and, if so, whether the parts
    run ``000`` … ``N`` without a gap (``complete``)."""

    root: str
    files: tuple[str, ...]
    split: bool
    complete: bool


def _groups(export: ExportSource) -> dict[str, list[str]]:
    """Conversation files by the folder holding them (``""`` for the root, or one top
    folder ``"name/"``); a single-file export is its own group."""
    if export.kind == "file":
        return {"": [next(iter(export.members))]}
    groups: dict[str, list[str]] = {}
    for name, member in export.members.items():
        if name.count("/") > 1:
            continue
        base = member.basename
        if base == SINGLE_FILE or _PART.fullmatch(base):
            groups.setdefault(name[: len(name) - len(base)], []).append(name)
    return groups


def _layout(export: ExportSource) -> _Layout:
    """Find the conversations file(s). Raises :class:`ExportError` when there are none or
    when several folders each hold an export."""
    groups = _groups(export)
    if export.kind == "file":
        name = groups[""][0]
        return _Layout("", (name,), _PART.fullmatch(name) is not None, False)
    if not groups:
        raise ExportError(str(export.path), "no conversations.json (or conversations-000.json …) "
                                            "in this export")
    if "" in groups:
        root = ""
    elif len(groups) == 1:
        root = next(iter(groups))
    else:
        folders = ", ".join(sorted(g.rstrip("/") for g in groups))
        raise ExportError(str(export.path), f"holds several ChatGPT exports (folders {folders}); "
                                            "import each one separately")
    names = groups[root]
    single = root + SINGLE_FILE
    if single in names:  # the whole array in one file: the parts, if any, would repeat it
        return _Layout(root, (single,), False, True)
    numbered = sorted((int(n[len(root) + len("conversations-"):-len(".json")]), n)
                      for n in names)
    complete = [num for num, _ in numbered] == list(range(len(numbered)))
    return _Layout(root, tuple(n for _, n in numbered), True, complete)


def _sniff(head: bytes) -> bool | None:
    """True if the first bytes of a conversations file look like ChatGPT's, False if they
    look like another platform's, ``None`` when they do not say."""
    if any(_KEY[k].search(head) for k in _NEGATIVE):
        return False
    if _KEY["mapping"].search(head) and any(_KEY[k].search(head) for k in _POSITIVE):
        return True
    return None


class AssetIndex:
    """Every export member a conversation can refer to, indexed once per export.

    ``by_id``: file id → member names whose basename starts with it (see
    :func:`~collectors.chatgpt.shape.file_id_of_name`), from anywhere under the export root;
    ``by_folder``: conversation uuid → members under ``<root><uuid>/``;
    ``textdocs``: key → members under ``<root>textdocs/``, where the keys of a member are
    every path component below ``textdocs/`` (without extension), every uuid or long hex run
    in its path, and the ``textdoc_id`` / ``conversation_id`` / ``id`` values in its first
    4 KiB (the layout of ``textdocs/`` is not documented; this matches it however the files
    are named, by Canvas id or by conversation). Keys are lower-cased.
    """

    def __init__(self) -> None:
        self.by_id: dict[str, list[str]] = {}
        self.by_folder: dict[str, list[str]] = {}
        self.textdocs: dict[str, list[str]] = {}
        self.root = ""

    @classmethod
    def build(cls, export: ExportSource, root: str, skip: tuple[str, ...] = ()) -> "AssetIndex":
        """Index the members under ``root`` (not those in ``skip``). Reads nothing but the
        first 4 KiB of (at most 5000) ``textdocs/`` members."""
        index = cls()
        index.root = root
        if export.kind == "file":
            return index
        skipped = set(skip)
        sniffed = 0
        for name, member in export.members.items():
            if not name.startswith(root) or name in skipped:
                continue
            rel = name[len(root):]
            if rel.startswith("textdocs/"):
                keys = {_stem(part).lower() for part in rel[len("textdocs/"):].split("/")}
                keys.update(m.group().lower() for m in _UUID.finditer(rel))
                keys.update(m.group().lower() for m in _HEXID.finditer(rel))
                if sniffed < _TEXTDOC_SNIFF_LIMIT and member.size > 0:
                    sniffed += 1
                    keys.update(m.group(1).decode().lower()
                                for m in _TEXTDOC_HEAD_KEYS.finditer(export.head(name)))
                for key in keys - {""}:
                    index.textdocs.setdefault(key, []).append(name)
                continue
            fid = file_id_of_name(member.basename)
            if fid:
                index.by_id.setdefault(fid, []).append(name)
            top, sep, _ = rel.partition("/")
            if sep and _UUID.fullmatch(top):
                index.by_folder.setdefault(top.lower(), []).append(name)
        return index


def _stem(name: str) -> str:
    return name.split(".", 1)[0] if not name.startswith(".") else name


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return "\x00" not in name and all(p not in ("", ".", "..") for p in parts)


class ChatGPTImporter:
    """Imports a ChatGPT data export (zip, extracted folder, a conversations file, one part of
    a split export, or one conversation object). See the module docstring for the layout."""

    name = "chatgpt"
    provider = "chatgpt"

    # -- detection ------------------------------------------------------------------------

    def detect(self, export: ExportSource) -> bool:
        """True if the export's conversations file (or its single file) starts like a ChatGPT
        one: a ``mapping`` with ``author`` / ``content_type`` / ``current_node`` keys, and none
        of DeepSeek's (``fragments``, ``inserted_at``), Claude's (``chat_messages``) or Grok's
        (``responses``). Reads at most 4 KiB. For a zip or folder whose first bytes do not
        decide, ChatGPT-only files beside it (``chat.html``, ``message_feedback.json`` …) do."""
        groups = _groups(export)
        if not groups:
            return False
        root = min(groups)
        files = sorted(groups[root], key=lambda n: (n.rsplit("/", 1)[-1] != SINGLE_FILE, n))
        try:
            head = export.head(files[0], strict=True)
        except ExportError:
            return False
        verdict = _sniff(head)
        if verdict is not None:
            return verdict
        if export.kind == "file":
            return False
        return any(root + name in export.members for name in _EVIDENCE)

    def account(self, export: ExportSource) -> str | None:
        """``email`` from ``user.json`` beside the conversations, else its ``id``; ``None``
        when there is no readable ``user.json``."""
        try:
            layout = _layout(export)
        except ExportError:
            return None
        name = layout.root + "user.json"
        if name not in export.members or export.kind == "file":
            return None
        try:
            data = json.loads(export.read(name, limit=4 * 1024 * 1024).decode("utf-8", "replace"))
        except (ExportError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        for key in ("email", "id"):
            value = data.get(key)
            if isinstance(value, str) and value.strip() and value.isprintable():
                return value.strip()
        return None

    def is_full(self, export: ExportSource) -> bool:
        """True for a zip or folder holding ``conversations.json`` or every part from
        ``conversations-000.json`` on without a gap, with ``user.json`` or ``chat.html`` beside
        them; False for a single file (a whole ``conversations.json`` on its own may have been
        cut down by hand, and one part alone is never all of it)."""
        if export.kind == "file":
            return False
        try:
            layout = _layout(export)
        except ExportError:
            return False
        if not layout.complete:
            return False
        return any(layout.root + name in export.members for name in ("user.json", "chat.html"))

    # -- reading --------------------------------------------------------------------------

    def read(self, export: ExportSource) -> Iterator[ConversationSnapshot | Skipped]:
        """Yield a snapshot per conversation, in file order, and a :class:`Skipped` per entry
        that is not a conversation object, has no ``mapping`` object (reason ``"no mapping"``),
        repeats an id already read, or fails to convert. Raises :class:`ExportError` when a
        conversations file ends early (checked before it is read), is not JSON, or has an
        unknown shape; snapshots yielded before stay valid."""
        layout = _layout(export)
        index = AssetIndex.build(export, layout.root, skip=layout.files)
        seen: set[str] = set()
        for member in layout.files:
            if not looks_complete(export.tail(member)):
                raise ExportError(export.where(member),
                                  "the file ends early (half-downloaded?); download the "
                                  "export again")
            yield from self._read_file(export, member, index, seen)

    def _read_file(self, export: ExportSource, member: str, index: AssetIndex,
                   seen: set[str]) -> Iterator[ConversationSnapshot | Skipped]:
        where = export.where(member)
        count = 0
        try:
            with export.open(member) as stream:
                for raw, value in iter_array(stream, wrapper_keys=("conversations",)):
                    count += 1
                    yield self._entry(export, member, count, raw, value, index, seen)
        except JsonStreamError as e:
            if e.truncated:
                raise ExportError(where, f"the file ends early at byte {e.offset} "
                                         "(half-downloaded?)") from None
            raise ExportError(where, f"not a readable conversations file ({e})") from None
        except RecursionError:
            raise ExportError(where, "JSON nested too deeply to read") from None
        if count == 0:
            yield from self._single_object(export, member, index, seen)

    def _single_object(self, export: ExportSource, member: str, index: AssetIndex,
                       seen: set[str]) -> Iterator[ConversationSnapshot | Skipped]:
        """A file whose top level is one object: either an empty ``{"conversations": []}``
        or a single conversation (the backend-api shape)."""
        where = export.where(member)
        data = export.read(member, limit=_SINGLE_OBJECT_LIMIT)
        text = data.decode("utf-8", "surrogateescape")
        body = text[1:] if text.startswith("\ufeff") else text
        if not body.lstrip().startswith("{"):
            return  # an empty array
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            raise ExportError(where, "not a readable conversations file") from None
        if not isinstance(value, dict):
            return
        if "mapping" in value or "current_node" in value:
            raw = body.strip(" \t\r\n").encode("utf-8", "surrogateescape")
            yield self._entry(export, member, 1, raw, value, index, seen)
        elif not isinstance(value.get("conversations"), list):
            raise ExportError(where, "not a ChatGPT conversations file (no conversation "
                                     "list, no conversation)")

    def _entry(self, export: ExportSource, member: str, number: int, raw: bytes, value: Any,
               index: AssetIndex, seen: set[str]) -> ConversationSnapshot | Skipped:
        where = f"{member} entry {number}"
        if not isinstance(value, dict):
            return Skipped(where, "nested too deeply to read" if value is TOO_DEEP
                                          else "not a JSON object")
        cid = conversation_id(value)
        if cid:
            where = f"conversation {cid}"
        if not isinstance(value.get("mapping"), dict):
            return Skipped(where, "no mapping", cid or None)
        native = cid or derived_id(value)
        if native in seen:
            return Skipped(where, "the same conversation appears again in the export "
                                  "(the first copy was imported)")
        seen.add(native)
        try:
            return self._snapshot(export, member, raw, value, native, index)
        except Exception as e:  # one odd entry must not cost the rest
            log.debug("conversation could not be converted", exc_info=True)
            return Skipped(where, f"could not be read ({type(e).__name__})", native)

    def _snapshot(self, export: ExportSource, member: str, raw: bytes, conv: dict,
                  native: str, index: AssetIndex) -> ConversationSnapshot:
        mapping: dict = conv["mapping"]
        warnings: list[str] = []
        parents, children = tree_of(mapping)
        current = conv.get("current_node")
        if not (isinstance(current, str) and current in mapping):
            if current is not None:
                warnings.append("current_node names no node of the conversation; the newest "
                                "message's thread is shown first")
            current = None
        times = {key: message_time(node.get("message")) if isinstance(node, dict) else None
                 for key, node in mapping.items()}
        runs = threads(parents, current=current, sort_key=lambda k: times.get(k),
                       children=children)
        message_times = [t for t in times.values() if t is not None]
        created = parse_time(conv.get("create_time"))
        updated = parse_time(conv.get("update_time"))
        if created is None and message_times:
            created = min(message_times)
        if updated is None and message_times:
            updated = max(message_times)

        files: list[RawFile] = []
        stamp = updated if updated is not None else created
        files.append(RawFile(CONVERSATION_FILE, data=raw,
                             mtime_ns=int(stamp * 1e9) if stamp is not None else None))
        refs = collect_refs(conv)
        attachments, unresolved_pointers, unresolved_attachments = self._attachments(
            index, refs, native)
        docs = self._textdocs(index, refs, conv, native)
        unreadable = 0
        used: set[str] = {CONVERSATION_FILE}
        for name, stored in attachments + docs:
            if stored in used or not _safe_name(stored):
                continue
            try:
                files.append(export.raw_file(name, stored))
                used.add(stored)
            except ExportError:
                unreadable += 1
        if unreadable:
            warnings.append(f"{unreadable} attached file(s) could not be read from the export")

        attributes: dict[str, Any] = {}
        for key in _ATTRIBUTE_KEYS:
            v = conv.get(key)
            if isinstance(v, (bool, int, float)) or (isinstance(v, str) and 0 < len(v) <= 200):
                attributes[key] = v
        models = sorted({slug for _, m in iter_messages(mapping)
                         if isinstance(m.get("metadata"), dict)
                         for slug in (m["metadata"].get("model_slug"),)
                         if isinstance(slug, str) and 0 < len(slug) <= 100})
        if models:
            attributes["models"] = models[:20]
        attributes["messages"] = sum(1 for _ in iter_messages(mapping))
        attributes["branches"] = len(runs)
        stored_files = [f.name for f in files if f.name.startswith("files/")]
        stored_docs = [f.name for f in files if f.name.startswith("textdocs/")]
        if stored_files:
            attributes["attachments"] = len(stored_files)
        if stored_docs:
            attributes["textdocs"] = len(stored_docs)
        if refs.textdocs:
            attributes["canvas_ids"] = refs.textdocs[:50]
        if unresolved_pointers:
            attributes["unresolved_asset_pointers"] = unresolved_pointers
        if unresolved_attachments:
            attributes["unresolved_attachments"] = unresolved_attachments

        return ConversationSnapshot(
            provider=self.provider,
            native_id=native,
            title=self._title(conv, mapping, runs),
            files=tuple(files),
            created_at=created,
            updated_at=updated,
            source_path=export.where(member),
            attributes=attributes,
            warnings=tuple(warnings),
        )

    @staticmethod
    def _title(conv: dict, mapping: dict, runs: list) -> str:
        title = conv.get("title")
        if isinstance(title, str) and title.strip():
            return title
        order = [k for run in runs for k in run.ids]
        for key in order:
            node = mapping.get(key)
            message = node.get("message") if isinstance(node, dict) else None
            if not isinstance(message, dict) or is_hidden(message):
                continue
            author = message.get("author")
            if isinstance(author, dict) and author.get("role") == "user":
                text = title_from_text(visible_text(message))
                if text:
                    return text
        return UNTITLED

    @staticmethod
    def _attachments(index: AssetIndex, refs: Refs,
                     native: str) -> tuple[list[tuple[str, str]], int, int]:
        """``[(member, stored name)]`` for the conversation's files, and how many pointer and
        attachment ids found no member."""
        members: list[str] = []
        seen: set[str] = set()
        unresolved_pointers = 0
        unresolved_attachments = 0
        pointer_ids = set(refs.pointers)
        for ident in refs.pointers + [a for a in refs.attachments if a not in pointer_ids]:
            found = index.by_id.get(ident)
            if not found:
                if ident in pointer_ids:
                    unresolved_pointers += 1
                else:
                    unresolved_attachments += 1
                continue
            for name in found:
                if name not in seen:
                    seen.add(name)
                    members.append(name)
        for name in index.by_folder.get(native.lower(), ()):
            if name not in seen:
                seen.add(name)
                members.append(name)
        out: list[tuple[str, str]] = []
        taken: set[str] = set()
        for name in members:
            stored = "files/" + name.rsplit("/", 1)[-1]
            if stored in taken:
                stored = "files/" + name[len(index.root):]
            taken.add(stored)
            out.append((name, stored))
        return out, unresolved_pointers, unresolved_attachments

    @staticmethod
    def _textdocs(index: AssetIndex, refs: Refs, conv: dict, native: str) -> list[tuple[str, str]]:
        if not index.textdocs:
            return []
        keys = [k.lower() for k in refs.textdocs]
        keys.append(native.lower())
        raw_id = conv.get("id")
        if isinstance(raw_id, str):
            keys.append(raw_id.lower())
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        prefix = index.root + "textdocs/"
        for key in keys:
            for name in index.textdocs.get(key, ()):
                if name not in seen:
                    seen.add(name)
                    out.append((name, "textdocs/" + name[len(prefix):]))
        return sorted(out)

    # -- rendering ------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """Render a stored version: see :func:`collectors.chatgpt.render.render_conversation`."""
        return render_conversation(files, meta)
