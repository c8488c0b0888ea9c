#!/usr/bin/env python3
"""Peak memory of ``aifs collect`` on large sources: collectors must stream, not load.

    .venv/bin/python bench/collector_rss.py [--mb 200] [--work /tmp/aifs-rss] [--cases a,b] [--keep]

For each case a fresh ``$HOME`` with one large source (``--mb`` MB, default 200) and a fresh
vault are made; then ``python -m aifs init`` and, measured, ``/usr/bin/time -v python -m aifs
collect --home HOME --only COLLECTOR --json`` run with ``AIFS_VAULT``, ``AIFS_PASSPHRASE`` and
``AIFS_CONFIG=/nonexistent`` (no user config can interfere). The peak RSS is ``time``'s
"Maximum resident set size". Target: below 300 MB for every case.

Cases (each needs its collector registered under ``aifs.collectors``; others are reported as
skipped):

  claude-code   one Claude Code session JSONL of MB megabytes (~20 KB lines)
  codex         one Codex rollout JSONL of MB megabytes
  opencode      an opencode.db (SQLite, opencode's tables) of MB megabytes: 200 sessions
  goose-db      a Goose sessions.db of MB megabytes: 200 sessions
  goose-jsonl   one legacy Goose session .jsonl of MB megabytes

Prints a table and writes WORK/results.json. Exit status 1 if a measured case exceeds the
target or its collect run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from importlib.metadata import entry_points
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PASS = "bench passphrase"
TARGET_MB = 300
LINE_TEXT = 20_000  # characters of text per record
SESSIONS = 200


def _text(i: int) -> str:
    """Deterministic, not very compressible prose-like text of LINE_TEXT characters."""
    words = [f"w{(i * 7919 + k * 104729) % 100003:05d}" for k in range(LINE_TEXT // 7)]
    return " ".join(words)[:LINE_TEXT]


def _fill_jsonl(path: Path, target: int, first: dict | None, record) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        size = 0
        if first is not None:
            size += f.write(json.dumps(first) + "\n")
        i = 0
        while size < target:
            size += f.write(json.dumps(record(i)) + "\n")
            i += 1


# -- sources -------------------------------------------------------------------------------


def make_claude(home: Path, target: int) -> Path:
    sid = str(uuid.UUID(int=1))
    path = home / ".claude" / "projects" / "-home-u-proj" / f"{sid}.jsonl"

    def record(i: int) -> dict:
        role = "user" if i % 2 == 0 else "assistant"
        content = _text(i) if role == "user" else [{"type": "text", "text": _text(i)}]
        return {"type": role, "uuid": str(uuid.UUID(int=i + 10)), "parentUuid": str(uuid.UUID(int=i + 9)) if i else None,
                "sessionId": sid, "cwd": "/home/u/proj", "version": "2.1.0",
                "timestamp": f"2026-01-01T00:{(i // 60) % 60:02d}:{i % 60:02d}Z",
                "message": {"role": role, "content": content}}

    _fill_jsonl(path, target, None, record)
    return path


def make_codex(home: Path, target: int) -> Path:
    sid = str(uuid.UUID(int=2))
    path = home / ".codex" / "sessions" / "2026" / "01" / "01" / f"rollout-2026-01-01T00-00-00-{sid}.jsonl"
    meta = {"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta", "payload": {"id": sid, "cwd": "/w"}}

    def record(i: int) -> dict:
        role = "user" if i % 2 == 0 else "assistant"
        kind = "input_text" if role == "user" else "output_text"
        return {"timestamp": "2026-01-01T00:00:01Z", "type": "response_item",
                "payload": {"type": "message", "role": role, "content": [{"type": kind, "text": _text(i)}]}}

    _fill_jsonl(path, target, meta, record)
    return path


OPENCODE_SCHEMA = """
CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT, slug TEXT NOT NULL,
  directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL, revert TEXT,
  time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL);
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, time_created INTEGER NOT NULL,
  time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX message_session_time_created_id_idx ON message (session_id, time_created, id);
CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL,
  time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX part_message_id_id_idx ON part (message_id, id);
CREATE INDEX part_session_idx ON part (session_id);
"""


def make_opencode(home: Path, target: int) -> Path:
    db = home / ".local" / "share" / "opencode" / "opencode.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(OPENCODE_SCHEMA)
    per_session = max(2, target // SESSIONS // (LINE_TEXT + 200))
    n = 0
    for s in range(SESSIONS):
        sid = f"ses_{s:06d}"
        con.execute("INSERT INTO session VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (sid, "proj", None, sid, "/w", f"Session {s}", "1.3.0", None, 1_700_000_000_000 + s, 1_700_000_000_000 + s))
        for m in range(per_session):
            mid = f"msg_{s:06d}_{m:05d}"
            role = "user" if m % 2 == 0 else "assistant"
            when = 1_700_000_000_000 + s * 100_000 + m
            con.execute("INSERT INTO message VALUES (?,?,?,?,?)",
                        (mid, sid, when, when, json.dumps({"role": role, "time": {"created": when}})))
            con.execute("INSERT INTO part VALUES (?,?,?,?,?,?)",
                        (f"prt_{s:06d}_{m:05d}", mid, sid, when, when, json.dumps({"type": "text", "text": _text(n)})))
            n += 1
        con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


GOOSE_SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
  working_dir TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, extension_data TEXT DEFAULT '{}');
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, role TEXT NOT NULL,
  content_json TEXT NOT NULL, created_timestamp INTEGER NOT NULL, timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  tokens INTEGER, metadata_json TEXT);
CREATE INDEX idx_messages_session ON messages(session_id);
"""


