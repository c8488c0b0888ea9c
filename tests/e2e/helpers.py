"""Helpers for the end-to-end tests: run the real CLI, wait for mounts, know what was collected.

Everything here is test-side and independent of the code under test: which source files a
collect *should* have stored is worked out from the temporary HOME the shared fixtures were
laid out in (``tests/collectors/collector_fixtures.py``), and the texts to look for are read
from those files with plain ``json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.collectors.collector_fixtures import ClaudeHome, CodexHome

REPO = Path(__file__).resolve().parents[2]

VERSION_NAME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(\.\d+)?$")
GENERATED = ("conversation.md", "meta.json")

FUSE_MARKS = [
    pytest.mark.mount,
    pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="/dev/fuse is missing"),
    pytest.mark.skipif(shutil.which("fusermount3") is None, reason="fusermount3 is missing"),
]
"""``pytestmark`` of every module that mounts."""


def needs_mount(fn):
    """Decorator: :data:`FUSE_MARKS` on one test."""
    for mark in FUSE_MARKS:
        fn = mark(fn)
    return fn


# -- running the CLI -----------------------------------------------------------------------


def run_aifs(env: dict, *args: str, timeout: float = 60.0,
             cwd: Path = REPO) -> subprocess.CompletedProcess:
    """``python -m aifs ARGS`` in a subprocess; stdout/stderr decoded as UTF-8 (replace)."""
    return subprocess.run([sys.executable, "-m", "aifs", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=timeout, check=False)


def ok(res: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """``res`` after asserting exit code 0 (the message shows stderr)."""
    assert res.returncode == 0, f"{res.args[3:]} exited {res.returncode}: {res.stderr}"
    return res


def collect_json(env: dict, home: Path, *extra: str) -> dict:
    """``aifs collect --json --home HOME`` → the summary."""
    res = ok(run_aifs(env, "collect", "--json", "--home", str(home), *extra))
    return json.loads(res.stdout)


def ls_json(env: dict) -> list[dict]:
    return json.loads(ok(run_aifs(env, "ls", "--json")).stdout)


def assert_user_error(res: subprocess.CompletedProcess, code: int) -> str:
    """The command failed with ``code`` and one ``aifs: …`` line on stderr, no traceback."""
    assert res.returncode == code, (
        f"{res.args[3:]}: expected exit {code}, got {res.returncode}; stderr: {res.stderr!r}")
    assert "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {res.stderr!r}"
    assert lines[0].startswith("aifs: "), lines[0]
    return lines[0]


# -- mounts ----------------------------------------------------------------------------------


def wait_for(pred, timeout: float = 10.0, what: str = "condition", interval: float = 0.1):
    """Poll ``pred`` until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = pred()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def force_unmount(mnt: Path) -> None:
    """Lazy unmount, whatever state the mount is in (teardown; never raises)."""
    subprocess.run(["fusermount3", "-u", "-z", str(mnt)], capture_output=True, check=False)


def mount_entry(mnt: Path) -> tuple[str, str, str] | None:
    """``(fstype, mount options, super options)`` of ``mnt`` in /proc/self/mountinfo."""
    target = os.path.realpath(mnt)
    found = None
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            if point == target:
                super_opts = fields[sep + 3] if len(fields) > sep + 3 else ""
                found = (fields[sep + 1], fields[5], super_opts)
    return found


def mount_log(env: dict) -> Path:
    """Where the background mount server of ``env`` logs (``user_state_dir("aifs")``)."""
    state = env.get("XDG_STATE_HOME") or os.path.join(env["HOME"], ".local", "state")
    return Path(state) / "aifs" / "mount.log"


