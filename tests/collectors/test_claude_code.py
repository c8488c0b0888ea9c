"""ClaudeCodeCollector on real Claude Code captures laid out in a temporary ~/.claude."""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import pathlib
import shutil
from pathlib import Path

import pytest

from collectors import CollectContext, ItemError, SourceItem, TemporaryItemError
from collectors import markdown as md
from collectors.claude_code import ClaudeCodeCollector
from collectors.timestamps import parse_iso

from .collector_fixtures import DATA, SECRET, ClaudeHome, records

EXPECTED_TITLES = {
    "happy-cli/0-say-lol-session.jsonl": "say lol",
    "happy-cli/1-continue-run-ls-tool.jsonl": "Casual Chat: Simple Greeting Exchange",
    "happy-cli/duplicate-assistant-response.jsonl": "Say lol",
    "happy-cli/permission-prompt-aborted-with-interrupt.jsonl": "Create file lol.txt with dummy data",
    "happy-cli/task_non_sdk.jsonl": (
        "Show me a sample of using Task tool, I am testing this feature, run some web search with it."
    ),
    "happy-cli/task_sdk.jsonl": "Task Tool Web Search: AI Developments Explored",
    "agent-sessions/small.jsonl": "Stage0 small fixture",
    "agent-sessions/large.jsonl": "Start",
    "agent-sessions/schema_drift.jsonl": "Open README",
    "agent-sessions/subagent/0a1b2c3d-4e5f-4061-8071-2a3b4c5d6e7f.jsonl": "Delegate a repo search to a subagent",
    "agentsview/queued_system_messages.jsonl": "Your final response is captured verbatim into ...",
    "agentsview/tool_call_pending.jsonl": "Read auth.ts",
    "agentsview/truncated.jsonl": "hello",
    "data:branches.jsonl": "Colour choice",
}
SUBAGENT = "agent-sessions/subagent/0a1b2c3d-4e5f-4061-8071-2a3b4c5d6e7f.jsonl"
DENIED = {".credentials.json", ".encryption_key"}

collector = ClaudeCodeCollector()


def discover(ctx: CollectContext) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    keys = [f.key for f in found]
    assert len(keys) == len(set(keys))
    return {f.key: f for f in found}


def snapshot_and_files(home: ClaudeHome, key: str):
    items = discover(home.ctx)
    snap = collector.read(items[key], home.ctx)
    files = {f.name: Path(f.path).read_bytes() for f in snap.files}
    meta = {"native_id": snap.native_id, "title": snap.title, "provider": snap.provider}
    return snap, files, meta


def render(home: ClaudeHome, key: str) -> str:
    _, files, meta = snapshot_and_files(home, key)
    return collector.render_markdown(files, meta)


# -- discover ---------------------------------------------------------------------------------


def test_discover_finds_every_session_history_and_config(claude_home: ClaudeHome):
    items = discover(claude_home.ctx)
    sessions = {sid for sid, _ in claude_home.sessions.values()}
    assert set(items) == sessions | {"agent-8f3e2a1b", "history", "config"}
    for sid, path in claude_home.sessions.values():
        stamp = items[sid].stamps[0]
        st = path.stat()
        assert (stamp.path, stamp.size, stamp.mtime_ns, stamp.ino) == (
            str(path),
            st.st_size,
            st.st_mtime_ns,
            st.st_ino,
        )


def test_stamps_cover_every_file_of_the_item(claude_home: ClaudeHome):
    items = discover(claude_home.ctx)
    sid, path = claude_home.sessions[SUBAGENT]
    folder = path.with_suffix("")
    assert [Path(s.path) for s in items[sid].stamps] == [
        path,
        folder / "subagents" / "agent-a0ad4f44468bdf20d.jsonl",
        folder / "subagents" / "agent-a0ad4f44468bdf20d.meta.json",
    ]
    sid, path = claude_home.sessions["data:branches.jsonl"]
    assert [Path(s.path) for s in items[sid].stamps] == [
        path,
        path.with_suffix("") / "tool-results" / "toolu_p1.txt",
    ]
    assert sorted(Path(s.path).name for s in items["config"].stamps) == [
        "CLAUDE.md",
        "SKILL.md",
        "review.md",
        "settings.json",
    ]


