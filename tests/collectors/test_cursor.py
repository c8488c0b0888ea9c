"""CursorCollector on a tmp $HOME laid out as Cursor and cursor-agent write it: the real
workspace capture, built global / workspace / cursor-agent databases, transcript fixtures."""

from __future__ import annotations

import builtins
import io
import json
import os
import pathlib
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import collectors.sqlite as sqlite_helpers
from collectors import CollectContext, ItemError, SourceItem, TemporaryItemError
from collectors.cursor import CursorCollector, vscdb
from collectors.cursor.paths import user_dir
from collectors.cursor.records import Record, iter_records
from collectors.testing import CollectorConformance
from collectors.titles import title_from_text

from .collector_fixtures import need_fixtures, records
from .cursor_fixtures import (
    A_ID,
    B_ID,
    C_ID,
    DRAFT_ID,
    E_ID,
    MODERN_WS,
    REAL_WS,
    TOKEN,
    USER_REL,
    CursorHome,
    build_agent_store,
    build_cursor_home,
    build_global_db,
    build_modern_workspace,
    composers_spec,
    store_spec,
    write_kv_db,
)

collector = CursorCollector()
STORE_ID = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
FIXTURE_STORE_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
NO_CREDENTIALS = "NOT (CAST(key AS TEXT) LIKE 'cursorAuth/%')"


@pytest.fixture
def cursor_home(tmp_path: Path) -> CursorHome:
    return build_cursor_home(tmp_path)


@pytest.fixture
def traced(monkeypatch) -> tuple[list[str], list[str]]:
    """``(paths opened, SQL statements run)`` on every database the collector opens
    (statements with their parameters expanded)."""
    opened: list[str] = []
    statements: list[str] = []
    real_open = sqlite_helpers.open_readonly

    def spy(path):
        opened.append(os.fspath(path))
        con = real_open(path)
        con.set_trace_callback(statements.append)
        return con

    monkeypatch.setattr(sqlite_helpers, "open_readonly", spy)
    return opened, statements


def discover(ctx: CollectContext) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    assert len({f.key for f in found}) == len(found)
    return {f.key: f for f in found}


def contents(snap) -> dict[str, bytes]:
    return {f.name: (f.data if f.data is not None else Path(f.path).read_bytes())
            for f in snap.files}


def read(ctx: CollectContext, key: str, coll: CursorCollector = collector):
    snap = coll.read(discover(ctx)[key], ctx)
    return snap, contents(snap)


def meta_of(snap) -> dict[str, Any]:
    return {"title": snap.title, "native_id": snap.native_id,
            "attributes": dict(snap.attributes), "links": dict(snap.links),
            "warnings": list(snap.warnings), "created_at": snap.created_at,
            "updated_at": snap.updated_at}


def render(ctx: CollectContext, key: str) -> str:
    snap, files = read(ctx, key)
    return collector.render_markdown(files, meta_of(snap))


def flat(text: str) -> str:
    """What survives Markdown escaping: no backslashes, whitespace collapsed."""
    return " ".join(text.replace("\\", "").split())


def assert_texts_in(markdown: str, texts: list[str]) -> None:
    page = flat(markdown)
    missing = [t[:80] for t in texts if t.strip() and flat(t) not in page]
    assert not missing, missing


def real_db_values() -> tuple[dict, dict, list]:
    """composer.composerData, the legacy chat data and aiService.prompts of the real capture,
    parsed independently of the collector."""
    db = need_fixtures() / "cursor" / "cursor-history" / "state.vscdb"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    query = "SELECT value FROM ItemTable WHERE key = ?"
    values = tuple(json.loads(con.execute(query, (k,)).fetchone()[0])
                   for k in (vscdb.WS_COMPOSERS, vscdb.WS_CHAT, vscdb.WS_PROMPTS))
    con.close()
    return values  # type: ignore[return-value]


def transcript_line(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "message": {"content": [{"type": "text", "text": text}]}}


# -- conformance ------------------------------------------------------------------------------


