"""The GitHub Copilot CLI collector: session event logs under ``~/.copilot/session-state``.

Root: ``options["path"]`` if set, else ``$COPILOT_HOME``, else ``~/.copilot``. Layout (the
CLI's own; see github/copilot-sdk ``nodejs/src/generated/session-events.ts`` for the events)::

    session-state/<sessionId>.jsonl               one session (before 1.0.11)   -> item
    session-state/<sessionId>/events.jsonl        one session (1.0.11 and later) -> item
    session-state/<sessionId>/workspace.yaml      its metadata (summary …)       -> same item
    session-state/<sessionId>/…                   plan, checkpoints, files …     -> same item

Decisions:

* The native id is the session id from the **name** (file stem or folder name): ``discover``
  does not read files. :meth:`read` compares it with ``session.start``'s ``sessionId`` and
  records a mismatch as a warning. Both layouts for one id make one item with both logs.
* A folder without ``events.jsonl`` (and no flat log beside it) is not a session.
* Title: the last ``session.title_changed``, else ``workspace.yaml``'s ``summary``, else the
  first prompt.
* Never read: ``config.json`` (holds the CLI's tokens), ``hosts.json``, ``apps.json``,
  anything outside ``session-state/``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, io_error, list_dir, regular_file, walk_files
from ..glued import glued_warning
from ..locations import env_path, option_path
from .events import workspace_fields
from .render import EVENTS, render_session

# The metadata scanner is imported by :meth:`CopilotCliCollector.read`: every command loads
# every collector, and listing sources (``locate``, ``discover``) does not need it.

__all__ = ["CopilotCliCollector"]

log = logging.getLogger(__name__)

PROVIDER = "copilot-cli"
DENIED = frozenset(
    {"config.json", "hosts.json", "apps.json", ".env", "auth.json", ".credentials.json"}
)
MAX_SCAN_LINE = 8 * 1024 * 1024
WORKSPACE = "workspace.yaml"
MAX_WORKSPACE = 256 * 1024


@dataclass(frozen=True)
class _Hint:
    """``main``: the log to describe; ``files``: every raw file as ``(name, found)``."""

    native_id: str
    main: FoundFile
    files: tuple[tuple[str, FoundFile], ...]
    layout: str


@dataclass
class _Candidate:
    flat: FoundFile | None = None
    folder: list[FoundFile] = field(default_factory=list)


class CopilotCliCollector:
    """Copilot CLI sessions (see the module docstring). Items: one per session id.
    :meth:`read` raises :class:`~collectors.TemporaryItemError` when the log vanished and
    :class:`~collectors.ItemError` when it cannot be read."""

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def root(self, ctx: CollectContext) -> Path:
        """The ``.copilot`` directory for ``ctx`` (it may not exist)."""
        return option_path(ctx) or env_path(ctx, "COPILOT_HOME") or ctx.home / ".copilot"

    def locate(self, ctx: CollectContext) -> list[Path]:
        """``[root]`` when it holds ``session-state/``, else ``[]``."""
        root = self.root(ctx)
        return [root] if (root / "session-state").is_dir() else []

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Yield one item per session id (sorted). Lists and stats only."""
        state = self.root(ctx) / "session-state"
        if not state.is_dir():
            return
        try:
            entries = list_dir(state, strict=True)
        except OSError as exc:
            yield io_error(state, exc)
            return
        found: dict[str, _Candidate] = {}
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                files = walk_files(Path(entry.path), "", DENIED)
                if files:
                    found.setdefault(entry.name, _Candidate()).folder = files
            elif entry.name.endswith(".jsonl") and len(entry.name) > len(".jsonl"):
                st = regular_file(entry, DENIED)
                if st is not None:
                    stem = entry.name[: -len(".jsonl")]
                    found.setdefault(stem, _Candidate()).flat = FoundFile(
                        entry.name, Path(entry.path), st
                    )
        for ident in sorted(found):
            cand = found[ident]
            events = next((f for f in cand.folder if f.name == EVENTS), None)
            if events is None and cand.flat is None:
                continue
            files: list[tuple[str, FoundFile]] = []
            if events is not None:
                files.append((EVENTS, events))
            if cand.flat is not None:
                files.append((cand.flat.name, cand.flat))
            files.extend((f.name, f) for f in cand.folder if f is not events)
            layout = "folder" if events is not None else "flat"
            if events is not None and cand.flat is not None:
                layout = "both"
            hint = _Hint(ident, files[0][1], tuple(files), layout)
            stamps = tuple(SourceStamp.of(f.path, f.st) for _, f in files)
            yield SourceItem(ident, stamps, hint)

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one session into a snapshot whose files are streamed by path.

        Raises :class:`TemporaryItemError` if the log is gone, :class:`ItemError` if it
        cannot be read.
        """
        from ..scan import file_reader
        from .metadata import EventMetaScanner

        hint = item.hint if isinstance(item.hint, _Hint) else find_hint(self, item.key, ctx)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        main = hint.main
        scanner = EventMetaScanner(MAX_SCAN_LINE, file_reader(main.path))
        try:
            with open_regular(main.path) as stream:
                st = os.fstat(stream.fileno())
                scanner.scan(stream.readinto, st.st_size)
            bad, glued = scanner.problems()
        except OSError as exc:
            raise io_error(main.path, exc) from None
        info = scanner.info
        warnings = [b.warning for b in bad] + [glued_warning(n, c) for n, c in glued]
        if info.session_id is not None and info.session_id != hint.native_id:
            warnings.append(f"session.start names session {info.session_id}, not the file's")
        raw = [RawFile(hint.files[0][0], path=main.path, mtime_ns=st.st_mtime_ns)]
        fields: dict[str, str] = {}
        for name, found in hint.files[1:]:
            try:
                extra_st = os.stat(found.path)
                if name == WORKSPACE:
                    with open_regular(found.path) as stream:
                        text = stream.read(MAX_WORKSPACE).decode("utf-8", "replace")
                    fields = workspace_fields(text)
            except OSError as exc:
                warnings.append(f"{name}: {io_error(found.path, exc).reason}")
                continue
            raw.append(RawFile(name, path=found.path, mtime_ns=extra_st.st_mtime_ns))
        info.summary = fields.get("summary") or None
        title, source = info.best_title()
        attributes: dict[str, Any] = {"layout": hint.layout, "title_source": source}
        cwd = info.cwd or fields.get("cwd")
        if cwd:
            attributes["cwd"] = cwd
        for key in ("repository", "branch", "version"):
            value = getattr(info, key)
            if value:
                attributes[key] = value
        if info.models:
            attributes["models"] = list(info.models)
            attributes["model"] = info.models[-1]
        if info.session_id and info.session_id != hint.native_id:
            attributes["session_id"] = info.session_id
        log.debug("read %s: %d bytes, %d files", main.path, scanner.size, len(raw))
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=title,
            files=tuple(raw),
            created_at=info.created_at,
            updated_at=info.updated_at if info.updated_at is not None else st.st_mtime,
            source_path=str(main.path),
            attributes=attributes,
            warnings=tuple(warnings),
        )

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version (never raises)."""
        return render_session(files, meta)
