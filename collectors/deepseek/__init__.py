"""DeepSeek (chat.deepseek.com): the account data export and single saved chats.

Registered as the ``deepseek`` importer entry point; see :mod:`.importer` for what is read,
:mod:`.model` for the formats, :mod:`.render` for the Markdown view.
"""

from .importer import DeepSeekImporter

__all__ = ["DeepSeekImporter"]
