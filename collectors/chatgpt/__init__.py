"""ChatGPT data-export importer (``aifs import``): :class:`ChatGPTImporter`.

``importer.py`` finds the conversations files and attachments of an export and yields one
snapshot per conversation; ``render.py`` turns a stored version into Markdown; ``shape.py``
describes the conversation object and holds the look-ups both share.
"""

from .importer import ChatGPTImporter

__all__ = ["ChatGPTImporter"]
