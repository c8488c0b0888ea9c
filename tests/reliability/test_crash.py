"""A real ``aifs collect`` killed with SIGKILL, a handful of times; the long run (≥ 200 kills) is
``bench/crash_trials.py``. Both use ``crash_harness.py`` (what a trial does and checks is in its
docstring): after each kill the vault opens, ``aifs check`` passes, every version committed
before the kill reads back byte for byte, new versions are complete, and the next collect
exits 0 and brings the vault to the source's state.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from .crash_harness import (Epoch, KillSpec, RunConfig, Workload, compare_committed,
                            compare_source, read_state, run_aifs, collect_args, run_trials,
                            summarize)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL trials need Linux")

# One epoch: the first collect killed while it works, then one kill per kind of point: very
# early (start-up), just after a pack is renamed into place (before the index commit), just
# after the index file starts changing (inside the commit), right after the writer lock is
# taken. Triggers, not delays, where the point matters: they hold on a slow or busy machine.
KILLS = [KillSpec("locked", extra=0.03), KillSpec("delay", delay=0.05),
         KillSpec("pack", nth=1, extra=0.0), KillSpec("index", nth=1, extra=0.0),
         KillSpec("locked", extra=0.0)]


def test_collect_killed_at_five_points_loses_nothing(tmp_path):
    cfg = RunConfig(work=tmp_path, trials=len(KILLS), epoch_len=len(KILLS), sessions=8, mb=4.0,
                    big_mb=3.0, scale=0.25, read_data_every=len(KILLS), fast_kdf=True,
                    kills=KILLS, seed=5)
    lines: list[str] = []
    results = run_trials(cfg, log=lines.append)
    summary = summarize(results)
    report = "\n".join(lines)
    assert summary["trials"] == len(KILLS)
    assert summary["failed"] == 0, report
    assert summary["killed"] >= 4, f"too few runs were killed before they ended:\n{report}"
    assert summary["check_read_data_runs"] == 1
    # Every trial had new work and the run after the kill stored it.
    assert all(r.versions_after > r.versions_before for r in results), report


def test_harness_detects_damage(tmp_path):
    """The checks the trials rely on fail when they should: a lost version, a changed byte
    in a pack, a source newer than the vault."""
    ep = Epoch(tmp_path, seed=3, epoch=0, sessions=3, mb=0.3, big_mb=1.0, fast_kdf=True)
    res = run_aifs(ep.env, *collect_args(ep.home))
    assert res.returncode == 0, res.stderr
    good = read_state(ep.vault)
    assert not good.problems and len(good.versions) == 3 and good.bytes_read > 0
    source = ep.workload.expected()
    assert compare_source(good, source) == []

    fewer = read_state(ep.vault)
    fewer.versions.pop(min(fewer.versions))
    assert any("is gone" in p for p in compare_committed(good, fewer))

    ep.workload.mutate(big_mb=0.1, scale=0.01)
    assert compare_source(good, ep.workload.expected()), "a changed source went unnoticed"

    pack = next(p for p in (ep.vault_root / "packs").glob("*/*"))
    data = bytearray(pack.read_bytes())
    data[len(data) // 3] ^= 0x40
    os.chmod(pack, 0o600)
    pack.write_bytes(bytes(data))
    damaged = read_state(ep.vault)
    assert damaged.problems, "a flipped byte in a pack went unnoticed"
    assert compare_committed(good, damaged)
    ep.close()
    assert not ep.dir.exists()


def test_workload_is_deterministic(tmp_path):
    a, b = Workload(tmp_path / "a", seed=9), Workload(tmp_path / "b", seed=9)
    for w in (a, b):
        w.build(sessions=4, mb=0.2)
        w.mutate(big_mb=0.1, scale=0.05)
    assert a.expected() == b.expected()
    assert len(a.expected()) >= 4
    shutil.rmtree(tmp_path / "a")


@pytest.mark.parametrize("text", ["delay:0.5", "pack:2:0.001", "index:3", "locked:0.25"])
def test_kill_spec_round_trip(text):
    spec = KillSpec.parse(text)
    assert KillSpec.parse(spec.to_arg()) == spec


def test_kill_spec_rejects_garbage():
    with pytest.raises(ValueError):
        KillSpec.parse("sometime")
