"""Amp (Sourcegraph / ampcode.com): threads from ``~/.local/share/amp/threads/T-<uuid>.json``.

Registered as the ``amp`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.render` for the thread format and the Markdown view.
"""

from .collector import AmpCollector

__all__ = ["AmpCollector"]
