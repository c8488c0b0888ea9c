"""Pack files: many sealed blobs in one immutable file, with an encrypted header at the end.

Pack file ``Layout:`` (``packs/<first 2 hex of id>/<id as 32 hex>``)::

    magic:8 = b"AIFSPK\\x00\\x01"
    blob_0 | blob_1 | ... | blob_n-1          sealed blobs (see vault/blob.py), back to back
    header                                    a sealed blob: type PACK_HEADER, id = pack_id * 2
    header_len:u32 LE | end_magic:8 = b"AIFSPKE1"

Header plaintext ``Layout:``::

    version:u8 = 2 | count:u32 LE | count x entry
    entry = type:u8 | id:32 | offset:u32 | length:u32 | raw_len:u32 | inner:i32   (49 bytes, LE)
    (version 1, still read: the same without ``inner``, 45 bytes)

``offset``/``length`` locate the sealed blob in the file; ``raw_len`` is its plaintext length.
``inner`` is -1 for a blob of its own. A :data:`~vault.blob.GROUP` blob holds several chunks
compressed as one frame: it has an entry of its own (``inner`` -1, id
:func:`~vault.blob.group_blob_id`) followed by one entry per member chunk, of type ``DATA``
with the chunk's id, the group's ``offset``/``length``, the chunk's ``raw_len`` and ``inner``
= where the chunk starts in the group's plaintext. A member is authentic when the group
opens and the keyed BLAKE3 of its slice equals its id.
Pack ids are 16 random bytes (no content-derived information). A pack is written to a
temporary name, fsynced, renamed into place and its directory fsynced before the index
refers to it, so the index never points at a pack that could vanish in a crash.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from .blob import DATA, GROUP, PACK_HEADER, BlobCipher, group_blob_id
from .errors import IntegrityError, MissingData, UnsupportedFormat, VaultError
from .keys import mac

MAGIC = b"AIFSPK\x00\x01"
END_MAGIC = b"AIFSPKE1"
TRAILER = struct.Struct("<I8s")
ENTRY_V1 = struct.Struct("<B32sIII")
ENTRY = struct.Struct("<B32sIIIi")
HEADER_HEAD = struct.Struct("<BI")
TARGET_SIZE = 12 << 20
FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass(frozen=True, slots=True)
class PackEntry:
    """Where one blob lives in a pack: ``type`` (vault/blob.py), ``id`` (32 bytes),
    ``offset``/``length`` of the sealed bytes, ``raw_len`` of the plaintext; ``inner`` is -1,
    or for a chunk inside a GROUP blob (which ``offset``/``length`` then locate) where the
    chunk's ``raw_len`` bytes start in the group's plaintext."""

    type: int
    id: bytes
    offset: int
    length: int
    raw_len: int
    inner: int = -1

    @property
    def member(self) -> bool:
        """True for a chunk inside a GROUP blob."""
        return self.inner >= 0


def pack_path(root: Path, pack_id: bytes) -> Path:
    """``root/packs/<xx>/<hex id>`` for a 16-byte pack id."""
    h = pack_id.hex()
    return root / "packs" / h[:2] / h


def fsync_dir(path: Path) -> None:
    """fsync a directory so a rename or create inside it is durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encode_header(entries: list[PackEntry]) -> bytes:
    """The header plaintext for ``entries`` (Layout in the module docstring)."""
    out = [HEADER_HEAD.pack(2, len(entries))]
    out.extend(ENTRY.pack(e.type, e.id, e.offset, e.length, e.raw_len, e.inner) for e in entries)
    return b"".join(out)


def decode_header(plain: bytes, where: str) -> list[PackEntry]:
    """Parse a header plaintext. Raises :class:`IntegrityError` / :class:`UnsupportedFormat`."""
    if len(plain) < HEADER_HEAD.size:
        raise IntegrityError("pack header is truncated", where)
    version, count = HEADER_HEAD.unpack_from(plain)
    if version not in (1, 2):
        raise UnsupportedFormat(f"pack header version {version}")
    entry = ENTRY if version == 2 else ENTRY_V1
    if len(plain) != HEADER_HEAD.size + count * entry.size:
        raise IntegrityError("pack header length does not match its entry count", where)
    out = [PackEntry(*entry.unpack_from(plain, HEADER_HEAD.size + i * entry.size))
           for i in range(count)]
    group = None
    for e in out:  # members follow their group, inside it
        if e.inner < -1 or (e.member and (group is None or (e.offset, e.length) != group[:2]
                                          or e.inner + e.raw_len > group[2])):
            raise IntegrityError("pack header has a chunk outside its group", where)
        if not e.member:
            group = (e.offset, e.length, e.raw_len) if e.type == GROUP else None
    return out


