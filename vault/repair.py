"""Rebuilding the LMDB index from the packs (``aifs check --repair``).

Packs hold everything the index is needed for: every chunk (located by the pack headers),
every version manifest (a ``MANIFEST`` blob whose meta carries the version's serial, name,
capture time, conversation serial, provider, org, native id, title and times, and whose
file list carries the chunk ids) and the zstd dictionaries. What the packs do not hold:

* source-state records (``sources``: what each source file looked like last time). Without
  them the next collect re-reads every source once and, finding the content unchanged,
  stores nothing new;
* a conversation's ``deleted_upstream_at`` mark (the next collect or import sets it again).

When the old index is still readable (it is first read in a child process, since a damaged
LMDB file can crash its reader), both are carried over where they still fit, and so are
the serial counters, so serials of versions lost with a pack are not handed out again.

Steps (:func:`repair`, under the vault's writer lock):

1. :func:`scan`: open every pack's encrypted header (a pack whose header does not open is
   skipped and reported; its blobs are still used where the old index locates them), then
   read every blob back: decrypt, decompress, recompute its id. A blob stored twice (an
   interrupted collect may leave a copy behind) is indexed at an intact copy.
2. :func:`plan`: choose the versions. Serials are never reused by committed work, but a
   collect killed before its commit leaves packs whose serials the next collect hands out
   again. Such leftovers are left out: a version the old index's conversation record does
   not list (when that record is readable); else one captured more than ``CLOCK_SLACK``
   seconds before a lower serial (committed serials follow capture time); and when two
   manifests claim one version serial, or one conversation serial is claimed for two
   identities, the later capture wins (it was committed after the other was lost). Only
   the uncommitted tail of the very last collect cannot be told from committed work
   without the old index, and is kept. A version whose chunks are in no pack is dropped
   and reported; one with damaged chunks is kept and reported (its other files still
   read).
3. :func:`write_index`: write a fresh LMDB environment beside ``index/`` with the original
   serials (so mount inodes stay the same; org and provider folders are numbered in the
   order their first conversation was, as the writer numbered them), then swap it in with
   one ``renameat2(RENAME_EXCHANGE)`` (two renames where that is unavailable) and keep the
   old one as ``index.damaged-<UTC time>``.

A mount that was running keeps reading the old index until it is remounted.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import shutil
import struct
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import lmdb
import zstandard

from . import manifest as M
from .blob import DATA, DICTIONARY, GROUP, MANIFEST, PACK_HEADER, BlobCipher, make_dictionary
from .errors import IntegrityError, VaultError
from .index import (CHUNK_LOC, DB_NAMES, FORMAT, MEMBER_LOC, PACK_REC, U32, U64, IndexCrypto,
                    MAP_SIZE, open_env, pack_loc, unpack_loc)
from .keys import mac
from .lock import WriterLock
from .model import text_bytes
from .pack import LastGroup, PackEntry, fsync_dir, member_slice, read_header

log = logging.getLogger(__name__)


# -- scanning the packs ------------------------------------------------------------------------


@dataclass
class PackFile:
    """One pack file found under ``packs/``: ``entries`` from its header (``None`` when the
    header did not open, ``error`` then says why). ``mtime_ns`` orders copies of a blob."""

    path: Path
    pack_id: bytes
    size: int
    mtime_ns: int
    entries: list[PackEntry] | None
    error: str | None = None

    @property
    def name(self) -> str:
        return f"pack {self.pack_id.hex()}"


@dataclass
class FoundVersion:
    """A version manifest found in a pack: its ``meta`` (JSON keys of vault/manifest.py),
    the manifest blob id, and ``files`` as ``[(name, (chunk_id, ...))]``."""

    meta: dict
    blob_id: bytes
    files: list[tuple[str, tuple[bytes, ...]]]

    @property
    def serial(self) -> int:
        return int(self.meta["serial"])

    @property
    def conv_serial(self) -> int:
        return int(self.meta["conversation_serial"])

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.meta["provider"], self.meta["org"], self.meta["native_id"])

    @property
    def captured(self) -> float:
        return float(self.meta["captured_at"])

    @property
    def label(self) -> str:
        """``org/provider/native_id/version``."""
        provider, org, native = self.identity
        return f"{org}/{provider}/{native}/{self.meta['name']}"


@dataclass
class Scan:
    """What the packs hold.

    ``located``: blob id → ``(pack index, entry)`` of its best copy (an intact one when
    ``verified`` and there is one). ``damaged``: blob id → why no intact copy exists (only
    blobs that were read). ``dictionaries``: zstd dictionary id → ``(blob id, dict)``.
    ``versions``: every manifest that read back. ``lost_manifests``: ``(pack name, blob id,
    reason)`` of manifests that did not (which version they held is unknown).
    """

    packs: list[PackFile] = field(default_factory=list)
    located: dict[bytes, tuple[int, PackEntry]] = field(default_factory=dict)
    damaged: dict[bytes, str] = field(default_factory=dict)
    dictionaries: dict[int, tuple[bytes, object]] = field(default_factory=dict)
    versions: list[FoundVersion] = field(default_factory=list)
    lost_manifests: list[tuple[str, bytes, str]] = field(default_factory=list)
    blobs_read: int = 0
    verified: bool = False


def _pack_files(root: Path) -> list[tuple[Path, bytes]]:
    out = []
    for p in sorted((root / "packs").glob("*/*")):
        name = p.name
        if len(name) != 32 or p.parent.name != name[:2] or not p.is_file():
            continue
        try:
            out.append((p, bytes.fromhex(name)))
        except ValueError:
            continue
    return out


def _open_blob(cipher: BlobCipher, id_key: bytes, e: PackEntry, sealed: bytes, where: str) -> bytes:
    """Open one blob and recompute its id (DATA, MANIFEST, DICTIONARY are MACs of their
    plaintext). Raises :class:`IntegrityError` / :class:`VaultError`."""
    plain = cipher.open(e.type, e.id, sealed, e.raw_len, where)
    if e.type in (DATA, MANIFEST, DICTIONARY) and (mac(id_key, plain) != e.id
                                                    or len(plain) != e.raw_len):
        raise IntegrityError("blob does not match its id", where)
    return plain


def scan(vault, verify: bool = True, extra_locations: dict[bytes, list[PackEntry]] | None = None,
         progress: Callable[[int, int], None] | None = None) -> Scan:
    """Read what every pack under ``vault.root/packs`` holds (never raises for damage).

    ``verify``: read every blob back (else only headers, dictionaries and manifests).
    ``extra_locations``: pack id → entries to use for packs whose header does not open
    (where the old index located their blobs). ``progress(done, total)`` per pack.
    """
    root = vault.root
    cipher = BlobCipher(vault.keys.blob)
    id_key = vault.keys.chunk_id
    out = Scan(verified=verify)
    extra_locations = extra_locations or {}
    for path, pack_id in _pack_files(root):
        st = path.stat()
        try:
            entries, error = read_header(path, pack_id, cipher), None
        except VaultError as e:
            entries, error = extra_locations.get(pack_id), str(e)
        out.packs.append(PackFile(path, pack_id, st.st_size, st.st_mtime_ns, entries, error))
    # Newest copy first: after an interrupted collect the committed copy is the later one.
    order = sorted(range(len(out.packs)), key=lambda i: (-out.packs[i].mtime_ns, out.packs[i].path.name))
    copies: dict[bytes, list[tuple[int, PackEntry]]] = defaultdict(list)
    for i in order:
        for e in out.packs[i].entries or ():
            if e.type not in (PACK_HEADER, GROUP):  # a group is known by its members
                copies[e.id].append((i, e))

    fds: dict[int, int] = {}
    last_group = LastGroup(cipher)  # members are read in pack order: one open per group

    def read_sealed(fd: int, e: PackEntry, where: str) -> bytes:
        out.blobs_read += 1
        sealed = os.pread(fd, e.length, e.offset)
        if len(sealed) != e.length:
            raise IntegrityError("the pack ends inside this blob", where)
        return sealed

    def read_copy(i: int, e: PackEntry) -> bytes:
        fd = fds.get(i)
        if fd is None:
            if len(fds) >= 64:
                os.close(fds.pop(next(iter(fds))))
            fd = fds[i] = os.open(out.packs[i].path, os.O_RDONLY)
        where = f"{out.packs[i].name}: blob {e.id.hex()[:16]}"
        if not e.member:
            return _open_blob(cipher, id_key, e, read_sealed(fd, e, where), where)
        plain = last_group.plaintext((i, e.offset), out.packs[i].pack_id, e.offset,
                                     lambda: read_sealed(fd, e, where), where)
        return member_slice(id_key, plain, e.id, e.inner, e.raw_len, where)

    def first_intact(bid: bytes, use) -> None:
        why = "not read"
        for i, e in copies[bid]:
            try:
                plain = read_copy(i, e)
            except (VaultError, OSError) as err:
                why = f"{out.packs[i].name}: {err}"
                continue
            out.located[bid] = (i, e)
            use(plain)
            return
        out.located[bid] = copies[bid][0]
        out.damaged[bid] = why

    # 1. zstd dictionaries (other blobs may need them to decompress)
    for bid, cs in copies.items():
        if cs[0][1].type == DICTIONARY:
            def use_dict(plain: bytes, bid=bid) -> None:
                try:
                    d = make_dictionary(plain)
                except zstandard.ZstdError:
                    out.damaged[bid] = "not a zstd dictionary"
                    return
                out.dictionaries.setdefault(d.dict_id(), (bid, d))
            first_intact(bid, use_dict)

    def resolve(dict_id: int):
        found = out.dictionaries.get(dict_id)
        if found is None:
            raise IntegrityError(f"blob needs zstd dictionary {dict_id}, which no pack holds intact")
        return found[1]

    cipher.dictionaries = resolve
    try:
        _read_all(out, copies, first_intact, verify, progress)
    finally:
        for fd in fds.values():
            os.close(fd)
    return out


def _read_all(out: Scan, copies, first_intact, verify: bool, progress) -> None:
    # 2. manifests, 3. data (pack by pack, so each pack file is read front to back)
    for bid, cs in copies.items():
        if cs[0][1].type != MANIFEST:
            continue

        def use_manifest(plain: bytes, bid=bid) -> None:
            try:
                meta, files = M.decode(plain, f"manifest {bid.hex()[:16]}")
                v = FoundVersion(meta, bid, [(f.name, tuple(c[0] for c in f.chunks)) for f in files])
                v.serial, v.conv_serial, v.identity, v.captured, v.meta["name"]
            except (VaultError, KeyError, TypeError, ValueError) as e:
                out.damaged[bid] = f"manifest does not parse: {e}"
                return
            out.versions.append(v)
        first_intact(bid, use_manifest)
        if bid in out.damaged:
            i, _e = out.located[bid]
            out.lost_manifests.append((out.packs[i].name, bid, out.damaged[bid]))
    data = [bid for bid, cs in copies.items() if cs[0][1].type == DATA]
    if verify:
        data.sort(key=lambda b: (copies[b][0][0], copies[b][0][1].offset, copies[b][0][1].inner))
        for n, bid in enumerate(data):
            first_intact(bid, lambda _plain: None)
            if progress and n % 256 == 0:
                progress(n, len(data))
    else:
        for bid in data:
            out.located[bid] = copies[bid][0]
    if progress:
        progress(len(data), len(data))


# -- choosing what to index ---------------------------------------------------------------------


@dataclass
class Plan:
    """What the rebuilt index holds. ``conversations``: conversation serial → record (the
    JSON the writer stores); ``versions``: version serial → :class:`FoundVersion`;
    ``lost``: labels of versions dropped (chunks in no pack) with the reason; ``leftovers``:
    versions from interrupted collects that were never committed (dropped); ``damaged``:
    ``(version label, file name)`` kept although a chunk of it is damaged."""

    conversations: dict[int, dict] = field(default_factory=dict)
    versions: dict[int, FoundVersion] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    damaged: list[tuple[str, str]] = field(default_factory=list)


CLOCK_SLACK = 2.0  # seconds a capture may precede an older serial's (clock steps) and count


def _committed(v: FoundVersion, old: "OldIndex | None") -> bool | None:
    """Whether the old index's (authenticated) conversation record lists ``v``; None when
    there is no such record to ask."""
    rec = old.convs.get(v.conv_serial) if old is not None else None
    if not rec:
        return None
    return any(x[0] == v.serial and x[1] == v.meta["name"] for x in rec.get("versions", []))


def plan(found: Scan, old: "OldIndex | None" = None) -> Plan:
    """Choose the versions and build the conversation records (see the module docstring).

    ``old``: the readable part of the index being replaced; a version its conversation
    record does not list was never committed (left by an interrupted collect)."""
    out = Plan()
    verdict = {v.blob_id: _committed(v, old) for v in found.versions}
    by_serial: dict[int, FoundVersion] = {}
    for v in found.versions:
        if verdict[v.blob_id] is False:
            out.leftovers.append(v.label)
            continue
        other = by_serial.get(v.serial)
        if other is None or v.captured > other.captured:
            if other is not None and other.blob_id != v.blob_id:
                out.leftovers.append(other.label)
            by_serial[v.serial] = v
        elif other.blob_id != v.blob_id:
            out.leftovers.append(v.label)
    # committed work was captured in serial order: a version captured before an older
    # serial's capture belongs to a collect whose serials were handed out again
    by_conv: dict[int, list[FoundVersion]] = defaultdict(list)
    newest = float("-inf")
    for serial in sorted(by_serial):
        v = by_serial[serial]
        if verdict[v.blob_id] is None and v.captured < newest - CLOCK_SLACK:
            out.leftovers.append(v.label)
            continue
        newest = max(newest, v.captured)
        by_conv[v.conv_serial].append(v)
    # one identity per conversation serial: the latest capture's
    for serial, vs in list(by_conv.items()):
        newest = max(vs, key=lambda v: v.captured)
        keep = [v for v in vs if v.identity == newest.identity]
        out.leftovers += [v.label for v in vs if v.identity != newest.identity]
        by_conv[serial] = keep
    # one conversation serial per identity: the one captured last
    by_ident: dict[tuple[str, str, str], int] = {}
    for serial, vs in sorted(by_conv.items()):
        ident, last = vs[0].identity, max(v.captured for v in vs)
        other = by_ident.get(ident)
        if other is None:
            by_ident[ident] = serial
        elif last > max(v.captured for v in by_conv[other]):
            out.leftovers += [v.label for v in by_conv[other]]
            by_ident[ident] = serial
        else:
            out.leftovers += [v.label for v in vs]
    for ident, serial in sorted(by_ident.items(), key=lambda kv: kv[1]):
        kept: list[FoundVersion] = []
        names = set()
        for v in sorted(by_conv[serial], key=lambda v: v.serial):
            if v.meta["name"] in names:
                out.leftovers.append(v.label)
                continue
            missing = sum(1 for _n, cids in v.files for c in cids if c not in found.located)
            if missing:
                out.lost.append(f"{v.label}: {missing} of its chunks are in no pack")
                continue
            for name, cids in v.files:
                if any(c in found.damaged for c in cids):
                    out.damaged.append((v.label, name))
            kept.append(v)
            names.add(v.meta["name"])
        if not kept:
            continue
        last = kept[-1].meta
        out.conversations[serial] = {
            "serial": serial, "provider": ident[0], "org": ident[1], "native_id": ident[2],
            "provider_serial": 0, "versions": [[v.serial, v.meta["name"], v.captured] for v in kept],
            "deleted_upstream_at": None, "title": last.get("title", ""),
            "created_at": last.get("created_at"), "updated_at": last.get("updated_at"),
            "last_captured_at": kept[-1].captured}
        for v in kept:
            out.versions[v.serial] = v
    return out


# -- the old index: what can be carried over ------------------------------------------------------


@dataclass
class OldIndex:
    """Readable parts of the index being replaced (every part optional)."""

    packs: dict[int, tuple[bytes, int]] = field(default_factory=dict)
    chunks: dict[bytes, tuple] = field(default_factory=dict)
    convs: dict[int, dict] = field(default_factory=dict)
    sources: dict[bytes, bytes] = field(default_factory=dict)
    meta: dict[bytes, bytes] = field(default_factory=dict)


def read_old_index(vault) -> tuple[OldIndex | None, str | None]:
    """The readable records of the current index, or ``(None, why)`` when it cannot be
    read safely (checked in a child process first, see :func:`vault.check.probe_index`)."""
    from .check import probe_index

    why = probe_index(vault.root)
    if why is not None:
        return None, why
    old = OldIndex()
    crypto = IndexCrypto(vault.keys.index, vault.keys.index_mac)
    env = lmdb.open(os.fspath(vault.root / "index"), max_dbs=len(DB_NAMES) + 2,
                    map_size=MAP_SIZE, subdir=True, readonly=True, lock=True, readahead=False)
    try:
        with env.begin() as txn:
            def items(name: str):
                try:
                    db = env.open_db(name.encode(), txn=txn, create=False)
                except lmdb.Error:
                    return []
                return [(bytes(k), bytes(v)) for k, v in txn.cursor(db=db)]
            for k, v in items("packs"):
                if len(k) == 4 and len(v) == PACK_REC.size:
                    old.packs[U32.unpack(k)[0]] = PACK_REC.unpack(v)
            for k, v in items("chunks"):
                if len(k) == 32 and len(v) in (CHUNK_LOC.size, MEMBER_LOC.size):
                    old.chunks[k] = unpack_loc(v)
            for k, v in items("convs"):
                try:
                    old.convs[U64.unpack(k)[0]] = json.loads(crypto.open("convs", k, v))
                except (VaultError, ValueError, struct.error):
                    continue
            old.sources = {k: v for k, v in items("sources") if len(k) == 32 and len(v) == 40}
            old.meta = dict(items("meta"))
    except lmdb.Error as e:
        return None, f"the index is damaged ({type(e).__name__})"
    finally:
        env.close()
    return old, None


def old_locations(old: OldIndex | None) -> dict[bytes, list[PackEntry]]:
    """pack id → the entries the old index knew in it (for packs whose header is damaged)."""
    if old is None:
        return {}
    ids = {no: pid for no, (pid, _size) in old.packs.items()}
    out: dict[bytes, list[PackEntry]] = defaultdict(list)
    for cid, (no, off, length, raw_len, btype, inner) in old.chunks.items():
        if no in ids:
            out[ids[no]].append(PackEntry(btype, cid, off, length, raw_len, inner))
    return out


# -- writing the new index ------------------------------------------------------------------------


@dataclass
class RepairReport:
    """What :func:`repair` did. Lists hold one line each; ``old_index`` is where the
    replaced index was moved (``None`` if there was none)."""

    packs: int = 0
    packs_skipped: list[str] = field(default_factory=list)
    chunks: int = 0
    conversations: int = 0
    versions: int = 0
    lost: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    old_index_readable: bool = False
    old_index_problem: str | None = None
    sources_kept: int = 0
    old_index: Path | None = None

    @property
    def complete(self) -> bool:
        """True when nothing stored was found lost or damaged."""
        return not (self.packs_skipped or self.lost or self.damaged)


def _conversation_key(provider: str, org: str, native_id: str) -> bytes:
    # the same identity bytes as vault.writer.conversation_key (kept in step by a test)
    return text_bytes("\0".join((provider, org, native_id)))


def write_index(vault, found: Scan, chosen: Plan, old: OldIndex | None, path: Path) -> int:
    """Write a complete index for ``chosen`` into a new LMDB environment at ``path``.
    Returns how many source records were carried over from ``old``."""
    crypto = IndexCrypto(vault.keys.index, vault.keys.index_mac)
    seal = crypto.seal
    env = open_env(path, readonly=False)
    kept_sources = 0
    try:
        with env.begin(write=True) as txn:
            db = {name: env.open_db(name.encode(), txn=txn, create=True) for name in DB_NAMES}
            # packs: numbered in file-name order; every pack whose blobs are indexed
            used = sorted({i for i, _e in found.located.values()},
                          key=lambda i: found.packs[i].path.name)
            numbers = {i: n for n, i in enumerate(used, start=1)}
            for i, n in numbers.items():
                p = found.packs[i]
                txn.put(U32.pack(n), PACK_REC.pack(p.pack_id, p.size), db=db["packs"])
            for bid, (i, e) in found.located.items():
                txn.put(bid, pack_loc(numbers[i], e.offset, e.length, e.raw_len, e.type, e.inner),
                        db=db["chunks"])
            # directories, in the order the writer allocated them
            orgs: dict[bytes, int] = {}
            provs: dict[tuple[int, bytes], int] = {}
            for serial, rec in sorted(chosen.conversations.items()):
                org = text_bytes(rec["org"])
                if org not in orgs:
                    orgs[org] = len(orgs) + 1
                    k = b"o" + U32.pack(orgs[org])
                    txn.put(k, seal("dirs", k, org), db=db["dirs"])
                    txn.put(crypto.mac(b"o" + org), U32.pack(orgs[org]), db=db["dir_names"])
                pkey = (orgs[org], text_bytes(rec["provider"]))
                if pkey not in provs:
                    provs[pkey] = len(provs) + 1
                    value = U32.pack(pkey[0]) + pkey[1]
                    k = b"p" + U32.pack(provs[pkey])
                    txn.put(k, seal("dirs", k, value), db=db["dirs"])
                    txn.put(crypto.mac(b"p" + value), U32.pack(provs[pkey]), db=db["dir_names"])
                rec["provider_serial"] = provs[pkey]
                before = old.convs.get(serial) if old else None
                if before and (before.get("provider"), before.get("org"), before.get("native_id")) \
                        == (rec["provider"], rec["org"], rec["native_id"]):
                    rec["deleted_upstream_at"] = before.get("deleted_upstream_at")
                k = U64.pack(serial)
                txn.put(k, seal("convs", k, json.dumps(rec).encode()), db=db["convs"])
                txn.put(crypto.mac(_conversation_key(rec["provider"], rec["org"], rec["native_id"])),
                        k, db=db["conv_ids"])
                txn.put(U32.pack(rec["provider_serial"]) + k, b"", db=db["conv_dir"])
            for serial, v in chosen.versions.items():
                k = U64.pack(serial)
                txn.put(k, seal("versions", k, v.blob_id), db=db["versions"])
            # source records: only where the conversation's versions are exactly as before
            if old:
                for k, v in old.sources.items():
                    cs = U64.unpack(v[32:40])[0]
                    rec, before = chosen.conversations.get(cs), old.convs.get(cs)
                    if cs == 0 or (rec and before and [x[0] for x in rec["versions"]]
                                   == [x[0] for x in before.get("versions", [])]):
                        txn.put(k, v, db=db["sources"])
                        kept_sources += 1
            # meta: format, counters, dictionaries, generation
            meta = db["meta"]
            txn.put(b"format", U32.pack(FORMAT), db=meta)
            old_meta = old.meta if old else {}

            def old_u64(key: bytes) -> int:
                raw = old_meta.get(key)
                return U64.unpack(raw)[0] if raw is not None and len(raw) == 8 else 0

            highest = {"conversation": max(chosen.conversations, default=0),
                       "version": max(chosen.versions, default=0),
                       "pack": len(numbers), "org": len(orgs), "provider": len(provs),
                       "zdict": max(found.dictionaries, default=0)}
            for kind, top in highest.items():
                key = b"next:" + kind.encode()
                nxt = top + 1
                if kind in ("conversation", "version", "zdict"):
                    nxt = max(nxt, min(old_u64(key), top + (1 << 20)))  # never hand out lost serials
                txn.put(key, U64.pack(nxt), db=meta)
            for dict_id, (bid, _d) in sorted(found.dictionaries.items()):
                if bid in found.located and bid not in found.damaged:
                    txn.put(b"zdict:" + U32.pack(dict_id), bid, db=meta)
            usable = [d for d, (bid, _x) in found.dictionaries.items() if bid not in found.damaged]
            if usable:
                txn.put(b"zdict:current", U32.pack(max(usable)), db=meta)
            txn.put(b"generation", U64.pack(old_u64(b"generation") + 1), db=meta)
        env.sync(True)
    finally:
        env.close()
    for f in path.iterdir():
        os.chmod(f, 0o600)
    fsync_dir(path)
    return kept_sources


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False if unsupported here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD = -100
    if fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), os.fspath(a))


def swap_in(root: Path, new: Path) -> Path | None:
    """Make ``new`` the vault's ``index/``; the old one (if any) becomes
    ``index.damaged-<UTC time>``, returned."""
    index = root / "index"
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    kept = root / f"index.damaged-{stamp}"
    n = 1
    while kept.exists():
        kept = root / f"index.damaged-{stamp}.{n}"
        n += 1
    if not os.path.lexists(index):
        os.rename(new, index)
        fsync_dir(root)
        return None
    if _exchange(new, index):
        os.rename(new, kept)  # `new` now holds the old index
    else:
        os.rename(index, kept)
        os.rename(new, index)
    fsync_dir(root)
    return kept


def repair(vault, progress: Callable[[int, int], None] | None = None) -> RepairReport:
    """Rebuild ``vault``'s index from its packs and swap it in (see the module docstring).

    Holds the writer lock throughout: raises :class:`~vault.errors.VaultLocked` if a
    collect is running. No reader of this vault may be open in this process (LMDB
    environments are shared per path, see :class:`vault.index.Index`). Raises ``OSError`` if the new index cannot be written (the old one
    is then left in place). Damage found is reported, not raised.
    """
    report = RepairReport()
    lock = WriterLock(vault.root / "lock")
    try:
        old, why = read_old_index(vault)
        report.old_index_readable, report.old_index_problem = old is not None, why
        found = scan(vault, verify=True, extra_locations=old_locations(old), progress=progress)
        for p in found.packs:
            if p.error is not None:
                how = ("its blobs are used where the old index locates them" if p.entries
                       else "its blobs cannot be located")
                report.packs_skipped.append(f"{p.name}: header unreadable ({p.error}); {how}")
        chosen = plan(found, old)
        report.packs = sum(1 for p in found.packs if p.entries)
        report.chunks = len(found.located)
        report.conversations = len(chosen.conversations)
        report.versions = len(chosen.versions)
        report.lost = chosen.lost + [f"{pack}: manifest {bid.hex()[:16]} unreadable ({why}); "
                                     "the version it held is lost"
                                     for pack, bid, why in found.lost_manifests]
        if old is not None:  # versions the old index listed that no pack gives back whole
            known = {v.label for v in chosen.versions.values()} | {
                line.split(": ", 1)[0] for line in chosen.lost}
            for rec in old.convs.values():
                for vs in rec.get("versions", []):
                    label = f"{rec.get('org')}/{rec.get('provider')}/{rec.get('native_id')}/{vs[1]}"
                    if vs[0] not in chosen.versions and label not in known:
                        report.lost.append(f"{label}: its manifest is in no pack (the old "
                                           "index listed it)")
        report.leftovers = chosen.leftovers
        report.damaged = [f"{label}/{name}: a chunk of it is damaged" for label, name in chosen.damaged]
        new = vault.root / f"index.rebuild-{os.urandom(4).hex()}"
        try:
            report.sources_kept = write_index(vault, found, chosen, old, new)
            report.old_index = swap_in(vault.root, new)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
        log.info("index rebuilt: %d conversations, %d versions, %d chunks",
                 report.conversations, report.versions, report.chunks)
    finally:
        lock.release()
    return report
