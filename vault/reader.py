"""Read-only access to a vault: the directory hierarchy, conversations, versions, file bytes.

Opens LMDB read-only; every call uses its own short read transaction, so commits made by a
concurrent ``aifs collect`` become visible without reopening. Thread-safe.

File reads bisect over cumulative chunk offsets (no linear scans) and keep decrypted
chunks in a byte-bounded LRU cache. Each chunk is read with one ``pread`` from its pack; a
chunk inside a GROUP blob (vault/pack.py) costs one ``pread`` and one decompression of its
group, which the same cache keeps for the group's other chunks, and is verified against
its id.

Memory: every index read is counted with :meth:`vault.index.Index.touched`, which keeps the
index's memory map from making the whole index file resident in this process (listing a
folder of 25,000 conversations touches records all over it).
"""

from __future__ import annotations

import bisect
import json
import os
import re
import threading
from collections import OrderedDict
from typing import Iterator

from . import manifest as M
from .blob import BlobCipher
from .errors import IntegrityError, MissingData
from .index import PACK_REC, U32, U64, Dictionaries, Index, IndexCrypto, generation, unpack_loc
from .model import ConversationInfo, FileEntry, VersionInfo, bytes_text
from .pack import member_slice, open_group, pack_path

CACHE_BYTES = 16 << 20
SCAN_TRIM_EVERY = 4096  # rows of a folder listing between two releases of the index map
VERSION_CACHE = 4096

# What a folder listing needs from a conversation record (vault/writer.py stores it as
# ``json.dumps(record)``: ASCII, ", " and ": " separators, no nested objects), found without
# decoding the whole record. ``"key": `` cannot occur inside a JSON string (every quote in
# one is escaped), so a match is the key itself. Anything unexpected: full JSON decoding.
_STR_BODY = re.compile(rb'(?:[^"\\]|\\.)*"')
_VERSION_ITEMS = re.compile(rb'(?:\[\d+, "[^"\\]*", [-+.\deE]+\](?:, (?=\[))?)*\]')