class TestCursorConformance(CollectorConformance):
    """Sources: the built global database (WAL), a modern workspace, a cursor-agent session
    and two transcripts, one of them the largest file. The suite truncates the largest file
    and requires that only one item fails; a database holds several conversations, so its
    damage is tested separately (test_damaged_global_database_costs_only_its_items)."""

    credential_files = (".cursor/cli-config.json", ".config/cursor/auth.json")

    def make_collector(self):
        return CursorCollector()

    def make_sources(self, home: Path) -> None:
        user = home / USER_REL
        build_global_db(user)
        build_modern_workspace(user)
        build_agent_store(home / ".cursor" / "chats")
        folder = home / ".cursor" / "projects" / "home-u-p" / "agent-transcripts"
        lines = []
        for n in range(400):
            lines.append(transcript_line("user", f"question {n} " + "x" * 200))
            lines.append(transcript_line("assistant", f"answer {n} " + "y" * 200))
        for ident, count in (("11111111-1111-4111-8111-111111111111", 4),
                             ("22222222-2222-4222-8222-222222222222", len(lines))):
            (folder / ident).mkdir(parents=True)
            (folder / ident / f"{ident}.jsonl").write_text(
                "".join(json.dumps(x) + "\n" for x in lines[:count]))

    def hostile_source(self, home: Path, title: str) -> bool:
        header = {"_v": 10, "composerId": "h-1", "name": title, "createdAt": 1766691308486,
                  "fullConversationHeadersOnly": [{"bubbleId": "u", "type": 1}]}
        bubble = {"_v": 3, "type": 1, "bubbleId": "u", "text": "hello"}
        write_kv_db(home / USER_REL / "globalStorage" / "state.vscdb", {"cursorDiskKV": [
            ("composerData:h-1", json.dumps(header)), ("bubbleId:h-1:u", json.dumps(bubble))]})
        return True


# -- discovery --------------------------------------------------------------------------------


def expected_keys(home: CursorHome) -> set[str]:
    composers, chats, _ = real_db_values()
    keys = {f"transcript-{ident}" for ident, _ in home.transcripts.values()}
    keys |= set(home.stores)
    keys |= {A_ID, B_ID, C_ID, E_ID}
    keys |= {c["composerId"] for c in composers["allComposers"]}
    keys |= {f"chat-{t['tabId']}" for t in chats["tabs"]}
    keys |= {f"prompts-{REAL_WS}", f"prompts-{MODERN_WS}"}
    return keys


def test_discover_finds_every_conversation_and_leaves_drafts_out(cursor_home: CursorHome):
    items = discover(cursor_home.ctx)
    assert set(items) == expected_keys(cursor_home)
    assert DRAFT_ID not in items
    assert collector.locate(cursor_home.ctx) == [cursor_home.user, cursor_home.agent]
    rank = {"transcript": 0, "agent-session": 1, "composer": 2,
            "workspace-composer": 3, "chat": 3, "prompts": 3}
    ranks = [rank[item.hint.kind] for item in items.values()]  # files first, then databases
    assert ranks == sorted(ranks)


def test_stamps_name_every_file_read(cursor_home: CursorHome):
    items = discover(cursor_home.ctx)
    global_db = str(cursor_home.user / "globalStorage" / "state.vscdb")
    assert [s.path for s in items[A_ID].stamps] == [global_db, global_db + "-wal"]
    real = cursor_home.user / "workspaceStorage" / REAL_WS
    assert [s.path for s in items[f"prompts-{REAL_WS}"].stamps] == [
        str(real / "state.vscdb"), str(real / "workspace.json")]
    ident, main = cursor_home.transcripts["subagent/parent.jsonl"]
    assert [s.path for s in items[f"transcript-{ident}"].stamps] == [
        str(main), str(main.parent / "subagents" / "child.jsonl")]
    assert items[STORE_ID].stamps[0].path == str(cursor_home.stores[STORE_ID])


