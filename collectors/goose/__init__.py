"""Goose (block/goose): sessions from ``sessions.db`` and from the older ``*.jsonl`` files.

Registered as the ``goose`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.messages` for the message format, :mod:`.render` for the Markdown view.
"""

from .collector import GooseCollector

__all__ = ["GooseCollector"]