def _json_str_at(plain: bytes, key: bytes) -> str | None:
    """The string value of ``"key": "…"`` in a JSON object's text, or None."""
    i = plain.find(key)
    if i < 0:
        return None
    i += len(key)
    end = plain.find(b'"', i)
    if end < 0:
        return None
    body = plain[i:end]
    if b"\\" in body:  # escapes: find the real end, let json decode them
        m = _STR_BODY.match(plain, i)
        if m is None:
            return None
        return json.loads(b'"' + m.group())
    return body.decode("utf-8", "surrogatepass")


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
        self._cache: OrderedDict[object, bytes] = OrderedDict()  # chunk id or (pack, offset)
        self._cache_bytes = 0
        self._cache_limit = cache_bytes
        self._versions: OrderedDict[int, VersionInfo] = OrderedDict()
        self._fds: dict[int, tuple[int, bytes]] = {}  # pack_no -> fd, pack id
        self._names: dict[str, str] = {}  # provider and org names, shared by every record
        self.generation = self._read_generation()

    def close(self) -> None:
        """Close pack files and the LMDB environment."""
        with self._lock:
            for fd, _pack_id in self._fds.values():
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
        self.index.touched(1 + len(out))
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
        self.index.touched()
        if raw is None:
            raise KeyError(provider_serial)
        v = self.crypto.open("dirs", k, raw)
        return U32.unpack(v[:4])[0], bytes_text(v[4:])

    def _shared(self, name: str) -> str:
        """One string object per provider/org name (a listing holds thousands of records)."""
        return self._names.setdefault(name, name)

    def _conv_info(self, serial: int, raw: bytes) -> ConversationInfo:
        r = json.loads(self.crypto.open("convs", U64.pack(serial), raw))
        vs = r["versions"]
        return ConversationInfo(
            serial, self._shared(r["provider"]), self._shared(r["org"]), r["native_id"],
            r.get("title", ""), r.get("created_at"), r.get("updated_at"),
            tuple([v[0] for v in vs]), tuple([v[1] for v in vs]), vs[-1][2] if vs else 0.0,
            r.get("deleted_upstream_at"))

    def conversations(self, provider_serial: int | None = None) -> list[ConversationInfo]:
        """Conversations in one provider folder (or all, with ``None``), sorted by serial."""
        out = []
        touched = self.index.touched
        with self.index.env.begin() as txn:
            convs = self.index.db["convs"]
            if provider_serial is None:
                for k, v in txn.cursor(db=convs):
                    out.append(self._conv_info(U64.unpack(k)[0], v))
                    touched()
                return out
            for key, raw in self._in_provider(txn, provider_serial):
                out.append(self._conv_info(U64.unpack(key)[0], raw))
        return out

    def conversation_rows(self, provider_serial: int) -> list[tuple[int, str, str, int, float]]:
        """What a folder listing shows of each conversation in one provider folder, sorted
        by serial: ``[(serial, title, native_id, number of versions, last_captured_at)]``.
        The same facts as :meth:`conversations`, several times cheaper per conversation."""
        with self.index.env.begin() as txn:
            return [self._conv_row(U64.unpack(key)[0], key, raw)
                    for key, raw in self._in_provider(txn, provider_serial)]

    def _in_provider(self, txn, provider_serial: int) -> Iterator[tuple[bytes, bytes]]:
        """``(conversation key, encrypted record)`` of each conversation in one provider
        folder, by serial (the ``conv_dir`` prefix scan both listings share)."""
        convs = self.index.db["convs"]
        prefix = U32.pack(provider_serial)
        cur = txn.cursor(db=self.index.db["conv_dir"])
        if not cur.set_range(prefix):
            return
        n = 0
        for k in cur.iternext(values=False):
            if not k.startswith(prefix):
                break
            key = k[4:]
            raw = txn.get(key, db=convs)
            n += 1
            if n % SCAN_TRIM_EVERY == 0:
                # a scan reads records in key order, so the pages it maps are few and
                # contiguous: releasing them every few thousand rows bounds memory as well
                # as every 256 scattered reads does, and each release walks the whole map
                # (every 256 rows was 0.1 s of a 25,000-row listing)
                self.index.trim()
            if raw is not None:
                yield key, raw
        self.index.touched(n % SCAN_TRIM_EVERY)

    def _conv_row(self, serial: int, key: bytes, raw: bytes) -> tuple[int, str, str, int, float]:
        plain = self.crypto.open("convs", key, raw)
        native = _json_str_at(plain, b'"native_id": "')
        title = _json_str_at(plain, b'"title": "')
        v = plain.find(b'"versions": [') + 13
        items = _VERSION_ITEMS.match(plain, v) if v >= 13 else None
        if (native is not None and items is not None
                and (title is not None or b'"title": ' not in plain)):
            body = items.group()  # [serial, "name", captured], ...] (names hold no ", ")
            count = body.count(b"[")
            last = float(body[body.rindex(b", ") + 2:-2]) if count else 0.0
            return serial, title or "", native, count, last
        info = self._conv_info(serial, raw)  # not the layout expected: decode it all
        return (serial, info.title, info.native_id, len(info.version_serials),
                info.last_captured_at)

    def conversation(self, serial: int) -> ConversationInfo:
        """One conversation by serial. Raises :class:`KeyError` if unknown."""
        with self.index.env.begin() as txn:
            raw = txn.get(U64.pack(serial), db=self.index.db["convs"])
        self.index.touched()
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
        self.index.touched()
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

    def _pack_fd(self, pack_no: int) -> tuple[int, bytes]:
        """``(open fd, pack id)`` of pack ``pack_no``."""
        with self._lock:
            known = self._fds.get(pack_no)
        if known is not None:
            return known
        with self.index.env.begin() as txn:
            raw = txn.get(U32.pack(pack_no), db=self.index.db["packs"])
        self.index.touched()
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
                os.close(self._fds.pop(next(iter(self._fds)))[0])
            self._fds[pack_no] = (fd, pack_id)
        return fd, pack_id

    def _cached(self, key) -> bytes | None:
        with self._lock:
            data = self._cache.get(key)
            if data is not None:
                self._cache.move_to_end(key)
            return data

    def _keep(self, key, data: bytes) -> None:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = data
                self._cache_bytes += len(data)
                while self._cache_bytes > self._cache_limit and self._cache:
                    _, old = self._cache.popitem(last=False)
                    self._cache_bytes -= len(old)

    def chunk(self, chunk_id: bytes) -> bytes:
        """The plaintext of one chunk (cached). Raises :class:`MissingData` /
        :class:`IntegrityError` if it cannot be read back intact."""
        data = self._cached(chunk_id)
        if data is not None:
            return data
        with self.index.env.begin() as txn:
            loc = txn.get(chunk_id, db=self.index.db["chunks"])
        self.index.touched()
        where = f"chunk {chunk_id.hex()[:16]}"
        if loc is None:
            raise MissingData("chunk is not in the index", where)
        pack_no, offset, length, raw_len, btype, inner = unpack_loc(loc)
        fd, pack_id = self._pack_fd(pack_no)
        group = self._cached((pack_no, offset)) if inner >= 0 else None
        if group is None:
            sealed = os.pread(fd, length, offset)
            if len(sealed) != length:
                raise IntegrityError("pack is shorter than the index says", where)
            if inner < 0:
                data = self.cipher.open(btype, chunk_id, sealed, raw_len, where)
                self._keep(chunk_id, data)
                return data
            group = open_group(self.cipher, pack_id, offset, sealed, where=where)
            self._keep((pack_no, offset), group)
        data = member_slice(self.vault.keys.chunk_id, group, chunk_id, inner, raw_len, where)
        self._keep(chunk_id, data)
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