def test_discover_opens_no_file_and_only_lists_keys(cursor_home: CursorHome, traced, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("discover opened a file")

    for target, name in ((builtins, "open"), (io, "open"), (os, "open"), (pathlib.Path, "open"),
                         (pathlib.Path, "read_bytes"), (pathlib.Path, "read_text")):
        monkeypatch.setattr(target, name, refuse)
    found = list(collector.discover(cursor_home.ctx))
    assert len(found) == len(expected_keys(cursor_home))
    opened, statements = traced
    assert opened and all(p.endswith("state.vscdb") for p in opened), opened  # no store.db
    reads = [s for s in statements if s.startswith("SELECT") and "sqlite_master" not in s]
    for sql in reads:
        assert NO_CREDENTIALS in sql, sql
        assert re.match(r"SELECT (key|1|typeof\(value\), value) FROM", sql), sql
    # Values discover reads: the two multi-conversation workspace values, and the header of
    # a global composer without bubble rows (the 0.4x inline one, the empty draft).
    values = {re.search(r"key = '([^']*)'", s).group(1) for s in reads if "typeof(value)" in s}
    assert values <= {vscdb.WS_COMPOSERS, vscdb.WS_CHAT, f"composerData:{C_ID}",
                      f"composerData:{DRAFT_ID}"}


def test_a_folder_that_cannot_be_listed_is_an_error(cursor_home: CursorHome, monkeypatch):
    real_scandir = os.scandir
    denied = str(cursor_home.agent / "projects")

    def scandir(path="."):
        if os.fspath(path) == denied:
            raise PermissionError(13, "Permission denied", denied)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = list(collector.discover(cursor_home.ctx))
    errors = [f for f in found if isinstance(f, ItemError)]
    assert [(e.path, e.reason) for e in errors] == [(denied, "permission denied")]
    assert A_ID in {f.key for f in found if isinstance(f, SourceItem)}


def test_options_point_elsewhere_and_platform_defaults(cursor_home: CursorHome, tmp_path: Path):
    moved_user = tmp_path / "elsewhere" / "User"
    moved_agent = tmp_path / "elsewhere" / "agent"
    shutil.move(str(cursor_home.user), moved_user)
    shutil.move(str(cursor_home.agent), moved_agent)
    assert list(collector.discover(cursor_home.ctx)) == []
    ctx = CollectContext(home=cursor_home.home, env={},
                         options={"path": str(moved_user), "agent_path": str(moved_agent)})
    assert collector.locate(ctx) == [moved_user, moved_agent]
    assert A_ID in discover(ctx) and STORE_ID in discover(ctx)
    home = Path("/h")
    mac = user_dir(CollectContext(home, {}), "darwin")
    assert mac == home / "Library" / "Application Support" / "Cursor" / "User"
    windows = user_dir(CollectContext(home, {"APPDATA": "/h/AppData/Roaming"}), "win32")
    assert windows == Path("/h/AppData/Roaming/Cursor/User")
    xdg = user_dir(CollectContext(home, {"XDG_CONFIG_HOME": "/x"}), "linux")
    assert xdg == Path("/x/Cursor/User")
    assert user_dir(CollectContext(home, {}, {"path": "~/c/User"})) == home / "c" / "User"


# -- titles and metadata ----------------------------------------------------------------------


def test_titles_as_cursor_shows_them(cursor_home: CursorHome):
    expected = {
        A_ID: "Fix the flaky login test",                 # the composer's name
        B_ID: "What does `git rebase --onto` do?",        # no name: first prompt, first line
        C_ID: "Inline conversation (0.4x format)",
        E_ID: "Summarize the README",                     # the prompt only in richText
        STORE_ID: "Bump the dependencies",                # meta name
        FIXTURE_STORE_ID: "Test Session",
        f"prompts-{MODERN_WS}": "Prompt history · proj",
    }
    for name, title in (
        ("small.jsonl", "List the files."),
        ("test-session.jsonl", "run ls command"),         # <user_query> tags stripped
        ("schema_drift.jsonl", "Use the repo context and explain the latest build issue."),
    ):
        expected[f"transcript-{cursor_home.transcripts[name][0]}"] = title
    for key, title in expected.items():
        assert read(cursor_home.ctx, key)[0].title == title, key


def test_real_capture_titles_times_and_workspace(cursor_home: CursorHome):
    composers, chats, prompts = real_db_values()
    ctx = cursor_home.ctx
    for composer in composers["allComposers"]:
        snap, _ = read(ctx, composer["composerId"])
        first = next(b["text"] for b in composer["conversation"] if b["type"] == 1)
        assert snap.title == (composer.get("name") or title_from_text(first))
        assert snap.created_at == composer["createdAt"] / 1000
        assert snap.attributes["workspace_path"] == "c:/Users/ydebray/Documents/mobilechat"
        assert snap.attributes["kind"] == "workspace-composer"
    for tab in chats["tabs"]:
        snap, _ = read(ctx, f"chat-{tab['tabId']}")
        assert snap.title == tab["chatTitle"] and snap.updated_at == tab["lastSendTime"] / 1000
        assert snap.attributes["models"] == ["claude-3.5-sonnet"]
    snap, _ = read(ctx, f"prompts-{REAL_WS}")
    assert snap.attributes["prompts"] == len(prompts) == 66


def test_composer_metadata(cursor_home: CursorHome):
    snap, _ = read(cursor_home.ctx, A_ID)
    attrs = snap.attributes
    assert (attrs["kind"], attrs["mode"], attrs["git_branch"]) == ("composer", "agent", "main")
    assert attrs["model"] == attrs["models"][0] == "claude-4.5-sonnet-thinking"
    assert attrs["messages"] == 7 and attrs["workspace_path"] == "/home/u/proj"
    assert snap.created_at == 1766691308.486 and snap.updated_at == 1766692125.731
    assert snap.warnings == () and snap.files[0].mtime_ns == 1766692125731 * 10**6
    json.dumps(dict(attrs))
    snap, _ = read(cursor_home.ctx, B_ID)
    assert snap.attributes["missing_messages"] == snap.attributes["unreferenced_messages"] == 1
    assert snap.warnings == ("1 message(s) named by the conversation are not in the database",)


def test_transcript_links_and_subagents(cursor_home: CursorHome):
    ident, _ = cursor_home.transcripts["large.jsonl"]
    snap, _ = read(cursor_home.ctx, f"transcript-{ident}")
    assert snap.links == {"transcript_of": A_ID}
    ident, main = cursor_home.transcripts["test-session.jsonl"]
    snap, files = read(cursor_home.ctx, f"transcript-{ident}")
    assert list(files) == [main.name, "subagents/subagent-session.jsonl"]
    assert files[main.name] == main.read_bytes() and snap.attributes["subagents"] == 1
    assert all(f.path is not None for f in snap.files)  # streamed from disk


def test_same_composer_in_global_and_workspace_gets_a_suffix(cursor_home: CursorHome):
    ws = cursor_home.user / "workspaceStorage" / "0000copy"
    element = {"composerId": A_ID, "createdAt": 1,
               "conversation": [{"type": 1, "text": "old copy"}]}
    write_kv_db(ws / "state.vscdb", {"ItemTable": [
        ("composer.composerData", json.dumps({"allComposers": [element]}))]})
    items = discover(cursor_home.ctx)
    copies = [k for k in items if k.startswith(A_ID + "@workspace-")]
    assert len(copies) == 1 and items[A_ID].hint.kind == "composer"
    assert read(cursor_home.ctx, copies[0])[0].title == "old copy"


# -- raw files --------------------------------------------------------------------------------


def test_global_composer_raw_file_is_its_own_rows_exactly(cursor_home: CursorHome):
    _, files = read(cursor_home.ctx, A_ID)
    lines = list(iter_records(files["composer.jsonl"]))
    assert all(isinstance(r, Record) for r in lines)
    db = cursor_home.user / "globalStorage" / "state.vscdb"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.text_factory = bytes
    stored = {k.decode(): (t.decode(), v) for k, t, v in con.execute(
        "SELECT key, typeof(value), value FROM cursorDiskKV")}
    heads = composers_spec()["composers"][0]["composerData"]["fullConversationHeadersOnly"]
    order = [f"composerData:{A_ID}"] + [f"bubbleId:{A_ID}:{h['bubbleId']}" for h in heads]
    assert [r.key for r in lines] == order
    for r in lines:
        assert (r.sqlite_type, r.data) == stored[r.key]
    _, files = read(cursor_home.ctx, E_ID)
    (blob,) = [r for r in iter_records(files["composer.jsonl"]) if r.key.endswith(":e-2")]
    assert blob.sqlite_type == "blob" and blob.data == stored[blob.key][1]


def test_workspace_elements_are_exact_slices_of_the_stored_value(cursor_home: CursorHome):
    composers, chats, _ = real_db_values()
    con = sqlite3.connect(f"file:{cursor_home.real_workspace / 'state.vscdb'}?mode=ro", uri=True)
    raw = dict(con.execute("SELECT key, value FROM ItemTable"))
    cases = (
        (vscdb.WS_COMPOSERS, composers["allComposers"][7]["composerId"], "composer.jsonl"),
        (vscdb.WS_CHAT, f"chat-{chats['tabs'][0]['tabId']}", "chat.jsonl"),
    )
    for key, item_key, name in cases:
        _, files = read(cursor_home.ctx, item_key)
        (record,) = list(iter_records(files[name]))
        assert record.key == key and record.text() in raw[key]
        assert record.element_of == ("/allComposers" if key == vscdb.WS_COMPOSERS else "/tabs")
    _, files = read(cursor_home.ctx, f"prompts-{REAL_WS}")
    (record,) = list(iter_records(files["prompts.jsonl"]))
    assert record.text() == raw[vscdb.WS_PROMPTS]


def test_reading_twice_gives_identical_bytes(cursor_home: CursorHome):
    fresh = CursorCollector()
    for key in (A_ID, B_ID, STORE_ID, f"chat-{real_db_values()[1]['tabs'][1]['tabId']}"):
        assert read(cursor_home.ctx, key)[1] == read(cursor_home.ctx, key, fresh)[1]


def test_store_raw_file_has_every_row(cursor_home: CursorHome):
    _, files = read(cursor_home.ctx, STORE_ID)
    lines = list(iter_records(files["store.jsonl"]))
    con = sqlite3.connect(cursor_home.stores[STORE_ID])
    blobs = {r.key: r.data for r in lines if r.table == "blobs"}
    assert blobs == dict(con.execute("SELECT id, data FROM blobs"))
    (meta,) = [r for r in lines if r.table == "meta"]
    assert meta.key == "0" and meta.text() == con.execute("SELECT value FROM meta").fetchone()[0]


# -- credentials ------------------------------------------------------------------------------


def test_credentials_are_never_read(cursor_home: CursorHome, traced):
    for key, item in discover(cursor_home.ctx).items():
        snap = collector.read(item, cursor_home.ctx)
        files = contents(snap)
        for name, data in files.items():
            assert TOKEN not in data and b"cursorAuth" not in data, (key, name)
        assert TOKEN.decode() not in collector.render_markdown(files, meta_of(snap))
    _, statements = traced
    selects = [s for s in statements if re.match(r"SELECT .* FROM (ItemTable|cursorDiskKV)\b", s)]
    assert selects and all(NO_CREDENTIALS in s for s in selects)
    # the filter itself, asked for the planted keys by name
    db = cursor_home.user / "globalStorage" / "state.vscdb"
    with sqlite_helpers.read_snapshot(db) as con:
        assert vscdb._get(con, "ItemTable", "cursorAuth/accessToken") is None
        assert vscdb._get(con, "cursorDiskKV", "cursorAuth/refreshToken") is None
        planted = "SELECT count(*) FROM cursorDiskKV WHERE key LIKE 'cursorAuth/%'"
        assert con.execute(planted).fetchone()[0] == 3


def test_credential_files_and_links_are_never_collected(cursor_home: CursorHome):
    for item in discover(cursor_home.ctx).values():
        for stamp in item.stamps:
            real = Path(os.path.realpath(stamp.path))
            assert real.name not in ("cli-config.json", "auth.json")
            if real.suffix == ".jsonl":
                assert TOKEN not in real.read_bytes()


# -- WAL, locks, damage -----------------------------------------------------------------------


def test_rows_still_in_the_wal_are_read_while_cursor_runs(tmp_path: Path):
    home = tmp_path / "home"
    user = home / USER_REL
    writer = build_global_db(user, wal=True, keep_open=True)
    insert = "INSERT INTO cursorDiskKV VALUES (?, ?)"
    try:
        db = user / "globalStorage" / "state.vscdb"
        header = {"_v": 10, "composerId": "live", "name": "Written just now", "createdAt": 1,
                  "fullConversationHeadersOnly": [{"bubbleId": "q", "type": 1}]}
        writer.execute(insert, ("composerData:live", json.dumps(header)))
        bubble = {"type": 1, "bubbleId": "q", "text": "still in the WAL"}
        writer.execute(insert, ("bubbleId:live:q", json.dumps(bubble)))
        writer.commit()
        assert Path(str(db) + "-wal").stat().st_size > 0
        before = db.read_bytes()
        ctx = CollectContext(home=home, env={})
        items = discover(ctx)
        snap, files = read(ctx, "live")
        assert snap.title == "Written just now" and b"still in the WAL" in files["composer.jsonl"]
        assert db.read_bytes() == before  # nothing written, nothing checkpointed
        writer.execute(insert, ("bubbleId:live:r", json.dumps({"type": 2, "text": "more"})))
        writer.commit()
        assert discover(ctx)["live"].stamps != items["live"].stamps  # the -wal stamp moved
        texts = [r.text() for r in iter_records(read(ctx, "live")[1]["composer.jsonl"])]
        assert any('"text": "more"' in t for t in texts)
    finally:
        writer.close()


def test_stamps_are_stable_once_listed(cursor_home: CursorHome):
    first = discover(cursor_home.ctx)
    for item in first.values():
        collector.read(item, cursor_home.ctx)
    again = discover(cursor_home.ctx)

    def comparable(stamps):
        # As root, SQLite fchown()s the -wal at every open, which moves its ctime (not as a
        # normal user); see the report about db_stamps.
        if os.geteuid() != 0:
            return list(stamps)
        return [(s.path, s.ino, s.size, s.mtime_ns) if s.path.endswith("-wal") else s
                for s in stamps]

    for key in (A_ID, f"chat-{real_db_values()[1]['tabs'][0]['tabId']}"):
        assert comparable(again[key].stamps) == comparable(first[key].stamps)


def test_locked_database_is_a_temporary_error(tmp_path: Path, monkeypatch):
    home = tmp_path / "home"
    build_global_db(home / USER_REL, wal=False)
    ctx = CollectContext(home=home, env={})
    item = discover(ctx)[A_ID]
    con = sqlite3.connect(home / USER_REL / "globalStorage" / "state.vscdb")
    con.execute("BEGIN EXCLUSIVE")  # rollback journal, exclusive lock: readers must wait
    monkeypatch.setattr(sqlite_helpers, "BUSY_TIMEOUT", 0.1)
    try:
        with pytest.raises(TemporaryItemError):
            collector.read(item, ctx)
        assert any(isinstance(f, TemporaryItemError) for f in collector.discover(ctx))
    finally:
        con.rollback()
        con.close()


def test_damaged_global_database_costs_only_its_items(cursor_home: CursorHome):
    db = cursor_home.user / "globalStorage" / "state.vscdb"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)
    found = list(collector.discover(cursor_home.ctx))
    errors = [f for f in found if isinstance(f, ItemError)]
    assert len(errors) == 1 and errors[0].path == str(db) and "SQLite" in errors[0].reason
    items = [f for f in found if isinstance(f, SourceItem)]
    assert len(items) == len(expected_keys(cursor_home)) - 4  # A, B, C, E
    for item in items:
        assert collector.read(item, cursor_home.ctx).files


