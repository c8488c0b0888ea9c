"""ClineCollector (and the shared task collector) on task folders in a temporary home.

Inputs: tests/data/collectors/cline/ (written from the Cline and Roo Code sources, see its
README), copied into ``<User>/globalStorage/saoudrizwan.claude-dev/tasks/<id>/``.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import pathlib
import re
import shutil
import time
from pathlib import Path

import pytest

from collectors import CollectContext, SourceItem, TemporaryItemError
from collectors import markdown as md
from collectors.cline import ClineCollector
from collectors.cline import collector as cline_module
from collectors.files import short_hash
from collectors.testing import SECRET, CollectorConformance
from vault import ConversationSnapshot
from vault.keys import KdfParams
from vault.vault import Vault

from .collector_fixtures import DATA

SRC = DATA / "cline"
TASK = "1718000000000"
ROO_TASK = "01J0ZQ3V7W8X9Y0Z1A2B3C4D5E"  # a Cline ULID task id, holding the v2 sample
EXT = "saoudrizwan.claude-dev"
CODE = Path(".config/Code/User")
CURSOR = Path("Library/Application Support/Cursor/User")

collector = ClineCollector()


def tasks_dir(home: Path, user: Path = CODE, ext: str = EXT) -> Path:
    folder = home / user / "globalStorage" / ext / "tasks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def build_home(home: Path) -> Path:
    shutil.copytree(SRC / TASK, tasks_dir(home) / TASK)
    shutil.copytree(SRC / "roo-v2", tasks_dir(home, CURSOR) / ROO_TASK)
    return home


def ctx_for(home: Path, env: dict | None = None, **options) -> CollectContext:
    return CollectContext(home=home, env=env or {}, options=options)


def discover(ctx: CollectContext) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


def read(ctx: CollectContext, key: str) -> tuple[ConversationSnapshot, dict[str, bytes], str]:
    snap = collector.read(discover(ctx)[key], ctx)
    files = {f.name: Path(f.path).read_bytes() for f in snap.files}
    text = collector.render_markdown(
        files, {"native_id": snap.native_id, "title": snap.title, "attributes": dict(snap.attributes)}
    )
    return snap, files, text


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{4,}", text))


def shown_text(text: str) -> str:
    """The text of an event as a reader sees it: JSON payloads by their string values."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    out: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
    return "\n".join(out)


def make_old(path: Path) -> None:
    old = time.time() - 3600
    os.utime(path, (old, old))


class TestClineConformance(CollectorConformance):
    credential_files = (
        f".config/Code/User/globalStorage/{EXT}/secrets.json",
        f".config/Code/User/globalStorage/{EXT}/tasks/{TASK}/secrets.json",
        f".config/Code/User/globalStorage/{EXT}/tasks/{TASK}/.env",
        f".config/Code/User/globalStorage/{EXT}/tasks/{TASK}/checkpoints/.git/config",
        ".cline/data/secrets.json",
    )

    def make_collector(self):
        return ClineCollector()

    def make_sources(self, home: Path) -> None:
        build_home(home)

    # Cline stores no title of its own: the title is the task text, cut like any first
    # prompt (collectors/titles.py), so hostile titles cannot pass through unchanged.


# ---------------------------------------------------------------------------------------
# Discovery


def test_discover_finds_tasks_in_every_editor(tmp_path):
    home = build_home(tmp_path)
    items = discover(ctx_for(home))
    assert set(items) == {TASK, ROO_TASK}
    assert {Path(s.path).name for s in items[TASK].stamps} == {
        "api_conversation_history.json", "ui_messages.json", "task_metadata.json",
        f"focus_chain_taskid_{TASK}.md",
    }
    assert items[TASK].hint.root == "Code" and items[ROO_TASK].hint.root == "Cursor"