def test_discover_only_lists_and_stats(claude_home: ClaudeHome, monkeypatch):
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
    assert len(list(collector.discover(claude_home.ctx))) == len(claude_home.sessions) + 3


def test_root_from_env_and_option(claude_home: ClaudeHome, tmp_path: Path):
    moved = tmp_path / "elsewhere"
    shutil.move(str(claude_home.root), moved)
    assert list(collector.discover(claude_home.ctx)) == []
    by_env = CollectContext(home=claude_home.home, env={"CLAUDE_CONFIG_DIR": str(moved)})
    assert collector.locate(by_env) == [moved]
    assert "history" in discover(by_env)
    by_option = CollectContext(
        home=claude_home.home,
        env={"CLAUDE_CONFIG_DIR": "/nonexistent"},
        options={"path": str(moved)},
    )
    assert set(discover(by_option)) == set(discover(by_env))


def test_same_session_id_in_two_project_folders_is_kept_twice_with_stable_keys(
    claude_home: ClaudeHome,
):
    sid, path = claude_home.sessions["happy-cli/0-say-lol-session.jsonl"]
    other = claude_home.root / "projects" / "-zz-moved-project"
    other.mkdir()
    shutil.copyfile(path, other / path.name)
    first = discover(claude_home.ctx)
    second = discover(claude_home.ctx)
    suffixed = f"{sid}@{hashlib.sha256(b'-zz-moved-project').hexdigest()[:8]}"
    assert sid in first and suffixed in first and set(first) == set(second)
    assert Path(first[suffixed].stamps[0].path).parent == other
    snap = collector.read(first[suffixed], claude_home.ctx)
    assert snap.native_id == suffixed and snap.files[0].name == f"{sid}.jsonl"


def test_credentials_are_never_part_of_any_item(claude_home: ClaudeHome):
    items = discover(claude_home.ctx)
    for item in items.values():
        snap = collector.read(item, claude_home.ctx)
        for raw in snap.files:
            real = Path(os.path.realpath(raw.path))
            assert real.name not in DENIED and Path(raw.name).name not in DENIED
            assert SECRET not in real.read_bytes()
        assert all(Path(os.path.realpath(s.path)).name not in DENIED for s in item.stamps)


# -- read ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(EXPECTED_TITLES))
def test_read_gives_title_and_byte_identical_files(claude_home: ClaudeHome, fixture: str):
    sid, path = claude_home.sessions[fixture]
    snap, files, _ = snapshot_and_files(claude_home, sid)
    assert snap.provider == "claude-code" and snap.native_id == sid
    assert snap.title == EXPECTED_TITLES[fixture]
    assert snap.files[0].name == f"{sid}.jsonl" and snap.files[0].path == path
    assert files[f"{sid}.jsonl"] == path.read_bytes()
    assert snap.source_path == str(path)
    assert all(f.data is None and f.mtime_ns == Path(f.path).stat().st_mtime_ns for f in snap.files)


def test_read_metadata_from_a_real_capture(claude_home: ClaudeHome):
    sid, _ = claude_home.sessions["happy-cli/0-say-lol-session.jsonl"]
    snap, _, _ = snapshot_and_files(claude_home, sid)
    assert snap.created_at == parse_iso("2025-07-19T22:21:00.576Z")
    assert snap.updated_at == parse_iso("2025-07-19T22:21:04.265Z")
    assert (
        snap.attributes["cwd"]
        == "/Users/kirilldubovitskiy/projects/happy/handy-cli/notes/test-project"
    )
    assert snap.attributes["version"] == "1.0.56" and snap.attributes["git_branch"] == "main"
    assert snap.attributes["models"] == ["claude-opus-4-20250514"]
    assert snap.warnings == () and snap.links == {}
    json.dumps(dict(snap.attributes))  # stored in meta.json


@pytest.mark.parametrize(
    "fixture, earlier",
    [
        ("happy-cli/1-continue-run-ls-tool.jsonl", "93a9705e-bc6a-406d-8dce-8acc014dedbd"),
        ("happy-cli/task_sdk.jsonl", "1bf1ead3-1c75-46a4-8d6b-5ab1af247819"),
    ],
)
def test_continue_files_link_to_the_session_they_continue(
    claude_home: ClaudeHome, fixture, earlier
):
    sid, _ = claude_home.sessions[fixture]
    snap, _, _ = snapshot_and_files(claude_home, sid)
    assert snap.links == {"continued_from": earlier}


