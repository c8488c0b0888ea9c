"""The Amp collector: one thread per ``threads/T-<uuid>.json`` file.

Data directory: ``options["path"]`` if set, else ``$XDG_DATA_HOME/amp`` (default
``~/.local/share/amp``, FORMATS.md "Amp"). Layout::

    threads/T-<uuid>.json     one thread (whole-file JSON, rewritten on every change)
    history.jsonl             prompt history (not collected)
    secrets.json              the API key (never read)

Decisions:

* **Items**: one per ``threads/*.json`` file; key = native id = the file stem (``T-<uuid>``;
  Amp names the file after the thread id). The raw file is the thread file, streamed.
* **Metadata**: the file is parsed once in :meth:`read` (title, times, models). A file that
  does not parse (half-written) is still stored, with a warning and the file name as title;
  one that changed while being read is a :class:`~collectors.TemporaryItemError`.
* **Title**: the thread's ``title``, else its first prompt.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, files_with_suffix
from ..locations import option_path, xdg_data_home

# Reading and rendering modules are imported by the methods that use them: every command
# loads every collector, and listing sources (``locate``, ``discover``) needs neither.

__all__ = ["AmpCollector"]

log = logging.getLogger(__name__)

PROVIDER = "amp"
DENIED = frozenset({"secrets.json"})


class AmpCollector:
    """Amp threads (see the module docstring). :meth:`read` raises
    :class:`~collectors.TemporaryItemError` when the file vanished or changed while being
    read, :class:`~collectors.ItemError` when it cannot be read."""

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def root(self, ctx: CollectContext) -> Path:
        """Amp's data directory for ``ctx`` (it may not exist)."""
        return option_path(ctx) or xdg_data_home(ctx) / "amp"

    def locate(self, ctx: CollectContext) -> list[Path]:
        """``[threads dir]`` when it exists."""
        threads = self.root(ctx) / "threads"
        return [threads] if threads.is_dir() else []

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """One item per thread file, by name. Lists and stats only."""
        threads = self.root(ctx) / "threads"
        for found in files_with_suffix(threads, ".json", DENIED):
            if isinstance(found, ItemError):
                yield found
            else:
                yield SourceItem(found.name[: -len(".json")], (SourceStamp.of(found.path, found.st),),
                                 found)

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one thread file. Raises :class:`ItemError` / :class:`TemporaryItemError`."""
        from ..jsonfile import load_json_file
        from .render import thread_info

        found = item.hint if isinstance(item.hint, FoundFile) else find_hint(self, item.key, ctx)
        if found is None:
            raise TemporaryItemError(item.key, "no longer found")
        jf = load_json_file(found.path)
        info = thread_info(jf.value)
        warnings = [jf.problem] if jf.problem else []
        if isinstance(jf.value, dict) and jf.value.get("id") not in (None, item.key):
            warnings.append("the thread's id differs from its file name")
        if info.title:
            title, source = info.title, "amp"
        elif info.prompt:
            title, source = info.prompt, "first prompt"
        else:
            title, source = item.key, "file name"
        attributes: dict[str, Any] = {"title_source": source, "messages": info.messages}
        if info.models:
            attributes["model"] = info.models[-1]
            attributes["models"] = list(info.models)
        if info.trees:
            attributes["workspace"] = list(info.trees)
        if info.agent_mode:
            attributes["agent_mode"] = info.agent_mode
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=item.key,
            title=title,
            files=(RawFile(found.path.name, path=found.path, mtime_ns=jf.st.st_mtime_ns),),
            created_at=info.created,
            updated_at=info.updated if info.updated is not None else jf.st.st_mtime,
            source_path=str(found.path),
            attributes=attributes,
            warnings=tuple(warnings),
        )

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version."""
        from .render import render_thread

        return render_thread(files, meta)
