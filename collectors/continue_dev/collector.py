"""The Continue collector: one session per ``sessions/<id>.json`` file.

Root: ``options["path"]`` if set, else ``$CONTINUE_GLOBAL_DIR``, else ``~/.continue``
(continuedev/continue ``core/util/paths.ts``). Layout::

    sessions/<sessionId>.json    one chat session (whole-file JSON, rewritten on change)
    sessions/sessions.json       the history list: [{sessionId, title, dateCreated, …}]
    config.json / config.yaml / .env   configuration with API keys (never read)

Decisions:

* **Items**: one per ``sessions/*.json`` except ``sessions.json``; key = native id = the
  file stem (Continue names the file after ``sessionId``). Raw file: the session file,
  streamed; its stamp only.
* **sessions.json** is read (parsed once per change) for ``dateCreated`` and as a title
  fallback, but not stamped: it changes whenever any session changes, and stamping it would
  re-read every session each time. A title found only there shows up when the session
  file next changes.
* **Title**: the session's ``title``, else the index's, else the first prompt.
* A file that does not parse is stored with a warning; one that changed while being read is
  a :class:`~collectors.TemporaryItemError`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, files_with_suffix
from ..locations import env_path, option_path

# Reading and rendering modules are imported by the functions that use them: every command
# loads every collector, and listing sources (``locate``, ``discover``) needs neither.

__all__ = ["ContinueCollector"]

log = logging.getLogger(__name__)

PROVIDER = "continue"
INDEX = "sessions.json"
DENIED = frozenset({INDEX, "config.json", ".env"})


class _Index:
    """``sessions.json`` parsed once per change: id → (title, dateCreated seconds)."""

    def __init__(self) -> None:
        self._key: tuple[str, int, int] | None = None
        self._entries: dict[str, tuple[str | None, float | None]] = {}

    def get(self, folder: Path, session_id: str) -> tuple[str | None, float | None]:
        from ..jsonfile import parse_json_bytes

        path = folder / INDEX
        try:
            st = os.stat(path)
            key = (str(path), st.st_size, st.st_mtime_ns)
            if key != self._key:
                with open_regular(path) as stream:
                    value, _ = parse_json_bytes(stream.read())
                entries: dict[str, tuple[str | None, float | None]] = {}
                for e in value if isinstance(value, list) else ():
                    if isinstance(e, dict) and isinstance(e.get("sessionId"), str):
                        title = e.get("title") if isinstance(e.get("title"), str) and e["title"] else None
                        when = _date_created(e.get("dateCreated"))
                        entries[e["sessionId"]] = (title, when)
                self._key, self._entries = key, entries
        except OSError as exc:
            log.debug("no usable %s: %s", path, exc.strerror or exc)
            return None, None
        return self._entries.get(session_id, (None, None))


def _date_created(value: Any) -> float | None:
    """``dateCreated``: epoch milliseconds as a number or a numeric string, or ISO text."""
    from ..timestamps import parse_time

    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return parse_time(value)
    return parse_time(value, numeric_unit="ms")


class ContinueCollector:
    """Continue chat sessions (see the module docstring). :meth:`read` raises
    :class:`~collectors.TemporaryItemError` when the file vanished or changed while being
    read, :class:`~collectors.ItemError` when it cannot be read."""

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def __init__(self) -> None:
        self._index = _Index()

    def root(self, ctx: CollectContext) -> Path:
        """Continue's global directory for ``ctx`` (it may not exist)."""
        return option_path(ctx) or env_path(ctx, "CONTINUE_GLOBAL_DIR") or ctx.home / ".continue"

    def locate(self, ctx: CollectContext) -> list[Path]:
        """``[sessions dir]`` when it exists."""
        folder = self.root(ctx) / "sessions"
        return [folder] if folder.is_dir() else []

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """One item per session file, by name. Lists and stats only."""
        folder = self.root(ctx) / "sessions"
        for found in files_with_suffix(folder, ".json", DENIED):
            if isinstance(found, ItemError):
                yield found
            else:
                yield SourceItem(found.name[: -len(".json")], (SourceStamp.of(found.path, found.st),),
                                 found)

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one session file. Raises :class:`ItemError` / :class:`TemporaryItemError`."""
        from ..jsonfile import load_json_file
        from .render import session_info

        found = item.hint if isinstance(item.hint, FoundFile) else find_hint(self, item.key, ctx)
        if found is None:
            raise TemporaryItemError(item.key, "no longer found")
        jf = load_json_file(found.path)
        info = session_info(jf.value)
        warnings = [jf.problem] if jf.problem else []
        if info.session_id and info.session_id != item.key:
            warnings.append("the session's id differs from its file name")
        index_title, created = self._index.get(found.path.parent, item.key)
        if info.title:
            title, source = info.title, "continue"
        elif index_title:
            title, source = index_title, "sessions.json"
        elif info.prompt:
            title, source = info.prompt, "first prompt"
        else:
            title, source = item.key, "file name"
        attributes: dict[str, Any] = {"title_source": source, "history_items": info.items}
        for key, value in (("workspace", info.workspace), ("model", info.model), ("mode", info.mode)):
            if value:
                attributes[key] = value
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=item.key,
            title=title,
            files=(RawFile(found.path.name, path=found.path, mtime_ns=jf.st.st_mtime_ns),),
            created_at=created,
            updated_at=jf.st.st_mtime,
            source_path=str(found.path),
            attributes=attributes,
            warnings=tuple(warnings),
        )

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version."""
        from .render import render_session

        return render_session(files, meta)