def test_subagent_and_tool_result_files_are_in_the_session_item(claude_home: ClaudeHome):
    sid, path = claude_home.sessions[SUBAGENT]
    _, files, _ = snapshot_and_files(claude_home, sid)
    folder = path.with_suffix("")
    assert list(files) == [
        f"{sid}.jsonl",
        "subagents/agent-a0ad4f44468bdf20d.jsonl",
        "subagents/agent-a0ad4f44468bdf20d.meta.json",
    ]
    for name in list(files)[1:]:
        assert files[name] == (folder / name).read_bytes()
    sid, path = claude_home.sessions["data:branches.jsonl"]
    _, files, _ = snapshot_and_files(claude_home, sid)
    assert (
        files["tool-results/toolu_p1.txt"]
        == (DATA / "claude-code" / "tool-result.txt").read_bytes()
    )


def test_claude_code_2_0_agent_file_is_its_own_item_linked_to_its_parent(claude_home: ClaudeHome):
    snap, files, meta = snapshot_and_files(claude_home, "agent-8f3e2a1b")
    assert snap.title == "Find every TODO in src/"
    assert snap.links == {"parent": "5b1c0f7e-8d2a-4c3b-9e4f-0a1b2c3d4e5f"}
    assert snap.attributes["kind"] == "subagent" and snap.attributes["agent_id"] == "8f3e2a1b"
    out = collector.render_markdown(files, meta)
    assert "Find every TODO in src/" in out and "Found 3 TODO comments." in out


def test_torn_last_line_is_a_warning_and_the_raw_bytes_stay_intact(claude_home: ClaudeHome):
    sid, path = claude_home.sessions["agentsview/truncated.jsonl"]
    snap, files, meta = snapshot_and_files(claude_home, sid)
    assert snap.warnings == ("line 3: torn last line",)
    assert files[f"{sid}.jsonl"] == path.read_bytes()
    out = collector.render_markdown(files, meta)
    assert "hello" in out and "Hi there" in out
    assert "⚠ line 3 could not be parsed (76 bytes)" in out


def test_history_item(claude_home: ClaudeHome):
    snap, files, meta = snapshot_and_files(claude_home, "history")
    assert snap.title == "Prompt history" and list(files) == ["history.jsonl"]
    assert snap.warnings == ("line 3: torn last line",)
    assert snap.created_at == 1752963660.576 and snap.attributes["prompts"] == 2
    out = collector.render_markdown(files, meta)
    assert "say lol" in out and "fix the flaky test in \\<module>" in out
    assert "Traceback (most recent call last):" in out and "/Users/u/proj" in out
    assert "⚠ line 3 could not be parsed" in out


def test_config_item_keeps_only_the_profile(claude_home: ClaudeHome):
    snap, files, meta = snapshot_and_files(claude_home, "config")
    assert snap.title == "Claude Code configuration"
    assert sorted(files) == [
        "CLAUDE.md",
        "commands/review.md",
        "settings.json",
        "skills/demo/SKILL.md",
    ]
    profile = DATA / "claude-code" / "profile"
    for name, data in files.items():
        assert data == (profile / name).read_bytes()
    out = collector.render_markdown(files, meta)
    assert "```json" in out and '"model": "opus"' in out
    assert "`````markdown\n# Personal notes for Claude" in out  # fence longer than the file's own


def test_no_config_item_without_profile_files(tmp_path: Path):
    root = tmp_path / "home" / ".claude"
    (root / "projects").mkdir(parents=True)
    (root / ".credentials.json").write_bytes(SECRET)
    assert list(collector.discover(CollectContext(home=tmp_path / "home", env={}))) == []


def test_vanished_transcript_is_a_temporary_error(claude_home: ClaudeHome):
    sid, path = claude_home.sessions["happy-cli/0-say-lol-session.jsonl"]
    item = discover(claude_home.ctx)[sid]
    path.unlink()
    with pytest.raises(TemporaryItemError) as err:
        collector.read(item, claude_home.ctx)
    assert err.value.path == str(path) and "say lol" not in str(err.value)


