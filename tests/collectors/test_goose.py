"""GooseCollector on a ``sessions.db`` built from Goose's schema and on legacy ``.jsonl``
session files (tests/data/collectors/goose, written from block/goose's sources)."""

from __future__ import annotations

import builtins
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from collectors import CollectContext, ItemError, SourceItem, TemporaryItemError
from collectors.goose import GooseCollector
from collectors.goose.messages import REDACTED, parse_sqlite_time
from collectors.testing import CollectorConformance

from .collector_fixtures import DATA, SECRET

GOOSE = DATA / "goose"
LEGACY = "20250301_142233.jsonl"

# crates/goose/src/session/session_manager.rs `create` (schema version 5)
SCHEMA = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
INSERT INTO schema_version (version) VALUES (5);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
    user_set_name BOOLEAN DEFAULT FALSE, session_type TEXT NOT NULL DEFAULT 'user',
    working_dir TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, extension_data TEXT DEFAULT '{}',
    total_tokens INTEGER, input_tokens INTEGER, output_tokens INTEGER,
    accumulated_total_tokens INTEGER, accumulated_input_tokens INTEGER,
    accumulated_output_tokens INTEGER, schedule_id TEXT, recipe_json TEXT,
    user_recipe_values_json TEXT);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES sessions(id),
    role TEXT NOT NULL, content_json TEXT NOT NULL, created_timestamp INTEGER NOT NULL,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP, tokens INTEGER, metadata_json TEXT);
