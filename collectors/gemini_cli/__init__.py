"""Gemini CLI (Google's terminal agent): chat sessions, their subagents and spilled tool output.

Registered as the ``gemini-cli`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.chat` for the two file shapes and their replay, :mod:`.render` for the
Markdown view.
"""

from .collector import GeminiCliCollector

__all__ = ["GeminiCliCollector"]