def test_unreadable_transcript_is_an_item_error(claude_home: ClaudeHome, monkeypatch):
    sid, path = claude_home.sessions["happy-cli/0-say-lol-session.jsonl"]
    item = discover(claude_home.ctx)[sid]
    import vault.sourcefile as sourcefile
    real_open = sourcefile.os.open

    def denied(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(sourcefile.os, "open", denied)  # works for root too, unlike chmod
    with pytest.raises(ItemError) as err:
        collector.read(item, claude_home.ctx)
    assert not isinstance(err.value, TemporaryItemError) and err.value.reason == "permission denied"


def test_read_without_hint_finds_the_item_again(claude_home: ClaudeHome):
    sid, _ = claude_home.sessions["happy-cli/0-say-lol-session.jsonl"]
    snap = collector.read(SourceItem(sid, ()), claude_home.ctx)
    assert snap.title == "say lol"
    with pytest.raises(TemporaryItemError):
        collector.read(SourceItem("no-such-session", ()), claude_home.ctx)


# -- render -------------------------------------------------------------------------------------


def _texts(path: Path) -> list[str]:
    """Every user/assistant text, thinking and tool-result text of a transcript."""
    out: list[str] = []
    for rec in records(path):
        msg = rec.get("message")
        if rec.get("type") not in ("user", "assistant") or not isinstance(msg, dict):
            continue
        content = msg.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                out.append(block["text"])
            elif block.get("type") == "thinking":
                out.append(block["thinking"])
            elif block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, str):
                    out.append(inner)
                elif isinstance(inner, list):
                    out.extend(
                        i["text"] for i in inner if isinstance(i, dict) and i.get("type") == "text"
                    )
    return [t for t in out if t.strip()]


@pytest.mark.parametrize("fixture", sorted(EXPECTED_TITLES))
def test_every_message_text_appears_in_the_markdown(claude_home: ClaudeHome, fixture: str):
    sid, path = claude_home.sessions[fixture]
    out = render(claude_home, sid)
    texts = _texts(path)
    assert texts
    for text in texts:
        prose = md.sanitize(md.text_block(text))
        verbatim = md.sanitize(text.strip("\n"))
        assert prose in out or verbatim in out, text[:80]
    assert out.startswith(f"# {md.escape_inline(EXPECTED_TITLES[fixture])}\n")


def test_subagent_transcripts_get_their_own_sections(claude_home: ClaudeHome):
    sid, _ = claude_home.sessions[SUBAGENT]
    out = render(claude_home, sid)
    assert "## Subagent agent-a0ad4f44468bdf20d (general-purpose)" in out
    assert (
        out.index("## Conversation") < out.index("Spawning a subagent.") < out.index("## Subagent")
    )
    assert (
        out.index("## Subagent")
        < out.index("Search the repo for TODO comments")
        < out.index("a.txt:1: TODO fix")
    )


def test_inline_sidechains_are_rendered_in_their_own_section(claude_home: ClaudeHome):
    sid, _ = claude_home.sessions["happy-cli/task_non_sdk.jsonl"]
    out = render(claude_home, sid)
    side = out.index("## Sidechain 1")
    assert out.index("The Task tool successfully searched") < side
    assert side < out.index(
        "I'll search for information about TypeScript 5.6 new features and improvements."
    )


def test_branches_compaction_and_parallel_tool_results(claude_home: ClaudeHome):
    sid, _ = claude_home.sessions["data:branches.jsonl"]
    out = render(claude_home, sid)
    order = [
        "## Conversation",
        "Pick a colour",
        "Reconsider: green is calmer.",
        "Green, after a retry.",
        "Why green?",
        "**Context compacted** (trigger: manual, 51234 tokens before)",
        "Summary: the user picked green.",
        "Thanks, after compaction",
        "toolu_p1",
        "toolu_p2",
        "contents of a.txt",
        "contents of b.txt",
        "Both files read.",
        "## Branch 1 (from message b0000000, line 1)",
        "Blue, like the first answer.",
        "Abandoned follow-up question",
    ]
    positions = [out.index(s) for s in order]
    assert positions == sorted(positions)
    assert out.count("## Branch") == 1  # a parallel tool result is not a branch
    assert (
        out.count("### Assistant · claude-sonnet-4-5 · 2025-11-01 10:06:05 UTC") == 1
    )  # one message.id
    assert "<details>\n<summary>Thinking</summary>" in out
    assert "_Title set: Colour choice_" in out