def test_truncated_workspace_database_fails_only_its_own_items(cursor_home: CursorHome):
    db = cursor_home.real_workspace / "state.vscdb"
    items = discover(cursor_home.ctx)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) * 2 // 3])
    failed = 0
    for item in items.values():
        if item.hint.path != db:
            continue
        try:
            collector.read(item, cursor_home.ctx)
        except ItemError as e:
            assert e.path == str(db) and e.reason
            failed += 1
    assert failed
    assert collector.read(items[A_ID], cursor_home.ctx).title == "Fix the flaky login test"


def test_bad_workspace_value_is_reported_and_the_rest_is_listed(cursor_home: CursorHome):
    ws = cursor_home.user / "workspaceStorage" / "bad"
    cut = '{"allComposers": [{"composerId": "x",'
    write_kv_db(ws / "state.vscdb", {"ItemTable": [("composer.composerData", cut)]})
    found = list(collector.discover(cursor_home.ctx))
    errors = [(f.path, f.reason) for f in found if isinstance(f, ItemError)]
    assert errors == [(str(ws / "state.vscdb"), "composer.composerData: not valid JSON")]
    assert len(found) - 1 == len(expected_keys(cursor_home))


def test_conversation_gone_between_listing_and_reading(cursor_home: CursorHome):
    items = discover(cursor_home.ctx)
    con = sqlite3.connect(cursor_home.user / "globalStorage" / "state.vscdb")
    con.execute("DELETE FROM cursorDiskKV WHERE key = ?", (f"composerData:{B_ID}",))
    con.commit()
    con.close()
    with pytest.raises(TemporaryItemError):
        collector.read(items[B_ID], cursor_home.ctx)
    shutil.rmtree(cursor_home.stores[STORE_ID].parent)
    with pytest.raises(TemporaryItemError):
        collector.read(items[STORE_ID], cursor_home.ctx)


