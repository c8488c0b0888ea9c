"""collectors.scan: block reading (lines cut by block boundaries, long lines skipped), the
last-line torn check, lazy line numbers, and the title fast path they feed."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.jsonl import BadLine
from collectors.scan import (
    Block,
    BlockReader,
    BlockScanner,
    decode_string,
    file_reader,
    line_numbers,
    torn_last_line,
)
from collectors.titles import title_from_text


def short_reads(data: bytes, step: int):
    """A ``readinto`` that hands out at most ``step`` bytes per call (a tiny "block")."""
    stream = io.BytesIO(data)

    def readinto(buf: bytearray) -> int:
        chunk = stream.read(min(step, len(buf)))
        buf[: len(chunk)] = chunk
        return len(chunk)

    return readinto


def lines_of(blocks: list[Block]) -> list[tuple[int, bytes]]:
    """(file offset, line without "\\n") of every line in the blocks, in order."""
    out = []
    for b in blocks:
        region = bytes(b.buf[b.start : b.end])
        pos = 0
        for line in region.split(b"\n")[: -1 if region.endswith(b"\n") else None]:
            out.append((b.base + b.start + pos, line))
            pos += len(line) + 1
    return out


def expected_lines(data: bytes, max_line: int | None) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    for line in parts:
        if max_line is None or len(line) <= max_line:
            out.append((pos, line))
        pos += len(line) + 1
    return out


line_strategy = st.one_of(
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),
    st.integers(0, 200).map(lambda n: b"x" * n),
)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(line_strategy, max_size=25),
    terminated=st.booleans(),
    step=st.integers(1, 64),
    max_line=st.one_of(st.none(), st.integers(0, 120)),
)
def test_block_reader_yields_every_line_once_whatever_the_block_size(
    lines, terminated, step, max_line
):
    data = b"\n".join(lines) + (b"\n" if terminated and lines else b"")
    reader = BlockReader(short_reads(data, step), max_line)
    blocks = []
    for block in reader:
        # a block is valid while it is being looked at: copy what the test needs
        blocks.append(Block(bytes(block.buf), block.start, block.end, block.base))
    got = lines_of(blocks)
    every = expected_lines(data, None)
    # Every line up to max_line is there, in order, at its offset. A longer line may be there
    # too when it fits one read (it is never parsed); one that spans reads is skipped.
    assert [g for g in got if max_line is None or len(g[1]) <= max_line] == expected_lines(
        data, max_line
    )
    assert all(g in every for g in got) and got == sorted(got)
    assert reader.size == len(data)
    if reader.skipped_last:
        assert max_line is not None and len(every[-1][1]) > max_line


class _Collect(BlockScanner):
    """A scanner that records the last lines it was shown (for the torn check)."""

    def __init__(self, max_line: int) -> None:
        super().__init__(max_line)
        self.tail: list[tuple[int, Any]] = []

    def on_block(self, block: Block) -> None:
        pass

    def on_end(self, blocks: list[Block], skipped_last: bool) -> None:
        for block, ls, _le, rec in self.last_lines(blocks, skipped_last):
            self.tail.append((block.base + ls, rec))
            if len(self.tail) == 2:
                return


def _scan(data: bytes, step: int | None, max_line: int = 1 << 20) -> _Collect:
    scanner = _Collect(max_line)
    if step is None:
        scanner.scan(short_reads(data, len(data) + 1), len(data))  # one read: the fast path
    else:
        scanner.scan(short_reads(data, step))
    return scanner


def test_the_last_line_is_checked_and_a_bad_one_is_torn():
    for step in (None, 1, 7, 1000):
        good = _scan(b'{"a": 1}\n{"b": 2}\n\n', step)
        assert good.bad == {} and good.tail[0] == (9, {"b": 2})
        torn = _scan(b'{"a": 1}\nnot json\n{"b": 2}\n{"c": "mo', step)
        assert torn.bad == {27: (9, "torn last line")}  # the middle line was never parsed
        assert torn.tail[:2] == [(27, None), (18, {"b": 2})]
        cut = _scan(b'{"a": 1}\n{"c": "more\n\n  \n', step)  # ends with newlines, still cut
        assert cut.bad == {9: (11, "torn last line")}


def test_an_oversized_last_line_is_not_called_torn():
    data = b'{"a": 1}\n{"big": "' + b"x" * 500 + b'"}\n'
    for step in (None, 16):
        scanner = _scan(data, step, max_line=100)
        assert scanner.bad == {}


def test_line_numbers_count_every_line_including_blank_ones(tmp_path: Path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"a\n\nbb\nccc\n")
    assert line_numbers(file_reader(path), [0, 2, 3, 6]) == {0: 1, 2: 2, 3: 3, 6: 4}


def test_torn_last_line_reads_only_the_end(tmp_path: Path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"a": 1}\n' * 3 + b'{"b": "cut')
    assert torn_last_line(path, 1 << 20) == BadLine(4, 10, "torn last line")
    path.write_bytes(b'{"a": 1}\n' * 3 + b'{"b": "cut\n\n')
    assert torn_last_line(path, 1 << 20) == BadLine(4, 10, "torn last line")
    path.write_bytes(b'{"a": 1}\n{"b": 2}')  # complete, only the final newline is missing
    assert torn_last_line(path, 1 << 20) is None
    long_line = b'{"x": "' + b"y" * 200_000 + b'"}\n'  # longer than the first tail read
    path.write_bytes(b'{"a": 1}\n' + long_line)
    assert torn_last_line(path, 1 << 20) is None
    path.write_bytes(b'{"a": 1}\n' + long_line[:-3] + b"\n")
    assert torn_last_line(path, 1 << 20) == BadLine(2, len(long_line) - 3, "torn last line")
    assert torn_last_line(path, 1000) is None  # too long to be parsed at all
    path.write_bytes(b"\n\n")
    assert torn_last_line(path, 1 << 20) is None


def test_decode_string_reads_json_escapes():
    assert decode_string(b"plain") == "plain"
    assert decode_string(rb"a\"b\u00e9\n") == 'a"b\u00e9\n'
    assert decode_string(b"\xff") is None and decode_string(b"\\x") is None


_WS = re.compile(r"\s+")


def _title_reference(text: str, limit: int) -> str:
    """title_from_text as first written (regex collapse of the whole first line)."""
    for line in text.splitlines():
        flat = _WS.sub(" ", line).strip()
        if not flat:
            continue
        if len(flat) <= limit:
            return flat
        cut = flat[:limit]
        space = cut.rfind(" ")
        return (cut[:space] if space >= limit // 2 else cut).rstrip() + "…"
    return ""


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab é\t\n\r\x0c\u2028\xa0\u3000")), max_size=600),
    pad=st.integers(0, 300),
    limit=st.sampled_from([1, 3, 10, 100]),
)
def test_title_fast_path_equals_collapsing_the_whole_line(text, pad, limit):
    text = " " * pad + text
    assert title_from_text(text, limit) == _title_reference(text, limit)
