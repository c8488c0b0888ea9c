"""Importing Perplexity threads saved by a thread exporter: one conversation per file.

Perplexity offers no official bulk export; users save threads with a browser extension that
writes the web app's thread JSON (:mod:`.thread`). ``aifs import`` takes one such file, or a
folder or zip of several (each ``.json`` file is one thread).

Per thread: ``native_id`` is the ``thread_url_slug`` (else the first entry's
``context_uuid``, else its ``uuid``); the title is the thread's own; ``conversation.json``
is the file's exact bytes. When several files of one import hold the same thread (saved
twice), the one with the latest update time (then the most entries, then the last by name)
is imported and the others are skipped with a reason.

:meth:`PerplexityImporter.is_full` is always False (never an official full export), so a
thread missing from a later import is never marked deleted.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile

from .. import markdown as md
from ..export_source import ExportError, ExportSource
from ..importing import CONVERSATION_FILE, Skipped
from ..jsonstream import looks_complete
from ..titles import UNTITLED
from .render import render_thread
from .thread import ThreadInfo, entries_of, thread_info, thread_url

__all__ = ["PerplexityImporter"]

log = logging.getLogger(__name__)

HEAD_BYTES = 4096
DETECT_MEMBERS = 8
_WS = b" \t\r\n"


class _Bad(Exception):
    """One thread file cannot be imported; ``reason`` has no content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _cut_off(data: bytes) -> bool:
    """Does ``data`` (not valid JSON) start like a JSON document but end before its end?"""
    start = data[:64].lstrip(b" \t\r\n")
    if start.startswith(b"\xef\xbb\xbf"):
        start = start[3:].lstrip(b" \t\r\n")
    return start[:1] in (b"[", b"{") and not looks_complete(data[-64:])


def _head(export: ExportSource, name: str) -> bytes:
    try:
        with export.open(name) as f:
            head = f.read(HEAD_BYTES)
    except ExportError:
        return b""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.lstrip(_WS)


def looks_like_thread(head: bytes) -> bool:
    """Does a file starting with ``head`` look like a Perplexity thread (an object with
    ``entries``, or a list, holding entries with ``query_str`` and an id key)?"""
    ids = (b'"backend_uuid"', b'"thread_url_slug"', b'"context_uuid"')
    if head.startswith(b"{"):
        return b'"entries"' in head and (b'"query_str"' in head or b'"thread_url_slug"' in head)
    if head.startswith(b"["):
        return b'"query_str"' in head and any(k in head for k in ids)
    return False


def thread_members(export: ExportSource) -> list[str]:
    """The members that may be thread files: the single file, or every ``.json`` member."""
    if export.kind == "file":
        return list(export.members)
    return [n for n in export.members if n.lower().endswith(".json")]


def _load(export: ExportSource, member: str) -> tuple[bytes, list[Any], dict[str, Any]]:
    try:
        data = export.read(member)
    except ExportError as e:
        raise _Bad(e.reason) from None
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        if not data.strip():
            raise _Bad("the file is empty (half-downloaded?)") from None
        if _cut_off(data):
            raise _Bad("the file ends early (half-downloaded?); save the thread again") from None
        raise _Bad("not valid JSON") from None
    shape = entries_of(value)
    if shape is None:
        raise _Bad("not a Perplexity thread (no entries with a query)")
    entries, meta = shape
    if not any(isinstance(e, dict) for e in entries):
        raise _Bad("the thread has no entries")
    return data, entries, meta


class PerplexityImporter:
    """Perplexity threads saved as JSON by a thread exporter (one file, or a folder or zip
    of several). ``name`` and ``provider``: ``perplexity``. No account is named
    (:meth:`account` is ``None``); never a full export (:meth:`is_full` is False)."""

    name: ClassVar[str] = "perplexity"
    provider: ClassVar[str] = "perplexity"

    def detect(self, export: ExportSource) -> bool:
        """True if one of the first few ``.json`` members (or the single file) starts like
        a thread file. Reads at most 4 KiB of each of at most 8 members."""
        return any(looks_like_thread(_head(export, n))
                   for n in thread_members(export)[:DETECT_MEMBERS])

    def account(self, export: ExportSource) -> str | None:
        """Always ``None``: thread files name no account."""
        return None

    def is_full(self, export: ExportSource) -> bool:
        """Always False: there is no official full export of Perplexity threads."""
        return False

    def read(self, export: ExportSource) -> Iterator[ConversationSnapshot | Skipped]:
        """One snapshot per thread file; a :class:`Skipped` per file that is not a readable
        thread, and per older copy of a thread another file of the import holds.

        Raises :class:`ExportError` when there is no ``.json`` file, or when the single file
        handed over cannot be read. Reads each file twice (first to find duplicates), holding
        one file at a time."""
        members = thread_members(export)
        if not members:
            raise ExportError(str(export.path), "no .json files in this export")
        if export.kind == "file":
            try:
                yield self._snapshot(export, members[0], *_load(export, members[0]))
            except _Bad as e:
                raise ExportError(export.where(members[0]), e.reason) from None
            return
        best: dict[str, tuple[tuple[float, int, str], str]] = {}
        bad: dict[str, str] = {}
        for member in members:
            try:
                _, entries, meta = _load(export, member)
            except _Bad as e:
                bad[member] = e.reason
                continue
            info = thread_info(entries, meta)
            if not info.native_id:
                bad[member] = "no thread id (no slug, context_uuid or uuid)"
                continue
            rank = (info.updated_at or 0.0, info.entries, member)
            if info.native_id not in best or rank > best[info.native_id][0]:
                best[info.native_id] = (rank, member)
        chosen = {member: native for native, (_, member) in best.items()}
        for member in members:
            if member in bad:
                yield Skipped(member, bad[member])
                continue
            if member not in chosen:
                yield Skipped(member, "an older copy of a thread another file of this "
                                      "import holds")
                continue
            try:
                yield self._snapshot(export, member, *_load(export, member))
            except _Bad as e:  # changed between the two reads
                yield Skipped(member, e.reason)

    def _snapshot(self, export: ExportSource, member: str, data: bytes,
                  entries: list[Any], meta: dict[str, Any]) -> ConversationSnapshot:
        info: ThreadInfo = thread_info(entries, meta)
        if not info.native_id:
            raise _Bad("no thread id (no slug, context_uuid or uuid)")
        warnings: list[str] = []
        odd = len(entries) - info.entries
        if odd:
            warnings.append(f"{odd} entries are not objects")
        attributes: dict[str, Any] = {"entries": info.entries}
        if info.slug:
            attributes["url"] = thread_url(info.slug)
        if info.models:
            attributes["models"] = info.models
        if info.modes:
            attributes["modes"] = info.modes
        if export.kind == "zip":
            m = export.members[member]
            raw = RawFile(CONVERSATION_FILE, data=data,
                          mtime_ns=int(m.mtime * 1e9) if m.mtime is not None else None)
        else:
            raw = export.raw_file(member, CONVERSATION_FILE)
        return ConversationSnapshot(
            provider=self.provider,
            native_id=info.native_id,
            title=info.title or UNTITLED,
            files=(raw,),
            created_at=info.created_at,
            updated_at=info.updated_at,
            source_path=export.where(member),
            attributes=attributes,
            warnings=tuple(warnings),
        )

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version (see :mod:`.render`)."""
        return render_thread(files, meta)
