"""DeepSeekImporter on the shared fixtures and on exports built here from the documented shapes."""

from __future__ import annotations

import json
import zipfile
from functools import partial
from pathlib import Path

import pytest

from collectors.deepseek import DeepSeekImporter
from collectors.export_source import open_export
from collectors.importing import CONVERSATION_FILE, Importer, Skipped
from tests.conftest import need_fixtures

from .import_helpers import (assert_claims_none, assert_cut_off_is_an_error, files_of,
                             fixture_files, read_items, read_until_error, render_snapshot, snaps)

imp = DeepSeekImporter()

RAW_NAME = "DeepSeek - test_chat_raw_2025-11-22T15-53-07.json"


read_all = partial(read_items, imp)
render = partial(render_snapshot, imp, attributes=True)


def node(parent, children, fragments, *, model="deepseek-chat", at="2026-07-01T10:00:00+08:00",
         files=()):
    return {"id": None, "parent": parent, "children": list(children),
            "message": {"files": list(files), "model": model, "inserted_at": at,
                        "fragments": fragments}}


def conversation(cid, title, mapping, *, inserted="2026-07-01T10:00:00+08:00",
                 updated="2026-07-01T11:00:00+08:00"):
    for key, value in mapping.items():
        if isinstance(value, dict):
            value["id"] = key
    return {"id": cid, "title": title, "inserted_at": inserted, "updated_at": updated,
            "mapping": mapping}


def branched(cid="conv-branched", title="Branchy"):
    """root → 1 (prompt) → {2 (old answer), 3 (newer regenerated answer) → 4 (follow-up)}."""
    return conversation(cid, title, {
        "root": {"parent": None, "children": ["1"], "message": None},
        "1": node("root", ["2", "3"], [{"type": "REQUEST", "content": "First prompt"}],
                  at="2026-07-01T10:00:01+08:00"),
        "2": node("1", [], [{"type": "THINK", "content": "old thinking"},
                            {"type": "RESPONSE", "content": "Old answer"}],
                  model="deepseek-reasoner", at="2026-07-01T10:00:05+08:00"),
        "3": node("1", ["4"], [{"type": "RESPONSE", "content": "New answer"}],
                  at="2026-07-01T10:10:00+08:00"),
        "4": node("3", [], [{"type": "REQUEST", "content": "Follow-up question"}],
                  at="2026-07-01T10:20:00+08:00"),
    })


def simple(cid="conv-simple", title=""):
    return conversation(cid, title, {
        "root": {"parent": None, "children": ["1"], "message": None},
        "1": node("root", ["2"], [{"type": "REQUEST", "content": "How do tides work?\nDetails."}]),
        "2": node("1", [], [{"type": "RESPONSE", "content": "The moon."}]),
    })


def export_bytes(entries) -> bytes:
    # Irregular spacing on purpose: the stored bytes must be the source's, not re-serialized.
    return ("[\n  " + ",\n  ".join(json.dumps(e, ensure_ascii=False, indent=1) for e in entries)
            + "\n]\n").encode()


USER = {"email": "someone@example.org", "mobile": {"mobile_number": "13800000000"}, "id": "u-1"}


def build_zip(tmp_path: Path, entries, *, user=USER, prefix="") -> Path:
    path = tmp_path / "deepseek_data.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(prefix + "conversations.json", export_bytes(entries))
        if user is not None:
            zf.writestr(prefix + "user.json", json.dumps(user))
    return path


def build_folder(tmp_path: Path, entries, *, user=USER) -> Path:
    folder = tmp_path / "deepseek_data"
    folder.mkdir()
    (folder / "conversations.json").write_bytes(export_bytes(entries))
    if user is not None:
        (folder / "user.json").write_text(json.dumps(user))
    return folder


def assert_exact_slice(snap, source: bytes, expected=None):
    data = files_of(snap)[CONVERSATION_FILE]
    assert data in source
    if expected is not None:
        assert json.loads(data) == expected


# -- the shared fixtures ------------------------------------------------------------------


def test_is_an_importer():
    assert isinstance(imp, Importer)
    assert (imp.name, imp.provider) == ("deepseek", "deepseek")


