"""ZedCollector on ``threads/threads.db`` databases built at test time with Zed's schema
(zed-industries/zed crates/agent/src/db.rs) from the documents in tests/data/collectors/zed."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import zstandard

from collectors import CollectContext, ItemError, SourceItem, TemporaryItemError
from collectors.testing import CollectorConformance
from collectors.zed import ZedCollector

from .collector_fixtures import DATA, SECRET

ZED = DATA / "zed"
V03 = json.loads((ZED / "thread-v0.3.json").read_text())
AGENT1 = json.loads((ZED / "thread-agent1.json").read_text())

collector = ZedCollector()


def create(db: Path) -> sqlite3.Connection:
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE IF NOT EXISTS threads (id TEXT PRIMARY KEY, summary TEXT NOT NULL, "
                "updated_at TEXT NOT NULL, data_type TEXT NOT NULL, data BLOB NOT NULL)")
    con.execute("ALTER TABLE threads ADD COLUMN parent_id TEXT")
    con.execute("ALTER TABLE threads ADD COLUMN folder_paths TEXT")
    con.execute("ALTER TABLE threads ADD COLUMN folder_paths_order TEXT")
    con.execute("ALTER TABLE threads ADD COLUMN created_at TEXT")
    return con


def insert(con, tid: str, doc: dict | bytes, *, summary: str | None = None, data_type: str = "zstd",
           parent: str | None = None, updated: str = "2025-09-01T10:00:05+00:00") -> bytes:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    data = zstandard.ZstdCompressor(level=3).compress(raw) if data_type == "zstd" else raw
    title = summary if summary is not None else (doc.get("title") or doc.get("summary"))
    con.execute("INSERT INTO threads (id, parent_id, folder_paths, folder_paths_order, summary, updated_at, "
                "data_type, data, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (tid, parent, "/home/u/tool", "0", title, updated, data_type, data, updated))
    con.commit()
    return data


def make_home(tmp_path: Path) -> tuple[Path, CollectContext]:
    home = tmp_path / "home"
    con = create(home / ".local/share/zed/threads/threads.db")
    insert(con, "b8a1c3d2-0000-4000-8000-000000000001", V03)
    insert(con, "b8a1c3d2-0000-4000-8000-000000000002", AGENT1, data_type="json",
           updated="2025-04-02T08:00:00+00:00")
    insert(con, "b8a1c3d2-0000-4000-8000-000000000003", {**V03, "subagent_context": {}},
           summary="Subagent run", parent="b8a1c3d2-0000-4000-8000-000000000001")
    con.close()
    (home / ".config/zed").mkdir(parents=True)
    (home / ".config/zed/settings.json").write_bytes(b'{"api_key": "' + SECRET + b'"}')
    return home, CollectContext(home=home, env={})


def items(ctx) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


def files_of(snap) -> dict[str, bytes]:
    return {f.name: f.data for f in snap.files}


class TestZedConformance(CollectorConformance):
    """A native and a Flatpak Zed data directory, one thread each; the Flatpak one is "running"
    (its thread is still in the -wal, with a large incompressible attachment), so the
    torn-source check cuts a WAL, which SQLite must recover to its last whole commit."""

    credential_files = (".config/zed/settings.json",)

    def make_collector(self):
        return ZedCollector()

    def make_sources(self, home: Path) -> None:
        con = create(home / ".local/share/zed/threads/threads.db")
        insert(con, "t-native", V03)
        con.close()
        build = home.parent / "zed-build"
        live = create(build / "threads.db")
        live.execute("PRAGMA journal_mode=WAL")
        live.execute("PRAGMA wal_autocheckpoint=0")
        big = {**AGENT1, "messages": [*AGENT1["messages"], {"id": 3, "role": "user", "segments": [
            {"type": "text", "text": os.urandom(60_000).hex()}]}]}
        insert(live, "t-flatpak", big, data_type="zstd")
        target = home / ".var/app/dev.zed.Zed/data/zed/threads"
        target.mkdir(parents=True)
        shutil.copyfile(build / "threads.db", target / "threads.db")
        shutil.copyfile(build / "threads.db-wal", target / "threads.db-wal")
        live.close()

    def hostile_source(self, home: Path, title: str) -> bool:
        con = create(home / ".local/share/zed/threads/threads.db")
        insert(con, "t-hostile", V03, summary=title)
        con.close()
        return True


def test_threads_titles_raw_files_and_markdown(tmp_path):
    home, ctx = make_home(tmp_path)
    found = items(ctx)
    assert len(found) == 3
    db = home / ".local/share/zed/threads/threads.db"
    one = collector.read(found["b8a1c3d2-0000-4000-8000-000000000001"], ctx)
    assert one.title == "Add a --dry-run flag" and one.attributes["model"] == "claude-sonnet-4"
    assert [s.path for s in found["b8a1c3d2-0000-4000-8000-000000000001"].stamps] == [str(db)]
    files = files_of(one)
    assert set(files) == {"row.json", "thread.json.zst", "thread.json"}
    con = sqlite3.connect(db)
    stored = con.execute("SELECT data FROM threads WHERE id = ?", ("b8a1c3d2-0000-4000-8000-000000000001",)).fetchone()[0]
    con.close()
    assert files["thread.json.zst"] == stored  # the stored bytes, exactly
    assert json.loads(files["thread.json"]) == V03
    row = json.loads(files["row.json"])
    assert row["summary"] == "Add a --dry-run flag" and row["data_type"] == "zstd" and "data" not in row
    page = collector.render_markdown(files, {"title": one.title, "native_id": one.native_id})
    for text in ("Add a --dry-run flag to the deploy command.", "fn deploy(args: Args) { ... }",
                 "Need a bool flag in Args and a guard before upload.", "I'll read the CLI definition.",
                 "struct Args { target: String }", "error: 1 test failed", "Resumed", "redacted thinking",
                 "`dry_run: bool`", "cargo test"):
        assert text in page, text
    assert page.index("src/cli.rs") < page.index("struct Args")  # result follows its tool use
    # The view also works from the compressed bytes alone.
    assert "struct Args" in collector.render_markdown({"row.json": files["row.json"],
                                                       "thread.json.zst": files["thread.json.zst"]}, {})


def test_agent1_json_rows_and_parent_links(tmp_path):
    home, ctx = make_home(tmp_path)
    found = items(ctx)
    old = collector.read(found["b8a1c3d2-0000-4000-8000-000000000002"], ctx)
    assert old.title == "Why is the build slow" and set(files_of(old)) == {"row.json", "thread.json"}
    page = collector.render_markdown(files_of(old), {"title": old.title})
    for text in ("Why is the release build slow?", "LTO is probably on.", "Checking the profile settings.",
                 'lto = "fat"', "Attached context"):
        assert text in page, text
    child = collector.read(found["b8a1c3d2-0000-4000-8000-000000000003"], ctx)
    assert child.links == {"parent": "b8a1c3d2-0000-4000-8000-000000000001"}


def test_corrupt_blob_keeps_the_stored_bytes_with_a_warning(tmp_path):
    home, ctx = make_home(tmp_path)
    con = sqlite3.connect(home / ".local/share/zed/threads/threads.db")
    data = insert(con, "cut", V03, summary="")
    con.execute("UPDATE threads SET data = ? WHERE id = 'cut'", (data[: len(data) // 2],))
    con.commit()
    con.close()
    snap = collector.read(items(ctx)["cut"], ctx)
    assert set(files_of(snap)) == {"row.json", "thread.json.zst"}
    assert any("cut off" in w for w in snap.warnings)
    assert snap.title == "Untitled"
    assert "⚠" in collector.render_markdown(files_of(snap), {"title": snap.title})


def test_title_fallbacks(tmp_path):
    home, ctx = make_home(tmp_path)
    con = sqlite3.connect(home / ".local/share/zed/threads/threads.db")
    insert(con, "no-summary", V03, summary="")
    insert(con, "no-title", {**V03, "title": ""}, summary="")
    con.close()
    found = items(ctx)
    assert collector.read(found["no-summary"], ctx).title == "Add a --dry-run flag"
    assert collector.read(found["no-title"], ctx).title == "Add a --dry-run flag to the deploy command."


def test_several_data_dirs_and_path_option(tmp_path):
    home, ctx = make_home(tmp_path)
    mac = create(home / "Library/Application Support/Zed/threads/threads.db")
    insert(mac, "b8a1c3d2-0000-4000-8000-000000000001", V03)
    mac.close()
    keys = list(items(ctx))
    assert len(keys) == 4 and sum(k.startswith("b8a1c3d2-0000-4000-8000-000000000001@") for k in keys) == 1
    ctx = CollectContext(home=home, env={}, options={"path": str(home / "Library/Application Support/Zed")})
    assert list(items(ctx)) == ["b8a1c3d2-0000-4000-8000-000000000001"]


def test_damaged_locked_and_vanished(tmp_path):
    home, ctx = make_home(tmp_path)
    db = home / ".local/share/zed/threads/threads.db"
    item = items(ctx)["b8a1c3d2-0000-4000-8000-000000000001"]
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TemporaryItemError):
            collector.read(item, ctx)
    finally:
        con.execute("ROLLBACK")
        con.close()
    con = sqlite3.connect(db)
    con.execute("DELETE FROM threads WHERE id = ?", ("b8a1c3d2-0000-4000-8000-000000000001",))
    con.commit()
    con.close()
    with pytest.raises(TemporaryItemError):
        collector.read(item, ctx)
    db.write_bytes(b"\x00" * 4096)
    found = list(collector.discover(ctx))
    assert len(found) == 1 and isinstance(found[0], ItemError)


def test_render_never_raises_on_odd_documents():
    odd = {"messages": [None, 3, {"User": {"content": [None, {"Image": {"size": 10}}, "plain"]}},
                        {"Agent": {"content": [{"Unknown": 1}], "tool_results": {"x": {"content": [1]}}}},
                        {"role": "system", "segments": None, "tool_uses": [None]}]}
    page = collector.render_markdown({"row.json": b"[]", "thread.json": json.dumps(odd).encode()}, {})
    assert page.startswith("# ") and "unknown message shape" in page
    assert collector.render_markdown({}, {}).startswith("# ")
