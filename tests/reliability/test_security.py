"""Security properties of a real vault filled by the real CLI, checked from the outside.

(a) every file under the vault directory is mode 0600 and every folder 0700, after each of
    ``init``, ``collect``, ``import``, ``ls`` and ``check --read-data`` (run with umask 022,
    so a file created with default permissions would show);
(b) no plaintext in the vault: unique markers are planted in message text, titles, cwd,
    session ids, file and folder names, export names and account names; afterwards no vault
    file holds any of them (UTF-8, UTF-16-LE, JSON-escaped), nor a source path, the
    passphrase or the recovery key;
(c) the mount is owner-only (no ``allow_other``, root 0500 owned by us) unless
    ``--allow-other``;
(d) nothing logged at INFO or above (stderr of the CLI at the default level and with
    ``-v``, the mount server's log, and log records captured in-process while the runner and
    the importer work, also when a collector or importer fails with content in its
    exception) holds message text, a title, a cwd, an account name, file content, the
    passphrase or the recovery key. Identifiers (session ids, source paths) may appear where a
    line names an item that failed or was skipped; a clean run at the default level logs none.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aifs.importer import choose_importer, import_export
from aifs.registry import load_importers
from collectors.export_source import open_export
from tests.e2e.helpers import force_unmount, mount_entry, mount_log, needs_mount
from vault.keys import RECOVERY_PREFIX
from vault.vault import Vault

from .sources import (CODEX, COPILOT, GEMINI, chatgpt_conversation, claude_ai_conversation,
                      iter_files, run_collect, unique_marker)

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "pass-" + unique_marker("phrase") + "-ü"


# -- the marked sources ------------------------------------------------------------------------


@dataclass
class Marks:
    """Unique strings planted in the sources. ``content``: what must never be logged at INFO
    or above; ``ident``: ids and names (may name an item that failed); ``paths``: source paths
    written (must not be in the vault)."""

    content: dict[str, str] = field(default_factory=dict)
    ident: dict[str, str] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)

    def c(self, label: str) -> str:
        self.content[label] = unique_marker(label) + "é€"  # non-ASCII: the escaped forms differ
        return self.content[label]

    def i(self, label: str) -> str:
        self.ident[label] = unique_marker(label)
        return self.ident[label]

    @property
    def every(self) -> dict[str, str]:
        return {**self.content, **self.ident}


def _line(obj) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def build_sources(base: Path, m: Marks) -> tuple[Path, Path, Path]:
    """A HOME with Claude Code, Codex, Gemini CLI and Copilot Chat sessions, a ChatGPT export
    folder and a Claude.ai export zip, every free-text field a marker. Returns
    ``(home, chatgpt export, claude.ai export)``."""
    home = base / "home"
    # Claude Code: marked project folder, session id, cwd, texts, title
    sid = m.i("claudesid")
    folder = home / ".claude" / "projects" / f"-home-u-{m.i('claudeslug')}"
    folder.mkdir(parents=True)
    cwd = f"/home/u/{m.c('claudecwd')}"
    lines = []
    for n in range(4):
        role = "user" if n % 2 == 0 else "assistant"
        lines.append(_line({"parentUuid": f"u{n - 1}" if n else None, "type": role,
                            "sessionId": sid, "cwd": cwd, "uuid": f"u{n}",
                            "gitBranch": m.c(f"claudebranch{n}"),
                            "timestamp": f"2025-11-01T10:0{n}:00.000Z",
                            "message": {"role": role, "content": m.c(f"claudetext{n}")}}))
    lines.append(_line({"type": "custom-title", "customTitle": m.c("claudetitle"),
                        "sessionId": sid}))
    (folder / f"{sid}.jsonl").write_bytes(b"".join(lines))
    (folder / sid / "tool-results").mkdir(parents=True)
    (folder / sid / "tool-results" / f"{m.i('toolfile')}.txt").write_text(m.c("tooloutput"))
    (home / ".claude" / "history.jsonl").write_bytes(_line(
        {"display": m.c("historyprompt"), "timestamp": 1761991200000, "project": cwd}))
    # Codex: marked id (file name), cwd, texts, thread name
    cid = m.i("codexsid")
    path = CODEX.path(home, cid)
    path.parent.mkdir(parents=True)
    path.write_bytes(
        _line({"timestamp": "2025-01-01T00:00:00Z", "type": "session_meta",
               "payload": {"id": cid, "cwd": f"/home/u/{m.c('codexcwd')}"}})
        + CODEX.message(cid, m.c("codextext0"), 0) + CODEX.message(cid, m.c("codextext1"), 1)
        + CODEX.title(cid, m.c("codextitle")))
    # Gemini CLI: marked project folder and .project_root, texts, summary
    gid = "00000000-0000-4000-8000-00000000abcd"
    gpath = (home / ".gemini" / "tmp" / m.i("geminiproject") / "chats"
             / "session-2026-01-01T00-00-0000abcd.jsonl")
    gpath.parent.mkdir(parents=True)
    (gpath.parent.parent / ".project_root").write_text(f"/home/u/{m.c('geminicwd')}")
    gpath.write_bytes(b"".join(GEMINI.head(gid)) + GEMINI.message(gid, m.c("geminitext0"), 0)
                      + GEMINI.message(gid, m.c("geminitext1"), 1)
                      + GEMINI.title(gid, m.c("geminititle")))
    # Copilot Chat: marked workspace folder and session id, texts, custom title
    vid = m.i("copilotsid")
    vpath = (home / ".config" / "Code" / "User" / "workspaceStorage" / m.i("copilotws")
             / "chatSessions" / f"{vid}.jsonl")
    vpath.parent.mkdir(parents=True)
    vpath.write_bytes(b"".join(COPILOT.head(vid)) + COPILOT.message(vid, m.c("copilottext0"), 0)
                      + COPILOT.title(vid, m.c("copilottitle")))
    (vpath.parent.parent / "workspace.json").write_text(
        json.dumps({"folder": f"file:///home/u/{m.c('copilotfolder')}"}))
    m.paths += [str(p) for p in (folder / f"{sid}.jsonl", path, gpath, vpath)]

    # ChatGPT export folder: marked folder name, ids, titles, texts
    chatgpt = base / f"chatgpt-{m.i('chatgptexport')}"
    chatgpt.mkdir()
    convs = [chatgpt_conversation(m.i(f"chatgptid{n}"), m.c(f"chatgpttitle{n}"),
                                  [m.c(f"chatgpttext{n}a"), m.c(f"chatgpttext{n}b")])
             for n in range(2)]
    (chatgpt / "conversations.json").write_text(json.dumps(convs, ensure_ascii=False))
    (chatgpt / "user.json").write_text(json.dumps({"email": m.c("chatgptemail") + "@x.org"}))
    # Claude.ai export zip: marked zip name, account e-mail (the org), ids, titles, texts
    claude = base / f"claude-{m.i('claudeexport')}.zip"
    convs = [claude_ai_conversation(m.i(f"claudeaiid{n}"), m.c(f"claudeaititle{n}"),
                                    [m.c(f"claudeaitext{n}a"), m.c(f"claudeaitext{n}b")])
             for n in range(2)]
    convs.append({"uuid": m.i("claudeaibad"), "name": m.c("claudeaibadtitle"),
                  "summary": m.c("claudeaibadsummary")})  # no chat_messages: skipped, said so
    with zipfile.ZipFile(claude, "w") as zf:
        zf.writestr("conversations.json", json.dumps(convs))  # ASCII-escaped, as Claude does
        zf.writestr("users.json", json.dumps(
            [{"uuid": "u1", "email_address": m.c("claudeaiemail") + "@x.org",
              "full_name": m.c("claudeainame")}]))
    m.paths += [str(chatgpt), str(claude), str(home)]
    return home, chatgpt, claude


def damage_sources(home: Path, m: Marks) -> None:
    """Give the next collect things to report: a torn last line, a line of invalid UTF-8 and
    a glued line in the Claude Code session, and a Copilot session that is still being
    written (a failed item at WARNING)."""
    [session] = (home / ".claude" / "projects").glob("*/*.jsonl")
    with open(session, "ab") as f:
        f.write(b'{"type":"user","message":{"content":"\xff' + m.c("badutf8").encode() + b'"}}\n')
        f.write(_line({"a": m.c("glued1")})[:-1] + _line({"b": m.c("glued2")}))
        f.write(b'{"type":"user","message":{"content":"' + m.c("tornline").encode())
    [ws] = (home / ".config" / "Code" / "User" / "workspaceStorage").iterdir()
    (ws / "chatSessions" / f"{m.i('copilothalf')}.json").write_text(
        '{"version": 3, "customTitle": "' + m.c("halftitle") + '", "requests": [')


# -- running the CLI ----------------------------------------------------------------------------


def _umask022():
    os.umask(0o022)


def aifs(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m aifs ARGS`` with umask 022, output captured as text."""
    return subprocess.run([sys.executable, "-m", "aifs", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=timeout, check=False, preexec_fn=_umask022)


def modes_wrong(root: Path) -> list[str]:
    """Every path under ``root`` (and ``root``) whose mode is not 0600 (files) / 0700 (dirs)."""
    bad = []
    for p in [root, *iter_files(root)]:
        st = os.lstat(p)
        mode = stat.S_IMODE(st.st_mode)
        want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)) or mode != want:
            bad.append(f"{p.relative_to(root.parent)}: {oct(st.st_mode)}")
    return bad


