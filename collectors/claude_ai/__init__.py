"""Claude.ai data exports (zip, extracted folder, or one web-API conversation file).

:class:`ClaudeAiImporter` (entry point ``claude.ai`` in the ``aifs.importers`` group) turns
conversations, projects and memories into snapshots under provider ``claude.ai``.
"""

from .importer import ClaudeAiImporter

__all__ = ["ClaudeAiImporter"]
