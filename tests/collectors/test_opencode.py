"""OpencodeCollector on the real-layout opencode fixtures, laid out as opencode writes them
(legacy JSON tree) and migrated into an ``opencode.db`` built from opencode's schema."""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
from pathlib import Path

import pytest

from collectors import CollectContext, ItemError, SourceItem, TemporaryItemError
from collectors.opencode import OpencodeCollector
from collectors.testing import CollectorConformance

from .collector_fixtures import SECRET, need_fixtures

SCHEMA = """
CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT NOT NULL, vcs TEXT, name TEXT,
  time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL);
CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, workspace_id TEXT,
  parent_id TEXT, slug TEXT NOT NULL, directory TEXT NOT NULL, path TEXT, title TEXT NOT NULL,
  version TEXT NOT NULL, share_url TEXT, summary_additions INTEGER, summary_deletions INTEGER,
  summary_files INTEGER, summary_diffs TEXT, cost REAL NOT NULL DEFAULT 0,
  tokens_input INTEGER NOT NULL DEFAULT 0, tokens_output INTEGER NOT NULL DEFAULT 0,
  tokens_reasoning INTEGER NOT NULL DEFAULT 0, tokens_cache_read INTEGER NOT NULL DEFAULT 0,
  tokens_cache_write INTEGER NOT NULL DEFAULT 0, revert TEXT, permission TEXT, agent TEXT,
  model TEXT, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL,
  time_compacting INTEGER, time_archived INTEGER);
CREATE INDEX session_project_idx ON session (project_id);
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
  time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX message_session_time_created_id_idx ON message (session_id, time_created, id);
CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL,
  time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX part_message_id_id_idx ON part (message_id, id);
CREATE INDEX part_session_idx ON part (session_id);
CREATE TABLE todo (session_id TEXT NOT NULL, content TEXT NOT NULL, status TEXT NOT NULL,
  priority TEXT NOT NULL, position INTEGER NOT NULL, time_created INTEGER NOT NULL,
  time_updated INTEGER NOT NULL, PRIMARY KEY (session_id, position));
CREATE TABLE session_share (session_id TEXT PRIMARY KEY, id TEXT NOT NULL, secret TEXT NOT NULL,
  url TEXT NOT NULL, time_created INTEGER, time_updated INTEGER);
CREATE TABLE account (id TEXT PRIMARY KEY, email TEXT, access_token TEXT, refresh_token TEXT);
"""

EXPECTED_TITLES = {
    "s_stage0_small": "OpenCode Small",
    "s_stage0_large": "OpenCode Large",
    "s_stage0_drift": "OpenCode Drift",
}

collector = OpencodeCollector()


# -- building sources -------------------------------------------------------------------------


def fixture_sessions() -> dict[str, dict]:
    """The fixture sessions as {id: {"session", "project", "messages": [(msg, [parts])]}} with
    ids taken from the JSON (what opencode names the files after)."""
    root = need_fixtures() / "opencode" / "agent-sessions"
    out: dict[str, dict] = {}
    for tree in ("storage_v2", "storage_legacy"):
        base = root / tree
        parts: dict[str, list] = {}
        for f in sorted((base / "part").rglob("*.json")):
            p = json.loads(f.read_text())
            mid = p.get("messageID") or f.parent.name
            parts.setdefault(mid, []).append((f.stem, p))
        for f in sorted((base / "session").rglob("*.json")):
            s = json.loads(f.read_text())
            msgs = []
            for mf in sorted((base / "message" / s["id"]).glob("*.json")):
                m = json.loads(mf.read_text())
                msgs.append((m, parts.get(m["id"], [])))
            out[s["id"]] = {"session": s, "project": f.parent.name, "messages": msgs}
    return out


