"""Corruption trials: one flipped byte in a pack or in the LMDB index, then ``check``.

One implementation for the suite (``tests/reliability/test_corruption.py``, a sample) and the
long run (``bench/corruption_trials.py``, thousands of trials; it puts the repository root on
``sys.path`` to import this module).

Everything expected is worked out here, test-side, from the pack files themselves (their
layout per vault/pack.py and vault/blob.py) and from manifests read *before* the damage:

* :func:`build_vault`: a real vault of generated conversations (two versions each for some,
  so chunks are shared), written with small packs so there are many, and a zstd dictionary
  trained early so dictionary-compressed blobs and the dictionary blob itself are present;
* :func:`vault_map`: every pack's byte regions (magic, each blob's 14-byte header, body and
  16-byte tag, the encrypted pack header, the ``header_len`` field, the end magic) and what
  each blob is used by;
* :func:`pack_trial`: flip one byte at an offset, run ``check``, put the byte back, and say
  whether the damage was found, whether the pack was named, and whether exactly the
  expected files and versions were named;
* :func:`lmdb_trial`: flip one byte of ``index/data.mdb``, read the whole index back in a
  child process (the reader may crash: SIGBUS) and compare it with the original, then run
  ``check`` and classify.
"""

from __future__ import annotations

import faulthandler
import hashlib
import os
import pickle
import random
import shutil
import struct
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PASSPHRASE = "corruption trials"
BLOB_HEADER = 14   # suite, compression, nonce (vault/blob.py)
TAG = 16
PACK_MAGIC = 8
TRAILER = 12       # header_len:u32 | end magic:8 (vault/pack.py)
COMP_ZSTD_DICT = 2
DB_NAMES = ("meta", "packs", "chunks", "dirs", "dir_names", "convs", "conv_ids", "conv_dir",
            "versions", "sources")


# -- a vault to damage ----------------------------------------------------------------------------


def _text(rng: random.Random, words: list[str], n: int) -> bytes:
    return (" ".join(rng.choice(words) for _ in range(n)) + "\n").encode()


def build_vault(root: Path, conversations: int = 24, seed: int = 1, pack_size: int = 48 << 10,
                dict_sample: int = 160 << 10, kdf=None):
    """Create a vault at ``root`` and store generated conversations (some twice, grown),
    with source records as a collector leaves them.

    Returns ``(vault, sources)`` with ``sources[(provider, native_id)]`` the raw files of each
    version stored, oldest first: ``[{name: bytes}]``.
    """
    import vault.writer as W
    from vault import ConversationSnapshot, RawFile, SourceStamp
    from vault.keys import KdfParams
    from vault.vault import Vault

    vault, _recovery = Vault.create(root, PASSPHRASE, kdf or KdfParams(1, 1024, 1))
    rng = random.Random(seed)
    words = [f"w{rng.randrange(10 ** 6):06d}" for _ in range(4000)]
    sources: dict[tuple[str, str], list[dict[str, bytes]]] = {}
    saved = W.TARGET_SIZE, W.DICT_SAMPLE_BYTES
    W.TARGET_SIZE, W.DICT_SAMPLE_BYTES = pack_size, dict_sample
    try:
        for round_ in range(2):
            with vault.writer() as w:
                for i in range(conversations):
                    key = ("codex" if i % 3 else "claude-code", f"conv-{seed}-{i}")
                    if round_ == 1 and i % 2:
                        continue
                    files = dict(sources[key][-1]) if key in sources else {
                        f"{key[1]}.jsonl": _text(rng, words, rng.randrange(1500, 9000)),
                        "notes/extra.txt": _text(rng, words, 60)}
                    if round_ == 1:
                        files[f"{key[1]}.jsonl"] += _text(rng, words, 400)
                    snap = ConversationSnapshot(key[0], key[1], f"Title {i}",
                                                tuple(RawFile(n, data=d) for n, d in files.items()),
                                                org="box")
                    stamp = SourceStamp(f"/src/{key[1]}.jsonl", i + 1, len(files[f"{key[1]}.jsonl"]),
                                        round_, round_)
                    w.store(snap, collector=key[0], key=key[1], stamps=(stamp,))
                    sources.setdefault(key, []).append(files)
    finally:
        W.TARGET_SIZE, W.DICT_SAMPLE_BYTES = saved
    return vault, sources


