"""The vault's errors, one meaning each.

Tree::

    VaultError
    ├── VaultNotFound          no vault at the given path
    ├── VaultExists            `create` refused: something is already there
    ├── BadCredentials         wrong passphrase or recovery key (no key slot opened)
    ├── VaultLocked            another process holds the writer lock
    ├── StorageError           writing to the vault failed (disk full, I/O error); the
    │                          session stops, the last commit stays intact
    ├── UnsupportedFormat      written by a newer/unknown format version
    └── IntegrityError         stored bytes fail authentication or do not parse
        └── MissingData        a pack or blob the index points to is not there

Callers map these to exit codes (CLI) or errno (FUSE) at one boundary each.
"""

from __future__ import annotations


class VaultError(Exception):
    """Base class of every error the vault raises on purpose."""


class VaultNotFound(VaultError):
    """No vault exists at the path (``config`` missing)."""


class VaultExists(VaultError):
    """``create`` was asked to write where a vault (or any file) already exists."""


class BadCredentials(VaultError):
    """The passphrase or recovery key opened no key slot."""


class VaultLocked(VaultError):
    """Another process holds the single-writer lock (``lock`` file, ``flock``)."""


class StorageError(VaultError):
    """Writing a pack or the index failed (``OSError`` underneath, e.g. ENOSPC). The write
    session is unusable afterwards; everything committed before stays intact."""


class UnsupportedFormat(VaultError):
    """An on-disk structure has a magic or version this code does not read."""


class IntegrityError(VaultError):
    """Stored bytes failed authentication (AES-GCM tag, chunk id) or do not parse.

    ``where`` names the affected object (pack id, chunk id, LMDB database) for messages.
    """

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where


class MissingData(IntegrityError):
    """A pack file or a blob inside it that the index refers to does not exist."""
