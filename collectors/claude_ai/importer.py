"""Claude.ai data exports → conversation snapshots (plus one per project and one for memories).

Formats read (see ``../shared/FORMATS.md``, "Hosted chat platforms › Claude.ai"):

- **Official export** (claude.ai › Settings › Privacy › Export data), a zip or its extracted
  folder: ``conversations.json`` (array of ``{uuid, name, summary, created_at, updated_at,
  account:{uuid}, chat_messages:[{uuid, sender: human|assistant, text, content:[blocks],
  created_at, attachments:[{file_name, file_type, file_size, extracted_content}], files:[…],
  parent_message_uuid (newer exports)}]}``, ISO 8601 times), ``projects.json`` (array of
  ``{uuid, name, description, prompt_template, is_private, created_at, updated_at,
  docs:[{uuid, filename, content, created_at}]}``), ``users.json`` (``[{uuid, full_name,
  email_address, …}]``) and ``memories.json`` (``[{conversations_memory: str,
  project_memories: {project uuid: str}, account_uuid}]``). Some exports seen in the wild
  put each project in ``projects/<uuid>.json`` instead; both layouts are read. The files
  may sit in one sub-folder of the zip/folder (the shallowest ``conversations.json`` wins).
- **One conversation from the web API**, ``GET /api/organizations/{org}/chat_conversations/
  {uuid}?tree=True&rendering_mode=messages``: the same conversation object with
  ``current_leaf_message_uuid`` and root parent ``00000000-0000-4000-8000-000000000000``
  (fixture ``claude/synthetic/webapi-chat_conversation-tree.json``). A single file, never
  a full export. A lone ``conversations.json`` (array) is read the same way, not full either.

Snapshots: one per conversation (``native_id`` = its uuid; files ``conversation.json``, the
exact bytes of the entry, plus ``attachments/<file_name>`` holding each attachment's
``extracted_content`` as UTF-8, names from :mod:`.naming`); one per project (``native_id``
``project-<uuid>``, files ``project.json``, ``prompt_template.md``, ``docs/<filename>``); one
``memories`` snapshot (``memories.json`` exact, plus ``memories/<n>-….md`` per memory text).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from vault import ConversationSnapshot, RawFile
from vault.model import text_bytes

from .. import markdown as md
from ..export_source import ExportError, ExportSource
from ..importing import CONVERSATION_FILE, Skipped
from ..jsonstream import TOO_DEEP, JsonStreamError, iter_array, looks_complete
from ..timestamps import parse_iso
from ..titles import UNTITLED
from .conversation import conversation_title, message_tree
from .naming import attachment_names, doc_names, memory_names
from .render import render_version

__all__ = ["ClaudeAiImporter"]

log = logging.getLogger(__name__)

SMALL_FILE_LIMIT = 256 * 1024 * 1024
MAX_LISTED_FILES = 200
PROJECT_FILE = "project.json"
MEMORIES_FILE = "memories.json"

# Keys (a quoted name followed by ":"; inside JSON strings quotes are escaped, so text
# cannot match) that other platforms' exports have near their start and Claude.ai's lack.
_FOREIGN = re.compile(rb'"(?:mapping|biz_data|message_id|fragments|inserted_at|requesterUsername'
                      rb'|entries|safeHtmlItem)"\s*:')
_CHAT_MESSAGES = re.compile(rb'"chat_messages"\s*:')
_UUID = re.compile(rb'"uuid"\s*:')
_TRUNCATED = "the file ends early (half-downloaded?); download the export again"


@dataclass
class _Layout:
    """Where the parts of one export are (member names; ``None`` when absent)."""

    conversations: str
    users: str | None = None
    projects: str | None = None
    project_files: list[str] = field(default_factory=list)
    memories: str | None = None


class ClaudeAiImporter:
    """Importer for Claude.ai data exports (zip, extracted folder, or one conversation file).

    See the module docstring for the formats. :meth:`read` raises
    :class:`~collectors.export_source.ExportError` when ``conversations.json``,
    ``projects.json`` or ``memories.json`` is cut off or not JSON; single bad entries are
    yielded as :class:`~collectors.importing.Skipped`.
    """

    name = "claude.ai"
    provider = "claude.ai"

    # -- detection ------------------------------------------------------------------------

    def detect(self, export: ExportSource) -> bool:
        """True for a Claude.ai export: a ``conversations.json`` (or the single file) whose
        first 4 KiB hold ``chat_messages`` and ``uuid`` and none of the keys other platforms
        use (``mapping``, ``biz_data``, ``message_id`` …); for a zip/folder with ``users.json``
        or ``projects.json`` beside it, an array with ``uuid`` suffices."""
        layout = _layout(export)
        if layout is None:
            return False
        head = export.head(layout.conversations)
        if head[:1] not in (b"[", b"{") or _FOREIGN.search(head):
            return False
        if _CHAT_MESSAGES.search(head) and _UUID.search(head):
            return True
        siblings = layout.users or layout.projects or layout.project_files
        return bool(siblings) and head[:1] == b"[" and bool(_UUID.search(head) or head.rstrip() == b"[]")

    def account(self, export: ExportSource) -> str | None:
        """The first user in ``users.json`` (``email_address``, else ``full_name``, else
        ``uuid``); else the ``account.uuid`` of the first conversation; else ``None``.
        Never raises."""
        layout = _layout(export)
        if layout is None:
            return None
        if layout.users:
            try:
                users = _loads(export.read(layout.users, 16 * 1024 * 1024))
            except (ExportError, ValueError, RecursionError):
                users = None
            if isinstance(users, dict):
                users = [users]
            for user in users if isinstance(users, list) else []:
                if isinstance(user, dict):
                    for key in ("email_address", "full_name", "uuid"):
                        value = user.get(key)
                        if isinstance(value, str) and value.strip():
                            return value.strip()
        try:
            for _raw, conv in _entries(export, layout.conversations, check_tail=False):
                acct = conv.get("account") if isinstance(conv, dict) else None
                uuid = acct.get("uuid") if isinstance(acct, dict) else None
                return uuid if isinstance(uuid, str) and uuid else None
        except (ExportError, JsonStreamError, ValueError, RecursionError):
            pass
        return None

    def is_full(self, export: ExportSource) -> bool:
        """True for the official export: a zip or folder with ``conversations.json`` and
        ``users.json`` or ``projects.json`` (or ``projects/``) beside it."""
        layout = _layout(export)
        return (layout is not None and export.kind in ("zip", "folder")
                and bool(layout.users or layout.projects or layout.project_files))

    # -- reading --------------------------------------------------------------------------

    def read(self, export: ExportSource) -> Iterator[ConversationSnapshot | Skipped]:
        """Conversations, then projects, then memories (see the module docstring).

        Raises :class:`ExportError` naming the member when a file is cut off, not JSON, or
        not the expected shape; everything yielded before stays valid.
        """
        layout = _layout(export)
        if layout is None:
            raise ExportError(str(export.path), "no conversations.json in this export")
        yield from self._conversations(export, layout.conversations)
        seen_projects: set[str] = set()
        if layout.projects:
            yield from self._projects_file(export, layout.projects, seen_projects)
        for member in layout.project_files:
            yield from self._project_member(export, member, seen_projects)
        if layout.memories:
            yield self._memories(export, layout.memories)

    def _conversations(self, export: ExportSource, member: str) -> Iterator[ConversationSnapshot | Skipped]:
        seen: dict[str, int] = {}
        single = _first_char(export, member) == b"{"
        for n, (raw, conv) in enumerate(_entries(export, member), 1):
            label = f"{member} entry {n}"
            if not isinstance(conv, dict):
                yield Skipped(label, "nested too deeply to read" if conv is TOO_DEEP
                                            else "not a JSON object")
                continue
            uuid = conv.get("uuid")
            if not isinstance(uuid, str) or not uuid.strip():
                yield Skipped(label, "no uuid")
                continue
            if not isinstance(conv.get("chat_messages"), list):
                yield Skipped(f"conversation {uuid}", "chat_messages is missing or not a list", uuid)
                continue
            if uuid in seen:
                yield Skipped(f"conversation {uuid}", f"duplicate uuid (entry {seen[uuid]} has it too)")
                continue
            seen[uuid] = n
            try:
                yield self._conversation(export, member, raw, conv, uuid, single)
            except (ExportError, JsonStreamError):
                raise
            except Exception as exc:  # one odd entry never stops the rest
                log.debug("conversation entry %d failed", n, exc_info=True)
                yield Skipped(f"conversation {uuid}", f"could not be read ({type(exc).__name__})", uuid)

    def _conversation(self, export: ExportSource, member: str, raw: bytes, conv: dict,
                      uuid: str, single: bool) -> ConversationSnapshot:
        messages: list = conv["chat_messages"]
        files = [RawFile(CONVERSATION_FILE, data=raw)]
        warnings: list[str] = []
        bad = sum(1 for m in messages if not isinstance(m, dict))
        if bad:
            warnings.append(f"{bad} message(s) are not JSON objects")
        names = attachment_names(messages)
        odd_attachments = 0
        listed: list[dict[str, Any]] = []
        listed_ids: set[str] = set()
        for mi, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            atts = message.get("attachments")
            for ai, att in enumerate(atts if isinstance(atts, list) else []):
                stored = names.get((mi, ai))
                if stored is not None:
                    files.append(RawFile(stored, data=text_bytes(att["extracted_content"]),
                                         mtime_ns=_ns(parse_iso(message.get("created_at")))))
                elif isinstance(att, dict) and att.get("extracted_content") is not None:
                    odd_attachments += 1
            for key in ("files", "files_v2"):
                for entry in message.get(key) if isinstance(message.get(key), list) else []:
                    info = _file_info(entry)
                    ident = info.get("file_uuid") or json.dumps(info, sort_keys=True)
                    if info and ident not in listed_ids and len(listed) < MAX_LISTED_FILES:
                        listed_ids.add(ident)
                        listed.append(info)
        if odd_attachments:
            warnings.append(f"{odd_attachments} attachment(s) have extracted_content that is not text")
        attributes: dict[str, Any] = {"kind": "conversation",
                                      "format": "web-api" if single else "export",
                                      "messages": len(messages)}
        acct = conv.get("account")
        if isinstance(acct, dict) and isinstance(acct.get("uuid"), str):
            attributes["account_uuid"] = acct["uuid"]
        for key in ("model", "project_uuid", "current_leaf_message_uuid", "platform"):
            if isinstance(conv.get(key), str) and conv[key]:
                attributes[key] = conv[key]
        for key in ("is_starred", "is_temporary"):
            if isinstance(conv.get(key), bool):
                attributes[key] = conv[key]
        tree = message_tree(messages)
        if tree is not None:
            attributes["branches"] = len(tree.threads(conv.get("current_leaf_message_uuid")))
        if names:
            attributes["attachments"] = sorted(names.values())
        if listed:
            attributes["files"] = listed
        created = parse_iso(conv.get("created_at"))
        updated = parse_iso(conv.get("updated_at"))
        return ConversationSnapshot(
            provider=self.provider, native_id=uuid, title=conversation_title(conv),
            files=tuple(files), created_at=created,
            updated_at=updated if updated is not None else created,
            source_path=export.where(member), attributes=attributes, warnings=tuple(warnings))

    def _projects_file(self, export: ExportSource, member: str,
                       seen: set[str]) -> Iterator[ConversationSnapshot | Skipped]:
        for n, (raw, proj) in enumerate(_entries(export, member), 1):
            yield self._project(export, member, f"{member} entry {n}", raw, proj, seen)

    def _project_member(self, export: ExportSource, member: str,
                        seen: set[str]) -> Iterator[ConversationSnapshot | Skipped]:
        raw = export.read(member, SMALL_FILE_LIMIT)
        try:
            proj = _loads(raw)
        except (ValueError, RecursionError):
            yield Skipped(member, "not valid JSON")
            return
        yield self._project(export, member, member, raw, proj, seen)

    def _project(self, export: ExportSource, member: str, label: str, raw: bytes, proj: Any,
                 seen: set[str]) -> ConversationSnapshot | Skipped:
        if not isinstance(proj, dict):
            return Skipped(label, "not a JSON object")
        uuid = proj.get("uuid")
        if not isinstance(uuid, str) or not uuid.strip():
            return Skipped(label, "no uuid")
        if uuid in seen:
            return Skipped(f"project {uuid}", "duplicate project uuid")
        seen.add(uuid)
        files = [RawFile(PROJECT_FILE, data=raw)]
        warnings: list[str] = []
        template = proj.get("prompt_template")
        if isinstance(template, str) and template.strip():
            files.append(RawFile("prompt_template.md", data=text_bytes(template)))
        docs = proj.get("docs")
        if docs is not None and not isinstance(docs, list):
            warnings.append("docs is not a list")
        names = doc_names(docs)
        for di, stored in names.items():
            doc = docs[di]
            files.append(RawFile(stored, data=text_bytes(doc["content"]),
                                 mtime_ns=_ns(parse_iso(doc.get("created_at")))))
        if isinstance(docs, list) and len(names) < len(docs):
            warnings.append(f"{len(docs) - len(names)} doc(s) have no text content")
        name = proj.get("name")
        title = f"Project: {name.strip()}" if isinstance(name, str) and name.strip() else f"Project: {UNTITLED}"
        attributes: dict[str, Any] = {"kind": "project", "project_uuid": uuid,
                                      "docs": len(docs) if isinstance(docs, list) else 0}
        for key in ("is_private", "is_starter_project"):
            if isinstance(proj.get(key), bool):
                attributes[key] = proj[key]
        creator = proj.get("creator")
        if isinstance(creator, dict) and isinstance(creator.get("uuid"), str):
            attributes["creator_uuid"] = creator["uuid"]
        created = parse_iso(proj.get("created_at"))
        updated = parse_iso(proj.get("updated_at"))
        return ConversationSnapshot(
            provider=self.provider, native_id=f"project-{uuid}", title=title, files=tuple(files),
            created_at=created, updated_at=updated if updated is not None else created,
            source_path=export.where(member), attributes=attributes, warnings=tuple(warnings))

    def _memories(self, export: ExportSource, member: str) -> ConversationSnapshot:
        raw = export.read(member, SMALL_FILE_LIMIT)
        try:
            value = _loads(raw)
        except (ValueError, RecursionError):
            reason = "not valid JSON" if looks_complete(raw[-64:]) else _TRUNCATED
            raise ExportError(export.where(member), reason) from None
        files = [RawFile(MEMORIES_FILE, data=raw)]
        entries = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        warnings: list[str] = []
        if not isinstance(value, (list, dict)):
            warnings.append("memories.json is neither a list nor an object; kept as is")
        for stored, text in memory_names(value):
            files.append(RawFile(stored, data=text_bytes(text)))
        accounts = sorted({e["account_uuid"] for e in entries
                           if isinstance(e, dict) and isinstance(e.get("account_uuid"), str)})
        attributes: dict[str, Any] = {"kind": "memories", "entries": len(entries),
                                      "memory_files": len(files) - 1}
        if accounts:
            attributes["account_uuids"] = accounts
        return ConversationSnapshot(
            provider=self.provider, native_id="memories", title="Memories", files=tuple(files),
            source_path=export.where(member), attributes=attributes, warnings=tuple(warnings))

    # -- rendering ------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """Render a stored version: a conversation (current thread first, other branches
        marked), a project page or the memories page. Never raises."""
        return render_version(files, meta)


# -- private helpers -------------------------------------------------------------------------

def _layout(export: ExportSource) -> _Layout | None:
    if export.kind == "file":
        name = next(iter(export.members), None)
        return _Layout(name) if name else None
    found = export.find("conversations.json")
    if not found:
        return None
    conversations = min(found, key=lambda n: (n.count("/"), n))
    base = conversations[: -len("conversations.json")]

    def sibling(name: str) -> str | None:
        return base + name if base + name in export.members else None

    project_files = [n for n in export.members if n.startswith(base + "projects/")
                     and n.endswith(".json") and n.count("/") == base.count("/") + 1]
    return _Layout(conversations, users=sibling("users.json"), projects=sibling("projects.json"),
                   project_files=project_files, memories=sibling(MEMORIES_FILE))


def _first_char(export: ExportSource, member: str) -> bytes:
    return export.head(member, strict=True)[:1]


def _entries(export: ExportSource, member: str, *, check_tail: bool = True) -> Iterator[tuple[bytes, Any]]:
    """``(raw bytes, parsed)`` per element of the array in ``member``; a single object (the
    web API's one conversation) is one element whose bytes are the whole file."""
    where = export.where(member)
    first = _first_char(export, member)
    if first == b"{":
        raw = export.read(member, SMALL_FILE_LIMIT)
        try:
            value = _loads(raw)
        except (ValueError, RecursionError):
            raise ExportError(where, "not valid JSON" if looks_complete(raw[-64:]) else _TRUNCATED) from None
        if not isinstance(value, dict) or "chat_messages" not in value and "uuid" not in value:
            raise ExportError(where, "a JSON object that is not a Claude.ai conversation")
        yield raw, value
        return
    if first != b"[":
        raise ExportError(where, "not a JSON array (unknown layout)" if first else "the file is empty")
    if check_tail and not looks_complete(export.tail(member)):
        raise ExportError(where, _TRUNCATED)
    try:
        with export.open(member) as f:
            yield from iter_array(f)
    except JsonStreamError as e:
        raise ExportError(where, _TRUNCATED if e.truncated else f"{e.reason} at byte {e.offset}") from None


def _loads(raw: bytes) -> Any:
    text = raw.decode("utf-8", "surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    return json.loads(text)


def _ns(seconds: float | None) -> int | None:
    return int(seconds * 1e9) if seconds is not None else None


def _file_info(entry: Any) -> dict[str, Any]:
    """The identifying fields of a ``files[]``/``files_v2[]`` entry (no content, no URLs)."""
    if not isinstance(entry, dict):
        return {}
    info = {k: entry[k] for k in ("file_name", "file_uuid", "file_kind")
            if isinstance(entry.get(k), str)}
    return info
