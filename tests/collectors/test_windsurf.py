"""WindsurfCollector: opaque Cascade ``.pb`` files (random bytes written at test time)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from collectors import CollectContext, ItemError, SourceItem
from collectors.testing import CollectorConformance
from collectors.windsurf import WindsurfCollector

from .collector_fixtures import SECRET

A = "3f2a1c9e-8b7d-4654-a1b2-c3d4e5f60718"
B = "0e1d2c3b-4a59-4687-9786-a5b4c3d2e1f0"
collector = WindsurfCollector()


def lay_out(home: Path) -> None:
    cascade = home / ".codeium/windsurf/cascade"
    cascade.mkdir(parents=True)
    (cascade / f"{A}.pb").write_bytes(os.urandom(5000))
    (cascade / f"{B}.pb").write_bytes(os.urandom(300))
    nxt = home / ".codeium/windsurf-next/cascade"
    nxt.mkdir(parents=True)
    (nxt / f"{A}.pb").write_bytes(os.urandom(100))
    (home / ".codeium/windsurf/user_settings.pb").write_bytes(SECRET)


class TestWindsurfConformance(CollectorConformance):
    credential_files = (".codeium/windsurf/user_settings.pb", ".codeium/config.json")

    def make_collector(self):
        return WindsurfCollector()

    def make_sources(self, home: Path) -> None:
        lay_out(home)


def test_opaque_items_titles_and_page(tmp_path):
    home = tmp_path / "home"
    lay_out(home)
    ctx = CollectContext(home=home, env={})
    found = {f.key: f for f in collector.discover(ctx)}
    assert set(found) == {A, B, f"{A}@next"}
    snap = collector.read(found[A], ctx)
    path = home / ".codeium/windsurf/cascade" / f"{A}.pb"
    assert snap.title == "Windsurf Cascade 3f2a1c9e" and snap.updated_at == path.stat().st_mtime
    assert [f.path for f in snap.files] == [path] and snap.attributes["opaque"] is True
    data = path.read_bytes()
    page = collector.render_markdown({f"{A}.pb": data}, {"title": snap.title, "updated_at": snap.updated_at})
    assert hashlib.sha256(data).hexdigest() in page and "5000 bytes" in page and "encrypted" in page
    assert collector.read(found[f"{A}@next"], ctx).attributes["edition"] == "Windsurf Next"
    other = CollectContext(home=tmp_path / "x", env={}, options={"path": str(home / ".codeium/windsurf-next")})
    assert [i.key for i in collector.discover(other)] == [A]


def test_unreadable_file_is_an_item_error(tmp_path):
    home = tmp_path / "home"
    lay_out(home)
    ctx = CollectContext(home=home, env={})
    item = next(i for i in collector.discover(ctx) if isinstance(i, SourceItem) and i.key == B)
    os.unlink(item.stamps[0].path)
    with pytest.raises(ItemError):
        collector.read(item, ctx)