def test_bad_values_inside_rows_are_marked_not_fatal(tmp_path: Path):
    home = tmp_path / "home"
    heads = [{"bubbleId": b, "type": 1 if b == "a" else 2} for b in "abc"]
    header = {"composerId": "z", "name": "Odd rows", "fullConversationHeadersOnly": heads}
    write_kv_db(home / USER_REL / "globalStorage" / "state.vscdb", {"cursorDiskKV": [
        ("composerData:z", json.dumps(header)),
        ("bubbleId:z:a", json.dumps({"type": 1, "text": "fine question"})),
        ("bubbleId:z:b", '{"type": 2, "text": "cut off'),
        ("bubbleId:z:c", b"\xff\xfe not text"),
    ]})
    page = render(CollectContext(home=home, env={}), "z")
    assert "fine question" in page and page.count("message is not a JSON object") == 2


def test_torn_transcript_is_a_warning_and_marked(cursor_home: CursorHome):
    ident, main = cursor_home.transcripts["large.jsonl"]
    data = main.read_bytes()[:-40]
    main.write_bytes(data)
    snap, files = read(cursor_home.ctx, f"transcript-{ident}")
    assert files[main.name] == data
    assert any("torn last line" in w for w in snap.warnings)
    page = collector.render_markdown(files, meta_of(snap))
    assert "could not be parsed" in page and "What files are here?" in page


