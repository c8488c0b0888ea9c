"""GeminiCliCollector on Gemini CLI chat files laid out in a temporary ~/.gemini."""

from __future__ import annotations

import builtins
import io
import json
import os
import pathlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from collectors import CollectContext, SourceItem, TemporaryItemError
from collectors import markdown as md
from collectors.gemini_cli import GeminiCliCollector
from collectors.gemini_cli.chat import load_chat
from collectors.testing import CollectorConformance

from .collector_fixtures import DATA, SECRET, need_fixtures

PROJECT = "0b7dfb1274ee51b336813b17f2ddab1f56b6591f723e7314126bbd502c69e9c9"
SLUG = "webapp"
DATA_DIR = DATA / "gemini-cli"
SUB_PARENT = "5a1b2c3d-0000-4000-8000-000000000001"
MAIN = "session-2026-02-01T09-00-5a1b2c3d"
LEGACY = "session-2025-11-30T08-15-9e8d7c6b"

# fixture (relative to fixtures/gemini) -> (stem it gets, expected title)
FIXTURES = {
    "agent-sessions/small.json": ("session-2026-01-16T18-34-3739ef95", "Hello"),
    "agent-sessions/large.json": ("session-2025-12-16T23-47-b4f17607", "Run a command"),
    "agent-sessions/schema_drift.json": (
        "session-2025-12-16T23-46-0d1f2e3a",
        "Redacted session summary",
    ),
    "agent-sessions/jsonl_v040.jsonl": (
        "session-2026-04-29T21-39-7a6b5c4d",
        "Say hello and list files.",
    ),
    "agentsview/thinking_only.json": (
        "session-2024-01-01T10-00-5e55a0a1",
        "Explain how this works",
    ),
    "agentsview/tool_calls_with_results.json": (
        "session-2024-01-01T10-00-5e55a0a2",
        "Read the planning doc",
    ),
}

collector = GeminiCliCollector()


@dataclass
class GeminiHome:
    home: Path
    root: Path
    chats: dict[str, Path] = field(default_factory=dict)  # stem -> main chat file

    @property
    def ctx(self) -> CollectContext:
        return CollectContext(home=self.home, env={})


def build_gemini_home(tmp_path: Path, *, fixtures: bool = True) -> GeminiHome:
    """~/.gemini with the shared fixtures under tmp/<hash>/chats and our own session (with a
    subagent and spilled output) under tmp/<slug>/; credentials planted beside them."""
    home = tmp_path / "home"
    root = home / ".gemini"
    built = GeminiHome(home, root)
    if fixtures:
        src = need_fixtures() / "gemini"
        chats = root / "tmp" / PROJECT / "chats"
        chats.mkdir(parents=True)
        for rel, (stem, _) in FIXTURES.items():
            dest = chats / (stem + Path(rel).suffix)
            shutil.copyfile(src / rel, dest)
            built.chats[stem] = dest
    project = root / "tmp" / SLUG
    chats = project / "chats"
    chats.mkdir(parents=True)
    (project / ".project_root").write_text("/home/u/webapp")
    for name in (f"{MAIN}.jsonl", f"{LEGACY}.json", f"{LEGACY}.jsonl"):
        shutil.copyfile(DATA_DIR / name, chats / name)
    shutil.copytree(DATA_DIR / SUB_PARENT, chats / SUB_PARENT)
    shutil.copytree(DATA_DIR / "tool-outputs", project / "tool-outputs")
    built.chats[MAIN] = chats / f"{MAIN}.jsonl"
    built.chats[LEGACY] = chats / f"{LEGACY}.jsonl"
    plant_secrets(root)
    return built