def test_synthetic_official_export():
    path = need_fixtures() / "deepseek/synthetic/conversations.json"
    with open_export(path) as export:
        assert imp.detect(export)
        assert not imp.is_full(export)  # a lone conversations.json: not the whole zip
        assert imp.account(export) is None
        items = list(imp.read(export))
    [snap] = items
    assert snap.provider == "deepseek"
    assert snap.native_id == "801e9692-c784-4402-bac6-000000000001"
    assert snap.title == "Regex for ISO dates"
    assert snap.created_at == 1782871200.0  # 2026-07-01T10:00:00+08:00
    assert snap.updated_at == 1782871530.0
    assert snap.org == "" and snap.source_path == str(path)
    assert snap.attributes["models"] == ["deepseek-chat", "deepseek-reasoner"]
    assert snap.attributes["current_node"] == "3"  # the newest leaf
    assert snap.attributes["branches"] == 2
    assert [f.name for f in snap.files] == [CONVERSATION_FILE]
    source = path.read_bytes()
    assert_exact_slice(snap, source, json.loads(source)[0])

    text = render(snap)
    # current thread (newest leaf: the regenerated answer) first, the older answer after it
    assert (text.index("Write a regex") < text.index("Regenerated answer")
            < text.index("## Branch 2"))
    assert "## Branch 1 (current)" in text
    assert "## Branch 2 (continues after message 1)" in text
    assert text.index("## Branch 2") < text.index("The user wants YYYY-MM-DD")
    assert "<summary>Thinking</summary>" in text
    assert "<summary>Search results (1)</summary>" in text
    assert "`https://example.org/iso8601`" in text
    assert "dates.txt" in text and "512 bytes" in text
    assert text.count("Write a regex") == 1


def test_hand_built_sample_with_create_time_and_current_node():
    path = need_fixtures() / "deepseek/deepseek-chat-export/sample_conversation.json"
    with open_export(path) as export:
        assert imp.detect(export)
        [snap] = list(imp.read(export))
    assert snap.native_id == "sample_123"  # conversation_id: the sample has no id
    assert snap.title == "Пример обсуждения философии и кода"
    assert snap.created_at == 1735630200.0  # 2024-12-31T10:30:00+03:00 (create_time)
    assert snap.updated_at == 1735632900.0
    assert files_of(snap)[CONVERSATION_FILE] == path.read_bytes()  # the whole file
    assert snap.attributes["current_node"] == "5"
    text = render(snap)
    assert "## Branch 1 (current)" in text
    assert (text.index("Напиши функцию") < text.index("## Branch 2")
            < text.index("Объясни концепцию"))
    assert "## Branch 2 (starts over from the beginning)" in text


def test_web_api_history_saved_by_exporter():
    path = need_fixtures() / "deepseek/deepseek-exporter" / RAW_NAME
    with open_export(path) as export:
        assert imp.detect(export)
        assert not imp.is_full(export)
        [snap] = list(imp.read(export))
    assert snap.native_id == "e7196cf3-12be-4096-99c1-1c8c983f71d6"
    assert snap.title == "test_chat"
    assert snap.created_at == pytest.approx(1763826110.639)
    assert snap.updated_at == pytest.approx(1763826766.576)
    assert files_of(snap)[CONVERSATION_FILE] == path.read_bytes()
    assert snap.attributes["format"] == "web-api"
    assert snap.attributes["current_node"] == "11"  # current_message_id
    assert snap.attributes["messages"] == 11
    assert snap.attributes["branches"] == 6
    text = render(snap)
    doc = json.loads(path.read_bytes())
    messages = {m["message_id"]: m for m in doc["data"]["biz_data"]["chat_messages"]}
    first_current = messages[10]["fragments"][0]["content"][:60]
    first_old = messages[1]["fragments"][0]["content"][:60]
    assert text.index(first_current) < text.index("## Branch 2") < text.index(first_old)
    assert sum(1 for line in text.splitlines() if line.startswith("### ")) == 11  # each once
    assert "<summary>Thinking (9 s)</summary>" in text


# -- exports built here ---------------------------------------------------------------------


