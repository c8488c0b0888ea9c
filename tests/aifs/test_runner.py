"""The collect runner against a real vault and the real Claude Code collector."""

import shutil
from pathlib import Path

from aifs.runner import collect, default_context
from collectors.claude_code import ClaudeCodeCollector

DATA = Path(__file__).resolve().parents[1] / "data" / "collectors"


def make_home(tmp_path: Path, n: int = 3) -> tuple[Path, list[Path]]:
    home = tmp_path / "home"
    proj = home / ".claude" / "projects" / "-home-u-proj"
    proj.mkdir(parents=True)
    paths = []
    for i in range(n):
        sid = f"00000000-0000-4000-8000-00000000000{i}"
        p = proj / f"{sid}.jsonl"
        p.write_text(
            '{"type":"user","uuid":"u%d","parentUuid":null,"sessionId":"%s","cwd":"/home/u/proj",'
            '"timestamp":"2026-01-0%dT00:00:00Z","message":{"role":"user","content":"question %d"}}\n'
            % (i, sid, i + 1, i))
        paths.append(p)
    return home, paths


def run(vault, home, collectors=None):
    collectors = collectors or {"claude-code": ClaudeCodeCollector()}
    with vault.writer() as w:
        return collect(w, collectors, lambda name: default_context(home, {}, {}), "host")


def test_second_run_adds_nothing_and_touch_adds_no_version(new_vault, tmp_path):
    vault, _ = new_vault
    home, paths = make_home(tmp_path)
    first = run(vault, home)
    assert (first.new, first.changed, first.failed) == (3, 0, 0)
    again = run(vault, home)
    assert (again.new, again.changed, again.unchanged, again.bytes_stored) == (0, 0, 3, 0)
    paths[0].touch()
    touched = run(vault, home)
    assert (touched.new, touched.changed, touched.unchanged) == (0, 0, 3)
    assert touched.bytes_read == paths[0].stat().st_size  # only the touched file was read
    with open(paths[1], "a") as f:
        f.write('{"type":"custom-title","customTitle":"Renamed","sessionId":"x"}\n')
    grown = run(vault, home)
    assert (grown.changed, grown.unchanged) == (1, 2)


def test_failing_item_is_reported_and_the_rest_kept(new_vault, tmp_path):
    vault, _ = new_vault
    home, paths = make_home(tmp_path)

    class Vanishing(ClaudeCodeCollector):
        def read(self, item, ctx):
            if item.key.endswith("1"):
                paths[1].unlink()  # gone between listing and reading
            return super().read(item, ctx)

    summary = run(vault, home, {"claude-code": Vanishing()})
    assert (summary.new, summary.failed) == (2, 1)
    assert summary.errors[0]["path"].endswith(paths[1].name)
    assert "question" not in str(summary.errors)  # no message text in errors
    with vault.reader() as rd:
        assert len(rd.conversations()) == 2


def test_source_deleted_upstream_is_kept_and_flagged(new_vault, tmp_path):
    vault, _ = new_vault
    home, paths = make_home(tmp_path)
    run(vault, home)
    saved = tmp_path / "saved.jsonl"
    shutil.copy2(paths[2], saved)
    paths[2].unlink()  # Claude Code's 30-day cleanup
    summary = run(vault, home)
    assert summary.deleted_upstream == 1
    with vault.reader() as rd:
        flagged = {c.native_id: c.deleted_upstream_at for c in rd.conversations()}
        gone = next(c for c in rd.conversations() if c.deleted_upstream_at)
        data = rd.read_file(rd.version(gone.version_serials[-1]).files[0])
    assert sum(1 for v in flagged.values() if v) == 1
    assert data == saved.read_bytes()  # still all there
    assert run(vault, home).deleted_upstream == 0  # flagged once
    shutil.copy2(saved, paths[2])  # restored by the user
    back = run(vault, home)
    assert back.new == 0 and back.changed == 0
    with vault.reader() as rd:
        assert not any(c.deleted_upstream_at for c in rd.conversations())


def test_missing_root_does_not_flag_everything(new_vault, tmp_path):
    vault, _ = new_vault
    home, _ = make_home(tmp_path)
    run(vault, home)
    shutil.rmtree(home / ".claude")  # e.g. moved elsewhere, or an unmounted disk
    assert run(vault, home).deleted_upstream == 0


def test_listing_ahead_of_the_vault_gives_the_same_run(new_vault, tmp_path, caplog):
    """The CLI lists sources (discover_all) while the key is derived, then stores: same counts
    and errors as listing inside collect, and a listing problem is logged only by collect."""
    from collectors import ItemError

    from aifs.runner import discover_all

    vault, _ = new_vault
    home, paths = make_home(tmp_path)

    class Partly(ClaudeCodeCollector):
        def discover(self, ctx):
            yield from super().discover(ctx)
            yield ItemError(str(home / "unlistable"), "permission denied")

    collectors = {"claude-code": Partly()}
    ctx_for = lambda name: default_context(home, {}, {})  # noqa: E731
    with caplog.at_level("WARNING"):
        plan = discover_all(collectors, ctx_for)
        assert caplog.records == [] and plan.complete == set()
        assert [len(items) for *_, items in plan.entries] == [3]
        with vault.writer() as w:
            ahead = collect(w, collectors, ctx_for, "host", plan=plan)
    assert [r.getMessage() for r in caplog.records] == [
        f"claude-code: {home / 'unlistable'}: permission denied"]
    assert (ahead.new, ahead.failed, ahead.seen) == (3, 1, 3)
    assert ahead.errors == [{"collector": "claude-code", "path": str(home / "unlistable"),
                             "reason": "permission denied"}]
    assert ahead.seconds >= plan.seconds > 0
    paths[0].unlink()  # gone, but the listing was not complete: nothing is flagged
    inside = run(vault, home, collectors)
    assert (inside.unchanged, inside.failed, inside.deleted_upstream) == (2, 1, 0)
    assert inside.errors == ahead.errors
