"""Mistral Le Chat data exports (``chat-<uuid>.json`` per chat, ``chat-<uuid>-files/``).

Registered as the ``lechat`` importer; see :mod:`.importer` for the layout and decisions,
:mod:`.chat` for the format and :mod:`.render` for the Markdown view.
"""

from .importer import LeChatImporter

__all__ = ["LeChatImporter"]
