#!/usr/bin/env python3
"""Crash trials: a real ``aifs collect`` killed with SIGKILL at random points, ≥ 200 times.

    .venv/bin/python bench/crash_trials.py [--trials 200] [--seed 1] [--work /tmp/aifs-crash]
        [--epoch-len 10] [--sessions 40] [--mb 40] [--big-mb 14] [--keep]
    .venv/bin/python bench/crash_trials.py --seed S --repro EPOCH:TRIAL --kill delay:0.734

The trial logic lives in ``tests/reliability/crash_harness.py`` (read its docstring for what a
trial does and checks), shared with the suite's ``tests/reliability/test_crash.py``; ``bench/``
is not a package, so this script puts the repository root on ``sys.path`` to import it.

Each epoch of ``--epoch-len`` trials starts with a fresh generated source ``$HOME``
(``--sessions`` Claude Code and Codex JSONL transcripts of ``--mb`` MB in all, a tenth of them
large) and a fresh vault from ``python -m aifs init`` (``AIFS_VAULT``, ``AIFS_PASSPHRASE``,
``AIFS_CONFIG=/nonexistent``). Its first trial kills the first collect; each later one changes
the source first (appends, new sessions, a rewrite, now and then a ``--big-mb`` MB session so
a pack fills up and is committed mid-run). ``aifs check --read-data`` runs every 10th trial.

A failing trial prints the ``--seed/--repro/--kill`` options that replay it: the epoch's
source is rebuilt and taken through the earlier changes with uninterrupted collects, then that
trial runs with the same kill point (the vault's history before it may differ, since where
the earlier kills landed depends on timing).

Prints one line per trial and a summary, writes WORK/results.json (summary + every trial).
Exit status 1 if any trial failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # bench/ is not a package: import the shared harness from tests/

from tests.reliability.crash_harness import KillSpec, RunConfig, run_trials, summarize  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=200, help="number of trials (default 200)")
    ap.add_argument("--seed", type=int, default=1, help="seed of sources and kill points")
    ap.add_argument("--work", type=Path, default=Path("/tmp/aifs-crash"), help="scratch directory")
    ap.add_argument("--epoch-len", type=int, default=10,
                    help="trials per fresh source and vault (default 10)")
    ap.add_argument("--sessions", type=int, default=40, help="sessions in a fresh source")
    ap.add_argument("--mb", type=float, default=40.0, help="MB of a fresh source")
    ap.add_argument("--big-mb", type=float, default=14.0,
                    help="MB of the large session some changes add")
    ap.add_argument("--read-data-every", type=int, default=10,
                    help="run `aifs check --read-data` every N trials (0: never)")
    ap.add_argument("--repro", metavar="EPOCH:TRIAL", help="replay one trial (see above)")
    ap.add_argument("--kill", metavar="SPEC", action="append",
                    help="fixed kill point(s), cycled: delay:S, pack:N[:S], index:N[:S]")
    ap.add_argument("--keep", action="store_true", help="keep the sources and vaults")
    args = ap.parse_args(argv)
    try:
        kills = [KillSpec.parse(k) for k in args.kill] if args.kill else None
        only = tuple(int(x) for x in args.repro.split(":")) if args.repro else None
        if only is not None and len(only) != 2:
            raise ValueError("--repro takes EPOCH:TRIAL")
    except ValueError as e:
        ap.error(str(e))
    trials = args.trials
    if only is not None:
        trials = max(trials, only[0] * args.epoch_len + only[1] + 1)
    cfg = RunConfig(work=args.work, trials=trials, seed=args.seed, epoch_len=args.epoch_len,
                    sessions=args.sessions, mb=args.mb, big_mb=args.big_mb,
                    read_data_every=args.read_data_every, keep=args.keep, kills=kills)
    args.work.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    results = run_trials(cfg, log=lambda line: print(line, flush=True), only=only)
    wall = time.monotonic() - t
    summary = summarize(results)
    summary.update(wall_s=round(wall, 1), seed=args.seed, epoch_len=args.epoch_len,
                   sessions=args.sessions, mb=args.mb, big_mb=args.big_mb)
    failures = [r for r in results if not r.ok]
    print()
    print(f"{summary['trials']} trials in {wall:.0f} s: {summary['passed']} passed, "
          f"{summary['failed']} failed; {summary['killed']} killed "
          f"({summary['killed_after_partial_commit']} after committing part of their work), "
          f"{summary['ended_before_kill']} ended before their kill point")
    print(f"kill points: {summary['by_mode']}; killed at {summary['kill_at_s']} s; "
          f"`check --read-data` {summary['check_read_data_runs']} times; "
          f"{summary['orphan_packs_left_by_kills']} orphan packs left by kills")
    print(f"kill times (s from start): {summary['kill_at_s_histogram']}; CLI start-up "
          f"(aifs ls) {summary['cli_startup_s_median']} s; next collect median "
          f"{summary['next_collect_s_median']} s")
    for r in failures:
        print(f"FAILED [{r.epoch}:{r.trial}] reproduce with: {r.reproduce()}")
        for p in r.problems:
            print(f"    {p}")
    out = {"summary": summary, "failures": [{"reproduce": r.reproduce(), **asdict(r)}
                                            for r in failures],
           "trials": [asdict(r) for r in results]}
    (args.work / "results.json").write_text(json.dumps(out, indent=2))
    print(f"results: {args.work / 'results.json'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
