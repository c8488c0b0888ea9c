"""CopilotCliCollector on Copilot CLI session logs laid out in a temporary ~/.copilot."""

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
from collectors.copilot_cli import CopilotCliCollector
from collectors.copilot_cli.events import workspace_fields
from collectors.testing import CollectorConformance

from .collector_fixtures import DATA, SECRET, need_fixtures

DATA_DIR = DATA / "copilot-cli"
OWN = "0199bbbb-1111-4222-8333-00000000c0de"
FOLDER = "aaaabbbb-1111-2222-3333-ccccddddeeee"
FLAT = "copilot_stage0_small"

EXPECTED_TITLES = {
    FLAT: "List the files",
    FOLDER: "List the files",
    OWN: "Dark mode toggle",
}

collector = CopilotCliCollector()


@dataclass
class CopilotHome:
    home: Path
    root: Path
    logs: dict[str, Path] = field(default_factory=dict)  # session id -> its main log

    @property
    def ctx(self) -> CollectContext:
        return CollectContext(home=self.home, env={})


def build_copilot_home(tmp_path: Path) -> CopilotHome:
    """~/.copilot/session-state with both layouts: the flat fixture as ``<id>.jsonl``, the
    folder fixture and our own session as ``<id>/events.jsonl``; the CLI's token file planted."""
    src = need_fixtures() / "copilot-cli" / "agent-sessions"
    home = tmp_path / "home"
    root = home / ".copilot"
    state = root / "session-state"
    state.mkdir(parents=True)
    built = CopilotHome(home, root)
    shutil.copyfile(src / "small.jsonl", state / f"{FLAT}.jsonl")
    built.logs[FLAT] = state / f"{FLAT}.jsonl"
    shutil.copytree(src / "subdir_v1" / FOLDER, state / FOLDER)
    built.logs[FOLDER] = state / FOLDER / "events.jsonl"
    shutil.copytree(DATA_DIR / OWN, state / OWN)
    built.logs[OWN] = state / OWN / "events.jsonl"
    (root / "config.json").write_bytes(b'{"copilot_tokens":{"u":"' + SECRET + b'"}}')
    (state / OWN / "files").mkdir()
    (state / OWN / "files" / "config.json").symlink_to(root / "config.json")
    (state / "no-log-here").mkdir()
    (state / "no-log-here" / "workspace.yaml").write_text("id: no-log-here\n")
    return built


def discover(ctx: CollectContext) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


def read(built: CopilotHome, key: str):
    snap = collector.read(discover(built.ctx)[key], built.ctx)
    files = {f.name: Path(f.path).read_bytes() for f in snap.files}
    return snap, files, {"native_id": snap.native_id, "title": snap.title}


@pytest.fixture
def copilot_home(tmp_path: Path) -> CopilotHome:
    return build_copilot_home(tmp_path)


# -- conformance ------------------------------------------------------------------------------


class TestCopilotCliConformance(CollectorConformance):
    credential_files = (".copilot/config.json",)

    def make_collector(self):
        return CopilotCliCollector()

    def make_sources(self, home: Path) -> None:
        built = build_copilot_home(home.parent / "build-copilot")
        shutil.copytree(built.root / "session-state", home / ".copilot" / "session-state",
                        ignore=shutil.ignore_patterns("config.json"))

    def hostile_source(self, home: Path, title: str) -> bool:
        folder = home / ".copilot" / "session-state" / "0199cccc-0000-4000-8000-000000000001"
        folder.mkdir(parents=True)
        events = [
            {"type": "session.start", "data": {"sessionId": folder.name}, "id": "e1",
             "timestamp": "2026-01-01T00:00:00Z", "parentId": None},
            {"type": "session.title_changed", "data": {"title": title}, "id": "e2",
             "timestamp": "2026-01-01T00:00:01Z", "parentId": "e1"},
        ]
        (folder / "events.jsonl").write_text("".join(json.dumps(x) + "\n" for x in events))
        return True


# -- discover / read -------------------------------------------------------------------------


def test_discover_finds_both_layouts(copilot_home: CopilotHome):
    items = discover(copilot_home.ctx)
    assert set(items) == set(EXPECTED_TITLES)  # a folder without a log is not a session
    names = sorted(Path(s.path).name for s in items[OWN].stamps)
    assert names == ["events.jsonl", "plan.md", "workspace.yaml"]  # the token symlink is left out