CREATE INDEX idx_messages_session ON messages(session_id);
CREATE INDEX idx_sessions_updated ON sessions(updated_at DESC);
"""

collector = GooseCollector()


def write_db(db: Path, only: set[str] | None = None, extra_sessions: list[dict] = ()) -> None:
    rows = json.loads((GOOSE / "db-rows.json").read_text())
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    for s in [*rows["sessions"], *extra_sessions]:
        if only is not None and s["id"] not in only:
            continue
        con.execute(f"INSERT INTO sessions ({', '.join(s)}) VALUES ({', '.join('?' * len(s))})", list(s.values()))
    for m in rows["messages"]:
        if only is not None and m["session_id"] not in only:
            continue
        con.execute(f"INSERT INTO messages ({', '.join(m)}) VALUES ({', '.join('?' * len(m))})", list(m.values()))
    con.commit()
    con.close()


def make_home(tmp_path: Path, db: bool = True, legacy: bool = True) -> tuple[Path, CollectContext]:
    home = tmp_path / "home"
    sessions = home / ".local/share/goose/sessions"
    sessions.mkdir(parents=True)
    if db:
        write_db(sessions / "sessions.db")
    if legacy:
        shutil.copyfile(GOOSE / LEGACY, sessions / LEGACY)
    config = home / ".config/goose"
    config.mkdir(parents=True)
    (config / "secrets.yaml").write_bytes(b"OPENAI_API_KEY: " + SECRET)
    return home, CollectContext(home=home, env={})


def items(ctx) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


def files_of(snap) -> dict[str, bytes]:
    return {f.name: (f.data if f.data is not None else Path(f.path).read_bytes()) for f in snap.files}


class TestGooseConformance(CollectorConformance):
    """One session in sessions.db, two legacy files (one large, so the torn-file check hits a
    JSONL file: a single database holding every item cannot lose one item alone)."""

    credential_files = (".config/goose/secrets.yaml",)

    def make_collector(self):
        return GooseCollector()

    def make_sources(self, home: Path) -> None:
        sessions = home / ".local/share/goose/sessions"
        write_db(sessions / "sessions.db", only={"20250721_1"})
        shutil.copyfile(GOOSE / LEGACY, sessions / LEGACY)
        lines = (GOOSE / LEGACY).read_text().splitlines()
        big = json.loads(lines[3])
        big["content"][0]["toolResult"]["value"][0]["text"] = "row\n" * 50_000
        (sessions / "20250302_090000.jsonl").write_text("\n".join([*lines[:3], json.dumps(big), lines[4]]) + "\n")

    def hostile_source(self, home: Path, title: str) -> bool:
        row = {"id": "20250101_9", "name": title, "working_dir": "/w", "extension_data": "{}"}
        write_db(home / ".local/share/goose/sessions/sessions.db", only={"20250101_9"}, extra_sessions=[row])
        return True


def test_database_sessions_titles_rows_and_redaction(tmp_path):
    home, ctx = make_home(tmp_path, legacy=False)
    found = items(ctx)
    assert list(found) == ["20250721_1", "20250721_2"]
    one = collector.read(found["20250721_1"], ctx)
    assert one.title == "Refactor payment module" and one.attributes["title_source"] == "goose"
    assert one.created_at == parse_sqlite_time("2025-07-21 09:00:00") == 1753088400.0
    files = files_of(one)
    assert set(files) == {"sessions.jsonl", "messages.jsonl"}
    assert b"ghp_SECRET_TOKEN_VALUE" not in files["sessions.jsonl"]
    assert REDACTED.encode() in files["sessions.jsonl"] and "redacted" in one.attributes
    rows = [json.loads(x) for x in files["messages.jsonl"].splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["content_json"].startswith('[{"type":"text"')  # as stored, not re-encoded
    page = collector.render_markdown(files, {"title": one.title, "native_id": one.native_id})
    for text in ("Split payment.py into gateway and ledger modules.", "class Gateway: ...",
                 "unknown tool developer\\_\\_rm", "Done: gateway.py and ledger.py created.",
                 "not shown to the user", "brandNewType", "developer\\_\\_text\\_editor"):
        assert text in page or text.replace("\\_", "_") in page, text
    two = collector.read(found["20250721_2"], ctx)
    assert two.title == "What is the VAT rate constant called?"
    assert any("content_json is not a JSON array" in w for w in two.warnings)
    assert "⚠" in collector.render_markdown(files_of(two), {"title": two.title})


def test_legacy_jsonl_is_streamed_with_metadata_from_first_and_last_lines(tmp_path):
    home, ctx = make_home(tmp_path, db=False)
    item = items(ctx)["20250301_142233"]
    snap = collector.read(item, ctx)
    assert snap.title == "Migrate the blog to Hugo"
    assert snap.created_at == 1740838953 and snap.updated_at == 1740838970
    assert [f.path for f in snap.files] == [home / ".local/share/goose/sessions" / LEGACY]
    assert snap.attributes["working_dir"] == "/home/u/site"
    page = collector.render_markdown(files_of(snap), {"title": snap.title})
    for text in ("Migrate my Jekyll blog in ./blog to Hugo.", "2024-01-01-hello.md",
                 "Two posts; front matter needs converting.", "ls blog/\\_posts"):
        assert text in page or text.replace("\\_", "_") in page, text
    assert "<details>" in page  # thinking is collapsed


def test_legacy_file_imported_into_the_database_is_not_an_item(tmp_path):
    home, ctx = make_home(tmp_path)
    sessions = home / ".local/share/goose/sessions"
    shutil.copyfile(GOOSE / LEGACY, sessions / "20250721_1.jsonl")
    assert list(items(ctx)) == ["20250721_1", "20250721_2", "20250301_142233"]


def test_title_falls_back_to_the_first_visible_prompt_and_torn_lines_warn(tmp_path):
    home, ctx = make_home(tmp_path, db=False)
    path = home / ".local/share/goose/sessions" / LEGACY
    lines = path.read_text().splitlines()
    meta = json.loads(lines[0])
    meta["description"] = ""
    path.write_text("\n".join([json.dumps(meta), *lines[1:]]) + '\n{"role":"assist')
    snap = collector.read(items(ctx)["20250301_142233"], ctx)
    assert snap.title == "Migrate my Jekyll blog in ./blog to Hugo."
    assert any("torn last line" in w for w in snap.warnings)
    assert "torn last line" in collector.render_markdown(files_of(snap), {"title": snap.title})


def test_discover_opens_no_session_file(tmp_path, monkeypatch):
    home, ctx = make_home(tmp_path, db=False)

    def no_open(*a, **k):
        raise AssertionError("discover opened a file")

    monkeypatch.setattr(builtins, "open", no_open)
    monkeypatch.setattr(os, "open", no_open)
    assert list(items(ctx)) == ["20250301_142233"]


def test_goose_path_root_and_path_option(tmp_path):
    root = tmp_path / "g"
    write_db(root / "data" / "sessions" / "sessions.db")
    ctx = CollectContext(home=tmp_path / "h", env={"GOOSE_PATH_ROOT": str(root)})
    assert len(items(ctx)) == 2
    ctx = CollectContext(home=tmp_path / "h", env={}, options={"path": str(root / "data" / "sessions")})
    assert len(items(ctx)) == 2


def test_damaged_and_locked_databases(tmp_path):
    home, ctx = make_home(tmp_path)
    db = home / ".local/share/goose/sessions/sessions.db"
    item = items(ctx)["20250721_1"]
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TemporaryItemError):
            collector.read(item, ctx)
    finally:
        con.execute("ROLLBACK")
        con.close()
    db.write_bytes(b"not a database at all" * 10)
    found = list(collector.discover(ctx))
    assert sum(isinstance(f, ItemError) for f in found) == 1
    assert [f.key for f in found if isinstance(f, SourceItem)] == ["20250301_142233"]


def test_large_legacy_file_metadata_reads_little(tmp_path):
    home, ctx = make_home(tmp_path, db=False)
    path = home / ".local/share/goose/sessions/big.jsonl"
    line = json.dumps({"role": "assistant", "created": 1740838999,
                       "content": [{"type": "text", "text": "y" * 10_000}]})
    with open(path, "w") as f:
        f.write(json.dumps({"description": "Big one"}) + "\n")
        for _ in range(2000):
            f.write(line + "\n")
    snap = collector.read(items(ctx)["big"], ctx)
    assert snap.title == "Big one" and snap.updated_at == 1740838999
