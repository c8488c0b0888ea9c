"""Sealing one blob: zstd, then AES-256-GCM with the blob's id and type in the AAD.

Blob ``Layout:``::

    suite:u8 (1 = AES-256-GCM, 12-byte random nonce) | compression:u8 (0 none, 1 zstd)
    | nonce:12 | ciphertext:n | tag:16

    AAD = b"aifs-blob" | suite:u8 | compression:u8 | type:u8 | id:32

``type`` is one of :data:`DATA` (a file chunk), :data:`MANIFEST` (a version manifest),
:data:`PACK_HEADER`. Binding type and id into the AAD means a blob cannot be swapped for
another (or presented as another kind) without failing authentication. Random nonces
allow 2**32 blobs per key before the collision bound matters, far past a personal vault.
Compression is skipped (``compression = 0``) when zstd does not make the blob smaller.
"""

from __future__ import annotations

import os
import struct
import threading

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
BLOB_HEADER = struct.Struct("<BB12s")  # suite, compression, nonce -> 14 bytes
OVERHEAD = BLOB_HEADER.size + 16
ZSTD_LEVEL = 3

_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    c = getattr(_local, "cctx", None)
    if c is None:
        c = _local.cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return c


def _decompressor() -> zstandard.ZstdDecompressor:
    d = getattr(_local, "dctx", None)
    if d is None:
        d = _local.dctx = zstandard.ZstdDecompressor()
    return d


def _aad(suite: int, comp: int, btype: int, blob_id: bytes) -> bytes:
    return b"aifs-blob" + bytes((suite, comp, btype)) + blob_id


class BlobCipher:
    """Seals and opens blobs under one 32-byte AES key. Thread-safe (per-thread zstd contexts)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, btype: int, blob_id: bytes, plaintext: bytes, compress: bool = True) -> bytes:
        """Compress (if it helps) and encrypt ``plaintext``; returns the sealed bytes
        (``OVERHEAD`` + compressed length)."""
        comp, body = COMP_NONE, plaintext
        if compress and len(plaintext) > 64:
            packed = _compressor().compress(plaintext)
            if len(packed) < len(plaintext):
                comp, body = COMP_ZSTD, packed
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
        if comp not in (COMP_NONE, COMP_ZSTD):
            raise UnsupportedFormat(f"blob uses unknown compression {comp}")
        try:
            body = self._aead.decrypt(nonce, sealed[BLOB_HEADER.size:],
                                      _aad(suite, comp, btype, blob_id))
        except InvalidTag:
            raise IntegrityError("blob failed authentication (altered or misplaced)", where) from None
        if comp == COMP_NONE:
            return body
        try:
            return _decompressor().decompress(body, max_output_size=raw_len or 0)
        except zstandard.ZstdError as e:
            raise IntegrityError(f"blob does not decompress: {e}", where) from None
