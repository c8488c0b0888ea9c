"""Claude Code (Anthropic's CLI agent): sessions, subagents, prompt history, configuration.

Registered as the ``claude-code`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.transcript` for the record format, :mod:`.render` for the Markdown view.
"""

from .collector import ClaudeCodeCollector

__all__ = ["ClaudeCodeCollector"]
