"""QwenCodeCollector on Qwen Code transcripts laid out in a temporary ~/.qwen."""

from __future__ import annotations

import builtins
import io
import json
import os
import pathlib
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from collectors import CollectContext, SourceItem, TemporaryItemError
from collectors import markdown as md
from collectors.qwen_code import QwenCodeCollector
from collectors.qwen_code.records import build_tree
from collectors.testing import CollectorConformance

from .collector_fixtures import DATA, SECRET, need_fixtures

PROJECT = "-tmp-as-qwen-fixture-project"
DATA_DIR = DATA / "qwen-code"
OWN = "0199aaaa-0000-7000-8000-00000000c0de"
TELEMETRY = str(uuid.uuid5(uuid.NAMESPACE_URL, "aifs-test:system_telemetry.jsonl"))

EXPECTED_TITLES = {
    "019f0000-0000-7000-8000-000000000001": "Inspect the synthetic fixture.",
    "019f0000-0000-7000-8000-000000000002": "This record deliberately carries the wrong session ID.",
    "019f0000000070008000000000000003": "Inspect a compact-ID synthetic fixture.",
    "019f0000-0000-7000-8000-000000000004": "Active branch title",
    "019f0000-0000-7000-8000-000000000005": 'Inspect {"glued": "objects"} safely.',
    TELEMETRY: "Untitled",
    OWN: "Rename port option",
}

collector = QwenCodeCollector()


@dataclass
class QwenHome:
    home: Path
    root: Path
    sessions: dict[str, Path] = field(default_factory=dict)  # stem -> transcript

    @property
    def ctx(self) -> CollectContext:
        return CollectContext(home=self.home, env={})


def build_qwen_home(tmp_path: Path) -> QwenHome:
    """~/.qwen/projects/<project>/chats with the shared fixtures (named after their session
    ids, as Qwen Code names them) and our own session with its side folder."""
    src = need_fixtures() / "qwen" / "agent-sessions"
    home = tmp_path / "home"
    root = home / ".qwen"
    built = QwenHome(home, root)
    chats = root / "projects" / PROJECT / "chats"
    chats.mkdir(parents=True)
    for path in sorted(src.glob("*.jsonl")):
        stem = TELEMETRY if path.stem == "system_telemetry" else path.stem
        shutil.copyfile(path, chats / f"{stem}.jsonl")
        built.sessions[stem] = chats / f"{stem}.jsonl"
    mine = root / "projects" / "-home-u-webapp" / "chats"
    mine.mkdir(parents=True)
    shutil.copyfile(DATA_DIR / f"{OWN}.jsonl", mine / f"{OWN}.jsonl")
    shutil.copytree(DATA_DIR / OWN, mine / OWN)
    built.sessions[OWN] = mine / f"{OWN}.jsonl"
    (root / "oauth_creds.json").write_bytes(b'{"access_token":"' + SECRET + b'"}')
    (root / "settings.json").write_bytes(b'{"security":{"auth":{"apiKey":"' + SECRET + b'"}}}')
    (mine / OWN / "leak.md").symlink_to(root / "oauth_creds.json")
    return built


def discover(ctx: CollectContext) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


def read(built: QwenHome, key: str):
    snap = collector.read(discover(built.ctx)[key], built.ctx)
    files = {f.name: Path(f.path).read_bytes() for f in snap.files}
    return snap, files, {"native_id": snap.native_id, "title": snap.title}


@pytest.fixture
def qwen_home(tmp_path: Path) -> QwenHome:
    return build_qwen_home(tmp_path)


# -- conformance ------------------------------------------------------------------------------


