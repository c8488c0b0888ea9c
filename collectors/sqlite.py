"""Reading a tool's SQLite database safely while the tool may be running.

Rules for every collector that reads SQLite (Cursor ``state.vscdb``, opencode, Goose, Zed …):

* open read-only (``mode=ro``): the connection sees committed transactions in the ``-wal``
  file, so nothing is missed while the tool runs, and nothing is ever written;
* read everything of one pass inside one read transaction (:func:`read_snapshot`), so the
  rows are consistent with each other;
* never store the database file itself as a raw file (it holds other conversations and,
  for some tools, credentials): a version's raw file is the conversation's own records;
* a locked or busy database is a :class:`TemporaryItemError`; a damaged one an
  :class:`ItemError` for the items it holds. Neither stops the run.

Stamps: the database file and its ``-wal`` (not ``-shm``, which changes on every read).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

from vault import SourceStamp

from .errors import ItemError, TemporaryItemError

BUSY_TIMEOUT = 2.0


def db_stamps(path: Path) -> tuple[SourceStamp, ...]:
    """Stamps of ``path`` and its ``-wal`` file (when present): one ``stat`` each."""
    stamps = [SourceStamp.of(path)]
    wal = Path(os.fspath(path) + "-wal")
    if wal.exists():
        w = SourceStamp.of(wal)
        # SQLite run as root fchowns the -wal on every open, even read-only, which moves its
        # ctime: leave ctime out so reading does not make the item look changed.
        stamps.append(SourceStamp(w.path, w.ino, w.size, w.mtime_ns, 0))
    return tuple(stamps)


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to ``path`` that sees the ``-wal``.

    Falls back to ``immutable=1`` only when there is no ``-wal`` and the ``-shm`` cannot be
    created (read-only directory). Raises :class:`ItemError` / :class:`TemporaryItemError`.
    """
    base = "file:" + quote(os.fspath(path)) + "?mode=ro"
    try:
        con = sqlite3.connect(base, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None,
                              check_same_thread=False)
        con.execute("PRAGMA query_only = 1")
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.OperationalError as e:
        if not os.path.exists(os.fspath(path) + "-wal") and "unable to open" in str(e):
            try:
                con = sqlite3.connect(base + "&immutable=1", uri=True, isolation_level=None,
                                      check_same_thread=False)
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return con
            except sqlite3.DatabaseError:
                pass
        raise _item_error(path, e) from None
    except sqlite3.DatabaseError as e:
        raise _item_error(path, e) from None


def _item_error(path: Path, e: Exception) -> ItemError:
    text = str(e).lower()
    if "locked" in text or "busy" in text:
        return TemporaryItemError(os.fspath(path), "database is locked by its tool; try again later")
    if "unable to open" in text:
        return ItemError(os.fspath(path), "database cannot be opened")
    return ItemError(os.fspath(path), f"not a readable SQLite database ({type(e).__name__})")


@contextmanager
def read_snapshot(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection inside one read transaction; closed afterwards.

    Errors raised by SQLite inside the block become :class:`ItemError` /
    :class:`TemporaryItemError` naming ``path``.
    """
    con = open_readonly(path)
    try:
        con.execute("BEGIN")
        yield con
        con.execute("COMMIT")
    except sqlite3.DatabaseError as e:
        raise _item_error(path, e) from None
    finally:
        con.close()
