"""Crash trials: a real ``aifs collect`` killed with SIGKILL at random points, then checked.

One implementation for the suite (``tests/reliability/test_crash.py``, a handful of trials) and
the long run (``bench/crash_trials.py``, ≥ 200 trials; it puts the repository root on
``sys.path`` to import this module, since ``bench/`` is not a package).

A trial, on a generated source ``$HOME`` (:class:`Workload`: Claude Code sessions and Codex
rollouts, JSONL) and a vault made by ``python -m aifs init`` (or, with ``fast_kdf``, by
:meth:`vault.vault.Vault.create` with weak Argon2id parameters: same format, faster opens):

1. the source is changed (appends, new sessions, now and then a rewrite or a large new
   session so a pack fills up and is committed mid-run); trial 0 of an epoch is the first
   collect into the empty vault instead;
2. the vault's committed state is recorded: ``aifs ls --json`` and, through
   :class:`vault.reader.VaultReader`, every version's files read back in full
   (name → size, sha256) — :class:`VaultState`;
3. ``python -m aifs collect`` is started and SIGKILLed (:class:`KillSpec`): after a delay
   (seeded, spread over the expected run time, including the very start and the final
   commit), or just after the n-th pack is renamed into place (between pack and index
   commit), or just after the n-th change of the LMDB data file (inside an index commit);
4. then: the writer lock is free; the vault opens and every version is read back in full;
   ``aifs check`` (``--read-data`` on request) exits 0; every version committed before the
   kill is there with identical bytes; every new version is complete (each file reads back in
   full, its sha256 equal to the manifest's and to the source file, which does not change
   during a trial); the next ``aifs collect`` exits 0, leaves no temporary pack behind and
   brings the vault to the source's state (each session's latest version == its file), and
   the versions of step 4 are all still there, manifests unchanged (new ones read in full).

The state of step 2 is the state step 4 read at the end of the previous trial (nothing
writes the vault in between; ``aifs ls --json`` is run then and must agree with it).

Trials are grouped in *epochs*: each epoch starts from a fresh source and an empty vault, so
the vault stays small enough to be read back in full at every step, and every epoch's first
trial kills a first collect (which also trains the vault's zstd dictionary).

Failures are recorded as problem strings on the :class:`TrialResult`, never raised, so a run
reports every failing trial with what is needed to reproduce it (seed, epoch, trial, kill).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "crash trial passphrase"
COLLECTORS = ("claude-code", "codex")
POLL_S = 0.0005  # how often a trigger looks at the vault while waiting to kill
CHECK_TIMEOUT = 180.0  # seconds `aifs check` may take after a kill before it counts as hung

# Prose-like ASCII from random bytes: 16 frequent letters and ~1/6 spaces. About 2x
# compressible (like real transcripts, a bit less), never deduplicated by accident.
_LETTERS = b"etaoinshrdlucmfw"
_TABLE = bytes(0x20 if i % 6 == 0 else _LETTERS[(i * 7) % 16] for i in range(256))


def _text(rng: random.Random, n: int) -> str:
    return rng.randbytes(n).translate(_TABLE).decode("ascii")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


# -- the source ----------------------------------------------------------------------------


@dataclass
class Session:
    """One generated transcript: ``provider`` (a collector name), its file, its id and how
    many records it holds."""

    provider: str
    path: Path
    sid: str
    records: int = 0


class Workload:
    """A generated source ``$HOME``: Claude Code sessions under ``.claude/projects/`` and Codex
    rollouts under ``.codex/sessions/``, as those tools lay them out. Deterministic for a seed.
    """

    def __init__(self, home: Path, seed: int) -> None:
        self.home = home
        self.rng = random.Random(seed)
        self.sessions: list[Session] = []
        (home / ".claude" / "projects").mkdir(parents=True, exist_ok=True)
        for sub in ("sessions", "archived_sessions"):
            (home / ".codex" / sub).mkdir(parents=True, exist_ok=True)

    # records ------------------------------------------------------------------------------

    def _record(self, s: Session, size: int) -> bytes:
        i = s.records
        s.records += 1
        role = "user" if i % 2 == 0 else "assistant"
        text = _text(self.rng, size)
        stamp = f"2026-01-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z"
        if s.provider == "claude-code":
            content = text if role == "user" else [{"type": "text", "text": text}]
            rec = {"type": role, "uuid": str(uuid.UUID(int=self.rng.getrandbits(128))),
                   "parentUuid": None, "sessionId": s.sid, "cwd": "/home/u/proj",
                   "version": "2.1.0", "timestamp": stamp,
                   "message": {"role": role, "content": content}}
        else:
            kind = "input_text" if role == "user" else "output_text"
            rec = {"timestamp": stamp, "type": "response_item",
                   "payload": {"type": "message", "role": role,
                               "content": [{"type": kind, "text": text}]}}
        return (json.dumps(rec) + "\n").encode()

    def _lines(self, s: Session, nbytes: int) -> bytes:
        out, size = [], 0
        while size < nbytes:
            line = self._record(s, self.rng.randint(300, 24_000))
            out.append(line)
            size += len(line)
        return b"".join(out)

    def add_session(self, nbytes: int, provider: str | None = None) -> Session:
        """A new session of about ``nbytes`` bytes (Claude Code 2 times in 3 by default)."""
        provider = provider or ("claude-code" if self.rng.random() < 0.67 else "codex")
        sid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if provider == "claude-code":
            path = self.home / ".claude" / "projects" / "-home-u-proj" / f"{sid}.jsonl"
            head = b""
        else:
            day = self.rng.randint(1, 28)
            path = (self.home / ".codex" / "sessions" / "2026" / "01" / f"{day:02d}"
                    / f"rollout-2026-01-{day:02d}T10-00-00-{sid}.jsonl")
            head = (json.dumps({"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta",
                                "payload": {"id": sid, "cwd": "/w"}}) + "\n").encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        s = Session(provider, path, sid)
        path.write_bytes(head + self._lines(s, nbytes))
        self.sessions.append(s)
        return s

    # shapes -------------------------------------------------------------------------------

    def build(self, sessions: int, mb: float) -> None:
        """``sessions`` sessions of ``mb`` MB in all: about one in ten is large (together half
        the bytes), the others share the rest unevenly."""
        total = int(mb * 2**20)
        large = max(1, sessions // 10)
        small = sessions - large
        for _ in range(large):
            self.add_session(total // 2 // large)
        weights = [self.rng.uniform(0.2, 1.8) for _ in range(small)]
        for w in weights:
            self.add_session(max(2_000, int(total / 2 * w / sum(weights))))

    def mutate(self, big_mb: float = 14.0, scale: float = 1.0) -> str:
        """Change the source the way tools do between two collects; returns what was done.

        Always appends to 1–4 sessions (2 KB to 1 MB each); adds a session of 0.5–6 MB two
        times in three; rewrites one (a line inserted in the middle: the append shortcut
        cannot apply) one time in ten; adds a large session of about ``big_mb`` MB one time
        in five (a pack fills up and is committed mid-run). ``scale`` multiplies the sizes
        of appends and ordinary new sessions.
        """
        rng, done = self.rng, []
        for s in rng.sample(self.sessions, k=min(len(self.sessions), rng.randint(1, 4))):
            with open(s.path, "ab") as f:
                size = rng.choice((2_000, 30_000, 300_000, 1_000_000))
                f.write(self._lines(s, max(1, int(size * scale))))
            done.append("append")
        if rng.random() < 0.67:
            self.add_session(int(rng.randint(500_000, 6_000_000) * scale))
            done.append("new")
        if rng.random() < 0.1:
            s = rng.choice(self.sessions)
            lines = s.path.read_bytes().splitlines(keepends=True)
            at = rng.randint(1, max(1, len(lines) - 1))
            s.path.write_bytes(b"".join(lines[:at] + [self._record(s, 500)] + lines[at:]))
            done.append("rewrite")
        if rng.random() < 0.2:
            self.add_session(int(big_mb * 2**20 * rng.uniform(0.8, 1.2)))
            done.append("big")
        return "+".join(done)

    def expected(self) -> dict[tuple[str, str], str]:
        """What the vault must hold once collected: ``(provider, file name) → sha256 hex``."""
        return {(s.provider, s.path.name): sha256_file(s.path) for s in self.sessions}

    def size(self) -> int:
        """Bytes of every session file."""
        return sum(s.path.stat().st_size for s in self.sessions)


# -- the vault's state ---------------------------------------------------------------------


@dataclass
class VaultState:
    """The committed state of a vault, read back in full.

    ``conversations``: ``(provider, native_id) → version serials`` (oldest first);
    ``versions``: ``serial → (conversation key, version name, {file name: (size, manifest
    sha256 hex, sha256 hex of the bytes read)})``; ``manifests``: ``serial → sha256 hex`` of
    what the manifest says (name, and per file its size, sha256 and chunk list);
    ``problems``: what could not be read; ``bytes_read``: file bytes read back.
    """

    conversations: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)
    versions: dict[int, tuple[tuple[str, str], str, dict[str, tuple[int, str, str]]]] = (
        field(default_factory=dict))
    manifests: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    bytes_read: int = 0

    def latest(self) -> dict[tuple[str, str], str]:
        """``(provider, file name) → sha256 hex read`` of every conversation's latest version."""
        out = {}
        for (provider, _nid), serials in self.conversations.items():
            if serials and serials[-1] in self.versions:
                for name, (_size, _msha, rsha) in self.versions[serials[-1]][2].items():
                    out[(provider, name)] = rsha
        return out