def forms(text: str) -> list[bytes]:
    """The byte forms ``text`` could take in a file: UTF-8, UTF-16-LE, JSON-escaped (ASCII or
    not), and its ASCII prefix."""
    out = {text.encode("utf-8"), text.encode("utf-16-le"), json.dumps(text)[1:-1].encode(),
           json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8")}
    prefix = text.encode("ascii", "ignore")
    if len(prefix) >= 12:
        out.add(prefix)
        out.add(prefix.decode().encode("utf-16-le"))
    return sorted(out)


@dataclass
class Run:
    base: Path
    env: dict
    vault: Path
    marks: Marks
    home: Path
    recovery: str
    outputs: list[tuple[str, subprocess.CompletedProcess]]
    modes: dict[str, list[str]]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    """init, collect, collect -v after damage, import (folder, zip; default and -v), ls and
    check --read-data, all through the real CLI, recording output and vault modes after each."""
    base = tmp_path_factory.mktemp("security")
    marks = Marks()
    home, chatgpt, claude = build_sources(base, marks)
    env = dict(os.environ)
    env.update(AIFS_VAULT=str(base / "vault"), AIFS_PASSPHRASE=PASSPHRASE,
               AIFS_CONFIG=str(base / "no-config.toml"), HOME=str(base / "user"))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "AIFS_RECOVERY_KEY", "AIFS_ORG",
                "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        env.pop(var, None)
    (base / "user").mkdir()
    org = marks.c("org")
    outputs: list[tuple[str, subprocess.CompletedProcess]] = []
    modes: dict[str, list[str]] = {}
    steps = [
        ("init", ["init"]),
        ("collect", ["collect", "--home", str(home), "--org", org]),
        ("damage", None),
        ("collect -v", ["collect", "-v", "--home", str(home), "--org", org]),
        ("import", ["import", str(chatgpt)]),
        ("import -v", ["import", "-v", str(claude)]),
        ("ls", ["ls"]),
        ("check --read-data", ["check", "--read-data", "-v"]),
    ]
    for label, args in steps:
        if args is None:
            damage_sources(home, marks)
            continue
        res = aifs(env, *args)
        outputs.append((label, res))
        assert res.returncode in (0, 1), (label, res.returncode, res.stderr)
        assert "Traceback" not in res.stderr, (label, res.stderr)
        modes[label] = modes_wrong(base / "vault")
    [recovery] = [w for w in outputs[0][1].stdout.split() if w.startswith(RECOVERY_PREFIX)]
    return Run(base, env, base / "vault", marks, home, recovery, outputs, modes)


# -- (a) modes -----------------------------------------------------------------------------------


def test_vault_files_are_0600_and_folders_0700_after_every_command(run):
    assert {label: bad for label, bad in run.modes.items() if bad} == {}
    files = [p for p in iter_files(run.vault) if p.is_file()]
    assert len([p for p in files if "packs" in p.parts]) >= 1  # the walk saw the data
    assert (run.vault / "index" / "data.mdb") in files


# -- (b) no plaintext ------------------------------------------------------------------------------


def test_no_plaintext_anywhere_in_the_vault(run):
    collected = {label: res for label, res in run.outputs}
    assert "0 failed" in collected["collect"].stdout  # the markers really went in
    assert "1 failed" in collected["collect -v"].stdout  # (the half-written Copilot file)
    ls = collected["ls"].stdout
    for label in ("claudetitle", "codextitle", "geminititle", "copilottitle",
                  "chatgpttitle0", "claudeaititle1"):
        assert run.marks.content[label] in ls, label  # stored (and readable back)

    secrets = dict(run.marks.every)
    secrets["passphrase"] = PASSPHRASE
    secrets["recovery key"] = run.recovery
    secrets["recovery key (no dashes)"] = run.recovery.replace("-", "")
    b32 = run.recovery[len(RECOVERY_PREFIX):].replace("-", "")
    raw_key = base64.b32decode(b32 + "=" * (-len(b32) % 8))[:32]
    needles = [(label, form) for label, text in secrets.items() for form in forms(text)]
    needles += [("recovery key bytes", raw_key)]
    needles += [(f"source path {p}", form) for p in run.marks.paths for form in forms(p)]
    # the search finds what it looks for: the sources hold the markers in two of these forms
    chatgpt = (next(run.base.glob("chatgpt-*")) / "conversations.json").read_bytes()
    assert run.marks.content["chatgpttitle0"].encode() in chatgpt  # UTF-8
    with zipfile.ZipFile(next(run.base.glob("claude-*.zip"))) as zf:
        escaped = json.dumps(run.marks.content["claudeaititle0"])[1:-1].encode()
        assert escaped in zf.read("conversations.json") and b"\\u20ac" in escaped  # \uXXXX

    found = []
    files = [p for p in iter_files(run.vault) if p.is_file()]
    for path in files:
        data = path.read_bytes()
        found += [(str(path.relative_to(run.vault)), label) for label, form in needles
                  if form in data]
    assert found == []
    assert sum(p.stat().st_size for p in files) > 10_000


# -- (c) the mount -------------------------------------------------------------------------------


def _mount(run: Run, mnt: Path, *extra: str) -> None:
    mnt.mkdir()
    res = aifs(run.env, "mount", *extra, str(mnt))
    assert res.returncode == 0, res.stderr


@needs_mount
def test_mount_is_owner_only_unless_allow_other(run, tmp_path):
    mnt = tmp_path / "private"
    try:
        _mount(run, mnt)
        fstype, opts, super_opts = mount_entry(mnt)
        assert fstype == "fuse.aifs" and "ro" in opts.split(",")
        assert "allow_other" not in super_opts.split(","), super_opts
        st = os.stat(mnt)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o500, os.getuid(),
                                                                      os.getgid())
        # browse everything, so the server renders and logs what it would
        texts = b""
        for root, dirs, files in os.walk(mnt):
            for d in dirs:
                assert stat.S_IMODE(os.lstat(Path(root, d)).st_mode) in (0o500, 0o777)
            for f in files:
                p = Path(root, f)
                assert stat.S_IMODE(os.stat(p).st_mode) == 0o400
                texts += p.read_bytes()
        assert run.marks.content["claudetext0"].encode() in texts  # the mount serves content
        assert aifs(run.env, "umount", str(mnt)).returncode == 0
    finally:
        force_unmount(mnt)
    log = mount_log(run.env)
    if log.exists():  # the server's own log (default level): no content
        text = log.read_text(errors="replace")
        assert _leaks(text, run.marks.content) == []
        assert stat.S_IMODE(log.stat().st_mode) == 0o600

    if os.getuid() != 0 and "\nuser_allow_other" not in "\n" + _fuse_conf():
        pytest.skip("--allow-other needs user_allow_other in /etc/fuse.conf when not root")
    shared = tmp_path / "shared"
    try:
        _mount(run, shared, "--allow-other")
        assert "allow_other" in mount_entry(shared)[2].split(",")
        assert stat.S_IMODE(os.stat(shared).st_mode) == 0o555
        assert aifs(run.env, "umount", str(shared)).returncode == 0
    finally:
        force_unmount(shared)