# -- where every byte of every pack belongs ---------------------------------------------------------


@dataclass
class Blob:
    type: int
    id: bytes
    offset: int
    length: int
    dict_compressed: bool
    members: list[bytes] = field(default_factory=list)  # a group's chunk ids

    def chunk_ids(self) -> list[bytes]:
        """The chunk ids a damaged byte in this blob makes unreadable."""
        return self.members if self.type == 5 else [self.id]


@dataclass
class PackMap:
    path: Path
    pack_id: str
    size: int
    header_offset: int
    header_len: int
    blobs: list[Blob]

    def regions(self) -> list[tuple[str, int, int]]:
        """``(class, start, end)`` covering every byte of the file once."""
        out = [("pack magic", 0, PACK_MAGIC)]
        for b in self.blobs:
            out += [("blob header", b.offset, b.offset + BLOB_HEADER),
                    ("blob body", b.offset + BLOB_HEADER, b.offset + b.length - TAG),
                    ("blob tag", b.offset + b.length - TAG, b.offset + b.length)]
        out += [("pack header", self.header_offset, self.header_offset + self.header_len),
                ("header length field", self.size - TRAILER, self.size - TRAILER + 4),
                ("end magic", self.size - 8, self.size)]
        return out

    def blob_at(self, offset: int) -> Blob | None:
        for b in self.blobs:
            if b.offset <= offset < b.offset + b.length:
                return b
        return None


@dataclass
class VaultMap:
    """Every pack's layout and, for each blob id, what it is used by (labels as
    ``vault.check`` prints them: ``org/provider/native_id/version[/file]``)."""

    packs: list[PackMap]
    users: dict[bytes, set[str]] = field(default_factory=dict)       # data chunk -> files
    manifest_of: dict[bytes, str] = field(default_factory=dict)      # manifest -> version
    files_of: dict[str, set[str]] = field(default_factory=dict)      # version -> its files
    version_of: dict[str, str] = field(default_factory=dict)         # file -> its version
    contents: dict[str, bytes] = field(default_factory=dict)         # file label -> bytes


def vault_map(vault) -> VaultMap:
    """Read the layout of every pack and every version (before any damage)."""
    from vault.index import U64
    from vault.pack import read_header
    from vault.reader import VaultReader

    packs = []
    with VaultReader(vault) as reader:
        for path in sorted((vault.root / "packs").glob("*/*")):
            data = path.read_bytes()
            hlen = struct.unpack_from("<I", data, len(data) - TRAILER)[0]
            entries = read_header(path, bytes.fromhex(path.name), reader.cipher)
            blobs = [Blob(e.type, e.id, e.offset, e.length, data[e.offset + 1] == COMP_ZSTD_DICT)
                     for e in sorted(entries, key=lambda e: e.offset) if not e.member]
            by_offset = {b.offset: b for b in blobs}
            for e in entries:
                if e.member:
                    by_offset[e.offset].members.append(e.id)
            packs.append(PackMap(path, path.name, len(data), len(data) - TRAILER - hlen, hlen, blobs))
        m = VaultMap(packs)
        users: dict[bytes, set[str]] = defaultdict(set)
        for conv in reader.conversations():
            for serial in conv.version_serials:
                v = reader.version(serial)
                label = f"{conv.org}/{conv.provider}/{conv.native_id}/{v.name}"
                with reader.index.env.begin() as txn:
                    raw = txn.get(U64.pack(serial), db=reader.index.db["versions"])
                m.manifest_of[reader.crypto.open("versions", U64.pack(serial), raw)] = label
                m.files_of[label] = set()
                for f in v.files:
                    fl = f"{label}/{f.name}"
                    m.files_of[label].add(fl)
                    m.version_of[fl] = label
                    m.contents[fl] = reader.read_file(f)
                    for cid, _n in f.chunks:
                        users[cid].add(fl)
        m.users = dict(users)
    return m


