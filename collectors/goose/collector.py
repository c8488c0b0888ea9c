"""The Goose collector: sessions from ``sessions.db`` and legacy ``*.jsonl`` session files.

Sessions directory: ``options["path"]`` if set (the folder holding ``sessions.db``), else
``$GOOSE_PATH_ROOT/data/sessions`` when that variable is set, else
``$XDG_DATA_HOME/goose/sessions`` (default ``~/.local/share/goose/sessions``). Layout
(FORMATS.md "Goose"; block/goose ``crates/goose/src/session/session_manager.rs``,
``legacy.rs``)::

    sessions.db (+ -wal)        SQLite: tables sessions, messages, schema_version  (goose ≥ 1.10)
    <name>.jsonl                one older session per file: metadata line + message lines

Decisions:

* **Items**: one per session id (key = native id). A database session's raw files are its
  rows: ``sessions.jsonl`` (one row) and ``messages.jsonl`` (:mod:`collectors.rows`, columns as
  stored) and its stamps are the database and its ``-wal``. A legacy session's raw file is
  the ``.jsonl`` itself, streamed by path; metadata comes from its first line, its first user
  message and its last line, so a 200 MB file is never loaded whole.
* **Legacy files already imported**: Goose imports every ``.jsonl`` into a new database and
  leaves the files in place, so a file whose name is a session id in the database is not an
  item (the database copy is newer).
* **Secrets**: ``sessions.extension_data`` can hold MCP extension configs with environment
  variables and HTTP headers the user typed (API keys). Values under ``envs``/``env``/
  ``headers`` keys are replaced by ``[redacted by aifs]`` before storing (the only change made
  to a stored row; the attribute ``redacted`` says so). Never read: ``config.yaml``,
  ``secrets.yaml``, the keyring, logs, ``sessions.db`` backups.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, io_error, list_dir, regular_file
from ..jsonl import parse_object
from ..locations import expand, option_path, xdg_data_home
from ..rows import RowDump, columns, decode_text, row_object, tables
from ..sqlite import db_stamps, read_snapshot
from ..titles import title_from_text

# The message parser and the renderer are imported by the functions that use them: every
# command loads every collector, and listing sources (``locate``, ``discover``) needs neither.

__all__ = ["GooseCollector"]

log = logging.getLogger(__name__)

PROVIDER = "goose"
DB_NAME = "sessions.db"
MAX_LINE = 8 * 1024 * 1024
TAIL = 256 * 1024


@dataclass(frozen=True)
class _DbHint:
    db: Path
    session_id: str


@dataclass(frozen=True)
class _FileHint:
    file: FoundFile


class GooseCollector:
    """Goose sessions (see the module docstring). :meth:`read` raises
    :class:`~collectors.TemporaryItemError` when a session or its file vanished or the
    database is locked, :class:`~collectors.ItemError` when it is damaged or unreadable."""

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def sessions_dir(self, ctx: CollectContext) -> Path:
        """The folder holding ``sessions.db`` and legacy ``.jsonl`` files (may not exist)."""
        option = option_path(ctx)
        if option is not None:
            return option
        root = ctx.env.get("GOOSE_PATH_ROOT", "")
        if root:
            return expand(root, ctx.home) / "data" / "sessions"
        return xdg_data_home(ctx) / "goose" / "sessions"

    def locate(self, ctx: CollectContext) -> list[Path]:
        """``[sessions dir]`` when it exists."""
        folder = self.sessions_dir(ctx)
        return [folder] if folder.is_dir() else []

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Database sessions (by id), then legacy files not imported into the database."""
        folder = self.sessions_dir(ctx)
        try:
            entries = list_dir(folder, strict=True)
        except FileNotFoundError:
            return
        except OSError as exc:
            yield io_error(folder, exc)
            return
        in_db: set[str] = set()
        db = folder / DB_NAME
        if db.is_file():
            try:
                ids = _list_db(db)
            except ItemError as exc:
                yield exc
                ids = []
            stamps = db_stamps(db)
            for sid in ids:
                in_db.add(sid)
                yield SourceItem(sid, stamps, _DbHint(db, sid))
        for entry in entries:
            if not entry.name.endswith(".jsonl") or entry.name.startswith("."):
                continue
            sid = entry.name[: -len(".jsonl")]
            st = regular_file(entry)
            if st is None or sid in in_db:
                continue
            found = FoundFile(entry.name, Path(entry.path), st)
            yield SourceItem(sid, (SourceStamp.of(found.path, st),), _FileHint(found))

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one session. Raises :class:`ItemError` / :class:`TemporaryItemError`."""
        hint = item.hint
        if not isinstance(hint, (_DbHint, _FileHint)):
            hint = next((f.hint for f in self.discover(ctx)
                         if isinstance(f, SourceItem) and f.key == item.key), None)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        if isinstance(hint, _DbHint):
            return self._read_db(item.key, hint)
        return self._read_file(item.key, hint.file)

    def _read_db(self, key: str, hint: _DbHint) -> ConversationSnapshot:
        from .messages import REDACTED, first_prompt, load_db_session, redact_extension_data

        if not hint.db.exists():
            raise TemporaryItemError(os.fspath(hint.db), "database vanished before it could be read")
        head, msgs, redacted = RowDump(), RowDump(), False
        with read_snapshot(hint.db) as con:
            con.text_factory = decode_text
            cur = con.execute("SELECT * FROM sessions WHERE id = ?", (hint.session_id,))
            names = [d[0] for d in cur.description]
            for row in cur:
                obj = row_object(names, row)
                if "extension_data" in obj:
                    cleaned = redact_extension_data(obj["extension_data"])
                    redacted = redacted or cleaned is not obj["extension_data"]
                    obj["extension_data"] = cleaned
                head.add(list(obj), obj.values())
            if not head.count:
                raise TemporaryItemError(f"{hint.db}#{hint.session_id}", "session no longer in the database")
            if "messages" in tables(con):
                order = "id" if "id" in columns(con, "messages") else "rowid"
                msgs.extend(con.execute(
                    f"SELECT * FROM messages WHERE session_id = ? ORDER BY {order}", (hint.session_id,)))
        files = {"sessions.jsonl": head.data()}
        if msgs.count:
            files["messages.jsonl"] = msgs.data()
        s = load_db_session(files)
        mtime_ns = int(s.updated_at * 1e9) if s.updated_at is not None else None
        title, source = (s.name, "goose") if s.name else _fallback(s.description, first_prompt(s))
        attributes: dict[str, Any] = {"source": "database", "title_source": source, "messages": len(s.messages)}
        if s.working_dir:
            attributes["working_dir"] = s.working_dir
        if s.session_type:
            attributes["session_type"] = s.session_type
        if redacted:
            attributes["redacted"] = f"extension_data values under env/header keys replaced by {REDACTED!r}"
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=key,
            title=title,
            files=tuple(RawFile(n, data=d, mtime_ns=mtime_ns) for n, d in files.items()),
            created_at=s.created_at,
            updated_at=s.updated_at,
            source_path=f"{hint.db}#sessions/{hint.session_id}",
            attributes=attributes,
            warnings=tuple(s.problems),
        )

    def _read_file(self, key: str, found: FoundFile) -> ConversationSnapshot:
        from ..scan import torn_last_line

        path = found.path
        try:
            info = _scan_jsonl(path)
            torn = torn_last_line(path, MAX_LINE)
        except OSError as exc:
            raise io_error(path, exc) from None
        warnings = list(info["problems"])
        if torn is not None:
            warnings.append(torn.warning)
        title, source = _fallback(info["description"], info["prompt"])
        attributes: dict[str, Any] = {"source": "legacy jsonl", "title_source": source}
        if info["working_dir"]:
            attributes["working_dir"] = info["working_dir"]
        st = info["st"]
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=key,
            title=title,
            files=(RawFile(path.name, path=path, mtime_ns=st.st_mtime_ns),),
            created_at=info["created"],
            updated_at=info["updated"] if info["updated"] is not None else st.st_mtime,
            source_path=str(path),
            attributes=attributes,
            warnings=tuple(warnings),
        )

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version (database rows or a legacy file)."""
        from .render import render_goose

        return render_goose(files, meta)


