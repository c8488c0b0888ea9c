"""Zed's agent panel: threads from ``threads/threads.db`` (zstd-compressed JSON rows).

Registered as the ``zed`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.thread` for the thread format, :mod:`.render` for the Markdown view.
"""

from .collector import ZedCollector

__all__ = ["ZedCollector"]
