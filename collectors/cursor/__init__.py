"""Cursor: IDE chats and composers (``state.vscdb``), cursor-agent sessions and transcripts.

Registered as the ``cursor`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.records` for the raw-file layout of database-backed conversations,
:mod:`.render_ide` and :mod:`.render_agent` for the Markdown view.
"""

from .collector import CursorCollector

__all__ = ["CursorCollector"]