def expected(m: VaultMap, pack: PackMap, offset: int) -> tuple[set[str], set[str]]:
    """``(files, versions)`` a flipped byte at ``offset`` of ``pack`` makes unreadable."""
    b = pack.blob_at(offset)
    if b is None:
        return set(), set()  # magic, header, trailer: the index still locates every blob
    if b.type == 4:  # the zstd dictionary: every blob compressed with it
        hit = [x for p in m.packs for x in p.blobs if x.dict_compressed]
    else:
        hit = [b]
    ids = [i for x in hit for i in x.chunk_ids()]
    versions = {m.manifest_of[i] for i in ids if i in m.manifest_of}
    files = {f for i in ids for f in m.users.get(i, ())}
    files = {f for f in files if not any(f.startswith(v + "/") for v in versions)}
    return files, versions


# -- pack trials ------------------------------------------------------------------------------------


@dataclass
class PackTrial:
    cls: str
    pack: str
    offset: int
    detected: bool
    named_pack: bool
    affected_ok: bool
    quick_detected: bool | None = None
    detail: str = ""


def flip(path: Path, offset: int, mask: int) -> int:
    """XOR one byte of ``path`` in place; returns the original byte."""
    with open(path, "r+b") as f:
        f.seek(offset)
        old = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([old ^ mask]))
    return old


