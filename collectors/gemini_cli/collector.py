"""The Gemini CLI collector: chat sessions under ``~/.gemini/tmp/<project>/chats``.

Root: ``options["path"]`` if set, else ``$GEMINI_CLI_HOME/.gemini`` (Gemini CLI's ``homedir()``
returns ``GEMINI_CLI_HOME`` when set, and its state lives in ``<homedir>/.gemini``; a
``$GEMINI_CLI_HOME`` that already holds ``tmp/`` is taken as the root itself), else
``~/.gemini``. Layout (google-gemini/gemini-cli ``packages/core/src/config/storage.ts``,
``services/chatRecordingService.ts``, ``utils/sessionOperations.ts``)::

    tmp/<project>/.project_root                         the project's path (read, stamped)
    tmp/<project>/chats/session-<time>-<id8>.json        one session (≤ 0.39)   -> item
    tmp/<project>/chats/session-<time>-<id8>.jsonl       one session (≥ 0.40)   -> same item
    tmp/<project>/chats/<parent session id>/<agent>.jsonl  subagent chats       -> parent's item
    tmp/<project>/tool-outputs/session-<session id>/…    spilled tool outputs   -> owner's item

``<project>`` is a sha256 of the project path (old) or a short slug (new, listed in
``projects.json``; Gemini CLI moves the old folder to the new name).

Decisions:

* The native id is the chat file's **stem** (``session-2026-01-16T18-34-3739ef95``): it is
  all ``discover`` can know without reading, it survives the hash→slug folder migration, and
  a resumed ``.json`` session migrated to ``.jsonl`` keeps it (both files are one item; the
  ``.jsonl`` is rendered, the ``.json`` kept raw). The same stem under two project folders
  gets ``@<8 hex of sha256(folder)>`` for all but the first folder in name order.
* A subagent folder is matched to its parent by the 8 first characters of its name, which
  is how the parent file is named (``…-<id8>``). A folder without a parent becomes items of
  its own, one per file, linked to the parent session id by ``links["parent"]``.
* Never read: ``oauth_creds.json``, ``google_accounts.json``, ``mcp-oauth-tokens.json``,
  settings, ``logs.json`` and ``logs/``, checkpoints, ``shell_history``.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, io_error, list_dir, regular_file, short_hash, walk_files
from ..locations import env_path, option_path

# Parsing and rendering modules are imported by the functions that use them: every command
# loads every collector, and listing sources (``locate``, ``discover``) needs neither.
if TYPE_CHECKING:
    from .metadata import ChatInfo

__all__ = ["GeminiCliCollector"]

log = logging.getLogger(__name__)

PROVIDER = "gemini-cli"
DENIED = frozenset(
    {
        "oauth_creds.json",
        "google_accounts.json",
        "mcp-oauth-tokens.json",
        "gemini-credentials.json",
        "installation_id",
        ".env",
    }
)
MAX_SCAN_LINE = 8 * 1024 * 1024
PROJECT_ROOT_FILE = ".project_root"
SUBAGENTS = "subagents/"
TOOL_OUTPUTS = "tool-outputs/"


@dataclass(frozen=True)
class _Hint:
    """``main``: the chat file to describe; ``files``: every raw file as ``(name, found)``;
    ``marker``: the project's ``.project_root``; ``parent``: for an orphan subagent file."""

    native_id: str
    project: str
    main: FoundFile
    files: tuple[tuple[str, FoundFile], ...]
    marker: FoundFile | None
    parent: str | None = None


@dataclass
class _Session:
    stem: str
    project: str
    chats: list[FoundFile]  # .jsonl first
    extra: list[tuple[str, FoundFile]]
    marker: FoundFile | None
    parent: str | None = None


def session_id8(stem: str) -> str | None:
    """The 8-character id suffix of a ``session-<time>-<id8>`` stem, ``None`` otherwise."""
    if not stem.startswith("session-"):
        return None
    tail = stem.rsplit("-", 1)[-1]
    return tail if len(tail) == 8 else None