def write_tree(storage: Path, sessions: dict[str, dict]) -> None:
    """Lay sessions out as opencode's Storage writes them (ids from the JSON)."""
    for sid, entry in sessions.items():
        d = storage / "session" / entry["project"]
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{sid}.json").write_text(json.dumps(entry["session"]))
        for m, parts in entry["messages"]:
            md_ = storage / "message" / sid
            md_.mkdir(parents=True, exist_ok=True)
            (md_ / f"{m['id']}.json").write_text(json.dumps(m))
            for stem, p in parts:
                pd = storage / "part" / m["id"]
                pd.mkdir(parents=True, exist_ok=True)
                (pd / f"{p.get('id', stem)}.json").write_text(json.dumps(p))


def write_db(db: Path, sessions: dict[str, dict], *, revert: dict | None = None,
             todos: dict[str, list] | None = None, wal: bool = False) -> sqlite3.Connection | None:
    """An opencode.db holding ``sessions``, moved in as json-migration.ts does. With ``wal``
    the connection stays open (returned) so the rows stay in the -wal, like a running opencode."""
    con = sqlite3.connect(db)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA wal_autocheckpoint=0")
    con.executescript(SCHEMA)
    con.execute("INSERT INTO account VALUES ('acc', 'u@example.com', ?, ?)", (SECRET.decode(), SECRET.decode()))
    for sid, entry in sessions.items():
        s = entry["session"]
        con.execute("INSERT OR IGNORE INTO project VALUES (?, '/', 'git', NULL, 1, 1)", (entry["project"],))
        con.execute(
            "INSERT INTO session (id, project_id, parent_id, slug, directory, title, version, "
            "summary_additions, summary_deletions, summary_files, revert, time_created, time_updated) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (sid, entry["project"], s.get("parentID"), s.get("slug", ""), s.get("directory", ""),
             s.get("title", ""), s.get("version", ""), s["summary"].get("additions"),
             s["summary"].get("deletions"), s["summary"].get("files"),
             json.dumps(revert) if revert and sid in revert.get("sessions", [sid]) else None,
             s["time"]["created"], s["time"]["updated"]))
        con.execute("INSERT INTO session_share VALUES (?, 'sh1', ?, 'https://opncd.ai/s/x', 1, 1)",
                    (sid, SECRET.decode()))
        for m, parts in entry["messages"]:
            rest = {k: v for k, v in m.items() if k not in ("id", "sessionID")}
            con.execute("INSERT INTO message VALUES (?,?,?,?,?)",
                        (m["id"], sid, m["time"]["created"], m["time"]["created"], json.dumps(rest)))
            for stem, p in parts:
                prest = {k: v for k, v in p.items() if k not in ("id", "messageID", "sessionID")}
                con.execute("INSERT INTO part VALUES (?,?,?,?,?,?)",
                            (p.get("id", stem), m["id"], sid, 1, 1, json.dumps(prest)))
        for pos, t in enumerate((todos or {}).get(sid, [])):
            con.execute("INSERT INTO todo VALUES (?,?,?,?,?,1,1)", (sid, t[0], t[1], "high", pos))
    con.commit()
    if wal:
        return con
    con.close()
    return None


def home_with(tmp_path: Path, *, tree: dict | None = None, db: dict | None = None, **kw) -> tuple[Path, CollectContext]:
    home = tmp_path / "home"
    data = home / ".local" / "share" / "opencode"
    data.mkdir(parents=True, exist_ok=True)
    if tree:
        write_tree(data / "storage", tree)
    if db:
        write_db(data / "opencode.db", db, **kw)
    (data / "auth.json").write_bytes(b'{"anthropic":{"type":"api","key":"' + SECRET + b'"}}')
    return home, CollectContext(home=home, env={})


def items(ctx: CollectContext) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


def snapshot_files(snap) -> dict[str, bytes]:
    return {f.name: (f.data if f.data is not None else Path(f.path).read_bytes()) for f in snap.files}