@pytest.mark.parametrize("files", [
    {"composer.jsonl": b"\x00\xff garbage"},
    {"composer.jsonl": b""},
    {"chat.jsonl": b'{"table":"ItemTable","key":"k","type":"text","value":"[1,2]"}\n'},
    {"prompts.jsonl": b'{"table":"ItemTable","key":"k","type":"text","value":"{oops"}\n'},
    {"store.jsonl": b'{"table":"blobs","key":"x","type":"blob","value":"{\\"role\\": 3}"}\n'},
    {"x.jsonl": b'{"role": ["odd"], "message": 5}\n{"type": 7}\n[]\n'},
    {},
])
def test_render_never_raises(files):
    page = collector.render_markdown(files, {"title": "t"})
    assert isinstance(page, str) and page.strip()


# -- rendering --------------------------------------------------------------------------------


def test_every_message_of_the_built_sources_is_in_the_markdown(cursor_home: CursorHome):
    ctx = cursor_home.ctx
    for composer in composers_spec()["composers"]:
        header = composer["composerData"]
        if header["composerId"] == DRAFT_ID:
            continue
        bubbles = composer["bubbles"] + header.get("conversation", [])
        texts = [b["text"] for b in bubbles]
        texts += [b["thinking"]["text"] for b in bubbles if "thinking" in b]
        texts += [v for b in bubbles if "toolFormerData" in b
                  for v in json.loads(b["toolFormerData"]["rawArgs"]).values()
                  if isinstance(v, str)]
        if header["composerId"] == E_ID:
            texts.append("Summarize the README")  # only in richText
        assert_texts_in(render(ctx, header["composerId"]), texts)
    texts = ["bump requests to the latest version and run the tests", "41 passed", "pytest -q"]
    for message in store_spec()["messages"] + store_spec()["earlier"]:
        content = message["content"]
        for block in content if isinstance(content, list) else [{"text": content}]:
            texts += [v for k, v in block.items() if k in ("text", "result", "toolName")
                      and isinstance(v, str) and "<user_query>" not in v]
    page = render(ctx, STORE_ID)
    assert_texts_in(page, texts)
    assert page.index("## Earlier states") < page.index("A first answer that was rewound.")


