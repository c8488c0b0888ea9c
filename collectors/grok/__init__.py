"""Grok (grok.com, xAI): the account data export (``prod-grok-backend.json`` and its assets).

Registered as the ``grok`` importer entry point; see :mod:`.importer` for what is read,
:mod:`.model` for the format, :mod:`.render` for the Markdown view.
"""

from .importer import GrokImporter

__all__ = ["GrokImporter"]
