"""Pure pieces of the Cursor collector: the raw-record layout, exact JSON element spans,
the cursor-agent blob tree, and message helpers."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from collectors.cursor.agent_store import decode_meta, node_children, walk_messages
from collectors.cursor.jsonspan import iter_elements
from collectors.cursor.messages import choose_title, lexical_text, split_user_query
from collectors.cursor.records import Record, encode_element, encode_row, iter_records
from collectors.jsonl import BadLine

from .cursor_fixtures import tree_node

# -- records ------------------------------------------------------------------------------


def test_rows_round_trip_exactly_whatever_their_type(tmp_path):
    values = [
        ("t", "text", b'{"a": 1,  "b":"\\u00e9 \xc3\xa9"}'),  # kept as written, not re-dumped
        ("b", "blob", b'{"json": "in a blob"}'),
        ("x", "blob", b"\x0a\x20\xff\xfe binary"),
        ("i", "integer", 42),
        ("r", "real", 0.1),
        ("n", "null", None),
    ]
    data = b"".join(encode_row("cursorDiskKV", k, kind, v) for k, kind, v in values)
    records = list(iter_records(data))
    assert all(isinstance(r, Record) for r in records)
    for (key, kind, value), record in zip(values, records):
        assert (record.key, record.sqlite_type, record.table) == (key, kind, "cursorDiskKV")
        if isinstance(value, bytes):
            assert record.data == value
        else:
            assert record.number == value and record.data is None
    assert json.loads(data.splitlines()[2])["base64"]  # not UTF-8: base64, not "value"
    assert records[0].json() == ({"a": 1, "b": "é é"}, None)
    assert records[2].json()[1] == "not text"


def test_restoring_rows_gives_back_the_same_database(tmp_path):
    src = sqlite3.connect(tmp_path / "a.db")
    src.execute("CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    rows = [("composerData:x", '{"name": "n"}'), ("bubbleId:x:1", b'{"type": 1}'),
            ("bubbleId:x:2", b"\x00\xff")]
    src.executemany("INSERT INTO cursorDiskKV VALUES (?, ?)", rows)
    src.commit()
    src.text_factory = bytes
    query = "SELECT key, typeof(value), value FROM cursorDiskKV ORDER BY key"
    data = b"".join(encode_row("cursorDiskKV", k, t, v) for k, t, v in src.execute(query))
    dst = sqlite3.connect(tmp_path / "b.db")
    dst.execute("CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    for r in iter_records(data):
        value = r.data.decode("utf-8") if r.sqlite_type == "text" else r.data
        dst.execute("INSERT INTO cursorDiskKV VALUES (?, ?)", (r.key, value))
    dst.text_factory = bytes
    assert list(src.execute(query)) == list(dst.execute(query))


def test_bad_record_lines_are_reported_not_raised():
    data = (encode_element("ItemTable", "k", "/tabs", '{"tabId": "t"}')
            + b'{"table": "x"}\n' + b"not json\n" + b'{"table":"t","key":"k","type":"text"')
    items = list(iter_records(data))
    assert isinstance(items[0], Record) and items[0].element_of == "/tabs"
    assert [b.reason for b in items[1:]] == ["not a record", "not JSON", "torn last line"]
    assert all(isinstance(b, BadLine) for b in items[1:])


# -- jsonspan -----------------------------------------------------------------------------


def test_elements_are_cut_out_exactly():
    text = ('{ "selected" : "a" , "allComposers" : [ {"composerId": "a", "t": "] , [ \\" }"} ,'
            '\n  {"composerId":"b","n":[1,{"x":[]}]}\t] , "v": 1 }')
    found = list(iter_elements(text, "allComposers"))
    assert [e["composerId"] for e, _ in found] == ["a", "b"]
    for element, exact in found:
        assert exact in text and json.loads(exact) == element
    assert found[0][1] == '{"composerId": "a", "t": "] , [ \\" }"}'


@pytest.mark.parametrize("text, member, expected", [
    ('{"tabs": []}', "tabs", []),
    ('{"tabs": {"a": 1}}', "tabs", []),
    ('{}', "tabs", []),
    ('{"other": [1], "tabs": [2]}', "tabs", [2]),
    ('{"tabs": [1], "tabs": [2]}', "tabs", [1, 2]),
])
def test_element_edge_cases(text, member, expected):
    assert [e for e, _ in iter_elements(text, member)] == expected


@pytest.mark.parametrize("text", ["[]", '{"tabs": [1,', '{"tabs" [1]}', "", '{"tabs": [1] "x": 2}'])
def test_malformed_json_raises_value_error(text):
    with pytest.raises(ValueError):
        list(iter_elements(text, "tabs"))


# -- agent store --------------------------------------------------------------------------


def _id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_tree_nodes_and_depth_first_order():
    m = [json.dumps({"role": "user", "content": f"m{i}"}).encode() for i in range(4)]
    blobs = {_id(d): d for d in m}
    inner = tree_node([_id(m[1]), _id(m[2])])
    blobs[_id(inner)] = inner + b"\x18\x05"  # an unknown varint field is skipped
    root = tree_node([_id(m[0]), _id(inner), _id(m[3]), "ab" * 32])  # last child is missing
    blobs[_id(root)] = root
    messages, reached = walk_messages(blobs, _id(root))
    assert [msg["content"] for _, msg in messages] == ["m0", "m1", "m2", "m3"]
    assert _id(root) in reached and len(reached) == 6
    assert walk_messages(blobs, "nope") == ([], set())
    message = b'{"role":"assistant","x":"e"}'
    with_json = tree_node([_id(m[0])]) + bytes([0x12, len(message)]) + message
    children, found = node_children(with_json)
    assert children == [_id(m[0])] and found == [{"role": "assistant", "x": "e"}]
    assert node_children(b"\x0a\x20short") is None and node_children(b"\x07") is None


def test_a_cycle_in_the_tree_ends():
    a_children = tree_node(["cd" * 32])
    b_children = tree_node([_id(a_children)])
    blobs = {_id(a_children): a_children, "cd" * 32: b_children}
    assert walk_messages(blobs, _id(a_children))[0] == []


def test_meta_is_hex_json_or_plain_json():
    value = {"agentId": "x", "name": "n"}
    assert decode_meta(json.dumps(value).encode().hex().encode()) == value
    assert decode_meta(json.dumps(value)) == value
    assert decode_meta(b"zz") is None and decode_meta(None) is None


# -- messages -----------------------------------------------------------------------------


def test_user_query_and_lexical_text_and_titles():
    assert split_user_query("<user_info>x</user_info>\n<user_query>\n hi \n</user_query>") == (
        "hi", "<user_info>x</user_info>")
    assert split_user_query("plain") == ("plain", "")
    rich = {"root": {"children": [
        {"type": "paragraph", "children": [{"type": "text", "text": "one"},
                                           {"type": "linebreak"}, {"type": "text", "text": "two"}]},
        {"type": "paragraph", "children": [{"type": "text", "text": "three"}]}]}}
    assert lexical_text(json.dumps(rich)) == "one\ntwo\nthree"
    assert lexical_text("not json") == "" and lexical_text(None) == ""
    assert choose_title("  ", "first line\nsecond") == ("first line", "first prompt")
    assert choose_title("Named", "x") == ("Named", "name")
    assert choose_title(None, None) == ("Untitled", "none")
