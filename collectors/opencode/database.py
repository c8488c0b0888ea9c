"""Reading opencode's SQLite database: list session ids, dump one session's rows.

Schema (anomalyco/opencode ``packages/opencode/src/session/session.sql.ts``): tables
``session``, ``message``, ``part``, ``todo`` and (newer builds) ``session_message``, each
keyed to a session by ``id`` / ``session_id``. Tables and columns are introspected at read
time; a missing optional table is skipped and a ``part`` table without ``session_id`` (not
seen in released schemas, but cheap to handle) is joined through ``message``.

Never read: ``session_share`` (holds each share's ``secret``), ``account``/``control_account``
(auth tokens), ``permission``, ``project`` (shared by many sessions).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import TemporaryItemError
from ..rows import RowDump, columns, decode_text, quote, tables
from ..sqlite import read_snapshot

__all__ = ["SessionRows", "list_sessions", "read_session_rows"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionRows:
    """One session's rows: ``files`` maps ``<table>.jsonl`` to its JSONL bytes (tables with no
    row for this session are left out, ``session.jsonl`` is always there)."""

    files: dict[str, bytes]


def list_sessions(db: Path) -> list[str]:
    """Every session id in ``db``, sorted. ``[]`` if the database has no ``session`` table.

    Raises :class:`ItemError` / :class:`TemporaryItemError` (locked, damaged, unreadable).
    """
    with read_snapshot(db) as con:
        con.text_factory = decode_text
        if "session" not in tables(con):
            log.debug("%s has no session table", db)
            return []
        return sorted(str(r[0]) for r in con.execute("SELECT id FROM session") if r[0] is not None)


def read_session_rows(db: Path, session_id: str) -> SessionRows:
    """The rows of ``session_id`` in one read transaction.

    Raises :class:`TemporaryItemError` when the session is no longer in the database, and
    :class:`ItemError` / :class:`TemporaryItemError` for database problems.
    """
    out: dict[str, bytes] = {}
    with read_snapshot(db) as con:
        con.text_factory = decode_text
        present = tables(con)
        head = RowDump()
        head.extend(con.execute("SELECT * FROM session WHERE id = ?", (session_id,)))
        if not head.count:
            raise TemporaryItemError(f"{db}#{session_id}", "session no longer in the database")
        out["session.jsonl"] = head.data()
        for table, order in (
            ("message", ("time_created", "id")),
            ("part", ("message_id", "id")),
            ("todo", ("position",)),
            ("session_message", ("time_created", "id")),
        ):
            if table not in present:
                continue
            cols = columns(con, table)
            keys = ", ".join(quote(c) for c in order if c in cols) or "rowid"
            if "session_id" in cols:
                sql = f"SELECT * FROM {quote(table)} WHERE session_id = ? ORDER BY {keys}"
            elif table == "part" and "message_id" in cols and "message" in present:
                sql = (
                    f"SELECT * FROM part WHERE message_id IN "
                    f"(SELECT id FROM message WHERE session_id = ?) ORDER BY {keys}"
                )
            else:
                log.debug("%s: table %s has no session_id column; skipped", db, table)
                continue
            dump = RowDump()
            dump.extend(con.execute(sql, (session_id,)))
            if dump.count:
                out[f"{table}.jsonl"] = dump.data()
    return SessionRows(out)