def test_lines_sharing_a_message_id_are_one_message_without_duplicates(claude_home: ClaudeHome):
    sid, _ = claude_home.sessions["happy-cli/duplicate-assistant-response.jsonl"]
    out = render(claude_home, sid)
    assert out.split("\n").count("lol") == 1 and "kekr" in out
    sid, _ = claude_home.sessions["happy-cli/task_sdk.jsonl"]
    out = render(claude_home, sid)
    assert "· line 4\n" in out and "· line 5\n" not in out  # text + Task call: one heading
    assert "I'll demonstrate the Task tool" in out and "**Tool call:** `Task`" in out


def test_unknown_records_and_blocks_are_marked_not_fatal(claude_home: ClaudeHome):
    sid, _ = claude_home.sessions["agent-sessions/small.jsonl"]
    out = render(claude_home, sid)
    assert "⚠ unknown content block 'fallback'" in out
    assert "Stage0 preview" not in out or "frame-link" in out
    lines = [
        {
            "type": "user",
            "uuid": "u1",
            "parentUuid": None,
            "message": {"role": "user", "content": "hi"},
        },
        {"type": "brand-new-kind", "uuid": "x1", "parentUuid": "u1", "payload": {"a": 1}},
        {"type": "assistant", "uuid": "a1", "parentUuid": "x1", "message": "not an object"},
        {
            "type": "assistant",
            "uuid": "a2",
            "parentUuid": "a1",
            "message": {
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "aGVsbG8="},
                    },
                    7,
                    None,
                ]
            },
        },
    ]
    data = b"\n".join(json.dumps(x).encode() for x in lines) + b"\n"
    out = collector.render_markdown({"s.jsonl": data}, {"native_id": "s"})
    assert "⚠ unknown record type 'brand-new-kind' (line 2)" in out
    assert "[image: image/png, 5 bytes]" in out


