"""LeChatImporter on the shared fixture and on Le Chat exports built here (folder, zip, file)."""

from __future__ import annotations

import json
import shutil
from functools import partial
from pathlib import Path

import pytest

from collectors.export_source import ExportError, open_export
from collectors.importing import CONVERSATION_FILE, Importer
from collectors.lechat import LeChatImporter
from collectors.lechat.chat import chronological
from tests.conftest import need_fixtures

from .import_helpers import (assert_claims_none, assert_reads_are_stable, export_facts, read_by_id,
                             read_error, zip_folder)

imp = LeChatImporter()

FIXTURE_ID = "0b9c7d36-5f4e-4d3a-9a8b-1c2d3e4f5a6b"
FIXTURE_NAME = f"chat-{FIXTURE_ID}.json"
OTHER_PLATFORMS = ("chatgpt", "claude", "deepseek", "gemini-apps", "grok", "perplexity", "copilot")

B_ID = "5a1e0000-0000-4000-8000-00000000000b"
C_ID = "5a1e0000-0000-4000-8000-00000000000c"
D_ID = "5a1e0000-0000-4000-8000-00000000000d"
E_ID = "5a1e0000-0000-4000-8000-00000000000e"


def fixture_file() -> Path:
    return need_fixtures() / "lechat" / "synthetic" / FIXTURE_NAME


read_all = partial(read_by_id, imp)


def message(chat_id: str, mid: str, role: str, content: str, when: str, **extra) -> dict:
    base = {"id": mid, "version": 0, "chatId": chat_id, "content": content,
            "contentChunks": None, "role": role, "createdAt": when, "reaction": "neutral",
            "reactionDetail": None, "reactionComment": None, "preference": None,
            "preferenceOver": None, "context": None, "canvas": [], "quotes": [], "files": []}
    base.update(extra)
    return base


def chat_b() -> list[dict]:
    """Messages deliberately out of time order (as real exports are), a tool call with a
    result, references, a canvas and an image attachment."""
    return [
        message(B_ID, "b2", "assistant", "Here is a plan.", "2026-03-01T10:00:05.000Z",
                contentChunks=[
                    {"type": "tool_call", "name": "web_search", "isDone": True, "success": True,
                     "startTime": 1772359201000, "endTime": 1772359203500,
                     "publicArguments": "{\"query\":\"trip to Lyon\"}",
                     "publicResult": {"hits": 3}},
                    {"type": "text", "text": "Here is a plan."},
                    {"type": "reference", "referenceIds": [1, 2]},
                    {"type": "custom_element", "kind": "map"}],
                canvas=[{"title": "Itinerary", "content": "Day 1: Fourvière"}],
                reaction="like"),
        message(B_ID, "b1", "user", "Plan a weekend in Lyon\nwith two days",
                "2026-03-01T10:00:00.000Z",
                files=[{"type": "image", "name": "map.png"}]),
        message(B_ID, "b3", "user", "Thanks </details> <script>", "2026-03-01T10:01:00.000Z"),
    ]


