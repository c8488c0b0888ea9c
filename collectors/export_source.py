"""A hosted platform's data export, opened for reading: a zip, its extracted folder, or one file.

Users download exports (ChatGPT, Claude.ai, Google Takeout …) as a zip archive; some extract
it first, some hand over just ``conversations.json``. :func:`open_export` accepts all three
and gives the importers (:mod:`collectors.importing`) one view: *members*, named by their
POSIX path inside the export (``conversations.json``, ``dalle-generations/file-x.webp``,
``Takeout/My Activity/Gemini Apps/MyActivity.json``), each opened as a stream.

Memory stays bounded by the largest single read, never by the export: members are streamed,
and a zip member too large to hand over as bytes (:data:`SPILL_BYTES`) is copied to a private
temporary file (mode 0600 in a 0700 folder, outside the vault, removed on :meth:`close`).

Errors: :class:`ExportError` names the export (or member) and says what is wrong; it never
quotes content. Zip members with unsafe names (absolute, ``..``) and, in folders, symlinks
and special files are left out (listed in :attr:`ExportSource.ignored`).
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator

from vault import RawFile, open_regular

__all__ = ["ExportError", "ExportSource", "Member", "SPILL_BYTES", "open_export"]

SPILL_BYTES = 4 * 1024 * 1024
"""Members larger than this are handed to the vault as a temporary file, not as bytes."""
MAX_MEMBERS = 500_000
"""A folder with more files than this is not an export (someone pointed at ``$HOME``)."""
PARTIAL_SUFFIXES = (".crdownload", ".part", ".partial", ".download", ".opdownload")
_BOM = b"\xef\xbb\xbf"
_JSON_WS = b" \t\r\n"


class ExportError(Exception):
    """The export as a whole cannot be read. ``path`` names the export (``zip!member`` for a
    member); ``reason`` says what is wrong, without quoting content."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Member:
    """One file inside an export: ``name`` (POSIX path inside it), ``size`` in bytes
    (uncompressed), ``mtime`` in Unix seconds (``None`` if unknown)."""

    name: str
    size: int
    mtime: float | None

    @property
    def basename(self) -> str:
        """The last path component (``file-abc-photo.png``)."""
        return self.name.rsplit("/", 1)[-1]


class _Counting(io.RawIOBase):
    """A read-only stream that adds what it reads to its owner's :attr:`ExportSource.bytes_read`."""

    def __init__(self, inner: BinaryIO, owner: "ExportSource", where: str) -> None:
        self._inner, self._owner, self._where = inner, owner, where

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        try:
            data = self._inner.read(len(b))
        except zipfile.BadZipFile as e:  # CRC mismatch, bad compressed data
            raise ExportError(self._where, f"damaged zip member ({e})") from None
        except (EOFError, zlib.error) as e:
            raise ExportError(self._where, f"damaged zip member ({type(e).__name__})") from None
        n = len(data)
        b[:n] = data
        self._owner.bytes_read += n
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


