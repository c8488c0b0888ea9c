"""Streaming zstd decompression that notices a cut-off input.

Codex ≥ 0.1xx may compress finished rollouts to ``rollout-….jsonl.zst`` (openai/codex
``codex-rs/rollout/src/compression.rs``). ``zstandard``'s stream reader treats a truncated
frame as a clean end of data; :class:`ZstdReader` reports it (``complete`` stays False) so a
half-written file gives a warning instead of silently short content.
"""

from __future__ import annotations

import io
from typing import BinaryIO

import zstandard

__all__ = ["ZstdReader", "decompress"]

_CHUNK = 1 << 16


class ZstdReader(io.RawIOBase):
    """A readable binary stream of the decompressed content of ``source`` (one or more zstd
    frames). Reads ``source`` in 64 KiB steps. Raises ``zstandard.ZstdError`` on corrupt
    data; after the end, ``complete`` is True only if the input ended on a frame boundary."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._pending = b""
        self._offset = 0
        self._in_frame = False
        self._eof = False
        self.complete = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._offset >= len(self._pending) and not self._eof:
            chunk = self._source.read(_CHUNK)
            if not chunk:
                self._eof = True
                self.complete = not self._in_frame
                break
            self._feed(chunk)
        size = min(len(buffer), len(self._pending) - self._offset)
        buffer[:size] = self._pending[self._offset : self._offset + size]
        self._offset += size
        return size

    def _feed(self, chunk: bytes) -> None:
        out = []
        while chunk:
            self._in_frame = True
            out.append(self._obj.decompress(chunk))
            if not self._obj.eof:
                break
            self._in_frame = False
            chunk = self._obj.unused_data
            self._obj = self._dctx.decompressobj()
        self._pending = b"".join(out)
        self._offset = 0


def decompress(data: bytes) -> tuple[bytes, str | None]:
    """``(content, problem)``: everything that decompresses, and ``None`` or a short reason
    (``"compressed data is cut off"``, ``"compressed data is corrupt"``)."""
    reader = ZstdReader(io.BytesIO(data))
    out = io.BytesIO()
    try:
        while True:
            chunk = reader.read(1 << 20)
            if not chunk:
                break
            out.write(chunk)
    except zstandard.ZstdError:
        return out.getvalue(), "compressed data is corrupt"
    return out.getvalue(), None if reader.complete else "compressed data is cut off"
