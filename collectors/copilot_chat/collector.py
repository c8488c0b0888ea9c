"""The GitHub Copilot Chat collector: VS Code's local chat sessions as conversations.

Roots: the ``User`` directories of VS Code, Code - Insiders, Code - OSS, VSCodium and the VS
Code servers (:mod:`collectors.vscode_hosts`), or ``options["path"]`` (one path or a list:
a ``User`` directory, or the product directory holding it). Layout (microsoft/vscode
``src/vs/workbench/contrib/chat/common/model/chatSessionStore.ts``)::

    User/workspaceStorage/<id>/chatSessions/<sessionId>.json    flat session (< 1.109)
    User/workspaceStorage/<id>/chatSessions/<sessionId>.jsonl   mutation log (≥ 1.109)
    User/workspaceStorage/<id>/workspace.json                   the folder (an attribute)
    User/globalStorage/emptyWindowChatSessions/<sessionId>.json[l]   sessions of empty windows
                                                               -> one item per session

Decisions:

* **One item per session file stem** in one storage folder: ``<id>.json`` and ``<id>.jsonl``
  together (both are stored; the log is read, as VS Code does, the flat file only when the
  log has no usable state). ``workspace.json`` is stamped and read for the ``folder``
  attribute but not stored (it is not the conversation's own bytes).
* **The same session id in two storage folders** (VS Code *copies* sessions when a window
  moves to another workspace, and keeps the originals): both are kept. Hosts are taken in
  :func:`~collectors.vscode_hosts.user_dirs` order and folders in name order; the first keeps
  the plain id, each other gets ``<sessionId>@<first 8 hex of sha256(host/folder)>``.
* **Half-written files**: a flat file that does not parse, or a log without a usable
  initial state, is :class:`~collectors.TemporaryItemError` ("being written") while it was
  modified in the last :data:`WRITE_GRACE` seconds (VS Code rewrites flat files whole, and
  rewrites the log whole after 1024 entries): the previous version stays. Older, it is kept
  as it is with a warning (it will not get better; its bytes are still worth keeping). A torn
  last log line is a warning: the state is replayed up to the line before.
* **Large files**: a file above :data:`PARSE_LIMIT` is not parsed; its title is found by a
  bounded byte scan (:func:`.session.sniff_title`) and a warning says so.
* Not collected: credential-like names (:data:`DENIED`, also as a symlink's target),
  ``globalStorage/transferredChatSessions`` (a five-minute hand-over copy),
  ``chatEditingSessions/`` (editor snapshots of workspace files, not conversation), the
  session index in ``state.vscdb`` and anything else.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, io_error, list_dir, regular_file, short_hash
from ..titles import UNTITLED, title_from_text
from ..vscode_hosts import VSCODE, Host, option_paths, user_dirs
from .session import FLAT, LOG, Loaded, load_flat, load_log, session_info, sniff_title
from .workspace import WORKSPACE_JSON, read_workspace

__all__ = ["CopilotChatCollector"]

log = logging.getLogger(__name__)

PROVIDER = "copilot-chat"
EMPTY_WINDOW = "emptyWindowChatSessions"
PARSE_LIMIT = 64 * 1024 * 1024
"""Session files larger than this (bytes) are not parsed in :meth:`CopilotChatCollector.read`."""
WRITE_GRACE = 300.0
"""Seconds after its last change during which an unparsable file counts as being written."""
DENIED = frozenset({"auth.json", ".credentials.json", "credentials.json", "secrets.json"})
"""Names never taken for a session, even inside ``chatSessions/`` (nor as a link's target)."""


@dataclass(frozen=True)
class _Hint:
    """What :meth:`CopilotChatCollector.discover` hands to ``read``: the session's files
    (``log``/``flat`` may be ``None``), its storage folder and host."""

    native_id: str
    stem: str
    host: str
    storage: str
    log: FoundFile | None
    flat: FoundFile | None
    workspace: FoundFile | None


@dataclass
class _Candidate:
    stem: str
    host: Host
    storage: str
    files: dict[str, FoundFile] = field(default_factory=dict)
    workspace: FoundFile | None = None


class CopilotChatCollector:
    """GitHub Copilot Chat sessions of VS Code and its builds (see the module docstring).

    Items: one per session (key = native id = the session id from the file name, suffixed on
    collisions). :meth:`read` raises :class:`~collectors.TemporaryItemError` when the files
    vanished or are being written and :class:`~collectors.ItemError` when they cannot be read.
    """

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    # -- where ------------------------------------------------------------------------------

    def hosts(self, ctx: CollectContext) -> list[Host]:
        """The ``User`` directories to scan: from ``options["path"]`` when set, else every
        VS Code-family one that exists."""
        paths = option_paths(ctx)
        if paths is None:
            return user_dirs(ctx, VSCODE)
        hosts = []
        for path in paths:
            user = path / "User" if (path / "User").is_dir() else path
            if user.is_dir():
                hosts.append(Host(path.as_posix(), user))
        return hosts

    def locate(self, ctx: CollectContext) -> list[Path]:
        """The ``User`` directories that exist (empty if none)."""
        return [h.user_dir for h in self.hosts(ctx)]

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Yield one item per session, in host and folder order. Lists and stats only."""
        candidates: dict[str, list[_Candidate]] = {}
        order: list[str] = []
        for host in self.hosts(ctx):
            storage = host.user_dir / "workspaceStorage"
            try:
                workspaces = list_dir(storage, strict=True)
            except OSError as exc:
                yield io_error(storage, exc)
                workspaces = []
            for entry in workspaces:
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                except OSError:
                    continue
                folder = Path(entry.path)
                found = _scan_sessions(
                    folder / "chatSessions", host, f"workspaceStorage/{entry.name}"
                )
                if found:
                    workspace = _stat_file(folder / WORKSPACE_JSON)
                    for cand in found:
                        cand.workspace = workspace
                _add(candidates, order, found)
            empty = host.user_dir / "globalStorage" / EMPTY_WINDOW
            _add(candidates, order, _scan_sessions(empty, host, f"globalStorage/{EMPTY_WINDOW}"))
        for stem in order:
            for index, cand in enumerate(candidates[stem]):
                where = f"{cand.host.label}/{cand.storage}"
                native = stem if index == 0 else f"{stem}@{short_hash(where)}"
                hint = _Hint(
                    native, stem, cand.host.label, cand.storage,
                    cand.files.get(LOG), cand.files.get(FLAT), cand.workspace,
                )
                yield SourceItem(native, _stamps(hint), hint)

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one session into a snapshot whose files are streamed by path.

        Raises :class:`TemporaryItemError` if its files vanished or are being written,
        :class:`ItemError` if they cannot be read.
        """
        hint = item.hint if isinstance(item.hint, _Hint) else find_hint(self, item.key, ctx)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        now = time.time()
        raw: list[RawFile] = []
        warnings: list[str] = []
        loaded: Loaded | None = None
        used: FoundFile | None = None
        latest = 0.0
        for found in (hint.log, hint.flat):
            if found is None:
                continue
            attempt: Loaded | None = None
            try:
                with open_regular(found.path) as stream:
                    st = os.fstat(stream.fileno())
                    if loaded is None:
                        attempt = self._load(found, stream, st.st_size)
            except FileNotFoundError:
                warnings.append(f"{found.name}: vanished before it could be read")
                continue
            except OSError as exc:
                raise io_error(found.path, exc) from None
            raw.append(RawFile(found.name, path=found.path, mtime_ns=st.st_mtime_ns))
            latest = max(latest, st.st_mtime)
            if attempt is None:
                continue
            if attempt.broken and not attempt.oversized and now - st.st_mtime < WRITE_GRACE:
                # Rewritten whole right now (a flat save, or the log's compaction).
                raise TemporaryItemError(str(found.path), "being written (not valid JSON yet)")
            warnings.extend(_problems(found.name, attempt))
            if attempt.state is not None or attempt.oversized:
                loaded, used = attempt, found
        if not raw:
            raise TemporaryItemError(item.key, "every session file vanished")
        attributes: dict[str, Any] = {"kind": "session", "host": hint.host}
        empty = hint.storage.endswith(EMPTY_WINDOW)
        attributes["storage"] = "emptyWindow" if empty else hint.storage
        title, created, updated = UNTITLED, None, None
        if loaded is not None and loaded.state is not None:
            info = session_info(loaded.state)
            title, created, updated = info.title, info.created_at, info.updated_at
            attributes.update(_info_attributes(info, loaded, used))
            if info.session_id and info.session_id != hint.stem:
                warnings.append(f"sessionId {info.session_id} differs from the file name")
        elif loaded is not None and used is not None:
            title = self._sniff(used.path, warnings)
            attributes["format"] = "log" if used.name.endswith(LOG) else "flat"
        if hint.workspace is not None:
            try:
                attributes.update(read_workspace(hint.workspace.path))
            except OSError as exc:
                warnings.append(f"{WORKSPACE_JSON}: {io_error(hint.workspace.path, exc).reason}")
        main = used or (hint.log if hint.log is not None else hint.flat)
        log.debug("read %s: %d file(s)", main.path if main else hint.stem, len(raw))
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=title,
            files=tuple(raw),
            created_at=created,
            updated_at=updated if updated is not None else (latest or None),
            source_path=str(main.path) if main else None,
            attributes=attributes,
            warnings=tuple(warnings),
        )

    def _load(self, found: FoundFile, stream: Any, size: int) -> Loaded:
        if size > PARSE_LIMIT:
            return Loaded(problems=[f"larger than {PARSE_LIMIT} bytes: not parsed"], oversized=True)
        if found.name.endswith(LOG):
            return load_log(stream, max_line_bytes=PARSE_LIMIT)
        return load_flat(stream.read(PARSE_LIMIT + 1))

    def _sniff(self, path: Path, warnings: list[str]) -> str:
        try:
            with open_regular(path) as stream:
                custom, first = sniff_title(stream)
        except OSError as exc:
            warnings.append(f"title scan failed: {io_error(path, exc).reason}")
            return UNTITLED
        if custom:
            return custom
        return title_from_text(first) if first else UNTITLED

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version of a session."""
        from .render import render_session  # only the mount renders: imported on first use

        return render_session(files, meta)


# ---------------------------------------------------------------------------------------


def _scan_sessions(folder: Path, host: Host, storage: str) -> list[_Candidate]:
    """The sessions in one ``chatSessions`` folder (one listing; missing → ``[]``)."""
    by_stem: dict[str, _Candidate] = {}
    for entry in list_dir(folder):
        name = entry.name
        suffix = LOG if name.endswith(LOG) else FLAT if name.endswith(FLAT) else None
        if suffix is None:
            continue
        stem = name[: -len(suffix)]
        st = regular_file(entry, DENIED)
        if not stem or st is None:
            continue
        cand = by_stem.setdefault(stem, _Candidate(stem, host, storage))
        cand.files[suffix] = FoundFile(name, Path(entry.path), st)
    return [by_stem[s] for s in sorted(by_stem)]


def _add(
    candidates: dict[str, list[_Candidate]], order: list[str], found: list[_Candidate]
) -> None:
    for cand in found:
        if cand.stem not in candidates:
            candidates[cand.stem] = []
            order.append(cand.stem)
        candidates[cand.stem].append(cand)


def _stat_file(path: Path) -> FoundFile | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return FoundFile(path.name, path, st) if stat.S_ISREG(st.st_mode) else None


def _stamps(hint: _Hint) -> tuple[SourceStamp, ...]:
    files = [f for f in (hint.log, hint.flat, hint.workspace) if f is not None]
    return tuple(SourceStamp.of(f.path, f.st) for f in files)


def _problems(name: str, loaded: Loaded) -> list[str]:
    return [f"{name} {p}" if p.startswith("line ") else f"{name}: {p}" for p in loaded.problems]


def _info_attributes(info: Any, loaded: Loaded, used: FoundFile | None) -> dict[str, Any]:
    out: dict[str, Any] = {"requests": info.requests, "title_source": info.title_source}
    if used is not None:
        out["format"] = "log" if used.name.endswith(LOG) else "flat"
        if used.name.endswith(LOG):
            out["log_entries"] = loaded.entries
    if info.models:
        out["model"] = info.models[-1]
        out["models"] = list(info.models)
    for key in ("requester", "responder", "location", "version"):
        value = getattr(info, key)
        if value is not None:
            out[key] = value
    return out
