"""ClaudeAiImporter on the web-API fixture and on exports built here from the documented
schema (../shared/FORMATS.md "Claude.ai"): zip, extracted folder, nested folder, single files."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from collectors.claude_ai import ClaudeAiImporter
from collectors.claude_ai.naming import attachment_names, safe_file_name
from collectors.export_source import ExportError, open_export
from collectors.importing import Importer, Skipped
from tests.conftest import need_fixtures

from .import_helpers import zip_members

imp = ClaudeAiImporter()
WEBAPI = "claude/synthetic/webapi-chat_conversation-tree.json"
SENTINEL = "00000000-0000-4000-8000-000000000000"
OTHER_PLATFORMS = ("chatgpt", "deepseek", "gemini-apps", "grok", "lechat", "perplexity", "copilot")


# -- an export built from the documented schema ----------------------------------------------

def msg(uuid, sender, text, at, *, parent=None, content=None, attachments=(), files=()):
    m = {"uuid": uuid, "text": text, "content": content if content is not None
         else [{"type": "text", "text": text}], "sender": sender, "created_at": at,
         "updated_at": at, "attachments": list(attachments), "files": list(files)}
    if parent is not None:
        m["parent_message_uuid"] = parent
    return m


FLAT = {
    "uuid": "c-flat", "name": "Flat chat", "summary": "",
    "created_at": "2025-01-02T10:00:00.000000Z", "updated_at": "2025-01-02T10:05:00.000000Z",
    "account": {"uuid": "acct-1"},
    "chat_messages": [
        msg("f1", "human", "Here are my notes", "2025-01-02T10:00:00Z", attachments=[
            {"file_name": "notes.txt", "file_type": "txt", "file_size": 11, "extracted_content": "first notes"},
            {"file_name": "scan.pdf", "file_type": "pdf", "file_size": 9000},
        ], files=[{"file_name": "photo.png", "file_uuid": "file-1", "file_kind": "image"}]),
        msg("f2", "assistant", "Reading them.", "2025-01-02T10:01:00Z", content=[
            {"type": "thinking", "thinking": "Consider the notes carefully."},
            {"type": "tool_use", "name": "web_search", "input": {"query": "notes format"}},
            {"type": "tool_result", "name": "web_search", "content": [{"type": "text", "text": "result body"}]},
            {"type": "text", "text": "Reading them."},
            {"type": "sparkle", "payload": 7},
        ]),
        msg("f3", "human", "More notes ünïcödé", "2025-01-02T10:04:00Z", attachments=[
            {"file_name": "NOTES.txt", "file_type": "txt", "file_size": 12, "extracted_content": "second ✓ notes"},
            {"file_name": "../../etc/passwd", "file_type": "", "file_size": 3, "extracted_content": "x"},
        ]),
        msg("f4", "assistant", "Done.", "2025-01-02T10:05:00Z"),
    ],
}

TREE = {
    "uuid": "c-tree", "name": "Branchy", "summary": "",
    "created_at": "2025-02-01T09:00:00Z", "updated_at": "2025-02-01T09:10:00Z",
    "account": {"uuid": "acct-1"},
    "chat_messages": [
        msg("t1", "human", "Tell me a joke", "2025-02-01T09:00:00Z", parent=SENTINEL),
        msg("t2", "assistant", "ORIGINAL answer", "2025-02-01T09:00:10Z", parent="t1"),
        msg("t3", "assistant", "REGENERATED answer", "2025-02-01T09:05:00Z", parent="t1"),
        msg("t4", "human", "Another one", "2025-02-01T09:06:00Z", parent="t3"),
        msg("t5", "assistant", "SECOND joke", "2025-02-01T09:10:00Z", parent="t4"),
    ],
}

UNNAMED = {
    "uuid": "c-unnamed", "name": "", "summary": "",
    "created_at": "2025-03-01T00:00:00Z", "updated_at": "2025-03-01T00:00:00Z",
    "account": {"uuid": "acct-2"},
    "chat_messages": [msg("u1", "human", "\n  How do I boil an egg?\nquickly", "2025-03-01T00:00:00Z")],
}

NO_UUID = {"name": "broken", "chat_messages": []}
BAD_MESSAGES = {"uuid": "c-bad", "name": "bad", "chat_messages": "oops"}

PROJECT = {
    "uuid": "p-1", "name": "Research", "description": "Papers about eggs", "is_private": True,
    "prompt_template": "Always cite sources.", "created_at": "2025-01-01T00:00:00Z",
    "updated_at": "2025-01-05T00:00:00Z", "creator": {"uuid": "acct-1", "full_name": "Ada"},
    "docs": [
        {"uuid": "d-1", "filename": "paper.md", "content": "# Paper\nbody", "created_at": "2025-01-01T00:00:00Z"},
        {"uuid": "d-2", "filename": "paper.md", "content": "second paper", "created_at": "2025-01-02T00:00:00Z"},
        {"uuid": "d-3", "filename": "empty.bin"},
    ],
}
PROJECT_NO_UUID = {"name": "orphan", "docs": []}

MEMORIES = [{"conversations_memory": "Likes eggs.\nWorks at night.",
             "project_memories": {"p-1": "Research on eggs."}, "account_uuid": "acct-1"}]
USERS = [{"uuid": "acct-1", "full_name": "Ada Lovelace", "email_address": "ada@example.com",
          "verified_phone_number": None}]

CONVERSATIONS = [FLAT, TREE, NO_UUID, BAD_MESSAGES, 42, UNNAMED]


def dump(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def export_files(**override) -> dict[str, bytes]:
    files = {
        "conversations.json": dump(CONVERSATIONS),
        "projects.json": dump([PROJECT, PROJECT_NO_UUID]),
        "memories.json": dump(MEMORIES),
        "users.json": dump(USERS),
    }
    files.update({k: v for k, v in override.items() if v is not None})
    return {k: v for k, v in files.items() if override.get(k, b"") is not None}


def write_folder(path: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


def read_all(path):
    with open_export(path) as ex:
        assert imp.detect(ex)
        return list(imp.read(ex)), imp.is_full(ex), imp.account(ex)


def by_id(items):
    return {s.native_id: s for s in items if not isinstance(s, Skipped)}


def file_map(snap) -> dict[str, bytes]:
    return {f.name: (f.data if f.data is not None else Path(f.path).read_bytes()) for f in snap.files}


def render(snap) -> str:
    return imp.render_markdown(file_map(snap), {"title": snap.title, "native_id": snap.native_id,
                                                "attributes": dict(snap.attributes)})


@pytest.fixture
def zipped(tmp_path):
    return zip_members(tmp_path / "data-2025-batch-0000.zip", export_files())


@pytest.fixture
def folder(tmp_path):
    return write_folder(tmp_path / "export", export_files())


# -- protocol, detection ---------------------------------------------------------------------

def test_is_an_importer():
    assert isinstance(imp, Importer)
    assert (imp.name, imp.provider) == ("claude.ai", "claude.ai")


def test_detects_webapi_fixture_and_own_exports(zipped, folder, tmp_path):
    fx = need_fixtures()
    for path in (fx / WEBAPI, zipped, folder):
        with open_export(path) as ex:
            assert imp.detect(ex), path
    lone = tmp_path / "conversations.json"
    lone.write_bytes(export_files()["conversations.json"])
    with open_export(lone) as ex:
        assert imp.detect(ex) and not imp.is_full(ex)


@pytest.mark.parametrize("platform", OTHER_PLATFORMS)
def test_does_not_claim_other_platforms(platform, tmp_path):
    root = need_fixtures() / platform
    paths = [p for p in root.rglob("*") if p.is_file()]
    assert paths
    for path in paths:
        with open_export(path) as ex:
            assert not imp.detect(ex), path
        # also as conversations.json inside a zip, the way their exports name it
        z = zip_members(tmp_path / f"{platform}.zip", {"conversations.json": path.read_bytes(),
                                                        "user.json": b"{}"})
        with open_export(z) as ex:
            assert not imp.detect(ex), path


def test_empty_export_with_users_is_detected(tmp_path):
    z = zip_members(tmp_path / "e.zip", {"conversations.json": b"[]", "users.json": dump(USERS)})
    items, full, account = read_all(z)
    assert items == [] and full and account == "ada@example.com"


# -- reading the full export -----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_full_export(kind, zipped, folder):
    path = zipped if kind == "zip" else folder
    items, full, account = read_all(path)
    assert full is True and account == "ada@example.com"
    snaps = by_id(items)
    assert list(snaps) == ["c-flat", "c-tree", "c-unnamed", "project-p-1", "memories"]
    skipped = [s for s in items if isinstance(s, Skipped)]
    assert [(s.where, s.reason) for s in skipped] == [
        ("conversations.json entry 3", "no uuid"),
        ("conversation c-bad", "chat_messages is missing or not a list"),
        ("conversations.json entry 5", "not a JSON object"),
        ("projects.json entry 2", "no uuid"),
    ]
    for s in snaps.values():
        assert s.provider == "claude.ai" and s.org == ""
        assert s.source_path and s.source_path.endswith(".json")
    flat = snaps["c-flat"]
    assert flat.title == "Flat chat"
    assert flat.created_at == pytest.approx(1735812000.0)
    assert flat.updated_at == pytest.approx(1735812300.0)
    assert flat.attributes["account_uuid"] == "acct-1"
    assert flat.attributes["files"] == [{"file_name": "photo.png", "file_uuid": "file-1", "file_kind": "image"}]
    assert "branches" not in flat.attributes
    assert snaps["c-tree"].attributes["branches"] == 2
    assert snaps["c-unnamed"].title == "How do I boil an egg?"


@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_conversation_json_is_the_exact_slice(kind, zipped, folder):
    path = zipped if kind == "zip" else folder
    source = export_files()["conversations.json"]
    snaps = by_id(read_all(path)[0])
    for entry in (FLAT, TREE, UNNAMED):
        raw = file_map(snaps[entry["uuid"]])["conversation.json"]
        assert raw in source
        assert raw.startswith(b"{") and raw.endswith(b"}")
        assert json.loads(raw) == entry


def test_two_reads_give_identical_snapshots(zipped, folder):
    first, second = by_id(read_all(zipped)[0]), by_id(read_all(zipped)[0])
    from_folder = by_id(read_all(folder)[0])
    assert list(first) == list(second) == list(from_folder)
    for key in first:
        assert file_map(first[key]) == file_map(second[key]) == file_map(from_folder[key])
        assert first[key].title == second[key].title
        assert first[key].attributes == second[key].attributes


def test_attachments_become_files(zipped):
    flat = by_id(read_all(zipped)[0])["c-flat"]
    files = file_map(flat)
    assert sorted(files) == ["attachments/3-NOTES.txt", "attachments/notes.txt",
                             "attachments/passwd", "conversation.json"]
    assert files["attachments/notes.txt"] == b"first notes"
    assert files["attachments/3-NOTES.txt"] == "second ✓ notes".encode("utf-8")
    assert files["attachments/passwd"] == b"x"
    assert flat.attributes["attachments"] == ["attachments/3-NOTES.txt", "attachments/notes.txt",
                                              "attachments/passwd"]
    mtimes = {f.name: f.mtime_ns for f in flat.files}
    assert mtimes["attachments/notes.txt"] == 1735812000 * 10**9


def test_attachment_names_are_deterministic_and_safe():
    messages = [{"attachments": [{"file_name": "a.txt", "extracted_content": ""},
                                 {"file_name": "a.txt", "extracted_content": "y"},
                                 {"file_name": "A.TXT", "extracted_content": "z"},
                                 {"file_name": None, "extracted_content": "n"},
                                 {"file_name": "..", "extracted_content": "d"},
                                 {"file_name": "bad\x00name\ud800.txt", "extracted_content": "c"},
                                 {"file_name": "no-content.pdf"},
                                 "junk"]},
                "not a message",
                {"attachments": [{"file_name": "a.txt", "extracted_content": "w"}]}]
    names = attachment_names(messages)
    assert names == {
        (0, 0): "attachments/a.txt", (0, 1): "attachments/1-a.txt", (0, 2): "attachments/1-3-A.TXT",
        (0, 3): "attachments/attachment-1-4.txt", (0, 4): "attachments/attachment-1-5.txt",
        (0, 5): "attachments/bad_name_.txt", (2, 0): "attachments/3-a.txt",
    }
    assert attachment_names(messages) == names
    long = safe_file_name("x" * 400 + ".markdown", "f")
    assert long.endswith(".markdown") and len(long.encode()) <= 150
    assert safe_file_name("C:\\Users\\me\\report.docx", "f") == "report.docx"


def test_projects_and_memories(zipped):
    snaps = by_id(read_all(zipped)[0])
    proj = snaps["project-p-1"]
    assert proj.title == "Project: Research"
    files = file_map(proj)
    assert sorted(files) == ["docs/2-paper.md", "docs/paper.md", "project.json", "prompt_template.md"]
    assert files["project.json"] in export_files()["projects.json"]
    assert json.loads(files["project.json"]) == PROJECT
    assert files["docs/paper.md"] == b"# Paper\nbody"
    assert files["docs/2-paper.md"] == b"second paper"
    assert files["prompt_template.md"] == b"Always cite sources."
    assert proj.warnings == ("1 doc(s) have no text content",)
    assert proj.created_at == pytest.approx(1735689600.0)
    mem = snaps["memories"]
    assert mem.title == "Memories"
    files = file_map(mem)
    assert files["memories.json"] == export_files()["memories.json"]
    assert files["memories/1-conversations_memory.md"] == b"Likes eggs.\nWorks at night."
    assert files["memories/1-project-p-1.md"] == b"Research on eggs."
    assert mem.attributes["account_uuids"] == ["acct-1"]


def test_per_project_files_and_nested_folder(tmp_path):
    files = export_files(**{"projects.json": None})
    files["projects/p-1.json"] = dump(PROJECT)
    files["projects/p-2.json"] = b"{not json"
    z = zip_members(tmp_path / "nested.zip", files, prefix="data-2025-01-01/")
    items, full, account = read_all(z)
    assert full and account == "ada@example.com"
    snaps = by_id(items)
    assert "project-p-1" in snaps and "memories" in snaps
    assert file_map(snaps["project-p-1"])["project.json"] == dump(PROJECT)
    assert Skipped("data-2025-01-01/projects/p-2.json", "not valid JSON") in items


def test_memories_of_another_shape_are_kept(tmp_path):
    odd = b'{"memory": "plain object"}'
    z = zip_members(tmp_path / "m.zip", export_files(**{"memories.json": odd}))
    mem = by_id(read_all(z)[0])["memories"]
    assert file_map(mem) == {"memories.json": odd}
    assert "plain object" in render(mem)


def test_account_fallbacks(tmp_path):
    no_email = [{"uuid": "acct-9", "full_name": "Grace", "email_address": None}]
    z = zip_members(tmp_path / "a.zip", export_files(**{"users.json": dump(no_email)}))
    assert read_all(z)[2] == "Grace"
    z = zip_members(tmp_path / "b.zip", export_files(**{"users.json": None}))
    with open_export(z) as ex:
        assert imp.account(ex) == "acct-1"
        assert imp.is_full(ex)  # projects.json is there
    z = zip_members(tmp_path / "c.zip", {"conversations.json": dump([UNNAMED])})
    with open_export(z) as ex:
        assert imp.detect(ex) and imp.account(ex) == "acct-2" and not imp.is_full(ex)
    z = zip_members(tmp_path / "d.zip", export_files(**{"users.json": b"garbage"}))
    with open_export(z) as ex:
        assert imp.account(ex) == "acct-1"


def test_duplicate_conversation_uuid_is_skipped(tmp_path):
    z = zip_members(tmp_path / "d.zip", {"conversations.json": dump([FLAT, FLAT]), "users.json": dump(USERS)})
    items = read_all(z)[0]
    assert len(by_id(items)) == 1
    assert Skipped("conversation c-flat", "duplicate uuid (entry 1 has it too)") in items


# -- broken files ----------------------------------------------------------------------------

@pytest.mark.parametrize("member", ["conversations.json", "projects.json", "memories.json"])
def test_truncated_file_raises_export_error(member, tmp_path):
    whole = export_files()[member]
    z = zip_members(tmp_path / "t.zip", export_files(**{member: whole[: len(whole) * 2 // 3]}))
    with open_export(z) as ex:
        assert imp.detect(ex)
        with pytest.raises(ExportError) as err:
            list(imp.read(ex))
    assert member in err.value.path and err.value.path.startswith(str(z))
    assert "Likes" not in str(err.value) and "joke" not in str(err.value)


def test_truncated_single_files_raise(tmp_path):
    fx = need_fixtures()
    data = (fx / WEBAPI).read_bytes()
    cut = tmp_path / "conv.json"
    cut.write_bytes(data[:1500])
    lone = tmp_path / "conversations.json"
    whole = export_files()["conversations.json"]
    lone.write_bytes(whole[:900])
    for path in (cut, lone):
        with open_export(path) as ex:
            assert imp.detect(ex)
            with pytest.raises(ExportError, match="ends early"):
                list(imp.read(ex))


def test_invalid_json_mid_stream_raises(tmp_path):
    whole = export_files()["conversations.json"].decode()
    broken = whole.replace('"Branchy"', '"Branchy" oops', 1).encode()
    z = zip_members(tmp_path / "x.zip", export_files(**{"conversations.json": broken}))
    with open_export(z) as ex:
        got = []
        with pytest.raises(ExportError, match="conversations.json"):
            for item in imp.read(ex):
                got.append(item)
    assert [s.native_id for s in got] == ["c-flat"]  # what came before stays imported


def test_not_an_array_raises(tmp_path):
    z = zip_members(tmp_path / "o.zip", export_files(**{"projects.json": b'"just a string"'}))
    with open_export(z) as ex:
        with pytest.raises(ExportError, match="projects.json"):
            list(imp.read(ex))


# -- the web API single conversation ---------------------------------------------------------

def test_webapi_fixture():
    path = need_fixtures() / WEBAPI
    items, full, account = read_all(path)
    assert full is False and account is None
    (snap,) = items
    assert snap.native_id == "3e553492-89a8-45e8-b51a-000000000001"
    assert snap.title == "Node.js stream backpressure"
    files = file_map(snap)
    assert files["conversation.json"] == path.read_bytes()
    assert files["attachments/paste.txt"] == b"const { pipeline } = require('stream');"
    assert snap.attributes["format"] == "web-api"
    assert snap.attributes["model"] == "claude-sonnet-4-5"
    assert snap.attributes["branches"] == 2
    assert snap.created_at == pytest.approx(1772359200.0)
    text = render(snap)
    current = text.index("## Current thread")
    q, a, follow = (text.index(s) for s in ("What is backpressure", "Backpressure is how", "Show me pipeline()"))
    branch = text.index("## Branch 2 (continues after message 1)")
    regen = text.index("Regenerated (abandoned) answer")
    assert current < q < a < follow < branch < regen
    assert "<summary>Thinking: Explaining stream buffering</summary>" in text
    assert "`attachments/paste.txt`" in text
    assert "claude-sonnet-4-5" in text


# -- rendering -------------------------------------------------------------------------------

def test_render_tree_without_current_leaf_uses_newest(zipped):
    text = render(by_id(read_all(zipped)[0])["c-tree"])
    order = [text.index(s) for s in ("## Current thread", "Tell me a joke", "REGENERATED answer",
                                     "Another one", "SECOND joke",
                                     "## Branch 2 (continues after message 1)", "ORIGINAL answer")]
    assert order == sorted(order)
    for s in ("Tell me a joke", "ORIGINAL answer", "REGENERATED answer", "SECOND joke"):
        assert text.count(s) == 1
    assert "Message 5 · Claude" in text and "Messages:** 5 in 2 branches" in text


def test_render_flat_conversation(zipped):
    text = render(by_id(read_all(zipped)[0])["c-flat"])
    assert text.startswith("# Flat chat\n")
    assert "## Current thread" not in text and "## Branch" not in text
    order = [text.index(s) for s in ("Here are my notes", "Reading them.", "More notes", "Done.")]
    assert order == sorted(order)
    assert "<summary>Thinking</summary>" in text and "Consider the notes carefully." in text
    assert "<summary>Tool call: web_search</summary>" in text and '"query": "notes format"' in text
    assert "<summary>Tool result: web_search</summary>" in text and "result body" in text
    assert "<summary>sparkle block</summary>" in text and '"payload": 7' in text
    assert "`attachments/notes.txt`" in text and "`attachments/3-NOTES.txt`" in text
    assert "scan.pdf (pdf, 8.8 KiB) — no extracted text in the export" in text
    assert "photo.png (image) — file not included in the export" in text
    assert "**Account:** `acct-1`" in text and "2025-01-02 10:00:00 UTC" in text


def test_render_project_and_memories(zipped):
    snaps = by_id(read_all(zipped)[0])
    text = render(snaps["project-p-1"])
    assert text.startswith("# Project: Research\n")
    assert "Papers about eggs" in text and "Always cite sources." in text
    assert "## Documents (3)" in text
    assert "paper.md (12 characters), added 2025-01-01 00:00:00 UTC → `docs/paper.md`" in text
    assert "→ `docs/2-paper.md`" in text and "empty.bin — no text content in the export" in text
    text = render(snaps["memories"])
    assert text.startswith("# Memories\n")
    assert "Likes eggs." in text and "Research on eggs." in text and "Project memory p-1" in text
    assert "`memories/1-conversations_memory.md`" in text


GARBAGE = [
    b"", b"\x00\xff\xfe garbage", b"{", b"[]", b"null", b'"text"', b"{}",
    b'{"chat_messages": 5}', b'{"chat_messages": [1, "x", null, {"sender": 3, "content": "str"}]}',
    b'{"chat_messages": [{"content": [1, {"type": 5}, {"type": "tool_result", "content": 9}], '
    b'"attachments": [{"file_size": true}, 3], "files": [1, {"file_name": 2}]}]}',
    b'{"chat_messages": [{"uuid": "a", "parent_message_uuid": "a"}, {"uuid": "b", "parent_message_uuid": "c"},'
    b' {"uuid": "c", "parent_message_uuid": "b"}, {"uuid": "a", "parent_message_uuid": 7}, 4],'
    b' "current_leaf_message_uuid": ["x"], "created_at": 5, "account": "me"}',
    b'{"chat_messages": [{"text": "</details><script>x</script>\\u001b[31m", "sender": "human"}]}',
    b"[" * 100000 + b"]" * 100000,
]


@pytest.mark.parametrize("data", GARBAGE)
@pytest.mark.parametrize("name", ["conversation.json", "project.json", "memories.json"])
def test_render_never_raises_on_garbage(name, data):
    for meta in ({}, {"title": None, "attributes": "x"}, {"title": "T", "attributes": {"kind": 3}}):
        text = imp.render_markdown({name: data, "attachments/x": b"\xff"}, meta)
        assert isinstance(text, str) and text.startswith("# ")
        assert "\x1b" not in text and "could not be rendered" not in text  # no fallback: no bug
        lines = text.splitlines()
        assert lines.count("<details>") == lines.count("</details>")


def test_render_never_raises_on_random_bytes():
    rng = random.Random(7)
    source = json.dumps(TREE).encode()
    for _ in range(200):
        data = bytearray(source)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = bytes(data[: rng.randrange(len(data) + 1)])
        for name in ("conversation.json", "project.json", "memories.json"):
            text = imp.render_markdown({name: cut}, {"title": "t"})
            assert text.startswith("# ") and "could not be rendered" not in text


def test_render_with_no_files():
    text = imp.render_markdown({}, {"title": "Lost"})
    assert text.startswith("# Lost\n") and "conversation.json is missing" in text


def test_files_are_relative_and_safe(zipped):
    for snap in by_id(read_all(zipped)[0]).values():
        for f in snap.files:
            assert not f.name.startswith("/") and ".." not in f.name.split("/")
            assert "\x00" not in f.name and os.path.normpath(f.name) == f.name


def test_detect_is_not_fooled_by_titles_that_name_other_formats_keys(tmp_path):
    conv = dict(UNNAMED, name="mapping", summary='"entries": inserted_at')
    lone = tmp_path / "conversations.json"
    lone.write_bytes(dump([conv]))
    with open_export(lone) as ex:
        assert imp.detect(ex)
    chatgpt_like = tmp_path / "c.zip"
    zip_members(chatgpt_like, {"conversations.json": b'[{"uuid": "x", "mapping": {}}]', "users.json": b"[]"})
    with open_export(chatgpt_like) as ex:
        assert not imp.detect(ex)
