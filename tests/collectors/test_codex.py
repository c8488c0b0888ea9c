"""CodexCollector on Codex CLI rollouts laid out in a temporary ~/.codex."""

from __future__ import annotations

import builtins
import io
import json
import os
import pathlib
import shutil
from pathlib import Path

import pytest
import zstandard

from collectors import CollectContext, SourceItem, TemporaryItemError
from collectors import markdown as md
from collectors.codex import CodexCollector
from collectors.codex.collector import rollout_id
from collectors.codex.rollout import is_preamble

from .collector_fixtures import DATA, SECRET, CodexHome, records

EXPECTED_TITLES = {
    "agent-sessions/small.jsonl": "[trimmed for fixture]",  # its thread_name_updated event
    "agent-sessions/large.jsonl": "Start",
    "agent-sessions/schema_drift.jsonl": "Translate 'hello' to Spanish",
    "agent-sessions/codex_050_legacy.jsonl": "Untitled",
    "agent-sessions/codex_053_rate_limit.jsonl": "Untitled",
    "agentsview/function_calls.jsonl": "Run the tests",
    "agentsview/blockquotes_session.jsonl": "blablabla?",
}

collector = CodexCollector()


def discover(ctx: CollectContext) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    assert len({f.key for f in found}) == len(found)
    return {f.key: f for f in found}


def read(home: CodexHome, key: str):
    snap = collector.read(discover(home.ctx)[key], home.ctx)
    files = {f.name: Path(f.path).read_bytes() for f in snap.files}
    return snap, files, {"native_id": snap.native_id, "title": snap.title}


def test_rollout_ids_come_from_file_names():
    assert rollout_id("rollout-2025-07-19T22-21-00-0198a3b2-aaaa-7bbb-8ccc-0123456789ab.jsonl") == (
        "0198a3b2-aaaa-7bbb-8ccc-0123456789ab"
    )
    assert rollout_id(
        "rollout-2025-07-19T22-21-00-0198a3b2-aaaa-7bbb-8ccc-0123456789ab.jsonl.zst"
    ) == ("0198a3b2-aaaa-7bbb-8ccc-0123456789ab")
    assert rollout_id("rollout-odd.jsonl") == "odd"
    assert rollout_id("history.jsonl") is None and rollout_id("rollout-x.json") is None


def test_discover_finds_every_rollout_and_the_history(codex_home: CodexHome):
    items = discover(codex_home.ctx)
    assert set(items) == {ident for ident, _ in codex_home.sessions.values()} | {"history"}
    for ident, path in codex_home.sessions.values():
        (stamp,) = items[ident].stamps
        st = path.stat()
        assert (stamp.path, stamp.size, stamp.mtime_ns) == (str(path), st.st_size, st.st_mtime_ns)


