"""The Cursor collector: IDE chats and composers, cursor-agent sessions and agent transcripts.

Roots (:mod:`.paths`): the IDE's User dir (``options["path"]``) and the cursor-agent home
``~/.cursor`` (``options["agent_path"]``). Items, in the order ``discover`` yields them::

    ~/.cursor/projects/<p>/agent-transcripts/<id>/<id>.jsonl (+ subagents/), or <id>.jsonl
                                        -> "transcript-<id>"  files by path   (transcripts.py)
    ~/.cursor/chats/<md5(cwd)>/<id>/store.db
                                        -> "<id>"             store.jsonl     (agent_store.py)
    User/globalStorage/state.vscdb  composerData:<id> + bubbleId:<id>:*
                                        -> "<id>"             composer.jsonl  (vscdb.py)
    User/workspaceStorage/<hash>/state.vscdb
        composer.composerData allComposers[] with conversation[] inline (old format)
                                        -> "<id>"             composer.jsonl
        workbench.panel.aichat.view.aichat.chatdata tabs[]  (legacy chat)
                                        -> "chat-<tabId>"     chat.jsonl
        aiService.prompts               -> "prompts-<hash>"   prompts.jsonl

Decisions:

* **Raw files of database items** are the conversation's own rows, stored exactly
  (:mod:`.records` documents the layout and how to restore it); never a database file.
* **Stamps** of a database item are ``db_stamps`` of its database (plus ``workspace.json``
  for workspace items), so any write to ``state.vscdb`` re-reads every conversation in it;
  unchanged ones then store nothing (their bytes are identical). That is the price of
  SQLite sources: a row's change leaves no trace in a file's ``stat``.
* **discover** lists files with one ``stat`` each and opens no transcript or ``store.db``;
  it must open ``state.vscdb`` files, with key-listing queries on the global one and a read
  of the two workspace values that hold several conversations (see :mod:`.vscdb`).
* **Ids**: a composer keeps its composerId, a cursor-agent session its session id. An id
  claimed twice (an old workspace copy of a migrated composer, one id in two workspaces)
  gets a suffix naming where it was found (``@workspace-<8 hex of sha256(hash dir)>``,
  ``@chats-…``, ``@project-…``); claims go global composers, sessions, workspaces (by
  folder name), transcripts, so the result is deterministic. A transcript of a
  conversation found in a database names it in ``links["transcript_of"]``.
* **Workspace of a global composer**: from the workspace databases that reference it,
  read by ``discover``; not stamped, so a newly recorded folder shows up with the
  conversation's next change.
* **Empty drafts** (composers that never got a message) are not items: Cursor does not show
  them either.
* Never read: ``cursorAuth/*`` rows (excluded in every query), ``cli-config.json``,
  ``auth.json``, anything not listed above.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, files_named, io_error, list_dir, short_hash
from ..sqlite import db_stamps
from ..timestamps import parse_epoch
from .messages import choose_title
from .paths import agent_dir, user_dir, workspace_folder
from .transcripts import DENIED, find_transcripts, first_prompt
from .vscdb import (
    WS_CHAT,
    WS_COMPOSERS,
    ElementCache,
    Extract,
    WorkspaceListing,
    list_global,
    list_workspace,
    read_global_composer,
    read_prompts,
    read_workspace_element,
)

# The agent-store reader and the renderers are imported by the methods that use them: every
# command loads every collector, and listing sources (``locate``, ``discover``) needs neither.

__all__ = ["CursorCollector"]

log = logging.getLogger(__name__)

PROVIDER = "cursor"
STATE_DB = "state.vscdb"
STORE_DB = "store.db"
MAX_SCAN_LINE = 8 * 1024 * 1024

COMPOSER_FILE = "composer.jsonl"
CHAT_FILE = "chat.jsonl"
PROMPTS_FILE = "prompts.jsonl"
STORE_FILE = "store.jsonl"


@dataclass(frozen=True)
class _Hint:
    """What ``discover`` hands to ``read``: ``kind`` (composer, workspace-composer, chat,
    prompts, agent-session, transcript), ``source_id`` (the tool's own id), ``path`` (the
    database, or the transcript's main file), the ``workspace`` folder, transcript
    ``files``, ``group`` (``projects/<p>`` or ``chats/<md5>`` folder name) and links."""

    kind: str
    native_id: str
    source_id: str
    path: Path
    workspace: Path | None = None
    files: tuple[FoundFile, ...] = ()
    group: str | None = None
    links: tuple[tuple[str, str], ...] = ()


class _Claims:
    """Native ids handed out in one ``discover`` (see "Ids" in the module docstring)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, base: str, suffix: str) -> str:
        native = base if base not in self.taken else f"{base}@{suffix}"
        n = 2
        while native in self.taken:
            native, n = f"{base}@{suffix}-{n}", n + 1
        self.taken.add(native)
        return native


