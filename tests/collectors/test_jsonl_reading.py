"""Tolerant JSONL reading: good lines parsed, bad lines reported by number, size and reason."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.jsonl import (
    BadLine,
    JsonLine,
    iter_jsonl,
    iter_jsonl_stream,
    read_jsonl,
)


def test_good_lines_with_numbers_blank_lines_crlf_and_bom():
    data = b'\xef\xbb\xbf{"a": 1}\r\n\n   \n{"b": "x"}\n'
    items = list(iter_jsonl(data))
    assert items == [JsonLine(1, {"a": 1}, 8), JsonLine(4, {"b": "x"}, 10)]


def test_torn_last_line_with_and_without_newline():
    for tail in (
        b'{"type": "user", "message": {"content": "mo',
        b'{"type": "user", "message": {"content": "mo\n',
    ):
        good, bad = read_jsonl(b'{"a": 1}\n' + tail)
        assert [g.value for g in good] == [{"a": 1}]
        assert bad == [BadLine(2, 43, "torn last line")]
        assert bad[0].warning == "line 2: torn last line" and bad[0].torn


def test_bad_lines_in_the_middle_keep_their_reason_and_the_rest_parses():
    data = b'{"a":1}\nnot json\n[1, 2]\n\xff\xfe{}\n' + b"[" * 100_000 + b'\n{"z":0}\n'
    items = list(iter_jsonl(data))
    assert [(i.number, i.reason) for i in items if isinstance(i, BadLine)] == [
        (2, "not JSON"),
        (3, "not a JSON object"),
        (4, "not UTF-8"),
        (5, "nested too deeply"),
    ]
    assert [i.value for i in items if isinstance(i, JsonLine)] == [{"a": 1}, {"z": 0}]


def test_a_trailing_blank_line_does_not_hide_a_torn_line():
    bad = read_jsonl(b'{"a":1}\n{"b"\n\n\n')[1]
    assert [(b.number, b.reason) for b in bad] == [(2, "torn last line")]


def test_oversized_lines_are_skipped_with_bounded_reads():
    big = b'{"x": "' + b"y" * 5000 + b'"}'
    stream = io.BytesIO(b'{"a":1}\n' + big + b'\n{"b":2}\n')
    items = list(iter_jsonl_stream(stream, max_line_bytes=1000))
    assert items[0] == JsonLine(1, {"a": 1}, 7)
    assert items[1] == BadLine(2, len(big), "longer than 1000 bytes") and items[1].oversized
    assert items[2] == JsonLine(3, {"b": 2}, 7)


def test_bad_line_warning_names_no_content():
    bad = read_jsonl(b"secret prompt text\n{}\n")[1][0]
    assert "secret" not in bad.warning and bad.warning == "line 1: not JSON"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_never_raises_and_accounts_for_every_non_blank_line(data):
    expected = []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, 1):
        line = line[:-1] if line.endswith(b"\r") else line
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if line.strip():
            expected.append(number)
    assert [item.number for item in iter_jsonl(data)] == expected
