#!/usr/bin/env python3
"""The long run of the generated hostile-input tests: many more hypothesis examples than CI.

    .venv/bin/python bench/hostile_fuzz.py [--examples 500] [--tests a,b] [--seed N]

Runs the property tests of ``tests/reliability/test_hostile_input.py`` (transcripts of random
good records, junk lines and titles through the real runner for Claude Code, Codex, Gemini
CLI and Copilot Chat; ChatGPT and Claude.ai exports of random entries; exports with bytes
overwritten or cut; JSON elements nested too deeply to parse) with ``--examples`` examples
each (CI runs 25 to 60), a fresh vault per example. Prints each test's verdict and time;
on a failure, hypothesis prints the shrunk example. Exit status 1 if any test failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TESTS = ("test_generated_transcripts", "test_generated_exports_keep_every_good_conversation",
         "test_damaged_exports_stop_cleanly", "test_an_element_too_deep_to_parse_is_skipped_exactly")


class _TmpFactory:
    """Stands in for pytest's ``tmp_path_factory`` (``mktemp(name)`` → a new folder)."""

    def __init__(self, base: Path) -> None:
        self.base, self.n = base, 0

    def mktemp(self, name: str) -> Path:
        self.n += 1
        path = self.base / f"{name}{self.n}"
        path.mkdir()
        return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--tests", default=",".join(TESTS), help="comma-separated test names")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (reproduce)")
    args = parser.parse_args()

    from hypothesis import HealthCheck, seed, settings

    import tests.reliability.test_hostile_input as suite

    failed = 0
    for name in args.tests.split(","):
        test = getattr(suite, name)
        # replace the CI settings (hypothesis refuses a second @settings on the same test)
        test._hypothesis_internal_use_settings = settings(
            max_examples=args.examples, deadline=None, database=None,
            suppress_health_check=list(HealthCheck))
        if args.seed is not None:
            test = seed(args.seed)(test)
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="aifs-fuzz-") as tmp:
            try:
                if "tmp_path_factory" in test.hypothesis.inner_test.__code__.co_varnames:
                    test(_TmpFactory(Path(tmp)))
                else:
                    test()
                verdict = "ok"
            except Exception:  # noqa: BLE001 - report and go on with the next test
                traceback.print_exc()
                verdict = "FAILED"
                failed += 1
        print(f"{name:<60} {verdict:<7} {args.examples} examples in "
              f"{time.monotonic() - start:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