class GeminiCliCollector:
    """Gemini CLI sessions (see the module docstring). Items: one per chat file stem.
    :meth:`read` raises :class:`~collectors.TemporaryItemError` when the chat file vanished
    and :class:`~collectors.ItemError` when it cannot be read."""

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def root(self, ctx: CollectContext) -> Path:
        """The ``.gemini`` directory for ``ctx`` (it may not exist)."""
        option = option_path(ctx)
        if option is not None:
            return option
        home = env_path(ctx, "GEMINI_CLI_HOME")
        if home is not None:
            if (home / ".gemini").is_dir() or not (home / "tmp").is_dir():
                return home / ".gemini"
            return home
        return ctx.home / ".gemini"

    def locate(self, ctx: CollectContext) -> list[Path]:
        """``[root]`` when it is an existing directory, else ``[]``."""
        root = self.root(ctx)
        return [root] if root.is_dir() else []

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Yield one item per session (sorted by key). Lists and stats only."""
        root = self.root(ctx)
        if not root.is_dir():
            return
        tmp = root / "tmp"
        try:
            projects = list_dir(tmp, strict=True)
        except OSError as exc:
            yield io_error(tmp, exc)
            return
        by_stem: dict[str, list[_Session]] = defaultdict(list)
        for entry in projects:
            try:
                if not entry.is_dir(follow_symlinks=False):
                    continue
            except OSError:
                continue
            try:
                for session in _scan_project(Path(entry.path), entry.name):
                    by_stem[session.stem].append(session)
            except OSError as exc:
                yield io_error(entry.path, exc)
        for stem in sorted(by_stem):
            group = sorted(by_stem[stem], key=lambda s: s.project)
            for index, session in enumerate(group):
                native = stem if index == 0 else f"{stem}@{short_hash(session.project)}"
                files = tuple((f.name, f) for f in session.chats) + tuple(session.extra)
                hint = _Hint(native, session.project, session.chats[0], files, session.marker,
                             session.parent)
                stamps = [SourceStamp.of(f.path, f.st) for _, f in files]
                if session.marker is not None:
                    stamps.append(SourceStamp.of(session.marker.path, session.marker.st))
                yield SourceItem(native, tuple(stamps), hint)

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one session into a snapshot whose files are streamed by path.

        Raises :class:`TemporaryItemError` if the chat file is gone, :class:`ItemError` if it
        cannot be read.
        """
        hint = item.hint if isinstance(item.hint, _Hint) else find_hint(self, item.key, ctx)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        main = hint.main
        warnings: list[str] = []
        try:
            with open_regular(main.path) as stream:
                st = os.fstat(stream.fileno())
                info = _describe(stream, st.st_size, main, warnings)
        except OSError as exc:
            raise io_error(main.path, exc) from None
        raw = [RawFile(main.name, path=main.path, mtime_ns=st.st_mtime_ns)]
        subagents = 0
        for name, found in hint.files:
            if found is main:
                continue
            try:
                extra_st = os.stat(found.path)
            except OSError as exc:
                warnings.append(f"{name}: {io_error(found.path, exc).reason}")
                continue
            raw.append(RawFile(name, path=found.path, mtime_ns=extra_st.st_mtime_ns))
            subagents += name.startswith(SUBAGENTS)
        title, source = info.title()
        attributes: dict[str, Any] = {
            "kind": info.kind or ("subagent" if hint.parent else "main"),
            "project_dir": hint.project,
            "title_source": source,
        }
        cwd = _project_root(hint.marker)
        if cwd:
            attributes["cwd"] = cwd
        if info.session_id:
            attributes["session_id"] = info.session_id
        if info.project_hash:
            attributes["project_hash"] = info.project_hash
        if info.models:
            attributes["models"] = list(info.models)
            attributes["model"] = info.models[-1]
        if info.directories:
            attributes["directories"] = list(info.directories)
        if subagents:
            attributes["subagents"] = subagents
        if main.name.endswith(".json"):
            attributes["format"] = "json"
        if info.messages is not None:
            attributes["messages"] = info.messages
        links = {"parent": hint.parent} if hint.parent else {}
        log.debug("read %s: %d files", main.path, len(raw))
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=title,
            files=tuple(raw),
            created_at=info.started,
            updated_at=info.updated if info.updated is not None else st.st_mtime,
            source_path=str(main.path),
            links=links,
            attributes=attributes,
            warnings=tuple(warnings + info.warnings),
        )

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version (never raises)."""
        from .render import render_session  # only the mount renders: imported on first use

        return render_session(files, meta)


# ---------------------------------------------------------------------------------------


def _scan_project(folder: Path, project: str) -> list[_Session]:
    """The sessions of one project folder (``tmp/<project>``)."""
    marker = None
    for entry in list_dir(folder):
        if entry.name == PROJECT_ROOT_FILE:
            st = regular_file(entry, DENIED)
            if st is not None:
                marker = FoundFile(entry.name, Path(entry.path), st)
    chats_dir = folder / "chats"
    entries = list_dir(chats_dir, strict=True) if chats_dir.is_dir() else []
    chats: dict[str, list[FoundFile]] = defaultdict(list)
    agent_dirs: list[os.DirEntry[str]] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir:
            agent_dirs.append(entry)
            continue
        if not entry.name.endswith((".json", ".jsonl")) or entry.name in DENIED:
            continue
        st = regular_file(entry, DENIED)
        if st is None:
            continue
        stem = entry.name.rsplit(".", 1)[0]
        chats[stem].append(FoundFile(entry.name, Path(entry.path), st))
    sessions = {
        stem: _Session(stem, project, sorted(found, key=lambda f: not f.name.endswith("l")), [],
                       marker)
        for stem, found in chats.items()
    }
    by_id8: dict[str, list[_Session]] = defaultdict(list)
    for session in sessions.values():
        id8 = session_id8(session.stem)
        if id8:
            by_id8[id8].append(session)
    owners: dict[str, list[_Session]] = {}  # sanitized session id (or agent id) -> sessions
    orphans: list[_Session] = []
    for entry in agent_dirs:
        parents = by_id8.get(entry.name[:8], []) if len(entry.name) >= 8 else []
        agents = [
            f
            for f in walk_files(Path(entry.path), "", DENIED)
            if f.name.endswith((".json", ".jsonl"))
        ]
        if parents:
            for parent in parents:
                parent.extra.extend((f"{SUBAGENTS}{f.name}", f) for f in agents)
            owners[entry.name] = parents
            for f in agents:
                if "/" not in f.name:
                    owners.setdefault(f.name.rsplit(".", 1)[0], parents)
        else:
            for f in agents:
                stem = f.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                orphan = _Session(stem, project, [f], [], marker, parent=entry.name)
                orphans.append(orphan)
                owners.setdefault(stem, [orphan])
    outputs = folder / "tool-outputs"
    for entry in list_dir(outputs) if outputs.is_dir() else []:
        if not entry.name.startswith("session-"):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        owner_id = entry.name[len("session-") :]
        targets = owners.get(owner_id) or by_id8.get(owner_id[:8], [])
        if not targets:
            continue
        found = walk_files(Path(entry.path), f"{TOOL_OUTPUTS}{entry.name}/", DENIED)
        for target in targets:
            target.extra.extend((f.name, f) for f in found)
    return list(sessions.values()) + orphans


def _describe(stream: Any, size: int, main: FoundFile, warnings: list[str]) -> ChatInfo:
    """Metadata of the main chat file, read through ``stream``."""
    from ..glued import glued_warning
    from ..scan import file_reader
    from .metadata import MAX_LEGACY_PARSE, ChatInfo, ChatMetaScanner, legacy_info

    if main.name.endswith(".jsonl"):
        scanner = ChatMetaScanner(MAX_SCAN_LINE, file_reader(main.path))
        scanner.scan(stream.readinto, size)
        bad, glued = scanner.problems()
        warnings.extend(b.warning for b in bad)
        warnings.extend(glued_warning(n, c) for n, c in glued)
        if scanner.info.session_id is None:
            warnings.append("no metadata record (sessionId, projectHash)")
        return scanner.info
    if size > MAX_LEGACY_PARSE:
        warnings.append(f"{main.name}: too large to read for metadata ({size} bytes)")
        return ChatInfo()
    data = stream.read()
    info = legacy_info(data, main.name)
    return info


def _project_root(marker: FoundFile | None) -> str | None:
    """The project path written in ``.project_root`` (first 4 KiB), ``None`` if unreadable."""
    if marker is None:
        return None
    try:
        with open_regular(marker.path) as stream:
            text = stream.read(4096).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None
