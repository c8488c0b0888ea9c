"""Sealing one blob: zstd, then AES-256-GCM with the blob's id and type in the AAD.

Blob ``Layout:``::

    suite:u8 (1 = AES-256-GCM, 12-byte random nonce)
    | compression:u8 (0 none, 1 zstd, 2 zstd with a vault dictionary)
    | nonce:12 | ciphertext:n | tag:16

    AAD = b"aifs-blob" | suite:u8 | compression:u8 | type:u8 | id:32

``type`` is one of :data:`DATA` (a file chunk), :data:`MANIFEST` (a version manifest),
:data:`PACK_HEADER`, :data:`DICTIONARY` (a zstd dictionary), :data:`GROUP` (several
consecutive new chunks of one file, compressed as one zstd frame; its id is
:func:`group_blob_id` of where it sits, and each member chunk is verified by its MAC after
decryption, see vault/pack.py). Binding type and id into the AAD means a blob cannot be swapped for
another (or presented as another kind) without failing authentication. Random nonces
allow 2**32 blobs per key before the collision bound matters, far past a personal vault.
Compression is skipped (``compression = 0``) when zstd does not make the blob smaller.

Compression 2: once a vault has seen a few MB of data it trains a zstd dictionary (stored as
a ``DICTIONARY`` blob, recorded in the index as ``zdict:<dict id>``). The zstd frame header of
a compression-2 blob names the dictionary id it needs. Measured on the benchmark corpus
(bench/compare.py), chunks grouped by 256 KiB compress to 0.259 of their size at level 3
without a dictionary, 0.249 with a 112 KiB one and 0.242 with a 1 MiB one (per 34 KB chunk
alone: 0.293 / 0.256 / 0.251).
"""

from __future__ import annotations

import os
import struct
import threading
from collections import OrderedDict

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import IntegrityError, UnsupportedFormat

SUITE_AES256GCM = 1
COMP_NONE = 0
COMP_ZSTD = 1
DATA = 1
MANIFEST = 2
PACK_HEADER = 3
DICTIONARY = 4
GROUP = 5
COMP_ZSTD_DICT = 2
BLOB_HEADER = struct.Struct("<BB12s")  # suite, compression, nonce -> 14 bytes
OVERHEAD = BLOB_HEADER.size + 16
ZSTD_LEVEL = 3

_local = threading.local()
CONTEXTS_PER_THREAD = 8  # zstd contexts a thread keeps (one per dictionary object, + plain)


def _context(kind: str, zdict, make):
    """The calling thread's zstd context of ``kind`` for ``zdict`` (``None``: no dictionary).

    Keyed by the dictionary *object*, not its dictionary id: every vault numbers its
    dictionaries from 1, so in a process that opens two vaults the same id names different
    dictionaries (keying by id once compressed one vault's blobs with another's dictionary).
    An entry holds the dictionary, so its ``id()`` cannot be reused while it is cached.
    """
    cache = getattr(_local, kind, None)
    if cache is None:
        cache = OrderedDict()
        setattr(_local, kind, cache)
    key = 0 if zdict is None else id(zdict)
    hit = cache.get(key)
    if hit is not None and hit[0] is zdict:
        cache.move_to_end(key)
        return hit[1]
    ctx = make(zdict)
    cache[key] = (zdict, ctx)
    while len(cache) > CONTEXTS_PER_THREAD:
        cache.popitem(last=False)
    return ctx


def _compressor(zdict: "zstandard.ZstdCompressionDict | None") -> zstandard.ZstdCompressor:
    return _context("cctx", zdict, lambda d: zstandard.ZstdCompressor(dict_data=d) if d is not None
                    else zstandard.ZstdCompressor(level=ZSTD_LEVEL))


def _decompressor(zdict: "zstandard.ZstdCompressionDict | None") -> zstandard.ZstdDecompressor:
    return _context("dctx", zdict, lambda d: zstandard.ZstdDecompressor(dict_data=d))


def make_dictionary(raw: bytes) -> zstandard.ZstdCompressionDict:
    """Load a stored zstd dictionary, ready to compress at ``ZSTD_LEVEL``."""
    d = zstandard.ZstdCompressionDict(raw)
    d.precompute_compress(level=ZSTD_LEVEL)
    return d


DICT_SIZE = 1 << 20


def train_dictionary(samples: list[bytes], dict_id: int, size: int = DICT_SIZE) -> bytes:
    """Train a zstd dictionary (``size`` bytes at most) on ``samples``; returns its bytes.

    Fixed COVER parameters (k=1024, d=8) instead of zstd's parameter search: on the benchmark
    corpus the search takes 4x longer (0.95 s vs 0.23 s on 8 MB of samples) for the same ratio.
    Raises ``zstandard.ZstdError`` if the samples are too few or too uniform."""
    return zstandard.train_dictionary(size, samples, level=ZSTD_LEVEL, dict_id=dict_id,
                                      k=1024, d=8).as_bytes()