def make_goose_db(home: Path, target: int) -> Path:
    db = home / ".local" / "share" / "goose" / "sessions" / "sessions.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db)
    con.executescript(GOOSE_SCHEMA)
    per_session = max(2, target // SESSIONS // (LINE_TEXT + 100))
    n = 0
    for s in range(SESSIONS):
        sid = f"20260101_{s + 1}"
        con.execute("INSERT INTO sessions (id, name, working_dir) VALUES (?,?,?)", (sid, f"Session {s}", "/w"))
        for m in range(per_session):
            content = json.dumps([{"type": "text", "text": _text(n)}])
            con.execute("INSERT INTO messages (session_id, role, content_json, created_timestamp) VALUES (?,?,?,?)",
                        (sid, "user" if m % 2 == 0 else "assistant", content, 1_767_225_600 + n))
            n += 1
        con.commit()
    con.close()
    return db


def make_goose_jsonl(home: Path, target: int) -> Path:
    path = home / ".local" / "share" / "goose" / "sessions" / "20260101_120000.jsonl"

    def record(i: int) -> dict:
        return {"role": "user" if i % 2 == 0 else "assistant", "created": 1_767_225_600 + i,
                "content": [{"type": "text", "text": _text(i)}]}

    _fill_jsonl(path, target, {"description": "Big legacy session", "working_dir": "/w"}, record)
    return path


CASES = {
    "claude-code": ("claude-code", make_claude),
    "codex": ("codex", make_codex),
    "opencode": ("opencode", make_opencode),
    "goose-db": ("goose", make_goose_db),
    "goose-jsonl": ("goose", make_goose_jsonl),
}


# -- running -------------------------------------------------------------------------------


def registered() -> set[str]:
    """Collector names registered under ``aifs.collectors`` in this environment."""
    return {ep.name for ep in entry_points(group="aifs.collectors")}


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_case(name: str, work: Path, mb: int) -> dict:
    collector, make = CASES[name]
    case = work / name
    shutil.rmtree(case, ignore_errors=True)
    home, vault = case / "home", case / "vault"
    home.mkdir(parents=True)
    t = time.perf_counter()
    make(home, mb * 1024 * 1024)
    gen_s = time.perf_counter() - t
    size = du(home)
    env = {**os.environ, "AIFS_VAULT": str(vault), "AIFS_PASSPHRASE": PASS, "AIFS_CONFIG": "/nonexistent",
           "HOME": str(case)}
    py = sys.executable
    subprocess.run([py, "-m", "aifs", "init"], check=True, env=env, cwd=REPO,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", py, "-m", "aifs", "collect", "--home", str(home),
                           "--only", collector, "--json"],
                          env=env, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    rss_mb = int(m.group(1)) / 1024 if m else None
    summary: dict = {}
    try:
        summary = json.loads(proc.stdout[proc.stdout.index("{"):]) if "{" in proc.stdout else {}
    except ValueError:
        summary = {}
    ok = proc.returncode == 0 and rss_mb is not None and rss_mb < TARGET_MB and not summary.get("failed")
    return {"case": name, "collector": collector, "source_mb": round(size / 2**20, 1),
            "generate_s": round(gen_s, 1), "collect_s": round(seconds, 1),
            "peak_rss_mb": round(rss_mb, 1) if rss_mb is not None else None,
            "exit": proc.returncode, "new": summary.get("new"), "failed": summary.get("failed"),
            "ok": ok, "stderr_tail": proc.stderr.strip().splitlines()[-25:] if not ok else []}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=200, help="size of each generated source (MB)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/aifs-rss"), help="scratch directory")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    ap.add_argument("--keep", action="store_true", help="keep the generated homes and vaults")
    args = ap.parse_args(argv)
    names = [c for c in args.cases.split(",") if c]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s): {', '.join(unknown)}")
    have = registered()
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for name in names:
        if CASES[name][0] not in have:
            results.append({"case": name, "collector": CASES[name][0], "skipped": "collector not registered"})
            print(f"{name}: skipped (collector {CASES[name][0]!r} is not registered)", flush=True)
            continue
        print(f"{name}: generating {args.mb} MB and collecting …", flush=True)
        r = run_case(name, args.work, args.mb)
        results.append(r)
        if not args.keep:
            shutil.rmtree(args.work / name, ignore_errors=True)
    print()
    print(f"{'case':<13} {'source MB':>9} {'collect s':>9} {'peak RSS MB':>11}  result (target < {TARGET_MB} MB)")
    for r in results:
        if "skipped" in r:
            print(f"{r['case']:<13} {'-':>9} {'-':>9} {'-':>11}  skipped: {r['skipped']}")
            continue
        verdict = "ok" if r["ok"] else "FAIL"
        print(f"{r['case']:<13} {r['source_mb']:>9} {r['collect_s']:>9} {str(r['peak_rss_mb']):>11}  "
              f"{verdict} (exit {r['exit']}, new {r['new']}, failed {r['failed']})")
        for line in r["stderr_tail"]:
            print("    " + line)
    (args.work / "results.json").write_text(json.dumps(results, indent=2))
    return 0 if all(r.get("ok", True) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
