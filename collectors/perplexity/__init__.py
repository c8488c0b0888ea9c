"""Perplexity threads saved as JSON by a thread exporter (no official bulk export exists).

Registered as the ``perplexity`` importer; see :mod:`.importer` for what is accepted and the
decisions, :mod:`.thread` for the format and :mod:`.render` for the Markdown view.
"""

from .importer import PerplexityImporter

__all__ = ["PerplexityImporter"]
