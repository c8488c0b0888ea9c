"""The collector contract: how aifs finds and reads one tool's history.

A collector is a small class registered under the ``aifs.collectors`` entry-point group
(see ``pyproject.toml``); built-in collectors are registered exactly like third-party ones.
The runner (``aifs/runner.py``) drives it in two phases so an unchanged source costs about
one ``stat`` per file:

1. :meth:`Collector.discover` lists :class:`SourceItem` s cheaply (directory listing + one
   ``stat`` per file, no reading). The vault remembers each item's stamps.
2. :meth:`Collector.read` is called only for items whose stamps changed; it returns a
   :class:`vault.ConversationSnapshot` with the raw files (streamed from disk by path).

:meth:`Collector.render_markdown` turns a stored version's raw files back into the
``conversation.md`` the mount shows. It must never raise on bad input: what parses is
rendered, the rest is marked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping, Protocol, runtime_checkable

from vault import ConversationSnapshot, SourceStamp

from .errors import ItemError


@dataclass(frozen=True)
class CollectContext:
    """Where to look: ``home`` ($HOME), ``env`` (environment variables such as
    ``CLAUDE_CONFIG_DIR``), ``options`` (this collector's section of the config file,
    e.g. ``{"path": "/elsewhere/.claude"}`` to point it elsewhere)."""

    home: Path
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceItem:
    """One conversation-to-be as found by :meth:`Collector.discover`.

    ``key``: stable and unique within the collector across runs (e.g. the session id);
    ``stamps``: one :class:`SourceStamp` per file :meth:`Collector.read` will read (the
    runner skips the item when they all equal the stored ones); ``hint``: private data the
    collector hands itself for ``read``.
    """

    key: str
    stamps: tuple[SourceStamp, ...]
    hint: Any = None


@runtime_checkable
class Collector(Protocol):
    """What every collector provides. ``name`` equals its entry-point name; ``provider`` is
    the slug shown in the mount (``claude-code``, ``codex`` …)."""

    name: ClassVar[str]
    provider: ClassVar[str]

    def locate(self, ctx: CollectContext) -> list[Path]:
        """Roots of this tool's history that exist on this machine (empty if none)."""
        ...

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Yield every item found (an :class:`ItemError` for one that cannot even be listed)."""
        ...

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one item. Raises :class:`ItemError` (or :class:`TemporaryItemError`)."""
        ...

    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """Render a stored version (raw files by name, and its ``meta.json`` dict) as Markdown."""
        ...


def find_hint(collector: Collector, key: str, ctx: CollectContext) -> Any:
    """The ``hint`` of item ``key`` found by listing again (for a :class:`SourceItem` that
    reached :meth:`Collector.read` without its hint, e.g. rebuilt by a caller); ``None`` if
    the item is no longer there."""
    for found in collector.discover(ctx):
        if isinstance(found, SourceItem) and found.key == key:
            return found.hint
    return None


def scan_stamps(paths: list[Path]) -> tuple[SourceStamp, ...]:
    """Stamp each path with one ``os.stat`` (missing paths get ``size=-1``)."""
    return tuple(SourceStamp.of(p) for p in paths)


__all__ = ["CollectContext", "Collector", "ItemError", "SourceItem", "find_hint", "scan_stamps"]
