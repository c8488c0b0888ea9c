"""Reading the Cursor IDE's ``state.vscdb`` databases: listing conversations, copying one.

Sources (``FORMATS.md`` "Cursor"; michaeldhood/chatrxiv ``docs/cursor/storage-reference.md``;
the real workspace capture in slevin48/cursor-history ``state.vscdb``)::

    globalStorage/state.vscdb      table cursorDiskKV(key TEXT UNIQUE, value BLOB)
        composerData:<composerId>              conversation header: name, createdAt and
                                               lastUpdatedAt (ms), fullConversationHeadersOnly
                                               [{bubbleId, type}], or (0.4x) the messages
                                               inline in conversation[] / conversationMap{}
        bubbleId:<composerId>:<bubbleId>       one message (type 1 user, 2 assistant)
    workspaceStorage/<hash>/state.vscdb   table ItemTable(key TEXT UNIQUE, value BLOB)
        composer.composerData                  {allComposers: [...]}: references to global
                                               composers, or (old format) whole composers
                                               with their conversation[] inline
        workbench.panel.aichat.view.aichat.chatdata   legacy chat: {tabs: [{tabId,
                                               chatTitle, bubbles[], lastSendTime}]}
        aiService.prompts                      [{text, commandType}]: the prompt history

Every query names its keys (a prefix range or exact keys) and also excludes
``cursorAuth/*`` in SQL, so the tokens kept in the same tables are never read.

Cost of :func:`list_global` (run by ``discover``): one index-only key listing of
``composerData:*`` plus one indexed ``LIMIT 1`` probe per composer for a ``bubbleId`` key;
only composers without any bubble row (empty drafts, 0.4x inline conversations) have their
header value read, to leave out drafts that never got a message. :func:`list_workspace`
reads the two workspace values that hold several conversations (ids are needed to list
them) and parses them one element at a time.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from vault import SourceStamp

from ..errors import ItemError, TemporaryItemError
from ..sqlite import db_stamps, read_snapshot
from .jsonspan import iter_elements
from .messages import MessageStats
from .records import encode_element, encode_row

__all__ = [
    "BUBBLE_PREFIX",
    "COMPOSER_PREFIX",
    "CREDENTIAL_PREFIX",
    "DISK_KV",
    "ITEM_TABLE",
    "WS_CHAT",
    "WS_COMPOSERS",
    "WS_PROMPTS",
    "ElementCache",
    "Extract",
    "GlobalListing",
    "WorkspaceListing",
    "header_bubble_ids",
    "inline_bubbles",
    "list_global",
    "list_workspace",
    "read_global_composer",
    "read_prompts",
    "read_workspace_element",
]

DISK_KV = "cursorDiskKV"
ITEM_TABLE = "ItemTable"
COMPOSER_PREFIX = "composerData:"
BUBBLE_PREFIX = "bubbleId:"
WS_COMPOSERS = "composer.composerData"
WS_CHAT = "workbench.panel.aichat.view.aichat.chatdata"
WS_PROMPTS = "aiService.prompts"
CREDENTIAL_PREFIX = "cursorAuth/"

# Appended to every WHERE clause: credentials are never selected, whatever the key filter.
_NO_CREDENTIALS = "NOT (CAST(key AS TEXT) LIKE 'cursorAuth/%')"
# (table → member holding the conversations, the element's id field)
ELEMENTS = {WS_COMPOSERS: ("allComposers", "composerId"), WS_CHAT: ("tabs", "tabId")}


def _bounds(prefix: str) -> tuple[str, str]:
    """``key >= lo AND key < hi`` selects exactly the TEXT keys starting with ``prefix``
    (and uses the key's unique index, unlike ``LIKE``)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    row = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def _get(con: sqlite3.Connection, table: str, key: str) -> tuple[bytes, Any] | None:
    """``(typeof(value), value)`` of one row (``text_factory`` is ``bytes``), or ``None``."""
    return con.execute(  # table names are our constants, never input
        f"SELECT typeof(value), value FROM {table} WHERE key = ? AND {_NO_CREDENTIALS}", (key,)
    ).fetchone()


def _keys(con: sqlite3.Connection, table: str, prefix: str) -> Iterator[str]:
    lo, hi = _bounds(prefix)
    for (raw,) in con.execute(
        f"SELECT key FROM {table} WHERE key >= ? AND key < ? AND {_NO_CREDENTIALS} ORDER BY key",
        (lo, hi),
    ):
        if isinstance(raw, bytes):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
        elif isinstance(raw, str):
            yield raw


def _parse(value: Any) -> tuple[Any, str | None]:
    """``(JSON value, None)`` or ``(None, reason)`` for a stored value (bytes or str)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return None, "not UTF-8 text"
    if not isinstance(value, str):
        return None, "not text"
    try:
        return json.loads(value), None
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not valid JSON"


def _text(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


def header_bubble_ids(header: Any) -> list[str]:
    """The bubble ids a composer header names, in conversation order, without repeats."""
    ids: list[str] = []
    if isinstance(header, dict):
        heads = header.get("fullConversationHeadersOnly")
        if isinstance(heads, list):
            for head in heads:
                bid = head.get("bubbleId") if isinstance(head, dict) else None
                if isinstance(bid, str) and bid and bid not in ids:
                    ids.append(bid)
    return ids


def inline_bubbles(header: Any) -> list[Any]:
    """The messages an old-format composer keeps inline (``conversation[]``, else the
    ``conversationMap`` values in header order)."""
    if not isinstance(header, dict):
        return []
    conversation = header.get("conversation")
    if isinstance(conversation, list) and conversation:
        return conversation
    mapping = header.get("conversationMap")
    if isinstance(mapping, dict) and mapping:
        order = header_bubble_ids(header)
        ordered = [mapping[b] for b in order if b in mapping]
        return ordered + [v for k, v in mapping.items() if k not in set(order)]
    return []


def _has_messages(header: Any) -> bool:
    """False only for a parsed composer that names no message at all (an empty draft)."""
    if not isinstance(header, dict):
        return True  # unreadable: let read() report it
    return bool(header_bubble_ids(header) or inline_bubbles(header))


# -- listing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlobalListing:
    """The global database's composers: ``composers`` (ids with at least one message, in
    key order), ``drafts`` (empty ones left out) and ``stamps`` taken once the database was
    open (opening creates the ``-wal`` a later read would otherwise add)."""

    stamps: tuple[SourceStamp, ...]
    composers: tuple[str, ...] = ()
    drafts: int = 0


def list_global(db: Path) -> GlobalListing:
    """List the conversations of ``globalStorage/state.vscdb`` (see the module docstring
    for the cost). Raises :class:`ItemError` / :class:`TemporaryItemError`."""
    with read_snapshot(db) as con:
        con.text_factory = bytes
        stamps = db_stamps(db)
        if not _has_table(con, DISK_KV):
            return GlobalListing(stamps)
        found: list[str] = []
        drafts = 0
        for key in list(_keys(con, DISK_KV, COMPOSER_PREFIX)):
            cid = key[len(COMPOSER_PREFIX) :]
            if not cid:
                continue
            lo, hi = _bounds(f"{BUBBLE_PREFIX}{cid}:")
            probe = con.execute(
                f"SELECT 1 FROM {DISK_KV} WHERE key >= ? AND key < ? AND {_NO_CREDENTIALS} LIMIT 1",
                (lo, hi),
            ).fetchone()
            if probe is None:
                row = _get(con, DISK_KV, key)
                if row is None or not _has_messages(_parse(row[1])[0]):
                    drafts += 1
                    continue
            found.append(cid)
    return GlobalListing(stamps, tuple(found), drafts)


@dataclass(frozen=True)
class WorkspaceListing:
    """One workspace database: inline ``composers`` (old format) and legacy ``chats`` that
    hold messages, whether it has a non-empty prompt history, ``refs`` (every composer id
    it names, to map global composers to this workspace) and ``problems`` (values that do
    not parse; key names only)."""

    stamps: tuple[SourceStamp, ...]
    composers: tuple[str, ...] = ()
    chats: tuple[str, ...] = ()
    prompts: bool = False
    refs: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def list_workspace(db: Path) -> WorkspaceListing:
    """List the conversations of one ``workspaceStorage/<hash>/state.vscdb``.

    Raises :class:`ItemError` / :class:`TemporaryItemError` when the database cannot be
    read; a value that does not parse is recorded in ``problems`` instead.
    """
    composers: list[str] = []
    chats: list[str] = []
    refs: list[str] = []
    problems: list[str] = []
    with read_snapshot(db) as con:
        con.text_factory = bytes
        stamps = db_stamps(db)
        if not _has_table(con, ITEM_TABLE):
            return WorkspaceListing(stamps)
        for key, target in ((WS_COMPOSERS, composers), (WS_CHAT, chats)):
            row = _get(con, ITEM_TABLE, key)
            text = _text(row[1]) if row is not None else None
            if row is None:
                continue
            if text is None:
                problems.append(f"{key}: not UTF-8 text")
                continue
            member, id_field = ELEMENTS[key]
            try:
                for element, _ in iter_elements(text, member):
                    ident = element.get(id_field) if isinstance(element, dict) else None
                    if not isinstance(ident, str) or not ident:
                        continue
                    if key == WS_COMPOSERS and ident not in refs:
                        refs.append(ident)
                    if _element_has_messages(key, element) and ident not in target:
                        target.append(ident)
            except (ValueError, RecursionError):
                problems.append(f"{key}: not valid JSON")
        prompts = con.execute(
            f"SELECT 1 FROM {ITEM_TABLE} WHERE key = ? AND length(value) > 2 AND {_NO_CREDENTIALS}",
            (WS_PROMPTS,),
        ).fetchone()
    return WorkspaceListing(
        stamps, tuple(composers), tuple(chats), prompts is not None, tuple(refs), tuple(problems)
    )


def _element_has_messages(key: str, element: dict[str, Any]) -> bool:
    if key == WS_CHAT:
        bubbles = element.get("bubbles")
        return isinstance(bubbles, list) and any(
            isinstance(b, dict) and (b.get("text") or b.get("rawText")) for b in bubbles
        )
    return bool(inline_bubbles(element))  # a reference (modern format) has none


# -- reading ------------------------------------------------------------------------------


@dataclass
class Extract:
    """One conversation copied out of a database: ``data`` (the raw file, see
    :mod:`.records`), ``header`` (the parsed conversation object), ``stats`` of its
    messages, ``missing`` (bubble ids named but absent) and ``warnings``."""

    data: bytes
    header: Any
    stats: MessageStats = field(default_factory=MessageStats)
    missing: int = 0
    unreferenced: int = 0
    warnings: list[str] = field(default_factory=list)


def read_global_composer(db: Path, composer_id: str) -> Extract:
    """Copy ``composerData:<id>`` and its ``bubbleId:<id>:*`` rows, in one read transaction.

    Line order: the header, the bubbles in ``fullConversationHeadersOnly`` order, then any
    other bubble of this composer by key (rewound or not yet referenced). Raises
    :class:`TemporaryItemError` when the composer is gone, :class:`ItemError` when the
    database cannot be read.
    """
    key = COMPOSER_PREFIX + composer_id
    prefix = f"{BUBBLE_PREFIX}{composer_id}:"
    out = io.BytesIO()
    stats = MessageStats()
    warnings: list[str] = []
    missing = unreferenced = 0
    with read_snapshot(db) as con:
        con.text_factory = bytes
        if not _has_table(con, DISK_KV):
            raise TemporaryItemError(os.fspath(db), "the cursorDiskKV table is gone")
        row = _get(con, DISK_KV, key)
        if row is None:
            raise TemporaryItemError(os.fspath(db), f"{key} is no longer in the database")
        out.write(encode_row(DISK_KV, key, row[0], row[1]))
        header, reason = _parse(row[1])
        if reason:
            warnings.append(f"{key}: {reason}")
        written: set[str] = set()
        for bid in header_bubble_ids(header):
            bkey = prefix + bid
            brow = _get(con, DISK_KV, bkey)
            if brow is None:
                missing += 1
                continue
            written.add(bkey)
            out.write(encode_row(DISK_KV, bkey, brow[0], brow[1]))
            stats.feed_bubble(_parse(brow[1])[0])
        for bkey in [k for k in _keys(con, DISK_KV, prefix) if k not in written]:
            brow = _get(con, DISK_KV, bkey)
            if brow is None:
                continue
            unreferenced += 1
            out.write(encode_row(DISK_KV, bkey, brow[0], brow[1]))
            stats.feed_bubble(_parse(brow[1])[0])
    if not written:
        for bubble in inline_bubbles(header):
            stats.feed_bubble(bubble)
    if missing:
        warnings.append(f"{missing} message(s) named by the conversation are not in the database")
    return Extract(out.getvalue(), header, stats, missing, unreferenced, warnings)


class ElementCache:
    """The elements (exact text, by id) of the workspace value read last, so the dozens of
    conversations kept in one ``composer.composerData`` value cost one read, not one each.
    Keyed by the database's and ``-wal``'s inode, size and mtime: any write rereads. (Not
    ctime: SQLite running as root fchown()s the ``-wal`` at each open, moving its ctime.)"""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._elements: dict[str, str] = {}

    def elements(self, db: Path, key: str) -> dict[str, str]:
        """``{id: exact element text}`` of value ``key`` (``{}`` when the row is absent).

        Raises :class:`ItemError` when the value is not JSON text or the database cannot
        be read.
        """
        cache_key = (os.fspath(db), key, _content_stamps(db))
        if cache_key == self._key:
            return self._elements
        member, id_field = ELEMENTS[key]
        found: dict[str, str] = {}
        with read_snapshot(db) as con:
            con.text_factory = bytes
            stamps = _content_stamps(db)
            row = _get(con, ITEM_TABLE, key) if _has_table(con, ITEM_TABLE) else None
        if row is not None:
            text = _text(row[1])
            if text is None:
                raise ItemError(os.fspath(db), f"{key} is not UTF-8 text")
            try:
                for element, exact in iter_elements(text, member):
                    ident = element.get(id_field) if isinstance(element, dict) else None
                    if isinstance(ident, str) and ident:
                        found[ident] = exact  # a repeated id: the last one, as JSON.parse
            except (ValueError, RecursionError):
                raise ItemError(os.fspath(db), f"{key} is not valid JSON") from None
        self._key, self._elements = (os.fspath(db), key, stamps), found
        return found


def _content_stamps(db: Path) -> tuple[tuple[int, int, int], ...]:
    return tuple((s.ino, s.size, s.mtime_ns) for s in db_stamps(db))


def read_workspace_element(db: Path, key: str, ident: str, cache: ElementCache) -> Extract:
    """Copy one conversation kept inside workspace value ``key`` (``composer.composerData``
    or the legacy chat data) as one ``element_of`` line (see :mod:`.records`).

    Raises :class:`TemporaryItemError` when it is gone, :class:`ItemError` when the value or
    the database cannot be read.
    """
    exact = cache.elements(db, key).get(ident)
    if exact is None:
        raise TemporaryItemError(os.fspath(db), f"conversation no longer in {key}")
    member, _ = ELEMENTS[key]
    element, _ = _parse(exact)
    stats = MessageStats()
    bubbles = element.get("bubbles") if key == WS_CHAT else inline_bubbles(element)
    for bubble in bubbles if isinstance(bubbles, list) else []:
        stats.feed_bubble(bubble)
    data = encode_element(ITEM_TABLE, key, "/" + member, exact)
    return Extract(data, element, stats)


def read_prompts(db: Path) -> Extract:
    """Copy the workspace's ``aiService.prompts`` row. Raises :class:`TemporaryItemError`
    when it is gone, :class:`ItemError` when the database cannot be read."""
    with read_snapshot(db) as con:
        con.text_factory = bytes
        row = _get(con, ITEM_TABLE, WS_PROMPTS) if _has_table(con, ITEM_TABLE) else None
    if row is None:
        raise TemporaryItemError(os.fspath(db), f"{WS_PROMPTS} is no longer in the database")
    value, reason = _parse(row[1])
    warnings = [f"{WS_PROMPTS}: {reason}"] if reason else []
    return Extract(encode_row(ITEM_TABLE, WS_PROMPTS, row[0], row[1]), value, warnings=warnings)
