"""CopilotChatCollector on VS Code chat sessions laid out in a temporary home.

Inputs: tests/data/collectors/copilot-chat/ (written from the VS Code sources, see its
README) and, when present, the REAL Copilot Chat export in
../shared/fixtures/copilot/copilot-chat-to-markdown/chat.json wrapped into a session file.
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

from collectors import CollectContext, ItemError, SourceItem, TemporaryItemError
from collectors.copilot_chat import CopilotChatCollector
from collectors.copilot_chat import collector as copilot_module
from collectors.copilot_chat.mutation_log import replay
from collectors.copilot_chat.session import load_log, sniff_title
from collectors.files import short_hash
from collectors.jsonl import iter_jsonl
from collectors.testing import SECRET, CollectorConformance
from collectors.vscode_hosts import user_dirs
from vault import ConversationSnapshot
from vault.keys import KdfParams
from vault.vault import Vault

from .collector_fixtures import DATA, FIXTURES, need_fixtures

SRC = DATA / "copilot-chat"
FLAT_ID = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
LOG_ID = "8b1d4f6a-2c3e-4a5b-8c7d-9e0f1a2b3c4d"
EXPORT_ID = "5c0e7d1b-9a8f-4e3d-b2c1-a0f9e8d7c6b5"
USER = Path(".config/Code/User")

collector = CopilotChatCollector()


def ctx_for(home: Path, **options) -> CollectContext:
    return CollectContext(home=home, env={}, options=options)


def storage(home: Path, workspace: str, user: Path = USER) -> Path:
    folder = home / user / "workspaceStorage" / workspace / "chatSessions"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def build_home(home: Path) -> Path:
    """Two workspaces (a flat session with workspace.json, a mutation log) in ~/.config/Code."""
    shutil.copyfile(SRC / "flat-v3.json", storage(home, "a1b2c3") / f"{FLAT_ID}.json")
    shutil.copyfile(SRC / "workspace.json", home / USER / "workspaceStorage" / "a1b2c3" / "workspace.json")
    shutil.copyfile(SRC / "log.jsonl", storage(home, "d4e5f6") / f"{LOG_ID}.jsonl")
    return home


def export_session() -> dict:
    """The REAL export as a session file: requests as exported + the fields an export lacks."""
    data = json.loads((need_fixtures() / "copilot" / "copilot-chat-to-markdown" / "chat.json").read_text())
    data.update(version=3, sessionId=EXPORT_ID, creationDate=data["requests"][0]["timestamp"] - 1000)
    return data


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


# ---------------------------------------------------------------------------------------
# Conformance


class TestCopilotChatConformance(CollectorConformance):
    credential_files = (
        ".config/Code/User/workspaceStorage/a1b2c3/chatSessions/auth.json",
        ".config/Code/User/globalStorage/state.vscdb",
        ".config/Code/User/globalStorage/github.copilot-chat/secrets.json",
    )

    def make_collector(self):
        return CopilotChatCollector()

    def make_sources(self, home: Path) -> None:
        build_home(home)
        if FIXTURES.is_dir():
            empty = home / USER / "globalStorage" / "emptyWindowChatSessions"
            empty.mkdir(parents=True)
            (empty / f"{EXPORT_ID}.json").write_text(json.dumps(export_session()))

    def hostile_source(self, home: Path, title: str) -> bool:
        data = json.loads((SRC / "flat-v3.json").read_text())
        data["customTitle"] = title
        (storage(home, "h0st1le") / f"{FLAT_ID}.json").write_text(json.dumps(data))
        return True


# ---------------------------------------------------------------------------------------
# Discovery


def test_discover_lists_sessions_with_their_stamps(tmp_path):
    home = build_home(tmp_path)
    items = discover(ctx_for(home))
    assert set(items) == {FLAT_ID, LOG_ID}
    flat = items[FLAT_ID]
    assert {Path(s.path).name for s in flat.stamps} == {f"{FLAT_ID}.json", "workspace.json"}
    assert {Path(s.path).name for s in items[LOG_ID].stamps} == {f"{LOG_ID}.jsonl"}
    for stamp in flat.stamps:
        st = os.stat(stamp.path)
        assert (stamp.size, stamp.mtime_ns, stamp.ino) == (st.st_size, st.st_mtime_ns, st.st_ino)


def test_discover_only_lists_and_stats(tmp_path, monkeypatch):
    home = build_home(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("discover opened a file")

    for target, name in ((builtins, "open"), (io, "open"), (os, "open"),
                         (pathlib.Path, "open"), (pathlib.Path, "read_bytes"),
                         (pathlib.Path, "read_text")):
        monkeypatch.setattr(target, name, refuse)
    assert len(list(collector.discover(ctx_for(home)))) == 2


def test_every_vscode_family_host_is_found(tmp_path):
    home = tmp_path
    layouts = {
        "Code": ".config/Code/User",
        "Code - Insiders": "Library/Application Support/Code - Insiders/User",
        "VSCodium": "AppData/Roaming/VSCodium/User",
        ".vscode-server": ".vscode-server/data/User",
        ".vscode-remote": ".vscode-remote/data/User",
        "Code (flatpak)": ".var/app/com.visualstudio.code/config/Code/User",
    }
    for n, user in enumerate(layouts.values()):
        shutil.copyfile(SRC / "flat-v3.json", storage(home, f"w{n}", Path(user)) / f"s{n}.json")
    (home / ".config" / "Cursor" / "User").mkdir(parents=True)  # not a Copilot Chat host
    hosts = user_dirs(ctx_for(home))
    assert [h.label for h in hosts] == [
        "Code", "Code (flatpak)", ".vscode-server", "Code - Insiders", "VSCodium", ".vscode-remote"
    ]
    items = discover(ctx_for(home))
    assert set(items) == {f"s{n}" for n in range(len(layouts))}
    snap = collector.read(items["s3"], ctx_for(home))
    assert snap.attributes["host"] == ".vscode-server"


def test_xdg_config_home_and_appdata_are_honoured(tmp_path):
    home = tmp_path / "home"
    xdg, appdata = tmp_path / "xdg", tmp_path / "appdata"
    shutil.copyfile(SRC / "flat-v3.json", storage(xdg, "w", Path("Code/User")) / "x.json")
    shutil.copyfile(SRC / "flat-v3.json", storage(appdata, "w", Path("VSCodium/User")) / "y.json")
    ctx = CollectContext(home=home, env={"XDG_CONFIG_HOME": str(xdg), "APPDATA": str(appdata)})
    assert set(discover(ctx)) == {"x", "y"}


def test_the_path_option_points_elsewhere(tmp_path):
    home = build_home(tmp_path / "home")
    other = tmp_path / "portable" / "data" / "user-data"
    shutil.copyfile(SRC / "log.jsonl", storage(other, "p", Path("User")) / "portable.jsonl")
    assert set(discover(ctx_for(home, path=str(other)))) == {"portable"}
    assert set(discover(ctx_for(home, path=[str(other / "User"), str(home / USER)]))) == {
        "portable", FLAT_ID, LOG_ID
    }
    assert collector.locate(ctx_for(home, path=str(tmp_path / "nowhere"))) == []


def test_the_same_session_in_two_workspaces_is_kept_twice(tmp_path):
    home = build_home(tmp_path)
    copy = storage(home, "zz9")  # VS Code copies sessions when a window changes workspace
    shutil.copyfile(SRC / "flat-v3.json", copy / f"{FLAT_ID}.json")
    empty = home / USER / "globalStorage" / "emptyWindowChatSessions"
    empty.mkdir(parents=True)
    shutil.copyfile(SRC / "flat-v3.json", empty / f"{FLAT_ID}.json")
    items = discover(ctx_for(home))
    second = f"{FLAT_ID}@{short_hash('Code/workspaceStorage/zz9')}"
    third = f"{FLAT_ID}@{short_hash('Code/globalStorage/emptyWindowChatSessions')}"
    assert set(items) == {FLAT_ID, LOG_ID, second, third}
    assert items[FLAT_ID].hint.storage == "workspaceStorage/a1b2c3"
    snap = collector.read(items[third], ctx_for(home))
    assert snap.native_id == third and snap.attributes["storage"] == "emptyWindow"
    assert "folder" not in snap.attributes


def test_credentials_and_links_to_them_are_never_taken(tmp_path):
    home = build_home(tmp_path)
    sessions = storage(home, "a1b2c3")
    (home / "secrets.json").write_bytes(SECRET)
    (sessions / "leak.json").symlink_to(home / "secrets.json")
    (sessions / "auth.json").write_bytes(SECRET)
    (sessions / "notes.txt").write_bytes(SECRET)
    items = discover(ctx_for(home))
    assert set(items) == {FLAT_ID, LOG_ID}


# ---------------------------------------------------------------------------------------
# Reading and rendering


def test_flat_session_title_times_and_attributes(tmp_path):
    home = build_home(tmp_path)
    snap, files, _ = read(ctx_for(home), FLAT_ID)
    assert snap.title == "How do I reverse a list in Python without copying it?"
    assert snap.created_at == 1736935200.0 and snap.updated_at == 1736935500.0
    assert list(files) == [f"{FLAT_ID}.json"]
    assert files[f"{FLAT_ID}.json"] == (SRC / "flat-v3.json").read_bytes()
    attrs = snap.attributes
    assert attrs["folder"] == "/home/u/projects/demo"
    assert attrs["workspace"] == "file:///home/u/projects/demo"
    assert attrs["models"] == ["copilot/gpt-4.1", "copilot/claude-sonnet-4"]
    assert attrs["format"] == "flat" and attrs["requests"] == 2
    assert attrs["title_source"] == "first-request" and not snap.warnings


def test_flat_session_renders_every_part(tmp_path):
    home = build_home(tmp_path)
    _, _, text = read(ctx_for(home), FLAT_ID)
    for expected in (
        "How do I reverse a list in Python without copying it?",
        "And for a string?",
        "Use `list.reverse()`, which works in place:",
        "```python\nitems = [1, 2, 3]\nitems.reverse()\n```",  # a fence split over two parts
        "See `utils.py` for where it is used.",  # an inline reference inside the text
        "The user wants an in-place reversal",  # thinking
        "python -c 'print([3, 2, 1])'",  # terminal command
        "[3, 2, 1]\n(exit code 0)",  # a tool call's result from result.metadata
        "**Tool call:** `run_in_terminal`",
        "def rev(xs):",  # a text edit
        "The file has unsaved changes",  # a warning
        "unknown response part 'futureWidget'",
        "Can I reverse a tuple too?",  # follow-up
        "Sorry, the response was cut off.",
        "Strings are immutable; use slicing: `s[::-1]`.",
        "GitHub Copilot · cancelled",
        "Done: the list is reversed in place.",
        "`/home/u/projects/demo`",
    ):
        assert expected in text, expected
    assert "<details>\n<summary>Thinking</summary>" in text
    assert "codeblockUri" not in text and "undoStop" not in text


def test_log_is_replayed_to_its_final_state(tmp_path):
    home = build_home(tmp_path)
    snap, files, text = read(ctx_for(home), LOG_ID)
    assert snap.title == "Flaky upload test on CI"  # set by a kind-1 entry
    assert snap.attributes["title_source"] == "customTitle"
    assert snap.attributes["format"] == "log" and snap.attributes["log_entries"] == 12
    assert snap.created_at == 1767225600.0 and snap.updated_at == 1767225710.0
    assert files[f"{LOG_ID}.jsonl"] == (SRC / "log.jsonl").read_bytes()  # the raw log is kept
    assert "Why does test_upload fail only on CI?" in text
    assert "Probably a race: the fixture writes the file after the upload starts." in text
    assert "await fixture.ready()" in text
    assert "First draft that will be replaced" not in text  # push with i=0 replaced it
    assert "voted helpful" in text
    assert "Draft input (not sent)" in text and "also check the retry logic" in text


def test_log_wins_over_an_older_flat_copy(tmp_path):
    home = build_home(tmp_path)
    folder = storage(home, "d4e5f6")
    old = json.loads((SRC / "flat-v3.json").read_text())
    old["sessionId"] = LOG_ID
    (folder / f"{LOG_ID}.json").write_text(json.dumps(old))
    items = discover(ctx_for(home))
    assert len(items[LOG_ID].stamps) == 2
    snap, files, text = read(ctx_for(home), LOG_ID)
    assert set(files) == {f"{LOG_ID}.jsonl", f"{LOG_ID}.json"}
    assert snap.title == "Flaky upload test on CI"
    assert "an older copy of the session" in text


def test_real_export_as_a_session_renders_every_request(tmp_path):
    data = export_session()
    home = tmp_path
    empty = home / USER / "globalStorage" / "emptyWindowChatSessions"
    empty.mkdir(parents=True)
    (empty / f"{EXPORT_ID}.json").write_text(json.dumps(data))
    snap, _, text = read(ctx_for(home), EXPORT_ID)
    assert snap.title.startswith("I want to create a Repo Organizer")
    assert snap.attributes["models"] == ["copilot/claude-sonnet-4"]
    assert snap.attributes["requests"] == len(data["requests"]) == 8
    rendered = words(text)
    for request in data["requests"]:
        assert words(request["message"]["text"]) <= rendered
        for part in request["response"]:
            if "kind" not in part:
                assert words(part["value"]) <= rendered
    assert "⚠ unknown" not in text and "could not render" not in text
    assert text.count("**Edited**") == sum(
        1 for r in data["requests"] for p in r["response"] if p.get("kind") == "textEditGroup"
    )


def test_real_export_as_a_mutation_log_replays_to_the_same_state(tmp_path):
    data = export_session()
    initial = dict(data, requests=[])
    lines = [{"kind": 0, "v": initial}]
    for n, request in enumerate(data["requests"]):
        lines.append({"kind": 2, "k": ["requests"], "v": [dict(request, response=[])]})
        lines.append({"kind": 2, "k": ["requests", n, "response"], "v": request["response"]})
    raw = "".join(json.dumps(x) + "\n" for x in lines).encode()
    assert load_log(raw).state == data
    folder = storage(tmp_path, "real")
    (folder / f"{EXPORT_ID}.jsonl").write_bytes(raw)
    (storage(tmp_path, "flat") / "copy.json").write_text(json.dumps(data))
    _, _, from_log = read(ctx_for(tmp_path), EXPORT_ID)
    _, _, from_flat = read(ctx_for(tmp_path), "copy")
    body = lambda t: t.split("## Conversation", 1)[1]  # noqa: E731
    assert body(from_log) == body(from_flat)


# ---------------------------------------------------------------------------------------
# The mutation log, entry by entry


def run(entries: list[dict], tail: bytes = b"") -> object:
    data = b"".join(json.dumps(e).encode() + b"\n" for e in entries) + tail
    return replay(iter_jsonl(data))


def test_mutation_log_semantics():
    result = run([
        {"kind": 0, "v": {"a": {"b": [1, 2, 3]}, "x": 1, "keep": True}},
        {"kind": 1, "k": ["a", "b", 1], "v": 20},
        {"kind": 2, "k": ["a", "b"], "v": [4, 5], "i": 2},  # cut to 2 items, then push
        {"kind": 2, "k": ["a", "new"], "v": ["n"]},  # a missing array starts empty
        {"kind": 2, "k": ["a", "b"], "i": 3},  # only cut
        {"kind": 3, "k": ["x"]},
        {"kind": 3, "k": ["a", "b", 0]},  # an array element becomes null
        {"kind": 1, "k": ["a", "b", 3], "v": "end"},  # one past the end appends
    ])
    assert result.state == {"a": {"b": [None, 20, 4, "end"], "new": ["n"]}, "keep": True}
    assert result.entries == 8 and result.initials == 1 and not result.problems


def test_mutation_log_skips_what_it_cannot_apply():
    result = run([
        {"kind": 1, "k": ["a"], "v": 1},  # before the initial state
        {"kind": 0, "v": {"a": {"b": []}}},
        {"kind": 1, "k": ["nope", "deeper"], "v": 1},  # the path does not exist
        {"kind": 2, "k": ["a", "b"], "v": "not a list"},
        {"kind": 7, "k": ["a"]},
        {"kind": 1, "k": "a", "v": 1},
        {"kind": 2, "k": ["a", "b"], "v": [1]},
    ], tail=b'{"kind": 2, "k": ["a", "b"], "v": [2')
    assert result.state == {"a": {"b": [1]}}
    assert result.torn
    assert [p.split(":", 1)[0] for p in result.problems] == [
        "line 1", "line 3", "line 4", "line 5", "line 6", "line 8"
    ]
    assert result.problems[-1] == "line 8: torn last line"


def test_mutation_log_restarts_at_a_second_initial_state_and_set_of_root():
    result = run([{"kind": 0, "v": {"a": 1}}, {"kind": 0, "v": {"b": 2}}, {"kind": 1, "k": [], "v": {"c": 3}}])
    assert result.state == {"c": 3} and result.initials == 2


# ---------------------------------------------------------------------------------------
# Bad input


def test_torn_last_log_line_is_a_warning(tmp_path):
    home = build_home(tmp_path)
    path = storage(home, "d4e5f6") / f"{LOG_ID}.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"kind":1,"k":["customTitle"],"v":"half')
    snap, _, text = read(ctx_for(home), LOG_ID)
    assert snap.title == "Flaky upload test on CI"
    assert snap.warnings == (f"{LOG_ID}.jsonl line 13: torn last line",)
    assert "torn last line" in text


def store(vault: Vault, snap: ConversationSnapshot, item: SourceItem) -> str:
    with vault.writer() as w:
        return w.store(ConversationSnapshot(**{**{f: getattr(snap, f) for f in snap.__dataclass_fields__},
                                               "org": "test"}),
                       collector="copilot-chat", key=item.key, stamps=item.stamps).status


def test_half_written_flat_file_is_temporary_and_the_previous_version_stays(tmp_path):
    home = build_home(tmp_path / "home")
    ctx = ctx_for(home)
    vault, _ = Vault.create(tmp_path / "vault", "pw", KdfParams(1, 1024, 1))
    item = discover(ctx)[FLAT_ID]
    assert store(vault, collector.read(item, ctx), item) == "new"
    path = storage(home, "a1b2c3") / f"{FLAT_ID}.json"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # VS Code is rewriting it right now
    item = discover(ctx)[FLAT_ID]
    with pytest.raises(TemporaryItemError) as err:
        collector.read(item, ctx)
    assert "being written" in err.value.reason and err.value.path == str(path)
    with vault.reader() as r:
        (conv,) = [c for c in r.conversations() if c.native_id == FLAT_ID]
        assert len(conv.version_serials) == 1
    # Long unchanged and still broken: it will not get better; keep its bytes, with a warning.
    old = time.time() - 3600
    os.utime(path, (old, old))
    snap, files, text = read(ctx, FLAT_ID)
    assert files[f"{FLAT_ID}.json"] == whole[: len(whole) // 2]
    assert snap.title == "Untitled"
    assert any("not valid JSON" in w for w in snap.warnings)
    assert "no readable session state" in text


def test_log_being_rewritten_is_temporary(tmp_path):
    home = build_home(tmp_path)
    path = storage(home, "d4e5f6") / f"{LOG_ID}.jsonl"
    first = path.read_bytes().split(b"\n")[0]
    path.write_bytes(first[: len(first) // 2])  # the compaction rewrite, cut short
    with pytest.raises(TemporaryItemError):
        collector.read(discover(ctx_for(home))[LOG_ID], ctx_for(home))
    path.write_bytes(b"")  # truncated, nothing written yet
    with pytest.raises(TemporaryItemError):
        collector.read(discover(ctx_for(home))[LOG_ID], ctx_for(home))


def test_a_vanished_session_is_an_item_error(tmp_path):
    home = build_home(tmp_path)
    item = discover(ctx_for(home))[LOG_ID]
    os.unlink(storage(home, "d4e5f6") / f"{LOG_ID}.jsonl")
    with pytest.raises(TemporaryItemError):
        collector.read(item, ctx_for(home))
    with pytest.raises(ItemError):
        collector.read(SourceItem("no-such-session", ()), ctx_for(home))


def test_odd_but_valid_json_does_not_break_reading_or_rendering(tmp_path):
    folder = storage(tmp_path, "odd")
    (folder / "list.json").write_text("[1, 2]")
    (folder / "weird.json").write_text(json.dumps({
        "sessionId": 5, "customTitle": ["x"], "creationDate": "soon",
        "requests": [None, 3, {"message": 7, "response": "plain text answer", "result": []},
                     {"message": "old style text", "response": [7, None, {"kind": 3}, {"value": None}]}],
    }))
    old = time.time() - 3600
    for p in folder.iterdir():
        os.utime(p, (old, old))
    items = discover(ctx_for(tmp_path))
    snap, _, text = read(ctx_for(tmp_path), "list")
    assert snap.title == "Untitled" and any("not a JSON object" in w for w in snap.warnings)
    snap, _, text = read(ctx_for(tmp_path), "weird")
    assert snap.title == "old style text"
    assert "plain text answer" in text and "request 1 is not an object" in text
    assert "response part of type int" in text
    assert len(items) == 2


def test_files_too_large_to_parse_get_a_scanned_title(tmp_path, monkeypatch):
    home = build_home(tmp_path)
    monkeypatch.setattr(copilot_module, "PARSE_LIMIT", 100)
    snap, _, _ = read(ctx_for(home), LOG_ID)
    assert snap.title == "Flaky upload test on CI"
    assert any("not parsed" in w for w in snap.warnings)
    snap, _, _ = read(ctx_for(home), FLAT_ID)
    assert snap.title == "How do I reverse a list in Python without copying it?"


def test_sniff_title_is_bounded_and_skips_escaped_matches():
    filler = b"x" * (3 << 20)
    data = (b'{"requests":[{"note":"\\"customTitle\\": \\"fake\\"", "pad":"' + filler
            + b'","message":{"text":"first \\u00e9 prompt"}}],"customTitle":"Real one"}')
    assert sniff_title(io.BytesIO(data)) == ("Real one", "first é prompt")
    assert sniff_title(io.BytesIO(b"")) == (None, None)


def test_host_labels_stay_unique_and_paths_expand(tmp_path):
    from collectors.locations import expand as expand_path

    for user in (".config/Code/User", "AppData/Roaming/Code/User"):
        (tmp_path / user).mkdir(parents=True)
    (tmp_path / "linked").symlink_to(tmp_path / ".config", target_is_directory=True)
    ctx = CollectContext(home=tmp_path, env={"XDG_CONFIG_HOME": "~/linked"})
    assert [h.label for h in user_dirs(ctx)] == ["Code", "Code (~/AppData/Roaming/Code/User)"]
    assert expand_path("~", tmp_path) == tmp_path
    assert expand_path("~/x/y", tmp_path) == tmp_path / "x" / "y"
    assert expand_path("/abs", tmp_path) == Path("/abs")