class ExportSource:
    """An opened export. Use as a context manager (or call :meth:`close`).

    ``path``: what the user named; ``kind``: ``"zip"``, ``"folder"`` or ``"file"``;
    ``members``: name → :class:`Member`, sorted by name; ``bytes_read``: bytes read so far
    through :meth:`open` / :meth:`read` (for a progress bar against :attr:`total_bytes`;
    :meth:`head` and :meth:`tail` are looks and do not count).
    """

    def __init__(self, path: Path, kind: str, members: dict[str, Member],
                 ignored: list[str], zf: zipfile.ZipFile | None = None) -> None:
        self.path = path
        self.kind = kind
        self.members = dict(sorted(members.items()))
        self.ignored = ignored
        self.bytes_read = 0
        self._zip = zf
        self._spill: Path | None = None

    def __enter__(self) -> "ExportSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the archive and remove temporary files."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)
            self._spill = None

    # -- naming ---------------------------------------------------------------------------

    @property
    def total_bytes(self) -> int:
        """Sum of every member's size (uncompressed)."""
        return sum(m.size for m in self.members.values())

    def where(self, name: str) -> str:
        """How messages name member ``name``: ``export.zip!conversations.json``, the file's
        own path for a folder, or just the path for a single-file export."""
        if self.kind == "zip":
            return f"{self.path}!{name}"
        if self.kind == "folder":
            return str(self.path / name)
        return str(self.path)

    def find(self, basename: str) -> list[str]:
        """Members whose last path component is ``basename`` (any folder), by name."""
        return [n for n, m in self.members.items() if m.basename == basename]

    def under(self, folder: str) -> list[str]:
        """Members inside ``folder`` (a member-name prefix, ``""`` for all), by name."""
        prefix = folder.rstrip("/") + "/" if folder else ""
        return [n for n in self.members if n.startswith(prefix)]

    # -- reading --------------------------------------------------------------------------

    def open(self, name: str) -> BinaryIO:
        """A binary stream of member ``name``. Raises :class:`ExportError` (missing, damaged)."""
        member = self.members.get(name)
        if member is None:
            raise ExportError(self.where(name), "no such file in the export")
        try:
            if self._zip is not None:
                inner: BinaryIO = self._zip.open(name)  # type: ignore[assignment]
            else:
                inner = open_regular(self._file_path(name))
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as e:
            raise ExportError(self.where(name), f"cannot open ({e})") from None
        except OSError as e:
            raise ExportError(self.where(name), e.strerror or str(e)) from None
        return io.BufferedReader(_Counting(inner, self, self.where(name)), 1 << 20)  # type: ignore[return-value]

    def read(self, name: str, limit: int = 256 * 1024 * 1024) -> bytes:
        """All bytes of member ``name``; :class:`ExportError` if it is larger than ``limit``."""
        member = self.members.get(name)
        if member is not None and member.size > limit:
            raise ExportError(self.where(name), f"too large to read at once ({member.size} bytes)")
        with self.open(name) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise ExportError(self.where(name), "too large to read at once")
        return data

    def head(self, name: str, size: int = 4096, *, strict: bool = False) -> bytes:
        """The first ``size`` bytes of member ``name``, to sniff its format: a leading UTF-8
        BOM removed, then leading JSON whitespace (space, tab, CR, LF) stripped, so that a
        JSON document starts with ``[`` or ``{``. Fewer bytes (or ``b""``) for a shorter file.

        A look, not progress: what it reads is not counted in :attr:`bytes_read`. Returns
        ``b""`` when the member is missing or cannot be opened or read (a damaged zip member,
        an I/O error), as for an empty file; with ``strict=True`` it raises
        :class:`ExportError` instead (when reading, so a damaged member is reported as such).
        """
        before = self.bytes_read
        try:
            with self.open(name) as f:
                data = f.read(size)
        except ExportError:
            if strict:
                raise
            return b""
        finally:
            self.bytes_read = before
        if data.startswith(_BOM):
            data = data[len(_BOM):]
        return data.lstrip(_JSON_WS)

    def tail(self, name: str, size: int = 64) -> bytes:
        """The last ``size`` bytes of member ``name`` (for a cheap "was it cut off?" check)."""
        member = self.members[name]
        if self._zip is None:
            try:
                with open_regular(self._file_path(name)) as f:
                    f.seek(max(0, member.size - size))
                    return f.read(size)
            except OSError as e:
                raise ExportError(self.where(name), e.strerror or str(e)) from None
        with self.open(name) as f:  # zip members cannot seek cheaply: stream to the end
            last = b""
            while chunk := f.read(1 << 20):
                last = (last + chunk)[-size:]
            self.bytes_read -= member.size  # a check, not progress
            return last

    def raw_file(self, name: str, stored_as: str) -> RawFile:
        """Member ``name`` as a :class:`vault.RawFile` called ``stored_as``: streamed from
        disk for folders and single files; for a zip, bytes if small, else a temporary copy."""
        member = self.members.get(name)
        if member is None:
            raise ExportError(self.where(name), "no such file in the export")
        mtime_ns = int(member.mtime * 1e9) if member.mtime is not None else None
        if self._zip is None:
            return RawFile(stored_as, path=self._file_path(name), mtime_ns=mtime_ns)
        if member.size <= SPILL_BYTES:
            return RawFile(stored_as, data=self.read(name), mtime_ns=mtime_ns)
        if self._spill is None:
            self._spill = Path(tempfile.mkdtemp(prefix="aifs-import-"))  # 0700
        target = self._spill / f"{len(os.listdir(self._spill))}"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, self.open(name) as src:
            shutil.copyfileobj(src, out, 1 << 20)
        return RawFile(stored_as, path=target, mtime_ns=mtime_ns)

    def whole(self) -> Iterator[RawFile]:
        """The export itself as raw files: the zip (or single file) as one file under its own
        name, or every member of a folder under its member name. Always streamed from disk."""
        if self.kind in ("zip", "file"):
            st = self.path.stat()
            yield RawFile(self.path.name, path=self.path, mtime_ns=st.st_mtime_ns)
            return
        for name, m in self.members.items():
            yield RawFile(name, path=self._file_path(name),
                          mtime_ns=int(m.mtime * 1e9) if m.mtime is not None else None)

    def _file_path(self, name: str) -> Path:
        return self.path if self.kind == "file" else self.path / name


