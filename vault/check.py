"""Verifying a vault: the index, the packs, and with ``read_data`` every blob's bytes.

The index, always. It is first read end to end in a child process (:func:`probe_index`): a
damaged LMDB file can crash the process that reads it (SIGBUS, SIGSEGV), and a truncated or
deleted one must not be recreated empty by opening it. Then: every encrypted record
decrypts (their AAD binds each to its database and key); every conversation is found by
its identity MAC and listed in its provider folder, every folder by its name MAC; every
version's manifest is found and agrees with its conversation record; every chunk a version
needs is indexed with the right length; the serial counters are above every serial in
use; source records name existing conversations; the zstd dictionaries are indexed.

The packs, always: every pack the index names exists with the recorded size, its encrypted
header opens and lists each indexed blob at the indexed place. With ``read_data`` also:
every blob is decrypted, decompressed and its id recomputed (keyed BLAKE3; for a chunk
inside a GROUP blob, the group is opened once and each member's slice is MACed), and magic,
blobs, header and trailer are shown to tile the whole file, so a change to any byte of a
pack is found. (Without ``read_data`` a changed byte inside a blob goes unnoticed.)

When the index cannot be read, the packs are still checked on their own (headers, and with
``read_data`` every blob) and the report says what ``aifs check --repair`` could rebuild.

Every problem is a :class:`Damage` naming the pack (or the index) and what it affects:
``files`` (``org/provider/native_id/version/file``) and whole ``versions``
(``org/provider/native_id/version``) that can no longer be read.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import signal
import struct
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import lmdb

from . import manifest as M
from .blob import DATA, DICTIONARY, GROUP, MANIFEST
from .errors import IntegrityError, VaultError
from .index import DB_NAMES, FORMAT, MAP_SIZE, PACK_REC, U32, U64, unpack_loc
from .keys import mac
from .model import text_bytes
from .pack import MAGIC, TRAILER, LastGroup, PackEntry, member_slice, pack_path, read_header

log = logging.getLogger(__name__)

COUNTERS = ("conversation", "version", "pack", "org", "provider", "zdict")
MAX_VERSION_SERIAL = (1 << 36) - 1  # what the mount's inode layout can number (aifs/tree.py)


@dataclass
class Damage:
    """One problem: ``what`` is damaged (one line, naming the pack or ``index``), ``pack``
    its pack id in hex (``None`` for the index), and what can no longer be read: ``files``
    and whole ``versions`` (labels as in the module docstring). ``index`` is True when the
    index itself is damaged (``aifs check --repair`` rebuilds it from the packs)."""

    what: str
    pack: str | None = None
    files: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    index: bool = False
    unknown: bool = False  # what it affects cannot be told (nothing locates its contents)

    def summary(self) -> str:
        """``affects …`` in words: counts of files, whole versions and conversations."""
        if self.unknown and not self.files and not self.versions:
            return "what it affects cannot be told"
        if not self.files and not self.versions:
            return "the index needs rebuilding" if self.index else "no stored file is affected"
        convs = {"/".join(x.split("/")[:3]) for x in self.files + self.versions}
        parts = []
        if self.versions:
            parts.append(_plural(len(self.versions), "whole version"))
        if self.files:
            parts.append(_plural(len(self.files), "file"))
        return f"affects {' and '.join(parts)} of {_plural(len(convs), 'conversation')}"

    def as_dict(self) -> dict:
        """JSON-able form (``aifs check --json``)."""
        return {"what": self.what, "pack": self.pack, "index": self.index,
                "unknown": self.unknown, "versions": self.versions, "files": self.files}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass
class CheckReport:
    """``damage``: the problems found; ``notes``: harmless findings (e.g. packs left by an
    interrupted collect); ``stats``: counts checked. ``problems`` is ``damage`` as lines."""

    damage: list[Damage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        return [f"{d.what}; {d.summary()}" for d in self.damage]

    @property
    def ok(self) -> bool:
        return not self.damage

    @property
    def index_damaged(self) -> bool:
        return any(d.index for d in self.damage)

    def affected_files(self) -> set[str]:
        """Every file label named by any problem."""
        return {f for d in self.damage for f in d.files}

    def affected_versions(self) -> set[str]:
        """Every version label named as wholly unreadable by any problem."""
        return {v for d in self.damage for v in d.versions}

    def as_dict(self) -> dict:
        """JSON-able form (``aifs check --json``)."""
        return {"ok": self.ok, "index_damaged": self.index_damaged,
                "problems": [d.as_dict() for d in self.damage], "notes": self.notes,
                "stats": self.stats}


# -- the index, read in a child process -----------------------------------------------------------


def _walk_index(path: str, file_size: int) -> str | None:
    """Read every record of every database, and look each one up again by its key (a damaged
    branch page hides records from lookups but not from a scan); None if all reads back,
    else why not."""
    env = lmdb.open(path, max_dbs=len(DB_NAMES) + 2, map_size=MAP_SIZE, subdir=True,
                    readonly=True, lock=True, readahead=False)
    try:
        info, psize = env.info(), env.stat()["psize"]
        if (info["last_pgno"] + 1) * psize > file_size:
            return f"index file data.mdb is truncated ({file_size} bytes, it needs " \
                   f"{(info['last_pgno'] + 1) * psize})"
        with env.begin() as txn:
            for name in DB_NAMES:
                try:
                    db = env.open_db(name.encode(), txn=txn, create=False)
                except lmdb.NotFoundError:
                    return f"index database {name!r} is missing"
                prev = None
                for k, v in txn.cursor(db=db):
                    k = bytes(k)
                    if prev is not None and k <= prev:
                        return f"index database {name!r} is out of order"
                    prev = k
                    if txn.get(k, db=db) != v:  # the search path (branch pages) is intact
                        return f"index database {name!r} cannot find its own records"
        return None
    finally:
        env.close()


def probe_index(root: Path) -> str | None:
    """Read the whole LMDB index of the vault at ``root`` in a child process (forked; a
    fresh interpreter when other threads run). Returns None if it reads back cleanly, else
    one line saying what is wrong (missing, truncated, damaged, or reading it crashed)."""
    path = root / "index"
    data = path / "data.mdb"
    if not path.is_dir():
        return "the index directory is missing"
    if not data.is_file():
        return "index file data.mdb is missing"
    size = data.stat().st_size
    if size < 2 * 4096:
        return f"index file data.mdb is truncated ({size} bytes)"
    if threading.active_count() > 1:
        import subprocess
        res = subprocess.run([sys.executable, "-m", "vault.check", os.fspath(path), str(size)],
                             capture_output=True, text=True, check=False,
                             cwd=Path(__file__).resolve().parents[1])
        if res.returncode < 0:
            return f"reading the index crashed ({signal.Signals(-res.returncode).name}): " \
                   "its file is damaged"
        return res.stdout.strip() or (None if res.returncode == 0 else "the index is damaged")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report through the pipe, never return into the caller's code
        msg = ""
        try:
            faulthandler.disable()  # a crash here is the finding, not something to print
            os.close(r)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            msg = _walk_index(os.fspath(path), size) or ""
        except lmdb.Error as e:
            msg = f"the index is damaged ({type(e).__name__})"
        except BaseException as e:  # noqa: BLE001 - anything else is damage too
            msg = f"the index cannot be read ({type(e).__name__})"
        finally:
            try:
                os.write(w, msg.encode()[:4000])
            finally:
                os._exit(0)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 4096)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _pid, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return f"reading the index crashed ({signal.Signals(os.WTERMSIG(status)).name}): " \
               "its file is damaged"
    return b"".join(chunks).decode(errors="replace") or None


# -- checking -----------------------------------------------------------------------------------------


def check(vault, read_data: bool = False,
          progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Check ``vault`` (an unlocked :class:`vault.vault.Vault`); never raises for damage,
    reports it. ``progress(done, total)`` is called per pack."""
    report = CheckReport()
    why = probe_index(vault.root)
    if why is not None:
        report.damage.append(Damage(f"index: {why}", index=True))
        _check_packs_alone(vault, report, read_data)
        return report
    try:
        reader = vault.reader()
    except (VaultError, lmdb.Error) as e:
        report.damage.append(Damage(f"index: cannot be opened ({type(e).__name__}: {e})", index=True))
        _check_packs_alone(vault, report, read_data)
        return report
    try:
        _Checker(vault, reader, report, read_data, progress).run()
    except lmdb.Error as e:
        report.damage.append(Damage(f"index: reading it failed ({type(e).__name__})", index=True))
    except (VaultError, OSError, ValueError, KeyError, TypeError, struct.error) as e:
        # records that decrypt but hold nonsense: report, never stop with a traceback
        log.debug("check stopped", exc_info=True)
        report.damage.append(Damage(f"index: a record is damaged in a way that stopped the "
                                    f"check ({type(e).__name__})", index=True))
    finally:
        reader.close()
    if report.index_damaged:
        from .repair import plan, scan
        found = scan(vault, verify=False)
        report.notes.append(_outlook(found, plan(found)))
    return report