def build_folder(root: Path) -> Path:
    """A Le Chat export folder: the fixture chat with its -files/ folder, chat B with an
    image, a broken chat, a cut-off chat, an orphan -files/ folder and a stray file."""
    need = fixture_file()
    root.mkdir(parents=True)
    shutil.copyfile(need, root / FIXTURE_NAME)
    files_a = root / f"chat-{FIXTURE_ID}-files"
    files_a.mkdir()
    (files_a / "notes.txt").write_bytes(b"budget, launch, hiring\n")
    (files_a / "chat-x.json").write_bytes(b"[{\"chatId\": \"not a chat\"}]")  # an attachment
    (root / f"chat-{B_ID}.json").write_text(json.dumps(chat_b(), indent=1), encoding="utf-8")
    (root / f"chat-{B_ID}-files").mkdir()
    (root / f"chat-{B_ID}-files" / "map.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (root / f"chat-{C_ID}.json").write_bytes(b"[{\"id\": \"c1\", \"chatId\": oops}]")
    (root / f"chat-{C_ID}-files").mkdir()  # a broken chat's folder is not called an orphan
    (root / f"chat-{C_ID}-files" / "c.txt").write_bytes(b"c")
    whole = json.dumps([message(D_ID, "d1", "user", "hello", "2026-03-02T09:00:00Z")])
    (root / f"chat-{D_ID}.json").write_text(whole[: len(whole) // 2], encoding="utf-8")
    (root / f"chat-{E_ID}-files").mkdir()
    (root / f"chat-{E_ID}-files" / "lost.pdf").write_bytes(b"%PDF-1.4")
    (root / "README.txt").write_text("not a chat\n")
    return root


# -- the shared fixture -----------------------------------------------------------------------


def test_importer_contract():
    assert isinstance(imp, Importer)
    assert (imp.name, imp.provider) == ("lechat", "lechat")


def test_fixture_single_file():
    path = fixture_file()
    assert export_facts(imp, path) == (True, False, None)
    snaps, skipped = read_all(path)
    assert skipped == {}
    snap, files = snaps[FIXTURE_ID]
    assert snap.provider == "lechat" and snap.org == ""
    assert snap.title == "Summarise the attached notes in three bullets."
    assert snap.created_at == pytest.approx(1770732191.402)
    assert snap.updated_at == pytest.approx(1770732195.990)
    assert snap.source_path == str(path)
    assert files == {CONVERSATION_FILE: path.read_bytes()}
    assert snap.attributes["messages"] == 2
    assert snap.attributes["url"] == f"https://chat.mistral.ai/chat/{FIXTURE_ID}"
    # notes.txt is named by the chat but a single file has no -files/ folder beside it
    assert snap.warnings == ("1 attached file(s) named in the chat are not in the export",)


def test_fixture_renders_chunks():
    snaps, _ = read_all(fixture_file())
    snap, files = snaps[FIXTURE_ID]
    text = imp.render_markdown(files, {"title": snap.title, "native_id": snap.native_id})
    assert text.startswith("# Summarise the attached notes in three bullets.\n")
    user = text.index("### User · 2026-02-10 14:03:11 UTC")
    bot = text.index("### Le Chat · 2026-02-10 14:03:15 UTC")
    assert user < bot
    assert "<summary>Tool call: web_search</summary>" in text
    assert '"query": "launch"' in text
    assert "- Budget approved\n- Launch moved to May" in text
    assert r"_References: \[1\]_" in text
    assert "`notes.txt` (not in this export)" in text
    assert text.count("Budget approved") == 1  # content duplicates the text chunk: shown once


@pytest.mark.parametrize("platform", OTHER_PLATFORMS)
def test_detect_refuses_other_platforms(platform):
    folder = need_fixtures() / platform
    assert_claims_none(imp, [folder] + [p for p in sorted(folder.rglob("*"))
                                        if p.is_file() or p.is_dir()])


# -- exports built here -------------------------------------------------------------------------


def test_folder_export(tmp_path):
    root = build_folder(tmp_path / "lechat-export")
    with open_export(root) as export:
        assert imp.detect(export)
        assert imp.is_full(export) is True
    snaps, skipped = read_all(root)
    assert set(snaps) == {FIXTURE_ID, B_ID}
    assert skipped == {
        f"chat-{C_ID}.json": "not valid JSON",
        f"chat-{D_ID}.json": "the file ends early (half-downloaded?); export it again",
        f"chat-{E_ID}-files/": "attachment folder without its chat file",
    }
    a, a_files = snaps[FIXTURE_ID]
    assert a_files[CONVERSATION_FILE] == (root / FIXTURE_NAME).read_bytes()
    assert a_files["files/notes.txt"] == b"budget, launch, hiring\n"
    assert a_files["files/chat-x.json"] == b"[{\"chatId\": \"not a chat\"}]"
    assert a.warnings == ()  # notes.txt resolved
    assert a.attributes["attachments"] == 2
    assert a.source_path == str(root / FIXTURE_NAME)

    b, b_files = snaps[B_ID]
    assert set(b_files) == {CONVERSATION_FILE, "files/map.png"}
    assert b_files["files/map.png"] == b"\x89PNG\r\n\x1a\nfake"
    # the first user message in time order, first line
    assert b.title == "Plan a weekend in Lyon"
    assert b.created_at == pytest.approx(1772359200.0)
    assert b.updated_at == pytest.approx(1772359260.0)
    source = (root / f"chat-{B_ID}.json").read_bytes()
    assert b_files[CONVERSATION_FILE] == source
    assert json.loads(b_files[CONVERSATION_FILE]) == chat_b()


def test_zip_export_matches_folder(tmp_path):
    root = build_folder(tmp_path / "folder")
    archive = zip_folder(root, tmp_path / "lechat.zip", prefix="export/")
    folder_snaps, _ = read_all(root)
    snaps, skipped = read_all(archive)
    with open_export(archive) as export:
        assert imp.detect(export) and imp.is_full(export)
    assert set(snaps) == {FIXTURE_ID, B_ID}
    assert skipped[f"export/chat-{C_ID}.json"] == "not valid JSON"
    assert skipped[f"export/chat-{E_ID}-files/"] == "attachment folder without its chat file"
    assert len(skipped) == 3
    for native in snaps:
        assert snaps[native][1] == folder_snaps[native][1]
        assert snaps[native][0].title == folder_snaps[native][0].title
    assert snaps[B_ID][0].source_path == f"{archive}!export/chat-{B_ID}.json"


def test_ids_and_bytes_stable_across_reads(tmp_path):
    assert_reads_are_stable(imp, build_folder(tmp_path / "x"))


def test_chat_id_from_messages_when_file_is_renamed(tmp_path):
    path = tmp_path / "my saved chat.json"
    path.write_text(json.dumps(chat_b()), encoding="utf-8")
    with open_export(path) as export:
        assert imp.detect(export)
    snaps, _ = read_all(path)
    assert list(snaps) == [B_ID]
    assert snaps[B_ID][1][CONVERSATION_FILE] == path.read_bytes()


def test_mismatched_chat_id_is_warned(tmp_path):
    path = tmp_path / f"chat-{C_ID}.json"
    path.write_text(json.dumps(chat_b()), encoding="utf-8")
    snaps, _ = read_all(path)
    assert list(snaps) == [C_ID]  # the file name wins
    assert "the messages' chatId differs from the file name's id" in snaps[C_ID][0].warnings


@pytest.mark.parametrize("content, reason", [
    (b'[{"id": "1", "chatId": "x", "role": "user", "content": "hi', "ends early"),
    (b'{"chatId": "x"}', "not a Le Chat chat file"),
    (b'[{"id": "1", "chatId": oops}]', "not valid JSON"),
])
def test_single_bad_file_raises(tmp_path, content, reason):
    path = tmp_path / f"chat-{D_ID}.json"
    path.write_bytes(content)
    error = read_error(imp, path)
    assert reason in str(error)
    assert str(path) in str(error)


def test_detect_looks_past_a_broken_first_chat(tmp_path):
    root = tmp_path / "e"
    root.mkdir()
    (root / "chat-00000000-0000-4000-8000-000000000000.json").write_bytes(b"garbage")
    (root / f"chat-{B_ID}.json").write_text(json.dumps(chat_b()), encoding="utf-8")
    with open_export(root) as export:
        assert imp.detect(export)
    snaps, skipped = read_all(root)
    assert list(snaps) == [B_ID]
    assert skipped == {"chat-00000000-0000-4000-8000-000000000000.json": "not valid JSON"}


def test_no_chat_files_is_an_export_error(tmp_path):
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "notes.txt").write_text("x")
    with open_export(tmp_path / "e") as export:
        assert not imp.detect(export)
        with pytest.raises(ExportError, match="no Le Chat chat files"):
            list(imp.read(export))


def test_chronological_order():
    msgs = [{"createdAt": "2026-01-01T00:00:03Z"}, {"createdAt": "2026-01-01T00:00:01Z"},
            {"createdAt": None}, "junk", {"createdAt": "2026-01-01T00:00:02Z"}]
    assert chronological(msgs) == [1, 2, 3, 4, 0]


# -- rendering ----------------------------------------------------------------------------------


def test_render_built_chat(tmp_path):
    root = build_folder(tmp_path / "r")
    snaps, _ = read_all(root)
    snap, files = snaps[B_ID]
    text = imp.render_markdown(files, {"title": snap.title, "native_id": snap.native_id})
    # time order, not file order
    first = text.index("Plan a weekend in Lyon")
    plan = text.index("Here is a plan.")
    thanks = text.index("Thanks")
    assert first < plan < thanks
    assert "_Attached:_ `files/map.png`" in text
    assert "<summary>Tool call: web_search</summary>" in text
    assert '"query": "trip to Lyon"' in text and '"hits": 3' in text
    assert "took 2.5 s" in text
    assert r"_References: \[1\], \[2\]_" in text
    assert "<summary>Content chunk: custom_element</summary>" in text
    assert "<summary>Canvas: Itinerary</summary>" in text and "Day 1: Fourvière" in text
    assert "_reaction: like_" in text
    assert "## Attachments\n\n- `files/map.png`" in text
    # hostile text cannot close our details or open a script
    assert "Thanks \\</details> \\<script>" in text
    assert text.count("\n<details>\n") == text.count("\n</details>") == 3


@pytest.mark.parametrize("data", [
    b"", b"\x00\xff\xfe", b"[", b"null", b"{}", b"[1, \"x\", null, []]",
    json.dumps([{"role": 5, "createdAt": 7, "contentChunks": "x", "files": "y", "canvas": 3,
                 "version": True, "content": ["z"]}]).encode(),
    json.dumps([{"role": "assistant", "contentChunks": [None, 1, {"type": "tool_call",
                 "publicArguments": "{bad", "startTime": "x"}, {"type": "reference",
                 "referenceIds": "x"}, {"type": 9}], "files": [{"name": None}, {}],
                 "quotes": [{"x": 1}], "context": {"a": [1]}}]).encode(),
    b"[" + b"[" * 5000 + b"]" * 5000 + b"]",
])
def test_render_never_raises(data):
    text = imp.render_markdown({CONVERSATION_FILE: data, "files/a.bin": b"\x00"}, {"title": "T"})
    assert text.startswith("# T\n")
    assert "`files/a.bin`" in text


def test_render_without_conversation_file():
    text = imp.render_markdown({}, {})
    assert text.startswith("# Untitled\n")
    assert "no conversation.json" in text