def _fuse_conf() -> str:
    try:
        return Path("/etc/fuse.conf").read_text()
    except OSError:
        return ""


# -- (d) logs ------------------------------------------------------------------------------------


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """Labels of the secrets whose text (or ASCII prefix) occurs in ``text``."""
    return [label for label, value in secrets.items()
            if value in text or value.encode("ascii", "ignore").decode() in text]


def test_cli_output_holds_no_content_passphrase_or_key(run):
    private = dict(run.marks.content, passphrase=PASSPHRASE, recovery=run.recovery)
    for label, res in run.outputs:
        assert _leaks(res.stderr, private) == [], (label, res.stderr)
        if label != "init":  # init prints the recovery key once, on stdout, by design
            assert run.recovery not in res.stdout
        assert PASSPHRASE not in res.stdout
    by_label = dict(run.outputs)
    # a clean collect and import at the default level say nothing about any item
    for label in ("collect", "import"):
        assert _leaks(by_label[label].stderr, run.marks.every) == [], by_label[label].stderr
        assert "WARNING" not in by_label[label].stderr and "INFO" not in by_label[label].stderr
    # -v did log (the capture works): the bad lines, by number, never by content
    verbose = by_label["collect -v"].stderr
    for reason in ("not UTF-8", "not JSON", "torn last line"):
        assert f": {reason}" in verbose, verbose
    assert "WARNING" in verbose and "being written" in verbose
    assert "INFO: skipped conversation" in by_label["import -v"].stderr


