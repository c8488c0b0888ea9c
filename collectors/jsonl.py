"""Tolerant JSON Lines reading: parsed records plus the lines that did not parse.

Most local AI tools append one JSON object per line while they run, so a reader regularly
meets a torn last line, and now and then a corrupt one in the middle. Nothing here raises on
bad content: each line comes back either as a :class:`JsonLine` (a parsed JSON object) or
as a :class:`BadLine` (number, size and a short reason, never the line's text), in file order.

Line numbers are 1-based and count every ``\\n``-terminated line, blank ones included, so
they match ``sed -n Np`` / an editor. Sizes are in bytes, without the line terminator.
A trailing ``\\r`` is dropped (CRLF files), a UTF-8 BOM at the start of line 1 is ignored.

Reasons (stable strings, usable in warnings):

``torn last line``
    the last non-blank line does not parse (the writer is mid-append, or was cut off).
``not JSON``, ``not UTF-8``, ``nested too deeply``
    the line does not decode/parse.
``not a JSON object``
    valid JSON, but not an object (``[]``, ``3``, ``"x"`` …).
``longer than N bytes``
    only with ``max_line_bytes``: the line was skipped unread to bound memory.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator

__all__ = [
    "TORN_LAST_LINE",
    "BadLine",
    "JsonLine",
    "iter_jsonl",
    "iter_jsonl_stream",
    "parse_object",
    "read_jsonl",
]

TORN_LAST_LINE = "torn last line"
_NOT_JSON = "not JSON"
_NOT_UTF8 = "not UTF-8"
_TOO_DEEP = "nested too deeply"
_NOT_OBJECT = "not a JSON object"
_BOM = b"\xef\xbb\xbf"
_SKIP_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class JsonLine:
    """One line that parsed as a JSON object: ``number`` (1-based), ``value``, ``size`` (bytes)."""

    number: int
    value: dict[str, Any]
    size: int


@dataclass(frozen=True, slots=True)
class BadLine:
    """One line that did not give a JSON object: ``number`` (1-based), ``size`` (bytes, without
    the terminator) and ``reason`` (see the module docstring). Carries no content."""

    number: int
    size: int
    reason: str

    @property
    def warning(self) -> str:
        """The snapshot warning for this line, e.g. ``"line 57: torn last line"``."""
        return f"line {self.number}: {self.reason}"

    @property
    def oversized(self) -> bool:
        """True when the line was skipped for its length (``max_line_bytes``), not malformed."""
        return self.reason.startswith("longer than ")

    @property
    def torn(self) -> bool:
        """True for a last line that did not parse (normal while the tool is writing)."""
        return self.reason == TORN_LAST_LINE


def iter_jsonl_stream(
    stream: BinaryIO, *, max_line_bytes: int | None = None
) -> Iterator[JsonLine | BadLine]:
    """Yield each non-blank line of a binary ``stream`` as :class:`JsonLine` or :class:`BadLine`.

    Reads line by line; with ``max_line_bytes`` set, memory stays bounded by that many bytes
    (a longer line is skipped in 1 MiB steps and reported as a :class:`BadLine`). I/O errors
    from ``stream`` propagate unchanged (``OSError``); content never raises.
    """
    pending: BadLine | None = None  # a bad line is "torn" if nothing follows it
    for item in _iter_lines(stream, max_line_bytes):
        if pending is not None:
            yield pending
            pending = None
        if isinstance(item, BadLine) and not item.oversized:
            pending = item
        else:
            yield item
    if pending is not None:
        yield BadLine(pending.number, pending.size, TORN_LAST_LINE)


def _iter_lines(stream: BinaryIO, max_line_bytes: int | None) -> Iterator[JsonLine | BadLine]:
    number = 0
    limit = -1 if max_line_bytes is None else max_line_bytes + 1
    while True:
        raw = stream.readline(limit)
        if not raw:
            return
        number += 1
        if max_line_bytes is not None and len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            size = len(raw)
            terminated = False
            while True:
                more = stream.readline(_SKIP_CHUNK)
                if not more:
                    break
                size += len(more)
                if more.endswith(b"\n"):
                    terminated = True
                    size -= 1
                    break
            yield BadLine(number, size, f"longer than {max_line_bytes} bytes")
            if not terminated:
                return
            continue
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if line.endswith(b"\r"):
            line = line[:-1]
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        if not line.strip():
            continue
        yield _parse(number, line)


def iter_jsonl(data: bytes, *, max_line_bytes: int | None = None) -> Iterator[JsonLine | BadLine]:
    """Like :func:`iter_jsonl_stream`, over ``data`` already in memory."""
    return iter_jsonl_stream(io.BytesIO(data), max_line_bytes=max_line_bytes)


def read_jsonl(data: bytes) -> tuple[list[JsonLine], list[BadLine]]:
    """Split ``data`` into (parsed lines, bad lines), both in file order."""
    good: list[JsonLine] = []
    bad: list[BadLine] = []
    for item in iter_jsonl(data):
        (good if isinstance(item, JsonLine) else bad).append(item)
    return good, bad


def parse_object(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """``(object, None)`` if ``line`` (one line, without terminator) is a UTF-8 JSON object,
    else ``(None, reason)`` with one of the reasons in the module docstring."""
    try:
        value = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return None, _NOT_UTF8
    except RecursionError:
        return None, _TOO_DEEP
    except ValueError:  # json.JSONDecodeError is a ValueError
        return None, _NOT_JSON
    if not isinstance(value, dict):
        return None, _NOT_OBJECT
    return value, None


def _parse(number: int, line: bytes) -> JsonLine | BadLine:
    value, reason = parse_object(line)
    if value is None:
        return BadLine(number, len(line), reason or _NOT_JSON)
    return JsonLine(number, value, len(line))


def nonempty_str(value: Any) -> str | None:
    """``value`` if it is a non-empty ``str`` (a field read from a parsed JSON record), else
    ``None``."""
    return value if isinstance(value, str) and value else None
