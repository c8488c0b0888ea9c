"""JSON Lines already in memory, parsed faster: what ``list(iter_jsonl(data))`` gives.

:func:`collectors.jsonl.iter_jsonl` reads a stream line by line and parses each line with
``json.loads``; the renderers of ``conversation.md`` hold the whole file anyway and spend a
good part of their time there. :func:`parse_jsonl` decodes about 1 MiB of whole lines at a
time and runs the ``json`` module's scanner on each line in place (no copy of the line, no
``json.loads`` wrapper). A line that does not come out as a JSON object that ends on its
own line — and every line of a piece that is not UTF-8 — goes through
:func:`collectors.jsonl.parse_object`, so bad lines get exactly the same reason, size and
number. ``tests/collectors/test_jsonl_fast.py`` compares the two on hostile input.
"""

from __future__ import annotations

import json

from .jsonl import TORN_LAST_LINE, BadLine, JsonLine, parse_object

__all__ = ["parse_jsonl"]

_PIECE = 1 << 20  # bytes decoded at a time (whole lines; a longer line is one piece)
_BOM = b"\xef\xbb\xbf"
_ASCII_SPACE = " \t\n\r\x0b\x0c"  # what bytes.strip() removes: a line of only these is blank
_json_space = json.decoder.WHITESPACE.match  # what json.loads skips around a value
_scan_once = json.JSONDecoder().scan_once  # what json.loads parses with (default options)


def parse_jsonl(data: bytes) -> list[JsonLine | BadLine]:
    """Every non-blank line of ``data`` as :class:`JsonLine` or :class:`BadLine`, in order:
    the same items as ``list(iter_jsonl(data))`` (numbers, sizes, reasons, a torn last
    line). Never raises on content; memory beyond the result is about one piece."""
    out: list[JsonLine | BadLine] = []
    size = len(data)
    number = 0
    start = 0
    while start < size:
        end = size
        if start + _PIECE < size:
            newline = data.find(b"\n", start + _PIECE)
            if newline >= 0:
                end = newline + 1
        try:
            text = data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            number = _bytes_lines(data, start, end, number, out)
        else:
            number = _text_lines(data, start, end, text, number, out)
        start = end
    if out and isinstance(out[-1], BadLine):  # nothing followed it: torn
        out[-1] = BadLine(out[-1].number, out[-1].size, TORN_LAST_LINE)
    return out


def _slow(number: int, line: bytes) -> JsonLine | BadLine:
    value, reason = parse_object(line)
    if value is None:
        return BadLine(number, len(line), reason or "not JSON")
    return JsonLine(number, value, len(line))


def _bytes_lines(
    data: bytes, start: int, end: int, number: int, out: list[JsonLine | BadLine]
) -> int:
    """``data[start:end]`` line by line, as iter_jsonl does; returns the last line number."""
    lines = data[start:end].split(b"\n")
    if data.endswith(b"\n", start, end):
        lines.pop()  # what follows the last terminator is not a line
    for raw in lines:
        number += 1
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        if line.strip():
            out.append(_slow(number, line))
    return number


def _text_lines(
    data: bytes, start: int, end: int, text: str, number: int, out: list[JsonLine | BadLine]
) -> int:
    """The lines of ``data[start:end]``, decoded as ``text``; returns the last line number.
    A "\\n" is one byte and one character, so each line is found in both."""
    tpos = 0
    bpos = start
    tsize = len(text)
    find, bfind = text.find, data.find
    while tpos < tsize:
        tend = find("\n", tpos)
        if tend < 0:
            tend, bend = tsize, end
        else:
            bend = bfind(b"\n", bpos)
        number += 1
        tstart, bstart = tpos, bpos
        tpos, bpos = tend + 1, bend + 1
        if tend > tstart and text[tend - 1] == "\r":
            tend -= 1
            bend -= 1
        if number == 1 and data.startswith(_BOM, bstart):
            tstart += 1  # the BOM is one character
            bstart += len(_BOM)
        if tend == tstart:
            continue
        first = text[tstart]
        if first in _ASCII_SPACE and not text[tstart:tend].strip(_ASCII_SPACE):
            continue
        try:
            at = tstart if first == "{" else _json_space(text, tstart, tend).end()
            value, stop = _scan_once(text, at)
        except (StopIteration, ValueError, RecursionError):
            value, stop = None, -1
        if (
            type(value) is dict
            and stop <= tend
            and (stop == tend or _json_space(text, stop, tend).end() == tend)
        ):
            out.append(JsonLine(number, value, bend - bstart))
        else:  # not an object on this line alone: the exact reason, the slow way
            out.append(_slow(number, data[bstart:bend]))
    return number
