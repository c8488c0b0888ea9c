"""Read-only access to a vault: the directory hierarchy, conversations, versions, file bytes.

Opens LMDB read-only; every call uses its own short read transaction, so commits made by a
concurrent ``aifs collect`` become visible without reopening. Thread-safe.

File reads bisect over cumulative chunk offsets (no linear scans) and keep decrypted
chunks in a byte-bounded LRU cache. Each chunk is read with one ``pread`` from its pack.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from collections import OrderedDict

from . import manifest as M
from .blob import BlobCipher
from .errors import IntegrityError, MissingData
from .index import CHUNK_LOC, PACK_REC, U32, U64, Dictionaries, Index, IndexCrypto, generation
from .model import ConversationInfo, FileEntry, VersionInfo, bytes_text
from .pack import pack_path

CACHE_BYTES = 64 << 20
VERSION_CACHE = 4096


class VaultReader:
    """A read-only view of an unlocked vault (see the method docstrings for shapes).

    Raises :class:`KeyError` for unknown serials, :class:`IntegrityError` /
    :class:`MissingData` when stored bytes are damaged or missing.
    """

    def __init__(self, vault, cache_bytes: int = CACHE_BYTES) -> None:
        self.vault = vault
        self.index = Index(vault.root / "index", readonly=True)
        self.crypto = IndexCrypto(vault.keys.index, vault.keys.index_mac)
        self.cipher = BlobCipher(vault.keys.blob)
        self.cipher.dictionaries = Dictionaries(self.index, vault.root, self.cipher)
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, bytes] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = cache_bytes
        self._versions: OrderedDict[int, VersionInfo] = OrderedDict()
        self._fds: dict[int, int] = {}
        self.generation = self._read_generation()

    def close(self) -> None:
        """Close pack files and the LMDB environment."""
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
        self.index.close()

    def __enter__(self) -> "VaultReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- generation ------------------------------------------------------------------------

    def _read_generation(self) -> int:
        with self.index.env.begin() as txn:
            return generation(txn, self.index.db["meta"])

    def refresh(self) -> bool:
        """Re-read the commit generation; True if something was committed since last time."""
        g = self._read_generation()
        changed, self.generation = g != self.generation, g
        return changed

    # -- hierarchy -------------------------------------------------------------------------

    def _dirs(self, prefix: bytes) -> list[tuple[int, bytes]]:
        out = []
        with self.index.env.begin() as txn:
            cur = txn.cursor(db=self.index.db["dirs"])
            if cur.set_range(prefix):
                for k, v in cur:
                    if not k.startswith(prefix):
                        break
                    out.append((U32.unpack(k[1:])[0], self.crypto.open("dirs", bytes(k), v)))
        return out

    def orgs(self) -> list[tuple[int, str]]:
        """Every org: ``[(org_serial, name)]`` sorted by serial."""
        return [(s, bytes_text(v)) for s, v in self._dirs(b"o")]

    def providers(self, org_serial: int) -> list[tuple[int, str]]:
        """The provider folders of one org: ``[(provider_serial, slug)]`` sorted by serial."""
        want = U32.pack(org_serial)
        return [(s, bytes_text(v[4:])) for s, v in self._dirs(b"p") if v[:4] == want]

    def provider_location(self, provider_serial: int) -> tuple[int, str]:
        """``(org_serial, slug)`` of a provider folder. Raises :class:`KeyError`."""
        k = b"p" + U32.pack(provider_serial)
        with self.index.env.begin() as txn:
            raw = txn.get(k, db=self.index.db["dirs"])
        if raw is None:
            raise KeyError(provider_serial)
        v = self.crypto.open("dirs", k, raw)
        return U32.unpack(v[:4])[0], bytes_text(v[4:])

    def _conv_info(self, serial: int, raw: bytes) -> ConversationInfo:
        r = json.loads(self.crypto.open("convs", U64.pack(serial), raw))
        vs = r["versions"]
        return ConversationInfo(
            serial=serial, provider=r["provider"], org=r["org"], native_id=r["native_id"],
            title=r.get("title", ""), created_at=r.get("created_at"),
            updated_at=r.get("updated_at"), version_serials=tuple(v[0] for v in vs),
            version_names=tuple(v[1] for v in vs),
            last_captured_at=vs[-1][2] if vs else 0.0,
            deleted_upstream_at=r.get("deleted_upstream_at"))

    def conversations(self, provider_serial: int | None = None) -> list[ConversationInfo]:
        """Conversations in one provider folder (or all, with ``None``), sorted by serial."""
        out = []
        with self.index.env.begin() as txn:
            convs = self.index.db["convs"]
            if provider_serial is None:
                for k, v in txn.cursor(db=convs):
                    out.append(self._conv_info(U64.unpack(k)[0], v))
                return out
            prefix = U32.pack(provider_serial)
            cur = txn.cursor(db=self.index.db["conv_dir"])
            if cur.set_range(prefix):
                for k in cur.iternext(values=False):
                    if not k.startswith(prefix):
                        break
                    serial = U64.unpack(k[4:])[0]
                    raw = txn.get(U64.pack(serial), db=convs)
                    if raw is not None:
                        out.append(self._conv_info(serial, raw))
        return out

    def conversation(self, serial: int) -> ConversationInfo:
        """One conversation by serial. Raises :class:`KeyError` if unknown."""
        with self.index.env.begin() as txn:
            raw = txn.get(U64.pack(serial), db=self.index.db["convs"])
        if raw is None:
            raise KeyError(serial)
        return self._conv_info(serial, raw)

    def version(self, serial: int) -> VersionInfo:
        """One version by serial (cached: versions are immutable). Raises :class:`KeyError`."""
        with self._lock:
            v = self._versions.get(serial)
            if v is not None:
                self._versions.move_to_end(serial)
                return v
        k = U64.pack(serial)
        with self.index.env.begin() as txn:
            raw = txn.get(k, db=self.index.db["versions"])
        if raw is None:
            raise KeyError(serial)
        bid = self.crypto.open("versions", k, raw)
        v = M.to_version(self.chunk(bid), f"version {serial}")
        with self._lock:
            self._versions[serial] = v
            if len(self._versions) > VERSION_CACHE:
                self._versions.popitem(last=False)
        return v

    # -- data ------------------------------------------------------------------------------

    def _pack_fd(self, pack_no: int) -> int:
        with self._lock:
            fd = self._fds.get(pack_no)
        if fd is not None:
            return fd
        with self.index.env.begin() as txn:
            raw = txn.get(U32.pack(pack_no), db=self.index.db["packs"])
        if raw is None:
            raise MissingData("the index names a pack it has no record of", f"pack #{pack_no}")
        pack_id, _size = PACK_REC.unpack(raw)
        try:
            fd = os.open(pack_path(self.vault.root, pack_id), os.O_RDONLY)
        except FileNotFoundError:
            raise MissingData("pack file is missing", f"pack {pack_id.hex()}") from None
        with self._lock:
            if pack_no in self._fds:
                os.close(fd)
                return self._fds[pack_no]
            if len(self._fds) >= 256:
                os.close(self._fds.pop(next(iter(self._fds))))
            self._fds[pack_no] = fd
        return fd

    def chunk(self, chunk_id: bytes) -> bytes:
        """The plaintext of one chunk (cached). Raises :class:`MissingData` /
        :class:`IntegrityError` if it cannot be read back intact."""
        with self._lock:
            data = self._cache.get(chunk_id)
            if data is not None:
                self._cache.move_to_end(chunk_id)
                return data
        with self.index.env.begin() as txn:
            loc = txn.get(chunk_id, db=self.index.db["chunks"])
        where = f"chunk {chunk_id.hex()[:16]}"
        if loc is None:
            raise MissingData("chunk is not in the index", where)
        pack_no, offset, length, raw_len, btype = CHUNK_LOC.unpack(loc)
        sealed = os.pread(self._pack_fd(pack_no), length, offset)
        if len(sealed) != length:
            raise IntegrityError("pack is shorter than the index says", where)
        data = self.cipher.open(btype, chunk_id, sealed, raw_len, where)
        with self._lock:
            if chunk_id not in self._cache:
                self._cache[chunk_id] = data
                self._cache_bytes += len(data)
                while self._cache_bytes > self._cache_limit and self._cache:
                    _, old = self._cache.popitem(last=False)
                    self._cache_bytes -= len(old)
        return data

    def read(self, entry: FileEntry, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes of a raw file from ``offset`` (fewer only at end of file)."""
        if offset >= entry.size or size <= 0:
            return b""
        end = min(entry.size, offset + size)
        i = bisect.bisect_right(entry.offsets, offset) - 1
        parts = []
        while i < len(entry.chunks) and entry.offsets[i] < end:
            cid, length = entry.chunks[i]
            data = self.chunk(cid)
            if len(data) != length:
                raise IntegrityError("chunk length differs from the manifest",
                                     f"chunk {cid.hex()[:16]}")
            start = entry.offsets[i]
            parts.append(data[max(0, offset - start):end - start])
            i += 1
        return b"".join(parts)

    def read_file(self, entry: FileEntry) -> bytes:
        """A whole raw file."""
        return self.read(entry, 0, entry.size)