def _manifest_sig(v) -> str:
    h = hashlib.sha256(v.name.encode())
    for f in v.files:
        h.update(b"\0%s\0%d\0%s" % (f.name.encode("utf-8", "surrogatepass"), f.size, f.sha256))
        for cid, length in f.chunks:
            h.update(cid + length.to_bytes(4, "big"))
    return h.hexdigest()


def read_state(vault, trusted: VaultState | None = None) -> VaultState:
    """Read every version of every conversation of an unlocked vault back in full.

    Each file is read through :meth:`VaultReader.read_file`; a read error, a short read or a
    sha256 different from the manifest's is recorded in ``problems`` (never raised). A version
    that ``trusted`` holds, read back in full earlier, with the very same manifest (chunk by
    chunk) is not read again: its read digests are taken from ``trusted``.
    """
    from vault import VaultError

    state = VaultState()
    try:
        reader = vault.reader()
    except VaultError as e:
        state.problems.append(f"the vault's index does not open: {type(e).__name__}: {e}")
        return state
    try:
        for conv in reader.conversations():
            key = (conv.provider, conv.native_id)
            state.conversations[key] = conv.version_serials
            for serial in conv.version_serials:
                try:
                    v = reader.version(serial)
                except (VaultError, KeyError) as e:
                    state.problems.append(f"{key} version #{serial} unreadable: {e!r}")
                    continue
                sig = state.manifests[serial] = _manifest_sig(v)
                if trusted is not None and trusted.manifests.get(serial) == sig:
                    state.versions[serial] = trusted.versions[serial]
                    continue
                files = {}
                for f in v.files:
                    try:
                        data = reader.read_file(f)
                    except VaultError as e:
                        state.problems.append(f"{key} {v.name}/{f.name}: read failed: {e!r}")
                        files[f.name] = (f.size, f.sha256.hex(), "")
                        continue
                    got = hashlib.sha256(data).hexdigest()
                    state.bytes_read += len(data)
                    if len(data) != f.size or got != f.sha256.hex():
                        state.problems.append(f"{key} {v.name}/{f.name}: read {len(data)} bytes "
                                              f"sha256 {got[:12]}, manifest says {f.size} bytes "
                                              f"sha256 {f.sha256.hex()[:12]}")
                    files[f.name] = (f.size, f.sha256.hex(), got)
                state.versions[serial] = (key, v.name, files)
    except VaultError as e:
        state.problems.append(f"listing the vault failed: {type(e).__name__}: {e}")
    finally:
        reader.close()
    return state


