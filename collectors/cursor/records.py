"""The raw file of a database-backed Cursor conversation: its own rows, one JSON line each.

Cursor keeps conversations in SQLite key-value tables (``state.vscdb``: ``cursorDiskKV`` and
``ItemTable``; cursor-agent's ``store.db``: ``meta`` and ``blobs``). A database also holds
other conversations and credentials, so it is never stored whole: a version's raw file
(``composer.jsonl``, ``chat.jsonl``, ``prompts.jsonl``, ``store.jsonl``) holds exactly the
rows, or parts of rows, that make up that one conversation.

Layout (one JSON object per line, UTF-8, ``\\n``-terminated, members in this order)::

    table       str   the source table: "cursorDiskKV", "ItemTable", "meta" or "blobs"
    key         str   the row's key column ("key"; for "blobs" the "id" column)
    element_of  str   only for a part of a row: the JSON Pointer (RFC 6901) of the array
                      whose element this is, e.g. "/allComposers"; the element names itself
                      (its "composerId" / "tabId"), so no index is recorded
    type        str   SQLite storage class of the value column: "text", "blob", "integer",
                      "real" or "null"
    value       str   text/blob: the stored bytes decoded as UTF-8, exactly (a JSON value
                      stored as text stays *text*, it is not re-serialized); for an
                      element_of line, the exact characters of that element inside the
                      stored text. integer/real: the number. null: null.
    base64      str   instead of "value" when the stored bytes are not valid UTF-8

Restore: ``INSERT INTO <table>(<key column>, <value column>) VALUES (key, v)`` where ``v`` is
``value.encode("utf-8")`` (or ``b64decode(base64)``), bound as TEXT for "text" and as BLOB for
"blob"; an ``element_of`` line is put back into that array of the row's JSON text (replacing
the element with the same id). The key/value column names are ``key``/``value`` except for
``blobs`` (``id``/``data``). Lines are written in a deterministic order (see each reader), so
an unchanged conversation gives byte-identical files and no new version.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Iterator

from ..jsonl import BadLine, JsonLine, iter_jsonl

__all__ = ["Record", "encode_element", "encode_row", "iter_records"]

_TYPES = frozenset({"text", "blob", "integer", "real", "null"})


def _text_or_base64(raw: bytes) -> tuple[str, str]:
    """``("value", text)`` if ``raw`` is UTF-8, else ``("base64", encoded)``."""
    try:
        return "value", raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64", base64.b64encode(raw).decode("ascii")


def _key_text(key: bytes | str) -> str:
    if isinstance(key, str):
        return key
    return key.decode("utf-8", "replace")  # keys we select are ASCII prefixes + ids


def encode_row(table: str, key: bytes | str, sqlite_type: bytes | str, value: Any) -> bytes:
    """One layout line for a whole row. ``value`` as returned by :mod:`sqlite3` with
    ``text_factory = bytes`` (``bytes`` for text and blob, ``int``/``float``/``None``);
    ``sqlite_type`` is the row's ``typeof(value)``."""
    kind = _key_text(sqlite_type)
    line: dict[str, Any] = {"table": table, "key": _key_text(key), "type": kind}
    if isinstance(value, (bytes, bytearray, memoryview)):
        field, text = _text_or_base64(bytes(value))
        line[field] = text
    else:
        line["value"] = value
    return _dump(line)


def encode_element(table: str, key: str, element_of: str, text: str) -> bytes:
    """One layout line for one array element (its exact characters ``text``) of a row whose
    value is JSON text."""
    return _dump(
        {"table": table, "key": key, "element_of": element_of, "type": "text", "value": text}
    )


def _dump(line: dict[str, Any]) -> bytes:
    text = json.dumps(line, ensure_ascii=False, separators=(",", ":"), allow_nan=True)
    return text.encode("utf-8", "surrogatepass") + b"\n"


@dataclass(frozen=True, slots=True)
class Record:
    """One parsed layout line. ``data`` holds the exact stored bytes for text/blob values
    (``None`` otherwise); ``number`` the value of integer/real rows; ``line`` the 1-based
    line number in the raw file."""

    line: int
    table: str
    key: str
    sqlite_type: str
    data: bytes | None
    number: int | float | None = None
    element_of: str | None = None

    def text(self) -> str | None:
        """The stored bytes as UTF-8 text, ``None`` when absent or not UTF-8."""
        if self.data is None:
            return None
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def json(self) -> tuple[Any, str | None]:
        """``(parsed JSON, None)``, or ``(None, reason)`` when the value is not JSON text."""
        text = self.text()
        if text is None:
            return None, "not text"
        try:
            return json.loads(text), None
        except RecursionError:
            return None, "nested too deeply"
        except ValueError:
            return None, "not JSON"


def iter_records(data: bytes) -> Iterator[Record | BadLine]:
    """The lines of a raw file in order: :class:`Record` s, or :class:`BadLine` s for lines
    that are not JSON objects of this layout (never raises)."""
    for item in iter_jsonl(data):
        if not isinstance(item, JsonLine):
            yield item
            continue
        record = _record(item)
        yield record if record is not None else BadLine(item.number, item.size, "not a record")


def _record(item: JsonLine) -> Record | None:
    v = item.value
    table, key, kind = v.get("table"), v.get("key"), v.get("type")
    if not isinstance(table, str) or not isinstance(key, str) or kind not in _TYPES:
        return None
    element_of = v.get("element_of") if isinstance(v.get("element_of"), str) else None
    value = v.get("value")
    if kind in ("text", "blob"):
        if isinstance(value, str):
            data = value.encode("utf-8", "surrogatepass")
        elif isinstance(v.get("base64"), str):
            try:
                data = base64.b64decode(v["base64"], validate=True)
            except (binascii.Error, ValueError):
                return None
        else:
            return None
        return Record(item.number, table, key, kind, data, None, element_of)
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return Record(item.number, table, key, kind, None, number, element_of)
