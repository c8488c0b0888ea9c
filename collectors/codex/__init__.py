"""OpenAI Codex CLI: rollout sessions (plain or zstd-compressed) and prompt history.

Registered as the ``codex`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.rollout` for the record format, :mod:`.render` for the Markdown view.
"""

from .collector import CodexCollector

__all__ = ["CodexCollector"]