def put_back(path: Path, offset: int, byte: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(bytes([byte]))


def pack_trial(vault, m: VaultMap, pack: PackMap, offset: int, mask: int, cls: str,
               quick: bool = False) -> PackTrial:
    """Flip one byte, ``check(read_data=True)`` (and the quick check when ``quick``), restore."""
    old = flip(pack.path, offset, mask)
    try:
        report = vault.check(read_data=True)
        quick_found = (not vault.check().ok) if quick else None
    finally:
        put_back(pack.path, offset, old)
    files, versions = expected(m, pack, offset)
    named = any(d.pack == pack.pack_id for d in report.damage)
    got_files, got_versions = report.affected_files(), report.affected_versions()
    ok = got_files == files and got_versions == versions
    detail = "" if ok else (f"expected files {sorted(files)} versions {sorted(versions)}, "
                            f"got {sorted(got_files)} {sorted(got_versions)}")
    return PackTrial(cls, pack.pack_id, offset, not report.ok, named, ok, quick_found, detail)


def pack_offsets(m: VaultMap, rng: random.Random, per_class: int) -> list[tuple[PackMap, int, str]]:
    """``per_class`` random offsets of every region class, spread over random packs."""
    by_class: dict[str, list[tuple[PackMap, int, int]]] = defaultdict(list)
    for p in m.packs:
        for cls, start, end in p.regions():
            by_class[cls].append((p, start, end))
            if cls == "blob body":
                b = p.blob_at(start)
                by_class[f"blob body ({_kind(b.type)})"].append((p, start, end))
    out = []
    for cls, regions in sorted(by_class.items()):
        if cls == "blob body":
            continue
        for _ in range(per_class):
            p, start, end = rng.choice(regions)
            out.append((p, rng.randrange(start, end), cls))
    return out


def _kind(t: int) -> str:
    return {1: "data", 2: "manifest", 4: "dictionary", 5: "group"}.get(t, str(t))


# -- LMDB trials -------------------------------------------------------------------------------------


def dump_index(index_dir: Path) -> tuple[str, object]:
    """Read every record of the index in a forked child: ``("ok", {db: [(k, v)]})``,
    ``("error", name)`` or ``("signal", number)``."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            faulthandler.disable()
            os.close(r)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            import lmdb
            try:
                env = lmdb.open(os.fspath(index_dir), max_dbs=12, readonly=True, lock=True,
                                subdir=True, map_size=1 << 40)
                out = {}
                with env.begin() as txn:
                    for name in DB_NAMES:
                        db = env.open_db(name.encode(), txn=txn, create=False)
                        out[name] = [(bytes(k), bytes(v)) for k, v in txn.cursor(db=db)]
                        if any(txn.get(k, db=db) != v for k, v in out[name]):
                            raise LookupError("a record cannot be found by its key")
                env.close()
                data = pickle.dumps(("ok", out))
            except Exception as e:  # noqa: BLE001
                data = pickle.dumps(("error", type(e).__name__))
            with os.fdopen(w, "wb") as f:
                f.write(data)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _pid, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "signal", os.WTERMSIG(status)
    return pickle.loads(data)


def diff_index(a: dict, b: dict) -> list[tuple[str, str]]:
    """``(database, what)`` for every record that differs between two dumps."""
    out = []
    for name in DB_NAMES:
        x, y = dict(a[name]), dict(b[name])
        for k in set(x) | set(y):
            if x.get(k) != y.get(k):
                out.append((name, k.decode("ascii", "replace")[:16] if name == "meta" else ""))
    return out


def harmless_undetectable(a: dict, b: dict) -> bool:
    """True when every difference is one no check can see and no reader is hurt by:
    a source record's stamps MAC (the source is re-read), the commit generation, or a
    serial counter moved up (serials are skipped)."""
    for name in DB_NAMES:
        x, y = dict(a[name]), dict(b[name])
        for k in set(x) | set(y):
            if x.get(k) == y.get(k):
                continue
            if name == "sources" and k in x and k in y and x[k][32:] == y[k][32:]:
                continue
            if name == "meta" and k == b"generation" and k in y and len(y[k]) == 8:
                continue
            if (name == "meta" and k.startswith(b"next:") and k in x and k in y
                    and len(y[k]) == 8 and y[k] > x[k]):
                continue
            return False
    return True


def compact_index(vault) -> None:
    """Replace the vault's index by a compacted copy (every page live), so random flips
    land on records rather than on free pages."""
    import lmdb
    idx = vault.root / "index"
    tmp = vault.root / "index.compact"
    tmp.mkdir(mode=0o700)
    env = lmdb.open(os.fspath(idx), max_dbs=12, readonly=True, lock=True, map_size=1 << 40)
    env.copy(os.fspath(tmp), compact=True)
    env.close()
    shutil.copyfile(tmp / "data.mdb", idx / "data.mdb")
    shutil.rmtree(tmp)


@dataclass
class LmdbTrial:
    offset: int
    outcome: str          # "unchanged", "changed", "unreadable", "crash"
    detected: bool
    harmless: bool
    clean_check: bool     # check returned a report (it never crashed or raised)
    diff: list = field(default_factory=list)


def lmdb_trial(vault, original: bytes, base: dict, offset: int, mask: int) -> LmdbTrial:
    """Write ``original`` with one byte flipped as ``index/data.mdb``, classify, and run
    ``check`` (in this process: it must cope). The caller restores ``original``."""
    data = bytearray(original)
    data[offset] ^= mask
    (vault.root / "index" / "data.mdb").write_bytes(bytes(data))
    kind, value = dump_index(vault.root / "index")
    diff, harmless = [], False
    if kind == "ok":
        if value == base:
            outcome = "unchanged"
        else:
            outcome, diff = "changed", diff_index(base, value)
            harmless = harmless_undetectable(base, value)
    else:
        outcome = "crash" if kind == "signal" else "unreadable"
    try:
        report = vault.check()
        clean = True
        detected = not report.ok
    except Exception:  # noqa: BLE001 - counted as a failure of check
        clean, detected = False, False
    return LmdbTrial(offset, outcome, detected, harmless, clean, diff)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
