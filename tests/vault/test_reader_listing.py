"""The reader's folder listing fast path and its bounded memory map (see vault/reader.py)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from vault import ConversationSnapshot, RawFile
from vault import index as index_mod

TITLES = [
    "Plain title",
    'Quotes " and \\ backslashes \\"',
    "Line\nbreak and\ttab",
    "über café ✓ 🚀",
    "lone \ud83c surrogate",
    "",
    '"title": "fake key inside a title"',
    '"versions": [[1, "x", 2.0]]',
    "x" * 1000,
]


def _snap(i: int, title: str, provider: str, body: bytes) -> ConversationSnapshot:
    return ConversationSnapshot(provider=provider, native_id=f'id-{i}-"q"\\{i}', title=title,
                                files=(RawFile(f"{i}.jsonl", data=body),), org="host",
                                created_at=1.7e9, updated_at=None if i % 2 else 1.7e9 + i)


@pytest.fixture
def filled(new_vault):
    vault, _ = new_vault
    with vault.writer() as w:
        for i, title in enumerate(TITLES):
            provider = "claude-code" if i % 3 else "codex"
            for k in range(1 + i % 3):  # 1 to 3 versions
                w.store(_snap(i, title, provider, f"{i} {k}\n".encode() * (k + 1)))
        w.mark_deleted_upstream("codex", "host", 'id-0-"q"\\0')
    return vault


def _facts(infos):
    return [(c.serial, c.title, c.native_id, len(c.version_serials), c.last_captured_at)
            for c in infos]


def test_rows_say_what_conversations_say(filled):
    with filled.reader() as r:
        providers = [s for o, _ in r.orgs() for s, _ in r.providers(o)]
        assert len(providers) == 2
        for p in providers:
            rows = r.conversation_rows(p)
            assert rows == _facts(r.conversations(p))
            assert [row[0] for row in rows] == sorted(row[0] for row in rows)
        titles = {row[1] for p in providers for row in r.conversation_rows(p)}
        assert titles == set(TITLES)


def test_rows_fall_back_to_full_decoding_for_another_layout(filled, monkeypatch):
    """A record written another way (compact separators, other key order) still lists."""
    with filled.reader() as r:
        p = r.providers(r.orgs()[0][0])[0][0]
        want = _facts(r.conversations(p))
        real_open = r.crypto.open

        def compact(db, key, sealed):
            plain = real_open(db, key, sealed)
            if db != "convs":
                return plain
            rec = json.loads(plain)
            return json.dumps(dict(reversed(list(rec.items()))), separators=(",", ":"),
                              ensure_ascii=False).encode()

        monkeypatch.setattr(r.crypto, "open", compact)
        assert r.conversation_rows(p) == want


def _mapped_kib(path: str) -> int:
    """Resident KiB of this process's mappings of ``path`` (from /proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split()
            if fields and "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                inside = len(fields) >= 6 and fields[5] == path
            elif inside and fields[0] == "Rss:":
                total += int(fields[1])
    return total


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux memory maps")
def test_index_pages_are_released_every_trim_every_reads(filled, monkeypatch):
    data = os.path.realpath(filled.root / "index" / "data.mdb")
    with filled.reader() as r:
        assert r.index.trimmer._range is not None, "the index mapping was not found"
        monkeypatch.setattr(index_mod, "TRIM_EVERY", 10**9)
        for p in (s for o, _ in r.orgs() for s, _ in r.providers(o)):
            r.conversations(p)
        assert _mapped_kib(data) > 0
        r.index.trimmer.trim()
        assert _mapped_kib(data) == 0
        # reads still work afterwards, and counting triggers the release by itself
        monkeypatch.setattr(index_mod, "TRIM_EVERY", 3)
        serials = [row[0] for o, _ in r.orgs() for p, _ in r.providers(o)
                   for row in r.conversation_rows(p)]
        assert len(serials) == len(TITLES)
        r.index.trimmer.trim()
        r.conversation(serials[0])
        r.conversation(serials[1])
        assert _mapped_kib(data) > 0
        r.conversation(serials[2])  # the third read since the last release
        assert _mapped_kib(data) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux memory maps")
def test_writer_lookups_release_index_pages(filled, monkeypatch):
    """``aifs collect`` into a big vault: its lookups must not keep the index mapped."""
    data = os.path.realpath(filled.root / "index" / "data.mdb")
    monkeypatch.setattr(index_mod, "TRIM_EVERY", 4)
    with filled.writer() as w:
        w.index.trimmer.trim()
        for i in range(3):  # three lookups: mapped, not yet released
            assert w.source_unchanged("c", f"k{i}", ()) is False
        assert _mapped_kib(data) > 0
        w.source_unchanged("c", "k3", ())  # the fourth
        assert _mapped_kib(data) == 0
