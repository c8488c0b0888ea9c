#!/usr/bin/env python3
"""Corruption trials, the long run: flipped bytes in packs and in the LMDB index.

    .venv/bin/python bench/corruption_trials.py [--per-class 300] [--cli 100] [--lmdb 1000]
                                                [--seed 1] [--work /tmp/aifs-corruption]

A generated vault (``tests/reliability/corruption_harness.py``: 24 conversations, some with
two versions, small packs so there are about a dozen, a zstd dictionary, source records)
is damaged one byte at a time and put back after each trial:

* pack trials, in-process: ``--per-class`` random offsets in each region class (pack magic,
  a blob's 14-byte header, its body — data, manifest or dictionary —, its 16-byte tag, the
  encrypted pack header, the header length field, the end magic), each followed by
  ``vault.check(read_data=True)`` and the quick ``vault.check()``. Counted: found, pack named,
  exactly the expected files and versions named (worked out from the pack layout and the
  manifests read before the damage);
* pack trials through the CLI: ``--cli`` random offsets anywhere in a random pack, each
  followed by a real ``python -m aifs check --read-data --json`` (exit code 1, the pack
  named, the same files named, no traceback);
* LMDB trials: ``--lmdb`` single-byte flips of live bytes of ``index/data.mdb`` (the index is
  first compacted so every page is live). Each damaged index is read back whole in a child
  process and compared with the original: "unchanged" (the byte was slack), "changed",
  "unreadable" (LMDB reports corruption) or "crash" (the reader died: SIGBUS/SIGSEGV);
  then ``vault.check()`` runs in this process and must report every change except the
  harmless ones no check can see (a source record's stamps MAC, the commit generation, a
  serial counter moved up). The remaining blind spot is listed by database.

Prints a table and writes WORK/results.json. Exit status 1 if any pack trial was missed or
misnamed, or any damaging LMDB change outside ``sources`` went unreported.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.reliability import corruption_harness as H  # noqa: E402


def cli_env(vault_dir: Path, home: Path) -> dict:
    env = dict(os.environ)
    env.update(AIFS_VAULT=str(vault_dir), AIFS_PASSPHRASE=H.PASSPHRASE,
               AIFS_CONFIG="/nonexistent", HOME=str(home))
    env.pop("AIFS_RECOVERY_KEY", None)
    return env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-class", type=int, default=300)
    ap.add_argument("--cli", type=int, default=100)
    ap.add_argument("--lmdb", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="/tmp/aifs-corruption")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "home").mkdir()
    rng = random.Random(args.seed)
    vault, _sources = H.build_vault(work / "vault", seed=args.seed)
    m = H.vault_map(vault)
    blobs = Counter(H._kind(b.type) for p in m.packs for b in p.blobs)
    print(f"vault: {len(m.packs)} packs, blobs {dict(blobs)}, "
          f"{sum(p.size for p in m.packs)} bytes of packs")
    results: dict = {"packs": len(m.packs), "blobs": dict(blobs)}
    failed = False

    # -- pack trials, in-process
    t0 = time.monotonic()
    trials = [H.pack_trial(vault, m, p, off, rng.randrange(1, 256), cls, quick=True)
              for p, off, cls in H.pack_offsets(m, rng, args.per_class)]
    rows = defaultdict(Counter)
    for t in trials:
        r = rows[t.cls]
        r["tried"] += 1
        r["found"] += t.detected
        r["pack named"] += t.named_pack
        r["affected exact"] += t.affected_ok
        r["quick found"] += bool(t.quick_detected)
    print(f"\npack trials in-process ({time.monotonic() - t0:.0f} s): "
          "check --read-data / quick check")
    print(f"{'region':<28}{'tried':>7}{'found':>7}{'named':>7}{'exact':>7}{'quick':>7}")
    total = Counter()
    for cls, r in sorted(rows.items()):
        total.update(r)
        print(f"{cls:<28}{r['tried']:>7}{r['found']:>7}{r['pack named']:>7}"
              f"{r['affected exact']:>7}{r['quick found']:>7}")
    print(f"{'all':<28}{total['tried']:>7}{total['found']:>7}{total['pack named']:>7}"
          f"{total['affected exact']:>7}{total['quick found']:>7}")
    results["pack_trials"] = {cls: dict(r) for cls, r in rows.items()}
    if not (total["tried"] == total["found"] == total["pack named"] == total["affected exact"]):
        failed = True
        for t in trials:
            if not (t.detected and t.named_pack and t.affected_ok):
                print(f"  MISSED {t.cls} {t.pack} @{t.offset}: {t.detail}")

    # -- pack trials through the CLI
    env = cli_env(vault.root, work / "home")
    cli = Counter()
    t0 = time.monotonic()
    for _ in range(args.cli):
        pack = rng.choice(m.packs)
        off = rng.randrange(pack.size)
        old = H.flip(pack.path, off, rng.randrange(1, 256))
        try:
            res = subprocess.run([sys.executable, "-m", "aifs", "check", "--read-data", "--json"],
                                 env=env, cwd=REPO, capture_output=True, text=True, check=False)
        finally:
            H.put_back(pack.path, off, old)
        files, versions = H.expected(m, pack, off)
        cli["tried"] += 1
        try:
            report = json.loads(res.stdout)
        except ValueError:
            report = {"problems": []}
        named = {f for p in report["problems"] for f in p["files"]}
        vnamed = {v for p in report["problems"] for v in p["versions"]}
        good = (res.returncode == 1 and "Traceback" not in res.stderr
                and any(p["pack"] == pack.pack_id for p in report["problems"])
                and named == files and vnamed == versions)
        cli["found"] += res.returncode == 1
        cli["named exactly"] += good
        if not good:
            failed = True
            print(f"  CLI MISSED {pack.pack_id} @{off}: exit {res.returncode} {res.stderr[-200:]}")
    print(f"\npack trials through `aifs check --read-data` ({time.monotonic() - t0:.0f} s): "
          f"{cli['found']}/{cli['tried']} found (exit 1), {cli['named exactly']} with the pack "
          "and exactly the affected files named")
    results["cli_trials"] = dict(cli)

    # -- LMDB trials
    lvault_dir = work / "lmdb-vault"
    shutil.copytree(vault.root, lvault_dir)
    from vault.vault import Vault
    lvault = Vault.open(lvault_dir, passphrase=H.PASSPHRASE)
    H.compact_index(lvault)
    data_mdb = lvault_dir / "index" / "data.mdb"
    original = data_mdb.read_bytes()
    kind, base = H.dump_index(lvault_dir / "index")
    assert kind == "ok"
    live = [i for i, b in enumerate(original) if b]
    t0 = time.monotonic()
    ltrials = []
    try:
        for _ in range(args.lmdb):
            ltrials.append(H.lmdb_trial(lvault, original, base, rng.choice(live),
                                        rng.randrange(1, 256)))
    finally:
        data_mdb.write_bytes(original)
    out = Counter()
    blind = Counter()
    for t in ltrials:
        out[t.outcome] += 1
        out[f"{t.outcome} found"] += t.detected
        out["check raised"] += not t.clean_check
        if t.outcome == "changed" and not t.detected:
            if t.harmless:
                out["changed, harmless and invisible"] += 1
            else:
                for db in sorted({db for db, _k in t.diff}):
                    blind[db] += 1
    damaging = out["changed"] - out["changed, harmless and invisible"]
    print(f"\nLMDB trials ({time.monotonic() - t0:.0f} s), index data.mdb {len(original)} bytes "
          f"compacted, {len(live)} live bytes:")
    for k in ("unchanged", "changed", "unreadable", "crash"):
        print(f"  {k:<11}{out[k]:>6}   reported by check: {out[f'{k} found']}")
    print(f"  changed records that matter: {damaging}, reported: {out['changed found']} "
          f"({100 * out['changed found'] / max(1, damaging):.1f} %)")
    print(f"  harmless changes no check can see (stamps MAC, generation, counter up): "
          f"{out['changed, harmless and invisible']}")
    print(f"  unreported changes by database: {dict(blind) or 'none'}")
    print(f"  check raised instead of reporting: {out['check raised']}")
    results["lmdb_trials"] = {"outcomes": dict(out), "unreported_by_db": dict(blind)}
    if out["check raised"] or set(blind) - {"sources"} or \
            out["unreadable found"] != out["unreadable"] or out["crash found"] != out["crash"]:
        failed = True
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nwrote {work / 'results.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