def test_zip_export_with_branches_bad_entries_and_account(tmp_path):
    entries = [branched(), {"id": "no-mapping", "title": "x"}, 42, simple(),
               {"title": "no id", "mapping": {}}]
    path = build_zip(tmp_path, entries)
    with open_export(path) as export:
        assert imp.detect(export)
        assert imp.is_full(export)
        assert imp.account(export) == "someone@example.org"
        items = list(imp.read(export))
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [(s.where, s.reason) for s in skipped] == [
        ("conversations.json entry 2", "no mapping"),
        ("conversations.json entry 3", "not a JSON object"),
        ("conversations.json entry 5", "no conversation id"),
    ]
    got = snaps(items)
    assert [s.native_id for s in got] == ["conv-branched", "conv-simple"]
    source = export_bytes(entries)
    assert_exact_slice(got[0], source, entries[0])
    assert_exact_slice(got[1], source, entries[3])
    assert got[0].source_path == f"{path}!conversations.json"
    assert got[1].title == "How do tides work?"  # no title: the first prompt
    assert got[0].attributes["current_node"] == "4"
    text = render(got[0])
    assert text.index("New answer") < text.index("Follow-up question") < text.index("Old answer")
    assert "## Branch 2 (continues after message 1)" in text
    # a second read gives the same ids and bytes
    again = snaps(read_all(path))
    assert [(s.native_id, files_of(s)) for s in again] == [(s.native_id, files_of(s)) for s in got]


def test_folder_export_and_nested_zip(tmp_path):
    folder = build_folder(tmp_path, [simple()])
    with open_export(folder) as export:
        assert imp.detect(export) and imp.is_full(export)
        assert imp.account(export) == "someone@example.org"
        [snap] = list(imp.read(export))
    assert snap.source_path == str(folder / "conversations.json")
    nested = build_zip(tmp_path, [simple()], prefix="deepseek_data-2026-07-01/")
    with open_export(nested) as export:
        assert imp.detect(export) and imp.is_full(export)
        assert [s.native_id for s in imp.read(export)] == ["conv-simple"]


@pytest.mark.parametrize("user, expected", [
    ({"email": "", "mobile": {"mobile_number": "13800000000", "area_code": "86"}},
     "+8613800000000"),
    ({"user": {"id": "user-77"}}, "user-77"),
    ({"mobile_number": 13800000001}, "13800000001"),
    ({"something": "else"}, None),
    ([1, 2], None),
    (None, None),
])
def test_account_from_user_json(tmp_path, user, expected):
    path = build_zip(tmp_path, [simple()], user=user)
    with open_export(path) as export:
        assert imp.account(export) == expected


def test_broken_user_json_gives_no_account(tmp_path):
    path = tmp_path / "e.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("conversations.json", export_bytes([simple()]))
        zf.writestr("user.json", "{not json")
    with open_export(path) as export:
        assert imp.account(export) is None


def test_truncated_export_is_an_error(tmp_path):
    assert_cut_off_is_an_error(imp, tmp_path / "conversations.json",
                               export_bytes([branched(), simple()]))


def test_invalid_json_mid_stream_is_an_error_after_the_good_entries(tmp_path):
    good = export_bytes([simple()])
    broken = tmp_path / "conversations.json"
    broken.write_bytes(good.rstrip()[:-1] + b",\n  {\"id\": oops}\n]")
    got, error = read_until_error(imp, broken)
    assert [s.native_id for s in got] == ["conv-simple"]
    assert "not a readable DeepSeek export" in error.reason


def test_folder_of_saved_chats_skips_other_json(tmp_path):
    raw = need_fixtures() / "deepseek/deepseek-exporter" / RAW_NAME
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "a_raw.json").write_bytes(raw.read_bytes())
    (folder / "b_other.json").write_text('{"hello": "world"}')
    (folder / "c_single.json").write_text(json.dumps(simple("single-1"), indent=2))
    with open_export(folder) as export:
        assert imp.detect(export) and not imp.is_full(export)
        items = list(imp.read(export))
    assert [getattr(i, "native_id", None) for i in items] == [
        "e7196cf3-12be-4096-99c1-1c8c983f71d6", None, "single-1"]
    assert items[1] == Skipped("b_other.json", "not a DeepSeek chat file")