def compare_committed(before: VaultState, after: VaultState) -> list[str]:
    """Problems if any version of ``before`` is missing or different in ``after`` (versions
    are immutable; a conversation's version list may only grow at its end)."""
    problems = []
    for key, serials in before.conversations.items():
        now = after.conversations.get(key)
        if now is None:
            problems.append(f"conversation {key} is gone")
            continue
        if tuple(now[:len(serials)]) != tuple(serials):
            problems.append(f"conversation {key}: versions {list(serials)} became {list(now)}")
    for serial, (key, name, files) in before.versions.items():
        got = after.versions.get(serial)
        if got is None:
            problems.append(f"{key} version #{serial} ({name}) is gone")
        elif got != (key, name, files):
            problems.append(f"{key} version #{serial} ({name}) changed: {files} -> {got[2]}")
        elif serial in before.manifests and after.manifests.get(serial) != before.manifests[serial]:
            problems.append(f"{key} version #{serial} ({name}): its manifest changed")
    return problems


def check_new_versions(before: VaultState, after: VaultState,
                       source: dict[tuple[str, str], str]) -> list[str]:
    """Problems if a version in ``after`` but not in ``before`` is incomplete: a file whose
    bytes differ from its manifest (see :func:`read_state`) or from the source file it was
    read from (the source does not change while a trial runs)."""
    problems = []
    for serial in after.versions.keys() - before.versions.keys():
        key, name, files = after.versions[serial]
        for fname, (_size, msha, rsha) in files.items():
            want = source.get((key[0], fname))
            if rsha != msha:
                problems.append(f"new {key} {name}/{fname} does not read back as its manifest says")
            elif want is not None and rsha != want:
                problems.append(f"new {key} {name}/{fname} differs from the source file")
    return problems


