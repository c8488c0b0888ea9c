"""Helpers for collector tests: real tool captures laid out in a temporary $HOME.

The shared fixtures live beside the repository (``../shared/fixtures``, read-only); tests
that need them are skipped when that directory is absent. They are *copied* into a tmp
home exactly as the tools would write them (Claude Code names a transcript after its
session id; Codex names a rollout ``rollout-<time>-<uuid>.jsonl`` under sessions/Y/M/D).
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from collectors import CollectContext

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
FIXTURES = SHARED / "fixtures"
DATA = REPO / "tests" / "data" / "collectors"

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SECRET = b"sk-ant-NEVER-COPY-THIS-SECRET"


def need_fixtures() -> Path:
    """The shared fixtures directory, or skip the calling test."""
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures not present")
    return FIXTURES


def records(path: Path) -> list[dict]:
    """The parseable JSON objects of a JSONL file (test-side, independent of the code)."""
    out = []
    for line in path.read_bytes().splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def claude_session_id(path: Path) -> str:
    """What Claude Code would name this transcript: the last uuid-shaped ``sessionId`` in
    it (a ``--continue`` file repeats earlier sessions' lines first), else a stable uuid."""
    ids = [r["sessionId"] for r in records(path) if isinstance(r.get("sessionId"), str)]
    real = [s for s in ids if _UUID.match(s)]
    if real:
        return real[-1]
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aifs-test:{path.name}"))


def claude_slug(path: Path) -> str:
    """The project folder name Claude Code derives from the transcript's cwd."""
    for r in records(path):
        if isinstance(r.get("cwd"), str) and r["cwd"].startswith("/"):
            return re.sub(r"[^A-Za-z0-9]", "-", r["cwd"])
    return "-home-u-proj"


@dataclass
class ClaudeHome:
    """A tmp ``$HOME`` with ``.claude/`` built from fixtures. ``sessions`` maps the fixture's
    path (relative to fixtures/claude-code) to ``(session id, transcript path)``."""

    home: Path
    root: Path
    sessions: dict[str, tuple[str, Path]] = field(default_factory=dict)

    @property
    def ctx(self) -> CollectContext:
        return CollectContext(home=self.home, env={})


def build_claude_home(tmp_path: Path) -> ClaudeHome:
    fixtures = need_fixtures() / "claude-code"
    home = tmp_path / "home"
    root = home / ".claude"
    built = ClaudeHome(home, root)
    for src in sorted(fixtures.rglob("*.jsonl")):
        rel = src.relative_to(fixtures).as_posix()
        if "/subagents/" in rel:
            continue
        sid = claude_session_id(src)
        folder = root / "projects" / claude_slug(src)
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{sid}.jsonl"
        shutil.copyfile(src, dest)
        built.sessions[rel] = (sid, dest)
        side = src.with_suffix("")  # the ≥2.1.2 per-session folder keeps its layout
        if side.is_dir():
            shutil.copytree(side, folder / sid)
    # Our own small inputs: a branching session, a 2.0 subagent file, a spilled tool output.
    branches = DATA / "claude-code" / "branches.jsonl"
    folder = root / "projects" / claude_slug(branches)
    folder.mkdir(parents=True, exist_ok=True)
    sid = claude_session_id(branches)
    shutil.copyfile(branches, folder / f"{sid}.jsonl")
    built.sessions["data:branches.jsonl"] = (sid, folder / f"{sid}.jsonl")
    (folder / sid / "tool-results").mkdir(parents=True)
    shutil.copyfile(
        DATA / "claude-code" / "tool-result.txt", folder / sid / "tool-results" / "toolu_p1.txt"
    )
    shutil.copyfile(DATA / "claude-code" / "agent-2.0.jsonl", folder / "agent-8f3e2a1b.jsonl")
    # History and configuration profile.
    shutil.copyfile(DATA / "claude-code" / "history.jsonl", root / "history.jsonl")
    shutil.copytree(DATA / "claude-code" / "profile", root, dirs_exist_ok=True)
    plant_secrets(root)
    return built


def plant_secrets(root: Path) -> None:
    """Credentials a collector must never pick up, including through a symlink."""
    (root / ".credentials.json").write_bytes(b'{"claudeAiOauth":{"accessToken":"' + SECRET + b'"}}')
    (root / ".encryption_key").write_bytes(SECRET)
    (root / "skills" / "demo").mkdir(parents=True, exist_ok=True)
    (root / "skills" / "demo" / ".credentials.json").write_bytes(SECRET)
    (root / "commands").mkdir(parents=True, exist_ok=True)
    (root / "commands" / "leak.md").symlink_to(root / ".credentials.json")
    projects = root / "projects"
    if projects.is_dir():
        folder = sorted(projects.iterdir())[0]
        (folder / "leak.jsonl").symlink_to(root / ".credentials.json")
        (folder / ".encryption_key").write_bytes(SECRET)


# ---------------------------------------------------------------------------------------
# Codex


@dataclass
class CodexHome:
    """A tmp ``$HOME`` with ``.codex/``. ``sessions`` maps the fixture's path (relative to
    fixtures/codex) to ``(uuid in the file name, rollout path)``."""

    home: Path
    root: Path
    sessions: dict[str, tuple[str, Path]] = field(default_factory=dict)

    @property
    def ctx(self) -> CollectContext:
        return CollectContext(home=self.home, env={})


def codex_id(path: Path) -> str:
    """The uuid Codex would put in the rollout's name: the first session_meta id if it is a
    uuid, else a stable uuid derived from the fixture name."""
    for r in records(path):
        if r.get("type") == "session_meta" and isinstance(r.get("payload"), dict):
            ident = r["payload"].get("id")
            if isinstance(ident, str) and _UUID.match(ident):
                return ident
            break
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aifs-test:{path.name}"))


def build_codex_home(tmp_path: Path) -> CodexHome:
    fixtures = need_fixtures() / "codex"
    home = tmp_path / "home"
    root = home / ".codex"
    built = CodexHome(home, root)
    day = root / "sessions" / "2025" / "12" / "18"
    day.mkdir(parents=True)
    for n, src in enumerate(sorted(fixtures.rglob("*.jsonl"))):
        ident = codex_id(src)
        dest = day / f"rollout-2025-12-18T10-00-{n:02d}-{ident}.jsonl"
        shutil.copyfile(src, dest)
        built.sessions[src.relative_to(fixtures).as_posix()] = (ident, dest)
    shutil.copyfile(DATA / "codex" / "history.jsonl", root / "history.jsonl")
    (root / "auth.json").write_bytes(b'{"OPENAI_API_KEY":"' + SECRET + b'"}')
    (root / "config.toml").write_text('model = "gpt-5"\n')
    (day / "auth.json").symlink_to(root / "auth.json")
    return built