def _outlook(found, chosen) -> str:
    return (f"`aifs check --repair` would rebuild the index with {len(chosen.conversations)} "
            f"conversations and {len(chosen.versions)} versions from "
            f"{sum(1 for p in found.packs if p.entries)} packs"
            + (f"; {len(chosen.lost)} versions would be lost" if chosen.lost else ""))


def _check_packs_alone(vault, report: CheckReport, read_data: bool) -> None:
    """The index is unusable: check what the packs hold, and say what a repair would give."""
    from .repair import plan, scan

    found = scan(vault, verify=read_data)
    chosen = plan(found)
    report.stats.update(packs=len(found.packs), chunks=len(found.located),
                        conversations=len(chosen.conversations), versions=len(chosen.versions),
                        blobs_read=found.blobs_read)
    users: dict[bytes, list[str]] = defaultdict(list)
    for v in found.versions:
        for name, cids in v.files:
            for c in cids:
                users[c].append(f"{v.label}/{name}")
    for p in found.packs:
        if p.error is not None:
            report.damage.append(Damage(f"{p.name}: header unreadable ({p.error}); without the "
                                        "index its blobs cannot be located", p.pack_id.hex(),
                                        unknown=True))
    by_pack: dict[int, list[bytes]] = defaultdict(list)
    for bid in found.damaged:
        by_pack[found.located[bid][0]].append(bid)
    manifests = {bid: pack for pack, bid, _why in found.lost_manifests}
    for i, bids in sorted(by_pack.items()):
        p = found.packs[i]
        files = sorted({u for b in bids for u in users.get(b, [])})
        lost = [b for b in bids if b in manifests]
        what = f"{p.name}: {_plural(len(bids), 'blob')} damaged ({_ids(bids)}: {found.damaged[bids[0]]})"
        if lost:
            what += f"; {_plural(len(lost), 'version manifest')} among them (which versions is unknown)"
        report.damage.append(Damage(what, p.pack_id.hex(), files))
    report.notes.append(_outlook(found, chosen))