def test_cycles_and_hostile_nodes_show_every_message_once(tmp_path):
    conv = conversation("hostile", "</details><script>x</script>", {
        "a": node("b", ["b"], [{"type": "REQUEST", "content": "in a cycle </details>"}]),
        "b": node("a", "not-a-list", [{"type": "RESPONSE", "content": "```\nunclosed fence"}]),
        "c": node("nowhere", [], "fragments are not a list"),
        "d": "not a node",
        "e": node(None, [], [{"type": "SEARCH", "results": "nope"}, {"type": "TOOL_OPEN", "x": [1]},
                             {"type": ["weird"]}, {"type": "THINK", "content": {"odd": 1}},
                             {"type": "FILE",
                              "files": [{"file_name": "a<b>.txt", "file_size": -1}]}]),
    })
    path = tmp_path / "conversations.json"
    path.write_bytes(export_bytes([conv]))
    [snap] = read_all(path)
    assert snap.warnings == ("1 mapping node(s) are not objects and were left out",)
    text = render(snap)
    assert text.count("in a cycle") == 1 and text.count("unclosed fence") == 1
    assert "<script>" not in text and "\\</details>" in text
    assert "<summary>TOOL_OPEN</summary>" in text and "a\\<b\\>.txt" in text


@pytest.mark.parametrize("data", [
    b"", b"\x00\xff\xfe garbage", b"[1, 2", b"{}", b"[]", b"null", b'"text"',
    b'{"mapping": 5}', b'{"mapping": {"x": {"parent": "x", "message": {"fragments": [null, 1]}}}}',
    b'{"data": {"biz_data": {"chat_messages": [{"message_id": true}, 5,'
    b' {"message_id": 1, "parent_id": 1}]}}}',
    b"[" * 100000,
])
def test_render_never_raises(data):
    text = imp.render_markdown({CONVERSATION_FILE: data}, {"title": None})
    assert text.startswith("# ") and text.endswith("\n")


def test_render_without_conversation_file():
    text = imp.render_markdown({}, {"title": "Kept"})
    assert text.startswith("# Kept") and "no conversation.json" in text


# -- detection against the other platforms ---------------------------------------------------


OTHER_PLATFORMS = ("chatgpt", "claude", "gemini-apps", "grok", "lechat", "perplexity", "copilot")


def test_detect_does_not_claim_other_platforms():
    assert_claims_none(imp, fixture_files(OTHER_PLATFORMS))


def test_detect_does_not_claim_chatgpt_conversations_json_in_a_zip(tmp_path):
    for i, path in enumerate(sorted((need_fixtures() / "chatgpt").rglob("*.json"))):
        zpath = tmp_path / f"chatgpt-{i}.zip"
        with zipfile.ZipFile(zpath, "w") as zf:
            zf.writestr("conversations.json", path.read_bytes())
            zf.writestr("user.json", '{"email": "x@example.org"}')
        with open_export(zpath) as export:
            assert not imp.detect(export), path


def test_other_importers_do_not_claim_deepseek_fixtures():
    from collectors.grok import GrokImporter
    others = [GrokImporter()]
    try:
        from collectors.chatgpt import ChatGPTImporter
        others.append(ChatGPTImporter())
    except ImportError:
        pass
    for path in sorted((need_fixtures() / "deepseek").rglob("*.json")):
        with open_export(path) as export:
            assert imp.detect(export), path
            for other in others:
                assert not other.detect(export), (type(other).__name__, path)


def test_chatgpt_shaped_entry_with_an_inserted_at_key_is_not_deepseek(tmp_path):
    entry = {"title": "t", "create_time": 1.0, "current_node": "m", "mapping": {"m": {
        "id": "m", "parent": None, "children": [],
        "message": {"author": {"role": "user"}, "metadata": {"inserted_at": "x"},
                    "content": {"content_type": "text", "parts": ["hi"]}}}}}
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([entry]))
    with open_export(path) as export:
        assert not imp.detect(export)


def test_byte_order_mark_is_tolerated(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_bytes(b"\xef\xbb\xbf" + export_bytes([simple()]))
    with open_export(path) as export:
        assert imp.detect(export)
        [snap] = list(imp.read(export))
    assert json.loads(files_of(snap)[CONVERSATION_FILE]) == simple()
