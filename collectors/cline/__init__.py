"""Cline and Roo Code (VS Code agent extensions): tasks under the extension's global storage.

Registered as two entry points sharing one implementation: ``cline``
(:class:`ClineCollector`) and ``roo-code`` (:class:`RooCodeCollector`). See
:mod:`.collector` for the layout and the decisions, :mod:`.task` for the files,
:mod:`.render`, :mod:`.blocks` and :mod:`.ui_messages` for the Markdown view.
"""

from .collector import ClineCollector, RooCodeCollector, TaskCollector

__all__ = ["ClineCollector", "RooCodeCollector", "TaskCollector"]
