#!/usr/bin/env python3
"""How fast ``conversation.md`` renders: Claude Code sessions and Codex rollouts of a corpus.

    .venv/bin/python bench/render_speed.py [CORPUS] [--only claude-code,codex] [--limit N]
        [--runs 3] [--fixtures] [--save DIR | --check DIR] [--profile [cprofile|pyinstrument]]

CORPUS is a ``$HOME`` holding ``.claude`` and/or ``.codex`` (default /tmp/aifs-bench/pristine,
made by ``../shared/bench/gen_corpus.py /tmp/aifs-bench/pristine --mb 300``; only read).
``--fixtures`` adds homes built from ``../shared/fixtures`` (the collector tests' layout).

Setup, not timed: each collector's ``discover`` + ``read`` (the collect path) gives the
snapshots; their raw files are read into memory, and ``meta`` is built as the vault stores it
(``provider``, ``native_id``, ``title``, times, ``links``, ``attributes``, ``warnings``).
Timed: ``collector.render_markdown(files, meta)`` plus the UTF-8 encoding, exactly what the
mount does when ``conversation.md`` is first read (aifs/render.py, aifs/tree.py). Each run
renders every item once; the figure is the run with the least CPU time (the machine is
shared, so CPU time, not wall time, is what compares across runs).

Prints, per collector and kind (session, subagent, history, config): items, source MB,
output MB, CPU seconds, source MB/s and output MB/s. ``--save DIR`` writes every output to
``DIR/<provider>/<native id>.md``; ``--check DIR`` compares each output with such a saved
file byte for byte and exits 1 on any difference (the identity check for renderer speed-ups).
``--profile`` runs one pass under pyinstrument (if installed) or cProfile and prints the
top of the profile.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collectors import CollectContext  # noqa: E402
from collectors.claude_code import ClaudeCodeCollector  # noqa: E402
from collectors.codex import CodexCollector  # noqa: E402
from collectors.errors import ItemError  # noqa: E402

DEFAULT_CORPUS = Path("/tmp/aifs-bench/pristine")
COLLECTORS = {"claude-code": ClaudeCodeCollector, "codex": CodexCollector}
MB = 1e6


@dataclass
class Case:
    """One stored version as the mount would hand it to the renderer."""

    collector: Any
    provider: str
    native_id: str
    kind: str
    files: dict[str, bytes]
    meta: dict[str, Any]

    @property
    def source_bytes(self) -> int:
        return sum(len(d) for d in self.files.values())

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.native_id}"


def load(home: Path, only: list[str], limit: int | None) -> list[Case]:
    """Every item of the chosen collectors under ``home``, with files in memory."""
    cases: list[Case] = []
    ctx = CollectContext(home=home, env={})
    for name in only:
        collector = COLLECTORS[name]()
        count = 0
        for item in collector.discover(ctx):
            if isinstance(item, ItemError):
                continue
            if limit is not None and count >= limit:
                break
            try:
                snap = collector.read(item, ctx)
            except ItemError:
                continue
            files = {raw.name: Path(raw.path).read_bytes() for raw in snap.files}
            meta = {
                "provider": snap.provider, "org": snap.org, "native_id": snap.native_id,
                "title": snap.title, "created_at": snap.created_at,
                "updated_at": snap.updated_at, "source_path": snap.source_path,
                "links": dict(snap.links), "attributes": dict(snap.attributes),
                "warnings": list(snap.warnings),
            }
            kind = str(snap.attributes.get("kind", "session"))
            cases.append(Case(collector, snap.provider, snap.native_id, kind, files, meta))
            count += 1
    return cases


def fixture_homes(tmp: Path, only: list[str]) -> list[Path]:
    """Homes built from ``../shared/fixtures`` the way the collector tests build them."""
    sys.path.insert(0, str(REPO / "tests" / "collectors"))
    import collector_fixtures as cf  # noqa: PLC0415 - test helper, only for --fixtures

    homes = []
    if "claude-code" in only:
        homes.append(cf.build_claude_home(tmp / "claude").home)
    if "codex" in only:
        homes.append(cf.build_codex_home(tmp / "codex").home)
    return homes


def render(case: Case) -> bytes:
    """What the mount does on the first read of ``conversation.md``."""
    return case.collector.render_markdown(case.files, dict(case.meta)).encode("utf-8", "replace")


def one_pass(cases: list[Case], sink: Callable[[Case, bytes], None] | None = None
             ) -> tuple[dict[tuple[str, str], list[float]], float, float]:
    """Render every case once: per (provider, kind) ``[items, source, output, cpu s]``, and
    the total CPU and wall seconds."""
    stats: dict[tuple[str, str], list[float]] = {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for case in cases:
        t0 = time.process_time()
        out = render(case)
        dt = time.process_time() - t0
        row = stats.setdefault((case.provider, case.kind), [0, 0, 0, 0.0])
        row[0] += 1
        row[1] += case.source_bytes
        row[2] += len(out)
        row[3] += dt
        if sink is not None:
            sink(case, out)
    return stats, time.process_time() - cpu0, time.perf_counter() - wall0


def out_path(base: Path, case: Case) -> Path:
    safe = case.native_id.replace("/", "%2F")
    return base / case.provider / f"{safe}.md"


def report(stats: dict[tuple[str, str], list[float]], cpu: float, wall: float) -> None:
    print(f"{'renderer':<24} {'items':>6} {'src MB':>8} {'out MB':>8} {'cpu s':>7} "
          f"{'src MB/s':>9} {'out MB/s':>9}")
    total = [0, 0, 0, 0.0]
    for (provider, kind), row in sorted(stats.items()):
        total = [a + b for a, b in zip(total, row)]
        _row(f"{provider} {kind}", row)
    _row("total", total)
    print(f"pass: {cpu:.2f} s CPU, {wall:.2f} s wall; "
          f"{total[1] / MB / cpu if cpu else 0:.1f} MB/s of source, "
          f"{total[2] / MB / cpu if cpu else 0:.1f} MB/s of output (CPU)")


def _row(label: str, row: list[float]) -> None:
    n, src, out, cpu = row
    rate = (lambda b: b / MB / cpu) if cpu > 0 else (lambda b: 0.0)
    print(f"{label:<24} {int(n):>6} {src / MB:>8.1f} {out / MB:>8.1f} {cpu:>7.2f} "
          f"{rate(src):>9.1f} {rate(out):>9.1f}")


def profile(cases: list[Case], tool: str) -> None:
    if tool == "pyinstrument":
        try:
            from pyinstrument import Profiler  # noqa: PLC0415
        except ImportError:
            print("pyinstrument is not installed; using cProfile", file=sys.stderr)
            tool = "cprofile"
        else:
            prof = Profiler()
            prof.start()
            one_pass(cases)
            prof.stop()
            print(prof.output_text(unicode=True, color=False))
            return
    import cProfile  # noqa: PLC0415
    import pstats  # noqa: PLC0415

    prof = cProfile.Profile()
    prof.enable()
    one_pass(cases)
    prof.disable()
    st = pstats.Stats(prof)
    st.sort_stats("tottime").print_stats(30)
    st.sort_stats("cumulative").print_stats(30)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--only", default="claude-code,codex")
    ap.add_argument("--limit", type=int, default=None, help="items per collector and home")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--fixtures", action="store_true", help="add ../shared/fixtures homes")
    ap.add_argument("--no-corpus", action="store_true", help="only the fixtures")
    ap.add_argument("--save", type=Path)
    ap.add_argument("--check", type=Path)
    ap.add_argument("--profile", nargs="?", const="pyinstrument",
                    choices=["pyinstrument", "cprofile"])
    args = ap.parse_args(argv)
    only = [n for n in args.only.split(",") if n]
    unknown = [n for n in only if n not in COLLECTORS]
    if unknown:
        ap.error(f"unknown collector(s): {', '.join(unknown)}")

    with tempfile.TemporaryDirectory(prefix="aifs-render-") as tmp:
        homes = [] if args.no_corpus else [args.corpus]
        if args.fixtures:
            homes += fixture_homes(Path(tmp), only)
        cases: list[Case] = []
        t0 = time.perf_counter()
        for home in homes:
            if not home.is_dir():
                print(f"no corpus at {home}: run ../shared/bench/gen_corpus.py {home} --mb 300",
                      file=sys.stderr)
                return 2
            cases += load(home, only, args.limit)
        print(f"loaded {len(cases)} items, {sum(c.source_bytes for c in cases) / MB:.1f} MB "
              f"in {time.perf_counter() - t0:.1f} s")

    if args.profile:
        profile(cases, args.profile)
        return 0

    if args.save or args.check:
        base = args.save or args.check
        bad: list[str] = []

        def sink(case: Case, out: bytes) -> None:
            path = out_path(base, case)
            if args.save:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(out)
            elif not path.is_file():
                bad.append(f"{case.label}: no saved output")
            elif path.read_bytes() != out:
                bad.append(f"{case.label}: differs")

        stats, cpu, wall = one_pass(cases, sink)
        report(stats, cpu, wall)
        if args.check:
            for line in bad[:50]:
                print("DIFF", line)
            print(f"identity: {len(cases) - len(bad)}/{len(cases)} outputs byte-identical")
            return 1 if bad else 0
        print(f"saved {len(cases)} outputs under {base}")
        return 0

    best: tuple[float, Any] | None = None
    for run in range(args.runs):
        stats, cpu, wall = one_pass(cases)
        print(f"run {run + 1}: {cpu:.2f} s CPU, {wall:.2f} s wall")
        if best is None or cpu < best[0]:
            best = (cpu, (stats, cpu, wall))
    assert best is not None
    print(f"best of {args.runs} runs (by CPU time):")
    report(*best[1])
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
