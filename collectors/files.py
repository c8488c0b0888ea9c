"""Filesystem helpers for local collectors: listing without reading, and one error mapping.

``discover`` must cost a directory listing plus one ``stat`` per file: the helpers here use
:func:`os.scandir` (whose entries carry the ``stat`` result) and never open a file.

Symlinks: a directory symlink *inside* a listed tree is not followed (no loops, no escaping
the tree); the top directory itself may be a symlink (users link ``~/.claude/skills`` to a
dotfiles repo). A file symlink is followed to a regular file unless its target's name is one
of the denied names, so a link cannot smuggle ``.credentials.json`` into the vault.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .errors import ItemError, TemporaryItemError

__all__ = [
    "FoundFile",
    "files_named",
    "io_error",
    "list_dir",
    "regular_file",
    "short_hash",
    "walk_files",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A regular file found by a listing: ``name`` (relative POSIX path inside the item),
    absolute ``path`` and the ``stat`` result taken while listing."""

    name: str
    path: Path
    st: os.stat_result


def short_hash(text: str) -> str:
    """The first 8 hex digits of SHA-256 of ``text`` (UTF-8, surrogates escaped); stable."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def list_dir(path: Path, *, strict: bool = False) -> list[os.DirEntry[str]]:
    """The entries of directory ``path`` sorted by name; ``[]`` if it is missing.

    Other errors (permission …) give ``[]`` with a warning in the log, or propagate as
    ``OSError`` when ``strict``.
    """
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        if strict:
            raise
        log.warning("cannot list %s: %s", path, exc.strerror or exc)
        return []


def regular_file(
    entry: os.DirEntry[str], deny: frozenset[str] = frozenset()
) -> os.stat_result | None:
    """The ``stat`` of ``entry`` if it is (a symlink to) a regular file whose name and target
    name are not in ``deny``; ``None`` otherwise (also when it vanished)."""
    if entry.name in deny:
        return None
    try:
        if entry.is_symlink():
            if os.path.basename(os.path.realpath(entry.path)) in deny:
                return None
            st = os.stat(entry.path)
        else:
            st = entry.stat(follow_symlinks=False)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def walk_files(top: Path, prefix: str = "", deny: frozenset[str] = frozenset()) -> list[FoundFile]:
    """Every regular file below directory ``top``, sorted by name, named ``prefix + relpath``.

    Directory symlinks below ``top`` are skipped; names in ``deny`` are skipped at any depth.
    A missing ``top`` gives ``[]``.
    """
    found: list[FoundFile] = []
    stack: list[tuple[Path, str]] = [(top, prefix)]
    while stack:
        directory, rel = stack.pop()
        subdirs: list[tuple[Path, str]] = []
        for entry in list_dir(directory):
            if entry.name in deny:
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                subdirs.append((Path(entry.path), f"{rel}{entry.name}/"))
                continue
            st = regular_file(entry, deny)
            if st is not None:
                found.append(FoundFile(f"{rel}{entry.name}", Path(entry.path), st))
        stack.extend(reversed(subdirs))
    found.sort(key=lambda f: f.name)
    return found


def files_named(directory: Path, names: Iterable[str], deny: frozenset[str]) -> Iterator[FoundFile]:
    """The files among ``names`` that exist directly in ``directory`` (one listing)."""
    wanted = set(names)
    for entry in list_dir(directory):
        if entry.name in wanted:
            st = regular_file(entry, deny)
            if st is not None:
                yield FoundFile(entry.name, Path(entry.path), st)


def files_with_suffix(folder: Path, suffix: str,
                      deny: frozenset[str] = frozenset()) -> Iterator[FoundFile | ItemError]:
    """The regular, non-hidden files of ``folder`` whose name ends with ``suffix``, sorted by
    name; nothing if the folder is missing, one :class:`ItemError` if it cannot be listed.
    Lists and stats only."""
    try:
        entries = list_dir(folder, strict=True)
    except FileNotFoundError:
        return
    except OSError as exc:
        yield io_error(folder, exc)
        return
    for entry in entries:
        if not entry.name.endswith(suffix) or entry.name.startswith("."):
            continue
        st = regular_file(entry, deny)
        if st is not None:
            yield FoundFile(entry.name, Path(entry.path), st)


def io_error(path: Path | str, exc: OSError) -> ItemError:
    """The collector error for an ``OSError`` met while reading ``path``.

    Vanished files, and errors that usually pass (busy, interrupted, I/O hiccups on network
    filesystems), become :class:`TemporaryItemError`; permission and type problems become
    a permanent :class:`ItemError`. The message names the path and the reason only.
    """
    where = os.fspath(path)
    if isinstance(exc, FileNotFoundError):
        return TemporaryItemError(where, "vanished before it could be read")
    if isinstance(exc, PermissionError):
        return ItemError(where, "permission denied")
    if isinstance(exc, (IsADirectoryError, NotADirectoryError)) or (
            exc.errno == errno.EINVAL and exc.strerror == "not a regular file"):  # open_regular
        return ItemError(where, "not a regular file")
    reason = exc.strerror or type(exc).__name__
    if exc.errno in (
        errno.EAGAIN,
        errno.EBUSY,
        errno.EINTR,
        errno.EIO,
        errno.ESTALE,
        errno.ETIMEDOUT,
    ):
        return TemporaryItemError(where, f"cannot read: {reason}")
    return ItemError(where, f"cannot read: {reason}")