def test_discover_only_lists_and_stats(codex_home: CodexHome, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("discover opened a file")

    for target, name in (
        (builtins, "open"),
        (io, "open"),
        (os, "open"),
        (pathlib.Path, "open"),
        (pathlib.Path, "read_bytes"),
        (pathlib.Path, "read_text"),
    ):
        monkeypatch.setattr(target, name, refuse)
    assert len(list(collector.discover(codex_home.ctx))) == len(codex_home.sessions) + 1


def test_root_from_env_and_option(codex_home: CodexHome, tmp_path: Path):
    moved = tmp_path / "codex-home"
    shutil.move(str(codex_home.root), moved)
    assert list(collector.discover(codex_home.ctx)) == []
    by_env = CollectContext(home=codex_home.home, env={"CODEX_HOME": str(moved)})
    by_option = CollectContext(
        home=codex_home.home, env={"CODEX_HOME": "/nonexistent"}, options={"path": str(moved)}
    )
    assert collector.locate(by_env) == [moved]
    assert set(discover(by_env)) == set(discover(by_option)) and "history" in discover(by_env)


def test_auth_and_config_are_never_read(codex_home: CodexHome):
    for item in discover(codex_home.ctx).values():
        snap = collector.read(item, codex_home.ctx)
        for raw in snap.files:
            real = Path(os.path.realpath(raw.path))
            assert real.name not in ("auth.json", "config.toml") and SECRET not in real.read_bytes()


@pytest.mark.parametrize("fixture", sorted(EXPECTED_TITLES))
def test_read_gives_title_and_byte_identical_file(codex_home: CodexHome, fixture: str):
    ident, path = codex_home.sessions[fixture]
    snap, files, _ = read(codex_home, ident)
    assert snap.provider == "codex" and snap.native_id == ident
    assert snap.title == EXPECTED_TITLES[fixture]
    assert files == {path.name: path.read_bytes()} and snap.source_path == str(path)


def test_read_metadata(codex_home: CodexHome):
    ident, _ = codex_home.sessions["agent-sessions/small.jsonl"]
    snap, _, _ = read(codex_home, ident)
    attrs = snap.attributes
    assert attrs["cwd"] == "/tmp/repo" and attrs["cli_version"] == "0.146.0"
    assert attrs["originator"] == "codex_cli_rs" and attrs["model_provider"] == "openai"
    assert attrs["models"][0] == "gpt-5.6-luna" and attrs["model"] == attrs["models"][-1]
    assert attrs["git"]["branch"] == "main" and attrs["archived"] is False
    assert snap.created_at is not None and snap.warnings == ()
    json.dumps(dict(attrs))
    ident, _ = codex_home.sessions["agent-sessions/large.jsonl"]
    snap, _, _ = read(codex_home, ident)
    assert snap.attributes["models"] == ["gpt-5.2"] and snap.links == {}


def test_session_meta_id_mismatch_is_a_warning_and_the_file_name_wins(codex_home: CodexHome):
    ident, _ = codex_home.sessions["agent-sessions/codex_050_legacy.jsonl"]
    snap, _, _ = read(codex_home, ident)
    assert snap.native_id == ident
    assert snap.warnings == ("session_meta id test-legacy-session differs from the file name's id",)
    ident, _ = codex_home.sessions["agent-sessions/schema_drift.jsonl"]
    assert read(codex_home, ident)[0].warnings == ("no session_meta record",)


def test_forked_from_link(codex_home: CodexHome):
    ident = "0199b000-0000-7000-8000-00000000f00c"
    lines = [
        {
            "timestamp": "2025-10-01T10:00:00Z",
            "type": "session_meta",
            "payload": {
                "id": ident,
                "forked_from_id": "0199a000-0000-7000-8000-000000000001",
                "cwd": "/w",
            },
        },
        {
            "timestamp": "2025-10-01T10:00:01Z",
            "type": "response_item",
            "payload": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "fork me"}],
            },
        },
    ]
    day = codex_home.root / "sessions" / "2025" / "10" / "01"
    day.mkdir(parents=True)
    (day / f"rollout-2025-10-01T10-00-00-{ident}.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines)
    )
    snap, _, _ = read(codex_home, ident)
    assert (
        snap.links == {"forked_from": "0199a000-0000-7000-8000-000000000001"}
        and snap.title == "fork me"
    )


def test_title_falls_back_to_session_index(codex_home: CodexHome):
    legacy, _ = codex_home.sessions["agent-sessions/codex_050_legacy.jsonl"]
    small, _ = codex_home.sessions["agent-sessions/small.jsonl"]
    index = [
        {"id": legacy, "thread_name": "old name", "updated_at": "2025-01-01T00:00:00Z"},
        {
            "id": small,
            "thread_name": "index loses to the rollout",
            "updated_at": "2025-01-01T00:00:00Z",
        },
        {"id": legacy, "thread_name": "Legacy named", "updated_at": "2025-01-02T00:00:00Z"},
    ]
    (codex_home.root / "session_index.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in index)
    )
    snap, files, _ = read(codex_home, legacy)
    assert snap.title == "Legacy named" and snap.attributes["title_source"] == "session_index"
    assert list(files) == [codex_home.sessions["agent-sessions/codex_050_legacy.jsonl"][1].name]
    assert read(codex_home, small)[0].title == "[trimmed for fixture]"


@pytest.mark.parametrize("newer", ["sessions", "archived_sessions"])
def test_a_session_in_sessions_and_archived_sessions_is_one_item(codex_home: CodexHome, newer: str):
    ident, path = codex_home.sessions["agentsview/blockquotes_session.jsonl"]
    archived = codex_home.root / "archived_sessions" / path.name
    archived.parent.mkdir()
    shutil.copyfile(path, archived)
    older, newest = (archived, path) if newer == "sessions" else (path, archived)
    os.utime(older, ns=(1_000_000_000, 1_000_000_000))
    os.utime(newest, ns=(2_000_000_000, 2_000_000_000))
    items = discover(codex_home.ctx)
    assert len(items) == len(codex_home.sessions) + 1
    assert [s.path for s in items[ident].stamps] == [str(newest)]
    snap = collector.read(items[ident], codex_home.ctx)
    assert (
        snap.attributes["archived"] is (newer == "archived_sessions") and snap.title == "blablabla?"
    )


