"""Plain data types shared by collectors (write side) and the CLI/mount (read side).

Write side: a collector turns one source conversation into a :class:`ConversationSnapshot`
whose :class:`RawFile` s are stored byte-for-byte. Read side: the vault answers with
:class:`ConversationInfo`, :class:`VersionInfo` and :class:`FileEntry`.

Times are Unix seconds as ``float`` (UTC) unless a name ends in ``_ns`` (integer nanoseconds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


def text_bytes(text: str) -> bytes:
    """Encode any Python ``str`` losslessly: UTF-8, with lone surrogates (from JSON such as
    ``"\\ud83c"`` or from undecodable file names) kept via ``surrogatepass``."""
    return text.encode("utf-8", "surrogatepass")


def bytes_text(data: bytes) -> str:
    """The inverse of :func:`text_bytes`."""
    return data.decode("utf-8", "surrogatepass")


@dataclass(frozen=True, slots=True)
class SourceStamp:
    """What one ``stat`` says of a source file; equal stamps mean "unchanged, skip it".

    ``path`` is absolute (str). ``size`` in bytes; ``mtime_ns``/``ctime_ns`` nanoseconds.
    A stamp with ``size == -1`` records a path that was missing when stamped.
    """

    path: str
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: str | os.PathLike[str], st: os.stat_result | None = None) -> "SourceStamp":
        """Stamp ``path`` (one ``os.stat``, or reuse ``st``); a missing path gets ``size=-1``."""
        p = os.fspath(path)
        if st is None:
            try:
                st = os.stat(p)
            except FileNotFoundError:
                return cls(p, 0, -1, 0, 0)
        return cls(p, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True, slots=True)
class RawFile:
    """One raw file of a conversation version, stored byte-identical.

    ``name``: relative POSIX path inside the version directory (``"<id>.jsonl"``,
    ``"subagents/agent-1.jsonl"``); no ``..``, no leading ``/``, no NUL.
    ``data``: the bytes, or ``None`` to stream them from ``path``.
    ``mtime_ns``: the source file's modification time, shown as the file's mtime in the mount.
    """

    name: str
    data: bytes | None = None
    path: Path | None = None
    mtime_ns: int | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.path is None):
            raise ValueError("RawFile needs exactly one of data or path")


@dataclass(frozen=True, slots=True)
class ConversationSnapshot:
    """The state of one conversation as a collector read it just now.

    Identity is ``(provider, org, native_id)``; ``org`` may be ``""`` to mean "this
    machine's org" (the runner fills in the configured default). ``title`` is the
    tool's current title (unsanitized; the mount makes it safe). ``files`` are the raw
    files of this version. ``links`` holds relations to other conversations by native
    id (``"parent"``, ``"forked_from"``). ``attributes`` is small JSON-able metadata shown
    in ``meta.json`` (cwd, model, tool version …). ``warnings`` lists per-item problems
    the collector tolerated (torn last line …), without message text.
    """

    provider: str
    native_id: str
    title: str
    files: tuple[RawFile, ...]
    org: str = ""
    created_at: float | None = None
    updated_at: float | None = None
    source_path: str | None = None
    links: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A stored raw file of one version: name, size in bytes, sha256 (32 bytes) and chunks.

    ``chunks`` is a tuple of ``(chunk_id: bytes(32), length: int)`` in file order;
    ``offsets`` (same length) the cumulative start offset of each chunk, for bisect.
    """

    name: str
    size: int
    sha256: bytes
    mtime_ns: int
    chunks: tuple[tuple[bytes, int], ...]
    offsets: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One immutable stored version of a conversation.

    ``serial``: vault-wide, never reused, assigned at commit (the mount derives inodes from it).
    ``name``: ``YYYY-MM-DDTHH-MM-SSZ`` of ``captured_at`` (``.N`` appended on collision).
    ``meta``: the normalized metadata (title, ids, times, source path, links, attributes)
    as it was at capture time.
    """

    serial: int
    conversation_serial: int
    name: str
    captured_at: float
    title: str
    files: tuple[FileEntry, ...]
    meta: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    """A conversation: identity, current title and its versions' serials, oldest first.

    ``serial`` is vault-wide and never reused; ``deleted_upstream_at`` is set once the
    source no longer has it (``None`` otherwise).
    """

    serial: int
    provider: str
    org: str
    native_id: str
    title: str
    created_at: float | None
    updated_at: float | None
    version_serials: tuple[int, ...]
    version_names: tuple[str, ...]
    last_captured_at: float
    deleted_upstream_at: float | None = None


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What storing one snapshot did: ``status`` is ``"new"`` (first version of a new
    conversation), ``"changed"`` (a new version), or ``"unchanged"`` (nothing stored).
    ``bytes_read`` raw bytes read; ``bytes_stored`` bytes added to packs (after zstd + AEAD).
    """

    status: str
    bytes_read: int
    bytes_stored: int
    version_name: str | None = None