class _Leaky:
    """A collector wrapper whose ``read`` raises with content in the exception text."""

    def __init__(self, inner, secret: str) -> None:
        self._inner, self._secret = inner, secret
        self.name, self.provider = inner.name, inner.provider

    def locate(self, ctx):
        return self._inner.locate(ctx)

    def discover(self, ctx):
        return self._inner.discover(ctx)

    def read(self, item, ctx):
        raise ValueError(f"could not parse {self._secret!r}")

    def render_markdown(self, files, meta):
        return self._inner.render_markdown(files, meta)


class _LeakyImporter:
    """An importer wrapper that yields one good conversation, then fails with content."""

    def __init__(self, inner, secret: str) -> None:
        self._inner, self._secret = inner, secret
        self.name, self.provider = inner.name, inner.provider

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def read(self, export):
        for found in self._inner.read(export):
            yield found
            raise KeyError(f"title {self._secret}")


def test_in_process_logs_hold_no_content(run, tmp_path, caplog, fast_kdf):
    """Every record logged at INFO or above while the runner collects the damaged sources,
    while the importer reads both exports, and while a collector and an importer fail with
    content in their exception, is free of content, the passphrase and the key."""
    caplog.set_level(logging.DEBUG)
    vault, recovery = Vault.create(tmp_path / "vault", PASSPHRASE, fast_kdf)
    names = ["claude-code", "codex", "gemini-cli", "copilot-chat"]
    summary = run_collect(vault, run.home, names)
    assert summary.new >= 5 and summary.failed == 1, summary.errors  # the half-written file
    secret = run.marks.content["claudetitle"]
    fresh, _ = Vault.create(tmp_path / "fresh", PASSPHRASE, fast_kdf)  # codex items are new
    failing = run_collect(fresh, run.home, ["codex"], wrap=lambda n, c: _Leaky(c, secret))
    assert failing.failed == 1, failing.errors
    assert failing.errors[0]["reason"].startswith("unexpected ValueError")
    importers, _ = load_importers()
    for export in sorted(run.base.glob("chatgpt-*")) + sorted(run.base.glob("claude-*.zip")):
        with open_export(export) as source, vault.writer() as writer:
            importer = choose_importer(source, importers)
            import_export(writer, source, importer)
    with open_export(next(run.base.glob("chatgpt-*"))) as source, vault.writer() as writer:
        leaky = _LeakyImporter(importers["chatgpt"], secret)
        with pytest.raises(Exception) as info:
            import_export(writer, source, leaky, org="leaky")
    assert secret not in str(info.value)

    assert any(r.levelno == logging.DEBUG and secret in (r.exc_text or "") + str(r.exc_info)
               for r in caplog.records), "the exceptions were logged, at DEBUG"
    assert any(r.levelno >= logging.INFO for r in caplog.records)
    private = dict(run.marks.content, passphrase=PASSPHRASE, recovery=recovery)
    leaked = []
    for r in caplog.records:
        if r.levelno < logging.INFO:
            continue
        text = r.getMessage() + (r.exc_text or "")
        if r.exc_info:
            text += logging.Formatter().formatException(r.exc_info)
        leaked += [(r.name, r.levelname, label) for label in _leaks(text, private)]
    assert leaked == []
