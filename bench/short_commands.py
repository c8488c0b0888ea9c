#!/usr/bin/env python3
"""Short commands, many interleaved runs, wall and CPU time: where ``aifs collect`` with
nothing (or a little) changed spends its time, next to borg and restic doing the same.

    .venv/bin/python bench/short_commands.py [--runs 15] [--work /tmp/aifs-bench]
                                             [--growth] [--no-compile] [--mount]

Uses what ``bench/compare.py`` left in WORK (WORK/home, the aifs vault, the borg and restic
repositories; run that first). Each round runs every tool once, in an order that alternates,
so a busy machine slows all of them alike; each figure is the median (and the lower
quartile) over the rounds. CPU is user + system time of the command and its threads, which
other load disturbs much less than wall time.

  no-change   ``aifs collect`` / ``borg create`` / ``restic backup`` again on the same files
  --growth    before each round ``gen_corpus.py --append-kb 10 --files 100 --seed N`` (a new
              seed every round) on WORK/home, then each tool; aifs is timed on a copy of the
              vault and home made at the start, peers likewise, so all see the same changes
  --mount     ``aifs mount`` (background; returns once the mount is live) and the first
              ``ls`` of a provider folder, then ``aifs umount``

Python modules are byte-compiled first (``compileall``), as an installed package is (pip
compiles on install; Debian's borg ships compiled): with ``PYTHONDONTWRITEBYTECODE=1`` set
and no ``__pycache__`` every aifs run would compile its sources again (~0.12 s of CPU, the
largest single item of a no-change run). ``--no-compile`` skips that step.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GEN = REPO.parent / "shared" / "bench" / "gen_corpus.py"
PASS = "bench passphrase"
PEER_PATHS = [".claude", ".codex"]


def run(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one command; raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} exited {done.returncode}: {done.stderr[-400:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def tools(work: Path, home: Path, vault: Path) -> dict:
    """name → (command, env, cwd) for one backup with each available tool."""
    base = {k: v for k, v in os.environ.items() if k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME")}
    out = {"aifs": ([sys.executable, "-m", "aifs", "collect", "--home", str(home)],
                    dict(base, AIFS_VAULT=str(vault), AIFS_PASSPHRASE=PASS,
                         AIFS_CONFIG=str(work / "none.toml")), REPO)}
    if shutil.which("borg") and (work / "borg-repo").exists():
        out["borg"] = (["borg", "create", "--compression", "zstd,3", "::{tag}", *PEER_PATHS],
                       dict(base, BORG_PASSPHRASE=PASS, BORG_RELOCATED_REPO_ACCESS_IS_OK="yes",
                            BORG_REPO=str(work / "borg-repo"),
                            BORG_BASE_DIR=str(work / "borg-base")), home)
    if shutil.which("restic") and (work / "restic-repo").exists():
        out["restic"] = (["restic", "backup", "--quiet", *PEER_PATHS],
                         dict(base, RESTIC_PASSWORD=PASS,
                              RESTIC_REPOSITORY=str(work / "restic-repo"),
                              RESTIC_CACHE_DIR=str(work / "restic-cache")), home)
    return out


def report(title: str, res: dict[str, list[tuple[float, float]]]) -> None:
    def q25(xs):
        return sorted(xs)[(len(xs) - 1) // 4]

    print(f"\n{title} ({len(next(iter(res.values())))} rounds)")
    print(f"  {'tool':<7} {'wall med':>9} {'wall q25':>9} {'cpu med':>8} {'cpu q25':>8}")
    for name, rows in res.items():
        walls, cpus = [w for w, _ in rows], [c for _, c in rows]
        print(f"  {name:<7} {statistics.median(walls):>9.3f} {q25(walls):>9.3f} "
              f"{statistics.median(cpus):>8.3f} {q25(cpus):>8.3f}")
    peers = [n for n in res if n != "aifs"]
    if peers:
        best = min(peers, key=lambda n: statistics.median(w for w, _ in res[n]))
        ratio = statistics.median(w for w, _ in res["aifs"]) / statistics.median(
            w for w, _ in res[best])
        print(f"  aifs / {best} (wall medians): {ratio:.2f}")


def rounds(n: int, cmds: dict, phase: str, before=None) -> dict[str, list[tuple[float, float]]]:
    res: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    names = list(cmds)
    for i in range(n):
        if before:
            before(i)
        for name in (names if i % 2 == 0 else names[::-1]):
            cmd, env, cwd = cmds[name]
            res[name].append(run([c.replace("{tag}", f"{phase}-{i}-{os.getpid()}") for c in cmd],
                                 env, cwd))
    return res


def mount_rounds(n: int, work: Path) -> None:
    mnt = work / "short-mnt"
    mnt.mkdir(exist_ok=True)
    cmd, env, cwd = tools(work, work / "home", work / "aifs-vault")["aifs"]
    ready, first_ls, cpus = [], [], []
    for _ in range(n):
        wall, cpu = run([sys.executable, "-m", "aifs", "mount", str(mnt)], env, cwd)
        start = time.perf_counter()
        org = next(iter(sorted(os.listdir(mnt))))
        provider = sorted(os.listdir(mnt / org))[0]
        os.listdir(mnt / org / provider)
        first_ls.append(time.perf_counter() - start)
        run([sys.executable, "-m", "aifs", "umount", str(mnt)], env, cwd)
        ready.append(wall)
        cpus.append(cpu)
    print(f"\naifs mount ({n} rounds): ready {statistics.median(ready):.3f} s (median), first ls "
          f"{statistics.median(first_ls) * 1000:.1f} ms, mount command CPU "
          f"{statistics.median(cpus):.3f} s (the server it starts is not counted)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--work", default="/tmp/aifs-bench")
    ap.add_argument("--growth", action="store_true")
    ap.add_argument("--mount", action="store_true")
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    work = Path(args.work)
    if not (work / "aifs-vault").is_dir() or not (work / "home").is_dir():
        raise SystemExit(f"{work} has no vault and home: run bench/compare.py first")
    if not args.no_compile:
        subprocess.run([sys.executable, "-m", "compileall", "-q",
                        *(str(REPO / d) for d in ("aifs", "collectors", "vault"))], check=True)
    cmds = tools(work, work / "home", work / "aifs-vault")
    for cmd, env, cwd in cmds.values():  # settle: the next runs change nothing
        run([c.replace("{tag}", f"settle-{os.getpid()}") for c in cmd], env, cwd)
    report("no-change", rounds(args.runs, cmds, "nochange"))
    if args.growth:
        grow = work / "short-growth"
        shutil.rmtree(grow, ignore_errors=True)
        grow.mkdir()
        for name in ("home", "aifs-vault", "borg-repo", "borg-base", "restic-repo",
                     "restic-cache"):
            if (work / name).exists():
                shutil.copytree(work / name, grow / name, symlinks=True)
        cmds = tools(grow, grow / "home", grow / "aifs-vault")

        def append(i: int) -> None:
            subprocess.run([sys.executable, str(GEN), str(grow / "home"), "--append-kb", "10",
                            "--files", "100", "--seed", str(1000 + i)], check=True,
                           stdout=subprocess.DEVNULL)

        report("growth: 100 files appended 10 KB before each round",
               rounds(args.runs, cmds, "growth", append))
        shutil.rmtree(grow, ignore_errors=True)
    if args.mount:
        mount_rounds(max(3, args.runs // 2), work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
