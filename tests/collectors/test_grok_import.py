"""GrokImporter on the shared fixture and on exports built here from the documented layout."""

from __future__ import annotations

import json
import zipfile
from functools import partial
from pathlib import Path

import pytest

from collectors.export_source import ExportError, open_export
from collectors.grok import GrokImporter
from collectors.grok.model import grok_time
from collectors.importing import CONVERSATION_FILE, Importer, Skipped
from tests.conftest import need_fixtures

from .import_helpers import (assert_claims_none, assert_cut_off_is_an_error, files_of,
                             fixture_files, read_items, read_until_error, render_snapshot, snaps)

imp = GrokImporter()

PREFIX = "ttl/30d/export_data/0b1c2d3e-0000-4000-8000-00000000user/"
ASSET = "5f0e1d2c-0000-4000-8000-0000000asset"
ASSET_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


read_all = partial(read_items, imp)
render = partial(render_snapshot, imp)


def ms(value: int) -> dict:
    return {"$date": {"$numberLong": str(value)}}


def response(rid, parent, sender, message, at, **extra):
    body = {"_id": rid, "conversation_id": "c", "parent_response_id": parent, "message": message,
            "sender": sender, "create_time": at}
    body.update(extra)
    return {"response": body, "share_link": None}


CITATION = ('<grok:render card_id="6a0785" card_type="citation_card" type="render_inline_citation">'
            '\n<argument name="citation_id">31</argument>\n</grok:render>')


def branched():
    """r0 (human) → r1 (old answer) and r2 (newer answer) → r3 (human); no leaf_response_id,
    so the newest leaf (r3) is current."""
    return {
        "conversation": {"id": "conv-branched", "user_id": "user-1", "title": "Branches",
                         "create_time": "2026-09-01T00:00:00.000000Z",
                         "modify_time": "2026-09-01T01:00:00.000Z", "starred": True},
        "responses": [
            response("r0", None, "human", "Draw me a cat", ms(1788220800000),
                     file_attachments=[ASSET, "asset-not-in-export"]),
            response("r1", "r0", "ASSISTANT", "Old answer", ms(1788220810000), model="grok-3",
                     thinking_trace="thinking about cats",
                     web_search_results=[{"url": "https://example.org/cat", "title": "Cats",
                                          "preview": "All about cats"}]),
            response("r2", "r0", "assistant", "New answer" + CITATION, "2026-09-01T00:10:00Z",
                     model="grok-4"),
            response("r3", "r2", "Human", "Thanks!", ms(1788221500000), model="grok-4"),
        ],
    }


def simple():
    return {"conversation": {"id": "conv-simple", "title": "",
                             "create_time": "2026-09-02T00:00:00Z",
                             "modify_time": "2026-09-02T00:00:00Z", "leaf_response_id": "s1"},
            "responses": [response("s0", None, "human", "What is a sourdough starter?\nmore",
                                   ms(1788307200000)),
                          response("s1", "s0", "assistant", "Flour and water.", ms(1788307201000),
                                   model="grok-3")]}


def backend_bytes(entries) -> bytes:
    return ('{"conversations": [\n' + ",\n".join(json.dumps(e, indent=1) for e in entries)
            + '\n], "projects": [], "tasks": [], "media_posts": []}\n').encode()


ACCOUNT = {"user": {"userId": "0b1c2d3e-0000-4000-8000-00000000user", "email": "me@example.org",
                    "givenName": "Me"},
           "sessions": [{"sessionId": "s", "cfMetadata": {"ipAddress": "192.0.2.1"}}]}


def build_zip(tmp_path: Path, entries, *, account=ACCOUNT, prefix=PREFIX) -> Path:
    path = tmp_path / "grok-export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(prefix + "prod-grok-backend.json", backend_bytes(entries))
        if account is not None:
            zf.writestr(prefix + "prod-mc-auth-mgmt-api.json", json.dumps(account))
        zf.writestr(prefix + "prod-mc-billing.json", "{}")
        zf.writestr(f"{prefix}prod-mc-asset-server/{ASSET}/content", ASSET_BYTES)
        zf.writestr(f"{prefix}prod-mc-asset-server/unreferenced-asset/content", b"other")
    return path


