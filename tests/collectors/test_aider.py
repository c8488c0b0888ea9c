"""AiderCollector on aider chat histories found in repositories under a temporary $HOME."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import pathlib
import shutil
from pathlib import Path

import pytest

from collectors import CollectContext, SourceItem, TemporaryItemError
from collectors import markdown as md
from collectors.aider import AiderCollector
from collectors.aider.history import parse_history, parse_input_history
from collectors.testing import CollectorConformance

from .collector_fixtures import DATA, SECRET, need_fixtures

DATA_DIR = DATA / "aider" / "strict"
HISTORY = ".aider.chat.history.md"
INPUTS = ".aider.input.history"

collector = AiderCollector()


def build_aider_home(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """A $HOME with two repositories holding aider history (the shared fixture and our
    strict-format file), decoys in skipped folders, and API keys beside them."""
    fixture = need_fixtures() / "aider" / "agentsview" / "myrepo" / HISTORY
    home = tmp_path / "home"
    repos = {
        "myrepo": home / "src" / "myrepo",
        "cache-lib": home / "work" / "clients" / "acme" / "cache-lib",
    }
    repos["myrepo"].mkdir(parents=True)
    shutil.copyfile(fixture, repos["myrepo"] / HISTORY)
    shutil.copytree(DATA_DIR, repos["cache-lib"])
    # decoys: dependency folders, too deep, behind a directory symlink
    for decoy in (home / "src" / "myrepo" / "node_modules" / "pkg",
                  home / "src" / ".venv" / "lib",
                  home / "a" / "b" / "c" / "d" / "e" / "f" / "g"):
        decoy.mkdir(parents=True)
        shutil.copyfile(fixture, decoy / HISTORY)
    (home / "linked").symlink_to(repos["myrepo"], target_is_directory=True)
    # secrets aider users keep next to their repositories
    (repos["myrepo"] / ".env").write_bytes(b"OPENAI_API_KEY=" + SECRET)
    (home / ".aider.conf.yml").write_bytes(b"openai-api-key: " + SECRET)
    return home, repos


def ctx_for(home: Path, **options) -> CollectContext:
    return CollectContext(home=home, env={}, options=options)


def discover(ctx: CollectContext) -> dict[str, SourceItem]:
    found = list(collector.discover(ctx))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


def read_repo(home: Path, repo: Path, **options):
    ctx = ctx_for(home, **options)
    key = hashlib.sha256(str(repo).encode()).hexdigest()[:16]
    snap = collector.read(discover(ctx)[key], ctx)
    files = {f.name: Path(f.path).read_bytes() for f in snap.files}
    meta = {"native_id": snap.native_id, "title": snap.title, "attributes": dict(snap.attributes)}
    return snap, files, meta


@pytest.fixture
def aider_home(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    return build_aider_home(tmp_path)


# -- conformance ------------------------------------------------------------------------------


class TestAiderConformance(CollectorConformance):
    credential_files = ("src/myrepo/.env", ".aider.conf.yml")

    def make_collector(self):
        return AiderCollector()

    def make_sources(self, home: Path) -> None:
        built, _ = build_aider_home(home.parent / "build-aider")
        for rel in ("src/myrepo", "work/clients/acme/cache-lib"):
            shutil.copytree(built / rel, home / rel, ignore=shutil.ignore_patterns("node_modules"))


# -- discover ---------------------------------------------------------------------------------


def test_discover_finds_repositories_and_skips_the_rest(aider_home):
    home, repos = aider_home
    items = discover(ctx_for(home))
    expected = {hashlib.sha256(str(p).encode()).hexdigest()[:16]: p for p in repos.values()}
    assert set(items) == set(expected)
    cache = items[[k for k, p in expected.items() if p.name == "cache-lib"][0]]
    assert sorted(Path(s.path).name for s in cache.stamps) == [HISTORY, INPUTS]


def test_discover_only_lists_and_stats(aider_home, monkeypatch):
    home, repos = aider_home

    def refuse(*args, **kwargs):
        raise AssertionError("discover opened a file")

    for target, name in ((builtins, "open"), (io, "open"), (os, "open"),
                         (pathlib.Path, "open"), (pathlib.Path, "read_bytes"),
                         (pathlib.Path, "read_text")):
        monkeypatch.setattr(target, name, refuse)
    assert len(list(collector.discover(ctx_for(home)))) == len(repos)


def test_depth_roots_path_skip_and_max_dirs_options(aider_home):
    home, repos = aider_home
    assert len(discover(ctx_for(home, max_depth=2))) == 1  # src/myrepo only
    assert len(discover(ctx_for(home, max_depth=8))) == 3  # now the deep decoy too
    only_work = discover(ctx_for(home, roots=[str(home / "work")]))
    assert [i.stamps[0].path for i in only_work.values()] == [str(repos["cache-lib"] / HISTORY)]
    by_file = discover(ctx_for(home, roots=[], path=str(repos["myrepo"] / HISTORY)))
    assert len(by_file) == 1
    tilde = discover(ctx_for(home, roots=["~/src"]))
    assert len(tilde) == 1
    assert len(discover(ctx_for(home, skip=["work"]))) == 1
    assert len(discover(ctx_for(home, max_dirs=1))) == 0  # only $HOME itself was listed


def test_read_gives_repo_title_stable_id_and_raw_files(aider_home):
    home, repos = aider_home
    snap, files, _ = read_repo(home, repos["cache-lib"])
    assert snap.title == "cache-lib" and snap.provider == "aider"
    assert snap.native_id == hashlib.sha256(str(repos["cache-lib"]).encode()).hexdigest()[:16]
    assert snap.attributes == {"repo": str(repos["cache-lib"]), "runs": 2}
    assert files == {HISTORY: (DATA_DIR / HISTORY).read_bytes(),
                     INPUTS: (DATA_DIR / INPUTS).read_bytes()}
    assert snap.created_at is not None and snap.warnings == ()
    again, _, _ = read_repo(home, repos["cache-lib"])
    assert again.native_id == snap.native_id


# -- the format -------------------------------------------------------------------------------


def _turns(history):
    return [(t.role, t.text) for run in history.runs for t in run.turns]


def test_a_heading_inside_a_reply_is_not_user_input():
    text = (need_fixtures() / "aider" / "agentsview" / "myrepo" / HISTORY).read_text()
    history = parse_history(text)
    assert not history.strict and len(history.runs) == 3 and history.runs[2].turns == []
    turns = _turns(history)
    assert [t for r, t in turns if r == "user"] == [
        "add a retry to the webhook",
        "make the timeout configurable",
    ]
    assert "#### Step 1\nWrap the call in a loop." in turns[1][1]
    assert turns[2] == ("tool", "Applied edit to src/webhook.py\nApplied edit to src/webhook.py\n"
                                "Creating empty file src/retry.py\n"
                                "Did not apply edit to src/skip.py (--dry-run)\n"
                                "Skipping edits to src/other.py")


def test_strict_files_use_aider_s_trailing_spaces():
    history = parse_history((DATA_DIR / HISTORY).read_text())
    assert history.strict
    users = [t for r, t in _turns(history) if r == "user"]
    assert users == ["/add src/cache.py", "make the cache thread safe\nand keep it fast", "",
                     "add a test for concurrent writes"]
    reply = [t for r, t in _turns(history) if r == "assistant"][0]
    assert "#### Why a lock" in reply and "> Note: reads stay lock-free." in reply
    assert "```python\n<<<<<<< SEARCH" in reply
    tools = [t for r, t in _turns(history) if r == "tool"]
    assert tools[0].startswith("Aider v0.86.1\nMain model:")
    assert any(t.startswith("Tokens: 2.1k sent") for t in tools)


def test_input_history_entries():
    entries = parse_input_history((DATA_DIR / INPUTS).read_text())
    assert [(e.when, e.text) for e in entries] == [
        ("2026-05-04 09:12:41", "/add src/cache.py"),
        ("2026-05-04 09:13:02", "make the cache thread safe\nand keep it fast"),
        ("2026-05-05 17:40:20", "add a test for concurrent writes"),
    ]


# -- render -------------------------------------------------------------------------------------


@pytest.mark.parametrize("repo", ["myrepo", "cache-lib"])
def test_every_turn_appears_in_the_markdown(aider_home, repo: str):
    home, repos = aider_home
    snap, files, meta = read_repo(home, repos[repo])
    out = collector.render_markdown(files, meta)
    assert out.startswith(f"# {repo}\n")
    history = parse_history(files[HISTORY].decode())
    for role, text in _turns(history):
        if role in ("user", "assistant") and text.strip():
            assert md.sanitize(md.text_block(text)) in out, text[:80]
    for n, run in enumerate(history.runs, 1):
        assert f"## Run {n} · started {run.started_text}" in out


def test_runs_tools_and_input_history_in_the_markdown(aider_home):
    home, repos = aider_home
    out = collector.render_markdown(*read_repo(home, repos["cache-lib"])[1:])
    assert "> Applied edit to src/cache.py  " in out and "## Input history" in out
    assert "_(empty input)_" in out and "`make the cache thread safe and keep it fast`" in out
    assert out.count("### User") == 4 and out.count("### Aider") == 2


# -- bad input ----------------------------------------------------------------------------------


def test_incomplete_last_line_is_a_warning(aider_home):
    home, repos = aider_home
    path = repos["myrepo"] / HISTORY
    path.write_bytes(path.read_bytes() + b"#### half a prom")
    snap, files, meta = read_repo(home, repos["myrepo"])
    assert snap.warnings == ("last line is incomplete (no newline at the end)",)
    assert "the last line is incomplete" in collector.render_markdown(files, meta)


def test_vanished_history_is_a_temporary_error(aider_home):
    home, repos = aider_home
    ctx = ctx_for(home)
    item = next(i for i in discover(ctx).values() if "myrepo" in i.stamps[0].path)
    (repos["myrepo"] / HISTORY).unlink()
    with pytest.raises(TemporaryItemError):
        collector.read(item, ctx)


def test_credentials_are_never_collected(aider_home):
    home, repos = aider_home
    (home / "leaky").mkdir()
    (home / "leaky" / HISTORY).symlink_to(repos["myrepo"] / ".env")
    ctx = ctx_for(home)
    items = discover(ctx)
    assert len(items) == 2
    for item in items.values():
        snap = collector.read(item, ctx)
        for raw in snap.files:
            assert SECRET not in Path(raw.path).read_bytes()


def test_rendering_garbage_never_raises():
    for data in (b"", b"\xff\xfe\x00" * 30, b"#### ", b"> \n>\n####\n# aider chat started at x\n",
                 b"# aider chat started at 2026-13-45 99:99:99\n\n#### a  \n"):
        for meta in ({}, {"title": 5}, {"attributes": "x"}):
            for files in ({HISTORY: data}, {HISTORY: data, INPUTS: data}, {INPUTS: data}):
                out = collector.render_markdown(files, meta)
                assert isinstance(out, str) and out.endswith("\n")
