"""Getting metadata out of JSON Lines files without parsing every line.

:meth:`Collector.read` needs only a few facts from a transcript (a title record, the first
prompt, the first and last timestamps …), and they sit on a few of its lines. Parsing every
line costs far more than storing the file, so readers scan the raw bytes instead:

* :class:`BlockReader` reads the file in blocks of :data:`BLOCK` bytes. Each
  :class:`Block` holds complete lines only; a line cut by a block boundary is carried into
  the next block. Regular expressions and ``bytes.find`` then run over a whole block at C
  speed, with no Python loop over lines.
* A compiled bytes pattern finds the few candidate lines. Only those lines are
  JSON-parsed (:meth:`BlockScanner.record`) and checked, because a byte match can sit
  inside a nested object.
* The last lines are read backwards from the blocks that stay in memory at the end
  (:meth:`BlockScanner.on_end`).

Memory stays bounded: a few reusable buffers of :data:`BLOCK` bytes and one line of up to
``max_line`` bytes. A longer line is never parsed (and is skipped without being kept when it
spans reads), as :func:`collectors.jsonl.iter_jsonl_stream` does with ``max_line_bytes``.

Bad lines: a scanner parses few lines, so it cannot list every bad line of a file. It
reports the bad lines among those it parsed. It always checks the last non-blank line: if
that line does not parse, it is reported as :data:`~collectors.jsonl.TORN_LAST_LINE`. Line
numbers are computed only when a bad line is reported, by counting ``\\n`` in a second
read of the file.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections import deque
from contextlib import AbstractContextManager
from typing import Any, Callable, Iterable, Iterator

from vault import open_regular

from .jsonl import TORN_LAST_LINE, BadLine, parse_object

__all__ = [
    "BLOCK",
    "Block",
    "BlockReader",
    "BlockScanner",
    "ReadInto",
    "Reopen",
    "decode_string",
    "file_reader",
    "last_offsets",
    "line_numbers",
    "torn_last_line",
]

BLOCK = 1 << 20
_BUFFERS = 3  # read buffers used in turn: the last two reads stay valid after the end
_KEEP = 4  # blocks kept for reading the last lines backwards
_TAIL = 64 * 1024  # what :func:`torn_last_line` reads first
_BOM = b"\xef\xbb\xbf"
_WS = b" \t\r\n\x0b\x0c"

ReadInto = Callable[[bytearray], int]
"""``readinto(buf)``: fill ``buf`` with the next bytes of the file; their number, 0 at its end."""
Reopen = Callable[[], AbstractContextManager[ReadInto]]
"""Opens the same file again from its start (used only on rare paths: line numbers …)."""

# The body of a JSON string after its opening quote, and the closing quote.
STRING_BODY = re.compile(rb'((?:[^"\\]|\\.)*)"', re.S)


class Block:
    """Complete lines ``buf[start:end]`` of a file. ``base`` is the file offset of ``buf[0]``.

    ``buf[end - 1]`` is ``\\n`` except in the last block of a file that does not end with
    one. ``buf`` may be a buffer that :class:`BlockReader` reuses (``chunk`` is then the number
    of the read that filled it), so a block is valid only during the scan. ``cache`` holds
    the lines already parsed (by start index).
    """

    __slots__ = ("buf", "start", "end", "base", "chunk", "cache")

    def __init__(
        self, buf: bytes | bytearray, start: int, end: int, base: int, chunk: int | None = None
    ) -> None:
        self.buf = buf
        self.start = start
        self.end = end
        self.base = base
        self.chunk = chunk
        self.cache: dict[int, dict[str, Any] | None] = {}

    def line_at(self, pos: int) -> tuple[int, int]:
        """``(start, end)`` of the line holding ``buf[pos]``, without its ``\\n``."""
        buf = self.buf
        ls = buf.rfind(b"\n", self.start, pos) + 1 or self.start
        le = buf.find(b"\n", pos, self.end)
        return ls, (le if le >= 0 else self.end)


def _blank(buf: bytes | bytearray, ls: int, le: int) -> bool:
    if le - ls > 64:
        return not buf[ls : ls + 64].strip(_WS) and not buf[ls:le].strip(_WS)
    return not buf[ls:le].strip(_WS)


_POOL = threading.local()


def _fill(readinto: ReadInto, buf: bytearray, n: int) -> int:
    """Read on until ``buf`` is full or the file ends; the number of bytes in ``buf``."""
    with memoryview(buf) as view:
        while n < len(buf):
            more = readinto(view[n:])  # type: ignore[arg-type]
            if not more:
                break
            n += more
    return n


def _acquire() -> bytearray:
    free: list[bytearray] | None = getattr(_POOL, "free", None)
    return free.pop() if free else bytearray(BLOCK)


def _release(buffers: list[bytearray]) -> None:
    free = _POOL.__dict__.setdefault("free", [])
    for buf in buffers:
        if len(free) < 2 * _BUFFERS:
            free.append(buf)


class BlockReader:
    """Iterate a file as :class:`Block` s of complete lines, filled through ``readinto``.

    Reads go into :data:`_BUFFERS` buffers of :data:`BLOCK` bytes, used in turn and reused
    from file to file (per thread). Memory is cheaper that way, and the bytes are still in the
    CPU cache when they are searched. The blocks of the last two reads stay valid after the
    iteration (:meth:`valid_tail`). A line longer than ``max_line`` bytes (without
    terminator) that a read boundary cuts is skipped without being kept, so memory stays
    bounded; one that fits a read may be in a block (:meth:`BlockScanner.record` never parses
    it). Afterwards, ``size`` is the number of bytes read, and ``skipped_last`` says whether
    the file's last line was such a skipped line.
    """

    def __init__(
        self, readinto: ReadInto, max_line: int | None = None, size: int | None = None
    ) -> None:
        self._readinto = readinto
        self._max_line = max_line
        self._expected = size  # from fstat: no extra read is needed to see the end
        self._buffers: list[bytearray] = []
        self.size = 0
        self.chunks = 0
        self.skipped_last = False

    def __iter__(self) -> Iterator[Block]:
        readinto, limit = self._readinto, self._max_line
        expected = self._expected
        buffers = self._buffers
        pos = 0
        parts: list[bytes] = []  # the start of a line cut by a block boundary
        carried = 0
        carried_base = 0
        skipping = False
        # (the buffers go back to the pool in release(), once the blocks are done with)
        while expected is None or pos < expected:
            if len(buffers) <= self.chunks % _BUFFERS:
                buffers.append(_acquire())
            chunk = buffers[self.chunks % _BUFFERS]
            n = readinto(chunk)
            if 0 < n < BLOCK and (expected is None or pos + n < expected):
                n = _fill(readinto, chunk, n)  # short reads (zstd): fill the buffer
            if not n:
                break
            number = self.chunks
            self.chunks += 1
            base = pos
            pos += n
            start = 0
            if skipping or parts:
                nl = chunk.find(b"\n", 0, n)
                if nl < 0:
                    if not skipping:
                        parts.append(bytes(memoryview(chunk)[:n]))
                        carried += n
                        if limit is not None and carried > limit:
                            parts, carried, skipping = [], 0, True
                    continue
                if skipping:
                    skipping = False
                    self.skipped_last = True
                else:
                    parts.append(bytes(memoryview(chunk)[: nl + 1]))
                    line = b"".join(parts)
                    parts, carried = [], 0
                    if limit is None or len(line) - 1 <= limit:
                        self.skipped_last = False
                        yield Block(line, 0, len(line), carried_base)
                    else:
                        self.skipped_last = True
                start = nl + 1
            last = chunk.rfind(b"\n", start, n)
            if last >= 0:
                self.skipped_last = False
                yield Block(chunk, start, last + 1, base, number)
                start = last + 1
            if start < n:
                carried = n - start
                carried_base = base + start
                if limit is not None and carried > limit:
                    parts, carried, skipping = [], 0, True
                else:
                    parts = [bytes(memoryview(chunk)[start:n])]
        self.size = pos
        if parts:
            line = b"".join(parts)
            self.skipped_last = False
            yield Block(line, 0, len(line), carried_base)
        elif skipping:
            self.skipped_last = True

    def release(self) -> None:
        """Give the read buffers back for reuse; the blocks are invalid afterwards."""
        _release(self._buffers)
        self._buffers = []

    def valid_tail(self, blocks: Iterable[Block]) -> list[Block]:
        """The longest run at the end of ``blocks`` (in file order) that is still valid.

        Every read but the last fills a whole buffer, so these cover at least the last
        :data:`BLOCK` bytes of the file."""
        kept: list[Block] = []
        for block in reversed(list(blocks)):
            if block.chunk is not None and block.chunk < self.chunks - (_BUFFERS - 1):
                break
            kept.append(block)
        kept.reverse()
        return kept


class BlockScanner:
    """Base class of the metadata scanners: drives a :class:`BlockReader` and parses lines.

    Subclasses implement :meth:`on_block` (called for each block in file order) and
    :meth:`on_end` (called once with the last blocks, for reading lines backwards). Lines
    longer than ``max_line`` are never parsed. :attr:`bad` maps the file offset of each bad
    line met to ``(size, reason)``.
    """

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.size = 0
        self.bad: dict[int, tuple[int, str]] = {}

    # -- driving ----------------------------------------------------------------------------

    def scan(self, readinto: ReadInto, size: int | None = None) -> None:
        """Read the whole file through ``readinto``; I/O errors propagate. ``size`` (from
        ``fstat``) lets the reading stop there without one more read to see the end."""
        if size is not None and size <= BLOCK:
            self._scan_small(readinto, size)
            return
        reader = BlockReader(readinto, self.max_line, size)
        try:
            recent: deque[Block] = deque(maxlen=_KEEP)
            for block in reader:
                self.on_block(block)
                recent.append(block)
            self.size = reader.size
            self.on_end(reader.valid_tail(recent), reader.skipped_last)
        finally:
            reader.release()

    def _scan_small(self, readinto: ReadInto, size: int) -> None:
        # Most transcripts fit one buffer: one read, one block, none of the carrying.
        buf = _acquire()
        try:
            with memoryview(buf) as view:
                n = readinto(view[:size]) if size else 0
            self.size = n
            if n:
                block = Block(buf, 0, n, 0, 0)
                self.on_block(block)
                self.on_end([block], False)
            else:
                self.on_end([], False)
        finally:
            _release([buf])

    def on_block(self, block: Block) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def on_end(self, blocks: list[Block], skipped_last: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------------------

    def record(self, block: Block, ls: int, le: int) -> dict[str, Any] | None:
        """The JSON object on line ``buf[ls:le]``; ``None`` for a blank, oversized or bad
        line (a bad line is added to :attr:`bad`). Parses each line at most once."""
        cache = block.cache
        if ls in cache:
            return cache[ls]
        value: dict[str, Any] | None = None
        buf = block.buf
        if le > ls and buf[le - 1] == 13:  # CRLF
            le -= 1
        if block.base + ls == 0 and buf.startswith(_BOM, ls, le):
            ls_ = ls + len(_BOM)
        else:
            ls_ = ls
        if ls_ < le and le - ls_ <= self.max_line and (buf[ls_] == 123 or not _blank(buf, ls_, le)):
            value, reason = parse_object(buf[ls_:le])  # ("{" at the start: not blank)
            if reason is not None:
                self.bad[block.base + ls] = (le - ls_, reason)
        cache[ls] = value
        return value

    def last_lines(
        self, blocks: list[Block], skipped_last: bool
    ) -> Iterator[tuple[Block, int, int, dict[str, Any] | None]]:
        """Non-blank lines from the end, each with its record (``None`` if it does not
        parse). The last one is checked first: if it is bad, it is marked torn."""
        first = not skipped_last
        for block in reversed(blocks):
            buf, start, e = block.buf, block.start, block.end
            if e > start and buf[e - 1] == 10:
                e -= 1
            while e >= start:
                i = buf.rfind(b"\n", start, e)
                ls = i + 1 if i >= 0 else start
                if not _blank(buf, ls, e):
                    rec = self.record(block, ls, e)
                    if first:
                        first = False
                        offset = block.base + ls
                        if rec is None and offset in self.bad:
                            self.bad[offset] = (self.bad[offset][0], TORN_LAST_LINE)
                    yield block, ls, e, rec
                if i < 0:
                    break
                e = i

    def bad_lines(self, reopen: Reopen) -> list[BadLine]:
        """:attr:`bad` as :class:`BadLine` s in file order (numbers need a second read)."""
        if not self.bad:
            return []
        numbers = line_numbers(reopen, list(self.bad))
        return [
            BadLine(numbers.get(offset, 0), size, reason)
            for offset, (size, reason) in sorted(self.bad.items())
        ]


def line_numbers(reopen: Reopen, offsets: list[int]) -> dict[int, int]:
    """The 1-based line number of each file offset (a line's first byte)."""
    targets = sorted(set(offsets))
    found: dict[int, int] = {}
    seen = 0  # newlines before ``pos``
    pos = 0
    index = 0
    buf = bytearray(BLOCK)
    with reopen() as readinto:
        while index < len(targets):
            n = readinto(buf)
            if not n:
                break
            end = pos + n
            while index < len(targets) and targets[index] < end:
                found[targets[index]] = seen + buf.count(b"\n", 0, targets[index] - pos) + 1
                index += 1
            seen += buf.count(b"\n", 0, n)
            pos = end
    return found


def last_offsets(reopen: Reopen, pattern: re.Pattern[bytes]) -> dict[bytes, int]:
    """For each distinct ``group(1)`` of ``pattern`` in the file, the offset of its last
    match. One streaming pass (used for rare look-ups such as uuids)."""
    found: dict[bytes, int] = {}
    with reopen() as readinto:
        reader = BlockReader(readinto)
        try:
            for block in reader:
                for m in pattern.finditer(block.buf, block.start, block.end):
                    found[m.group(1)] = block.base + m.start()
        finally:
            reader.release()
    return found


def decode_string(raw: bytes) -> str | None:
    """The text of a JSON string body as it appears in the file (``raw`` without quotes)."""
    if b"\\" not in raw:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    value, _ = parse_object(b'{"v":"' + raw + b'"}')
    text = value.get("v") if value is not None else None
    return text if isinstance(text, str) else None


class _Reopened:
    def __init__(self, path: os.PathLike[str] | str) -> None:
        self._path = path
        self._stream: Any = None

    def __enter__(self) -> ReadInto:
        self._stream = open_regular(self._path)  # noqa: SIM115
        return self._stream.readinto  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        self._stream.close()


def file_reader(path: os.PathLike[str] | str) -> Reopen:
    """A :data:`Reopen` for a plain file."""
    return functools.partial(_Reopened, path)


def torn_last_line(path: "os.PathLike[str] | str", max_line: int) -> BadLine | None:
    """The torn-last-line check alone: reads only the end of the file (more if its last
    line is long, up to ``max_line`` bytes). ``None`` if the last non-blank line parses, is
    longer than ``max_line`` or the file is blank."""
    with open_regular(path) as stream:
        size = os.fstat(stream.fileno()).st_size
        window = min(size, _TAIL)
        while True:
            stream.seek(size - window)
            data = stream.read(window)
            end = len(data.rstrip(_WS))
            nl = data.rfind(b"\n", 0, end) if end else -1
            if (end and nl >= 0) or window >= size:
                break
            if window > max_line + 1:
                return None
            window = min(size, window * 4)
    if not end:
        return None
    ls = nl + 1
    le = data.find(b"\n", end)
    line = data[ls : le if le >= 0 else len(data)]
    if line.endswith(b"\r"):
        line = line[:-1]
    offset = size - window + ls
    if offset == 0 and line.startswith(_BOM):
        line = line[len(_BOM) :]
    if len(line) > max_line or parse_object(line)[1] is None:
        return None
    number = line_numbers(file_reader(path), [offset]).get(offset, 0)
    return BadLine(number, len(line), TORN_LAST_LINE)
