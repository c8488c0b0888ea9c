"""The opencode collector: sessions from opencode's SQLite database and its legacy JSON tree.

Data directory: ``options["path"]`` if set, else ``$XDG_DATA_HOME/opencode`` (default
``~/.local/share/opencode``; opencode uses the XDG layout on macOS too). Layout (FORMATS.md
"opencode"; anomalyco/opencode ``packages/opencode/src/storage/db.ts``,
``src/session/session.sql.ts``, ``src/storage/json-migration.ts``)::

    opencode.db (+ -wal)               SQLite, WAL: tables session, message, part, todo …
    opencode-<channel>.db              the same for non-release channels (dev builds …)
    storage/session/<project>/<id>.json, storage/message/<id>/…, storage/part/<msg>/…
                                       the legacy JSON tree (opencode < 1.2, kept after migration)

``$OPENCODE_DB`` names the database instead (absolute, or relative to the data directory;
``:memory:`` means none), as opencode itself does.

Decisions:

* **Items**: one per session id (key = native id). A database session's raw files are its
  rows as ``session.jsonl``, ``message.jsonl``, ``part.jsonl``, ``todo.jsonl``
  (:mod:`collectors.rows`, one JSON object per row, columns as stored); its stamps are the
  database and its ``-wal`` (any write re-reads every session; unchanged ones are then
  deduplicated by the vault). A legacy session's raw files are its own JSON files under their
  paths relative to ``storage/`` (session, messages, parts, ``todo/``, ``session_diff/``),
  streamed; each is stamped.
* **A session in the database and in the legacy tree** (opencode's migration copies the tree
  into the database and leaves the tree in place): the database copy wins and the legacy
  copy is not an item. Legacy sessions the migration skipped (no project file) stay items.
* **The same id in two databases** (a channel database): the first database (``opencode.db``,
  then the others by name) keeps the plain id, others get ``<id>@<channel>``.
* **Discover** lists session ids with one read-only query per database (a listing, no
  message is read) and lists the tree's folders; nothing else.
* Never read: ``session_share`` (its ``secret``), ``auth.json``, ``account`` tables, ``project``
  and ``permission`` (shared by many sessions), logs, snapshots.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem
from ..errors import ItemError, TemporaryItemError
from ..files import io_error, list_dir, regular_file
from ..locations import expand, option_path, xdg_data_home
from ..sqlite import db_stamps
from .database import list_sessions, read_session_rows
from .storage import TreeSession, list_tree

# The session parser and the renderer are imported by the functions that use them: every
# command loads every collector, and listing sources (``locate``, ``discover``) needs neither.

__all__ = ["OpencodeCollector"]

log = logging.getLogger(__name__)

PROVIDER = "opencode"
_DB_NAME = re.compile(r"^opencode(?:-(?P<channel>[A-Za-z0-9._-]+))?\.db$")


@dataclass(frozen=True)
class _DbHint:
    db: Path
    session_id: str
    native_id: str


@dataclass(frozen=True)
class _TreeHint:
    storage: Path
    session: TreeSession
    native_id: str


class OpencodeCollector:
    """opencode sessions (see the module docstring).

    Items: one per session (key = native id = session id, ``<id>@<channel>`` for a repeat in
    a second database). :meth:`read` raises :class:`~collectors.TemporaryItemError` when the
    session or its database vanished or is locked, :class:`~collectors.ItemError` when the
    database is damaged.
    """

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    # -- where ------------------------------------------------------------------------------

    def data_dir(self, ctx: CollectContext) -> Path:
        """opencode's data directory for ``ctx`` (it may not exist)."""
        return option_path(ctx) or xdg_data_home(ctx) / "opencode"

    def databases(self, ctx: CollectContext) -> list[Path]:
        """The database files to read, ``opencode.db`` first (existing ones only)."""
        data = self.data_dir(ctx)
        env = ctx.env.get("OPENCODE_DB", "")
        if env:
            if env == ":memory:":
                return []
            path = expand(env, ctx.home)
            path = path if path.is_absolute() else data / path
            return [path] if path.is_file() else []
        found = []
        for entry in list_dir(data):
            if _DB_NAME.match(entry.name) and regular_file(entry) is not None:
                found.append(Path(entry.path))
        return sorted(found, key=lambda p: (p.name != "opencode.db", p.name))

    def locate(self, ctx: CollectContext) -> list[Path]:
        """The databases and the legacy ``storage/`` folder that exist."""
        roots = self.databases(ctx)
        storage = self.data_dir(ctx) / "storage"
        if storage.is_dir():
            roots.append(storage)
        return roots

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Database sessions (per database, by id), then legacy sessions not in a database."""
        seen: set[str] = set()
        for db in self.databases(ctx):
            try:
                ids = list_sessions(db)
            except ItemError as exc:
                yield exc
                continue
            stamps = db_stamps(db)
            channel = _channel(db)
            for sid in ids:
                native = sid if sid not in seen else f"{sid}@{channel}"
                if native in seen:
                    continue
                seen.add(native)
                yield SourceItem(native, stamps, _DbHint(db, sid, native))
        in_db = {s.split("@", 1)[0] for s in seen}
        storage = self.data_dir(ctx) / "storage"
        try:
            list_dir(storage / "session", strict=True)
        except FileNotFoundError:
            return
        except OSError as exc:
            yield io_error(storage / "session", exc)
            return
        for tree in list_tree(storage):
            if tree.session_id in in_db:
                log.debug("legacy session %s is also in the database; skipped", tree.session_id)
                continue
            native = tree.session_id if tree.session_id not in seen else f"{tree.session_id}@{tree.project_id}"
            if native in seen:
                continue
            seen.add(native)
            stamps = tuple(SourceStamp.of(f.path, f.st) for f in tree.files)
            yield SourceItem(native, stamps, _TreeHint(storage, tree, native))

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one session. Raises :class:`ItemError` / :class:`TemporaryItemError`."""
        hint = item.hint
        if not isinstance(hint, (_DbHint, _TreeHint)):
            hint = next(
                (f.hint for f in self.discover(ctx) if isinstance(f, SourceItem) and f.key == item.key),
                None,
            )
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        if isinstance(hint, _DbHint):
            return self._read_db(hint)
        return self._read_tree(hint)

    def _read_db(self, hint: _DbHint) -> ConversationSnapshot:
        from .session import load_session, ms_to_seconds

        if not hint.db.exists():
            raise TemporaryItemError(os.fspath(hint.db), "database vanished before it could be read")
        rows = read_session_rows(hint.db, hint.session_id)
        s = load_session(rows.files)
        mtime_ns = int(s.updated_ms * 1_000_000) if s.updated_ms is not None else None
        files = tuple(RawFile(name, data=data, mtime_ns=mtime_ns) for name, data in rows.files.items())
        title, source = _title(s.title, s)
        attributes = _attributes(s, source)
        attributes.update({"source": "database", "database": hint.db.name,
                           "messages": len(s.messages)})
        log.debug("read %s from %s: %d rows files", hint.native_id, hint.db, len(files))
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=title,
            files=files,
            created_at=ms_to_seconds(s.created_ms),
            updated_at=ms_to_seconds(s.updated_ms),
            source_path=f"{hint.db}#session/{hint.session_id}",
            links={"parent": s.parent_id} if s.parent_id else {},
            attributes=attributes,
            warnings=tuple(s.problems),
        )

    def _read_tree(self, hint: _TreeHint) -> ConversationSnapshot:
        from .session import load_session, ms_to_seconds

        head = hint.session.files[0]
        contents: dict[str, bytes] = {}
        files: list[RawFile] = []
        warnings: list[str] = []
        for found in hint.session.files:
            try:
                with open_regular(found.path) as stream:
                    st = os.fstat(stream.fileno())
                    contents[found.name] = stream.read()
            except FileNotFoundError as exc:
                if found is head:
                    raise io_error(found.path, exc) from None
                warnings.append(f"{found.name}: vanished before it could be read")
                continue
            except OSError as exc:
                raise io_error(found.path, exc) from None
            files.append(RawFile(found.name, path=found.path, mtime_ns=st.st_mtime_ns))
        s = load_session(contents)
        del contents
        warnings.extend(s.problems)
        title, source = _title(s.title, s)
        attributes = _attributes(s, source)
        attributes.update({"source": "storage", "messages": len(s.messages)})
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=title,
            files=tuple(files),
            created_at=ms_to_seconds(s.created_ms),
            updated_at=ms_to_seconds(s.updated_ms) or head.st.st_mtime,
            source_path=str(head.path),
            links={"parent": s.parent_id} if s.parent_id else {},
            attributes=attributes,
            warnings=tuple(warnings),
        )

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version (either layout)."""
        from .render import render_session

        return render_session(files, meta)


def _channel(db: Path) -> str:
    m = _DB_NAME.match(db.name)
    if m and m.group("channel"):
        return m.group("channel")
    return db.stem


def _title(stored: str | None, s: Any) -> tuple[str, str]:
    from .session import first_prompt

    if stored:
        return stored, "opencode"
    prompt = first_prompt(s)
    return (prompt, "first prompt") if prompt else ("Untitled", "none")


def _attributes(s: Any, title_source: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {"title_source": title_source}
    for key in ("directory", "version", "slug", "project_id", "share_url"):
        value = getattr(s, key)
        if value:
            attributes[key] = value
    if s.archived_ms is not None:
        attributes["archived"] = True
    if s.revert:
        attributes["reverted"] = True
    for m in reversed(s.messages):
        model = m.info.get("modelID")
        if isinstance(model, str) and model:
            attributes["model"] = model
            break
    return attributes
