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

import logging
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot

from .. import markdown as md
from ..export_files import conversation_file, first_heads, json_members, load_json, read_files
from ..export_source import ExportSource
from ..importing import EntryError, Skipped
from ..titles import UNTITLED
from .render import render_thread
from .thread import ThreadInfo, entries_of, thread_info, thread_url

__all__ = ["PerplexityImporter"]

log = logging.getLogger(__name__)

_NO_ID = "no thread id (no slug, context_uuid or uuid)"


def looks_like_thread(head: bytes) -> bool:
    """Does a file starting with ``head`` look like a Perplexity thread (an object with
    ``entries``, or a list, holding entries with ``query_str`` and an id key)?"""
    ids = (b'"backend_uuid"', b'"thread_url_slug"', b'"context_uuid"')
    if head.startswith(b"{"):
        return b'"entries"' in head and (b'"query_str"' in head or b'"thread_url_slug"' in head)
    if head.startswith(b"["):
        return b'"query_str"' in head and any(k in head for k in ids)
    return False


def _load(export: ExportSource, member: str) -> tuple[bytes, list[Any], dict[str, Any]]:
    data, value = load_json(export, member, "save the thread again")
    shape = entries_of(value)
    if shape is None:
        raise EntryError("not a Perplexity thread (no entries with a query)")
    entries, meta = shape
    if not any(isinstance(e, dict) for e in entries):
        raise EntryError("the thread has no entries")
    return data, entries, meta


def _identify(loaded: tuple[bytes, list[Any], dict[str, Any]]) -> tuple[str, tuple[float, int]]:
    """The thread's id and rank among copies: the latest update, then the most entries."""
    info = thread_info(loaded[1], loaded[2])
    if not info.native_id:
        raise EntryError(_NO_ID)
    return info.native_id, (info.updated_at or 0.0, info.entries)


class PerplexityImporter:
    """Perplexity threads saved as JSON by a thread exporter (one file, or a folder or zip
    of several). ``name`` and ``provider``: ``perplexity``. No account is named
    (:meth:`account` is ``None``); never a full export (:meth:`is_full` is False)."""

    name: ClassVar[str] = "perplexity"
    provider: ClassVar[str] = "perplexity"

    def detect(self, export: ExportSource) -> bool:
        """True if one of the first few ``.json`` members (or the single file) starts like
        a thread file. Reads at most 4 KiB of each of at most 8 members."""
        return any(looks_like_thread(head) for head in first_heads(export, json_members(export)))

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
        return read_files(export, json_members(export),
                          load=lambda member: _load(export, member), identify=_identify,
                          snapshot=lambda member, loaded: self._snapshot(export, member, *loaded),
                          what="thread")

    def _snapshot(self, export: ExportSource, member: str, data: bytes,
                  entries: list[Any], meta: dict[str, Any]) -> ConversationSnapshot:
        info: ThreadInfo = thread_info(entries, meta)
        if not info.native_id:
            raise EntryError(_NO_ID)
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
        return ConversationSnapshot(
            provider=self.provider,
            native_id=info.native_id,
            title=info.title or UNTITLED,
            files=(conversation_file(export, member, data),),
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
