"""Finding collectors: every class registered under the ``aifs.collectors`` entry-point group.

Built-in collectors are registered in ``pyproject.toml`` exactly like a third-party package
would register one. A plugin that fails to import is reported and skipped, never fatal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import entry_points

log = logging.getLogger(__name__)
GROUP = "aifs.collectors"


@dataclass(frozen=True)
class LoadedCollectors:
    """``collectors``: name → instance, sorted by name; ``failures``: name → error text."""

    collectors: dict
    failures: dict[str, str]

    def for_provider(self, provider: str):
        """The collector whose ``provider`` slug is ``provider``, or ``None``."""
        for c in self.collectors.values():
            if getattr(c, "provider", None) == provider:
                return c
        return None


def load_collectors() -> LoadedCollectors:
    """Instantiate every registered collector (no arguments)."""
    found, failures = {}, {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            found[ep.name] = ep.load()()
        except Exception as e:  # a broken plugin must not stop the others
            failures[ep.name] = f"{type(e).__name__}: {e}"
            log.warning("collector %s could not be loaded: %s", ep.name, failures[ep.name])
    return LoadedCollectors(found, failures)
