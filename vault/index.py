"""The LMDB index: where every chunk is, which conversations and versions exist, and what
each source looked like last time. It can be rebuilt from the packs.

Named databases and their ``Layout:`` (integers big-endian in keys so they sort; ``enc(x)``
is ``nonce:12 | AES-256-GCM(x) | tag:16`` under the index key with AAD = db name + key)::

    meta       b"format" -> u32 | b"generation" -> u64 | b"next:<kind>" -> u64 serial counters
    packs      pack_no:u32 -> pack_id:16 | size:u64                   (plaintext: no content)
    chunks     chunk_id:32 -> pack_no:u32 | offset:u32 | length:u32 | raw_len:u32 | type:u8
                              [ | inner:u32 ]   (LE; present for a chunk inside a GROUP
                              blob, which offset/length locate: see vault/pack.py)
    dirs       b"o" | org_serial:u32 -> enc(org name)
               b"p" | provider_serial:u32 -> enc(org_serial:u32 | provider slug)
    dir_names  mac(b"o" | name) or mac(b"p" | org_serial | slug) :32 -> serial:u32
    convs      conv_serial:u64 -> enc(JSON conversation record, see vault/records.py)
    conv_ids   mac(provider NUL org NUL native_id):32 -> conv_serial:u64
    conv_dir   provider_serial:u32 | conv_serial:u64 -> b""       (directory listing order)
    versions   version_serial:u64 -> enc(manifest blob id:32)   (the manifest itself, see
               vault/manifest.py, is a MANIFEST blob in a pack, located through ``chunks``)
    sources    mac(b"src-collector" NUL collector)[:8] | mac(b"src" NUL collector NUL item key)[:24]
               -> mac(stamps):32 | conv_serial:u64
               (stamps = lines "path NUL ino NUL size NUL mtime_ns NUL ctime_ns"; a MAC, so
               equal stamps can be recognised without storing or decrypting any path)

``mac(x)`` is keyed BLAKE3 (32 bytes) under the index-mac subkey: keys reveal nothing about titles,
paths or ids to someone holding the vault without a key. Chunk ids are already MACs.
"""

from __future__ import annotations

import ctypes
import logging
import os
import struct
import sys
import threading
from pathlib import Path

import lmdb
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import IntegrityError
from .keys import mac

DB_NAMES = ("meta", "packs", "chunks", "dirs", "dir_names", "convs", "conv_ids", "conv_dir",
            "versions", "sources")
CHUNK_LOC = struct.Struct("<IIIIB")
MEMBER_LOC = struct.Struct("<IIIIBI")
PACK_REC = struct.Struct("<16sQ")
U32 = struct.Struct(">I")
U64 = struct.Struct(">Q")
FORMAT = 1
MAP_SIZE = 1 << 40  # address space only; the file grows as needed
TRIM_EVERY = 256   # index reads between two releases of the mapped pages (MapTrimmer)
MADV_DONTNEED = 4

log = logging.getLogger(__name__)


def open_env(path: Path, readonly: bool) -> lmdb.Environment:
    """Open the index environment (``path`` is the ``index/`` directory)."""
    if not readonly:
        path.mkdir(mode=0o700, exist_ok=True)
    elif not path.is_dir():
        raise IntegrityError("the index directory is missing", os.fspath(path))
    return lmdb.open(os.fspath(path), max_dbs=len(DB_NAMES) + 2, map_size=MAP_SIZE,
                     subdir=True, readonly=readonly, lock=True, mode=0o600,
                     readahead=False, max_readers=256)


