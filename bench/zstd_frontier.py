#!/usr/bin/env python3
"""How small can the benchmark corpus get at which zstd cost: the size/speed frontier.

    .venv/bin/python bench/zstd_frontier.py [--home /tmp/aifs-bench/pristine] [--every 1]

Reads the Claude Code and Codex files under ``--home`` (bench/compare.py leaves the corpus in
``/tmp/aifs-bench/pristine``; ``--every N`` takes every Nth file), cuts each file into
256 KiB groups as the vault does (vault/writer.py ``GROUP_TARGET``), trains a 1 MiB
dictionary on the first 4 MiB as the vault does (vault/blob.py), and compresses every group
with each setting on one thread. Prints, per setting: the compressed size as a fraction of
the input, the single-thread speed in MB/s, and the CPU seconds the whole input would cost.

The question it answers: what would it take to meet the vault-size target (≤ 0.95 of borg's
repository) on this corpus, and what would that do to the first-collect target (≤ 0.8 of the
better peer's time)? Both bound the same zstd call.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import zstandard as zstd

GROUP = 256 << 10
SAMPLE_BYTES = 4 << 20
DICT_SIZE = 1 << 20


def settings():
    """``(label, ZstdCompressionParameters kwargs or a level)`` pairs, cheapest first."""
    yield "level 3 (aifs, borg's level)", 3
    yield "level 4", 4
    yield "dfast, min match 6, hash log 18", dict(window_log=20, chain_log=18, hash_log=18,
                                                  search_log=1, min_match=6, target_length=0,
                                                  strategy=zstd.STRATEGY_DFAST)
    yield "greedy, min match 6, search log 3", dict(window_log=20, chain_log=18, hash_log=18,
                                                    search_log=3, min_match=6, target_length=0,
                                                    strategy=zstd.STRATEGY_GREEDY)
    yield "level 6", 6
    yield "lazy, min match 6, search log 3", dict(window_log=20, chain_log=18, hash_log=18,
                                                  search_log=3, min_match=6, target_length=0,
                                                  strategy=zstd.STRATEGY_LAZY)
    yield "level 7", 7
    yield "level 9", 9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default="/tmp/aifs-bench/pristine")
    ap.add_argument("--every", type=int, default=1)
    args = ap.parse_args()
    root = Path(args.home)
    files = sorted(p for d in (".claude", ".codex") for p in (root / d).rglob("*") if p.is_file())
    files = files[::args.every]
    if not files:
        raise SystemExit(f"no .claude or .codex files under {root} (run bench/compare.py first)")
    groups = [data[i:i + GROUP] for data in (p.read_bytes() for p in files)
              for i in range(0, len(data), GROUP)]
    total = sum(map(len, groups))
    samples, taken = [], 0
    for g in groups:
        samples.append(g)
        taken += len(g)
        if taken >= SAMPLE_BYTES:
            break
    zdict = zstd.train_dictionary(DICT_SIZE, samples, level=3, k=1024, d=8)
    print(f"{len(files)} files, {total / 1e6:.1f} MB in {len(groups)} groups of <= 256 KiB, "
          f"1 MiB dictionary")
    print(f"{'setting':36} {'ratio':>7} {'MB/s':>6} {'CPU s':>6}")
    for label, setting in settings():
        if isinstance(setting, int):
            zdict.precompute_compress(level=setting)
            cctx = zstd.ZstdCompressor(dict_data=zdict, level=setting)
        else:
            params = zstd.ZstdCompressionParameters(**setting)
            zdict.precompute_compress(compression_params=params)
            cctx = zstd.ZstdCompressor(dict_data=zdict, compression_params=params)
        start = time.process_time()
        out = sum(len(cctx.compress(g)) for g in groups)
        cpu = time.process_time() - start
        print(f"{label:36} {out / total:7.4f} {total / cpu / 1e6:6.0f} {cpu:6.2f}")


if __name__ == "__main__":
    main()
