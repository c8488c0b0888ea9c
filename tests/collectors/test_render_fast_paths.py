"""The fast paths of conversation.md rendering give exactly what the plain code gave.

``collectors.markdown``, ``collectors.timestamps`` and ``collectors.jsonl_fast`` were made
several times faster (bench/render_speed.py) by scanning instead of looping over lines,
skipping work that cannot change the result, and memoizing. Each test here compares a fast
function with a straightforward reference (the code it replaced, kept below) on generated
hostile input, so a fast path that changes one byte of output fails.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import jsonl_fast
from collectors import markdown as md
from collectors.claude_code.render import render_session
from collectors.codex.render import render_rollout
from collectors.jsonl import iter_jsonl
from collectors.timestamps import format_time, parse_iso

# ---------------------------------------------------------------------------------------
# References: the plain implementations the fast ones replaced.

_BACKTICK_RUNS = re.compile(r"`+")
_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_TAG_START = re.compile(r"(?<!\\)((?:\\\\)*)<(?=[A-Za-z/!?])")
_DANGEROUS_TAG = re.compile(
    r"(?<!\\)((?:\\\\)*)<(?=/?(?:details|summary|script|pre|style|textarea)\b|!|\?)",
    re.IGNORECASE,
)
_AUTOLINK = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*>")
_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]<>|~&#!])")
_WHITESPACE = re.compile(r"\s+")
_LEADING_BLOCK = re.compile(r"^(\d{0,9})(-|[+.)](?=\s|$)|=+$)")
_CONTROL_MAP = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}
_CONTROL_MAP[0x7F] = 0x2421
_CONTROL_MAP.update(dict.fromkeys(range(128, 160), 65533))
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def ref_sanitize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_RE.sub(lambda m: chr(_CONTROL_MAP[ord(m.group())]), text)


def ref_escape_inline(text: str, limit: int | None = None) -> str:
    flat = _WHITESPACE.sub(" ", str(text)).strip()
    if limit is not None:
        flat = md.truncate(flat, limit)
    escaped = _INLINE_SPECIALS.sub(r"\\\1", flat)
    return _LEADING_BLOCK.sub(r"\1\\\2", escaped, count=1)


def ref_code_span(text: str) -> str:
    flat = _WHITESPACE.sub(" ", str(text))
    longest = max((len(m) for m in _BACKTICK_RUNS.findall(flat)), default=0)
    ticks = "`" * (longest + 1)
    if not flat.strip():
        return f"{ticks} {ticks}" if flat else "` `"
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def ref_fence(text: str, lang: str = "") -> str:
    body = str(text)
    longest = max((len(m) for m in _BACKTICK_RUNS.findall(body)), default=0)
    ticks = "`" * max(3, longest + 1)
    info = re.sub(r"[^A-Za-z0-9_+.\-]", "", lang)[:32]
    if body and not body.endswith("\n"):
        body += "\n"
    return f"{ticks}{info}\n{body}{ticks}"


def ref_text_block(text: str) -> str:
    out: list[str] = []
    paragraph: list[str] = []
    open_char = ""
    open_len = 0

    def flush() -> None:
        if paragraph:
            out.append(ref_escape_tags("\n".join(paragraph)))
            paragraph.clear()

    for line in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if open_char:
            stripped = line.strip()
            indent = len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))
            if indent <= 3 and stripped and set(stripped) == {open_char} and len(
                stripped
            ) >= open_len:
                open_char = ""
            out.append(line)
            continue
        m = _FENCE_OPEN.match(line)
        if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            flush()
            open_char, open_len = m.group(2)[0], len(m.group(2))
            out.append(line)
        elif not line.strip():
            flush()
            out.append(line)
        else:
            paragraph.append(line)
    flush()
    if open_char:
        out.append(open_char * open_len)
    return "\n".join(out).strip("\n")


def ref_escape_tags(paragraph: str) -> str:
    if "<" not in paragraph:
        return paragraph
    pieces: list[str] = []
    pos = 0
    runs = list(_BACKTICK_RUNS.finditer(paragraph))
    i = 0
    while i < len(runs):
        opener = runs[i]
        closer = next(
            (j for j in range(i + 1, len(runs)) if len(runs[j].group()) == len(opener.group())),
            None,
        )
        if closer is None:
            i += 1
            continue
        pieces.append(ref_escape_plain(paragraph[pos : opener.start()]))
        pieces.append(_DANGEROUS_TAG.sub(r"\1\\<", paragraph[opener.start() : runs[closer].end()]))
        pos = runs[closer].end()
        i = closer + 1
    pieces.append(ref_escape_plain(paragraph[pos:]))
    return "".join(pieces)


def ref_escape_plain(segment: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _AUTOLINK.finditer(segment):
        out.append(_TAG_START.sub(r"\1\\<", segment[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(_TAG_START.sub(r"\1\\<", segment[pos:]))
    return "".join(out)


def ref_document(blocks: list[str]) -> str:
    kept = [b.rstrip("\n") for b in blocks if b and b.strip()]
    return ref_sanitize("\n\n".join(kept)) + "\n"


# ---------------------------------------------------------------------------------------
# Generated input: fragments that exercise fences, tags, whitespace, controls, encodings.

_PIECES = [
    *"`~<>/\n #*_[]|&\\!-+.)=\t1a",
    *("```", "````", "~~~", "~~~~", "   ```", "    ```", "\t```", " \t~~~", "\xa0```"),
    *("<details>", "</details>", "<summary>", "<script>", "<!--", "<?x", "<b>", "`<b>`"),
    *("``<pre>``", "<a:b>", "<http://x.y/z>", "\\<i>", "\\\\<i>", "python", "\n\n", "\r\n"),
    *("\r", "\x00", "\x1b", "\x7f", "\x85", "\x9b", "\x0b", "\x0c", "\x1c", "\u2028", "\u3000"),
    *("é", "٣", "😀", "\ud800", "  ", "12.", "==", "- ", "…"),
]
_text = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)
_LINES = [
    *("```", "````", "```python", "```py`x", "~~~", "~~~~ x`", "   ```", "    ```", "\t```"),
    *(" \t```", "  ~~~  ", "```  ", "\xa0```", "``` ```", "", " ", "\t", "\x0b", "``"),
    *("text <b> here", "a `<details>` b", "`` <x> ``", "plain", "x ``` y", "<a:b> <c"),
    *("~~~~~~", "```~~~", "~~~```", "\u3000```", "````````", "<!-- c -->", "`a` <b> `c"),
]
_lines = st.lists(st.sampled_from(_LINES), max_size=30).map("\n".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_text, _lines))
def test_text_block_matches_the_line_by_line_reference(text):
    assert md.text_block(text) == ref_text_block(text)


@settings(max_examples=300, deadline=None)
@given(_text, st.sampled_from([None, 1, 5, 100]), st.sampled_from(["", "py", "a b!", "x" * 40]))
def test_inline_helpers_match_the_references(text, limit, lang):
    assert md.escape_inline(text, limit) == ref_escape_inline(text, limit)
    assert md.code_span(text) == ref_code_span(text)
    assert md.fence(text, lang) == ref_fence(text, lang)
    assert md.sanitize(text) == ref_sanitize(text)
    assert md.note(text) == f"_{ref_escape_inline(text)}_"
    flat = _WHITESPACE.sub(" ", text).strip() or "details"
    assert md.details(text, "body") == (
        f"<details>\n<summary>{html.escape(flat)}</summary>\n\nbody\n\n</details>"
    )


def test_backtick_runs_of_any_length_are_counted():
    for n in (1, 2, 3, 15, 16, 17, 40):
        text = "a" + "`" * n + "b" + "`" * (n // 2)
        assert md.fence(text) == ref_fence(text)
        assert md.code_span(text) == ref_code_span(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(_text, max_size=8))
def test_document_render_matches_the_reference(blocks):
    doc = md.Document()
    for block in blocks:
        doc.add(block)
    assert doc.render() == ref_document(blocks)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.lists(st.sampled_from([*_PIECES, '"', "\\", "\u2029"]), max_size=8).map("".join),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(st.sampled_from("ab\"\\é\x00"), max_size=3), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_pretty_json_matches_json_dumps(value):
    expected = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    assert md.json_text(value) == expected
    assert md.json_text(value, indent=None) == json.dumps(value, ensure_ascii=False, default=repr)


def test_pretty_json_of_deep_or_odd_values_falls_back_like_json_dumps():
    deep: object = "x"
    for _ in range(200):
        deep = {"a": [deep]}
    circular: list = []
    circular.append(circular)
    for value in (deep, (1, [2, (3,)]), {1: "int key"}, {"s": {1, 2}}, circular):
        try:
            expected = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
        except ValueError:
            expected = repr(value)
        assert md.json_text(value) == expected


def _ref_format_time(seconds):
    if seconds is None or seconds != seconds or not 0 <= seconds <= 253402300799.0:
        return "unknown time"
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.floats(min_value=-10, max_value=253402300800.0),
        st.integers(min_value=0, max_value=2**33).map(lambda s: s + 0.9999995),
        st.integers(min_value=0, max_value=2**33).map(lambda s: s + 0.99999949999),
        st.integers(min_value=0, max_value=253402300799),
    )
)
def test_format_time_matches_datetime(seconds):
    assert format_time(seconds) == _ref_format_time(seconds)


def test_parse_iso_memo_gives_the_same_answers():
    values = ["2025-07-19T22:21:00.576Z", "garbage-garbage", "2025-07-19t22:21:00z", "x" * 70]
    first = [parse_iso(v) for v in values]
    assert first[0] == pytest.approx(1752963660.576)
    assert first[1] is None and first[3] is None
    assert [parse_iso(v) for v in values] == first  # answered from the memo


# ---------------------------------------------------------------------------------------
# JSON Lines: parse_jsonl is list(iter_jsonl(...)), bad lines included.

_JSONL_LINES = [
    b'{"a": 1}',
    b'{"type": "user", "x": "\xc3\xa9\\u0000"}',
    b'  {"a": [1, {"b": null}]}  ',
    b'{"a": 1} x',
    b'{"a": [',
    b"1]}",
    b"[]",
    b"3",
    b'"s"',
    b"",
    b" ",
    b"\t",
    b"\x0b",
    b"\xc2\xa0",
    b"\xff",
    b'\xef\xbb\xbf{"bom": 1}',
    b"\xef\xbb\xbf",
    b'{"a": 1}\r',
    b"\r",
    b'{"a":1}{"b":2}',
    b"[" * 3000 + b"]" * 3000,
    b'{"a":' * 300 + b"1" + b"}" * 300,
    b'{"n": NaN, "i": -Infinity}',
    b'{"x": 1e999}',
    b'{"a": "b\\',
    b'\xe2\x80\xa8{"a": 1}',
    b'{"a": 1}\xc2\x85',
    b'{"k": "' + b"x" * 300 + b'"}',
]


def _items(items):
    return [
        (type(i).__name__, i.number, i.size, getattr(i, "reason", None), getattr(i, "value", 0))
        for i in items
    ]


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(st.sampled_from(_JSONL_LINES), max_size=12),
    end=st.sampled_from([b"", b"\n", b"\r\n"]),
    crlf=st.booleans(),
    piece=st.sampled_from([1 << 20, 64, 7, 1]),  # bytes decoded at a time
)
def test_parse_jsonl_matches_iter_jsonl(lines, end, crlf, piece):
    data = (b"\r\n" if crlf else b"\n").join(lines) + end
    saved = jsonl_fast._PIECE
    jsonl_fast._PIECE = piece
    try:
        fast = jsonl_fast.parse_jsonl(data)
    finally:
        jsonl_fast._PIECE = saved
    assert repr(_items(fast)) == repr(_items(iter_jsonl(data)))


# ---------------------------------------------------------------------------------------
# Records with a "type" that is a list or an object used to cost the whole transcript.


def test_claude_record_with_an_odd_type_costs_nothing_else():
    lines = [
        {"type": "user", "uuid": "u1", "parentUuid": None, "sessionId": "s",
         "timestamp": "2025-01-01T00:00:00Z", "message": {"role": "user", "content": "hello"}},
        {"type": ["odd"], "timestamp": "2025-01-01T00:00:01Z"},
        {"type": "assistant", "uuid": "a1", "parentUuid": "u1", "sessionId": "s",
         "message": {"id": "m1", "role": "assistant", "content": [{"type": "text", "text": "hi"}]}},
    ]  # fmt: skip
    data = "\n".join(json.dumps(x) for x in lines).encode()
    out = render_session({"s.jsonl": data}, {"native_id": "s", "title": "T"})
    assert "could not render" not in out
    assert "hello" in out and "hi" in out
    assert "unknown record type '(none)' (line 2)" in out


def test_codex_items_with_odd_types_cost_nothing_else():
    lines = [
        {"type": "session_meta", "payload": {"id": "c1", "cwd": "/w"}},
        {"type": "response_item", "payload": {"type": ["odd"], "call_id": "x"}},
        {"type": "response_item", "payload": {"type": "message", "role": "user",
         "content": [{"type": {"odd": 1}, "text": "skip"}, {"type": "input_text", "text": "ask"}]}},
        {"type": "response_item", "payload": {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "answer"}]}},
    ]  # fmt: skip
    data = "\n".join(json.dumps(x) for x in lines).encode()
    out = render_rollout({"rollout.jsonl": data}, {"native_id": "c1", "title": "T"})
    assert "could not be rendered" not in out
    assert "ask" in out and "answer" in out
    assert "unknown item type '?' (line 2)" in out
