"""The write session: stores snapshots as deduplicated, encrypted chunks and commits them.

Storing one file (a job on a 2-thread pool): FastCDC chunks → chunk id = keyed BLAKE3 →
consecutive chunks the vault lacks are gathered into groups of about ``GROUP_TARGET`` bytes,
each zstd-compressed as one frame (with the vault's dictionary once it has one); the file's
sha256 is computed on the way (for ``meta.json`` and for the append shortcut). The main
thread encrypts each group (AES-GCM, bound to its place in the pack: vault/pack.py) as it
writes it to the current pack, in item order, and records versions; with
:meth:`WriteSession.store_many` the files of the next items are processed meanwhile. A group
of one chunk is stored as a plain ``DATA`` blob.

Why groups: on the benchmark corpus, zstd over 256 KiB groups is both smaller (ratio 0.242
vs 0.251 with the same 1 MiB dictionary) and faster (≈ 1.3x) than over each 34 KB chunk
alone, and a pack holds 30x fewer blobs. A read of one chunk decompresses its group
(≤ ``GROUP_TARGET`` + one chunk), which vault/reader.py caches.

Append shortcut: transcripts grow by appending. If the previous version of the same file
is a prefix of the new one (checked by hashing the prefix and comparing with the stored
sha256), its chunks are kept and only the bytes after its last stable boundary are chunked;
the old tail chunk is reused as well when it is at least ``MIN_SIZE`` long, otherwise it is
re-chunked together with the appended bytes. New bytes stored per grown file: about the
appended bytes plus at most one small tail chunk.

Commit order: pack written to a temporary name → fsync → rename → fsync dir → one LMDB write
transaction (the commit point: chunks, packs, versions, conversations, source state,
generation + 1). A crash leaves the last commit intact; packs written after it are garbage.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterable

import lmdb

from . import manifest as M
from .blob import DATA, DICTIONARY, MANIFEST, BlobCipher, make_dictionary, train_dictionary
from .chunker import MIN_SIZE, make_chunker
from .errors import StorageError, VaultError
from .index import (PACK_REC, U32, U64, Index, IndexCrypto, generation, Dictionaries,
                    pack_loc, read_blob)
from .keys import mac
from .lock import WriterLock
from .model import (ConversationSnapshot, FileEntry, RawFile, SourceStamp, StoreResult,
                    text_bytes)
from .pack import TARGET_SIZE, PackWriter
from .sourcefile import open_regular

log = logging.getLogger(__name__)

COMMIT_INTERVAL = 5.0      # seconds: the longest a finished item waits before it is committed
COMMIT_PACKS = 8           # finished packs that make a commit due sooner (~100 MB of work)
WINDOW = 16 << 20          # bytes of a file chunked at once (bounds memory, not file size)
READ_BLOCK = 1 << 20
LOOKAHEAD = 8              # items whose files are being processed while one is finished
DICT_SAMPLE_BYTES = 4 << 20  # new data seen before a vault trains its zstd dictionary (4 MiB
                             # train a 1 MiB one as well as 8 or 16 on the benchmark corpus)
GROUP_TARGET = 256 << 10   # raw bytes of new chunks compressed together (one GROUP blob)


def version_name(captured_at: float, taken: Iterable[str]) -> str:
    """``YYYY-MM-DDTHH-MM-SSZ`` of ``captured_at`` (UTC), with ``.N`` added if taken."""
    base = time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime(captured_at))
    taken = set(taken)
    name, n = base, 1
    while name in taken:
        name = f"{base}.{n}"
        n += 1
    return name


def conversation_key(provider: str, org: str, native_id: str) -> bytes:
    """The identity of a conversation, before MAC: ``provider NUL org NUL native_id``."""
    return text_bytes("\0".join((provider, org, native_id)))


@dataclass
class _Group:
    """New chunks of one file, compressed together: ``members`` ``[(chunk id, raw_len)]`` in
    order, ``comp``/``body`` as :meth:`vault.blob.BlobCipher.compress` returns them, and the
    plaintexts to train the zstd dictionary on (empty once it is sampled enough)."""

    members: list[tuple[bytes, int]]
    comp: int
    body: bytes
    samples: list[bytes]


@dataclass
class _FileResult:
    """What a file job returns: the file's entry, the groups of chunks the vault lacked,
    and the bytes it read."""

    entry: FileEntry
    new: list[_Group]
    read: int


@dataclass
class _Prepared:
    """One snapshot whose file jobs are running (see :meth:`WriteSession._prepare`)."""

    snap: ConversationSnapshot
    collector: str | None
    key: str | None
    stamps: tuple[SourceStamp, ...]
    jobs: list[Future]
    latest: tuple[int, list[FileEntry]] | None  # (version serial, its files) when one exists


@dataclass
class _Pending:
    """Everything stored since the last commit (not yet visible in the index)."""

    chunks: dict[bytes, tuple] = field(default_factory=dict)  # id -> pack_no, off, len, raw_len, type
    packs: dict[int, tuple[bytes, int]] = field(default_factory=dict)
    convs: dict[int, dict[str, Any]] = field(default_factory=dict)
    conv_ids: dict[bytes, int] = field(default_factory=dict)
    conv_dir: set[tuple[int, int]] = field(default_factory=set)
    versions: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)  # serial -> body, blob id
    dirs: dict[bytes, bytes] = field(default_factory=dict)        # dirs key -> plaintext value
    dir_names: dict[bytes, int] = field(default_factory=dict)
    sources: dict[bytes, bytes] = field(default_factory=dict)     # key -> stamps mac | conv serial
    meta: dict[bytes, bytes] = field(default_factory=dict)        # meta db key -> value
    drop_sources: set[bytes] = field(default_factory=set)

    def __bool__(self) -> bool:
        return any((self.chunks, self.packs, self.convs, self.conv_ids, self.conv_dir,
                    self.versions, self.dirs, self.dir_names, self.sources, self.meta,
                    self.drop_sources))


class WriteSession:
    """Exclusive writer. Use as a context manager; :meth:`close` commits what is pending.

    Raises :class:`VaultLocked` on construction if another process writes.
    """

    def __init__(self, vault) -> None:
        self.vault = vault
        self._lock = WriterLock(vault.root / "lock")
        try:
            self.index = Index(vault.root / "index", readonly=False)
        except BaseException:
            self._lock.release()
            raise
        keys = vault.keys
        self.crypto = IndexCrypto(keys.index, keys.index_mac)
        self.cipher = BlobCipher(keys.blob)
        self._dictionaries = self.cipher.dictionaries = Dictionaries(self.index, vault.root,
                                                                     self.cipher)
        self._id_key = keys.chunk_id
        self._cdc = make_chunker(keys.chunker_seed)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="aifs-seal")
        self._pack: PackWriter | None = None
        self._pack_no: int | None = None
        self._pending = _Pending()
        self._broken = False
        self._zdict = None
        self._samples: list[bytes] | None = []
        self._sample_bytes = 0
        self._train: Future | None = None
        self._load_dictionary()
        self._finished_packs = 0
        self._commits = 0
        self._prefixes: dict[str, bytes] = {}
        self._source_keys: dict[tuple[str, str], bytes] = {}
        self._last_commit = time.monotonic()
        self._counters: dict[str, int] = {}
        self.bytes_stored = 0
        self._clean_stale_tmp()

    # -- context management ------------------------------------------------------------

    def __enter__(self) -> "WriteSession":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Everything pending belongs to fully stored items (a version is added only after
        # all its files), so even after an error or Ctrl-C committing it is safe and keeps
        # the work done so far.
        self.close(commit=True)

    def close(self, commit: bool = True) -> None:
        """Commit pending work (unless ``commit`` is false), then release everything.

        If committing fails, the partial pack is removed and the error propagates; the
        previous commit stays intact.
        """
        try:
            if commit and not self._broken:
                if self._train is not None:
                    self._train.exception()  # wait: a trained dictionary is worth keeping
                    self._adopt_dictionary()
                self.commit()
                if self._commits:
                    self._settle()
        finally:
            try:
                if self._pack is not None:
                    self._pack.abort()
                    self._pack = None
            finally:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self.index.close()
                self._lock.release()

    def _settle(self) -> None:
        """One more, tiny LMDB transaction after the last real commit (it rewrites the
        unchanged generation counter), so the pages that commit freed can be reused.

        LMDB reuses a page only once two newer transactions have committed after the one
        that freed it (the previous snapshot must stay intact for crash safety). A collect's
        last commit rewrites most pages it touches, so without this the next collect could
        reuse none of them and the index file grew by every page it touched (measured: 150 kB
        per 100 grown sessions in bench/compare.py's growth case, 20 kB with this)."""
        try:
            with self.index.env.begin(write=True) as txn:
                meta = self.index.db["meta"]
                txn.put(b"generation", U64.pack(generation(txn, meta)), db=meta)
        except lmdb.Error as e:  # nothing depends on it: the data is committed
            log.debug("settling the index after the last commit failed: %s", e)

    def _clean_stale_tmp(self) -> None:
        for tmp in (self.vault.root / "packs").glob(".tmp-*"):
            tmp.unlink(missing_ok=True)  # we hold the lock: nobody else is writing it

    # -- serials and lookups -------------------------------------------------------------

    def _serial(self, kind: str) -> int:
        if kind not in self._counters:
            with self.index.env.begin() as txn:
                raw = txn.get(b"next:" + kind.encode(), db=self.index.db["meta"])
            self._counters[kind] = U64.unpack(raw)[0] if raw else 1
        value = self._counters[kind]
        self._counters[kind] = value + 1
        return value

    def _get(self, db: str, key: bytes) -> bytes | None:
        with self.index.env.begin() as txn:
            raw = txn.get(key, db=self.index.db[db])
        self.index.touched()  # keeps the index's memory map out of the RSS (vault/index.py)
        return raw

    def _get_enc(self, db: str, key: bytes) -> bytes | None:
        raw = self._get(db, key)
        return None if raw is None else self.crypto.open(db, key, raw)

    def _conv_record(self, serial: int) -> dict[str, Any] | None:
        if serial in self._pending.convs:
            return self._pending.convs[serial]
        raw = self._get_enc("convs", U64.pack(serial))
        return None if raw is None else json.loads(raw)

    def _version_files(self, serial: int) -> list[FileEntry]:
        pending = self._pending.versions.get(serial)
        if pending is not None:
            return M.decode(pending[0])[1]
        bid = self._get_enc("versions", U64.pack(serial))
        if bid is None:
            return []
        return M.decode(read_blob(self.index, self.vault.root, self.cipher, bid,
                                  f"version {serial}"))[1]

    def _dir_serial(self, kind: bytes, name_key: bytes, value: bytes) -> int:
        mac = self.crypto.mac(kind + name_key)
        found = self._pending.dir_names.get(mac)
        if found is None:
            raw = self._get("dir_names", mac)
            found = U32.unpack(raw)[0] if raw else None
        if found is None:
            found = self._serial("org" if kind == b"o" else "provider")
            self._pending.dir_names[mac] = found
            self._pending.dirs[kind + U32.pack(found)] = value
        return found

    def _known_chunk(self, cid: bytes) -> bool:
        return cid in self._pending.chunks or self._get("chunks", cid) is not None

    # -- source state -------------------------------------------------------------------

    def _source_prefix(self, collector: str) -> bytes:
        prefix = self._prefixes.get(collector)
        if prefix is None:
            prefix = self._prefixes[collector] = self.crypto.mac(
                b"src-collector\0" + text_bytes(collector))[:8]
        return prefix

    def _source_key(self, collector: str, key: str) -> bytes:
        # kept for the session: an item's key is asked for when it is checked, recorded and
        # when the missing ones are marked (one MAC per item instead of five)
        skey = self._source_keys.get((collector, key))
        if skey is None:
            skey = self._source_keys[(collector, key)] = self._source_prefix(collector) + \
                self.crypto.mac(b"src\0" + text_bytes(collector) + b"\0" + text_bytes(key))[:24]
        return skey

    def mark_missing_sources(self, collector: str, seen_keys: Iterable[str],
                             when: float | None = None, *, not_after: float | None = None) -> int:
        """Flag ``deleted_upstream_at`` on every conversation this collector stored before
        whose item is not in ``seen_keys`` (its source is gone: e.g. Claude Code's 30-day
        cleanup). The conversation and all its versions stay. Their source records are
        dropped, so a source that comes back is read again and clears the flag.

        ``not_after`` (Unix seconds): leave alone a missing conversation last updated after
        it, because the listing is older than what is stored (an older data export imported
        after a newer one). Returns how many conversations were newly flagged."""
        prefix = self._source_prefix(collector)
        seen = {self._source_key(collector, k) for k in seen_keys}
        gone: list[tuple[bytes, int]] = []
        # conversations a present item still stores into: a gone record naming one of them
        # (a stale or damaged key) is dropped without flagging anything
        alive = {U64.unpack(v[32:40])[0] for v in self._pending.sources.values() if len(v) == 40}
        with self.index.env.begin() as txn:
            cur = txn.cursor(db=self.index.db["sources"])
            if cur.set_range(prefix):
                for k, v in cur:
                    if not k.startswith(prefix):
                        break
                    serial = U64.unpack(v[32:40])[0] if len(v) == 40 else 0
                    if bytes(k) in seen or bytes(k) in self._pending.sources:
                        alive.add(serial)
                    else:
                        gone.append((bytes(k), serial))
        flagged = 0
        for k, serial in gone:
            if serial in alive:
                self._pending.drop_sources.add(k)
                continue
            record = self._conv_record(serial) if serial else None
            if (not_after is not None and record is not None
                    and (record.get("updated_at") or 0) > not_after):
                continue
            self._pending.drop_sources.add(k)
            if record is not None and not record.get("deleted_upstream_at"):
                self._pending.convs[serial] = dict(record, deleted_upstream_at=when or time.time())
                flagged += 1
        return flagged

    def _stamps_mac(self, stamps: Iterable[SourceStamp]) -> bytes:
        text = "\n".join(f"{s.path}\0{s.ino}\0{s.size}\0{s.mtime_ns}\0{s.ctime_ns}" for s in stamps)
        return self.crypto.mac(b"stamps\0" + text_bytes(text))

    def source_unchanged(self, collector: str, key: str, stamps: Iterable[SourceStamp]) -> bool:
        """True if ``stamps`` equal what was recorded when this item was last stored.

        Costs one MAC and one LMDB read: no decryption, no parsing.
        """
        skey = self._source_key(collector, key)
        raw = self._pending.sources.get(skey)
        if raw is None:
            raw = self._get("sources", skey)
        return raw is not None and bytes(raw[:32]) == self._stamps_mac(stamps)

    def record_source(self, collector: str, key: str, stamps: Iterable[SourceStamp],
                      conversation_serial: int | None) -> None:
        """Remember ``stamps`` for an item (committed with the next commit)."""
        self._pending.sources[self._source_key(collector, key)] = (
            self._stamps_mac(stamps) + U64.pack(conversation_serial or 0))

    # -- storing -------------------------------------------------------------------------

    def store(self, snap: ConversationSnapshot, *, collector: str | None = None,
              key: str | None = None, stamps: Iterable[SourceStamp] = ()) -> StoreResult:
        """Store one snapshot; a new version only if some raw file's content changed.

        ``snap.org`` must be set (the runner fills in the default). With ``collector`` and
        ``key``, the item's ``stamps`` are recorded for :meth:`source_unchanged`.
        Raises ``OSError`` if a raw file cannot be read (nothing of this item is recorded).
        """
        return self._finish(self._prepare(snap, collector, key, tuple(stamps)))

    def store_many(self, jobs: Iterable[tuple[Any, ConversationSnapshot, str | None, str | None,
                                              tuple[SourceStamp, ...]]]):
        """Store many snapshots with files of consecutive items processed in parallel.

        ``jobs`` yields ``(tag, snapshot, collector, key, stamps)``; yields ``(tag, result)``
        in the same order, where ``result`` is a :class:`StoreResult` or the ``OSError`` /
        ``ValueError`` that failed that item (the others go on). Vault errors propagate.
        """
        window: deque = deque()
        for tag, snap, collector, key, stamps in jobs:
            try:
                window.append((tag, self._prepare(snap, collector, key, tuple(stamps))))
            except (OSError, ValueError) as e:
                window.append((tag, e))
            if len(window) > LOOKAHEAD:
                yield self._finish_tagged(*window.popleft())
        while window:
            yield self._finish_tagged(*window.popleft())

    def _finish_tagged(self, tag, prepared):
        if isinstance(prepared, Exception):
            return tag, prepared
        try:
            return tag, self._finish(prepared)
        except (OSError, ValueError) as e:
            return tag, e

    def _lookup(self, snap: ConversationSnapshot) -> tuple[bytes, int | None, dict | None]:
        ident = self.crypto.mac(conversation_key(snap.provider, snap.org, snap.native_id))
        serial = self._pending.conv_ids.get(ident)
        if serial is None:
            raw = self._get("conv_ids", ident)
            serial = U64.unpack(raw)[0] if raw else None
        return ident, serial, (self._conv_record(serial) if serial is not None else None)

    def _prepare(self, snap: ConversationSnapshot, collector, key, stamps) -> "_Prepared":
        """Start one snapshot: each raw file becomes one job on the worker pool."""
        if not snap.org:
            raise ValueError("snapshot org must be set before storing")
        _ident, _serial, record = self._lookup(snap)
        prev_files: dict[str, FileEntry] = {}
        latest = None
        if record and record["versions"]:
            vserial = record["versions"][-1][0]
            latest = (vserial, self._version_files(vserial))
            prev_files = {f.name: f for f in latest[1]}
        sampling = self._samples is not None and self._train is None
        jobs = []
        for f in sorted(snap.files, key=lambda f: f.name):
            if _size_of(f) > WINDOW:
                # A large file is chunked here, window by window, its new chunks written as
                # they come: memory stays bounded by the window, not by the file.
                done: Future = Future()
                try:
                    done.set_result(self._file_job(f, prev_files.get(f.name), self._zdict,
                                                   sampling, self._absorb))
                except Exception as e:  # noqa: BLE001 - reported by _finish, like a job's
                    done.set_exception(e)
                jobs.append(done)
            else:
                jobs.append(self._pool.submit(self._file_job, f, prev_files.get(f.name),
                                              self._zdict, sampling))
        return _Prepared(snap, collector, key, stamps, jobs, latest)

    def _absorb(self, new: list) -> None:
        """Write a window's new groups now (see :meth:`_prepare`)."""
        for group in new:
            self._write_group(group)
        new.clear()

    def _finish(self, p: "_Prepared") -> StoreResult:
        """Wait for one snapshot's file jobs, write its new chunks, record its version."""
        snap, stored_before, read = p.snap, self.bytes_stored, 0
        results, error = [], None
        for job in p.jobs:  # wait for every job, even after a failure
            try:
                results.append(job.result())
            except Exception as e:  # noqa: BLE001 - re-raised below, after the others
                error = error or e
        if error is not None:
            raise error
        entries: list[FileEntry] = []
        for res in results:
            for group in res.new:
                self._write_group(group)
            entries.append(res.entry)
            read += res.read
        collector, key, stamps = p.collector, p.key, p.stamps
        ident, serial, record = self._lookup(snap)  # again: an earlier item may have added it
        latest = []
        if record and record["versions"]:
            vserial = record["versions"][-1][0]
            files = (p.latest[1] if p.latest is not None and p.latest[0] == vserial
                     else self._version_files(vserial))  # read once, unless an earlier item
            latest = sorted(files, key=lambda f: f.name)  # stored a newer version since
        same = bool(latest) and ([(e.name, e.sha256) for e in entries]
                                 == [(f.name, f.sha256) for f in latest])
        if same:
            if record.get("deleted_upstream_at"):
                record = dict(record, deleted_upstream_at=None)
                self._pending.convs[serial] = record
            if collector is not None and key is not None:
                self.record_source(collector, key, stamps, serial)
            self._maybe_commit()
            return StoreResult("unchanged", read, self.bytes_stored - stored_before)

        status = "changed"
        if record is None:
            status = "new"
            org_name, prov_name = text_bytes(snap.org), text_bytes(snap.provider)
            org_serial = self._dir_serial(b"o", org_name, org_name)
            prov_serial = self._dir_serial(b"p", U32.pack(org_serial) + prov_name,
                                           U32.pack(org_serial) + prov_name)
            serial = self._serial("conversation")
            record = {"serial": serial, "provider": snap.provider, "org": snap.org,
                      "native_id": snap.native_id, "provider_serial": prov_serial,
                      "versions": [], "deleted_upstream_at": None}
            self._pending.conv_ids[ident] = serial
            self._pending.conv_dir.add((prov_serial, serial))
        captured = time.time()
        vserial = self._serial("version")
        vname = version_name(captured, (v[1] for v in record["versions"]))
        meta = {"serial": vserial, "conversation_serial": serial, "name": vname,
                "captured_at": captured, "provider": snap.provider, "org": snap.org,
                "native_id": snap.native_id, "title": snap.title,
                "created_at": snap.created_at, "updated_at": snap.updated_at,
                "source_path": snap.source_path, "links": dict(snap.links),
                "attributes": dict(snap.attributes), "warnings": list(snap.warnings)}
        body = M.encode(meta, entries)
        bid = self._blob_id(body)
        if bid not in self._pending.chunks:
            self._write_blob(MANIFEST, bid, self.cipher.seal(MANIFEST, bid, body, zdict=self._zdict),
                             len(body))
        self._pending.versions[vserial] = (body, bid)
        record = dict(record, title=snap.title, created_at=snap.created_at,
                      updated_at=snap.updated_at, last_captured_at=captured,
                      deleted_upstream_at=None,
                      versions=record["versions"] + [[vserial, vname, captured]])
        self._pending.convs[serial] = record
        if collector is not None and key is not None:
            self.record_source(collector, key, stamps, serial)
        self._maybe_commit()
        return StoreResult(status, read, self.bytes_stored - stored_before, vname)

    def mark_deleted_upstream(self, provider: str, org: str, native_id: str,
                              when: float | None = None) -> bool:
        """Mark a conversation as gone at its source (kept, flagged). False if unknown."""
        ident = self.crypto.mac(conversation_key(provider, org, native_id))
        serial = self._pending.conv_ids.get(ident)
        if serial is None:
            raw = self._get("conv_ids", ident)
            serial = U64.unpack(raw)[0] if raw else None
        record = self._conv_record(serial) if serial is not None else None
        if record is None:
            return False
        if not record.get("deleted_upstream_at"):
            self._pending.convs[serial] = dict(record, deleted_upstream_at=when or time.time())
        return True

    def _blob_id(self, data) -> bytes:
        return mac(self._id_key, data)

    def _file_job(self, raw: RawFile, prev: FileEntry | None, zdict, sampling: bool,
                  on_window=None) -> "_FileResult":
        """Chunk, hash, MAC and compress one raw file (on a worker thread, or inline with
        ``on_window``, which then receives each window's new groups and empties the list).

        Returns its entry and the groups of chunks the vault lacks (:class:`_Group`), with
        the plaintext of the first ``DICT_SAMPLE_BYTES`` of them when ``sampling`` for the
        zstd dictionary. Raises ``OSError`` if the file cannot be read.
        """
        sample_budget = DICT_SAMPLE_BYTES if sampling else 0
        if raw.data is not None:
            f: BinaryIO = io.BytesIO(raw.data)
            mtime_ns = raw.mtime_ns or 0
        else:
            f = open_regular(raw.path)  # a FIFO swapped in after listing must not block
            mtime_ns = raw.mtime_ns if raw.mtime_ns is not None else os.fstat(f.fileno()).st_mtime_ns
        new: list[_Group] = []
        members: list[tuple[bytes, int]] = []
        parts: list = []
        samples: list[bytes] = []
        pending_bytes = 0
        taken: set[bytes] = set()  # a chunk repeated inside this file is stored once

        def close_group() -> None:
            nonlocal members, parts, samples, pending_bytes
            if members:
                comp, body = self.cipher.compress(b"".join(parts), zdict)
                new.append(_Group(members, comp, body, samples))
                members, parts, samples, pending_bytes = [], [], [], 0

        with f:
            hasher, chunks, start, verified = hashlib.sha256(), [], 0, 0
            if prev is not None and prev.chunks:
                resumed = self._resume_after(f, prev)
                if resumed is not None:
                    chunks, start, hasher = resumed
                    verified = prev.size  # read once more to prove it is still the prefix
            f.seek(start)
            size, carry = start, b""
            while True:
                block = f.read(WINDOW)
                eof = len(block) < WINDOW
                buf = carry + block if carry else block
                if not buf:
                    break
                view = memoryview(buf)
                cuts = list(self._cdc.cut_buf(buf))
                if not eof and len(cuts) > 1:
                    carry = bytes(view[cuts[-1].offset:])
                    cuts.pop()
                else:
                    carry = b""
                used = cuts[-1].offset + cuts[-1].length
                hasher.update(view[:used])
                for c in cuts:
                    data = c.data
                    cid = self._blob_id(data)
                    chunks.append((cid, c.length))
                    if cid not in taken and not self._known_chunk(cid):
                        taken.add(cid)
                        if sample_budget > 0:
                            samples.append(bytes(data))
                            sample_budget -= c.length
                        members.append((cid, c.length))
                        parts.append(data)
                        pending_bytes += c.length
                        if pending_bytes >= GROUP_TARGET:
                            close_group()
                size += used
                if on_window is not None:
                    close_group()
                    on_window(new)
                if eof and not carry:
                    break
            close_group()
        entry = M.make_entry(raw.name, size, hasher.digest(), mtime_ns, chunks)
        return _FileResult(entry, new, size - start + verified)

    def _resume_after(self, f: BinaryIO, prev: FileEntry):
        """If ``prev`` is a prefix of ``f``: ``(chunks to keep, offset to chunk from, sha256
        fed the kept bytes)``; else None. The last kept chunk is dropped when shorter than
        ``MIN_SIZE`` so small appends do not leave a trail of tiny chunks."""
        keep = list(prev.chunks)
        if keep and keep[-1][1] < MIN_SIZE:
            keep.pop()
        if not keep:
            return None  # nothing to keep: chunking from the start reads no more
        keep_end = sum(c[1] for c in keep)
        if f.seek(0, os.SEEK_END) < prev.size:
            return None
        f.seek(0)
        hasher = hashlib.sha256()
        remaining = keep_end
        while remaining:
            block = f.read(min(READ_BLOCK, remaining))
            if not block:
                return None
            hasher.update(block)
            remaining -= len(block)
        check = hasher.copy()
        remaining = prev.size - keep_end
        while remaining:
            block = f.read(min(READ_BLOCK, remaining))
            if not block:
                return None
            check.update(block)
            remaining -= len(block)
        if check.digest() != prev.sha256:
            return None
        return keep, keep_end, hasher

    # -- zstd dictionary -----------------------------------------------------------------

    def _load_dictionary(self) -> None:
        raw = self._get("meta", b"zdict:current")
        if raw is None:
            return
        self._samples = None  # this vault has one already
        try:
            self._zdict = self._dictionaries(U32.unpack(raw)[0])
        except VaultError as e:
            log.warning("the vault's zstd dictionary is unreadable (%s); new data is stored "
                        "without it", e)

    def _sample(self, data: bytes) -> None:
        if self._samples is None or self._train is not None:
            return
        self._samples.append(data)
        self._sample_bytes += len(data)
        if self._sample_bytes >= DICT_SAMPLE_BYTES:
            self._train = self._pool.submit(train_dictionary, self._samples, self._serial("zdict"))

    def _adopt_dictionary(self) -> None:
        """Called between items: once training finished, store the dictionary and use it."""
        if self._train is None or not self._train.done():
            return
        train, self._train, self._samples = self._train, None, None
        try:
            raw = train.result()
        except Exception as e:  # zstd refuses too uniform samples; carry on without
            log.debug("zstd dictionary training failed: %s", e)
            return
        zdict = make_dictionary(raw)
        dict_id = zdict.dict_id()
        bid = self._blob_id(raw)
        # compressed without itself: 1 MiB of sampled text stores in about a third of that
        self._write_blob(DICTIONARY, bid, self.cipher.seal(DICTIONARY, bid, raw), len(raw))
        self._pending.meta[b"zdict:" + U32.pack(dict_id)] = bid
        self._pending.meta[b"zdict:current"] = U32.pack(dict_id)
        self._zdict = self._dictionaries.known[dict_id] = zdict

    # -- packs ---------------------------------------------------------------------------

    def _write_group(self, group: _Group) -> None:
        """Encrypt and write one group of new chunks (a lone chunk as a DATA blob); chunks
        another item wrote meanwhile keep their first copy in the index."""
        for sample in group.samples:
            self._sample(sample)
        if all(cid in self._pending.chunks for cid, _ in group.members):
            return
        if len(group.members) == 1:
            cid, raw_len = group.members[0]
            self._write_blob(DATA, cid, self.cipher.encrypt(DATA, cid, group.comp, group.body),
                             raw_len)
            return
        with self._writing():
            pack, pack_no = self._current_pack()
            entries = pack.add_group(group.comp, group.body, group.members)
            for e in entries:
                if e.id not in self._pending.chunks:
                    self._pending.chunks[e.id] = (pack_no, e.offset, e.length, e.raw_len, DATA,
                                                  e.inner)
            self.bytes_stored += entries[0].length
            self._finish_pack_if_full()

    def _write_blob(self, btype: int, bid: bytes, sealed: bytes, raw_len: int) -> None:
        with self._writing():
            pack, pack_no = self._current_pack()
            entry = pack.add(btype, bid, sealed, raw_len)
            self._pending.chunks[bid] = (pack_no, entry.offset, entry.length, raw_len, btype)
            self.bytes_stored += len(sealed)
            self._finish_pack_if_full()

    @contextlib.contextmanager
    def _writing(self):
        """Around writes to packs: an ``OSError`` stops the session (``StorageError``)."""
        try:
            yield
        except OSError as e:
            self._broken = True
            raise StorageError(f"writing a pack failed: {e.strerror or e}") from e

    def _current_pack(self) -> tuple[PackWriter, int]:
        if self._broken:
            raise StorageError("an earlier write to the vault failed; this session stopped")
        if self._pack is None:
            self._pack = PackWriter(self.vault.root, self.cipher)
            self._pack_no = self._serial("pack")
        return self._pack, self._pack_no

    def _finish_pack_if_full(self) -> None:
        if self._pack.size >= TARGET_SIZE:
            self._finish_pack()

    def _finish_pack(self) -> None:
        pack_id, size = self._pack.finish()
        self._pending.packs[self._pack_no] = (pack_id, size)
        self._pack, self._pack_no = None, None
        self._finished_packs += 1

    # -- commit --------------------------------------------------------------------------

    def _maybe_commit(self) -> None:
        self._adopt_dictionary()
        # Not after every pack: each commit rewrites most index pages it touches, and LMDB
        # cannot reuse them at once (first collect of the 300 MB corpus: 7 commits left a
        # 4.1 MB index file for 2.2 MB of records).
        if (self._finished_packs >= COMMIT_PACKS
                or time.monotonic() - self._last_commit >= COMMIT_INTERVAL):
            self.commit()

    def commit(self) -> None:
        """Make everything stored so far durable and visible (one LMDB transaction).

        Raises :class:`StorageError` if the pack or the index cannot be written."""
        if self._broken:
            raise StorageError("an earlier write to the vault failed; this session stopped")
        try:
            self._commit()
        except (OSError, lmdb.Error) as e:
            self._broken = True
            raise StorageError(f"committing to the vault failed: {e}") from e

    def _commit(self) -> None:
        if self._pack is not None:
            self._finish_pack()
        p = self._pending
        if not p:
            self._last_commit = time.monotonic()
            return
        db, seal = self.index.db, self.crypto.seal
        with self.index.env.begin(write=True) as txn:
            for no, (pid, size) in p.packs.items():
                txn.put(U32.pack(no), PACK_REC.pack(pid, size), db=db["packs"])
            touched = self.index.touched  # the puts read pages all over a large index
            for cid, loc in p.chunks.items():
                txn.put(cid, pack_loc(*loc), db=db["chunks"])
                touched()
            for k, v in p.dirs.items():
                txn.put(k, seal("dirs", k, v), db=db["dirs"])
            for k, v in p.dir_names.items():
                txn.put(k, U32.pack(v), db=db["dir_names"])
            for k, v in p.conv_ids.items():
                txn.put(k, U64.pack(v), db=db["conv_ids"])
            for prov, conv in p.conv_dir:
                txn.put(U32.pack(prov) + U64.pack(conv), b"", db=db["conv_dir"])
            for serial, (_body, bid) in p.versions.items():
                k = U64.pack(serial)
                txn.put(k, seal("versions", k, bid), db=db["versions"])
            for serial, rec in p.convs.items():
                k = U64.pack(serial)
                txn.put(k, seal("convs", k, json.dumps(rec).encode()), db=db["convs"])
                touched(3)  # and its conv_ids, conv_dir, versions and sources puts
            for k in p.drop_sources:
                txn.delete(k, db=db["sources"])
            for k, v in p.sources.items():
                txn.put(k, v, db=db["sources"])
            for k, v in p.meta.items():
                txn.put(k, v, db=db["meta"])
            for kind, value in self._counters.items():
                txn.put(b"next:" + kind.encode(), U64.pack(value), db=db["meta"])
            txn.put(b"generation", U64.pack(generation(txn, db["meta"]) + 1), db=db["meta"])
        self._pending = _Pending()
        self._finished_packs = 0
        self._last_commit = time.monotonic()
        self._commits += 1


def _size_of(f: RawFile) -> int:
    if f.data is not None:
        return len(f.data)
    try:
        return os.stat(f.path).st_size
    except OSError:
        return 0  # the job will report it