def server_pids(mnt: Path | str) -> list[int]:
    """Processes whose command line is ``… -m aifs mount MNT`` (the background server;
    ``mnt`` as it was given on the command line)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"aifs" in argv and b"mount" in argv and os.fsencode(str(mnt)) in argv:
            out.append(int(d.name))
    return out


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# -- what the collect should have stored -------------------------------------------------------


@dataclass
class Expected:
    """One conversation the collectors should store: raw file name → source path."""

    provider: str
    native_id: str
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def jsonl(self) -> list[Path]:
        return [p for n, p in self.files.items() if n.endswith(".jsonl")]


_CLAUDE_DENIED = {".credentials.json", ".encryption_key"}
_CLAUDE_CONFIG_FILES = ("settings.json", "settings.local.json", "CLAUDE.md")
_CLAUDE_CONFIG_TREES = ("agents", "commands", "skills", "hooks", "rules")


def _plain_file(p: Path) -> bool:
    return p.is_file() and not p.is_symlink() and p.name not in _CLAUDE_DENIED


def _files_below(top: Path, prefix: str) -> dict[str, Path]:
    out = {}
    if top.is_dir():
        for p in sorted(top.rglob("*")):
            if _plain_file(p):
                out[prefix + p.relative_to(top).as_posix()] = p
    return out


def expected_claude(claude: ClaudeHome) -> list[Expected]:
    """Sessions (with their per-session folder), 2.0 agent files, history, configuration."""
    by_stem: dict[str, list[tuple[str, Path]]] = {}
    for folder in sorted((claude.root / "projects").iterdir()):
        if not folder.is_dir():
            continue
        for p in sorted(folder.glob("*.jsonl")):
            if _plain_file(p):
                by_stem.setdefault(p.stem, []).append((folder.name, p))
    out = []
    for stem, places in sorted(by_stem.items()):
        for i, (slug, p) in enumerate(sorted(places)):
            native = stem if i == 0 and stem not in ("history", "config") else \
                f"{stem}@{hashlib.sha256(slug.encode()).hexdigest()[:8]}"
            files = {p.name: p}
            if not stem.startswith("agent-"):
                files.update(_files_below(p.parent / stem, ""))
            out.append(Expected("claude-code", native, files))
    if _plain_file(claude.root / "history.jsonl"):
        out.append(Expected("claude-code", "history",
                            {"history.jsonl": claude.root / "history.jsonl"}))
    config = {n: claude.root / n for n in _CLAUDE_CONFIG_FILES if _plain_file(claude.root / n)}
    for tree in _CLAUDE_CONFIG_TREES:
        config.update(_files_below(claude.root / tree, f"{tree}/"))
    if config:
        out.append(Expected("claude-code", "config", config))
    # every fixture the layout helper placed is among them
    placed = {p for e in out for p in e.files.values()}
    assert all(dest in placed for _sid, dest in claude.sessions.values())
    return out


def expected_codex(codex: CodexHome) -> list[Expected]:
    out = [Expected("codex", ident, {dest.name: dest})
           for ident, dest in sorted(codex.sessions.values())]
    if (codex.root / "history.jsonl").is_file():
        out.append(Expected("codex", "history", {"history.jsonl": codex.root / "history.jsonl"}))
    return out


# -- texts from the sources ----------------------------------------------------------------------


def records(path: Path) -> list[dict]:
    out = []
    for line in path.read_bytes().splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def _blocks_text(content) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [b["text"] for b in content
                if isinstance(b, dict) and isinstance(b.get("text"), str)
                and b.get("type") in ("text", "input_text", "output_text", None)]
    return []


def message_texts(path: Path) -> list[str]:
    """What people and models said in a Claude Code transcript, a Codex rollout (current and
    older shapes) or either tool's prompt history, read with plain ``json``."""
    out: list[str] = []
    for r in records(path):
        kind = r.get("type")
        payload = r.get("payload") if isinstance(r.get("payload"), dict) else {}
        message = r.get("message")
        if kind in ("user", "assistant") and isinstance(message, dict):
            out += _blocks_text(message.get("content"))
        elif kind == "response_item" and payload.get("type") == "message":
            out += _blocks_text(payload.get("content"))
        elif kind == "event_msg" and payload.get("type") in ("user_message", "agent_message"):
            out += _blocks_text(payload.get("message"))
        elif r.get("role") in ("user", "assistant"):
            out += _blocks_text(r.get("message") if isinstance(message, str) else r.get("content"))
        elif isinstance(r.get("display"), str):  # Claude Code history.jsonl
            out.append(r["display"])
        elif isinstance(r.get("text"), str) and "session_id" in r:  # Codex history.jsonl
            out.append(r["text"])
    return [t for t in out if t.strip()]


def md_candidates(exp: Expected) -> list[str]:
    """Lines of message text (or, for plain text files, lines) that ``conversation.md``
    should quote; at least one of them must appear."""
    out: list[str] = []
    for name, path in exp.files.items():
        if name.endswith(".jsonl"):
            texts = message_texts(path)
        else:
            texts = [path.read_text(encoding="utf-8", errors="replace")]
        for t in texts:
            for line in t.splitlines():
                line = line.strip()
                if len(line) >= 3 and line not in out:
                    out.append(line)
    return out


PHRASE = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)+")


def phrases(texts, min_len: int = 12) -> list[str]:
    """Runs of ASCII words separated by single spaces, at least ``min_len`` characters: they
    read the same in JSON, Markdown and plain bytes."""
    out: list[str] = []
    for t in texts:
        for m in PHRASE.finditer(t):
            p = m.group(0)
            if len(p) >= min_len and p not in out:
                out.append(p)
    return out


def cwds(path: Path) -> list[str]:
    out = []
    for r in records(path):
        payload = r.get("payload") if isinstance(r.get("payload"), dict) else {}
        for c in (r.get("cwd"), payload.get("cwd")):
            if isinstance(c, str) and c not in out:
                out.append(c)
    return out


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def conversation_dir(provider_dir: Path, native_id: str) -> Path:
    """The one directory in ``provider_dir`` named ``<Title>-<native_id>``."""
    names = [n for n in os.listdir(provider_dir) if n.endswith("-" + native_id)]
    assert len(names) == 1, f"{native_id}: {names} in {sorted(os.listdir(provider_dir))}"
    return provider_dir / names[0]


def version_dirs(conv: Path) -> list[str]:
    return sorted(n for n in os.listdir(conv) if n != "latest")


def tree_files(top: Path) -> dict[str, Path]:
    """Relative path → path of every regular file below ``top`` (no symlinks followed)."""
    out = {}
    for root, _dirs, files in os.walk(top):
        for f in files:
            p = Path(root, f)
            if not p.is_symlink():
                out[p.relative_to(top).as_posix()] = p
    return out