class IndexCrypto:
    """Encrypts LMDB values and MACs LMDB keys. Thread-safe."""

    def __init__(self, key: bytes, mac_key: bytes) -> None:
        self._aead = AESGCM(key)
        self._mac_key = mac_key

    def mac(self, data: bytes) -> bytes:
        """Keyed BLAKE3 of ``data`` (32 bytes), see :func:`vault.keys.mac`."""
        return mac(self._mac_key, data)

    def seal(self, db: str, key: bytes, value: bytes) -> bytes:
        """Encrypt one value bound to its database and key."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, value, db.encode() + b"\0" + key)

    def open(self, db: str, key: bytes, sealed: bytes) -> bytes:
        """Decrypt one value. Raises :class:`IntegrityError` if it was altered or moved."""
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], db.encode() + b"\0" + key)
        except (InvalidTag, ValueError):
            raise IntegrityError("index value failed authentication", f"index/{db}") from None


class MapTrimmer:
    """Releases the pages of one LMDB data file mapped into this process (Linux only; a
    no-op elsewhere or when the mapping cannot be found).

    LMDB reads through a memory map, and the kernel maps up to 64 KiB of cached file around
    every page a read touches, so scattered reads make the whole index file resident in
    the process that reads it (a collect into a vault with a million chunks looked up
    ~200 MB of it; listing 25,000 conversations, all of it). Every ``TRIM_EVERY`` reads the
    mapped pages are released with ``madvise(MADV_DONTNEED)``: they stay in the page cache
    and a later read maps them again, but the process's RSS keeps only a few MiB of the
    index, whatever the vault's size. Safe with LMDB: its map is read-only (no
    ``MDB_WRITEMAP``) and never holds anything but the file's contents.
    """

    def __init__(self, data_file: str) -> None:
        self._file = data_file
        self._count = 0
        self._range: tuple[int, int] | None = None
        self._madvise = None
        if sys.platform.startswith("linux"):
            try:
                self._madvise = ctypes.CDLL(None, use_errno=True).madvise
                self._madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
                self._range = self._find()
            except (OSError, AttributeError, ValueError):
                self._madvise = None

    def _find(self) -> tuple[int, int] | None:
        with open("/proc/self/maps", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].rstrip("\n") == self._file:
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    return start, end
        return None

    def touched(self, reads: int = 1) -> None:
        """Count ``reads`` index reads; release the mapped pages every ``TRIM_EVERY``."""
        self._count += reads
        if self._count >= TRIM_EVERY:
            self.trim()

    def trim(self) -> None:
        """Release every mapped page of the data file now (they stay in the page cache)."""
        self._count = 0
        if self._madvise is None or self._range is None:
            return
        start, end = self._range
        try:
            length = min(end - start, os.path.getsize(self._file))
        except OSError:
            return
        page = 4096
        length = (length + page - 1) // page * page
        if length and self._madvise(start, length, MADV_DONTNEED) != 0:
            log.debug("madvise on the index map failed: errno %d", ctypes.get_errno())
            self._madvise = None


_OPEN: dict[str, tuple[lmdb.Environment, dict[str, object], int, MapTrimmer]] = {}
_OPEN_LOCK = threading.Lock()


class Index:
    """The opened LMDB environment and its named databases (``self.db[name]``).

    LMDB allows one environment handle per file per process, so handles are shared and
    reference-counted: a reader and a writer in the same process use the same environment.
    ``readonly`` only says whether this user may create the databases (a new vault).
    """

    def __init__(self, path: Path, readonly: bool) -> None:
        self._key = os.fspath(path.absolute())
        with _OPEN_LOCK:
            opened = _OPEN.get(self._key)
            if opened is None:
                if readonly and not path.is_dir():
                    raise IntegrityError("the index directory is missing", os.fspath(path))
                env = open_env(path, readonly=False)
                dbs = {}
                try:
                    with env.begin(write=True) as txn:
                        for name in DB_NAMES:
                            dbs[name] = env.open_db(name.encode(), txn=txn, create=not readonly)
                        if not readonly and txn.get(b"format", db=dbs["meta"]) is None:
                            txn.put(b"format", U32.pack(FORMAT), db=dbs["meta"])
                            txn.put(b"generation", U64.pack(0), db=dbs["meta"])
                except lmdb.Error as e:
                    env.close()
                    raise IntegrityError(f"the index is damaged ({type(e).__name__}); "
                                         "`aifs check --repair` rebuilds it from the packs",
                                         os.fspath(path)) from None
                opened = (env, dbs, 0, MapTrimmer(os.path.realpath(path / "data.mdb")))
            env, dbs, refs, trimmer = opened
            _OPEN[self._key] = (env, dbs, refs + 1, trimmer)
        self.env = env
        self.db = dbs
        self.trimmer = trimmer
        self.touched = trimmer.touched
        """``touched(reads=1)``: count index reads (see :class:`MapTrimmer`)."""
        self.trim = trimmer.trim
        """``trim()``: release the mapped pages now (see :class:`MapTrimmer`)."""
        self._closed = False

    def close(self) -> None:
        """Release this handle; the environment closes with the last one (idempotent)."""
        with _OPEN_LOCK:
            if self._closed:
                return
            self._closed = True
            env, dbs, refs, trimmer = _OPEN[self._key]
            if refs <= 1:
                del _OPEN[self._key]
                env.close()
            else:
                _OPEN[self._key] = (env, dbs, refs - 1, trimmer)


def pack_loc(pack_no: int, offset: int, length: int, raw_len: int, btype: int,
             inner: int = -1) -> bytes:
    """A ``chunks`` value (Layout above); ``inner`` -1 for a blob of its own."""
    if inner < 0:
        return CHUNK_LOC.pack(pack_no, offset, length, raw_len, btype)
    return MEMBER_LOC.pack(pack_no, offset, length, raw_len, btype, inner)


def unpack_loc(raw) -> tuple[int, int, int, int, int, int]:
    """``(pack_no, offset, length, raw_len, type, inner)`` of a ``chunks`` value (``inner``
    -1 for a blob of its own). Raises :class:`IntegrityError` for a value of another size."""
    if len(raw) == CHUNK_LOC.size:
        return (*CHUNK_LOC.unpack(raw), -1)
    if len(raw) == MEMBER_LOC.size:
        return MEMBER_LOC.unpack(raw)
    raise IntegrityError("chunk location has an unknown size", "index")


def next_serial(txn: lmdb.Transaction, meta_db: object, kind: str) -> int:
    """Allocate the next serial (≥ 1) of ``kind`` inside a write transaction; never reused."""
    key = b"next:" + kind.encode()
    raw = txn.get(key, db=meta_db)
    value = U64.unpack(raw)[0] if raw else 1
    txn.put(key, U64.pack(value + 1), db=meta_db)
    return value


def generation(txn: lmdb.Transaction, meta_db: object) -> int:
    """The commit generation (incremented by every commit)."""
    raw = txn.get(b"generation", db=meta_db)
    return U64.unpack(raw)[0] if raw else 0


def read_blob(index: Index, root: Path, cipher, blob_id: bytes, where: str) -> bytes:
    """Read, authenticate and decompress one blob the ``chunks`` database locates.

    Raises :class:`IntegrityError` / :class:`MissingData` if it is not there intact.
    """
    from .errors import MissingData
    from .pack import pack_path

    with index.env.begin() as txn:
        loc = txn.get(blob_id, db=index.db["chunks"])
        loc = unpack_loc(loc) if loc is not None else None
        pack = txn.get(U32.pack(loc[0]), db=index.db["packs"]) if loc else None
    index.touched(2)
    if loc is None or pack is None:
        raise MissingData("the index does not locate it", where)
    _no, offset, length, raw_len, btype, inner = loc
    if inner >= 0:
        raise IntegrityError("the index places it inside a chunk group", where)
    try:
        fd = os.open(pack_path(root, PACK_REC.unpack(pack)[0]), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise MissingData("its pack file is missing", where) from None
    try:
        sealed = os.pread(fd, length, offset)  # short if the pack is truncated: fails to open
    finally:
        os.close(fd)
    return cipher.open(btype, blob_id, sealed, raw_len, where)


class Dictionaries:
    """The zstd dictionaries a vault's blobs name, loaded once each (a resolver for
    :class:`vault.blob.BlobCipher`). ``known[dict_id]`` may be seeded with one just trained."""

    def __init__(self, index: Index, root: Path, cipher) -> None:
        self.index, self.root, self.cipher = index, root, cipher
        self.known: dict[int, object] = {}

    def __call__(self, dict_id: int):
        d = self.known.get(dict_id)
        if d is None:
            d = self.known[dict_id] = load_dictionary(self.index, self.root, self.cipher, dict_id)
        return d


def load_dictionary(index: Index, root: Path, cipher, dict_id: int):
    """Load zstd dictionary ``dict_id`` (recorded as ``meta[b"zdict:" + u32]`` → blob id).

    Raises :class:`IntegrityError` / :class:`MissingData` if it is not there intact.
    """
    from .blob import make_dictionary
    from .errors import MissingData

    with index.env.begin() as txn:
        blob_id = txn.get(b"zdict:" + U32.pack(dict_id), db=index.db["meta"])
    where = f"zstd dictionary {dict_id}"
    if blob_id is None:
        raise MissingData("the index does not locate it", where)
    return make_dictionary(read_blob(index, root, cipher, bytes(blob_id), where))
