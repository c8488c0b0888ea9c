"""Collectors: read each AI tool's history into :class:`vault.ConversationSnapshot` s.

Imports only :mod:`vault` (its model types). See :mod:`collectors.base` for the contract.
"""

from .base import CollectContext, Collector, SourceItem, scan_stamps
from .errors import CollectorError, ItemError, TemporaryItemError

__all__ = [
    "CollectContext",
    "Collector",
    "CollectorError",
    "ItemError",
    "SourceItem",
    "TemporaryItemError",
    "scan_stamps",
]
