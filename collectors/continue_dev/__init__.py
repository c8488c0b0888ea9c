"""Continue (continuedev/continue): chat sessions from ``~/.continue/sessions/<id>.json``.

Registered as the ``continue`` entry point (the package is ``continue_dev`` because
``continue`` is a Python keyword); see :mod:`.collector` for the layout and the decisions,
:mod:`.render` for the session format and the Markdown view.
"""

from .collector import ContinueCollector

__all__ = ["ContinueCollector"]