def compare_source(state: VaultState, source: dict[tuple[str, str], str]) -> list[str]:
    """Problems if some source file is not the latest version of its conversation."""
    latest = state.latest()
    problems = []
    for k, sha in sorted(source.items()):
        if k not in latest:
            problems.append(f"source {k} is not in the vault")
        elif latest[k] != sha:
            problems.append(f"source {k}: the latest version differs from the file")
    return problems


# -- running aifs --------------------------------------------------------------------------


def aifs_env(vault_root: Path, scratch_home: Path) -> dict[str, str]:
    """Environment for ``python -m aifs`` against ``vault_root``; no user config or tool
    location can interfere (``HOME`` is ``scratch_home``)."""
    env = dict(os.environ)
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "AIFS_RECOVERY_KEY", "AIFS_ORG"):
        env.pop(var, None)
    env.update(AIFS_VAULT=str(vault_root), AIFS_PASSPHRASE=PASSPHRASE,
               AIFS_CONFIG="/nonexistent", HOME=str(scratch_home))
    scratch_home.mkdir(parents=True, exist_ok=True)
    return env


TIMED_OUT = 124  # run_aifs's exit code for a command it had to kill


def run_aifs(env: dict, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess:
    """``python -m aifs ARGS`` (text output). A run still going after ``timeout`` seconds is
    killed and reported with exit code :data:`TIMED_OUT` (a stale lock would hang it)."""
    cmd = [sys.executable, "-m", "aifs", *args]
    try:
        return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True,
                              errors="replace", timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, TIMED_OUT, "", f"timed out after {timeout:.0f} s")


def collect_args(home: Path) -> list[str]:
    """``collect`` arguments for the generated source."""
    args = ["collect", "--json", "--home", str(home)]
    for c in COLLECTORS:
        args += ["--only", c]
    return args


@dataclass
class KillSpec:
    """When to SIGKILL the collect.

    ``mode``: ``"delay"`` (``delay`` seconds after the start), ``"pack"`` (``extra`` seconds
    after the ``nth`` temporary pack file of this run left ``packs/``, i.e. was renamed into
    place: the window before the index commit), ``"index"`` (``extra`` seconds after the
    ``nth`` change of ``index/data.mdb`` seen: inside or just after an index commit) or
    ``"locked"`` (``extra`` seconds after the run took the vault's writer lock, seen in
    ``/proc/locks``: the work, without start-up). A trigger that never fires lets the run end.
    """

    mode: str
    delay: float = 0.0
    nth: int = 1
    extra: float = 0.0

    def describe(self) -> str:
        """Short text for reports."""
        if self.mode == "delay":
            return f"delay {self.delay:.3f}s"
        if self.mode == "locked":
            return f"locked +{self.extra:.3f}s"
        return f"{self.mode} #{self.nth} +{self.extra * 1000:.1f}ms"

    def to_arg(self) -> str:
        """The ``--kill`` text that gives this spec back (see :meth:`parse`)."""
        if self.mode == "delay":
            return f"delay:{self.delay:.4f}"
        if self.mode == "locked":
            return f"locked:{self.extra:.4f}"
        return f"{self.mode}:{self.nth}:{self.extra:.5f}"

    @classmethod
    def parse(cls, text: str) -> "KillSpec":
        """``delay:SECONDS``, ``pack:NTH[:EXTRA_S]`` or ``index:NTH[:EXTRA_S]``. Raises
        ``ValueError`` for anything else."""
        mode, _, rest = text.partition(":")
        parts = rest.split(":") if rest else []
        if mode == "delay" and len(parts) == 1:
            return cls("delay", delay=float(parts[0]))
        if mode == "locked" and len(parts) == 1:
            return cls("locked", extra=float(parts[0]))
        if mode in ("pack", "index") and 1 <= len(parts) <= 2:
            return cls(mode, nth=int(parts[0]), extra=float(parts[1]) if len(parts) > 1 else 0.0)
        raise ValueError(f"not a kill point: {text!r} "
                         "(delay:S, locked:S, pack:N[:S] or index:N[:S])")