class CursorCollector:
    """Cursor IDE and cursor-agent history (see the module docstring).

    Items are keyed by their native id. :meth:`read` raises
    :class:`~collectors.TemporaryItemError` when an item vanished or its database is locked,
    :class:`~collectors.ItemError` when it cannot be read.
    """

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def __init__(self) -> None:
        self._elements = ElementCache()

    # -- where ------------------------------------------------------------------------------

    def roots(self, ctx: CollectContext) -> tuple[Path, Path]:
        """``(IDE User dir, cursor-agent home)`` for ``ctx`` (they may not exist)."""
        return user_dir(ctx), agent_dir(ctx)

    def locate(self, ctx: CollectContext) -> list[Path]:
        """The roots that exist."""
        return [p for p in self.roots(ctx) if p.is_dir()]

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Yield transcripts, cursor-agent sessions, global composers, then each workspace's
        conversations (see the module docstring for what is opened)."""
        user, agent = self.roots(ctx)
        claims = _Claims()
        # A folder that exists but cannot be listed is an error, so the runner does not
        # take its conversations for deleted; deeper folders are skipped with a warning.
        errors = [e for e in map(_unlistable, (agent / "chats", agent / "projects",
                                                user / "workspaceStorage")) if e is not None]

        sessions = list(_find_sessions(agent / "chats")) if agent.is_dir() else []
        transcripts = list(find_transcripts(agent / "projects")) if agent.is_dir() else []

        global_db = user / "globalStorage" / STATE_DB
        global_ids, global_stamps = _list_global(global_db, errors)
        workspaces, refs = _list_workspaces(user / "workspaceStorage", errors)

        composers: list[SourceItem] = []
        for cid in global_ids:
            native = claims.claim(cid, "global")
            hint = _Hint("composer", native, cid, global_db, refs.get(cid))
            composers.append(SourceItem(native, global_stamps, hint))

        session_items: list[SourceItem] = []
        for ident, group, db in sessions:
            native = claims.claim(ident, f"chats-{short_hash(group)}")
            hint = _Hint("agent-session", native, ident, db, group=group)
            session_items.append(SourceItem(native, db_stamps(db), hint))

        ws_items: list[SourceItem] = []
        for ws in workspaces:
            suffix = f"workspace-{short_hash(ws.folder.name)}"
            found = [("workspace-composer", cid, cid) for cid in ws.listing.composers]
            found += [("chat", f"chat-{tab}", tab) for tab in ws.listing.chats]
            if ws.listing.prompts:
                found.append(("prompts", f"prompts-{ws.folder.name}", ws.folder.name))
            for kind, base, source_id in found:
                native = claims.claim(base, suffix)
                hint = _Hint(kind, native, source_id, ws.db, ws.folder)
                ws_items.append(SourceItem(native, ws.stamps, hint))

        by_source: dict[str, str] = {}
        for item in [*composers, *session_items, *ws_items]:
            if item.hint.kind in ("composer", "workspace-composer", "agent-session"):
                by_source.setdefault(item.hint.source_id, item.key)
        transcript_items: list[SourceItem] = []
        for t in transcripts:
            native = claims.claim(f"transcript-{t.ident}", f"project-{short_hash(t.project)}")
            links = (("transcript_of", by_source[t.ident]),) if t.ident in by_source else ()
            main = t.files[0]
            hint = _Hint("transcript", native, t.ident, main.path, None, t.files, t.project, links)
            stamps = tuple(SourceStamp.of(f.path, f.st) for f in t.files)
            transcript_items.append(SourceItem(native, stamps, hint))

        yield from transcript_items
        yield from session_items
        yield from composers
        yield from ws_items
        yield from errors

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one item (see the module docstring). Raises :class:`ItemError` /
        :class:`TemporaryItemError`."""
        hint = item.hint if isinstance(item.hint, _Hint) else find_hint(self, item.key, ctx)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        if hint.kind == "transcript":
            return self._read_transcript(hint)
        if not hint.path.is_file():
            raise TemporaryItemError(os.fspath(hint.path), "vanished before it could be read")
        if hint.kind == "composer":
            return self._read_composer(hint)
        if hint.kind == "workspace-composer":
            return self._read_element(hint, WS_COMPOSERS)
        if hint.kind == "chat":
            return self._read_element(hint, WS_CHAT)
        if hint.kind == "prompts":
            return self._read_prompts(hint)
        return self._read_session(hint)

    def _read_composer(self, hint: _Hint) -> ConversationSnapshot:
        extract = read_global_composer(hint.path, hint.source_id)
        header = extract.header if isinstance(extract.header, dict) else {}
        attributes = {"kind": "composer", **_composer_attributes(header, extract)}
        if hint.workspace is not None:
            attributes.update(workspace_folder(hint.workspace))
        return self._snapshot(hint, COMPOSER_FILE, extract, header.get("name"), attributes,
                              created=header.get("createdAt"), updated=header.get("lastUpdatedAt"))

    def _read_element(self, hint: _Hint, key: str) -> ConversationSnapshot:
        extract = read_workspace_element(hint.path, key, hint.source_id, self._elements)
        element = extract.header if isinstance(extract.header, dict) else {}
        if key == WS_CHAT:
            attributes: dict[str, Any] = {"kind": "chat", "messages": extract.stats.messages}
            if extract.stats.models:
                attributes["models"] = list(extract.stats.models)
            name, created, updated = element.get("chatTitle"), None, element.get("lastSendTime")
            file_name = CHAT_FILE
        else:
            attributes = {"kind": "workspace-composer", **_composer_attributes(element, extract)}
            name, created = element.get("name"), element.get("createdAt")
            updated, file_name = element.get("lastUpdatedAt"), COMPOSER_FILE
        if hint.workspace is not None:
            attributes.update(workspace_folder(hint.workspace))
        return self._snapshot(hint, file_name, extract, name, attributes, created, updated)

    def _read_prompts(self, hint: _Hint) -> ConversationSnapshot:
        extract = read_prompts(hint.path)
        prompts = extract.header if isinstance(extract.header, list) else []
        attributes: dict[str, Any] = {"kind": "prompts", "prompts": len(prompts)}
        if hint.workspace is not None:
            attributes.update(workspace_folder(hint.workspace))
        where = attributes.get("workspace_path") or attributes.get("workspace") or hint.source_id
        name = f"Prompt history · {os.path.basename(str(where).rstrip('/')) or where}"
        return self._snapshot(hint, PROMPTS_FILE, extract, name, attributes, None, None)

    def _snapshot(
        self,
        hint: _Hint,
        file_name: str,
        extract: Extract,
        name: Any,
        attributes: dict[str, Any],
        created: Any,
        updated: Any,
    ) -> ConversationSnapshot:
        title, source = choose_title(name, extract.stats.first_prompt)
        attributes["title_source"] = source
        created_at = parse_epoch(created, unit="ms")
        if created_at is None:
            created_at = extract.stats.first_at
        updated_at = parse_epoch(updated, unit="ms") or extract.stats.last_at or created_at
        # Cursor's times are milliseconds: round there, so a float's tail does not leak in.
        mtime = round(updated_at * 1000) * 1_000_000 if updated_at is not None else None
        log.debug("read %s from %s: %d bytes", hint.native_id, hint.path, len(extract.data))
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=title,
            files=(RawFile(file_name, data=extract.data, mtime_ns=mtime),),
            created_at=created_at,
            updated_at=updated_at,
            source_path=os.fspath(hint.path),
            links=dict(hint.links),
            attributes=attributes,
            warnings=tuple(extract.warnings),
        )

    def _read_session(self, hint: _Hint) -> ConversationSnapshot:
        from .agent_store import read_store

        present = [s.mtime_ns for s in db_stamps(hint.path) if s.size >= 0]
        if not present:
            raise TemporaryItemError(os.fspath(hint.path), "vanished before it could be read")
        mtime_ns = max(present)
        extract = read_store(hint.path)
        meta = extract.meta or {}
        title, source = choose_title(meta.get("name"), extract.stats.first_prompt)
        attributes: dict[str, Any] = {
            "kind": "agent-session",
            "chat_dir": hint.group,
            "blobs": extract.blobs,
            "messages": extract.stats.messages,
            "title_source": source,
        }
        for field, attr in (("mode", "mode"), ("lastUsedModel", "model"), ("agentId", "agent_id")):
            if isinstance(meta.get(field), str) and meta[field]:
                attributes[attr] = meta[field]
        if extract.unreached:
            attributes["earlier_messages"] = extract.unreached
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=title,
            files=(RawFile(STORE_FILE, data=extract.data, mtime_ns=mtime_ns),),
            created_at=parse_epoch(meta.get("createdAt"), unit="ms"),
            updated_at=mtime_ns / 1e9,
            source_path=os.fspath(hint.path),
            attributes=attributes,
            warnings=tuple(extract.warnings),
        )

    def _read_transcript(self, hint: _Hint) -> ConversationSnapshot:
        from ..scan import torn_last_line

        main = hint.files[0]
        try:
            st = os.stat(main.path)
            prompt = first_prompt(main.path, MAX_SCAN_LINE)
        except OSError as exc:
            raise io_error(main.path, exc) from None
        warnings: list[str] = []
        raw: list[RawFile] = []
        for found in hint.files:
            try:
                file_st = st if found is main else os.stat(found.path)
                torn = torn_last_line(found.path, MAX_SCAN_LINE)
            except OSError as exc:
                if found is main:
                    raise io_error(found.path, exc) from None
                warnings.append(f"{found.name}: {io_error(found.path, exc).reason}")
                continue
            if torn is not None:
                warnings.append(f"{found.name} {torn.warning}")
            raw.append(RawFile(found.name, path=found.path, mtime_ns=file_st.st_mtime_ns))
        title, source = choose_title(None, prompt)
        attributes: dict[str, Any] = {
            "kind": "transcript",
            "project_dir": hint.group,
            "transcript_id": hint.source_id,
            "title_source": source,
        }
        subagents = sum(1 for f in raw if f.name.startswith("subagents/"))
        if subagents:
            attributes["subagents"] = subagents
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=title,
            files=tuple(raw),
            updated_at=st.st_mtime,
            source_path=os.fspath(main.path),
            links=dict(hint.links),
            attributes=attributes,
            warnings=tuple(warnings),
        )

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version, chosen by its raw file names."""
        from .render_agent import render_store, render_transcript
        from .render_ide import render_chat, render_composer, render_prompts

        if COMPOSER_FILE in files:
            return render_composer(files[COMPOSER_FILE], meta)
        if CHAT_FILE in files:
            return render_chat(files[CHAT_FILE], meta)
        if PROMPTS_FILE in files:
            return render_prompts(files[PROMPTS_FILE], meta)
        if STORE_FILE in files:
            return render_store(files[STORE_FILE], meta)
        return render_transcript(files, meta)


# ---------------------------------------------------------------------------------------


def _list_global(
    db: Path, errors: list[ItemError]
) -> tuple[tuple[str, ...], tuple[SourceStamp, ...]]:
    """The global database's composer ids and stamps (none when it is absent; an error is
    appended to ``errors``)."""
    if not db.is_file():
        return (), ()
    try:
        listing = list_global(db)
    except ItemError as exc:
        errors.append(exc)
        return (), ()
    if listing.drafts:
        log.debug("%d empty composer draft(s) left out", listing.drafts)
    return listing.composers, listing.stamps


@dataclass(frozen=True)
class _Workspace:
    folder: Path
    db: Path
    listing: WorkspaceListing
    stamps: tuple[SourceStamp, ...]


def _list_workspaces(
    storage: Path, errors: list[ItemError]
) -> tuple[list[_Workspace], dict[str, Path]]:
    """Every ``workspaceStorage/<hash>`` with a database (by folder name), and the first
    workspace folder that names each composer id. Problems are appended to ``errors``."""
    workspaces: list[_Workspace] = []
    refs: dict[str, Path] = {}
    for entry in list_dir(storage):
        folder = Path(entry.path)
        db = folder / STATE_DB
        if not db.is_file():
            continue
        try:
            listing = list_workspace(db)
        except ItemError as exc:
            errors.append(exc)
            continue
        errors.extend(ItemError(os.fspath(db), problem) for problem in listing.problems)
        for cid in listing.refs:
            refs.setdefault(cid, folder)
        meta = SourceStamp.of(folder / "workspace.json")
        stamps = listing.stamps + ((meta,) if meta.size >= 0 else ())
        workspaces.append(_Workspace(folder, db, listing, stamps))
    return workspaces, refs


def _unlistable(folder: Path) -> ItemError | None:
    try:
        list_dir(folder, strict=True)
    except OSError as exc:
        return io_error(folder, exc)
    return None


def _find_sessions(chats: Path) -> Iterator[tuple[str, str, Path]]:
    """``(session id, md5(cwd) folder name, store.db path)`` for each cursor-agent session
    (sorted), listing and stat only."""
    for group in list_dir(chats):
        try:
            if not group.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        for session in list_dir(Path(group.path)):
            try:
                if not session.is_dir(follow_symlinks=False):
                    continue
            except OSError:
                continue
            for found in files_named(Path(session.path), (STORE_DB,), DENIED):
                yield session.name, group.name, found.path


def _composer_attributes(header: dict[str, Any], extract: Extract) -> dict[str, Any]:
    attributes: dict[str, Any] = {"messages": extract.stats.messages}
    for field, attr in (
        ("unifiedMode", "mode"),
        ("forceMode", "force_mode"),
        ("status", "status"),
        ("createdOnBranch", "git_branch"),
        ("subtitle", "subtitle"),
    ):
        value = header.get(field)
        if isinstance(value, str) and value:
            attributes[attr] = value
    config = header.get("modelConfig")
    if isinstance(config, dict) and isinstance(config.get("modelName"), str):
        attributes["model"] = config["modelName"]
    if extract.stats.models:
        attributes["models"] = list(extract.stats.models)
    if header.get("isArchived") is True:
        attributes["archived"] = True
    if extract.missing:
        attributes["missing_messages"] = extract.missing
    if extract.unreferenced:
        attributes["unreferenced_messages"] = extract.unreferenced
    return attributes
