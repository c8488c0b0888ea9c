"""opencode (sst/opencode, now anomalyco/opencode): sessions from ``opencode.db`` and from the
legacy JSON ``storage/`` tree.

Registered as the ``opencode`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.session` for the records, :mod:`.render` for the Markdown view.
"""

from .collector import OpencodeCollector

__all__ = ["OpencodeCollector"]
