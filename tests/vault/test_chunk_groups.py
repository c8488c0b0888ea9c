"""Chunk groups (vault/pack.py): new chunks of a file compressed as one GROUP blob.

What must hold: a grouped file reads back byte for byte; the pack header lists the group
and each member at the group's place; a member the index places at the wrong slice of its
group, or a group moved to another place, is refused (IntegrityError), never served; a
repeated chunk inside one file is stored once; packs written before groups existed
(header version 1) still open.
"""

from __future__ import annotations

import random

import pytest

from vault.blob import DATA, GROUP, group_blob_id
from vault.errors import IntegrityError
from vault.index import MEMBER_LOC, pack_loc, unpack_loc
from vault.model import ConversationSnapshot, RawFile
from vault.pack import ENTRY, ENTRY_V1, HEADER_HEAD, PackEntry, decode_header, read_header
from vault.reader import VaultReader


def _text(seed: int, n: int) -> bytes:
    rng = random.Random(seed)
    words = [bytes(rng.choice(b"abcdefghij") for _ in range(rng.randint(2, 8))) for _ in range(500)]
    out, size = [], 0
    while size < n:
        out.append(rng.choice(words))
        size += len(out[-1]) + 1
    return b" ".join(out)[:n]


def _store(vault, files: dict[str, bytes]) -> None:
    with vault.writer() as w:
        w.store(ConversationSnapshot("codex", "c1", "T", tuple(RawFile(n, data=d) for n, d in
                                                               files.items()), org="o"))


def _headers(vault, reader) -> list[PackEntry]:
    out = []
    for p in sorted((vault.root / "packs").glob("*/*")):
        out += read_header(p, bytes.fromhex(p.name), reader.cipher)
    return out


def test_a_grouped_file_reads_back_and_the_header_lists_its_members(new_vault):
    vault, _ = new_vault
    data = _text(1, 900_000)  # ~26 chunks: at least three groups of 256 KiB
    _store(vault, {"a.jsonl": data})
    with VaultReader(vault) as r:
        conv = r.conversations()[0]
        (f,) = r.version(conv.version_serials[-1]).files
        assert r.read_file(f) == data
        assert r.read(f, 300_001, 5000) == data[300_001:305_001]
        entries = _headers(vault, r)
    groups = [e for e in entries if e.type == GROUP]
    members = [e for e in entries if e.member]
    assert len(groups) >= 3
    lone = [e for e in entries if e.type == DATA and not e.member]  # a group of one chunk
    assert len(lone) <= 1  # (only the file's last group can be that short)
    assert {e.id for e in members + lone} == {c for c, _n in f.chunks}
    for g in groups:
        inside = [e for e in members if e.offset == g.offset]
        assert all(e.length == g.length and e.type == DATA for e in inside)
        assert sum(e.raw_len for e in inside) == g.raw_len
        assert sorted(e.inner for e in inside)[0] == 0
    assert vault.check(read_data=True).ok


def test_a_member_at_the_wrong_slice_is_refused(new_vault):
    vault, _ = new_vault
    _store(vault, {"a.jsonl": _text(2, 600_000)})
    with VaultReader(vault) as r:
        (f,) = r.version(r.conversations()[0].version_serials[-1]).files
        a, b = f.chunks[0][0], f.chunks[1][0]
        with r.index.env.begin() as txn:
            loc_a = unpack_loc(txn.get(a, db=r.index.db["chunks"]))
            loc_b = unpack_loc(txn.get(b, db=r.index.db["chunks"]))
    assert loc_a[5] >= 0 and loc_a[1] == loc_b[1]  # both in the same group
    # point chunk a at chunk b's slice: the bytes are authentic, but they are not chunk a
    env = r.index.env.__class__(str(vault.root / "index"), max_dbs=16, subdir=True)
    with env.begin(write=True) as txn:
        db = env.open_db(b"chunks", txn=txn)
        txn.put(a, pack_loc(*loc_a[:3], loc_b[3], loc_a[4], loc_b[5]), db=db)
    env.close()
    with VaultReader(vault) as r:
        with pytest.raises(IntegrityError):
            r.chunk(a)
        assert r.chunk(b)  # its neighbour is still served
    assert not vault.check(read_data=True).ok


def test_a_group_moved_to_another_offset_does_not_open(new_vault):
    vault, _ = new_vault
    _store(vault, {"a.jsonl": _text(3, 600_000)})
    with VaultReader(vault) as r:
        pack = next((vault.root / "packs").glob("*/*"))
        pack_id = bytes.fromhex(pack.name)
        g = next(e for e in read_header(pack, pack_id, r.cipher) if e.type == GROUP)
        sealed = pack.read_bytes()[g.offset:g.offset + g.length]
        assert r.cipher.open(GROUP, group_blob_id(pack_id, g.offset), sealed)
        with pytest.raises(IntegrityError):
            r.cipher.open(GROUP, group_blob_id(pack_id, g.offset + 1), sealed)
        with pytest.raises(IntegrityError):
            r.cipher.open(GROUP, group_blob_id(bytes(16), g.offset), sealed)


def test_a_chunk_repeated_inside_a_file_is_stored_once(new_vault):
    vault, _ = new_vault
    block = _text(4, 200_000)
    _store(vault, {"a.jsonl": block + block + block})
    with VaultReader(vault) as r:
        (f,) = r.version(r.conversations()[0].version_serials[-1]).files
        assert r.read_file(f) == block * 3
        entries = _headers(vault, r)
    ids = [e.id for e in entries if e.type == DATA]
    assert len(ids) == len(set(ids))
    assert len(ids) < len(f.chunks)  # the repeats share chunks
    assert sum(e.raw_len for e in entries if e.type == DATA) < 2 * len(block)


def test_version_1_pack_headers_and_plain_locations_still_decode():
    entry = (DATA, bytes(range(32)), 8, 100, 400)
    v1 = HEADER_HEAD.pack(1, 1) + ENTRY_V1.pack(*entry)
    (e,) = decode_header(v1, "pack x")
    assert (e.type, e.id, e.offset, e.length, e.raw_len, e.inner) == (*entry, -1)
    assert unpack_loc(pack_loc(1, 8, 100, 400, DATA)) == (1, 8, 100, 400, DATA, -1)
    assert unpack_loc(pack_loc(1, 8, 100, 400, DATA, 7)) == (1, 8, 100, 400, DATA, 7)
    assert len(pack_loc(1, 8, 100, 400, DATA, 7)) == MEMBER_LOC.size
    with pytest.raises(IntegrityError):
        unpack_loc(b"\0" * 5)


def test_a_header_placing_a_member_outside_its_group_is_refused():
    gid = group_blob_id(bytes(16), 8)
    good = [(GROUP, gid, 8, 100, 500, -1), (DATA, bytes(32), 8, 100, 300, 0),
            (DATA, bytes([1]) * 32, 8, 100, 200, 300)]
    enc = lambda rows: HEADER_HEAD.pack(2, len(rows)) + b"".join(ENTRY.pack(*x) for x in rows)  # noqa: E731
    assert len(decode_header(enc(good), "p")) == 3
    for bad in ([good[1]],                                   # no group before it
                [good[0], (DATA, bytes(32), 8, 100, 300, 250)],  # past the group's end
                [good[0], (DATA, bytes(32), 9, 100, 10, 0)]):    # another place
        with pytest.raises(IntegrityError):
            decode_header(enc(bad), "p")
    assert ENTRY.size == 49  # the layout vault/pack.py documents