def _aad(suite: int, comp: int, btype: int, blob_id: bytes) -> bytes:
    return b"aifs-blob" + bytes((suite, comp, btype)) + blob_id


def group_blob_id(pack_id: bytes, offset: int) -> bytes:
    """The 32-byte id of the :data:`GROUP` blob at ``offset`` of pack ``pack_id`` (16 bytes):
    ``b"aifs-grp" | pack_id | offset:u64 LE``. Binding the place into the AAD means a group
    cannot be moved to another pack or offset without failing authentication."""
    return b"aifs-grp" + pack_id + offset.to_bytes(8, "little")


class BlobCipher:
    """Seals and opens blobs under one 32-byte AES key. Thread-safe (per-thread zstd contexts).

    ``dictionaries(dict_id) -> ZstdCompressionDict`` resolves the dictionary a
    compression-2 blob names (raises :class:`IntegrityError` if unknown).
    """

    def __init__(self, key: bytes, dictionaries=None) -> None:
        self._aead = AESGCM(key)
        self.dictionaries = dictionaries

    def seal(self, btype: int, blob_id: bytes, plaintext, compress: bool = True,
             zdict: "zstandard.ZstdCompressionDict | None" = None) -> bytes:
        """Compress (if it helps; with ``zdict`` if given) and encrypt ``plaintext`` (any
        bytes-like); returns the sealed bytes (``OVERHEAD`` + compressed length)."""
        comp, body = self.compress(plaintext, zdict) if compress else (COMP_NONE, plaintext)
        return self.encrypt(btype, blob_id, comp, body)

    @staticmethod
    def compress(plaintext, zdict: "zstandard.ZstdCompressionDict | None" = None) -> tuple[int, bytes]:
        """The first half of :meth:`seal`: ``(compression byte, body)``, zstd at ``ZSTD_LEVEL``
        (with ``zdict`` if given) when that makes ``plaintext`` smaller, else it unchanged.
        Thread-safe; releases the GIL while compressing."""
        if len(plaintext) > 64:
            packed = _compressor(zdict).compress(plaintext)
            if len(packed) < len(plaintext):
                return (COMP_ZSTD_DICT if zdict is not None else COMP_ZSTD), packed
        return COMP_NONE, plaintext

    def encrypt(self, btype: int, blob_id: bytes, comp: int, body) -> bytes:
        """The second half of :meth:`seal`: AES-256-GCM of ``body`` (compressed as ``comp``
        says) under a fresh random nonce; returns the sealed bytes."""
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, body, _aad(SUITE_AES256GCM, comp, btype, blob_id))
        return BLOB_HEADER.pack(SUITE_AES256GCM, comp, nonce) + ct

    def open(self, btype: int, blob_id: bytes, sealed: bytes, raw_len: int | None = None,
             where: str = "") -> bytes:
        """Authenticate, decrypt and decompress a sealed blob.

        ``raw_len`` (if known) bounds decompression. Raises :class:`IntegrityError` if the
        bytes were altered or belong to another id/type, :class:`UnsupportedFormat` for an
        unknown suite/compression byte.
        """
        if len(sealed) < OVERHEAD:
            raise IntegrityError("blob is truncated", where)
        suite, comp, nonce = BLOB_HEADER.unpack_from(sealed)
        if suite != SUITE_AES256GCM:
            raise UnsupportedFormat(f"blob uses unknown cipher suite {suite}")
        if comp not in (COMP_NONE, COMP_ZSTD, COMP_ZSTD_DICT):
            raise UnsupportedFormat(f"blob uses unknown compression {comp}")
        try:
            body = self._aead.decrypt(nonce, memoryview(sealed)[BLOB_HEADER.size:],
                                      _aad(suite, comp, btype, blob_id))
        except InvalidTag:
            raise IntegrityError("blob failed authentication (altered or misplaced)", where) from None
        if comp == COMP_NONE:
            return body
        zdict = None
        try:
            if comp == COMP_ZSTD_DICT:
                dict_id = zstandard.get_frame_parameters(body).dict_id
                if self.dictionaries is None:
                    raise IntegrityError(f"blob needs zstd dictionary {dict_id}, none loaded", where)
                zdict = self.dictionaries(dict_id)
            return _decompressor(zdict).decompress(body, max_output_size=raw_len or 0)
        except zstandard.ZstdError as e:
            raise IntegrityError(f"blob does not decompress: {e}", where) from None
