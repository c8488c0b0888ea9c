"""A reusable metadata scanner for JSON Lines transcripts, built on :mod:`collectors.scan`.

:meth:`Collector.read` needs a handful of facts from a transcript (a title record, the
first prompt, the first and last timestamps). :class:`RecordScanner` reads the file once in
blocks and parses only:

* the **first records** (at most ``head_records`` within the first ``head_bytes``), handed
  to :meth:`RecordScanner.on_head` until it returns ``True``;
* the lines found by **watches**: a compiled bytes pattern and a handler called with the
  matching line (the handler decides whether to parse it with :meth:`RecordScanner.records`,
  and returns ``True`` once it needs no more matches);
* the **last records**, read backwards from the end, handed to :meth:`RecordScanner.on_tail`
  until it returns ``True`` or ``tail_bytes`` have been examined. The last non-blank line is
  always checked: if it does not parse it is reported as a torn last line.

Lines holding several glued JSON objects (:mod:`collectors.glued`) are recovered: every
object is handed on, and :meth:`RecordScanner.problems` reports the line as glued rather than
bad. Memory is bounded as in :class:`collectors.scan.BlockScanner`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from .glued import split_glued
from .jsonl import TORN_LAST_LINE, BadLine
from .scan import Block, BlockScanner, Reopen, decode_string, line_numbers

__all__ = ["RecordScanner", "Watch", "string_value_pattern"]

HEAD_BYTES = 64 * 1024
HEAD_RECORDS = 8
TAIL_BYTES = 64 * 1024

Handler = Callable[[Block, int, int, "re.Match[bytes]"], bool]
"""``handler(block, line_start, line_end, match) -> done``."""


@lru_cache(maxsize=128)
def string_value_pattern(key: bytes, seen: tuple[bytes, ...] = ()) -> re.Pattern[bytes]:
    """``"<key>": "<value>"`` (any JSON whitespace after the colon) whose raw value is none of
    ``seen``; group 1 is the raw value (JSON string body, escapes kept)."""
    skip = b"(?!(?:%s)\")" % b"|".join(re.escape(v) for v in seen) if seen else b""
    return re.compile(b'"' + re.escape(key) + rb'":\s*"' + skip + rb'((?:[^"\\]|\\.)*)"')


@dataclass
class Watch:
    """A bytes ``pattern`` searched in every block, and the ``handler`` of matching lines."""

    pattern: re.Pattern[bytes]
    handler: Handler
    active: bool = True


class RecordScanner(BlockScanner):
    """Base class of the per-tool metadata scanners (see the module docstring).

    Subclasses register watches with :meth:`watch` and override :meth:`on_head` /
    :meth:`on_tail`. ``reopen`` opens the file again (for line numbers of problems only).
    """

    def __init__(
        self,
        max_line: int,
        reopen: Reopen,
        *,
        head_records: int = HEAD_RECORDS,
        head_bytes: int = HEAD_BYTES,
        tail_bytes: int = TAIL_BYTES,
    ) -> None:
        super().__init__(max_line)
        self._reopen = reopen
        self._watches: list[Watch] = []
        self._head_records = head_records
        self._head_bytes = head_bytes
        self._tail_bytes = tail_bytes
        self._head_done = head_records <= 0
        self._head_seen = 0
        self.glued: dict[int, int] = {}  # file offset of a glued line -> objects on it

    # -- to override ------------------------------------------------------------------------

    def on_head(self, rec: dict[str, Any], offset: int) -> bool:
        """One of the first records (``offset``: its line's file offset); ``True``: enough."""
        return True

    def on_tail(self, rec: dict[str, Any], offset: int) -> bool:
        """One of the last records, newest first; ``True``: enough."""
        return True

    # -- helpers ----------------------------------------------------------------------------

    def watch(self, pattern: re.Pattern[bytes], handler: Handler) -> Watch:
        """Call ``handler`` for each line where ``pattern`` matches, until it returns ``True``."""
        w = Watch(pattern, handler)
        self._watches.append(w)
        return w

    def collect_strings(self, key: bytes, sink: list[str], limit: int) -> Watch:
        """Append to ``sink`` every distinct string value of ``"<key>": "…"`` in the file (at
        any depth, read from the bytes, never parsed), up to ``limit`` values. Once a value is
        known the pattern skips it, so a value repeated on every line costs one Python call."""
        raws: list[bytes] = []

        def handler(block: Block, ls: int, le: int, m: re.Match[bytes]) -> bool:
            for found in watch.pattern.finditer(block.buf, ls, le):
                raw = bytes(found.group(1))
                if raw in raws:
                    continue
                raws.append(raw)
                value = decode_string(raw)
                if value and value not in sink:
                    sink.append(value)
                watch.pattern = string_value_pattern(key, tuple(raws))
            return len(sink) >= limit

        watch = self.watch(string_value_pattern(key), handler)
        return watch

    def records(self, block: Block, ls: int, le: int) -> list[dict[str, Any]]:
        """The JSON object(s) on line ``block.buf[ls:le]``: one, several if glued, or none
        (blank, oversized or bad; a bad line is remembered for :meth:`problems`)."""
        rec = self.record(block, ls, le)
        if rec is not None:
            return [rec]
        offset = block.base + ls
        bad = self.bad.get(offset)
        if offset in self.glued or (bad is not None and bad[1] in ("not JSON", TORN_LAST_LINE)):
            end = le - 1 if le > ls and block.buf[le - 1] == 13 else le
            start = ls + 3 if offset == 0 and block.buf.startswith(b"\xef\xbb\xbf", ls) else ls
            objects = split_glued(memoryview(block.buf)[start:end])
            if objects is not None:
                self.bad.pop(offset, None)
                self.glued[offset] = len(objects)
                return objects
        return []

    def problems(self) -> tuple[list[BadLine], list[tuple[int, int]]]:
        """``(bad lines, [(line number, objects) of glued lines])`` met while scanning; may read
        the file again for line numbers. Call after :meth:`scan`."""
        bad = self.bad_lines(self._reopen)
        glued: list[tuple[int, int]] = []
        if self.glued:
            numbers = line_numbers(self._reopen, list(self.glued))
            glued = [(numbers.get(o, 0), n) for o, n in sorted(self.glued.items())]
        return bad, glued

    # -- driving ----------------------------------------------------------------------------

    def on_block(self, block: Block) -> None:
        if not self._head_done:
            self._head(block)
        buf, end = block.buf, block.end
        for w in self._watches:
            if not w.active:
                continue
            pos = block.start
            while pos < end:
                m = w.pattern.search(buf, pos, end)
                if m is None:
                    break
                ls, le = block.line_at(m.start())
                if w.handler(block, ls, le, m):
                    w.active = False
                    break
                pos = le + 1

    def _head(self, block: Block) -> None:
        buf, ls, end = block.buf, block.start, block.end
        while ls < end:
            if block.base + ls >= self._head_bytes or self._head_seen >= self._head_records:
                self._head_done = True
                return
            le = buf.find(b"\n", ls, end)
            if le < 0:
                le = end
            for rec in self.records(block, ls, le):
                self._head_seen += 1
                if self.on_head(rec, block.base + ls):
                    self._head_done = True
                    return
            ls = le + 1

    def on_end(self, blocks: list[Block], skipped_last: bool) -> None:
        examined = 0
        for block, ls, le, rec in self.last_lines(blocks, skipped_last):
            recs = [rec] if rec is not None else self.records(block, ls, le)
            for one in reversed(recs):
                if self.on_tail(one, block.base + ls):
                    return
            examined += le - ls + 1
            if examined >= self._tail_bytes:
                return