def _ids(bids: list[bytes]) -> str:
    shown = ", ".join(b.hex()[:16] for b in bids[:3])
    return shown + (f" and {len(bids) - 3} more" if len(bids) > 3 else "")


class _PackTrouble:
    """Damage found in one pack: reasons, and the blobs that cannot be read."""

    def __init__(self, name: str, pack_hex: str) -> None:
        self.name, self.pack_hex = name, pack_hex
        self.reasons: list[str] = []
        self.blobs: dict[bytes, str] = {}


class _Checker:
    def __init__(self, vault, reader, report: CheckReport, read_data: bool, progress) -> None:
        self.vault, self.reader, self.report = vault, reader, report
        self.read_data, self.progress = read_data, progress
        self.crypto = reader.crypto
        self.trouble: dict[int, _PackTrouble] = {}
        self.users: dict[bytes, list[tuple[str, str]]] = defaultdict(list)  # chunk -> (version, file)
        self.manifest_of: dict[bytes, str] = {}                   # manifest blob -> version label
        self.dict_of: dict[bytes, int] = {}                       # dictionary blob -> dict id

    def index_problem(self, what: str, versions: list[str] | None = None) -> None:
        self.report.damage.append(Damage(f"index: {what}", None, [], versions or [], index=True))

    # -- reading the index ---------------------------------------------------------------------

    def run(self) -> None:
        idx = self.reader.index
        with idx.env.begin() as txn:
            raw = {name: [(bytes(k), bytes(v)) for k, v in txn.cursor(db=idx.db[name])]
                   for name in DB_NAMES}
        self.packs: dict[int, tuple[bytes, int]] = {}
        for k, v in raw["packs"]:
            if len(k) != 4 or len(v) != PACK_REC.size:
                self.index_problem("a pack record is malformed")
                continue
            self.packs[U32.unpack(k)[0]] = PACK_REC.unpack(v)
        self.chunks: dict[bytes, tuple[int, int, int, int, int, int]] = {}
        for k, v in raw["chunks"]:
            try:
                if len(k) != 32:
                    raise IntegrityError("bad key", "index")
                self.chunks[k] = unpack_loc(v)
            except IntegrityError:
                self.index_problem("a chunk record is malformed")
        self.report.stats.update(packs=len(self.packs), chunks=len(self.chunks),
                                 conversations=len(raw["convs"]), versions=len(raw["versions"]))
        self._dirs(raw)
        self._conversations(raw)
        self._versions(raw)
        self._meta(raw)
        self._sources(raw)
        self._packs()
        self._emit()

    def _dirs(self, raw) -> None:
        self.orgs: dict[int, bytes] = {}
        self.providers: dict[int, tuple[int, bytes]] = {}
        for k, v in raw["dirs"]:
            try:
                plain = self.crypto.open("dirs", k, v)
                if k[:1] == b"o" and len(k) == 5:
                    self.orgs[U32.unpack(k[1:])[0]] = plain
                elif k[:1] == b"p" and len(k) == 5 and len(plain) >= 4:
                    self.providers[U32.unpack(k[1:])[0]] = (U32.unpack(plain[:4])[0], plain[4:])
                else:
                    raise IntegrityError("unknown folder record")
            except VaultError:
                self.index_problem(f"folder record {k[:1].hex()}/{k[1:].hex()} unreadable (altered)")
        names = {}
        for serial, name in self.orgs.items():
            names[self.crypto.mac(b"o" + name)] = serial
        for serial, (org, slug) in self.providers.items():
            if org not in self.orgs:
                self.index_problem(f"provider folder #{serial} belongs to a missing org #{org}")
            names[self.crypto.mac(b"p" + U32.pack(org) + slug)] = serial
        found = {k: (U32.unpack(v)[0] if len(v) == 4 else None) for k, v in raw["dir_names"]}
        for key, serial in names.items():
            if found.get(key) != serial:
                self.index_problem(f"folder #{serial} cannot be found by its name")
        if len(found) != len(names):
            extra = len(set(found) - set(names))
            if extra:
                self.index_problem(f"{_plural(extra, 'folder name record')} match no folder")

    def _conversations(self, raw) -> None:
        self.convs: dict[int, dict] = {}
        self.vlabel: dict[int, str] = {}
        self.vconv: dict[int, int] = {}
        for k, v in raw["convs"]:
            serial = U64.unpack(k)[0] if len(k) == 8 else -1
            try:
                rec = json.loads(self.crypto.open("convs", k, v))
                for key in ("provider", "org", "native_id", "provider_serial", "versions"):
                    rec[key]
            except (VaultError, ValueError, KeyError, TypeError):
                self.index_problem(f"conversation record #{serial} unreadable (altered)")
                continue
            self.convs[serial] = rec
            label = f"{rec['org']}/{rec['provider']}/{rec['native_id']}"
            for vs in rec["versions"]:
                self.vlabel[vs[0]] = f"{label}/{vs[1]}"
                self.vconv[vs[0]] = serial
        ids = {self.crypto.mac(text_bytes("\0".join((r["provider"], r["org"], r["native_id"])))): s
               for s, r in self.convs.items()}
        found = {k: (U64.unpack(v)[0] if len(v) == 8 else None) for k, v in raw["conv_ids"]}
        listed = set()
        for k, _v in raw["conv_dir"]:
            listed.add((U32.unpack(k[:4])[0], U64.unpack(k[4:])[0]) if len(k) == 12 else None)
        for key, serial in ids.items():
            rec = self.convs[serial]
            label = f"{rec['org']}/{rec['provider']}/{rec['native_id']}"
            if found.get(key) != serial:
                self.index_problem(f"conversation {label} cannot be found by its id "
                                   "(the next collect would store it again as a new one)")
            if (rec["provider_serial"], serial) not in listed:
                self.index_problem(f"conversation {label} is not listed in its provider folder")
            if rec["provider_serial"] not in self.providers:
                self.index_problem(f"conversation {label} is in a missing provider folder")
            elif self.providers[rec["provider_serial"]] != (
                    next((s for s, n in self.orgs.items() if n == text_bytes(rec["org"])), -1),
                    text_bytes(rec["provider"])):
                self.index_problem(f"conversation {label} is in the wrong provider folder")
        if set(found) - set(ids):
            self.index_problem(f"{_plural(len(set(found) - set(ids)), 'conversation id record')} "
                               "match no conversation")
        stray = {x for x in listed if x is None or x[1] not in self.convs}
        if stray:
            self.index_problem(f"{_plural(len(stray), 'folder listing record')} name no conversation")

    def _versions(self, raw) -> None:
        have = set()
        for k, v in raw["versions"]:
            serial = U64.unpack(k)[0] if len(k) == 8 else -1
            have.add(serial)
            label = self.vlabel.get(serial, f"version #{serial}")
            try:
                bid = self.crypto.open("versions", k, v)
            except VaultError:
                self.index_problem(f"version record #{serial} unreadable (altered)", [label])
                continue
            if serial not in self.vconv:
                self.index_problem(f"version #{serial} belongs to no conversation")
            loc = self.chunks.get(bid)
            if loc is None:
                self.index_problem(f"the manifest of version {label} is not in the index", [label])
                continue
            self.manifest_of[bid] = label
            if loc[4] != MANIFEST:
                self.index_problem(f"the manifest of version {label} is indexed as another kind of blob",
                                   [label])
                continue
            try:
                version = M.to_version(self.reader.chunk(bid), f"version {serial}")
            except (VaultError, OSError, ValueError, struct.error) as e:
                self._blob_trouble(loc[0], bid, str(e) or type(e).__name__)
                continue
            conv = self.convs.get(self.vconv.get(serial, -1))
            if (version.serial != serial or version.conversation_serial != self.vconv.get(serial)
                    or (conv and (version.meta.get("provider"), version.meta.get("org"),
                                  version.meta.get("native_id"))
                        != (conv["provider"], conv["org"], conv["native_id"]))
                    or label.rsplit("/", 1)[-1] != version.name):
                self.index_problem(f"version {label} does not match its manifest", [label])
            for f in version.files:
                if sum(c[1] for c in f.chunks) != f.size:
                    self.index_problem(f"{label}/{f.name}: chunk lengths do not add up to its size",
                                       [label])
                for cid, length in f.chunks:
                    self.users[cid].append((label, f.name))
                    loc = self.chunks.get(cid)
                    if loc is None:
                        self.report.damage.append(Damage(
                            f"index: chunk {cid.hex()[:16]} of {label}/{f.name} is not in the index",
                            None, [f"{label}/{f.name}"], index=True))
                    elif loc[3] != length or loc[4] != DATA:
                        self.report.damage.append(Damage(
                            f"index: chunk {cid.hex()[:16]} of {label}/{f.name} is recorded wrongly",
                            None, [f"{label}/{f.name}"], index=True))
        for serial, label in sorted(self.vlabel.items()):
            if serial not in have:
                self.index_problem(f"version {label} (#{serial}) is missing from the index", [label])

    def _meta(self, raw) -> None:
        meta = dict(raw["meta"])
        fmt = meta.pop(b"format", None)
        if fmt is None or len(fmt) != 4 or U32.unpack(fmt)[0] != FORMAT:
            self.index_problem("the format record is missing or altered")
        gen = meta.pop(b"generation", None)
        if gen is None or len(gen) != 8:
            self.index_problem("the commit generation is missing or altered")
        in_use = {"conversation": max(self.convs, default=0),
                  "version": max(self.vlabel, default=0), "pack": max(self.packs, default=0),
                  "org": max(self.orgs, default=0), "provider": max(self.providers, default=0),
                  "zdict": 0}
        zdicts: dict[int, bytes] = {}
        current = meta.pop(b"zdict:current", None)
        for k in [k for k in meta if k.startswith(b"zdict:")]:
            v = meta.pop(k)
            if len(k) != 10 or len(v) != 32:
                self.index_problem("a zstd dictionary record is malformed")
                continue
            zdicts[U32.unpack(k[6:])[0]] = v
        in_use["zdict"] = max(zdicts, default=0)
        for dict_id, bid in zdicts.items():
            loc = self.chunks.get(bid)
            if loc is None or loc[4] != DICTIONARY:
                self.index_problem(f"zstd dictionary {dict_id} is not in the index "
                                   "(blobs compressed with it cannot be read)")
            else:
                self.dict_of[bid] = dict_id
        if current is not None and (len(current) != 4 or U32.unpack(current)[0] not in zdicts):
            self.index_problem("the current zstd dictionary record names no dictionary")
        for kind in COUNTERS:
            v = meta.pop(b"next:" + kind.encode(), None)
            top = in_use[kind]
            if v is None or len(v) != 8:
                if top:
                    self.index_problem(f"the {kind} serial counter is missing "
                                       "(the next collect would reuse serials)")
                continue
            nxt = U64.unpack(v)[0]
            if nxt <= top:
                self.index_problem(f"the {kind} serial counter ({nxt}) is not above the serials "
                                   f"in use (up to {top}); the next collect would reuse them")
            elif kind == "version" and nxt > MAX_VERSION_SERIAL:
                self.index_problem(f"the version serial counter ({nxt}) is past what a mount can number")
            elif nxt > top + 1 and kind != "zdict":
                self.report.notes.append(f"the {kind} serial counter skips {nxt - top - 1} serials "
                                         "(harmless)")
        for k in meta:
            self.index_problem(f"unknown record {k[:24]!r} in the index's meta database")

    def _sources(self, raw) -> None:
        bad = 0
        for k, v in raw["sources"]:
            if len(k) != 32 or len(v) != 40:
                bad += 1
                continue
            serial = U64.unpack(v[32:40])[0]
            if serial and serial not in self.convs:
                bad += 1
        if bad:
            self.index_problem(f"{_plural(bad, 'source record')} name no conversation "
                               "(the next collect re-reads those sources)")

    # -- the packs ------------------------------------------------------------------------------

    def _blob_trouble(self, pack_no: int, bid: bytes, why: str) -> None:
        t = self.trouble.get(pack_no)
        if t is None:
            pid = self.packs.get(pack_no, (None, 0))[0]
            name = f"pack {pid.hex()}" if pid else f"pack #{pack_no} (not in the index)"
            t = self.trouble[pack_no] = _PackTrouble(name, pid.hex() if pid else None)
        t.blobs.setdefault(bid, why)

    def _reason(self, pack_no: int, why: str) -> None:
        self._blob_trouble_pack(pack_no).reasons.append(why)

    def _blob_trouble_pack(self, pack_no: int) -> _PackTrouble:
        if pack_no not in self.trouble:
            pid = self.packs[pack_no][0]
            self.trouble[pack_no] = _PackTrouble(f"pack {pid.hex()}", pid.hex())
        return self.trouble[pack_no]

    def _packs(self) -> None:
        by_pack: dict[int, list[bytes]] = defaultdict(list)
        for cid, loc in self.chunks.items():
            by_pack[loc[0]].append(cid)
        for no, cids in by_pack.items():
            if no not in self.packs:
                for cid in cids:
                    self._blob_trouble(no, cid, "its pack is not in the index")
        known_files = set()
        items = sorted(self.packs.items())
        for n, (no, (pack_id, size)) in enumerate(items):
            if self.progress:
                self.progress(n, len(items))
            path = pack_path(self.vault.root, pack_id)
            known_files.add(path.name)
            self._one_pack(no, pack_id, size, path, by_pack.get(no, []))
        if self.progress:
            self.progress(len(items), len(items))
        for p in sorted((self.vault.root / "packs").glob("*/*")):
            if p.name in known_files:
                continue
            try:  # packs appear only whole (renamed into place), so this one was damaged later
                read_header(p, bytes.fromhex(p.name), self.reader.cipher)
            except (VaultError, ValueError) as e:
                self.report.damage.append(Damage(
                    f"pack {p.name}: not in the index and its header is unreadable ({e}); "
                    "what it holds cannot be located", p.name, unknown=True))
                continue
            self.report.notes.append(f"pack {p.name} is not referenced by the index "
                                     "(left by an interrupted collect; harmless)")

    def _one_pack(self, no: int, pack_id: bytes, size: int, path: Path, cids: list[bytes]) -> None:
        try:
            actual = os.stat(path).st_size
        except FileNotFoundError:
            self._reason(no, "is missing")
            for cid in cids:
                self._blob_trouble(no, cid, "pack missing")
            return
        if actual != size:
            self._reason(no, f"is {actual} bytes, the index says {size} "
                         + ("(truncated)" if actual < size else "(grown)"))
        for cid in cids:  # blobs past the end are gone whatever the header says
            loc = self.chunks[cid]
            if loc[1] + loc[2] > actual:
                self._blob_trouble(no, cid, "past the end of the pack")
        try:
            entries = read_header(path, pack_id, self.reader.cipher)
            header = {e.id: e for e in entries}
        except VaultError as e:
            self._reason(no, f"header unreadable ({e}); the index still locates its blobs")
            if self.read_data:
                loc = self.chunks
                self._read_blobs(no, pack_id, path,
                                 [PackEntry(loc[c][4], c, *loc[c][1:4], loc[c][5]) for c in cids])
            return
        for cid in cids:
            e, loc = header.get(cid), self.chunks[cid]
            if e is None or (e.offset, e.length, e.raw_len, e.type, e.inner) != loc[1:6]:
                self._blob_trouble(no, cid, "not where the index says")
        if self.read_data:
            self._tiling(no, path, entries, actual)
            self._read_blobs(no, pack_id, path, entries)

    def _tiling(self, no: int, path: Path, entries: list[PackEntry], size: int) -> None:
        """Every byte of the pack belongs to the magic, a listed blob, the header or the trailer."""
        with open(path, "rb") as f:
            f.seek(size - TRAILER.size)
            hlen, _end = TRAILER.unpack(f.read(TRAILER.size))
        pos = len(MAGIC)
        for e in sorted((e for e in entries if not e.member), key=lambda e: e.offset):
            if e.offset != pos:
                self._reason(no, f"has {abs(e.offset - pos)} bytes no blob accounts for")
                return
            pos += e.length
        if pos != size - TRAILER.size - hlen:
            self._reason(no, "has bytes between its last blob and its header")

    def _read_blobs(self, no: int, pack_id: bytes, path: Path, entries: list[PackEntry]) -> None:
        """Open every blob of ``entries``; a group once, however many members it has."""
        id_key = self.vault.keys.chunk_id
        cipher = self.reader.cipher
        group = LastGroup(cipher)
        with open(path, "rb") as f:

            def read_sealed(e: PackEntry, where: str) -> bytes:
                sealed = os.pread(f.fileno(), e.length, e.offset)
                if len(sealed) != e.length:
                    raise IntegrityError("the pack ends inside it", where)
                self.report.stats["blobs_read"] = self.report.stats.get("blobs_read", 0) + 1
                return sealed

            for e in sorted(entries, key=lambda e: (e.offset, e.inner)):
                t = self.trouble.get(no)
                if t is not None and e.id in t.blobs:
                    continue
                where = f"blob {e.id.hex()[:16]}"
                try:
                    if e.member or e.type == GROUP:
                        plain = group.plaintext(e.offset, pack_id, e.offset,
                                                lambda e=e, where=where: read_sealed(e, where), where)
                        if e.member:
                            member_slice(id_key, plain, e.id, e.inner, e.raw_len, where)
                        continue
                    plain = cipher.open(e.type, e.id, read_sealed(e, where), e.raw_len, where)
                except (VaultError, struct.error) as err:
                    self._blob_trouble(no, e.id, str(err))
                    continue
                if e.type in (DATA, MANIFEST, DICTIONARY) and (mac(id_key, plain) != e.id
                                                              or len(plain) != e.raw_len):
                    self._blob_trouble(no, e.id, "does not match its id")

    # -- the report --------------------------------------------------------------------------------

    def _emit(self) -> None:
        lost = {self.manifest_of[b] for t in self.trouble.values() for b in t.blobs
                if b in self.manifest_of}
        lost |= {v for d in self.report.damage for v in d.versions}
        for no, t in sorted(self.trouble.items()):
            files, versions, notes = set(), set(), []
            for bid in t.blobs:
                if bid in self.manifest_of:
                    versions.add(self.manifest_of[bid])
                elif bid in self.dict_of:
                    notes.append(f"zstd dictionary {self.dict_of[bid]} among them (blobs "
                                 "compressed with it cannot be read either)")
                files.update(self.users.get(bid, ()))
            # a file of a version that cannot be read at all is not listed again
            files = {f"{v}/{name}" for v, name in files if v not in lost}
            parts = list(t.reasons)
            if t.blobs:
                first = next(iter(t.blobs.values()))
                parts.append(f"{_plural(len(t.blobs), 'blob')} unreadable "
                             f"({_ids(list(t.blobs))}: {first})")
            parts += notes
            self.report.damage.append(Damage(f"{t.name}: " + "; ".join(parts), t.pack_hex,
                                             sorted(files), sorted(versions)))


if __name__ == "__main__":  # the probe's fallback: python -m vault.check INDEX_DIR SIZE
    try:
        print(_walk_index(sys.argv[1], int(sys.argv[2])) or "")
    except lmdb.Error as e:
        print(f"the index is damaged ({type(e).__name__})")
        sys.exit(1)