def test_discover_only_lists_and_stats(copilot_home: CopilotHome, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("discover opened a file")

    for target, name in ((builtins, "open"), (io, "open"), (os, "open"),
                         (pathlib.Path, "open"), (pathlib.Path, "read_bytes"),
                         (pathlib.Path, "read_text")):
        monkeypatch.setattr(target, name, refuse)
    assert len(list(collector.discover(copilot_home.ctx))) == len(EXPECTED_TITLES)


def test_root_from_copilot_home_and_option(copilot_home: CopilotHome, tmp_path: Path):
    moved = tmp_path / "elsewhere"
    shutil.move(str(copilot_home.root), moved)
    assert list(collector.discover(copilot_home.ctx)) == []
    by_env = CollectContext(home=copilot_home.home, env={"COPILOT_HOME": str(moved)})
    assert collector.locate(by_env) == [moved] and set(discover(by_env)) == set(EXPECTED_TITLES)
    by_option = CollectContext(home=copilot_home.home, env={"COPILOT_HOME": "/nonexistent"},
                               options={"path": str(moved)})
    assert set(discover(by_option)) == set(EXPECTED_TITLES)


def test_flat_and_folder_logs_of_one_session_are_one_item(copilot_home: CopilotHome):
    state = copilot_home.root / "session-state"
    shutil.copyfile(copilot_home.logs[FOLDER], state / f"{FOLDER}.jsonl")
    snap, files, meta = read(copilot_home, FOLDER)
    assert sorted(files) == [f"{FOLDER}.jsonl", "events.jsonl"]
    assert snap.attributes["layout"] == "both" and snap.source_path.endswith("events.jsonl")
    out = collector.render_markdown(files, meta)
    assert "## Conversation" in out and f"## Log {FOLDER}.jsonl" in out


@pytest.mark.parametrize("key", sorted(EXPECTED_TITLES))
def test_titles_and_byte_identical_files(copilot_home: CopilotHome, key: str):
    snap, files, _ = read(copilot_home, key)
    assert snap.provider == "copilot-cli" and snap.native_id == key
    assert snap.title == EXPECTED_TITLES[key] and snap.warnings == ()
    log = copilot_home.logs[key]
    name = "events.jsonl" if log.name == "events.jsonl" else log.name
    assert files[name] == log.read_bytes()


def test_read_metadata(copilot_home: CopilotHome):
    snap, files, _ = read(copilot_home, OWN)
    attrs = snap.attributes
    assert attrs["cwd"] == "/home/u/site" and attrs["repository"] == "u/site"
    assert attrs["branch"] == "dev" and attrs["version"] == "1.0.30"
    assert attrs["models"] == ["claude-sonnet-4.5"] and attrs["title_source"] == "title_changed"
    assert attrs["layout"] == "folder" and sorted(files) == ["events.jsonl", "plan.md", "workspace.yaml"]
    assert snap.created_at == 1775030400.0 and snap.updated_at == 1775030416.1
    flat, _, _ = read(copilot_home, FLAT)
    assert flat.attributes["models"] == ["gpt-5-mini"] and flat.attributes["layout"] == "flat"


def test_title_falls_back_to_the_workspace_summary(copilot_home: CopilotHome):
    log = copilot_home.logs[OWN]
    kept = [line for line in log.read_bytes().splitlines(keepends=True)
            if b'"session.title_changed"' not in line]
    log.write_bytes(b"".join(kept))
    snap, _, _ = read(copilot_home, OWN)
    assert snap.title == "Add a dark mode toggle\nto the site header"
    assert snap.attributes["title_source"] == "workspace.yaml"


def test_workspace_yaml_scalars():
    text = (
        "id: abc\nsummary: 'It''s done' # not a comment inside quotes\n"
        "cwd: \"/home/u/a \\\"b\\\"\"\nnested:\n  key: x\nplain: one\n  two\nfolded: >\n  a\n  b\n"
    )
    fields = workspace_fields(text)
    assert fields["id"] == "abc" and fields["cwd"] == '/home/u/a "b"'
    assert fields["plain"] == "one two" and fields["folded"] == "a b"
    assert "nested" not in fields and "key" not in fields
    assert fields["summary"].startswith("It's done")


def test_session_id_mismatch_is_a_warning(copilot_home: CopilotHome):
    state = copilot_home.root / "session-state"
    shutil.copytree(state / FOLDER, state / "renamed-session")
    snap, _, _ = read(copilot_home, "renamed-session")
    assert snap.warnings == (f"session.start names session {FOLDER}, not the file's",)


# -- render -------------------------------------------------------------------------------------


def _texts(path: Path) -> list[str]:
    out = []
    for line in path.read_bytes().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        data = rec.get("data") or {}
        if rec.get("type") in ("user.message", "assistant.message", "assistant.reasoning"):
            for key in ("content", "reasoningText"):
                if isinstance(data.get(key), str) and data[key].strip():
                    out.append(data[key])
    return out


@pytest.mark.parametrize("key", sorted(EXPECTED_TITLES))
def test_every_message_text_appears_in_the_markdown(copilot_home: CopilotHome, key: str):
    snap, files, meta = read(copilot_home, key)
    out = collector.render_markdown(files, meta)
    assert out.startswith(f"# {md.escape_inline(snap.title)}\n")
    for text in _texts(copilot_home.logs[key]):
        assert md.sanitize(md.text_block(text)) in out, text[:80]


def test_tool_calls_are_followed_by_their_results(copilot_home: CopilotHome):
    out = collector.render_markdown(*read(copilot_home, OWN)[1:])
    a = out.index("**Tool call:** `str_replace_editor` · `call_a`")
    b = out.index("**Tool call:** `bash` · `call_b`")
    assert a < out.index("**Tool result** (succeeded) for `call_a`") < b
    assert b < out.index("**Tool result** (failed) for `call_b`")
    assert out.count("**Tool result** (succeeded) for `call_a`") == 1
    assert "_⚠ error: 1 test failed_" in out and '"command": "npm test"' in out
    assert "<summary>Reasoning</summary>" in out and "- [attachment: App.tsx]" in out
    assert "<summary>As sent to the model</summary>" in out
    assert "### Subagent" in out and "_Subagent Test fixer started_" in out
    assert "**Context compacted**" in out and "it was added to App.tsx" in out
    assert "_Title set: Dark mode toggle_" in out
    assert "## Session files" in out and "1. Add DarkToggle" in out


# -- bad input ----------------------------------------------------------------------------------


def test_torn_log_is_a_warning_and_the_rest_renders(copilot_home: CopilotHome):
    log = copilot_home.logs[OWN]
    with open(log, "ab") as f:
        f.write(b'{"type":"assistant.message","data":{"content":"cut')
    snap, files, meta = read(copilot_home, OWN)
    assert snap.warnings == ("line 17: torn last line",)
    out = collector.render_markdown(files, meta)
    assert "line 17 could not be parsed" in out and "Dark mode is in" in out


def test_vanished_log_is_a_temporary_error(copilot_home: CopilotHome):
    item = discover(copilot_home.ctx)[FLAT]
    copilot_home.logs[FLAT].unlink()
    with pytest.raises(TemporaryItemError):
        collector.read(item, copilot_home.ctx)


def test_credentials_are_never_collected(copilot_home: CopilotHome):
    for item in discover(copilot_home.ctx).values():
        snap = collector.read(item, copilot_home.ctx)
        for raw in snap.files:
            assert Path(os.path.realpath(raw.path)).name != "config.json"
            assert SECRET not in Path(raw.path).read_bytes()


def test_rendering_garbage_never_raises():
    for data in (b"", b"\xff\x00" * 40, b"[]\n7\n", b'{"type":5,"data":[]}\n',
                 b'{"type":"assistant.message","data":{"toolRequests":[1,{"arguments":"{bad"}]}}\n',
                 b'{"type":"tool.execution_complete","data":{"result":[1],"error":3}}\n',
                 b'{"type":"user.message","data":{"attachments":"x","content":7}}\n'):
        for meta in ({}, {"title": 5}, {"native_id": "s"}):
            out = collector.render_markdown({"events.jsonl": data, "workspace.yaml": b"\xff:"}, meta)
            assert isinstance(out, str) and out.endswith("\n")
