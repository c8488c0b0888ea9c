"""Qwen Code (Alibaba's terminal agent, a Gemini CLI fork): session transcripts.

Registered as the ``qwen-code`` entry point; see :mod:`.collector` for the layout and the
decisions, :mod:`.records` for the record format and its tree, :mod:`.render` for the
Markdown view.
"""

from .collector import QwenCodeCollector

__all__ = ["QwenCodeCollector"]