def choose_kill(rng: random.Random, expected_s: float, startup_s: float = 0.0) -> KillSpec:
    """A random kill point for a run expected to take ``expected_s`` seconds, of which the
    first ``startup_s`` are start-up (imports, key derivation: nothing written yet): 10 % in
    the start-up, 40 % anywhere after it, 10 % at a random time after the run took the
    writer lock, 15 % near the end (the final commit), 13 % just after a pack rename, 12 %
    inside an index commit."""
    startup_s = min(startup_s, 0.8 * expected_s)
    r = rng.random()
    if r < 0.10:
        return KillSpec("delay", delay=rng.uniform(0.0, startup_s or 0.12 * expected_s))
    if r < 0.50:
        return KillSpec("delay", delay=rng.uniform(startup_s, expected_s))
    if r < 0.60:
        return KillSpec("locked", extra=rng.uniform(0.0, expected_s - startup_s))
    if r < 0.75:
        return KillSpec("delay", delay=rng.uniform(0.85, 1.05) * expected_s)
    if r < 0.88:
        return KillSpec("pack", nth=rng.choice((1, 1, 2)), extra=rng.uniform(0.0, 0.004))
    return KillSpec("index", nth=rng.choice((1, 1, 1, 2)), extra=rng.uniform(0.0, 0.002))


def _pack_tmps(packs: Path) -> set[str]:
    try:
        with os.scandir(packs) as it:
            return {e.name for e in it if e.name.startswith(".tmp-")}
    except OSError:
        return set()


def _holds_flock(pid: int, inode: int) -> bool:
    """True if process ``pid`` holds a ``flock`` on the file with inode ``inode``."""
    try:
        with open("/proc/locks") as f:
            for line in f:
                parts = line.split()
                # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" ("->" marks waiters)
                if len(parts) >= 6 and parts[1] == "FLOCK" and parts[2] != "->" \
                        and parts[4] == str(pid) and parts[5].rsplit(":", 1)[-1] == str(inode):
                    return True
    except OSError:
        pass
    return False