class PackWriter:
    """Appends sealed blobs to a new pack under ``root/packs/``; :meth:`finish` makes it durable.

    Not thread-safe: one writer thread appends. ``size`` is the bytes written so far.
    """

    def __init__(self, root: Path, cipher: BlobCipher) -> None:
        self.root = root
        self.cipher = cipher
        self.pack_id = os.urandom(16)
        self.tmp = root / "packs" / f".tmp-{self.pack_id.hex()}"
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        self._f = os.fdopen(fd, "wb", buffering=1 << 20)
        self._f.write(MAGIC)
        self.size = len(MAGIC)
        self.entries: list[PackEntry] = []

    def add(self, btype: int, blob_id: bytes, sealed: bytes, raw_len: int) -> PackEntry:
        """Append one sealed blob; returns where it is."""
        entry = PackEntry(btype, blob_id, self.size, len(sealed), raw_len)
        self._f.write(sealed)
        self.size += len(sealed)
        self.entries.append(entry)
        return entry

    def add_group(self, comp: int, body: bytes, members: list[tuple[bytes, int]]) -> list[PackEntry]:
        """Append a GROUP blob: ``body`` (the members' plaintexts concatenated, compressed as
        ``comp`` says, see :meth:`vault.blob.BlobCipher.compress`) sealed under
        :func:`~vault.blob.group_blob_id` of its place. ``members`` is ``[(chunk id, length)]``
        in order. Returns the members' entries."""
        offset, total = self.size, sum(n for _, n in members)
        sealed = self.cipher.encrypt(GROUP, group_blob_id(self.pack_id, offset), comp, body)
        self.add(GROUP, group_blob_id(self.pack_id, offset), sealed, total)
        out, inner = [], 0
        for cid, n in members:
            out.append(PackEntry(DATA, cid, offset, len(sealed), n, inner))
            inner += n
        self.entries.extend(out)
        return out

    def finish(self) -> tuple[bytes, int]:
        """Write header and trailer, fsync, rename into place, fsync the directory.

        Returns ``(pack_id, file size)``. After this returns the pack survives a crash.
        """
        header = self.cipher.seal(PACK_HEADER, self.pack_id * 2, encode_header(self.entries),
                                  compress=False)
        self._f.write(header)
        self._f.write(TRAILER.pack(len(header), END_MAGIC))
        self.size += len(header) + TRAILER.size
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        final = pack_path(self.root, self.pack_id)
        if not final.parent.exists():
            final.parent.mkdir(mode=DIR_MODE)
            fsync_dir(final.parent.parent)
        os.rename(self.tmp, final)
        fsync_dir(final.parent)
        return self.pack_id, self.size

    def abort(self) -> None:
        """Close and delete the temporary file (nothing refers to it yet)."""
        try:
            self._f.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def read_header(path: Path, pack_id: bytes, cipher: BlobCipher) -> list[PackEntry]:
    """Read and decrypt a pack's header. Raises :class:`MissingData` if the file is missing,
    :class:`IntegrityError` if it is truncated or altered."""
    where = f"pack {pack_id.hex()}"
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < len(MAGIC) + TRAILER.size:
                raise IntegrityError("pack is truncated", where)
            if f.read(len(MAGIC)) != MAGIC:
                raise IntegrityError("pack has a bad magic", where)
            f.seek(size - TRAILER.size)
            hlen, end = TRAILER.unpack(f.read(TRAILER.size))
            if end != END_MAGIC or hlen > size - len(MAGIC) - TRAILER.size:
                raise IntegrityError("pack trailer is damaged or truncated", where)
            f.seek(size - TRAILER.size - hlen)
            sealed = f.read(hlen)
    except FileNotFoundError:
        raise MissingData("pack file is missing", where) from None
    return decode_header(cipher.open(PACK_HEADER, pack_id * 2, sealed, where=where), where)


def open_group(cipher: BlobCipher, pack_id: bytes, offset: int, sealed: bytes,
               raw_len: int | None = None, where: str = "") -> bytes:
    """Authenticate and decompress the GROUP blob at ``offset`` of pack ``pack_id``: the
    plaintext of its member chunks, concatenated. Raises :class:`IntegrityError`."""
    return cipher.open(GROUP, group_blob_id(pack_id, offset), sealed, raw_len, where)


def member_slice(id_key: bytes, group: bytes, chunk_id: bytes, inner: int, length: int,
                 where: str = "") -> bytes:
    """Chunk ``chunk_id`` (``length`` bytes at ``inner``) out of an opened group, verified
    against its id (keyed BLAKE3 under the vault's chunk-id key). Raises
    :class:`IntegrityError` if the slice is short or is not that chunk."""
    data = group[inner:inner + length]
    if len(data) != length or mac(id_key, data) != chunk_id:
        raise IntegrityError("chunk does not match its id inside its group", where)
    return data


class LastGroup:
    """The GROUP blob opened last, for readers that visit a pack's entries in order (check,
    repair): each group is read and opened once however many members follow, and an error
    opening it is remembered and given to each of them."""

    def __init__(self, cipher: BlobCipher) -> None:
        self._cipher = cipher
        self._place: object = None
        self._plain: bytes | None = None
        self._error = ""

    def plaintext(self, place: object, pack_id: bytes, offset: int, read_sealed,
                  where: str) -> bytes:
        """The plaintext of the group at ``offset`` of pack ``pack_id``; ``place`` identifies
        it for the caller (e.g. ``(pack, offset)``), ``read_sealed()`` returns its sealed
        bytes (or raises :class:`VaultError`). Read and opened only when ``place`` changes.
        Raises :class:`IntegrityError` if it does not open (the same error for every member)."""
        if place != self._place:
            self._place, self._plain = place, None
            try:
                self._plain = open_group(self._cipher, pack_id, offset, read_sealed(), where=where)
            except (VaultError, struct.error) as e:
                self._error = str(e)
        if self._plain is None:
            raise IntegrityError(self._error, where)
        return self._plain