def _list_db(db: Path) -> list[str]:
    with read_snapshot(db) as con:
        con.text_factory = decode_text
        if "sessions" not in tables(con):
            return []
        return sorted(str(r[0]) for r in con.execute("SELECT id FROM sessions") if r[0] is not None)


def _fallback(description: str | None, prompt: str) -> tuple[str, str]:
    if description:
        return description, "goose"
    return (prompt, "first prompt") if prompt else ("Untitled", "none")


def _created(value: dict[str, Any]) -> float | None:
    from .messages import parse_sqlite_time

    return parse_sqlite_time(value.get("created"))


def _scan_jsonl(path: Path) -> dict[str, Any]:
    """Metadata of a legacy session file, reading line 1, lines up to the first user prompt
    and the last 256 KiB only. Raises ``OSError``."""
    from .messages import content_text

    out: dict[str, Any] = {"description": None, "working_dir": None, "prompt": "",
                           "created": None, "updated": None, "problems": []}
    with open_regular(path) as stream:
        out["st"] = os.fstat(stream.fileno())
        number = 0
        need_prompt = True
        while True:
            raw = stream.readline(MAX_LINE + 1)
            if not raw:
                break
            number += 1
            if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest of an oversized line
                    raw = stream.readline(1 << 20)
                continue
            line = raw.strip()
            if not line:
                continue
            if number == 1 or out["created"] is None or (need_prompt and (b'"user"' in line)):
                value, reason = parse_object(line)
                if value is None:
                    if number == 1:
                        out["problems"].append(f"line 1: {reason}")
                    continue
                if number == 1 and "role" not in value and "content" not in value:
                    desc = value.get("description")
                    out["description"] = desc if isinstance(desc, str) and desc else None
                    wd = value.get("working_dir")
                    out["working_dir"] = wd if isinstance(wd, str) and wd else None
                    need_prompt = out["description"] is None  # the title is known
                    continue
                if out["created"] is None:
                    out["created"] = _created(value)
                if need_prompt and value.get("role") == "user":
                    meta = value.get("metadata")
                    visible = not (isinstance(meta, dict) and meta.get("userVisible") is False)
                    content = value.get("content")
                    text = content_text(content) if isinstance(content, list) else ""
                    title = title_from_text(text) if visible else ""
                    if title:
                        out["prompt"] = title
                        need_prompt = False
            if not need_prompt and out["created"] is not None:
                break
        size = out["st"].st_size
        stream.seek(max(0, size - TAIL))
        tail = stream.read(TAIL)
    for line in reversed(tail.splitlines()[1 if size > TAIL else 0:]):
        value, _ = parse_object(line.strip()) if line.strip() else (None, None)
        if value is not None and "role" in value:
            out["updated"] = _created(value)
            break
    return out