def build_folder(tmp_path: Path, entries) -> Path:
    root = tmp_path / "export"
    home = root / PREFIX
    (home / "prod-mc-asset-server" / ASSET).mkdir(parents=True)
    (home / "prod-grok-backend.json").write_bytes(backend_bytes(entries))
    (home / "prod-mc-asset-server" / ASSET / "content").write_bytes(ASSET_BYTES)
    return root


# -- the shared fixture -----------------------------------------------------------------------


def test_is_an_importer():
    assert isinstance(imp, Importer)
    assert (imp.name, imp.provider) == ("grok", "grok")


def test_synthetic_fixture():
    path = need_fixtures() / "grok/synthetic/prod-grok-backend.json"
    with open_export(path) as export:
        assert imp.detect(export)
        assert not imp.is_full(export)
        assert imp.account(export) == "synthetic-user-0"  # the conversation's user_id
        items = list(imp.read(export))
    [snap] = items
    assert snap.provider == "grok"
    assert snap.native_id == "aaaaaaaa-0000-4000-8000-000000000001"
    assert snap.title == "Sourdough starter ratio"
    assert snap.created_at == 1788220800.0  # 2026-09-01T00:00:00Z
    assert snap.updated_at == 1788307200.0
    assert snap.org == "" and snap.source_path == str(path)
    source = path.read_bytes()
    assert files_of(snap)[CONVERSATION_FILE] in source
    assert json.loads(files_of(snap)[CONVERSATION_FILE]) == json.loads(source)["conversations"][0]
    assert snap.attributes["current_response"] == "aaaaaaaa-0000-4000-8000-000000000001-r1"
    assert snap.attributes["models"] == ["grok-3"]
    assert snap.attributes["attachments"] == 1 and snap.attributes["attachments_missing"] == 1
    assert snap.attributes["branches"] == 3

    text = render(snap)
    assert "## Branch 1 (current)" in text
    # leaf_response_id is r1: r0, r1 first; r2 (deeper than the leaf) continues after it
    assert (text.index("What ratio of flour") < text.index("Start with 1:1")
            < text.index("## Branch 2"))
    assert "## Branch 2 (continues after message 2)" in text
    assert text.index("## Branch 2") < text.index("how often should I feed it")
    assert "(its parent message is not in the export)" in text  # the orphan, r9
    assert "### 2 · Grok · `grok-3` · 2025-09-01 00:01:00 UTC" in text  # $numberLong ms
    assert "`synthetic-asset-uuid-0` (not in the export)" in text


# -- exports built here -------------------------------------------------------------------------


def test_zip_export_with_assets_account_and_bad_entries(tmp_path):
    entries = [branched(), {"responses": []}, "not an object", simple(),
               {"conversation": {"title": "no id"}}]
    path = build_zip(tmp_path, entries)
    with open_export(path) as export:
        assert imp.detect(export)
        assert imp.is_full(export)
        assert imp.account(export) == "me@example.org"
        items = list(imp.read(export))
    backend = PREFIX + "prod-grok-backend.json"
    assert [(s.where, s.reason) for s in items if isinstance(s, Skipped)] == [
        (f"{backend} entry 2", "no conversation object"),
        (f"{backend} entry 3", "not a JSON object"),
        (f"{backend} entry 5", "no conversation id"),
    ]
    first, second = snaps(items)
    source = backend_bytes(entries)
    for snap, entry in ((first, entries[0]), (second, entries[3])):
        data = files_of(snap)[CONVERSATION_FILE]
        assert data in source and json.loads(data) == entry
    assert first.source_path == f"{path}!{backend}"
    assert files_of(first)[f"files/{ASSET}/content"] == ASSET_BYTES
    assert sorted(files_of(first)) == [CONVERSATION_FILE, f"files/{ASSET}/content"]
    assert first.attributes["attachments"] == 2 and first.attributes["attachments_missing"] == 1
    assert first.attributes["current_response"] == "r3"  # no leaf_response_id: newest leaf
    assert first.attributes["models"] == ["grok-3", "grok-4"]
    assert first.attributes["starred"] is True and first.attributes["user_id"] == "user-1"
    assert second.title == "What is a sourdough starter?"  # empty title: the first prompt
    assert second.attributes["current_response"] == "s1"

    text = render(first)
    assert text.index("New answer") < text.index("Thanks!") < text.index("## Branch 2")
    assert "## Branch 2 (continues after message 1)" in text
    assert text.index("## Branch 2") < text.index("Old answer")
    assert f"`files/{ASSET}/content` ({len(ASSET_BYTES)} bytes)" in text
    assert "`asset-not-in-export` (not in the export)" in text
    assert "<summary>Thinking</summary>" in text and "thinking about cats" in text
    assert "New answer[31]" in text and "grok:render" not in text
    assert "<summary>Web search results (1)</summary>" in text
    assert "### 4 · Grok · `grok-3`" in text and "### 3 · User · `grok-4`" in text

    again = snaps(read_all(path))
    assert [(s.native_id, files_of(s)) for s in again] == [(s.native_id, files_of(s))
                                                           for s in (first, second)]


