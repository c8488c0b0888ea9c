"""Gemini Apps (gemini.google.com): the Google Takeout activity log as conversations.

Registered as the ``gemini`` importer (provider slug ``gemini``); see :mod:`.importer` for
where the data is, how rows are grouped and what is stored, :mod:`.activity` for the row
format (JSON and HTML forms), :mod:`.render` for the Markdown view and :mod:`.htmltext` for
the answer HTML → Markdown conversion.
"""

from .importer import GeminiAppsImporter

__all__ = ["GeminiAppsImporter"]
