"""AmpCollector on thread files written from the public descriptions of Amp's format
(tests/data/collectors/amp/README.md)."""

from __future__ import annotations

import builtins
import json
import os
import shutil
from pathlib import Path

from collectors import CollectContext, SourceItem
from collectors.amp import AmpCollector
from collectors.testing import CollectorConformance

from .collector_fixtures import DATA, SECRET

TID = "T-7f3c2a10-5b6d-4e8f-9a01-23456789abcd"
collector = AmpCollector()


def make_home(tmp_path: Path) -> tuple[Path, CollectContext]:
    home = tmp_path / "home"
    threads = home / ".local/share/amp/threads"
    threads.mkdir(parents=True)
    shutil.copyfile(DATA / "amp" / f"{TID}.json", threads / f"{TID}.json")
    (home / ".local/share/amp/secrets.json").write_bytes(b'{"apiKey@https://ampcode.com/":"' + SECRET + b'"}')
    return home, CollectContext(home=home, env={})


def items(ctx) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


def files_of(snap) -> dict[str, bytes]:
    return {f.name: Path(f.path).read_bytes() for f in snap.files}


class TestAmpConformance(CollectorConformance):
    credential_files = (".local/share/amp/secrets.json", ".local/share/amp/threads/secrets.json")

    def make_collector(self):
        return AmpCollector()

    def make_sources(self, home: Path) -> None:
        threads = home / ".local/share/amp/threads"
        threads.mkdir(parents=True)
        shutil.copyfile(DATA / "amp" / f"{TID}.json", threads / f"{TID}.json")
        other = {"v": 1, "id": "T-00000000-0000-4000-8000-000000000002", "created": 1767865000000,
                 "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]}
        (threads / f"{other['id']}.json").write_text(json.dumps(other))

    def hostile_source(self, home: Path, title: str) -> bool:
        threads = home / ".local/share/amp/threads"
        threads.mkdir(parents=True)
        doc = {"v": 1, "id": "T-1", "title": title, "messages": []}
        (threads / "T-1.json").write_text(json.dumps(doc))
        return True


def test_thread_metadata_and_every_message_in_markdown(tmp_path):
    home, ctx = make_home(tmp_path)
    snap = collector.read(items(ctx)[TID], ctx)
    assert snap.title == "Fix the flaky date test" and not snap.warnings
    assert snap.created_at == 1767865803.494 and snap.updated_at == 1767865812.0
    assert snap.attributes["model"] == "claude-sonnet-4-5"
    assert snap.attributes["workspace"] == ["file:///home/u/proj"]
    assert [f.path for f in snap.files] == [home / ".local/share/amp/threads" / f"{TID}.json"]
    page = collector.render_markdown(files_of(snap), {"title": snap.title, "native_id": TID})
    for text in ("The test in tests/test\\_dates.py fails on Mondays. Why?",
                 "Probably a weekday computed from local time.", "Let me look at the test first.",
                 "def test_weekday():", "freeze the date with a fixture.", "Run it.",
                 "pytest tests/test_dates.py", "rejected-by-user",
                 "User asked about a Monday-only failure; cause found.", "future\\_block"):
        assert text in page or text.replace("\\_", "_") in page, text
    assert page.index("`toolu_01`") < page.index("def test_weekday")  # result after its call


def test_title_falls_back_and_broken_files_are_kept_with_a_warning(tmp_path):
    home, ctx = make_home(tmp_path)
    path = home / ".local/share/amp/threads" / f"{TID}.json"
    doc = json.loads(path.read_text())
    doc.pop("title")
    path.write_text(json.dumps(doc))
    snap = collector.read(items(ctx)[TID], ctx)
    assert snap.title == "The test in tests/test_dates.py fails on Mondays. Why?"
    path.write_text(json.dumps(doc)[:500])
    snap = collector.read(items(ctx)[TID], ctx)
    assert snap.title == TID and any("not valid JSON" in w for w in snap.warnings)
    assert "⚠" in collector.render_markdown(files_of(snap), {"title": snap.title})


def test_discover_opens_nothing_and_path_option(tmp_path, monkeypatch):
    home, ctx = make_home(tmp_path)
    other = tmp_path / "other"
    shutil.copytree(home / ".local/share/amp", other)

    def no_open(*a, **k):
        raise AssertionError("discover opened a file")

    monkeypatch.setattr(builtins, "open", no_open)
    monkeypatch.setattr(os, "open", no_open)
    assert list(items(ctx)) == [TID]
    assert list(items(CollectContext(home=tmp_path / "x", env={}, options={"path": str(other)}))) == [TID]
    assert list(items(CollectContext(home=tmp_path / "x", env={"XDG_DATA_HOME": str(home / ".local/share")}))) == [TID]
