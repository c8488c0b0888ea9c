"""GitHub Copilot Chat in VS Code (and Code - Insiders, VSCodium, the VS Code servers).

Registered as the ``copilot-chat`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.session` and :mod:`.mutation_log` for the formats, :mod:`.render` and
:mod:`.parts` for the Markdown view.
"""

from .collector import CopilotChatCollector

__all__ = ["CopilotChatCollector"]