def plant_secrets(root: Path) -> None:
    """Credentials Gemini CLI keeps in ~/.gemini, and a symlink dressed as a chat file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "oauth_creds.json").write_bytes(b'{"access_token":"' + SECRET + b'"}')
    (root / "google_accounts.json").write_bytes(SECRET)
    (root / "settings.json").write_bytes(b'{"apiKey":"' + SECRET + b'"}')
    chats = root / "tmp" / SLUG / "chats"
    chats.mkdir(parents=True, exist_ok=True)
    (chats / "session-2026-02-02T00-00-deadbeef.json").symlink_to(root / "oauth_creds.json")


def discover(ctx: CollectContext) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


def read(built: GeminiHome, key: str):
    snap = collector.read(discover(built.ctx)[key], built.ctx)
    files = {f.name: Path(f.path).read_bytes() for f in snap.files}
    meta = {"native_id": snap.native_id, "title": snap.title, "attributes": dict(snap.attributes)}
    return snap, files, meta


@pytest.fixture
def gemini_home(tmp_path: Path) -> GeminiHome:
    return build_gemini_home(tmp_path)


# -- conformance ------------------------------------------------------------------------------


class TestGeminiCliConformance(CollectorConformance):
    credential_files = (".gemini/oauth_creds.json", ".gemini/google_accounts.json")

    def make_collector(self):
        return GeminiCliCollector()

    def make_sources(self, home: Path) -> None:
        need_fixtures()
        built = build_gemini_home(home.parent / "build-gemini")
        shutil.copytree(built.root / "tmp", home / ".gemini" / "tmp", symlinks=True,
                        ignore=shutil.ignore_patterns("session-2026-02-02T00-00-deadbeef.json"))

    def hostile_source(self, home: Path, title: str) -> bool:
        chats = home / ".gemini" / "tmp" / "p" / "chats"
        chats.mkdir(parents=True)
        lines = [
            {"sessionId": "s-1", "projectHash": "p", "startTime": "2026-01-01T00:00:00Z"},
            {"id": "u", "type": "user", "timestamp": "2026-01-01T00:00:01Z", "content": "hi"},
            {"$set": {"summary": title}},
        ]
        (chats / "session-2026-01-01T00-00-00000001.jsonl").write_text(
            "".join(json.dumps(x) + "\n" for x in lines)
        )
        return True


# -- discover -----------------------------------------------------------------------------------


def test_discover_finds_every_session_once(gemini_home: GeminiHome):
    items = discover(gemini_home.ctx)
    assert set(items) == set(gemini_home.chats)
    legacy = items[LEGACY]
    assert sorted(Path(s.path).name for s in legacy.stamps) == [
        ".project_root",
        f"{LEGACY}.json",
        f"{LEGACY}.jsonl",
    ]


def test_discover_only_lists_and_stats(gemini_home: GeminiHome, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("discover opened a file")

    for target, name in ((builtins, "open"), (io, "open"), (os, "open"),
                         (pathlib.Path, "open"), (pathlib.Path, "read_bytes"),
                         (pathlib.Path, "read_text")):
        monkeypatch.setattr(target, name, refuse)
    assert len(list(collector.discover(gemini_home.ctx))) == len(gemini_home.chats)


def test_root_from_gemini_cli_home_and_option(tmp_path: Path):
    built = build_gemini_home(tmp_path, fixtures=False)
    alt_home = tmp_path / "alt"
    shutil.move(str(built.root), alt_home / ".gemini")
    assert list(collector.discover(built.ctx)) == []
    by_env = CollectContext(home=built.home, env={"GEMINI_CLI_HOME": str(alt_home)})
    assert collector.locate(by_env) == [alt_home / ".gemini"]
    assert set(discover(by_env)) == {MAIN, LEGACY}
    by_option = CollectContext(home=built.home, env={"GEMINI_CLI_HOME": "/nonexistent"},
                               options={"path": str(alt_home / ".gemini")})
    assert set(discover(by_option)) == {MAIN, LEGACY}
    # a GEMINI_CLI_HOME pointing at the .gemini folder itself is accepted too
    direct = CollectContext(home=built.home, env={"GEMINI_CLI_HOME": str(alt_home / ".gemini")})
    assert set(discover(direct)) == {MAIN, LEGACY}


def test_same_stem_in_two_project_folders_gives_two_items(gemini_home: GeminiHome):
    other = gemini_home.root / "tmp" / "zz-moved" / "chats"
    other.mkdir(parents=True)
    shutil.copyfile(gemini_home.chats[MAIN], other / f"{MAIN}.jsonl")
    keys = [k for k in discover(gemini_home.ctx) if k.startswith(MAIN)]
    assert len(keys) == 2 and MAIN in keys
    snaps = [read(gemini_home, k)[0] for k in keys]
    assert {s.attributes["project_dir"] for s in snaps} == {SLUG, "zz-moved"}


# -- read -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(FIXTURES))
def test_titles_and_byte_identical_files(gemini_home: GeminiHome, fixture: str):
    stem, title = FIXTURES[fixture]
    snap, files, _ = read(gemini_home, stem)
    assert snap.provider == "gemini-cli" and snap.native_id == stem
    assert snap.title == title and snap.warnings == ()
    path = gemini_home.chats[stem]
    assert files == {path.name: path.read_bytes()}


def test_read_metadata_of_a_full_session(gemini_home: GeminiHome):
    snap, files, _ = read(gemini_home, MAIN)
    assert snap.title == "Fix the flaky retry test"  # the $set summary beats the first prompt
    attrs = snap.attributes
    assert attrs["cwd"] == "/home/u/webapp" and attrs["project_dir"] == SLUG
    assert attrs["session_id"] == SUB_PARENT and attrs["kind"] == "main"
    assert attrs["models"] == ["gemini-2.5-pro", "gemini-2.5-flash"] and attrs["subagents"] == 1
    assert attrs["title_source"] == "summary"
    assert sorted(files) == [
        f"{MAIN}.jsonl",
        "subagents/agent-7f3c.jsonl",
        f"tool-outputs/session-{SUB_PARENT}/run_shell_command_1.txt",
    ]
    assert snap.created_at == 1769936400.0 and snap.updated_at == 1769936527.0
    json.dumps(dict(attrs))


def test_legacy_json_and_its_jsonl_are_one_item(gemini_home: GeminiHome):
    snap, files, meta = read(gemini_home, LEGACY)
    assert sorted(files) == [f"{LEGACY}.json", f"{LEGACY}.jsonl"]
    assert snap.title == "Summarize the README" and snap.source_path.endswith(".jsonl")
    out = collector.render_markdown(files, meta)
    assert "It is MIT licensed." in out and f"## Earlier file {LEGACY}.json" in out
    assert out.count("The README describes a CLI for backups.") == 1


def test_orphan_subagent_folder_becomes_its_own_item(gemini_home: GeminiHome):
    orphan = gemini_home.root / "tmp" / SLUG / "chats" / "ffffffff-9999-4999-8999-999999999999"
    orphan.mkdir()
    shutil.copyfile(DATA_DIR / SUB_PARENT / "agent-7f3c.jsonl", orphan / "agent-0001.jsonl")
    snap, files, _ = read(gemini_home, "agent-0001")
    assert snap.links == {"parent": orphan.name} and list(files) == ["agent-0001.jsonl"]
    assert snap.attributes["kind"] == "subagent" and snap.title == "Investigate the retry module"


# -- render -------------------------------------------------------------------------------------


def _texts(path: Path) -> list[str]:
    """Every text part of every message, test-side (independent of the collector)."""
    data = path.read_bytes()
    if path.suffix == ".json":
        obj = json.loads(data)
        messages = obj.get("messages") or obj.get("history") or []
    else:
        messages = []
        for line in data.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("id"), str):
                messages.append(rec)
            elif isinstance(rec, dict) and isinstance(rec.get("$set"), dict):
                messages.extend(rec["$set"].get("messages") or [])
    out = []
    for msg in messages:
        for key in ("content", "parts", "displayContent"):
            value = msg.get(key)
            parts = [value] if isinstance(value, (str, dict)) else (value or [])
            for part in parts:
                text = part if isinstance(part, str) else (part or {}).get("text")
                if isinstance(text, str) and text.strip():
                    out.append(text)
        for thought in msg.get("thoughts") or []:
            if isinstance(thought, dict) and thought.get("description"):
                out.append(thought["description"])
    return out


@pytest.mark.parametrize("stem", sorted({s for s, _ in FIXTURES.values()} | {MAIN, LEGACY}))
def test_every_message_text_appears_in_the_markdown(gemini_home: GeminiHome, stem: str):
    snap, files, meta = read(gemini_home, stem)
    out = collector.render_markdown(files, meta)
    assert out.startswith(f"# {md.escape_inline(snap.title)}\n")
    for name, data in files.items():
        if name.endswith((".json", ".jsonl")):
            tmp = gemini_home.home / "probe" / name
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            for text in _texts(tmp):
                assert md.sanitize(md.text_block(text)) in out, (name, text[:80])


def test_replay_updates_rewinds_subagents_and_tool_outputs(gemini_home: GeminiHome):
    _, files, meta = read(gemini_home, MAIN)
    out = collector.render_markdown(files, meta)
    conversation, _, rest = out.partition("## Rewound 1")
    # the tool call was written twice under one id: shown once, in its final state
    assert conversation.count("**Tool call:** `Edit` (`replace`) · `replace_1` · success") == 1
    assert "executing" not in out and "```diff\n--- src/retry.py" in out
    assert "<summary>Thinking: Reading the test</summary>" in conversation
    # the @-file expansion is what the model got, the typed prompt is what the user saw
    assert "<summary>As sent to the model</summary>" in conversation
    assert "Le test attend trois tentatives." not in conversation
    assert "(line 8, back to message u2)" in out and "Le test attend trois tentatives." in rest
    assert "## Subagent agent-7f3c" in out and "The retry module uses a fixed delay." in out
    assert "## Tool output files" in out and "12 passed in 0.42s" in out
    assert "### Info" in out and "_tokens: input 2048" in out


def test_load_chat_replays_like_gemini_cli():
    lines = [
        {"sessionId": "s", "projectHash": "p"},
        {"id": "a", "type": "user", "content": "one"},
        {"id": "b", "type": "gemini", "content": "two"},
        {"$rewindTo": "nope"},  # unknown id: everything goes
        {"id": "c", "type": "user", "content": "three"},
        {"$set": {"messages": [{"id": "d", "type": "user", "content": "four"}], "summary": "S"}},
        {"id": "e", "type": "gemini", "content": "five"},
        {"mystery": 1},
    ]
    state = load_chat("x.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode())
    assert [m["id"] for m in state.messages] == ["d", "e"] and state.meta["summary"] == "S"
    assert [(d.why, [m["id"] for m in d.messages]) for d in state.dropped] == [
        ("rewind", ["a", "b"]),
        ("replaced", ["c"]),
    ]
    assert state.unknown == [8]


# -- bad input ----------------------------------------------------------------------------------


def test_torn_jsonl_is_a_warning_and_the_rest_renders(gemini_home: GeminiHome):
    path = gemini_home.chats[MAIN]
    with open(path, "ab") as f:
        f.write(b'{"id":"u9","type":"user","content":"half wri')
    snap, files, meta = read(gemini_home, MAIN)
    assert snap.warnings == ("line 13: torn last line",)
    out = collector.render_markdown(files, meta)
    assert "⚠ session-2026-02-01T09-00-5a1b2c3d.jsonl line 13 could not be parsed" in out
    assert "All 12 tests pass." in out


def test_truncated_legacy_json_is_a_warning_and_kept_raw(gemini_home: GeminiHome):
    stem = FIXTURES["agent-sessions/large.json"][0]
    path = gemini_home.chats[stem]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    snap, files, meta = read(gemini_home, stem)
    assert snap.title == "Untitled" and len(snap.warnings) == 1
    assert "not valid JSON" in snap.warnings[0]
    assert files[path.name] == data[: len(data) // 2]
    assert "the raw file is kept as it is" in collector.render_markdown(files, meta)


def test_vanished_chat_is_a_temporary_error(gemini_home: GeminiHome):
    item = discover(gemini_home.ctx)[MAIN]
    gemini_home.chats[MAIN].unlink()
    with pytest.raises(TemporaryItemError) as err:
        collector.read(item, gemini_home.ctx)
    assert err.value.path == str(gemini_home.chats[MAIN])


def test_credentials_are_never_collected(gemini_home: GeminiHome):
    for item in discover(gemini_home.ctx).values():
        assert all("deadbeef" not in s.path for s in item.stamps)
        snap = collector.read(item, gemini_home.ctx)
        for raw in snap.files:
            real = Path(os.path.realpath(raw.path))
            assert real.name not in ("oauth_creds.json", "settings.json")
            assert SECRET not in real.read_bytes()


def test_rendering_garbage_never_raises():
    for name in ("session-x.json", "session-x.jsonl", "subagents/a.jsonl"):
        for data in (b"", b"\xff\x00" * 40, b"[1, 2]", b'{"messages": 5}', b'{"id": 3}\n',
                     b'{"id":"a","type":"gemini","toolCalls":[5,{"resultDisplay":[1]}]}\n',
                     b'{"id":"a","type":"user","content":{"functionCall":7}}\n'):
            for meta in ({}, {"title": 5}, {"native_id": "x", "attributes": []}):
                out = collector.render_markdown({name: data}, meta)
                assert isinstance(out, str) and out.endswith("\n")
