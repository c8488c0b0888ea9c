"""CopilotChatExportImporter on the real "Chat: Export Chat…" sample and on exports built here."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from collectors.copilot_chat.export import CopilotChatExportImporter
from collectors.export_source import open_export
from collectors.importing import CONVERSATION_FILE, Importer
from tests.conftest import need_fixtures

from .import_helpers import assert_reads_are_stable, export_facts, read_by_id, read_error, zip_folder

imp = CopilotChatExportImporter()

FIRST_ID = "request_2a622857-c442-47c6-8d5e-e8236c2065ef"
NATIVE = "export-" + FIRST_ID
OTHER_PLATFORMS = ("chatgpt", "claude", "deepseek", "gemini-apps", "grok", "lechat", "perplexity")


def fixture_file() -> Path:
    return need_fixtures() / "copilot" / "copilot-chat-to-markdown" / "chat.json"


read_all = partial(read_by_id, imp)


def small_export(user: str, *texts: str, first_id: str = "request_aaa",
                 start_ms: int = 1760000000000) -> dict:
    return {"requesterUsername": user, "responderUsername": "GitHub Copilot",
            "initialLocation": "panel",
            "requests": [{"requestId": first_id if i == 0 else f"request_{i}",
                          "message": {"text": t, "parts": []},
                          "response": [{"value": f"Answer to {t}"}],
                          "timestamp": start_ms + 1000 * i, "modelId": "gpt-4.1"}
                         for i, t in enumerate(texts)]}


OTHER = small_export("someone", "Explain  this\nregex", "And now?")


# -- the real sample ------------------------------------------------------------------------------


def test_importer_contract():
    assert isinstance(imp, Importer)
    assert (imp.name, imp.provider) == ("copilot-chat", "copilot-chat")


def test_fixture_snapshot():
    path = fixture_file()
    assert export_facts(imp, path) == (True, False, "peckjon")
    snaps, skipped = read_all(path)
    assert skipped == {}
    snap, files = snaps[NATIVE]
    assert snap.provider == "copilot-chat" and snap.org == ""
    assert snap.title == ("I want to create a Repo Organizer that Helps me organize my own "
                          "github repos, and any I've starred.")
    assert snap.created_at == pytest.approx(1757720474.534)
    assert snap.updated_at is not None and snap.updated_at > snap.created_at
    assert files == {CONVERSATION_FILE: path.read_bytes()}
    assert snap.attributes == {"requests": 8, "exported": True,
                               "models": ["copilot/claude-sonnet-4"], "location": "panel"}
    assert "peckjon" not in json.dumps(snap.attributes)  # the username is only the org
    assert snap.source_path == str(path)


def test_fixture_renders_with_the_local_collectors_renderer():
    path = fixture_file()
    snaps, _ = read_all(path)
    snap, files = snaps[NATIVE]
    meta = {"title": snap.title, "native_id": snap.native_id, "attributes": dict(snap.attributes)}
    text = imp.render_markdown(files, meta)
    from collectors.copilot_chat.render import render_session
    assert text == render_session(files, meta)
    assert "- **Read from:** `conversation.json` (session file)" in text
    assert f"- **Session:** `{NATIVE}`" in text
    assert "- **Requests:** 8" in text
    requests = json.loads(path.read_bytes())["requests"]
    positions = []
    for request in requests:
        first_line = next(line for line in request["message"]["text"].splitlines() if line.strip())
        assert "<" not in first_line
        positions.append(text.index(first_line.strip()))
    assert positions == sorted(positions)  # every request text, in order
    assert text.count("### User ·") == 8


@pytest.mark.parametrize("platform", OTHER_PLATFORMS)
def test_detect_refuses_other_platforms(platform):
    folder = need_fixtures() / platform
    for path in [folder] + sorted(folder.rglob("*")):
        with open_export(path) as export:
            assert not imp.detect(export), path
            assert imp.account(export) is None


# -- exports built here ---------------------------------------------------------------------------


def test_same_chat_exported_again_keeps_its_id(tmp_path):
    full = json.loads(fixture_file().read_bytes())
    early = dict(full, requests=full["requests"][:3])
    path = tmp_path / "early.json"
    path.write_text(json.dumps(early, indent=2), encoding="utf-8")
    snaps, _ = read_all(path)
    snap, files = snaps[NATIVE]  # same id as the later, longer export
    assert snap.attributes["requests"] == 3
    assert files[CONVERSATION_FILE] == path.read_bytes()


def build_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    fixture = fixture_file().read_bytes()
    full = json.loads(fixture)
    (root / "a-full.json").write_bytes(fixture)
    (root / "b-early.json").write_text(json.dumps(dict(full, requests=full["requests"][:2])))
    (root / "c-other.json").write_text(json.dumps(OTHER), encoding="utf-8")
    (root / "d-empty.json").write_text(json.dumps(small_export("someone")))
    (root / "e-broken.json").write_bytes(fixture[:5000])
    (root / "f-not-export.json").write_text(json.dumps({"version": 1, "settings": {}}))
    (root / "g-bad.json").write_bytes(b'{"requesterUsername": x}')
    (root / "README.md").write_text("exported chats\n")
    return root


EXPECTED_SKIPS = {
    "b-early.json": "an older copy of a chat another file of this import holds",
    "d-empty.json": "the chat has no request with a requestId (nothing to name it by)",
    "e-broken.json": "the file ends early (half-downloaded?); export the chat again",
    "f-not-export.json": "not a VS Code chat export (no requests and requesterUsername)",
    "g-bad.json": "not valid JSON",
}


def test_folder_of_exports(tmp_path):
    root = build_folder(tmp_path / "chats")
    assert export_facts(imp, root) == (True, False, "peckjon")
    snaps, skipped = read_all(root)
    assert set(snaps) == {NATIVE, "export-request_aaa"}
    assert skipped == EXPECTED_SKIPS
    assert snaps[NATIVE][1][CONVERSATION_FILE] == fixture_file().read_bytes()
    assert snaps[NATIVE][0].attributes["requests"] == 8  # the longer copy wins
    other, files = snaps["export-request_aaa"]
    assert other.title == "Explain this"
    assert other.created_at == pytest.approx(1760000000.0)
    assert other.updated_at == pytest.approx(1760000001.0)
    assert json.loads(files[CONVERSATION_FILE]) == OTHER
    text = imp.render_markdown(files, {"title": other.title, "native_id": other.native_id})
    assert text.index("Explain  this") < text.index("Answer to Explain") < text.index("And now?")


def test_zip_of_exports_matches_folder(tmp_path):
    root = build_folder(tmp_path / "chats")
    archive = zip_folder(root, tmp_path / "chats.zip")
    folder_snaps, _ = read_all(root)
    snaps, skipped = read_all(archive)
    assert skipped == EXPECTED_SKIPS
    assert {k: v[1] for k, v in snaps.items()} == {k: v[1] for k, v in folder_snaps.items()}
    assert snaps[NATIVE][0].source_path == f"{archive}!a-full.json"


def test_reads_are_stable(tmp_path):
    assert_reads_are_stable(imp, build_folder(tmp_path / "chats"))


@pytest.mark.parametrize("content, reason", [
    (None, "ends early"),
    (json.dumps(small_export("x")).encode(), "no request with a requestId"),
    (b'{"requesterUsername": "x", "requests": {}}', "not a VS Code chat export"),
])
def test_single_bad_file_raises(tmp_path, content, reason):
    path = tmp_path / "chat.json"
    path.write_bytes(content if content is not None else fixture_file().read_bytes()[:-100])
    error = read_error(imp, path)
    assert reason in str(error) and str(path) in str(error)


def test_account_without_username(tmp_path):
    path = tmp_path / "c.json"
    data = small_export("x", "hi")
    del data["requesterUsername"]
    path.write_text(json.dumps(data))
    with open_export(path) as export:
        assert not imp.detect(export)  # detect wants requesterUsername
        assert imp.account(export) is None
    snaps, _ = read_all(path)  # read still takes it (responderUsername is there)
    assert list(snaps) == ["export-request_aaa"]


@pytest.mark.parametrize("data", [
    b"", b"\xff\xfe\x00", b"{", b"[]", b"null",
    b'{"requests": [null, 1, {"message": 5, "response": "x", "result": []}]}',
    b'{"requests": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
])
def test_render_never_raises(data):
    text = imp.render_markdown({CONVERSATION_FILE: data}, {"title": "T", "native_id": "export-x"})
    assert text.startswith("# T\n")