def _mdb_stamp(index: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(index / "data.mdb")
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


@dataclass
class KillOutcome:
    """What happened to the killed run: ``killed`` (False: it ended first), seconds from start
    to the kill (or to its end), its exit code (−9 when killed), stderr tail if it ended."""

    killed: bool
    at_s: float
    returncode: int
    stderr: str = ""


def run_and_kill(env: dict, home: Path, vault_root: Path, spec: KillSpec,
                 timeout: float = 300.0) -> KillOutcome:
    """Start ``python -m aifs collect`` and SIGKILL it as ``spec`` says."""
    packs, index = vault_root / "packs", vault_root / "index"
    err_path = vault_root.parent / "killed-collect.stderr"
    with open(err_path, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "aifs", *collect_args(home)], env=env,
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        fired_at = None
        seen_tmp: set[str] = set()
        renamed = changes = 0
        mdb = _mdb_stamp(index)
        lock_inode = os.stat(vault_root / "lock").st_ino
        timed_out = False
        while proc.poll() is None:
            now = time.monotonic()
            if now - start > timeout:
                timed_out = True
                proc.kill()
                break
            if spec.mode == "delay":
                if now - start >= spec.delay:
                    fired_at = now
            elif fired_at is None and spec.mode == "pack":
                tmps = _pack_tmps(packs)
                renamed += len(seen_tmp - tmps)
                seen_tmp = tmps
                if renamed >= spec.nth:
                    fired_at = now
            elif fired_at is None and spec.mode == "locked":
                if _holds_flock(proc.pid, lock_inode):
                    fired_at = now
            elif fired_at is None and spec.mode == "index":
                stamp = _mdb_stamp(index)
                if stamp != mdb:
                    changes, mdb = changes + 1, stamp
                    if changes >= spec.nth:
                        fired_at = now
            if fired_at is not None and now - fired_at >= (spec.extra if spec.mode != "delay" else 0):
                try:
                    proc.send_signal(signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
            if spec.mode == "delay":
                time.sleep(min(POLL_S * 10, max(0.0, spec.delay - (now - start))))
            else:
                time.sleep(POLL_S)
        rc = proc.wait()
        at = time.monotonic() - start
    killed = rc == -signal.SIGKILL and not timed_out
    stderr = "" if killed else err_path.read_text(errors="replace")[-2000:]
    if timed_out:
        stderr = f"still running after {timeout:.0f} s; killed. {stderr}"
    return KillOutcome(killed, round(at, 4), rc, stderr)


def lock_is_free(vault_root: Path) -> bool:
    """True if the writer lock can be taken now (and releases it)."""
    from vault import VaultLocked
    from vault.lock import WriterLock

    try:
        WriterLock(vault_root / "lock").release()
    except VaultLocked:
        return False
    return True


# -- trials --------------------------------------------------------------------------------


@dataclass
class TrialResult:
    """One trial: where it was killed, what was checked, the problems found (empty = pass)."""

    epoch: int
    trial: int
    seed: int
    change: str
    kill: dict
    killed: bool
    kill_at_s: float
    kill_exit: int
    check_read_data: bool
    versions_before: int
    versions_after_kill: int
    versions_after: int
    orphan_packs: int       # packs in the vault no index entry names (garbage), after the kill
    new_orphan_packs: int   # of which this kill left
    collect_s: float
    trial_s: float
    read_back_s: float      # reading the vault back: in full after the kill, new versions at the end
    read_back_mb: float
    check_s: float
    ls_s: float             # `aifs ls --json` before the kill: start-up plus a tiny read
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def reproduce(self) -> str:
        """The options that replay this trial's source and kill."""
        k = KillSpec(**self.kill)
        return f"--seed {self.seed} --repro {self.epoch}:{self.trial} --kill {k.to_arg()}"


class Epoch:
    """A source home and a vault under ``work``, taken through consecutive trials."""

    def __init__(self, work: Path, seed: int, epoch: int, sessions: int, mb: float,
                 big_mb: float, fast_kdf: bool = False, scale: float = 1.0) -> None:
        from vault.vault import Vault

        self.seed, self.epoch, self.big_mb, self.scale = seed, epoch, big_mb, scale
        self.dir = work / f"epoch-{epoch}"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.home = self.dir / "home"
        self.vault_root = self.dir / "vault"
        self.env = aifs_env(self.vault_root, self.dir / "scratch-home")
        self.workload = Workload(self.home, seed * 1_000_003 + epoch)
        self.workload.build(sessions, mb)
        if fast_kdf:
            from vault.keys import KdfParams
            Vault.create(self.vault_root, PASSPHRASE, KdfParams(t_cost=1, m_cost_kib=1024,
                                                                  parallelism=1))
        else:
            res = run_aifs(self.env, "init")
            if res.returncode != 0:
                raise RuntimeError(f"aifs init failed: {res.stderr}")
        self.vault = Vault.open(self.vault_root, passphrase=PASSPHRASE)
        self.state = VaultState()  # the committed state (empty vault)
        self.trials = 0
        self.orphans = 0
        self.broken = False

    def trial_rng(self, trial: int) -> random.Random:
        """The trial's own random source (kill point), independent of earlier timing."""
        return random.Random(f"{self.seed}:{self.epoch}:{trial}")

    def prepare(self) -> str:
        """Change the source for the next trial (nothing for the epoch's first)."""
        if self.trials == 0:
            return "first collect"
        return self.workload.mutate(self.big_mb, self.scale)

    def collect(self) -> tuple[subprocess.CompletedProcess, float]:
        """An uninterrupted ``aifs collect``; ``(result, seconds)``."""
        t = time.monotonic()
        res = run_aifs(self.env, *collect_args(self.home))
        return res, time.monotonic() - t

    def run_trial(self, spec: KillSpec, change: str, read_data: bool) -> TrialResult:
        """Kill a collect as ``spec`` says and check everything (see the module docstring)."""
        t0 = time.monotonic()
        problems: list[str] = []
        source = self.workload.expected()
        before = self.state
        t = time.monotonic()
        ls = run_aifs(self.env, "ls", "--json")
        ls_s = time.monotonic() - t
        if ls.returncode != 0:
            problems.append(f"aifs ls before the kill exited {ls.returncode}: {ls.stderr.strip()}")
        else:
            problems += _ls_agrees(json.loads(ls.stdout), before, "before the kill")

        out = run_and_kill(self.env, self.home, self.vault_root, spec)
        if not out.killed and out.returncode != 0:
            problems.append(f"the collect ended by itself with exit {out.returncode}: {out.stderr}")

        if not lock_is_free(self.vault_root):
            problems.append("the writer lock is still held after the kill")
        # `aifs check` first, in a subprocess with a time limit: if the kill left the index
        # locked, this must not hang the harness (reading in-process would).
        t = time.monotonic()
        chk = run_aifs(self.env, "check", *(["--read-data"] if read_data else []),
                       timeout=CHECK_TIMEOUT)
        check_s = time.monotonic() - t
        if chk.returncode != 0:
            problems.append(f"aifs check{' --read-data' if read_data else ''} exited "
                            f"{chk.returncode}: {(chk.stdout + chk.stderr).strip()[-1500:]}")
        orphans = chk.stdout.count("is not referenced by the index")
        new_orphans, self.orphans = max(0, orphans - self.orphans), max(orphans, self.orphans)
        result = TrialResult(
            epoch=self.epoch, trial=self.trials, seed=self.seed, change=change,
            kill=asdict(spec), killed=out.killed, kill_at_s=out.at_s, kill_exit=out.returncode,
            check_read_data=read_data, versions_before=len(before.versions),
            versions_after_kill=0, versions_after=0, orphan_packs=orphans,
            new_orphan_packs=new_orphans, collect_s=0.0, trial_s=0.0, read_back_s=0.0,
            read_back_mb=0.0, check_s=round(check_s, 3), ls_s=round(ls_s, 3), problems=problems)
        self.trials += 1
        if chk.returncode == TIMED_OUT:
            self.broken = True  # the epoch cannot go on; run_trials starts a new one
            result.trial_s = round(time.monotonic() - t0, 3)
            return result
        t = time.monotonic()
        after = read_state(self.vault)
        read_s = time.monotonic() - t
        problems += [f"after the kill: {p}" for p in after.problems]
        problems += compare_committed(before, after)
        problems += check_new_versions(before, after, source)

        res, seconds = self.collect()
        summary = {}
        if res.returncode != 0:
            problems.append(f"the next collect exited {res.returncode}: {res.stderr.strip()[-1500:]}")
        else:
            try:
                summary = json.loads(res.stdout)
            except ValueError:
                problems.append(f"the next collect printed no JSON summary: {res.stdout[-300:]}")
            if summary.get("failed"):
                problems.append(f"the next collect failed items: {summary.get('errors')}")
        leftovers = sorted(_pack_tmps(self.vault_root / "packs"))
        if leftovers:
            problems.append(f"temporary packs left after the next collect: {leftovers}")
        t = time.monotonic()
        final = read_state(self.vault, trusted=after)  # what `after` read in full stays
        read_s += time.monotonic() - t
        problems += [f"after the next collect: {p}" for p in final.problems]
        problems += [f"after the next collect: {p}" for p in compare_committed(after, final)]
        problems += compare_source(final, source)
        self.state = final
        result.versions_after_kill, result.versions_after = len(after.versions), len(final.versions)
        result.collect_s, result.read_back_s = round(seconds, 3), round(read_s, 3)
        result.read_back_mb = round((after.bytes_read + final.bytes_read) / 2**20, 1)
        result.trial_s = round(time.monotonic() - t0, 3)
        return result

    def close(self, keep: bool = False) -> None:
        """Remove the epoch's files unless ``keep``."""
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def _ls_agrees(rows: list[dict], state: VaultState, when: str) -> list[str]:
    """Problems if ``aifs ls --json`` and the reader disagree on conversations and versions."""
    listed = {(r["provider"], r["id"]): r["versions"] for r in rows}
    known = {k: len(v) for k, v in state.conversations.items()}
    if listed != known:
        return [f"aifs ls {when} lists {len(listed)} conversations / "
                f"{sum(listed.values())} versions, the reader {len(known)} / {sum(known.values())}"]
    return []


@dataclass
class RunConfig:
    """Parameters of a series of trials (see :func:`run_trials`)."""

    work: Path
    trials: int = 200
    seed: int = 1
    epoch_len: int = 10
    sessions: int = 40
    mb: float = 40.0
    big_mb: float = 14.0
    scale: float = 1.0  # of the source changes between trials (see Workload.mutate)
    read_data_every: int = 10
    fast_kdf: bool = False
    keep: bool = False
    kills: list[KillSpec] | None = None  # fixed kill points (cycled) instead of random ones


class _Durations:
    """Expected run time per kind of trial (first collect / later collects): the median of
    the last uninterrupted runs of that kind, seeded with a guess; and the start-up time of
    the CLI (median of the last ``aifs ls`` runs)."""

    def __init__(self) -> None:
        self.seen: dict[bool, list[float]] = {True: [], False: []}
        self.ls: list[float] = []

    def add(self, first: bool, seconds: float) -> None:
        self.seen[first] = (self.seen[first] + [seconds])[-7:]

    def add_startup(self, seconds: float) -> None:
        self.ls = (self.ls + [seconds])[-7:]

    def expected(self, first: bool) -> float:
        s = sorted(self.seen[first])
        return s[len(s) // 2] if s else (3.0 if first else 1.5)

    def startup(self) -> float:
        s = sorted(self.ls)
        return s[len(s) // 2] if s else 0.0


def run_trials(cfg: RunConfig, log: Callable[[str], None] = lambda _s: None,
               only: tuple[int, int] | None = None) -> list[TrialResult]:
    """Run ``cfg.trials`` trials in epochs of ``cfg.epoch_len``; returns every result.

    ``only=(epoch, trial)`` replays one trial: the epoch's source is rebuilt and taken through
    the earlier trials' changes with uninterrupted collects, then that trial runs with the
    kill point it had in the full run.
    """
    results: list[TrialResult] = []
    durations = _Durations()
    epoch = None
    n = 0
    try:
        while n < cfg.trials:
            e, t = divmod(n, cfg.epoch_len)
            if only is not None and e != only[0]:
                n = (e + 1) * cfg.epoch_len
                continue
            if t == 0 or (epoch is not None and epoch.broken):
                if epoch is not None:
                    epoch.close(cfg.keep)
                epoch = Epoch(cfg.work, cfg.seed, e, cfg.sessions, cfg.mb, cfg.big_mb,
                              cfg.fast_kdf, cfg.scale)
            change = epoch.prepare()
            first = epoch.trials == 0
            if cfg.kills:
                spec = cfg.kills[n % len(cfg.kills)]
            else:
                spec = choose_kill(epoch.trial_rng(t), durations.expected(first),
                                   durations.startup())
            if only is not None and t < only[1]:
                res, seconds = epoch.collect()  # replay: get the vault to that trial's start
                if res.returncode != 0:
                    raise RuntimeError(f"replaying trial {e}:{t}: collect exited {res.returncode}")
                epoch.state = read_state(epoch.vault)
                epoch.trials += 1
                n += 1
                continue
            read_data = cfg.read_data_every > 0 and n % cfg.read_data_every == cfg.read_data_every - 1
            r = epoch.run_trial(spec, change, read_data)
            results.append(r)
            if r.ls_s > 0:
                durations.add_startup(r.ls_s)
            if not r.killed:
                durations.add(first, r.kill_at_s)
            elif r.versions_after_kill == r.versions_before and r.collect_s > 0:
                durations.add(first, r.collect_s)  # nothing was committed: a full run's work
            log(_line(r))
            n += 1
            if only is not None:
                break
    finally:
        if epoch is not None:
            epoch.close(cfg.keep)
    return results


def _line(r: TrialResult) -> str:
    k = KillSpec(**r.kill)
    what = f"killed at {r.kill_at_s:.3f}s" if r.killed else f"ended first ({r.kill_at_s:.3f}s)"
    return (f"[{r.epoch}:{r.trial:>2}] {r.change:<22} {k.describe():<20} {what:<24} "
            f"versions {r.versions_before}->{r.versions_after_kill}->{r.versions_after} "
            f"{'ok' if r.ok else 'FAIL: ' + '; '.join(r.problems)[:400]}")


def summarize(results: list[TrialResult]) -> dict:
    """Counts for a report: trials, passed, killed, by kill mode, versions committed by killed
    runs, orphan packs seen, timing (seconds)."""
    by_mode: dict[str, int] = {}
    for r in results:
        by_mode[r.kill["mode"]] = by_mode.get(r.kill["mode"], 0) + 1
    killed = [r for r in results if r.killed]
    at = sorted(r.kill_at_s for r in killed)
    return {
        "trials": len(results),
        "passed": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
        "killed": len(killed),
        "ended_before_kill": len(results) - len(killed),
        "by_mode": by_mode,
        "killed_after_partial_commit": sum(r.versions_after_kill > r.versions_before
                                           for r in killed),
        "check_read_data_runs": sum(r.check_read_data for r in results),
        "orphan_packs_left_by_kills": sum(r.new_orphan_packs for r in results),
        "kill_at_s": {"min": at[0], "median": at[len(at) // 2], "max": at[-1]} if at else {},
        "kill_at_s_histogram": {f"{lo}-{hi}": sum(lo <= x < hi for x in at)
                                for lo, hi in ((0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1),
                                               (1, 1.5), (1.5, 2), (2, 99))},
        "cli_startup_s_median": sorted(r.ls_s for r in results)[len(results) // 2]
        if results else None,
        "next_collect_s_median": sorted(r.collect_s for r in results)[len(results) // 2]
        if results else None,
        "trial_s_total": round(sum(r.trial_s for r in results), 1),
    }
