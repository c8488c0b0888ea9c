"""The single-writer lock: ``flock(LOCK_EX | LOCK_NB)`` on the vault's ``lock`` file.

The kernel releases the lock when the holding process dies, so a crashed ``collect`` never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import VaultLocked


class WriterLock:
    """Holds the exclusive writer lock until :meth:`release`. Raises :class:`VaultLocked`
    on construction if another process holds it."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise VaultLocked("another aifs process is writing to this vault") from None

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
