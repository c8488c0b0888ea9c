"""collectors/jsonstream.py: every element, its exact bytes, at any window size; clear errors."""

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import jsonstream
from collectors.jsonstream import JsonStreamError, cut_off, iter_array, looks_complete

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


def elements_of(doc: bytes, **kw):
    return list(iter_array(io.BytesIO(doc), **kw))


@settings(max_examples=150, deadline=None)
@given(items=st.lists(json_values, max_size=8), window=st.integers(1, 64),
       ascii_only=st.booleans(), indent=st.sampled_from([None, 1, 2]))
def test_every_element_with_its_exact_bytes(items, window, ascii_only, indent):
    parts = [json.dumps(x, ensure_ascii=ascii_only, indent=indent).encode() for x in items]
    doc = b"[\n  " + b" ,\n  ".join(parts) + b"\n]\n"
    got = elements_of(doc, read_bytes=window)
    assert [raw for raw, _ in got] == parts
    assert [v for _, v in got] == [json.loads(p) for p in parts]


@pytest.mark.parametrize("window", [3, 1 << 20])
def test_wrapper_object_streams_the_named_array_only(window):
    doc = b'{"user": {"a": [1, 2]}, "conversations": [{"id": 1}, {"id": 2}], "n": 3}'
    assert elements_of(doc, wrapper_keys=("conversations",), read_bytes=window) == [
        (b'{"id": 1}', {"id": 1}), (b'{"id": 2}', {"id": 2})]
    assert elements_of(doc, read_bytes=window) == []  # an object without the key yields nothing


def test_invalid_utf8_and_bom_are_kept_byte_for_byte():
    doc = b'\xef\xbb\xbf[{"t": "caf\xe9 \xff"}, "\xed\xa0\x80"]'
    (a, va), (b, vb) = elements_of(doc)
    assert a == b'{"t": "caf\xe9 \xff"}' and b == b'"\xed\xa0\x80"'
    assert va["t"].startswith("caf")


@pytest.mark.parametrize("window", [5, 1 << 20])
@pytest.mark.parametrize("doc, truncated, yielded", [
    (b'[{"a": 1}, {"b": "cut', True, 1),
    (b'[{"a": 1}, {"b": tr', True, 1),
    (b'[{"a": 1}, {"b": 12', True, 1),
    (b'[{"a": 1}, ', True, 1),
    (b'[{"a": 1}', True, 1),
    (b'', True, 0),
    (b'[{"a": 1}, {"b": x}]', False, 1),
    (b'[{"a": 1}] trailing', False, 1),
    (b'"just a string"', False, 0),
    (b'[{"a": 1} {"b": 2}]', False, 1),
])
def test_errors_say_where_and_whether_the_file_was_cut(window, doc, truncated, yielded):
    got = []
    with pytest.raises(JsonStreamError) as info:
        for item in iter_array(io.BytesIO(doc), read_bytes=window):
            got.append(item)
    assert len(got) == yielded
    assert info.value.truncated is truncated
    assert 0 <= info.value.offset <= len(doc)
    if truncated and doc:
        assert "half-downloaded" in str(info.value) or "expected" in str(info.value)


@pytest.mark.parametrize("window", [7, 4096, 1 << 20])
def test_a_too_deep_element_is_skipped_and_the_rest_is_read(window):
    deep = b"[" * 100_000 + b'"]\\"[\\\\"' + b"]" * 100_000  # brackets in a string do not count
    obj = b'{"a":' * 50_000 + b'"}{"' + b"}" * 50_000
    assert json.loads(b"[" * 10 + deep[100_000:-100_000] + b"]" * 10) == [[[[[[[[[[']"[\\']]]]]]]]]]
    doc = b'[{"k": 1}, ' + deep + b", " + obj + b', {"k": 2}]'
    got = elements_of(doc, read_bytes=window)
    assert [v for _, v in got] == [{"k": 1}, jsonstream.TOO_DEEP, jsonstream.TOO_DEEP, {"k": 2}]
    assert got[1][0] == deep and got[2][0] == obj


def test_a_too_deep_element_cut_off_is_a_truncated_file():
    with pytest.raises(JsonStreamError) as info:
        elements_of(b"[" + b"[" * 100_000 + b"]" * 10, read_bytes=4096)
    assert info.value.truncated


def test_memory_is_bounded_by_one_element(monkeypatch):
    """A 2,000-element array read through a 4 KiB window never holds much more than one."""
    element = json.dumps({"text": "x" * 3000}).encode()
    doc = b"[" + b",".join([element] * 2000) + b"]"
    longest = 0
    original = jsonstream._Window.more

    def spy(self, at_least=0):
        nonlocal longest
        result = original(self, at_least)
        longest = max(longest, len(self.buf))
        return result

    monkeypatch.setattr(jsonstream._Window, "more", spy)
    got = elements_of(doc, read_bytes=4096)
    assert len(got) == 2000 and all(raw == element for raw, _ in got)
    assert 0 < longest < 4 * len(element) + 8192


def test_looks_complete():
    assert looks_complete(b'  }\n]\n')
    assert looks_complete(b'{"a": 1}\x00\x00')
    assert not looks_complete(b'{"a": "cut')
    assert not looks_complete(b'')


def test_cut_off():
    assert cut_off(b'[{"a": "cu')
    assert cut_off(b'\xef\xbb\xbf \n {"entries": [1, ')
    assert not cut_off(b'[{"a": oops}]')  # ends like a whole document: damaged, not cut off
    assert not cut_off(b"hello")  # not JSON at all
    assert not cut_off(b"")
