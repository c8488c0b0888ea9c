"""GitHub Copilot CLI (the ``copilot`` terminal agent): session event logs.

Registered as the ``copilot-cli`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.events` for the event format, :mod:`.render` for the Markdown view.
"""

from .collector import CopilotCliCollector

__all__ = ["CopilotCliCollector"]
