"""Aider (the terminal pair programmer): per-repository chat and input histories.

Registered as the ``aider`` entry point; see :mod:`.collector` for the options and the
decisions, :mod:`.walk` for the search, :mod:`.history` for the Markdown log format, and
:mod:`.render` for the Markdown view.
"""

from .collector import AiderCollector

__all__ = ["AiderCollector"]
