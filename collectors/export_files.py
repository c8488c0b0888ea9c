"""Exports made of loose JSON files, one conversation per file.

Some platforms have no bulk export, or one that is a folder of files: users import a chat
saved by VS Code's *Chat: Export Chat…*, a Perplexity thread saved by a browser extension,
or Le Chat's ``chat-<uuid>.json`` files, alone or as a folder or zip of several. Their
importers share what is here: which members to look at (:func:`json_members`), a cheap look
at the first few (:func:`first_heads`), loading one file whole with a content-free reason
when it cannot be (:func:`load_json`), storing its bytes (:func:`conversation_file`), and
reading a set in which one conversation may be saved more than once (:func:`read_files`).

A file that cannot be imported raises :class:`~collectors.importing.EntryError` inside
these helpers; :func:`read_files` turns it into a :class:`~collectors.importing.Skipped`,
or into an :class:`~collectors.export_source.ExportError` for a single-file import.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Iterator, TypeVar

from vault import ConversationSnapshot, RawFile

from .export_source import ExportError, ExportSource
from .importing import CONVERSATION_FILE, EntryError, Skipped
from .jsonstream import cut_off

__all__ = ["DETECT_MEMBERS", "conversation_file", "first_heads", "json_members", "load_json",
           "read_files"]

DETECT_MEMBERS = 8
"""How many files :func:`first_heads` looks at: detection stays cheap in a large folder."""

T = TypeVar("T")


def json_members(export: ExportSource) -> list[str]:
    """The members that may be conversation files, by name: a single-file export's one file
    (whatever its name), else every ``.json`` member (any case) of the folder or zip."""
    if export.kind == "file":
        return list(export.members)
    return [n for n in export.members if n.lower().endswith(".json")]


def first_heads(export: ExportSource, names: Iterable[str]) -> Iterator[bytes]:
    """:meth:`ExportSource.head <collectors.export_source.ExportSource.head>` (4 KiB, BOM
    and leading whitespace stripped, ``b""`` when unreadable) of each of the first
    :data:`DETECT_MEMBERS` of ``names``, lazily: ``any(looks_like(h) for h in …)`` stops
    reading at the first match."""
    for count, name in enumerate(names):
        if count == DETECT_MEMBERS:
            return
        yield export.head(name)


def load_json(export: ExportSource, member: str, again: str) -> tuple[bytes, Any]:
    """Member ``member`` read whole (at most 256 MiB) and parsed: ``(its exact bytes, the
    value)``. Raises :class:`~collectors.importing.EntryError` when it cannot be read
    (damaged, too large), is empty, is cut off (reason ``"the file ends early
    (half-downloaded?); " + again``, e.g. ``again="export the chat again"``) or is not JSON.
    The shape of the value is the caller's to check."""
    try:
        data = export.read(member)
    except ExportError as e:
        raise EntryError(e.reason) from None
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        if not data.strip():
            raise EntryError("the file is empty (half-downloaded?)") from None
        if cut_off(data):
            raise EntryError(f"the file ends early (half-downloaded?); {again}") from None
        raise EntryError("not valid JSON") from None
    return data, value


def conversation_file(export: ExportSource, member: str, data: bytes) -> RawFile:
    """``conversation.json`` holding member ``member`` exactly: ``data`` (its bytes, already
    read whole) for a zip member, so it is not read again; else streamed from disk
    (:meth:`~collectors.export_source.ExportSource.raw_file`). Keeps the member's mtime."""
    if export.kind == "zip":
        m = export.members[member]
        mtime_ns = int(m.mtime * 1e9) if m.mtime is not None else None
        return RawFile(CONVERSATION_FILE, data=data, mtime_ns=mtime_ns)
    return export.raw_file(member, CONVERSATION_FILE)


def read_files(export: ExportSource, members: list[str], *, load: Callable[[str], T],
               identify: Callable[[T], tuple[str, tuple]],
               snapshot: Callable[[str, T], ConversationSnapshot],
               what: str) -> Iterator[ConversationSnapshot | Skipped]:
    """Read ``members`` (see :func:`json_members`), each file one conversation, when a
    conversation may be saved in several files of one import (saved twice, exported again).

    ``load(member)`` reads one file; ``identify(loaded)`` gives its conversation id and a
    rank (a tuple; of the files holding one id, the highest rank, then the last by name, is
    imported); ``snapshot(member, loaded)`` builds the snapshot. Each may raise
    :class:`~collectors.importing.EntryError`. ``what`` names a conversation in the reason
    given for the other copies (``"an older copy of a <what> another file of this import
    holds"``).

    A single-file export is loaded once and ``identify`` is not called. Otherwise every file
    is loaded twice, one at a time (to rank the copies, then to import the chosen ones), so
    memory holds one file; yields, in member order, a snapshot per chosen file and a
    :class:`~collectors.importing.Skipped` per file that cannot be imported or is an older
    copy. Raises :class:`~collectors.export_source.ExportError` when ``members`` is empty,
    or when the one file of a single-file export cannot be imported."""
    if not members:
        raise ExportError(str(export.path), "no .json files in this export")
    if export.kind == "file":
        try:
            yield snapshot(members[0], load(members[0]))
        except EntryError as e:
            raise ExportError(export.where(members[0]), e.reason) from None
        return
    best: dict[str, tuple[tuple, str]] = {}  # id -> (rank, member) of the copy to import
    bad: dict[str, str] = {}
    for member in members:
        try:
            loaded = load(member)
            native, rank = identify(loaded)
        except EntryError as e:
            bad[member] = e.reason
            continue
        del loaded  # one file in memory at a time
        if native not in best or (rank, member) > best[native]:
            best[native] = (rank, member)
    chosen = {member for _, member in best.values()}
    for member in members:
        if member in bad:
            yield Skipped(member, bad[member])
        elif member not in chosen:
            yield Skipped(member, f"an older copy of a {what} another file of this import holds")
        else:
            try:
                yield snapshot(member, load(member))
            except EntryError as e:  # changed between the two reads
                yield Skipped(member, e.reason)