def texts_of(entry: dict) -> list[str]:
    out = []
    for m, parts in entry["messages"]:
        for _, p in parts:
            for key in ("text",):
                if isinstance(p.get(key), str):
                    out.append(p[key])
            state = p.get("state")
            if isinstance(state, dict) and isinstance(state.get("output"), str):
                out.extend(line for line in state["output"].splitlines() if line.strip())
    return out


# -- conformance ----------------------------------------------------------------------------


class TestOpencodeConformance(CollectorConformance):
    """One session in ``opencode.db`` and the others in the legacy tree (sessions opencode's
    migration skipped), one with a large tool output so the torn-file check hits a JSON file."""

    credential_files = (".local/share/opencode/auth.json",)

    def make_collector(self):
        return OpencodeCollector()

    def make_sources(self, home: Path) -> None:
        sessions = fixture_sessions()
        data = home / ".local" / "share" / "opencode"
        data.mkdir(parents=True, exist_ok=True)
        write_db(data / "opencode.db", {"s_stage0_small": sessions.pop("s_stage0_small")})
        big = sessions["s_stage0_large"]["messages"][1][1][0][1]
        big["state"]["output"] = "x" * 200_000
        write_tree(data / "storage", sessions)

    def hostile_source(self, home: Path, title: str) -> bool:
        sessions = fixture_sessions()
        entry = sessions["s_stage0_small"]
        entry["session"]["title"] = title
        data = home / ".local" / "share" / "opencode"
        data.mkdir(parents=True)
        write_db(data / "opencode.db", {"s_stage0_small": entry})
        return True


# -- behaviour -------------------------------------------------------------------------------


def test_legacy_tree_titles_files_and_every_text(tmp_path):
    sessions = fixture_sessions()
    home, ctx = home_with(tmp_path, tree=sessions)
    found = items(ctx)
    assert set(found) == set(EXPECTED_TITLES)
    for key, item in found.items():
        snap = collector.read(item, ctx)
        assert snap.title == EXPECTED_TITLES[key] and not snap.warnings
        assert snap.attributes["source"] == "storage"
        names = [f.name for f in snap.files]
        assert names[0] == f"session/proj_test/{key}.json"
        assert all(f.path is not None for f in snap.files)  # streamed from disk
        n_parts = sum(len(p) for _, p in sessions[key]["messages"])
        assert len(names) == 1 + len(sessions[key]["messages"]) + n_parts
        assert {s.path for s in item.stamps} == {str(f.path) for f in snap.files}
        page = collector.render_markdown(snapshot_files(snap), {"title": snap.title, "native_id": key})
        for text in texts_of(sessions[key]):
            assert text.strip() in page, (key, text)


def test_database_rows_are_stored_as_jsonl_without_secrets(tmp_path):
    sessions = fixture_sessions()
    home, ctx = home_with(tmp_path, db=sessions, todos={"s_stage0_large": [("write tests", "pending")]})
    found = items(ctx)
    assert set(found) == set(EXPECTED_TITLES)
    db = home / ".local/share/opencode/opencode.db"
    for key, item in found.items():
        assert [s.path for s in item.stamps] == [str(db)]
        snap = collector.read(item, ctx)
        assert snap.title == EXPECTED_TITLES[key]
        assert snap.source_path == f"{db}#session/{key}"
        files = snapshot_files(snap)
        assert {"session.jsonl", "message.jsonl"} <= set(files)
        for data in files.values():
            assert SECRET not in data
        rows = [json.loads(line) for line in files["message.jsonl"].splitlines()]
        con = sqlite3.connect(db)
        stored = dict(con.execute("SELECT id, data FROM message WHERE session_id = ?", (key,)))
        con.close()
        assert {r["id"]: r["data"] for r in rows} == stored  # columns exactly as stored
        page = collector.render_markdown(files, {"title": snap.title, "native_id": key})
        for text in texts_of(sessions[key]):
            assert text.strip() in page
    large = collector.read(found["s_stage0_large"], ctx)
    assert "todo.jsonl" in snapshot_files(large)
    assert "write tests" in collector.render_markdown(snapshot_files(large), {"title": "t"})