class TestQwenCodeConformance(CollectorConformance):
    credential_files = (".qwen/oauth_creds.json", ".qwen/settings.json")

    def make_collector(self):
        return QwenCodeCollector()

    def make_sources(self, home: Path) -> None:
        built = build_qwen_home(home.parent / "build-qwen")
        shutil.copytree(built.root / "projects", home / ".qwen" / "projects",
                        ignore=shutil.ignore_patterns("leak.md"))

    def hostile_source(self, home: Path, title: str) -> bool:
        chats = home / ".qwen" / "projects" / "-p" / "chats"
        chats.mkdir(parents=True)
        sid = "0199cccc-0000-7000-8000-000000000001"
        lines = [
            {"uuid": "a", "parentUuid": None, "sessionId": sid, "type": "user", "cwd": "/p",
             "timestamp": "2026-01-01T00:00:00Z", "message": {"role": "user", "parts": [{"text": "hi"}]}},
            {"uuid": "b", "parentUuid": "a", "sessionId": sid, "type": "system",
             "subtype": "custom_title", "timestamp": "2026-01-01T00:00:01Z",
             "systemPayload": {"customTitle": title, "titleSource": "manual"}},
        ]
        (chats / f"{sid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        return True


# -- discover / read -------------------------------------------------------------------------


def test_discover_finds_every_transcript(qwen_home: QwenHome):
    items = discover(qwen_home.ctx)
    assert set(items) == set(qwen_home.sessions)
    assert sorted(Path(s.path).name for s in items[OWN].stamps) == [f"{OWN}.jsonl", "notes.md"]


def test_discover_only_lists_and_stats(qwen_home: QwenHome, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("discover opened a file")

    for target, name in ((builtins, "open"), (io, "open"), (os, "open"),
                         (pathlib.Path, "open"), (pathlib.Path, "read_bytes"),
                         (pathlib.Path, "read_text")):
        monkeypatch.setattr(target, name, refuse)
    assert len(list(collector.discover(qwen_home.ctx))) == len(qwen_home.sessions)


def test_roots_from_qwen_home_runtime_dir_and_option(qwen_home: QwenHome, tmp_path: Path):
    moved = tmp_path / "qwen-home"
    shutil.move(str(qwen_home.root), moved)
    assert list(collector.discover(qwen_home.ctx)) == []
    by_env = CollectContext(home=qwen_home.home, env={"QWEN_HOME": str(moved)})
    assert set(discover(by_env)) == set(qwen_home.sessions)
    runtime = tmp_path / "runtime"
    (runtime / "projects" / "-x" / "chats").mkdir(parents=True)
    shutil.copyfile(moved / "projects" / "-home-u-webapp" / "chats" / f"{OWN}.jsonl",
                    runtime / "projects" / "-x" / "chats" / "0199dddd-0000-7000-8000-000000000001.jsonl")
    both = CollectContext(home=qwen_home.home,
                          env={"QWEN_HOME": str(moved), "QWEN_RUNTIME_DIR": str(runtime)})
    assert collector.locate(both) == [runtime, moved]
    assert "0199dddd-0000-7000-8000-000000000001" in discover(both)
    by_option = CollectContext(home=qwen_home.home, env={"QWEN_HOME": "/nonexistent"},
                               options={"path": str(moved)})
    assert set(discover(by_option)) == set(qwen_home.sessions)


def test_legacy_tmp_layout_and_archived_copies(qwen_home: QwenHome):
    legacy = qwen_home.root / "tmp" / "4f1e2d3c" / "chats"
    legacy.mkdir(parents=True)
    shutil.copyfile(qwen_home.sessions[OWN], legacy / "0199eeee-0000-7000-8000-000000000001.jsonl")
    archive = qwen_home.sessions[OWN].parent / "archive"
    archive.mkdir()
    shutil.copyfile(qwen_home.sessions[OWN], archive / f"{OWN}.jsonl")
    items = discover(qwen_home.ctx)
    assert "0199eeee-0000-7000-8000-000000000001" in items
    copies = sorted(k for k in items if k.startswith(OWN))
    assert len(copies) == 2 and OWN in copies  # the live one keeps the plain id
    snap = collector.read(items[[k for k in copies if k != OWN][0]], qwen_home.ctx)
    assert snap.attributes["folder"] == "archived"


@pytest.mark.parametrize("stem", sorted(EXPECTED_TITLES))
def test_titles_and_byte_identical_files(qwen_home: QwenHome, stem: str):
    snap, files, _ = read(qwen_home, stem)
    assert snap.provider == "qwen-code" and snap.native_id == stem
    assert snap.title == EXPECTED_TITLES[stem]
    path = qwen_home.sessions[stem]
    assert files[path.name] == path.read_bytes()


def test_read_metadata_links_and_warnings(qwen_home: QwenHome):
    snap, files, _ = read(qwen_home, OWN)
    attrs = snap.attributes
    assert attrs["cwd"] == "/home/u/webapp" and attrs["git_branch"] == "main"
    assert attrs["version"] == "0.6.1" and attrs["title_source"] == "custom_title:manual"
    assert attrs["models"] == ["qwen3-coder-plus", "qwen3-coder-flash"]
    assert sorted(files) == [f"{OWN}.jsonl", f"{OWN}/notes.md"] and snap.warnings == ()
    wrong, _, _ = read(qwen_home, "019f0000-0000-7000-8000-000000000002")
    assert wrong.warnings == (
        "records carry session id 019f0000-0000-7000-8000-000000000099, not the file name's",
    )
    glued, _, _ = read(qwen_home, "019f0000-0000-7000-8000-000000000005")
    assert glued.warnings == ("line 1: 2 JSON objects glued on one line (all kept)",)
    assert glued.attributes["models"] == ["synthetic-glued-model"]


def test_parent_and_fork_links(qwen_home: QwenHome):
    sid = "0199ffff-0000-7000-8000-000000000001"
    lines = [
        {"uuid": "a", "parentUuid": None, "sessionId": sid, "type": "user", "cwd": "/p",
         "timestamp": "2026-01-01T00:00:00Z", "forkedFrom": {"sessionId": OWN, "messageUuid": "q1"},
         "message": {"role": "user", "parts": [{"text": "forked prompt"}]}},
        {"uuid": "b", "parentUuid": "a", "sessionId": sid, "type": "system",
         "subtype": "parent_session", "timestamp": "2026-01-01T00:00:01Z",
         "systemPayload": {"parentSessionId": "0199aaaa-parent"}},
    ]
    path = qwen_home.sessions[OWN].parent / f"{sid}.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    snap, _, _ = read(qwen_home, sid)
    assert snap.links == {"parent": "0199aaaa-parent", "forked_from": OWN}


# -- the tree and the rendering ----------------------------------------------------------------


def _texts(path: Path) -> list[str]:
    out = []
    for line in path.read_bytes().splitlines():
        values = []
        try:
            values = [json.loads(line)]
        except ValueError:
            decoder = json.JSONDecoder()
            text, pos = line.decode(), 0
            while pos < len(text):
                value, pos = decoder.raw_decode(text, pos)
                values.append(value)
        for rec in values:
            if rec.get("type") in ("ui_telemetry",) or rec.get("subtype") == "ui_telemetry":
                continue
            message = rec.get("message") or {}
            for part in message.get("parts") or []:
                if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"].strip():
                    out.append(part["text"])
    return out


@pytest.mark.parametrize("stem", sorted(EXPECTED_TITLES))
def test_every_message_text_appears_in_the_markdown(qwen_home: QwenHome, stem: str):
    snap, files, meta = read(qwen_home, stem)
    out = collector.render_markdown(files, meta)
    assert out.startswith(f"# {md.escape_inline(snap.title)}\n")
    for text in _texts(qwen_home.sessions[stem]):
        assert md.sanitize(md.text_block(text)) in out, text[:80]


def test_rewound_branch_is_shown_apart_from_the_active_chain(qwen_home: QwenHome):
    stem = "019f0000-0000-7000-8000-000000000004"
    tree = build_tree(qwen_home.sessions[stem].read_bytes())
    chain = [tree.nodes[i].uuid[-2:] for i in tree.chain]
    assert chain == ["41", "44", "45", "46", "47"]  # 48 is an artifact, never the leaf
    assert len(tree.nodes) == 8  # the two records of uuid …46 are one message
    out = collector.render_markdown(*read(qwen_home, stem)[1:])
    conversation, _, branches = out.partition("## Branch 1")
    assert "Active branch answer." in conversation and "Discarded branch answer." in branches
    assert "_⟲ Conversation rewound_" in conversation
    assert conversation.index("Reason over the active branch.") < conversation.index(
        "Active branch answer."
    )
    assert "## Branch 2" not in out  # a branch of bookkeeping only is not shown


def test_tool_results_diffs_hooks_compression_and_subagents(qwen_home: QwenHome):
    out = collector.render_markdown(*read(qwen_home, OWN)[1:])
    assert "**Tool call:** `edit` · `call_edit_1`" in out
    assert "**Tool result** `edit` · `call_edit_1` · success" in out
    assert "```diff\n--- config.ts" in out and "<summary>Result sent to the model" in out
    assert "<summary>As sent to the model</summary>" in out  # the @-file expansion
    assert "**Context compressed**" in out and "Summary: renamed port to listenPort" in out
    assert "## Subagent Explore" in out and "Searched 14 files" in out
    assert "_Title set (manual): Rename port option_" in out
    assert "qwen-code.api_response" not in out  # telemetry is bookkeeping
    assert "## Other files" in out and "port renamed" in out
    hooks = collector.render_markdown(*read(qwen_home, "019f0000-0000-7000-8000-000000000001")[1:])
    assert "<summary>Hook context</summary>" in hooks


# -- bad input ----------------------------------------------------------------------------------


def test_torn_and_corrupt_lines_are_warnings(qwen_home: QwenHome):
    path = qwen_home.sessions[OWN]
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"{not json}\n" + b"".join(lines[1:]) + b'{"uuid":"x","par')
    snap, files, meta = read(qwen_home, OWN)
    assert "line 11: torn last line" in snap.warnings
    out = collector.render_markdown(files, meta)
    assert "line 2 could not be parsed" in out and "line 11 could not be parsed" in out
    assert "Done: the option is now `listenPort`." in out


def test_vanished_transcript_is_a_temporary_error(qwen_home: QwenHome):
    item = discover(qwen_home.ctx)[OWN]
    qwen_home.sessions[OWN].unlink()
    with pytest.raises(TemporaryItemError):
        collector.read(item, qwen_home.ctx)


def test_credentials_are_never_collected(qwen_home: QwenHome):
    for item in discover(qwen_home.ctx).values():
        for stamp in item.stamps:
            assert Path(os.path.realpath(stamp.path)).name not in ("oauth_creds.json", "settings.json")
        snap = collector.read(item, qwen_home.ctx)
        for raw in snap.files:
            assert SECRET not in Path(raw.path).read_bytes()


def test_rendering_garbage_never_raises():
    for data in (b"", b"\xff\x00" * 40, b"[]\n3\n", b'{"uuid":1,"parentUuid":{}}\n',
                 b'{"uuid":"a","parentUuid":"a","type":"assistant","message":{"parts":5}}\n',
                 b'{"uuid":"a","type":"tool_result","toolCallResult":{"resultDisplay":{"fileDiff":1}}}\n',
                 b'{"uuid":"a","type":"system","subtype":"chat_compression","systemPayload":{"compressedHistory":[1]}}\n'):
        for meta in ({}, {"title": 5}, {"native_id": "s"}):
            out = collector.render_markdown({"s.jsonl": data, "s/x.bin": b"\x00\x01"}, meta)
            assert isinstance(out, str) and out.endswith("\n")


# -- the shared helpers the Qwen glued-line fixture needs ---------------------------------------


def test_split_glued_is_all_or_nothing():
    from collectors.glued import split_glued

    assert split_glued(b'{"a":1}{"b":2}') == [{"a": 1}, {"b": 2}]
    assert split_glued(b'{"a":1} \t{"b":"}{"}') == [{"a": 1}, {"b": "}{"}]
    assert split_glued(b'{"a":1}') is None  # one object is not glued
    assert split_glued(b'{"a":1}[2]') is None and split_glued(b'{"a":1}{"b":') is None
    assert split_glued(b'\xff{"a":1}{"b":2}') is None


def test_glued_lines_in_the_middle_and_at_the_end(tmp_path: Path):
    from collectors.glued import iter_jsonl_glued
    from collectors.jsonl import BadLine
    from collectors.recordscan import RecordScanner
    from collectors.scan import file_reader

    data = b'{"n":1}\r\n{"n":2}{"n":3}\r\nnot json\n{"n":4}{"n":5}'
    glued: list[tuple[int, int]] = []
    items = list(iter_jsonl_glued(data, glued=glued))
    assert [(i.number, i.value["n"]) for i in items if not isinstance(i, BadLine)] == [
        (1, 1), (2, 2), (2, 3), (4, 4), (4, 5)]
    assert [(b.number, b.reason) for b in items if isinstance(b, BadLine)] == [(3, "not JSON")]
    assert glued == [(2, 2), (4, 2)]

    path = tmp_path / "t.jsonl"
    path.write_bytes(data)
    seen: list[int] = []

    class Probe(RecordScanner):
        def on_head(self, rec, offset):
            seen.append(rec["n"])
            return False

    probe = Probe(1 << 20, file_reader(path))
    with open(path, "rb", buffering=0) as stream:
        probe.scan(stream.readinto, path.stat().st_size)
    bad, found = probe.problems()
    assert seen == [1, 2, 3, 4, 5] and found == [(2, 2), (4, 2)]
    assert [(b.number, b.reason) for b in bad] == [(3, "not JSON")]
