"""JSON Lines whose writer lost a newline: several JSON objects glued on one line.

A tool that appends records with ``fs.appendFileSync(line + "\\n")`` from two processes, or
that was killed between writing a record and its newline, can leave lines such as
``{"a":1}{"b":2}``. :mod:`collectors.jsonl` reports such a line as ``not JSON``; the readers
here recover every object from it instead (each one a :class:`~collectors.jsonl.JsonLine`
with the line's number), and report the line through :func:`glued_warning`.

Recovery is all-or-nothing: the line must be two or more JSON objects separated only by
JSON whitespace. Anything else stays a :class:`~collectors.jsonl.BadLine`. Seen in the
wild in Qwen Code transcripts (fixture ``qwen/agent-sessions/019f…0005.jsonl``).
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from .jsonl import TORN_LAST_LINE, BadLine, JsonLine, iter_jsonl

__all__ = ["GLUED", "glued_warning", "iter_jsonl_glued", "split_glued"]

GLUED = "JSON objects glued on one line"
_DECODER = json.JSONDecoder()
_WS = " \t\r\n"


def split_glued(line: bytes | bytearray | memoryview) -> list[dict[str, Any]] | None:
    """The objects of a line holding two or more glued JSON objects, else ``None``.

    ``line`` is one line without its terminator. Never raises.
    """
    try:
        text = bytes(line).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.count("}") < 2:
        return None
    objects: list[dict[str, Any]] = []
    pos = 0
    end = len(text)
    try:
        while True:
            while pos < end and text[pos] in _WS:
                pos += 1
            if pos >= end:
                break
            value, pos = _DECODER.raw_decode(text, pos)
            if not isinstance(value, dict):
                return None
            objects.append(value)
    except (ValueError, RecursionError):
        return None
    return objects if len(objects) >= 2 else None


def glued_warning(number: int, count: int) -> str:
    """The snapshot warning for a recovered line: ``line 7: 2 JSON objects glued on one line
    (all kept)``."""
    return f"line {number}: {count} {GLUED} (all kept)"


def iter_jsonl_glued(
    data: bytes, *, glued: list[tuple[int, int]] | None = None
) -> Iterator[JsonLine | BadLine]:
    """Like :func:`collectors.jsonl.iter_jsonl`, but a bad line made of glued objects gives
    one :class:`JsonLine` per object (same ``number``; ``size`` is the whole line's).

    When ``glued`` is given, ``(line number, object count)`` of each recovered line is
    appended to it. A last line that splits into complete objects is recovered too (it was
    not torn); one that does not stays a torn last line.
    """
    lines: list[bytes] | None = None
    for item in iter_jsonl(data):
        if isinstance(item, BadLine) and item.reason in ("not JSON", TORN_LAST_LINE):
            if lines is None:
                lines = data.split(b"\n")
            raw = lines[item.number - 1] if 0 < item.number <= len(lines) else b""
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if item.number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            objects = split_glued(raw)
            if objects is not None:
                if glued is not None:
                    glued.append((item.number, len(objects)))
                for obj in objects:
                    yield JsonLine(item.number, obj, item.size)
                continue
        yield item