def test_database_wins_over_the_migrated_legacy_copy_and_channels_get_suffixes(tmp_path):
    sessions = fixture_sessions()
    home, ctx = home_with(tmp_path, tree=sessions, db={"s_stage0_small": sessions["s_stage0_small"]})
    data = home / ".local/share/opencode"
    write_db(data / "opencode-dev.db", {"s_stage0_small": sessions["s_stage0_small"]})
    found = items(ctx)
    assert set(found) == {"s_stage0_small", "s_stage0_small@dev", "s_stage0_large", "s_stage0_drift"}
    assert isinstance(found["s_stage0_small"].hint.db, Path)
    assert found["s_stage0_small"].hint.db.name == "opencode.db"
    assert collector.read(found["s_stage0_small@dev"], ctx).native_id == "s_stage0_small@dev"


def test_opencode_db_env_and_path_option(tmp_path):
    sessions = fixture_sessions()
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(parents=True)
    write_db(elsewhere / "mine.db", {"s_stage0_drift": sessions["s_stage0_drift"]})
    ctx = CollectContext(home=home, env={"OPENCODE_DB": str(elsewhere / "mine.db")})
    assert set(items(ctx)) == {"s_stage0_drift"}
    ctx = CollectContext(home=home, env={"OPENCODE_DB": ":memory:"})
    assert items(ctx) == {}
    write_tree(elsewhere / "storage", sessions)
    ctx = CollectContext(home=home, env={}, options={"path": str(elsewhere)})
    assert set(items(ctx)) == set(EXPECTED_TITLES)  # no opencode.db there: the tree only


def test_rows_still_in_the_wal_are_read(tmp_path):
    sessions = fixture_sessions()
    home, ctx = home_with(tmp_path)
    db = home / ".local/share/opencode/opencode.db"
    writer = write_db(db, sessions, wal=True)
    try:
        found = items(ctx)
        assert [s.path for s in found["s_stage0_large"].stamps] == [str(db), str(db) + "-wal"]
        assert collector.read(found["s_stage0_large"], ctx).title == "OpenCode Large"
    finally:
        writer.close()


def test_revert_is_shown_as_a_branch_marker(tmp_path):
    sessions = fixture_sessions()
    entry = sessions["s_stage0_large"]
    home, ctx = home_with(tmp_path, db={"s_stage0_large": entry}, revert={"messageID": "m_user_large_2"})
    snap = collector.read(items(ctx)["s_stage0_large"], ctx)
    assert snap.attributes["reverted"] is True
    page = collector.render_markdown(snapshot_files(snap), {"title": snap.title})
    marker = page.index("Reverted from here")
    assert page.index("Step 1") < marker < page.index("Step 2")


def test_discover_opens_no_file_of_the_tree(tmp_path, monkeypatch):
    home, ctx = home_with(tmp_path, tree=fixture_sessions())

    def no_open(*a, **k):
        raise AssertionError(f"discover opened {a[0]!r}")

    monkeypatch.setattr(builtins, "open", no_open)
    monkeypatch.setattr(os, "open", no_open)
    assert len(items(ctx)) == 3


def test_discover_lists_the_database_without_reading_sessions(tmp_path, monkeypatch):
    home, ctx = home_with(tmp_path, db=fixture_sessions())
    import collectors.opencode.collector as mod

    monkeypatch.setattr(mod, "read_session_rows", lambda *a: pytest.fail("read during discover"))
    assert len(items(ctx)) == 3


