"""ContinueCollector on session files written from continuedev/continue's types
(tests/data/collectors/continue/README.md)."""

from __future__ import annotations

import builtins
import json
import os
import shutil
from pathlib import Path

from collectors import CollectContext, SourceItem
from collectors.continue_dev import ContinueCollector
from collectors.testing import CollectorConformance

from .collector_fixtures import DATA, SECRET

ONE = "3b9c8e2a-1f4d-4c6b-8a7e-0d1c2b3a4f5e"
TWO = "9a8b7c6d-0000-4000-8000-000000000002"
collector = ContinueCollector()


def lay_out(home: Path) -> None:
    sessions = home / ".continue" / "sessions"
    sessions.mkdir(parents=True)
    for f in (DATA / "continue").glob("*.json"):
        shutil.copyfile(f, sessions / f.name)
    (home / ".continue" / "config.json").write_bytes(b'{"models":[{"apiKey":"' + SECRET + b'"}]}')
    (home / ".continue" / ".env").write_bytes(b"ANTHROPIC_API_KEY=" + SECRET)


def items(ctx) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


def files_of(snap) -> dict[str, bytes]:
    return {f.name: Path(f.path).read_bytes() for f in snap.files}


class TestContinueConformance(CollectorConformance):
    credential_files = (".continue/config.json", ".continue/.env", ".continue/sessions/config.json")

    def make_collector(self):
        return ContinueCollector()

    def make_sources(self, home: Path) -> None:
        lay_out(home)

    def hostile_source(self, home: Path, title: str) -> bool:
        sessions = home / ".continue" / "sessions"
        sessions.mkdir(parents=True)
        (sessions / "h.json").write_text(json.dumps({"sessionId": "h", "title": title, "history": []}))
        return True


def test_sessions_titles_times_and_markdown(tmp_path):
    home = tmp_path / "home"
    lay_out(home)
    ctx = CollectContext(home=home, env={})
    found = items(ctx)
    assert list(found) == [ONE, TWO]  # sessions.json is the index, not a session
    one = collector.read(found[ONE], ctx)
    assert one.title == "Explain the retry decorator" and one.created_at == 1751000000.0
    assert one.attributes["model"] == "Claude 3.7 Sonnet"
    page = collector.render_markdown(files_of(one), {"title": one.title, "native_id": ONE})
    for text in ("What does @retry(times=3) do in client.py?", "[image]", "@retry(times=3)\ndef fetch(): ...",
                 "The user wants the semantics of the decorator.", "It calls `fetch` up to three times.",
                 "`read_file`", "svc/retry.py", "def retry(times): ...", "Check retry.py to be sure.",
                 "Confirmed: it retries on any exception, with no backoff.", "1 prompt log"):
        assert text in page, text
    two = collector.read(found[TWO], ctx)
    assert two.title == "Title only in the index" and two.attributes["title_source"] == "sessions.json"


def test_env_dir_broken_file_and_discover_opens_nothing(tmp_path, monkeypatch):
    home = tmp_path / "home"
    lay_out(home)
    moved = tmp_path / "cont"
    shutil.move(home / ".continue", moved)
    ctx = CollectContext(home=home, env={"CONTINUE_GLOBAL_DIR": str(moved)})
    (moved / "sessions" / f"{TWO}.json").write_text('{"sessionId": "9a8b')
    snap = collector.read(items(ctx)[TWO], ctx)
    assert snap.title == "Title only in the index" and snap.warnings
    assert "⚠" in collector.render_markdown(files_of(snap), {"title": snap.title})

    def no_open(*a, **k):
        raise AssertionError("discover opened a file")

    monkeypatch.setattr(builtins, "open", no_open)
    monkeypatch.setattr(os, "open", no_open)
    assert list(items(ctx)) == [ONE, TWO]