HOSTILE_TITLES = [
    "a/b/../../etc/passwd",
    "nul\x00inside",
    "..",
    "é" * 500,
    "\x1b[31mred\x07\r\nsecond line\ttab",
    "</details><script>alert(1)</script> # `x`",
    "   ",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_custom_titles_come_through_unchanged_and_render_safely(tmp_path: Path, title: str):
    root = tmp_path / "home" / ".claude" / "projects" / "-p"
    root.mkdir(parents=True)
    sid = "11111111-2222-4333-8444-555555555555"
    lines = [
        {
            "type": "user",
            "uuid": "u",
            "parentUuid": None,
            "sessionId": sid,
            "message": {"role": "user", "content": "first prompt"},
        },
        {"type": "custom-title", "customTitle": "older title", "sessionId": sid},
        {"type": "custom-title", "customTitle": title, "sessionId": sid},
    ]
    (root / f"{sid}.jsonl").write_bytes(b"".join(json.dumps(x).encode() + b"\n" for x in lines))
    ctx = CollectContext(home=tmp_path / "home", env={})
    snap = collector.read(discover(ctx)[sid], ctx)
    assert snap.title == title
    out = collector.render_markdown(
        {f"{sid}.jsonl": (root / f"{sid}.jsonl").read_bytes()},
        {"native_id": sid, "title": snap.title},
    )
    heading = out.split("\n", 1)[0]
    assert heading.startswith("# ") and not any(ord(c) < 32 for c in out if c not in "\n\t")
    assert "<script>" not in out


def test_rendering_garbage_never_raises():
    garbage = [
        b"",
        b"\x00\xff\xfe" * 100,
        b'{"type": "user", "uuid": "u", "parentUuid": "u", "message": {"content": [[[]]]}}\n' * 3,
        b'{"type": "assistant", "uuid": 5, "message": {"id": [], "content": {"a": 1}}}\n',
        b'{"type": "system", "subtype": "compact_boundary", "uuid": "c", "logicalParentUuid": "c"}\n',
        b'{"type": "summary"}\n{"type": null}\n[]\n"x"\n',
    ]
    for data in garbage:
        for meta in (
            {},
            {"native_id": "s", "title": None},
            {"native_id": "history"},
            {"native_id": "config"},
        ):
            name = "history.jsonl" if meta.get("native_id") == "history" else "s.jsonl"
            out = collector.render_markdown(
                {
                    name: data,
                    "subagents/agent-x.jsonl": data,
                    "subagents/agent-x.meta.json": data,
                    "tool-results/t": data,
                },
                meta,
            )
            assert isinstance(out, str) and out.endswith("\n")


def test_a_bug_in_rendering_still_gives_a_page(monkeypatch):
    import collectors.claude_code.collector as module

    def broken(files, meta):
        raise KeyError("message text must not leak")

    monkeypatch.setattr(module, "render_session", broken)
    out = collector.render_markdown({"s.jsonl": b"{}\n"}, {"native_id": "s", "title": "T\x00`x`"})
    assert out.startswith("# T  x") and "KeyError" in out and "- s.jsonl" in out
    assert "must not leak" not in out


def test_long_lines_are_stored_but_not_parsed_for_metadata(tmp_path: Path, monkeypatch):
    import collectors.claude_code.collector as module

    monkeypatch.setattr(module, "MAX_SCAN_LINE", 1000)
    root = tmp_path / "home" / ".claude" / "projects" / "-p"
    root.mkdir(parents=True)
    sid = "22222222-2222-4333-8444-555555555555"
    big = {"type": "user", "uuid": "b", "message": {"role": "user", "content": "x" * 5000}}
    small = {"type": "user", "uuid": "s", "parentUuid": "b", "message": {"content": "short prompt"}}
    (root / f"{sid}.jsonl").write_text(json.dumps(big) + "\n" + json.dumps(small) + "\n")
    ctx = CollectContext(home=tmp_path / "home", env={})
    snap = collector.read(discover(ctx)[sid], ctx)
    assert snap.title == "short prompt" and snap.warnings == ()


def test_title_from_text():
    from collectors.titles import title_from_text

    assert title_from_text("\n\n  fix   the\ttests \nsecond line") == "fix the tests"
    long = "word " * 60
    assert title_from_text(long) == ("word " * 20).strip() + "…"
    assert len(title_from_text("x" * 300)) == 101 and title_from_text(" \n ") == ""


# -- read() parses only what it needs -----------------------------------------------------------


def _session_lines(sid: str, count: int) -> list[dict]:
    lines = []
    parent = None
    for n in range(count):
        kind = "user" if n % 2 == 0 else "assistant"
        rec = {
            "parentUuid": parent,
            "isSidechain": False,
            "cwd": "/home/u/proj",
            "sessionId": sid,
            "version": "2.1.1" if n < count - 1 else "2.1.9",
            "gitBranch": "main",
            "type": kind,
            "uuid": f"u{n}",
            "timestamp": f"2026-01-01T00:{n // 600:02d}:{n // 10 % 60:02d}.{n % 10}00Z",
        }
        if kind == "user":
            text = "first real prompt" if n == 0 else "more words " * 20
            rec["message"] = {"role": "user", "content": text}
        else:
            rec["message"] = {
                "id": f"msg_{n}",
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-4-5" if n < 4000 else "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "an answer " * 20}],
            }
        lines.append(rec)
        parent = rec["uuid"]
    return lines