def test_bad_json_files_are_warnings_and_titles_fall_back(tmp_path):
    sessions = fixture_sessions()
    home, ctx = home_with(tmp_path, tree=sessions)
    storage = home / ".local/share/opencode/storage"
    (storage / "session/proj_test/s_stage0_small.json").write_text('{"id": "s_stage0_sm')
    (storage / "part/m_assistant_small/p_text_1.json").write_bytes(b"\xff\xfe")
    snap = collector.read(items(ctx)["s_stage0_small"], ctx)
    assert snap.title == "Hello" and snap.attributes["title_source"] == "first prompt"
    assert any("not valid JSON" in w for w in snap.warnings)
    assert any("not UTF-8" in w for w in snap.warnings)
    page = collector.render_markdown(snapshot_files(snap), {"title": snap.title})
    assert "⚠" in page and "Hello" in page


def test_damaged_database_is_an_item_error_and_the_tree_is_kept(tmp_path):
    sessions = fixture_sessions()
    home, ctx = home_with(tmp_path, tree={"s_stage0_drift": sessions["s_stage0_drift"]})
    (home / ".local/share/opencode/opencode.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    found = list(collector.discover(ctx))
    errors = [f for f in found if isinstance(f, ItemError)]
    assert len(errors) == 1 and "opencode.db" in errors[0].path
    assert [f.key for f in found if isinstance(f, SourceItem)] == ["s_stage0_drift"]


def test_locked_database_is_temporary(tmp_path):
    sessions = fixture_sessions()
    home, ctx = home_with(tmp_path, db={"s_stage0_drift": sessions["s_stage0_drift"]})
    item = items(ctx)["s_stage0_drift"]
    con = sqlite3.connect(home / ".local/share/opencode/opencode.db", isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TemporaryItemError):
            collector.read(item, ctx)
    finally:
        con.execute("ROLLBACK")
        con.close()


def test_session_removed_between_discover_and_read(tmp_path):
    sessions = fixture_sessions()
    home, ctx = home_with(tmp_path, db=sessions)
    item = items(ctx)["s_stage0_drift"]
    con = sqlite3.connect(home / ".local/share/opencode/opencode.db")
    con.execute("DELETE FROM session WHERE id = 's_stage0_drift'")
    con.commit()
    con.close()
    with pytest.raises(TemporaryItemError):
        collector.read(item, ctx)


def test_render_marks_unknown_parts_and_never_raises():
    session = json.dumps({"id": "s", "title": "T", "time_created": 1, "time_updated": 2}).encode()
    msgs = b'{"id":"m1","session_id":"s","time_created":1,"time_updated":1,"data":"{\\"role\\":\\"assistant\\"}"}\n{torn'
    parts = b'{"id":"p1","message_id":"m1","session_id":"s","data":"{\\"type\\":\\"hologram\\"}"}\n'
    page = collector.render_markdown({"session.jsonl": session, "message.jsonl": msgs, "part.jsonl": parts},
                                     {"title": "T"})
    assert "hologram" in page and "torn last line" in page
    assert collector.render_markdown({"session.jsonl": b"\x00\xff"}, {}).startswith("# ")
    assert collector.render_markdown({}, {"title": None}).startswith("# ")


def test_shared_and_temporary_files_are_never_collected(tmp_path):
    sessions = fixture_sessions()
    home, ctx = home_with(tmp_path, tree=sessions)
    storage = home / ".local/share/opencode/storage"
    (storage / "session_share").mkdir()
    (storage / "session_share" / "s_stage0_small.json").write_bytes(b'{"secret":"' + SECRET + b'"}')
    (storage / "session/proj_test/.oc-s_stage0_small.json.1.tmp").write_bytes(SECRET)
    for item in items(ctx).values():
        assert all("session_share" not in s.path and ".oc-" not in s.path for s in item.stamps)
        for data in snapshot_files(collector.read(item, ctx)).values():
            assert SECRET not in data


def test_a_missing_tree_or_data_dir_is_not_an_error(tmp_path):
    ctx = CollectContext(home=tmp_path / "nobody", env={})
    assert collector.locate(ctx) == [] and items(ctx) == {}