def test_folder_export(tmp_path):
    root = build_folder(tmp_path, [branched()])
    with open_export(root) as export:
        assert imp.detect(export) and imp.is_full(export)
        assert imp.account(export) == "user-1"  # no account file: the conversation's user_id
        [snap] = list(imp.read(export))
    assert snap.source_path == str(root / PREFIX / "prod-grok-backend.json")
    assert files_of(snap)[f"files/{ASSET}/content"] == ASSET_BYTES


def test_assets_from_the_backends_own_folder(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a/prod-grok-backend.json", backend_bytes([branched()]))
        zf.writestr(f"a/prod-mc-asset-server/{ASSET}/content", b"from a")
        zf.writestr(f"b/prod-mc-asset-server/{ASSET}/content", b"from b")
        zf.writestr(f"b/prod-mc-asset-server/{ASSET}/meta/info.json", b"{}")
    [snap] = read_all(path)
    assert files_of(snap)[f"files/{ASSET}/content"] == b"from a"
    assert f"files/{ASSET}/meta/info.json" not in files_of(snap)


def test_truncated_backend_is_an_error(tmp_path):
    assert_cut_off_is_an_error(imp, tmp_path / "prod-grok-backend.json",
                               backend_bytes([branched(), simple()]))


def test_invalid_json_mid_stream_is_an_error_after_the_good_entries(tmp_path):
    bad = tmp_path / "prod-grok-backend.json"
    bad.write_bytes(b'{"conversations": [' + json.dumps(simple()).encode()
                    + b', {"conversation": x}]}')
    got, error = read_until_error(imp, bad)
    assert [s.native_id for s in got] == ["conv-simple"]
    assert "not a readable Grok export" in error.reason


def test_backend_without_conversations_list_is_an_error(tmp_path):
    bad = tmp_path / "prod-grok-backend.json"
    bad.write_text('{"projects": [], "tasks": []}')
    with open_export(bad) as export:
        with pytest.raises(ExportError) as err:
            list(imp.read(export))
    assert "no conversations list" in err.value.reason
    empty = tmp_path / "empty" / "prod-grok-backend.json"
    empty.parent.mkdir()
    empty.write_text('{"conversations": [], "projects": []}')
    assert read_all(empty) == []


def test_hostile_conversation_renders_safely(tmp_path):
    entry = {"conversation": {"id": "hostile", "title": "<details>", "leaf_response_id": "nope"},
             "responses": [
                 response("x", "y", "human", "</details><script>alert(1)</script>", None),
                 response("y", "x", "SYSTEM", {"not": "text"}, "garbage time"),
                 {"response": {"no": "id"}}, 7,
                 response("z", None, "assistant", "```\nunclosed", ms(10 ** 20),
                          steps=[{"a": 1}], card_attachments_json='[{"card": 1}]',
                          generated_image_urls=["https://example.org/i.png", 5],
                          file_attachments=["../../etc/passwd", "a/b"], error={"code": 1},
                          partial=True),
             ]}
    path = tmp_path / "prod-grok-backend.json"
    path.write_bytes(backend_bytes([entry]))
    [snap] = read_all(path)
    assert snap.warnings == ("2 response(s) without a usable _id were left out",
                             "leaf_response_id names no response; the newest leaf is shown first")
    assert snap.attributes["attachments_missing"] == 2
    assert [f.name for f in snap.files] == [CONVERSATION_FILE]
    text = render(snap)
    assert "\\</details>\\<script>alert(1)\\</script>" in text  # tags in text are escaped
    assert text.count("alert(1)") == 1 and text.count("<details>\n") == text.count("\n</details>")
    assert "(partial response)" in text and "<summary>Steps (1)</summary>" in text
    assert "`https://example.org/i.png`" in text


@pytest.mark.parametrize("data", [
    b"", b"\x00\xff garbage", b'{"conversation": ', b"[]", b"{}", b"null",
    b'{"conversation": {"id": 5}}', b'{"conversation": {"id": "a"}, "responses": {"x": 1}}',
    b'{"conversation": {"id": "a"},'
    b' "responses": [{"response": {"_id": "a", "parent_response_id": "a"}}]}',
    b"{" * 100000,
])
def test_render_never_raises(data):
    text = imp.render_markdown({CONVERSATION_FILE: data}, {"title": None})
    assert text.startswith("# ") and text.endswith("\n")


@pytest.mark.parametrize("value, expected", [
    ({"$date": {"$numberLong": "1756684800000"}}, 1756684800.0),
    ({"$date": "2025-09-01T00:00:00Z"}, 1756684800.0),
    ({"$date": 1756684800000}, 1756684800.0),
    ("2025-09-01T00:00:00.000Z", 1756684800.0),
    (1756684800000, 1756684800.0),
    (1756684800, 1756684800.0),
    ("1756684800000", 1756684800.0),
    ({"$date": {"$numberLong": "x"}}, None),
    (None, None), (True, None), ([1], None),
])
def test_grok_times(value, expected):
    assert grok_time(value) == expected


# -- detection against the other platforms ----------------------------------------------------


OTHER_PLATFORMS = ("chatgpt", "claude", "deepseek", "gemini-apps", "lechat", "perplexity",
                   "copilot")


def test_detect_does_not_claim_other_platforms():
    assert_claims_none(imp, fixture_files(OTHER_PLATFORMS))


def test_detect_does_not_claim_chatgpt_wrapper(tmp_path):
    src = need_fixtures() / "chatgpt/chatgpt-export-parser/example-conversation.json"
    wrapped = tmp_path / "conversations-000.json"
    wrapped.write_bytes(b'{"conversations": ' + src.read_bytes() + b"}")
    with open_export(wrapped) as export:
        assert not imp.detect(export)


def test_renamed_backend_file_is_detected_by_content(tmp_path):
    path = tmp_path / "my-grok-data.json"
    path.write_bytes(backend_bytes([simple()]))
    with open_export(path) as export:
        assert imp.detect(export)
        assert [s.native_id for s in imp.read(export)] == ["conv-simple"]


def test_other_importers_do_not_claim_grok():
    from collectors.deepseek import DeepSeekImporter
    others = [DeepSeekImporter()]
    try:
        from collectors.chatgpt import ChatGPTImporter
        others.append(ChatGPTImporter())
    except ImportError:
        pass
    path = need_fixtures() / "grok/synthetic/prod-grok-backend.json"
    with open_export(path) as export:
        for other in others:
            assert not other.detect(export), type(other).__name__


def test_damaged_attachment_keeps_the_conversation(tmp_path):
    path = build_zip(tmp_path, [branched(), simple()])
    data = bytearray(path.read_bytes())
    at = data.index(ASSET_BYTES)  # stored uncompressed: flip one byte, the CRC no longer fits
    data[at + 20] ^= 0xFF
    path.write_bytes(bytes(data))
    first, second = read_all(path)
    assert first.native_id == "conv-branched" and second.native_id == "conv-simple"
    assert [f.name for f in first.files] == [CONVERSATION_FILE]
    assert first.warnings == ("1 attachment file(s) could not be read from the export",)
