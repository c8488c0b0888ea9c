"""Version manifests: everything needed to reproduce one version, encoded to the byte.

A manifest is stored once, as a sealed ``MANIFEST`` blob in a pack (so the index can be
rebuilt from packs alone); the ``versions`` LMDB database holds only its blob id.

Manifest ``Layout:`` (little-endian)::

    magic:4 = b"AMF1" | meta_len:u32 | meta:meta_len (ASCII JSON object, keys below)
    | nfiles:u32 | nfiles x file
    file = name_len:u16 | name:name_len (UTF-8 with surrogatepass, relative POSIX path) | size:u64
           | mtime_ns:i64 | sha256:32 | nchunks:u32 | nchunks x (chunk_id:32 | length:u32)

JSON keys of ``meta``: ``serial``, ``conversation_serial``, ``name`` (version name),
``captured_at`` (Unix s), ``provider``, ``org``, ``native_id``, ``title``, ``created_at``,
``updated_at``, ``source_path``, ``links``, ``attributes``, ``warnings``.
"""

from __future__ import annotations

import json
import struct
from itertools import accumulate

from .errors import IntegrityError, UnsupportedFormat
from .model import FileEntry, VersionInfo, bytes_text, text_bytes

MAGIC = b"AMF1"
U32 = struct.Struct("<I")
_SIZE_MTIME_SHA = struct.Struct("<Qq32sI")
_CHUNK = struct.Struct("<32sI")
_NAME_LEN = struct.Struct("<H")


def make_entry(name: str, size: int, sha256: bytes, mtime_ns: int,
               chunks: list[tuple[bytes, int]]) -> FileEntry:
    """Build a :class:`FileEntry`, computing cumulative chunk offsets."""
    offsets = tuple(accumulate((c[1] for c in chunks[:-1]), initial=0)) if chunks else ()
    return FileEntry(name, size, sha256, mtime_ns, tuple(chunks), offsets)


def encode(meta: dict, files: list[FileEntry]) -> bytes:
    """Encode a manifest (Layout in the module docstring)."""
    m = json.dumps(meta, ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode()
    out = [MAGIC, U32.pack(len(m)), m, U32.pack(len(files))]
    for f in files:
        name = text_bytes(f.name)
        out.append(_NAME_LEN.pack(len(name)))
        out.append(name)
        out.append(_SIZE_MTIME_SHA.pack(f.size, f.mtime_ns, f.sha256, len(f.chunks)))
        out.extend(_CHUNK.pack(cid, ln) for cid, ln in f.chunks)
    return b"".join(out)


def decode(data: bytes, where: str = "manifest") -> tuple[dict, list[FileEntry]]:
    """Decode a manifest. Raises :class:`IntegrityError` if it is malformed."""
    try:
        if data[:4] != MAGIC:
            raise UnsupportedFormat("unknown manifest magic")
        (mlen,) = U32.unpack_from(data, 4)
        pos = 8 + mlen
        meta = json.loads(data[8:pos])
        (nfiles,) = U32.unpack_from(data, pos)
        pos += 4
        files = []
        for _ in range(nfiles):
            (nlen,) = _NAME_LEN.unpack_from(data, pos)
            pos += 2
            name = bytes_text(data[pos:pos + nlen])
            pos += nlen
            size, mtime_ns, sha, nchunks = _SIZE_MTIME_SHA.unpack_from(data, pos)
            pos += _SIZE_MTIME_SHA.size
            chunks = [_CHUNK.unpack_from(data, pos + i * _CHUNK.size) for i in range(nchunks)]
            pos += nchunks * _CHUNK.size
            files.append(make_entry(name, size, sha, mtime_ns, chunks))
        if pos != len(data):
            raise IntegrityError("manifest has trailing bytes", where)
        return meta, files
    except (struct.error, UnicodeDecodeError, ValueError) as e:
        raise IntegrityError(f"manifest does not parse: {e}", where) from None


def to_version(data: bytes, where: str = "manifest") -> VersionInfo:
    """Decode a manifest into a :class:`VersionInfo`."""
    meta, files = decode(data, where)
    return VersionInfo(serial=meta["serial"], conversation_serial=meta["conversation_serial"],
                       name=meta["name"], captured_at=meta["captured_at"], title=meta["title"],
                       files=tuple(files), meta=meta)