def test_compressed_rollouts_are_read_and_stored_as_they_are(codex_home: CodexHome):
    ident, path = codex_home.sessions["agentsview/blockquotes_session.jsonl"]
    packed = path.with_name(path.name + ".zst")
    packed.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
    path.unlink()
    snap, files, meta = read(codex_home, ident)
    assert snap.title == "blablabla?" and snap.attributes["compressed"] is True
    assert files == {packed.name: packed.read_bytes()}
    out = collector.render_markdown(files, meta)
    assert "blabla5" in out and "blablabla?" in out
    packed.write_bytes(packed.read_bytes()[:-7])  # compression interrupted
    snap, files, meta = read(codex_home, ident)
    assert "compressed data is cut off after 0 line(s)" in snap.warnings
    assert files == {packed.name: packed.read_bytes()}
    assert (
        "compressed data is cut off; showing what could be decompressed"
        in collector.render_markdown(files, meta)
    )


def test_history_item(codex_home: CodexHome):
    snap, files, meta = read(codex_home, "history")
    assert snap.title == "Prompt history" and files == {
        "history.jsonl": (DATA / "codex" / "history.jsonl").read_bytes()
    }
    assert snap.created_at == 1759000000 and snap.updated_at == 1759000100
    out = collector.render_markdown(files, meta)
    assert "explain the build" in out and "now run it" in out


def test_vanished_rollout_is_a_temporary_error(codex_home: CodexHome):
    ident, path = codex_home.sessions["agentsview/function_calls.jsonl"]
    item = discover(codex_home.ctx)[ident]
    path.unlink()
    with pytest.raises(TemporaryItemError) as err:
        collector.read(item, codex_home.ctx)
    assert err.value.path == str(path)


# -- render -------------------------------------------------------------------------------------


def _texts(path: Path) -> list[str]:
    out = []
    for rec in records(path):
        payload = rec.get("payload") if isinstance(rec.get("payload"), dict) else {}
        if rec.get("type") == "response_item" and payload.get("role") in ("user", "assistant"):
            for part in payload.get("content") or []:
                if (
                    isinstance(part, dict)
                    and isinstance(part.get("text"), str)
                    and part["text"].strip()
                ):
                    out.append(part["text"])
        elif (
            rec.get("type") == "event_msg"
            and payload.get("type") in ("user_message", "agent_message")
            and isinstance(payload.get("message"), str)
            and payload["message"].strip()
        ):
            out.append(payload["message"])
    return out


@pytest.mark.parametrize("fixture", sorted(EXPECTED_TITLES))
def test_every_message_text_appears_in_the_markdown(codex_home: CodexHome, fixture: str):
    ident, path = codex_home.sessions[fixture]
    _, files, meta = read(codex_home, ident)
    out = collector.render_markdown(files, meta)
    assert out.startswith(f"# {md.escape_inline(EXPECTED_TITLES[fixture])}\n")
    for text in _texts(path):
        assert md.sanitize(md.text_block(text)) in out, text[:80]


def test_tool_calls_are_followed_by_their_outputs(codex_home: CodexHome):
    ident, _ = codex_home.sessions["agent-sessions/small.jsonl"]
    out = collector.render_markdown(*read(codex_home, ident)[1:])
    call1 = out.index("**Tool call:** `shell` · `call-1`")
    assert (
        call1
        < out.index("**Tool output** for `call-1`")
        < out.index("**Tool call:** `shell` · `call-2`")
    )
    assert out.count("**Tool output** for `call-1`") == 1
    assert "<details>\n<summary>Reasoning</summary>" in out
    assert "_Model: gpt-5.6-luna · effort medium_" in out and "**Context compacted**" in out
    assert "_Title set: \\[trimmed for fixture\\]_" in out and "_Patch applied: 1 file(s)_" in out
    assert "**Command finished:**" in out


def test_user_and_agent_events_are_not_shown_twice(codex_home: CodexHome):
    ident, _ = codex_home.sessions["agent-sessions/large.jsonl"]
    out = collector.render_markdown(*read(codex_home, ident)[1:])
    assert (
        out.split("\n").count("Start") == 1
        and out.split("\n").count("Captured multiline output.") == 1
    )
    assert "<summary>Context (injected by Codex, line 10)</summary>" in out
    ident, _ = codex_home.sessions["agentsview/blockquotes_session.jsonl"]
    out = collector.render_markdown(*read(codex_home, ident)[1:])
    assert out.count("blabla5") == 1


def test_unknown_and_bad_lines_are_marked(codex_home: CodexHome):
    ident, _ = codex_home.sessions["agent-sessions/schema_drift.jsonl"]
    out = collector.render_markdown(*read(codex_home, ident)[1:])
    assert "⚠ unknown record type 'function\\_result' (line 3)" in out
    data = (
        b'{"timestamp":"2025-01-01T00:00:00Z","type":"session_meta","payload":{"id":"x"}}\n'
        b'{"type":"response_item","payload":{"type":"brand_new","x":1}}\n'
        b'{"type":"event_msg","payload":{"type":"brand_new_event"}}\n'
        b'{"type":"mystery","payload":{}}\n'
        b'{"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"tor'
    )
    out = collector.render_markdown({"rollout-x.jsonl": data}, {"native_id": "x"})
    assert (
        "⚠ unknown item type 'brand\\_new' (line 2)" in out
        and "_event: brand\\_new\\_event_" in out
    )
    assert "⚠ unknown record type 'mystery' (line 4)" in out
    assert "⚠ line 5 could not be parsed" in out and "torn last line" in out


