"""A conformance suite every collector must pass (the trio ``check_one_way_stream`` /
restic backend-suite pattern): subclass :class:`CollectorConformance` in a test module,
say how to build sample sources, and pytest runs every ``test_*`` method on it.

    class TestMyToolConformance(CollectorConformance):
        def make_collector(self): return MyToolCollector()
        def make_sources(self, home): ...            # lay out real sample files under home
        def hostile_source(self, home, title): ...   # one conversation titled `title`
        credential_files = (".mytool/auth.json",)    # planted; must never be collected

Checks: ids stable across runs and across fresh collector instances; a second run into a
real vault adds nothing; hostile titles (``/``, NUL, ``..``, control characters, 1,000
bytes) come through ``read`` unchanged and rendering them does not fail; a torn or truncated
source gives a clear per-item result (a warning or an :class:`ItemError`) while every other
item is kept; a source that vanishes between listing and reading is an
:class:`ItemError`; credential files are never listed, stamped or stored.

Uses only :mod:`vault` and the collector itself (collectors never import :mod:`aifs`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vault import ConversationSnapshot
from vault.keys import KdfParams
from vault.vault import Vault

from .base import CollectContext, Collector, SourceItem
from .errors import ItemError

SECRET = b"aifs-conformance-SECRET-must-never-be-collected"
HOSTILE_TITLES = (
    "a/b/../../etc/passwd",
    "nul\x00inside",
    "..",
    "ctrl\x01\x1b[31mred\x7f\x9b",
    "long " + "é" * 600,
)


class CollectorConformance:
    """Base class of a collector's conformance tests; see the module docstring."""

    credential_files: tuple[str, ...] = ()

    # -- to provide -----------------------------------------------------------------------

    def make_collector(self) -> Collector:
        raise NotImplementedError

    def make_sources(self, home: Path) -> None:
        """Write at least two conversations' worth of source files under ``home``."""
        raise NotImplementedError

    def hostile_source(self, home: Path, title: str) -> bool:
        """Write one conversation whose title is ``title``; return False if the format has
        no titles of its own (the hostile-title test is then skipped)."""
        return False

    def context(self, home: Path) -> CollectContext:
        return CollectContext(home=home, env={}, options={})

    # -- helpers ----------------------------------------------------------------------------

    def _home(self, tmp_path: Path) -> Path:
        home = tmp_path / "home"
        home.mkdir(parents=True, exist_ok=True)
        self.make_sources(home)
        for rel in self.credential_files:
            p = home / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(SECRET)
        return home

    def _items(self, collector: Collector, ctx: CollectContext) -> list[SourceItem]:
        found = list(collector.discover(ctx))
        errors = [f for f in found if isinstance(f, ItemError)]
        assert not errors, f"listing failed: {errors}"
        return [f for f in found if not isinstance(f, ItemError)]

    def _read_all(self, collector, ctx, items) -> dict[str, ConversationSnapshot | ItemError]:
        out: dict[str, Any] = {}
        for item in items:
            try:
                out[item.key] = collector.read(item, ctx)
            except ItemError as e:
                out[item.key] = e
        return out

    @staticmethod
    def _bytes_of(snap: ConversationSnapshot) -> dict[str, bytes]:
        return {f.name: (f.data if f.data is not None else Path(f.path).read_bytes())
                for f in snap.files}

    # -- the checks -------------------------------------------------------------------------

    def test_finds_sources_and_ids_are_stable(self, tmp_path):
        home = self._home(tmp_path)
        first = self.make_collector()
        items = self._items(first, self.context(home))
        assert len(items) >= 2, "make_sources must write at least two conversations"
        keys = [i.key for i in items]
        assert len(set(keys)) == len(keys), "item keys must be unique"
        again = [i.key for i in self._items(self.make_collector(), self.context(home))]
        assert sorted(again) == sorted(keys), "keys must not change between runs"
        snaps = self._read_all(first, self.context(home), items)
        ids = {}
        for key, snap in snaps.items():
            assert isinstance(snap, ConversationSnapshot), f"{key}: {snap}"
            assert snap.provider == first.provider
            assert snap.native_id and isinstance(snap.title, str)
            assert snap.files, f"{key}: a version needs at least one raw file"
            names = [f.name for f in snap.files]
            assert len(set(names)) == len(names)
            for name in names:
                assert not name.startswith("/") and ".." not in name.split("/") and "\0" not in name
            ids[key] = snap.native_id
        reread = self._read_all(self.make_collector(), self.context(home), items)
        assert {k: s.native_id for k, s in reread.items()} == ids, "native ids must be stable"
        for snap in snaps.values():
            md = first.render_markdown(self._bytes_of(snap), {"title": snap.title})
            assert isinstance(md, str) and md.strip()

    def test_second_run_into_a_vault_adds_nothing(self, tmp_path):
        home = self._home(tmp_path)
        vault, _ = Vault.create(tmp_path / "vault", "conformance", KdfParams(1, 1024, 1))
        collector = self.make_collector()

        def run() -> dict[str, int]:
            counts = {"new": 0, "changed": 0, "unchanged": 0, "skipped": 0, "bytes": 0}
            ctx = self.context(home)
            with vault.writer() as w:
                for item in self._items(collector, ctx):
                    if w.source_unchanged(collector.name, item.key, item.stamps):
                        counts["skipped"] += 1
                        continue
                    snap = collector.read(item, ctx)
                    if not snap.org:
                        snap = ConversationSnapshot(**{**_fields(snap), "org": "conformance"})
                    r = w.store(snap, collector=collector.name, key=item.key, stamps=item.stamps)
                    counts[r.status] += 1
                    counts["bytes"] += r.bytes_stored
            return counts

        first = run()
        assert first["new"] >= 2
        second = run()
        assert second["new"] == second["changed"] == second["bytes"] == 0, second
        assert second["skipped"] + second["unchanged"] == first["new"] + first["unchanged"]
        assert second["skipped"] >= 1, "unchanged sources must be skipped by their stamps"

    def test_hostile_titles_pass_through_unchanged(self, tmp_path):
        collector = self.make_collector()
        for i, title in enumerate(HOSTILE_TITLES):
            home = tmp_path / f"hostile-{i}"
            home.mkdir()
            if not self.hostile_source(home, title):
                import pytest
                pytest.skip("this format has no titles of its own")
            ctx = self.context(home)
            snaps = [s for s in self._read_all(collector, ctx, self._items(collector, ctx)).values()
                     if isinstance(s, ConversationSnapshot)]
            assert any(s.title == title for s in snaps), (title, [s.title for s in snaps])
            for s in snaps:
                assert isinstance(collector.render_markdown(self._bytes_of(s), {"title": s.title}), str)

    def test_torn_source_is_one_item_problem_and_the_rest_is_kept(self, tmp_path):
        home = self._home(tmp_path)
        collector = self.make_collector()
        ctx = self.context(home)
        items = self._items(collector, ctx)
        victim = max((s for i in items for s in i.stamps if s.size > 64), key=lambda s: s.size)
        data = Path(victim.path).read_bytes()
        cut = data[: len(data) * 2 // 3]
        Path(victim.path).write_bytes(cut)
        items = self._items(collector, ctx)
        results = self._read_all(collector, ctx, items)
        good = [s for s in results.values() if isinstance(s, ConversationSnapshot)]
        assert len(good) >= len(items) - 1, "only the damaged item may fail"
        for snap in good:
            for f in snap.files:
                if f.path is not None and os.fspath(f.path) == victim.path:
                    assert Path(f.path).read_bytes() == cut  # raw bytes kept exactly
                    md = collector.render_markdown(self._bytes_of(snap), {"title": snap.title})
                    assert isinstance(md, str)

    def test_vanished_source_is_an_item_error(self, tmp_path):
        home = self._home(tmp_path)
        collector = self.make_collector()
        ctx = self.context(home)
        items = self._items(collector, ctx)
        target = items[0]
        for s in target.stamps:
            if os.path.exists(s.path):
                os.unlink(s.path)
        try:
            collector.read(target, ctx)
        except ItemError as e:
            assert e.path and e.reason
        others = self._read_all(collector, ctx, items[1:])
        assert all(isinstance(s, ConversationSnapshot) for s in others.values())

    def test_credentials_are_never_collected(self, tmp_path):
        home = self._home(tmp_path)
        collector = self.make_collector()
        ctx = self.context(home)
        items = self._items(collector, ctx)
        planted = {os.fspath(home / rel) for rel in self.credential_files}
        for item in items:
            assert not planted & {s.path for s in item.stamps}
        for snap in self._read_all(collector, ctx, items).values():
            if isinstance(snap, ConversationSnapshot):
                for name, data in self._bytes_of(snap).items():
                    assert SECRET not in data, name


def _fields(snap: ConversationSnapshot) -> dict[str, Any]:
    return {f: getattr(snap, f) for f in snap.__dataclass_fields__}