def test_every_transcript_text_is_in_the_markdown(cursor_home: CursorHome):
    for name, (ident, main) in cursor_home.transcripts.items():
        paths = [main]
        if main.parent.name == ident:
            paths += sorted((main.parent / "subagents").glob("*.jsonl"))
        texts: list[str] = []
        for line in (line for path in paths for line in records(path)):
            for block in (line.get("message") or {}).get("content", []):
                for key in ("text", "thinking", "name"):
                    if isinstance(block.get(key), str):
                        texts.append(re.sub(r"</?user_query>", "", block[key]))
                inner = block.get("content")
                texts += [b.get("text", "") for b in inner] if isinstance(inner, list) else []
                if isinstance(block.get("input"), dict):
                    texts += [v for v in block["input"].values() if isinstance(v, str)]
        page = render(cursor_home.ctx, f"transcript-{ident}")
        assert_texts_in(page, texts)
        if len(paths) > 1:
            assert "## Subagent" in page


def test_every_real_message_is_in_the_markdown(cursor_home: CursorHome):
    composers, chats, prompts = real_db_values()
    ctx = cursor_home.ctx
    for composer in composers["allComposers"]:
        page = render(ctx, composer["composerId"])
        assert_texts_in(page, [b["text"] for b in composer["conversation"]])
    for tab in chats["tabs"]:
        page = render(ctx, f"chat-{tab['tabId']}")
        assert_texts_in(page, [b["text"] for b in tab["bubbles"]])
        assert page.startswith("# " + tab["chatTitle"].split()[0])
    assert_texts_in(render(ctx, f"prompts-{REAL_WS}"), [p["text"] for p in prompts])


def test_composer_order_branches_and_merged_headings(cursor_home: CursorHome):
    page = render(cursor_home.ctx, A_ID)
    order = ["The login test fails", "races the session cookie", "read_file", "run_terminal_cmd",
             "raised it to 2 s", "Add a comment", "Done: the fixture"]
    positions = [page.index(t) for t in order]
    assert positions == sorted(positions)
    assert page.count("### Assistant") == 2 and page.count("### User") == 2
    assert "<summary>Thinking</summary>" in page and "User decision: accepted" in page
    assert "return Client(timeout=2.0)" in page and "_Attached:_" in page
    page = render(cursor_home.ctx, B_ID)
    assert page.index("## Other messages") < page.index("An earlier answer that was replaced")
    assert "c-gone is named by the conversation but not stored" in page