def test_discover_only_lists_and_stats(tmp_path, monkeypatch):
    home = build_home(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("discover opened a file")

    for target, name in ((builtins, "open"), (io, "open"), (os, "open"),
                         (pathlib.Path, "open"), (pathlib.Path, "read_bytes"),
                         (pathlib.Path, "read_text")):
        monkeypatch.setattr(target, name, refuse)
    assert len(list(collector.discover(ctx_for(home)))) == 2


def test_skipped_files_folders_and_non_tasks(tmp_path):
    home = build_home(tmp_path)
    task = tasks_dir(home) / TASK
    (task / "checkpoints" / ".git").mkdir(parents=True)
    (task / "checkpoints" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (task / "api_conversation_history.json.lock").mkdir()
    (task / ".api_conversation_history.json.new_1_abc.tmp").write_text("[")
    (task / "ui_messages.json.tmp_123").write_text("[")
    (task / "context_history.json").write_text("[[0,[[0,[[1,1,\"x\"]]]]]]")
    (task / "images").mkdir()
    (task / "images" / "shot.png").write_bytes(b"\x89PNG")
    (task / "images" / "secrets.json").write_bytes(SECRET)
    (tasks_dir(home) / "empty-folder").mkdir()
    (tasks_dir(home) / "_index.json").write_text("{}")  # Roo Code's index: a file, not a task
    (tasks_dir(home) / "only-settings").mkdir()
    (tasks_dir(home) / "only-settings" / "settings.json").write_text("{}")
    items = discover(ctx_for(home))
    assert set(items) == {TASK, ROO_TASK}
    names = {f.name for f in collector.read(items[TASK], ctx_for(home)).files}
    assert names == {
        "api_conversation_history.json", "ui_messages.json", "task_metadata.json",
        f"focus_chain_taskid_{TASK}.md", "context_history.json", "images/shot.png",
    }


def test_links_to_credentials_are_never_taken(tmp_path):
    home = build_home(tmp_path)
    task = tasks_dir(home) / TASK
    (home / "secrets.json").write_bytes(SECRET)
    (task / "notes.json").symlink_to(home / "secrets.json")
    (task / "linked").symlink_to(home, target_is_directory=True)
    names = {f.name for f in collector.read(discover(ctx_for(home))[TASK], ctx_for(home)).files}
    assert "notes.json" not in names and not any(n.startswith("linked") for n in names)


def test_the_same_task_id_in_two_editors_is_kept_twice(tmp_path):
    home = build_home(tmp_path)
    shutil.copytree(SRC / TASK, tasks_dir(home, Path(".windsurf-server/data/User")) / TASK)
    items = discover(ctx_for(home))
    other = f"{TASK}@{short_hash('.windsurf-server')}"
    assert set(items) == {TASK, ROO_TASK, other}
    snap = collector.read(items[other], ctx_for(home))
    assert snap.native_id == other and snap.attributes["host"] == ".windsurf-server"
    assert snap.attributes["task_id"] == TASK


def test_cline_cli_data_dir_and_the_path_option(tmp_path):
    home = tmp_path / "home"
    shutil.copytree(SRC / TASK, home / ".cline" / "data" / "tasks" / TASK)
    assert set(discover(ctx_for(home))) == {TASK}
    custom = tmp_path / "cline-home"
    shutil.copytree(SRC / "roo-v2", custom / "data" / "tasks" / "t2")
    assert set(discover(ctx_for(home, {"CLINE_DIR": str(custom)}))) == {"t2"}
    assert set(discover(ctx_for(home, {"CLINE_DATA_DIR": str(custom / "data")}))) == {"t2"}
    # options["path"]: a storage folder, a User folder, or the tasks folder itself.
    build_home(tmp_path / "other")
    assert set(discover(ctx_for(home, path=str(custom / "data")))) == {"t2"}
    assert set(discover(ctx_for(home, path=[str(tmp_path / "other" / CODE),
                                            str(custom / "data" / "tasks")]))) == {TASK, "t2"}
    assert collector.locate(ctx_for(home, path=str(tmp_path / "nowhere"))) == []


# ---------------------------------------------------------------------------------------
# Reading and rendering


def test_title_times_and_attributes(tmp_path):
    home = build_home(tmp_path)
    snap, files, _ = read(ctx_for(home), TASK)
    assert snap.title == "Add a --dry-run flag to the deploy script."
    assert snap.created_at == 1718000000.0 and snap.updated_at == 1718000032.0
    for name, data in files.items():
        assert data == (SRC / TASK / name).read_bytes()
    attrs = snap.attributes
    assert attrs["cwd"] == "/home/u/projects/shipit"
    assert attrs["models"] == ["claude-sonnet-4-20250514"]
    assert attrs["version"] == "3.17.4" and attrs["editor"] == "Visual Studio Code 1.101.0"
    assert (attrs["api_messages"], attrs["ui_messages"], attrs["files_in_context"]) == (6, 15, 2)
    assert attrs["title_source"] == "task" and not snap.warnings


def test_every_message_and_event_is_rendered(tmp_path):
    home = build_home(tmp_path)
    _, files, text = read(ctx_for(home), TASK)
    api = json.loads(files["api_conversation_history.json"])
    ui = json.loads(files["ui_messages.json"])
    rendered = words(text)
    for message in api:
        for block in message["content"]:
            for key in ("text", "thinking"):
                if isinstance(block.get(key), str):
                    text_of_block = re.sub(r"</?task>", "", block[key])  # the tags are dropped
                    assert words(text_of_block) <= rendered, block[key]
    for event in ui:
        if isinstance(event.get("text"), str) and not event.get("say") == "api_req_started":
            assert words(shown_text(event["text"])) <= rendered, event["text"]
    for expected in (
        "**Tool call:** `read_file` · `toolu_01`",
        "rsync -a build/ host:/srv/app",  # a tool_result block
        "[image: image/png, 16 bytes]",
        "**Tool output** (replace\\_in\\_file for 'deploy.sh')",
        "<summary>Environment details</summary>",
        "(redacted thinking, 12 bytes)",
        "unknown content block 'citations\\_delta'",
        "API request · 2024-06-10 06:13:20 UTC (1200 in, 80 out, 900 cache writes, $0.0123)",
        "**Command** (awaiting approval)",
        "Should --dry-run also skip the build step?",
        "_⚠ error · ",
        "say: hologram\\_preview",
        "checkpoint 9d27c5afd2",
        "## Focus chain",
        "- `README.md` (cline_edited, active)",
    ):
        assert expected in text, expected


def test_roo_v2_history_in_a_cline_folder_renders(tmp_path):
    home = build_home(tmp_path)
    snap, _, text = read(ctx_for(home), ROO_TASK)
    assert snap.title == "Rename the `fetchAll` helper to `loadAll` everywhere."
    assert snap.attributes["cwd"] == "/home/u/web"
    for expected in ("**Tool call:** `search_files` · `call_1`",
                     "src/api.ts:3: export function fetchAll()",
                     "Only one definition and no callers.",
                     "History format:** version 2",
                     "- `history_item.json`"):
        assert expected in text, expected


def test_title_falls_back_to_the_first_user_message(tmp_path):
    home = build_home(tmp_path)
    task = tasks_dir(home) / TASK
    ui = json.loads((task / "ui_messages.json").read_text())
    (task / "ui_messages.json").write_text(json.dumps(ui[1:]))  # no task event first
    snap, _, _ = read(ctx_for(home), TASK)
    assert snap.title == "Add a --dry-run flag to the deploy script."
    assert snap.attributes["title_source"] == "api-history"
    os.unlink(task / "ui_messages.json")
    os.unlink(task / "api_conversation_history.json")
    assert TASK not in discover(ctx_for(home))  # only metadata left: not a task


def test_legacy_claude_messages_file(tmp_path):
    home = build_home(tmp_path)
    task = tasks_dir(home) / TASK
    os.rename(task / "ui_messages.json", task / "claude_messages.json")
    snap, files, text = read(ctx_for(home), TASK)
    assert "claude_messages.json" in files
    assert snap.title == "Add a --dry-run flag to the deploy script."
    assert "## Task log (claude\\_messages.json)" in text


# ---------------------------------------------------------------------------------------
# Bad input


def store(vault: Vault, snap: ConversationSnapshot, item: SourceItem) -> str:
    fields = {f: getattr(snap, f) for f in snap.__dataclass_fields__}
    with vault.writer() as w:
        return w.store(ConversationSnapshot(**{**fields, "org": "test"}),
                       collector="cline", key=item.key, stamps=item.stamps).status


@pytest.mark.parametrize("name", ["ui_messages.json", "api_conversation_history.json",
                                  "task_metadata.json"])
def test_half_written_file_is_temporary_and_the_previous_version_stays(tmp_path, name):
    home = build_home(tmp_path / "home")
    ctx = ctx_for(home)
    vault, _ = Vault.create(tmp_path / "vault", "pw", KdfParams(1, 1024, 1))
    item = discover(ctx)[TASK]
    assert store(vault, collector.read(item, ctx), item) == "new"
    path = tasks_dir(home) / TASK / name
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) * 2 // 3])  # the extension is rewriting it now
    item = discover(ctx)[TASK]
    with pytest.raises(TemporaryItemError) as err:
        collector.read(item, ctx)
    assert err.value.reason.startswith("being written") and err.value.path == str(path)
    assert collector.read(discover(ctx)[ROO_TASK], ctx)  # the other task is unaffected
    with vault.reader() as r:
        (conv,) = [c for c in r.conversations() if c.native_id == TASK]
        assert len(conv.version_serials) == 1
    # Long unchanged and still broken: stored as it is, with a warning.
    make_old(path)
    snap, files, text = read(ctx, TASK)
    assert files[name] == whole[: len(whole) * 2 // 3]
    assert snap.warnings == (f"{name}: not valid JSON (cut off or being written); kept as it is",)
    assert f"{md.escape_inline(name)}: not valid JSON" in text
    item = discover(ctx)[TASK]
    assert store(vault, snap, item) == "changed"


def test_an_empty_file_just_truncated_is_temporary(tmp_path):
    home = build_home(tmp_path)
    (tasks_dir(home) / TASK / "ui_messages.json").write_bytes(b"")
    with pytest.raises(TemporaryItemError, match="being written"):
        collector.read(discover(ctx_for(home))[TASK], ctx_for(home))


def test_a_vanished_task_is_temporary(tmp_path):
    home = build_home(tmp_path)
    item = discover(ctx_for(home))[TASK]
    shutil.rmtree(tasks_dir(home) / TASK)
    with pytest.raises(TemporaryItemError):
        collector.read(item, ctx_for(home))


def test_odd_but_valid_json_renders(tmp_path):
    home = build_home(tmp_path)
    task = tasks_dir(home) / TASK
    (task / "ui_messages.json").write_text(json.dumps(
        [None, {"type": "say", "say": "tool", "text": "not json"}, {"type": "ask", "ask": "followup", "text": "plain?"},
         {"type": "say", "say": "api_req_started", "text": "{bad"}, {"ts": "x", "type": 3}]))
    (task / "api_conversation_history.json").write_text(json.dumps(
        [3, {"role": "user", "content": 5}, {"role": "assistant", "content": [None, "loose text", {"type": 1}]},
         {"role": "user", "content": [{"type": "tool_result", "content": {"weird": True}}]}]))
    (task / "task_metadata.json").write_text("[]")
    snap, _, text = read(ctx_for(home), TASK)
    assert snap.title == "Untitled"
    for expected in ("message 1 is not an object", "content in an unknown shape", "loose text",
                     "content block of type NoneType", "event 1 is not an object", "plain?",
                     "not json", '"weird": true'):
        assert expected in text, expected


def test_large_files_are_checked_cheaply_and_titled_from_their_head(tmp_path, monkeypatch):
    home = build_home(tmp_path)
    monkeypatch.setattr(cline_module, "PARSE_LIMIT", 100)
    snap, _, text = read(ctx_for(home), TASK)
    assert snap.title == "Add a --dry-run flag to the deploy script."
    assert snap.created_at == 1718000000.0
    assert "ui_messages" not in snap.attributes
    assert any("not parsed" in w for w in snap.warnings)
    assert "Documented `--dry-run` in README.md." in text  # rendering parses everything
    path = tasks_dir(home) / TASK / "ui_messages.json"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(TemporaryItemError):
        collector.read(discover(ctx_for(home))[TASK], ctx_for(home))
