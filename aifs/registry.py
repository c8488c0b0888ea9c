"""Finding plugins: collectors (entry-point group ``aifs.collectors``) and importers of data
exports (``aifs.importers``).

Built-in ones are registered in ``pyproject.toml`` exactly like a third-party package would
register one. A plugin that fails to import is reported and skipped, never fatal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points

log = logging.getLogger(__name__)
GROUP = "aifs.collectors"
IMPORTER_GROUP = "aifs.importers"


@dataclass(frozen=True)
class LoadedCollectors:
    """``collectors``: name → instance, sorted by name; ``failures``: name → error text;
    ``importers``: name → importer instance (``aifs.importers``), for rendering the
    providers no collector renders."""

    collectors: dict
    failures: dict[str, str]
    importers: dict = field(default_factory=dict)

    def for_provider(self, provider: str):
        """The collector (else the importer) whose ``provider`` slug is ``provider``, or ``None``."""
        for group in (self.collectors, self.importers):
            for c in group.values():
                if getattr(c, "provider", None) == provider:
                    return c
        return None


def _load(group: str, what: str) -> tuple[dict, dict[str, str]]:
    found, failures = {}, {}
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            found[ep.name] = ep.load()()
        except Exception as e:  # a broken plugin must not stop the others
            failures[ep.name] = f"{type(e).__name__}: {e}"
            log.warning("%s %s could not be loaded: %s", what, ep.name, failures[ep.name])
    return found, failures


def load_collectors(with_importers: bool = False) -> LoadedCollectors:
    """Instantiate every registered collector (no arguments); with ``with_importers``, every
    registered importer too (their load failures are reported with the collectors')."""
    found, failures = _load(GROUP, "collector")
    importers: dict = {}
    if with_importers:
        importers, more = _load(IMPORTER_GROUP, "importer")
        failures.update({f"importer {k}": v for k, v in more.items()})
    return LoadedCollectors(found, failures, importers)


def load_importers() -> tuple[dict, dict[str, str]]:
    """Every registered importer: ``(name → instance, name → load error text)``."""
    return _load(IMPORTER_GROUP, "importer")