@pytest.mark.parametrize(
    "title", ["a/b/../c", "nul\x00x", "..", "é" * 500, "\x1b]52;c;evil\x07\nx", "<details>"]
)
def test_hostile_thread_names_come_through_unchanged(codex_home: CodexHome, title: str):
    ident = "0199c000-0000-7000-8000-0000000000aa"
    lines = [
        {"timestamp": "2025-10-01T10:00:00Z", "type": "session_meta", "payload": {"id": ident}},
        {
            "timestamp": "2025-10-01T10:00:01Z",
            "type": "event_msg",
            "payload": {"type": "thread_name_updated", "thread_id": ident, "thread_name": title},
        },
    ]
    path = codex_home.root / "sessions" / f"rollout-2025-10-01T10-00-00-{ident}.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    snap, files, meta = read(codex_home, ident)
    assert snap.title == title
    out = collector.render_markdown(files, meta)
    assert not any(ord(c) < 32 for c in out if c not in "\n\t") and out.count("<details>") == 0


def test_preamble_detection():
    assert is_preamble("<environment_context>\n<cwd>/x</cwd>")
    assert is_preamble("# AGENTS.md instructions for /repo\n\n...")
    assert not is_preamble("please fix <environment_context> parsing")


def test_rendering_garbage_never_raises():
    for data in (
        b"",
        b"\xff\x00" * 50,
        b"[]\n1\n",
        b'{"type":"response_item","payload":{"type":"message","content":5}}\n',
        b'{"type":"event_msg","payload":{"type":"exec_command_end","command":7,"duration":"x"}}\n',
        b'{"type":"response_item","payload":{"type":"function_call","arguments":"{bad json","call_id":1}}\n',
    ):
        for meta in ({}, {"native_id": "history"}, {"native_id": "s", "title": 5}):
            name = "history.jsonl" if meta.get("native_id") == "history" else "rollout-s.jsonl"
            out = collector.render_markdown({name: data}, meta)
            assert isinstance(out, str) and out.endswith("\n")
        assert collector.render_markdown({"rollout-s.jsonl.zst": data}, {}).endswith("\n")


def test_read_json_parses_only_the_lines_it_needs(codex_home: CodexHome, monkeypatch):
    ident = "0199d000-0000-7000-8000-0000000000bb"

    def line(n: int, kind: str, payload: dict) -> dict:
        when = f"2025-10-01T10:{n // 600:02d}:{n // 10 % 60:02d}.{n % 10}00Z"
        return {"timestamp": when, "type": kind, "payload": payload}

    def text(role: str, words: str) -> dict:
        kind = "input_text" if role == "user" else "output_text"
        return {"type": "message", "role": role, "content": [{"type": kind, "text": words}]}

    lines = [line(0, "session_meta", {"id": ident, "cwd": "/w", "cli_version": "0.150.0"})]
    preamble = "<environment_context>x</environment_context>"
    lines.append(line(1, "response_item", text("user", preamble)))
    lines.append(line(2, "response_item", text("user", "Port the parser to Rust")))
    for n in range(3, 5000):
        if n % 50 == 0:
            model = "gpt-5" if n < 3000 else "gpt-5.2"
            lines.append(line(n, "turn_context", {"cwd": "/w", "model": model, "effort": "high"}))
        elif n == 2501:
            rename = {"type": "thread_name_updated", "thread_name": "Rust port"}
            lines.append(line(n, "event_msg", rename))
        else:
            lines.append(line(n, "response_item", text("assistant", "working on it " * 30)))
    path = codex_home.root / "sessions" / f"rollout-2025-10-01T10-00-00-{ident}.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert path.stat().st_size > 2 * (1 << 20)
    item = discover(codex_home.ctx)[ident]

    calls = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda *a, **k: calls.append(1) or real_loads(*a, **k))
    snap = collector.read(item, codex_home.ctx)
    monkeypatch.undo()
    # line 1, the two user lines, the two turn_context lines with a new model, the rename,
    # the last line: not the other ~4,990
    assert len(calls) <= 8, len(calls)
    assert snap.title == "Rust port" and snap.attributes["models"] == ["gpt-5", "gpt-5.2"]
    assert snap.attributes["cli_version"] == "0.150.0" and snap.warnings == ()
    assert snap.updated_at > snap.created_at
