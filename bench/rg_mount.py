#!/usr/bin/env python3
"""``rg -uuu`` through the aifs mount, through ``borg mount``, and over the plain folder.

    .venv/bin/python bench/rg_mount.py [--mb 300] [--runs 3] [--work /tmp/aifs-rg] [--reuse]
                                       [--profile] [--code DIR]

Setup (kept with ``--reuse`` when WORK already has it): ``../shared/bench/gen_corpus.py
WORK/home --mb MB``; ``aifs init`` + ``aifs collect --home WORK/home`` into WORK/aifs-vault;
``borg init -e repokey`` + ``borg create --compression zstd,3 ::corpus .claude .codex`` (the
folders aifs collects, as bench/compare.py backs them up) into WORK/borg-repo.

The pattern is one message's ``uuid`` from the middle of the largest Claude Code session: it
occurs in two lines of the whole corpus, so ripgrep must read every byte and prints almost
nothing. Its output goes to a pipe (ripgrep stops at the first match when stdout is
/dev/null). Each figure is the median of ``--runs``; each run mounts afresh:

  aifs first    ``rg -uuu PAT MNT/*/*/*/latest/`` right after ``aifs mount`` (run through
                bash, so the glob's directory listings are timed too; every ``latest/``
                holds the raw files, ``conversation.md`` and ``meta.json``)
  aifs second   the same command again on the same mount (the kernel's page cache and the
                mount's caches are warm)
  aifs raw      (information) on a fresh mount, the first pass with ``-g '!conversation.md'
                -g '!meta.json'``: only the raw files, the same bytes borg serves
  borg first    ``rg -uuu PAT BMNT`` right after ``borg mount ::corpus BMNT``
  plain second  ``rg -uuu PAT home/.claude home/.codex``, run twice, the second timed

The vault's and the repository's files are in the page cache in every case (caches are not
dropped). Targets: aifs first / borg first <= 0.5; aifs second / plain second <= 1.5.
``--profile`` records the aifs mount server with py-spy during the first pass of run 1
(WORK/profile-rg.txt, raw collapsed stacks). Prints a table, writes WORK/results.json,
exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mount_server import rss_mb, server_pid  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
GEN = REPO.parent / "shared" / "bench" / "gen_corpus.py"
PASS = "bench passphrase"
PEER_PATHS = [".claude", ".codex"]
FIRST_TARGET, SECOND_TARGET = 0.5, 1.5
CODE = REPO


def du(paths) -> int:
    return sum(f.stat().st_size for p in paths for f in Path(p).rglob("*") if f.is_file())


def aifs_env(work: Path) -> dict:
    env = dict(os.environ, AIFS_VAULT=str(work / "aifs-vault"), AIFS_PASSPHRASE=PASS,
               AIFS_CONFIG=str(work / "no-config.toml"))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "AIFS_RECOVERY_KEY", "AIFS_ORG",
                "PYTHONDONTWRITEBYTECODE"):
        env.pop(var, None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def borg_env(work: Path) -> dict:
    return dict(os.environ, BORG_PASSPHRASE=PASS, BORG_REPO=str(work / "borg-repo"),
                BORG_BASE_DIR=str(work / "borg-base"),
                BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK="yes")


def aifs(work: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aifs", *args], env=aifs_env(work), cwd=CODE,
                          check=check, capture_output=True, text=True)


def pick_pattern(home: Path) -> str:
    """The ``uuid`` of a line in the middle of the largest Claude Code session."""
    biggest = max((home / ".claude").rglob("*.jsonl"), key=lambda p: p.stat().st_size)
    lines = biggest.read_text().splitlines()
    return json.loads(lines[len(lines) // 2])["uuid"]


def setup(work: Path, mb: int, reuse: bool) -> None:
    home = work / "home"
    done = work / "setup.json"
    if reuse and done.exists() and json.loads(done.read_text()).get("mb") == mb:
        return
    for d in ("home", "aifs-vault", "borg-repo", "borg-base"):
        shutil.rmtree(work / d, ignore_errors=True)
    print(f"generating a {mb} MB corpus, collecting it with aifs, backing it up with borg ...",
          flush=True)
    subprocess.run([sys.executable, str(GEN), str(home), "--mb", str(mb)], check=True,
                   stdout=subprocess.DEVNULL)
    aifs(work, "init")
    t = time.perf_counter()
    aifs(work, "collect", "--home", str(home))
    collect_s = time.perf_counter() - t
    subprocess.run(["borg", "init", "-e", "repokey"], env=borg_env(work), check=True,
                   capture_output=True)
    t = time.perf_counter()
    subprocess.run(["borg", "create", "--compression", "zstd,3", "::corpus", *PEER_PATHS],
                   env=borg_env(work), cwd=home, check=True, capture_output=True)
    borg_s = time.perf_counter() - t
    done.write_text(json.dumps({"mb": mb, "aifs_collect_s": collect_s, "borg_create_s": borg_s}))


def wait_mounted(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.ismount(path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} did not become a mount point")
        time.sleep(0.02)


def wait_unmounted(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while os.path.ismount(path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} is still mounted")
        time.sleep(0.05)


def rg(cmd: str, cwd: Path | None = None) -> tuple[float, int]:
    """Seconds and matching lines of one ripgrep command line (run by bash)."""
    t = time.perf_counter()
    res = subprocess.run(["bash", "-c", cmd], cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    seconds = time.perf_counter() - t
    if res.returncode not in (0, 1) or res.stderr:
        raise RuntimeError(f"{cmd!r} exited {res.returncode}: {res.stderr[-2000:]!r}")
    return seconds, len(res.stdout.splitlines())


def aifs_mount(work: Path) -> Path:
    mnt = work / "aifs-mnt"
    mnt.mkdir(exist_ok=True)
    if os.path.ismount(mnt):
        aifs(work, "umount", str(mnt), check=False)
        wait_unmounted(mnt)
    aifs(work, "mount", str(mnt))
    return mnt


def aifs_raw_run(work: Path, pattern: str) -> dict:
    """First pass over the raw files of ``latest/`` only (no generated file is read)."""
    mnt = aifs_mount(work)
    try:
        first, hits = rg(f"rg -uuu -g '!conversation.md' -g '!meta.json' {pattern} "
                         f"{mnt}/*/*/*/latest/")
        return {"raw_first_s": first, "raw_hits": hits}
    finally:
        aifs(work, "umount", str(mnt), check=False)
        wait_unmounted(mnt)


def aifs_run(work: Path, pattern: str, profile: bool) -> dict:
    mnt = aifs_mount(work)
    try:
        spy = None
        pyspy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
        if profile and pyspy:
            spy = subprocess.Popen([pyspy, "record", "-p", str(server_pid(mnt)), "-r", "200",
                                    "-f", "raw", "-o", str(work / "profile-rg.txt"),
                                    "--nonblocking", "--threads"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        cmd = f"rg -uuu {pattern} {mnt}/*/*/*/latest/"
        first, hits1 = rg(cmd)
        if spy is not None:
            spy.send_signal(2)
            spy.wait()
        second, hits2 = rg(cmd)
        try:
            rss = rss_mb(server_pid(mnt))[1]
        except RuntimeError:  # the server is gone: the row says so instead of failing
            rss = None
        return {"first_s": first, "second_s": second, "hits": hits1, "hits_second": hits2,
                "server_peak_rss_mb": rss}
    finally:
        aifs(work, "umount", str(mnt), check=False)
        wait_unmounted(mnt)


def borg_run(work: Path, pattern: str) -> dict:
    mnt = work / "borg-mnt"
    mnt.mkdir(exist_ok=True)
    env = borg_env(work)
    if os.path.ismount(mnt):
        subprocess.run(["borg", "umount", str(mnt)], env=env, check=False)
        wait_unmounted(mnt)
    subprocess.run(["borg", "mount", "::corpus", str(mnt)], env=env, check=True,
                   capture_output=True)
    try:
        wait_mounted(mnt)
        first, hits = rg(f"rg -uuu {pattern} {mnt}")
        return {"first_s": first, "hits": hits}
    finally:
        subprocess.run(["borg", "umount", str(mnt)], env=env, check=False, capture_output=True)
        wait_unmounted(mnt)


def plain_run(work: Path, pattern: str) -> dict:
    cmd = f"rg -uuu {pattern} {' '.join(PEER_PATHS)}"
    rg(cmd, cwd=work / "home")
    second, hits = rg(cmd, cwd=work / "home")
    return {"second_s": second, "hits": hits}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/aifs-rg")
    ap.add_argument("--reuse", action="store_true", help="keep corpus, vault and repository")
    ap.add_argument("--profile", action="store_true", help="py-spy the first aifs pass")
    ap.add_argument("--code", help="run `python -m aifs` from this checkout (before/after)")
    ap.add_argument("--only", choices=("aifs", "borg", "plain"), action="append",
                    help="measure only these (default: all three)")
    args = ap.parse_args()
    global CODE
    if args.code:
        CODE = Path(args.code).resolve()
    for tool in ("rg", "borg"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install -y ripgrep borgbackup", file=sys.stderr)
            return 2
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    setup(work, args.mb, args.reuse)
    home = work / "home"
    pattern = pick_pattern(home)
    only = set(args.only or ("aifs", "borg", "plain"))
    runs: dict[str, list[dict]] = {k: [] for k in ("aifs", "borg", "plain")}
    for i in range(args.runs):  # interleaved: the machine's speed drifts
        if "plain" in only:
            runs["plain"].append(plain_run(work, pattern))
        if "aifs" in only:
            runs["aifs"].append(aifs_run(work, pattern, args.profile and i == 0))
            runs["aifs"][-1].update(aifs_raw_run(work, pattern))
        if "borg" in only:
            runs["borg"].append(borg_run(work, pattern))
    med = {tool: {k: statistics.median(r[k] for r in rs) for k in rs[0]
                  if isinstance(rs[0][k], (int, float))}
           for tool, rs in runs.items() if rs}
    source = du(home / p for p in PEER_PATHS)
    results: dict = {"pattern": pattern, "source_bytes": source, "runs": runs, "median": med,
                     "setup": json.loads((work / "setup.json").read_text())}
    print(f"\nrg -uuu over {source / 1e6:.0f} MB of Claude Code + Codex history "
          f"(median of {args.runs}; pattern occurs in "
          f"{med.get('plain', {}).get('hits', '?')} lines of the source)")
    print(f"{'what':<28} {'seconds':>8} {'lines':>6}")
    rows = [("aifs mount, first pass", "aifs", "first_s"), ("aifs mount, second pass", "aifs", "second_s"),
            ("aifs, raw files, first pass", "aifs", "raw_first_s"),
            ("borg mount, first pass", "borg", "first_s"), ("plain folder, second pass", "plain", "second_s")]
    for label, tool, key in rows:
        if tool in med:
            hits = med[tool]["raw_hits" if key.startswith("raw") else "hits"]
        print(f"{label:<28} {med[tool][key]:>8.2f} {hits:>6.0f}")
    checks = []
    if "aifs" in med and "borg" in med:
        r = med["aifs"]["first_s"] / med["borg"]["first_s"]
        checks.append(("aifs first / borg first", r, FIRST_TARGET))
    if "aifs" in med and "plain" in med:
        r = med["aifs"]["second_s"] / med["plain"]["second_s"]
        checks.append(("aifs second / plain second", r, SECOND_TARGET))
    if "aifs" in med and "borg" in med:  # information: the same bytes borg serves
        results_extra = med["aifs"]["raw_first_s"] / med["borg"]["first_s"]
        print(f"\n(raw files only, no generated conversation.md / meta.json: aifs first / borg "
              f"first = {results_extra:.2f})")
    if checks:
        print(f"\n{'ratio':<28} {'value':>8} {'target':>8}  ok")
    for what, value, target in checks:
        print(f"{what:<28} {value:>8.2f} {'<= ' + str(target):>8}  {'yes' if value <= target else 'NO'}")
    results["checks"] = [{"what": w, "value": v, "target": t, "ok": v <= t} for w, v, t in checks]
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nwrote {work / 'results.json'}")
    return 0 if all(v <= t for _, v, t in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