def test_read_json_parses_only_the_lines_it_needs(tmp_path: Path, monkeypatch):
    sid = "33333333-2222-4333-8444-555555555555"
    lines = _session_lines(sid, 5000)
    lines.insert(2500, {"type": "custom-title", "customTitle": "Renamed midway", "sessionId": sid})
    root = tmp_path / "home" / ".claude" / "projects" / "-p"
    root.mkdir(parents=True)
    path = root / f"{sid}.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert path.stat().st_size > 2 * (1 << 20)  # several read blocks, lines cut between them
    ctx = CollectContext(home=tmp_path / "home", env={})
    item = discover(ctx)[sid]

    calls = []
    real_loads = json.loads

    def counting_loads(*args, **kwargs):
        calls.append(1)
        return real_loads(*args, **kwargs)

    monkeypatch.setattr(json, "loads", counting_loads)
    snap = collector.read(item, ctx)
    monkeypatch.undo()
    assert len(calls) <= 5, len(calls)  # line 1, the title line, the last line (of 5001)
    assert snap.title == "Renamed midway" and snap.attributes["title_source"] == "custom-title"
    assert snap.created_at == parse_iso("2026-01-01T00:00:00.000Z")
    assert snap.updated_at == parse_iso(lines[-1]["timestamp"])
    assert snap.attributes["version"] == "2.1.9"  # the newest one, from the last line
    # a bounded sample: the first model and the last record's (not every model in between)
    assert snap.attributes["models"] == ["claude-opus-4-5", "claude-sonnet-4-5"]
    assert snap.warnings == ()


@pytest.mark.parametrize(
    "record",
    [
        '{"type":"custom-title","customTitle":"Compact form","sessionId":"S"}',
        '{"type": "custom-title", "customTitle": "Compact form", "sessionId": "S"}',
        '{"sessionId": "S", "customTitle": "Compact form", "type"  :\t"custom-title"}',
    ],
)
def test_title_records_are_found_in_any_json_spacing(tmp_path: Path, record: str):
    sid = "44444444-2222-4333-8444-555555555555"
    root = tmp_path / "home" / ".claude" / "projects" / "-p"
    root.mkdir(parents=True)
    lines = [json.dumps(x) for x in _session_lines(sid, 6)]
    lines.insert(3, record.replace('"S"', json.dumps(sid)))
    (root / f"{sid}.jsonl").write_text("\n".join(lines) + "\n")
    ctx = CollectContext(home=tmp_path / "home", env={})
    snap = collector.read(discover(ctx)[sid], ctx)
    if '"type"  :' in record:  # no JSON writer puts a space before the colon
        assert snap.title == "first real prompt"
    else:
        assert snap.title == "Compact form"


def test_mid_file_bad_lines_are_left_to_the_renderer(tmp_path: Path):
    """Contract: read() reports a torn (unparsable) last line, and bad lines among those it
    parses; it no longer validates every line. The Markdown marks every bad line."""
    sid = "55555555-2222-4333-8444-555555555555"
    root = tmp_path / "home" / ".claude" / "projects" / "-p"
    root.mkdir(parents=True)
    lines = [json.dumps(x) for x in _session_lines(sid, 6)]
    lines.insert(3, '{"type": "user", "message": {"content": "corrupt')
    path = root / f"{sid}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ctx = CollectContext(home=tmp_path / "home", env={})
    snap, files, meta = snapshot_and_files_at(ctx, sid)
    assert snap.warnings == () and snap.title == "first real prompt"
    assert "⚠ line 4 could not be parsed" in collector.render_markdown(files, meta)
    path.write_text("\n".join(lines[:-1] + [lines[-1][:40]]) + "\n")
    snap, _, _ = snapshot_and_files_at(ctx, sid)
    assert snap.warnings == ("line 7: torn last line",)


def snapshot_and_files_at(ctx: CollectContext, key: str):
    snap = collector.read(discover(ctx)[key], ctx)
    files = {f.name: Path(f.path).read_bytes() for f in snap.files}
    return snap, files, {"native_id": snap.native_id, "title": snap.title}


def test_a_compaction_whose_parent_is_in_another_file_is_recorded(tmp_path: Path):
    sid = "66666666-2222-4333-8444-555555555555"
    root = tmp_path / "home" / ".claude" / "projects" / "-p"
    root.mkdir(parents=True)
    boundary = {
        "parentUuid": None,
        "logicalParentUuid": "gone-0000",
        "sessionId": sid,
        "type": "system",
        "subtype": "compact_boundary",
        "uuid": "c1",
        "timestamp": "2026-01-01T00:00:00Z",
    }
    present = dict(boundary, logicalParentUuid="u1", uuid="c2")
    lines = [boundary] + _session_lines(sid, 4) + [present]
    (root / f"{sid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    ctx = CollectContext(home=tmp_path / "home", env={})
    snap = collector.read(discover(ctx)[sid], ctx)
    assert snap.attributes["continued_from_message"] == "gone-0000"
