"""The importer contract: how aifs reads a hosted platform's data export.

Hosted chats (ChatGPT, Claude.ai, Gemini …) are not on disk; users download a data export.
An importer is a small class registered under the ``aifs.importers`` entry-point group
(see ``pyproject.toml``), like collectors are under ``aifs.collectors``. ``aifs import PATH``
(``aifs/importer.py``) opens the export (:func:`collectors.export_source.open_export`), asks
each importer whether it :meth:`~Importer.detect` s it, then stores every snapshot that
:meth:`~Importer.read` yields. What the runner does, so importers need not:

- fills ``org`` of snapshots that leave it empty (``--org``, else :meth:`~Importer.account`,
  else ``<provider>-account``);
- skips snapshots whose files are byte-identical to the stored latest version;
- stores the export file itself once, so nothing a parser skips is ever lost;
- after a *complete* read of a full export (:meth:`~Importer.is_full`), flags stored
  conversations the export no longer has as ``deleted_upstream_at`` (kept, never removed).

Each snapshot's raw files are ``conversation.json`` (that conversation's JSON exactly as in
the export: a byte slice, see :mod:`collectors.jsonstream`) plus its attachments, under
stable names. :meth:`~Importer.render_markdown` renders a stored version, like a collector's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator, Mapping, Protocol, runtime_checkable

from vault import ConversationSnapshot

from .export_source import ExportError, ExportSource

__all__ = ["EntryError", "ExportError", "Importer", "Skipped", "CONVERSATION_FILE",
           "snapshot_or_skipped"]

CONVERSATION_FILE = "conversation.json"


@dataclass(frozen=True, slots=True)
class Skipped:
    """One entry of an export that was not imported: ``where`` names it without content
    (``conversations.json entry 17``, an id); ``reason`` says why (``no mapping``).
    ``native_id``: the conversation's id when the entry has one, so a conversation stored
    before is not taken for deleted upstream just because this export's copy is damaged."""

    where: str
    reason: str
    native_id: str | None = None


class EntryError(Exception):
    """One export entry (a conversation, a chat file) cannot be imported; ``reason`` says why
    and has no content. Raised inside an importer's reading and turned into a
    :class:`Skipped`, or into an :class:`ExportError` when it is the only entry of the
    export (a single-file import)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def snapshot_or_skipped(native_id: str, build: Callable[[], ConversationSnapshot],
                        log: logging.Logger) -> ConversationSnapshot | Skipped:
    """``build()``: the snapshot of conversation ``native_id``. When it fails on input its
    converter did not foresee (``TypeError``, ``AttributeError``, ``KeyError``,
    ``ValueError``, ``RecursionError``), a :class:`Skipped` instead: ``where`` is
    ``conversation <native_id>``, ``reason`` ``unreadable (<error type>)``, and it carries
    ``native_id``, so the conversation is not taken for deleted upstream. The traceback
    goes to ``log`` at debug level; other exceptions propagate."""
    try:
        return build()
    except (TypeError, AttributeError, KeyError, ValueError, RecursionError) as e:
        log.debug("conversation %s could not be converted", native_id, exc_info=True)
        return Skipped(f"conversation {native_id}", f"unreadable ({type(e).__name__})", native_id)


@runtime_checkable
class Importer(Protocol):
    """What every importer provides. ``name`` equals its entry-point name and is what
    ``--provider`` takes; ``provider`` is the slug shown in the mount (``chatgpt``,
    ``claude.ai`` …)."""

    name: ClassVar[str]
    provider: ClassVar[str]

    def detect(self, export: ExportSource) -> bool:
        """True if ``export`` is this platform's export. Cheap: member names and at most
        the first few KiB of one member."""
        ...

    def account(self, export: ExportSource) -> str | None:
        """The account or workspace the export belongs to (an e-mail address, a workspace
        name, an account id), or ``None`` if the export does not say."""
        ...

    def is_full(self, export: ExportSource) -> bool:
        """True if ``export`` holds every conversation of the account (an official full
        export), False for a single exported chat or one part of a split export."""
        ...

    def read(self, export: ExportSource) -> Iterator[ConversationSnapshot | Skipped]:
        """Yield one snapshot per conversation (and per project, memory set …), and a
        :class:`Skipped` for each entry that cannot be imported. Streams: memory must not
        grow with the number of conversations. Raises :class:`ExportError` when the export
        as a whole is unreadable (everything yielded before stays imported)."""
        ...

    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """Render a stored version (raw files by name, and its ``meta.json`` dict) as
        Markdown. Never raises on content."""
        ...