def open_export(path: str | os.PathLike[str]) -> ExportSource:
    """Open ``path`` (a zip archive, an extracted export folder, or one export file).

    Raises :class:`ExportError` when it does not exist, is still downloading (``.crdownload``,
    ``.part`` …), is a corrupt or cut-off zip, or is a folder with no readable files.
    """
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ExportError(str(p), "no such file or folder") from None
    except OSError as e:
        raise ExportError(str(p), e.strerror or str(e)) from None
    if p.name.lower().endswith(PARTIAL_SUFFIXES):
        raise ExportError(str(p), "looks like a download that has not finished "
                                  "(wait for it to complete, then import the finished file)")
    if stat.S_ISDIR(st.st_mode):
        return _open_folder(p)
    if not stat.S_ISREG(st.st_mode):
        raise ExportError(str(p), "not a regular file or folder")
    if st.st_size == 0:
        raise ExportError(str(p), "the file is empty (half-downloaded?)")
    with open_regular(p) as f:
        magic = f.read(4)
    if magic[:2] == b"PK" or p.suffix.lower() == ".zip":
        return _open_zip(p)
    return ExportSource(p, "file", {p.name: Member(p.name, st.st_size, st.st_mtime)}, [])


def _open_zip(p: Path) -> ExportSource:
    try:
        zf = zipfile.ZipFile(p)
    except zipfile.BadZipFile:
        raise ExportError(str(p), "not a readable zip archive: it is damaged or cut off "
                                  "(half-downloaded?); download the export again") from None
    except OSError as e:
        raise ExportError(str(p), e.strerror or str(e)) from None
    members: dict[str, Member] = {}
    ignored: list[str] = []
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = info.filename
        parts = PurePosixPath(name).parts
        if (name.startswith("/") or "\\" in name or "\0" in name or not parts
                or any(part in ("..", ".") for part in parts) or name != "/".join(parts)):
            ignored.append(name)
            continue
        try:
            mtime = time.mktime(info.date_time + (0, 0, -1))  # zip times are local time
        except (OverflowError, ValueError):
            mtime = None
        members[name] = Member(name, info.file_size, mtime)
    if not members:
        zf.close()
        raise ExportError(str(p), "the zip archive holds no files")
    return ExportSource(p, "zip", members, ignored, zf)


def _open_folder(p: Path) -> ExportSource:
    members: dict[str, Member] = {}
    ignored: list[str] = []
    for root, dirs, files in os.walk(p, followlinks=False, onerror=None):
        rel_root = os.path.relpath(root, p)
        for d in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            dirs.remove(d)  # never followed (loops); named so the user knows
            ignored.append(d if rel_root == "." else f"{rel_root}/{d}".replace(os.sep, "/"))
        dirs.sort()
        for fname in sorted(files):
            rel = fname if rel_root == "." else f"{rel_root}/{fname}".replace(os.sep, "/")
            try:
                st = os.lstat(os.path.join(root, fname))
            except OSError:
                ignored.append(rel)
                continue
            if not stat.S_ISREG(st.st_mode):  # symlinks, sockets, fifos
                ignored.append(rel)
                continue
            members[rel] = Member(rel, st.st_size, st.st_mtime)
            if len(members) > MAX_MEMBERS:
                raise ExportError(str(p), f"more than {MAX_MEMBERS} files: this is not one "
                                          "export (point at the export's zip or its folder)")
    if not members:
        raise ExportError(str(p), "the folder holds no readable files")
    return ExportSource(p, "folder", members, ignored)
