"""Windsurf (Codeium): Cascade conversations kept as opaque ``cascade/<uuid>.pb`` files.

Registered as the ``windsurf`` entry point; see :mod:`.collector`.
"""

from .collector import WindsurfCollector

__all__ = ["WindsurfCollector"]
