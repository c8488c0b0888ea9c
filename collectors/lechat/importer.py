"""Importing a Mistral Le Chat data export: one conversation per ``chat-<uuid>.json``.

The export (Le Chat > Settings > Export data) is a zip, or its extracted folder, holding one
``chat-<uuid>.json`` per chat (a JSON array of messages, see :mod:`.chat`) and, for chats
with attachments, a sibling folder ``chat-<uuid>-files/``. A user may also hand over a single
chat file. Format source: Superkikim/nexus-ai-chat-importer ``src/providers/lechat/``.

Per chat: ``native_id`` is the uuid in the file name (else the messages' ``chatId``);
``title`` is :func:`~collectors.titles.title_from_text` of the first user message (Le Chat
exports carry no titles); times are the first and last ``createdAt``. Raw files:
``conversation.json`` (the chat file's exact bytes) and ``files/<name>`` for each file of
its ``-files/`` folder (a nested path under that folder is kept as is).

A chat file that cannot be read (not JSON, cut off, not an array, damaged zip member) is
skipped with a reason when the export holds several chats; when it is the only chat of a
single-file import, :class:`~collectors.export_source.ExportError` is raised instead.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile

from .. import markdown as md
from ..export_files import conversation_file, first_heads, load_json
from ..export_source import ExportError, ExportSource
from ..importing import EntryError, Skipped
from ..timestamps import parse_iso
from ..titles import UNTITLED, title_from_text
from .chat import CHAT_NAME, FILES_FOLDER, chat_url, chronological, message_text, named_files
from .render import render_chat

__all__ = ["LeChatImporter"]

log = logging.getLogger(__name__)


def _looks_like_chat(head: bytes) -> bool:
    """A JSON array of objects with Le Chat's message keys (``chatId`` and ``role`` or
    ``contentChunks``)."""
    return (head.startswith(b"[") and b'"chatId"' in head
            and (b'"role"' in head or b'"contentChunks"' in head))


def _split(name: str) -> tuple[str, str]:
    """``(folder, basename)`` of a member name (folder ``""`` at the top)."""
    folder, _, base = name.rpartition("/")
    return folder, base


def chat_members(export: ExportSource) -> list[tuple[str, str | None]]:
    """``(member, uuid from its name or None)`` of every chat file, by member name.

    Chat files are members named ``chat-<uuid>.json`` outside any ``chat-*-files/`` folder
    (an attachment may itself be called ``chat-x.json``). A single-file export is its one
    file whatever its name."""
    found: list[tuple[str, str | None]] = []
    for name in export.members:
        parts = name.split("/")
        if any(FILES_FOLDER.match(p) for p in parts[:-1]):
            continue
        m = CHAT_NAME.match(parts[-1])
        if m and not FILES_FOLDER.match(parts[-1][:-5]):
            found.append((name, m.group("id")))
    if export.kind == "file" and not found:
        found = [(name, None) for name in export.members]
    return found


def attachment_index(export: ExportSource) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """``(folder of the chat file, lower-case uuid)`` → ``[(member, path under the -files
    folder)]`` for every member inside a ``chat-<uuid>-files/`` folder."""
    index: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name in export.members:
        parts = name.split("/")
        for i, part in enumerate(parts[:-1]):
            m = FILES_FOLDER.match(part)
            if m:
                key = ("/".join(parts[:i]), m.group("id").lower())
                index.setdefault(key, []).append((name, "/".join(parts[i + 1:])))
                break
    return index


class LeChatImporter:
    """Mistral Le Chat data exports (zip, extracted folder, or one ``chat-<uuid>.json``).

    ``name`` and ``provider``: ``lechat``. :meth:`account` is always ``None``: the export
    names no account. :meth:`is_full` is True for a zip or folder, False for one chat file.
    """

    name: ClassVar[str] = "lechat"
    provider: ClassVar[str] = "lechat"

    def detect(self, export: ExportSource) -> bool:
        """True if one of the first few chat files (``chat-<uuid>.json``, or the single file
        handed over) starts like a Le Chat message array. Reads at most 4 KiB of each of at
        most 8 members."""
        return any(_looks_like_chat(head)
                   for head in first_heads(export, (name for name, _ in chat_members(export))))

    def account(self, export: ExportSource) -> str | None:
        """Always ``None``: Le Chat chat files name no account."""
        return None

    def is_full(self, export: ExportSource) -> bool:
        """True for a zip or folder (the export of every chat), False for a single file."""
        return export.kind in ("zip", "folder")

    def read(self, export: ExportSource) -> Iterator[ConversationSnapshot | Skipped]:
        """One snapshot per chat file, in member-name order; a :class:`Skipped` per chat
        file that cannot be read and per ``-files/`` folder whose chat file is missing.

        Raises :class:`ExportError` when the export has no chat file, or when its only chat
        file (a single-file import) cannot be read."""
        chats = chat_members(export)
        if not chats:
            raise ExportError(str(export.path), "no Le Chat chat files (chat-<uuid>.json) "
                                                "in this export")
        index = attachment_index(export)
        single = export.kind == "file"
        used: set[tuple[str, str]] = set()
        for member, file_id in chats:
            try:
                snap, key = self._chat(export, member, file_id, index)
            except EntryError as e:
                if single:
                    raise ExportError(export.where(member), e.reason) from None
                log.debug("skipping %s: %s", member, e.reason)
                yield Skipped(member, e.reason, file_id or None)
                if file_id:  # its -files/ folder is not an orphan
                    used.add((_split(member)[0], file_id.lower()))
                continue
            used.add(key)
            yield snap
        for key in sorted(index.keys() - used):
            member = index[key][0][0]  # name the folder as spelled in the export
            rel = index[key][0][1]
            yield Skipped(member[: len(member) - len(rel)],
                          "attachment folder without its chat file")

    def _chat(self, export: ExportSource, member: str, file_id: str | None,
              index: Mapping[tuple[str, str], list[tuple[str, str]]],
              ) -> tuple[ConversationSnapshot, tuple[str, str]]:
        data, value = load_json(export, member, "export it again")
        if not isinstance(value, list):
            raise EntryError("not a Le Chat chat file (expected a JSON array of messages)")
        messages = [m for m in value if isinstance(m, dict)]
        warnings: list[str] = []
        if len(messages) != len(value):
            warnings.append(f"{len(value) - len(messages)} entries of the message array "
                            "are not objects")
        chat_ids = [m["chatId"] for m in messages
                    if isinstance(m.get("chatId"), str) and m["chatId"]]
        chat_id = chat_ids[0] if chat_ids else None
        native_id = file_id or chat_id
        if not native_id:
            raise EntryError("no chat id (neither in the file name nor in the messages)")
        if chat_id and file_id and chat_id.lower() != file_id.lower():
            warnings.append("the messages' chatId differs from the file name's id")
        if len(set(chat_ids)) > 1:
            warnings.append("the messages name more than one chatId")

        order = chronological(messages)
        title = ""
        for i in order:
            if messages[i].get("role") == "user":
                title = title_from_text(message_text(messages[i]))
                if title:
                    break
        times = [t for t in (parse_iso(m.get("createdAt")) for m in messages) if t is not None]

        folder, _ = _split(member)
        key = (folder, native_id.lower())
        files: list[RawFile] = [conversation_file(export, member, data)]
        stored: set[str] = set()
        for source, rel in sorted(index.get(key, ()), key=lambda x: x[1]):
            stored_as = f"files/{rel}"
            if stored_as in stored:  # two folders differing only in case
                warnings.append("two attachment files with the same name; one kept")
                continue
            stored.add(stored_as)
            files.append(export.raw_file(source, stored_as))
        basenames = {s.rsplit("/", 1)[-1] for s in stored}
        named = [n for m in messages for n in named_files(m)]
        missing = sum(1 for n in set(named) if n.rsplit("/", 1)[-1] not in basenames)
        if missing:
            warnings.append(f"{missing} attached file(s) named in the chat are not in the export")

        roles = {m.get("role") for m in messages}
        attributes: dict[str, Any] = {
            "messages": len(messages),
            "url": chat_url(native_id),
        }
        if stored:
            attributes["attachments"] = len(stored)
        if roles - {"user", "assistant", None}:
            attributes["roles"] = sorted(r for r in roles if isinstance(r, str))
        return ConversationSnapshot(
            provider=self.provider,
            native_id=native_id,
            title=title or UNTITLED,
            files=tuple(files),
            created_at=min(times) if times else None,
            updated_at=max(times) if times else None,
            source_path=export.where(member),
            attributes=attributes,
            warnings=tuple(warnings),
        ), key

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version (see :mod:`.render`)."""
        return render_chat(files, meta)
