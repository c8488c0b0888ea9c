"""Collector errors, one meaning each.

Tree::

    CollectorError
    └── ItemError              one conversation/source file could not be read; the run goes on
        └── TemporaryItemError the same, but worth retrying later (file locked, vanished mid-read)

Messages name the path and the problem, never message text or titles.
"""

from __future__ import annotations


class CollectorError(Exception):
    """Base class of every error a collector raises on purpose."""


class ItemError(CollectorError):
    """One source item failed; ``path`` names it, ``reason`` says why (no private content)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class TemporaryItemError(ItemError):
    """A per-item failure that may succeed on a later run (locked, vanished, still being written)."""
