"""SQLite rows as JSON Lines: how database-backed collectors store a conversation's records.

A conversation kept in a tool's SQLite database (opencode, Goose …) is stored as the rows
that belong to it, never as the database file (:mod:`collectors.sqlite`). Each table gives
one raw file ``<table>.jsonl`` with one JSON object per row, keys = column names in table
order, values exactly as stored:

* ``INTEGER`` / ``REAL`` / ``NULL`` → JSON number / ``null``;
* ``TEXT`` → JSON string, *not* decoded further: a column holding JSON text (opencode's
  ``data``, Goose's ``content_json``) stays a string, byte-for-byte what the tool wrote;
  text that is not valid UTF-8 keeps its bytes as lone surrogates (``surrogateescape``);
* ``BLOB`` → ``{"$blob": "<base64>"}`` (the only non-native shape; no tool column we read
  is named ``$blob``).

Layout of a file: ``<json object>\\n`` per row, UTF-8 (``surrogatepass`` for lone surrogates),
in the order of the query. Tables and columns are discovered at read time (``PRAGMA
table_info``) so a schema that gains columns keeps working.
"""

from __future__ import annotations

import base64
import io
import json
import math
import sqlite3
from typing import Any, Iterable

__all__ = [
    "BLOB_KEY",
    "RowDump",
    "columns",
    "decode_text",
    "quote",
    "row_object",
    "tables",
]

BLOB_KEY = "$blob"


def decode_text(raw: bytes) -> str:
    """The ``text_factory`` for tool databases: UTF-8, invalid bytes kept as surrogates."""
    return raw.decode("utf-8", "surrogateescape")


def quote(name: str) -> str:
    """``name`` as a quoted SQLite identifier."""
    return '"' + name.replace('"', '""') + '"'


def tables(con: sqlite3.Connection) -> set[str]:
    """Names of the ordinary tables in the main schema."""
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def columns(con: sqlite3.Connection, table: str) -> list[str]:
    """Column names of ``table`` in table order (``[]`` if it does not exist)."""
    return [r[1] for r in con.execute(f"PRAGMA table_info({quote(table)})")]


def _value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {BLOB_KEY: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no NaN/Infinity; keep it readable
    return value


def row_object(names: list[str], row: Iterable[Any]) -> dict[str, Any]:
    """One row as a JSON-able dict (see the module docstring for the value mapping)."""
    return {name: _value(value) for name, value in zip(names, row)}


class RowDump:
    """Accumulates one table's rows of one conversation as JSONL bytes.

    ``add(names, row)`` appends one row; :meth:`data` returns the file; ``count`` is the
    number of rows. Memory: the JSONL text of this conversation's rows only.
    """

    def __init__(self) -> None:
        self._buf = io.BytesIO()
        self.count = 0

    def add(self, names: list[str], row: Iterable[Any]) -> dict[str, Any]:
        """Append ``row`` and return it as a dict (for metadata)."""
        obj = row_object(names, row)
        self._buf.write(json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        self._buf.write(b"\n")
        self.count += 1
        return obj

    def extend(self, cursor: sqlite3.Cursor) -> int:
        """Append every row of an executed ``cursor`` (streamed); the number of rows added."""
        names = [d[0] for d in cursor.description or ()]
        before = self.count
        for row in cursor:
            self.add(names, row)
        return self.count - before

    def data(self) -> bytes:
        """The JSONL bytes written so far."""
        return self._buf.getvalue()
