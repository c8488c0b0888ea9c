"""cursor-agent (the Cursor CLI) sessions: ``~/.cursor/chats/<md5(cwd)>/<sessionId>/store.db``.

Format (``FORMATS.md`` "Cursor"; the hand-built shape in jazzyalex/agent-sessions
``AgentSessionsTests/Fixtures/Cursor/test-store.db``; guidemode/desktop
``src-tauri/src/providers/cursor/CLAUDE.md`` for the blob tree)::

    meta(key TEXT PRIMARY KEY, value TEXT)   key "0": hex-encoded JSON {agentId, name, mode,
                                             createdAt (ms), lastUsedModel, latestRootBlobId}
    blobs(id TEXT PRIMARY KEY, data BLOB)    content-addressed (id = sha256 hex of data):
        a message: JSON text {role: user|assistant|tool|system, content: str | [blocks]}
        a tree node: protobuf bytes, field 1 (tag 0x0A, length 0x20) repeated = the ids
                     (32 raw bytes) of its children in order; other length-delimited
                     fields may embed a JSON message

The conversation is the message blobs reached from ``latestRootBlobId``, depth first; blobs
not reached are earlier states (rewound or replaced turns) and are kept and shown apart.
The database is one session's own, yet it is still copied row by row (:mod:`.records`):
the ``-wal`` must be included and the file may be mid-write.
"""

from __future__ import annotations

import binascii
import io
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..errors import ItemError
from ..sqlite import read_snapshot
from .messages import MessageStats
from .records import encode_row

__all__ = [
    "META_KEY",
    "StoreExtract",
    "decode_meta",
    "node_children",
    "read_store",
    "walk_messages",
]

META_KEY = "0"
_MAX_NODES = 1_000_000


def decode_meta(value: bytes | str | None) -> dict[str, Any] | None:
    """The session metadata of meta row ``"0"``: hex-encoded JSON (plain JSON accepted
    too); ``None`` when it is neither."""
    if value is None:
        return None
    raw = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
    raw = raw.strip()
    candidates = [raw]
    try:
        candidates.insert(0, binascii.unhexlify(raw))
    except (binascii.Error, ValueError):
        pass
    for candidate in candidates:
        try:
            parsed = json.loads(candidate.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
        if isinstance(parsed, dict):
            return parsed
    return None


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def node_children(data: bytes) -> tuple[list[str], list[dict[str, Any]]] | None:
    """A tree node's child ids (hex, in order) and any JSON messages embedded in it;
    ``None`` when ``data`` is not a protobuf message."""
    children: list[str] = []
    embedded: list[dict[str, Any]] = []
    i = 0
    try:
        while i < len(data):
            tag, i = _varint(data, i)
            number, wire = tag >> 3, tag & 7
            if number == 0:
                return None
            if wire == 0:
                _, i = _varint(data, i)
            elif wire == 1:
                i += 8
            elif wire == 5:
                i += 4
            elif wire == 2:
                length, i = _varint(data, i)
                payload = data[i : i + length]
                if len(payload) != length:
                    return None
                i += length
                if number == 1 and length == 32:
                    children.append(payload.hex())
                elif payload[:1] == b"{":
                    message = _json_object(payload)
                    if message is not None and "role" in message:
                        embedded.append(message)
            else:
                return None
    except ValueError:
        return None
    if i != len(data):
        return None
    return children, embedded


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def walk_messages(
    blobs: Mapping[str, bytes], root: str | None
) -> tuple[list[tuple[str, dict[str, Any]]], set[str]]:
    """The messages reached from ``root`` depth first, as ``(blob id, message)`` (an
    embedded message gets ``<node id>#<n>``), and the set of blob ids reached.
    Cycles and missing children are skipped; never raises."""
    found: list[tuple[str, dict[str, Any]]] = []
    reached: set[str] = set()
    stack = [root] if isinstance(root, str) and root in blobs else []
    while stack and len(reached) < _MAX_NODES:
        ident = stack.pop()
        if ident in reached or ident not in blobs:
            continue
        reached.add(ident)
        data = blobs[ident]
        if data[:1] == b"{":
            message = _json_object(data)
            if message is not None:
                found.append((ident, message))
            continue
        node = node_children(data)
        if node is None:
            continue
        children, embedded = node
        found.extend((f"{ident}#{n}", m) for n, m in enumerate(embedded, 1))
        stack.extend(reversed(children))
    return found, reached


@dataclass
class StoreExtract:
    """One session copied out of its ``store.db``: ``data`` (the raw file), ``meta`` (the
    decoded row ``"0"``), message ``stats``, counts of blobs and of message blobs not reached
    from the root."""

    data: bytes
    meta: dict[str, Any] | None
    stats: MessageStats = field(default_factory=MessageStats)
    blobs: int = 0
    unreached: int = 0
    warnings: list[str] = field(default_factory=list)


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    row = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def _rows(con: sqlite3.Connection, sql: str) -> Iterator[tuple[Any, Any, Any]]:
    yield from con.execute(sql)


def read_store(db: Path) -> StoreExtract:
    """Copy every ``meta`` and ``blobs`` row of a session database (rowid order, one read
    transaction). Raises :class:`ItemError` when it is not such a database or cannot be
    read (:class:`TemporaryItemError` when locked)."""
    out = io.BytesIO()
    meta: dict[str, Any] | None = None
    blobs: dict[str, bytes] = {}
    with read_snapshot(db) as con:
        con.text_factory = bytes
        has_meta, has_blobs = _has_table(con, "meta"), _has_table(con, "blobs")
        if not has_meta and not has_blobs:
            raise ItemError(os.fspath(db), "not a cursor-agent session database")
        if has_meta:
            for key, kind, value in _rows(
                con, "SELECT key, typeof(value), value FROM meta ORDER BY rowid"
            ):
                out.write(encode_row("meta", key, kind, value))
                if key in (META_KEY.encode(), META_KEY) and meta is None:
                    meta = decode_meta(value if isinstance(value, (bytes, str)) else None)
        if has_blobs:
            for ident, kind, data in _rows(
                con, "SELECT id, typeof(data), data FROM blobs ORDER BY rowid"
            ):
                out.write(encode_row("blobs", ident, kind, data))
                if isinstance(ident, bytes) and isinstance(data, bytes):
                    blobs[ident.decode("utf-8", "replace")] = data
    stats = MessageStats()
    root = meta.get("latestRootBlobId") if meta else None
    messages, reached = walk_messages(blobs, root if isinstance(root, str) else None)
    warnings: list[str] = []
    if meta is None:
        warnings.append("no readable session metadata (meta row 0)")
    elif isinstance(root, str) and root and root not in blobs and blobs:
        warnings.append("the latest root blob is missing; messages shown in stored order")
    loose = [i for i, d in blobs.items() if i not in reached and d[:1] == b"{"]
    if not messages:
        messages = [(i, m) for i in loose if (m := _json_object(blobs[i])) is not None]
        loose = []
    for _, message in messages:
        stats.feed_agent(message)
    return StoreExtract(out.getvalue(), meta, stats, len(blobs), len(loose), warnings)
