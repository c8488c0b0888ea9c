"""Finding plugins: collectors (entry-point group ``aifs.collectors``) and importers of data
exports (``aifs.importers``).

Built-in ones are registered in ``pyproject.toml`` exactly like a third-party package would
register one. A plugin that fails to import is reported and skipped, never fatal.

Entry points are found as ``importlib.metadata.entry_points(group=…)`` finds them, but
without importing :mod:`importlib.metadata` (about 25 ms of imports: ``email``, ``zipfile``
…, paid by every command) when ``sys.path`` has the usual layout; see :func:`entry_points`.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
GROUP = "aifs.collectors"
IMPORTER_GROUP = "aifs.importers"

# importlib.metadata.EntryPoint.pattern: "module", "module:attr", "module:attr.sub [extras]".
_ENTRY_POINT = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?"
                          r"((?P<extras>\[.*\])\s*)?$")
_INFO = (".dist-info", ".egg-info")


class _Unusual(Exception):
    """Something :func:`_search` does not mirror; importlib.metadata handles it instead."""


def _normalize(name: str) -> str:
    """importlib.metadata's ``Prepared.normalize`` (PEP 503, dashes as underscores)."""
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _section_pairs(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` pairs of section ``[group]`` of an ``entry_points.txt``."""
    pairs, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section is None:
            continue
        if "=" not in line:
            raise _Unusual  # importlib.metadata raises here, whatever the section
        name, value = (part.strip() for part in line.split("=", 1))
        if section == group:
            if not _ENTRY_POINT.match(value):
                raise _Unusual  # importlib.metadata fails it at load, with its own message
            pairs.append((name, value))
    return pairs


def _search(group: str) -> list[tuple[str, str]]:
    """``importlib.metadata.entry_points(group=group)`` as ``(name, value)`` pairs, same order,
    for distributions in folders on ``sys.path`` (``*.dist-info`` / ``*.egg-info``): the first
    distribution of each normalized name wins. Raises :class:`_Unusual` for what it does not
    mirror: another distribution finder on ``sys.meta_path``, a zip or ``.egg`` on
    ``sys.path``, a metadata folder named in another case, a malformed ``entry_points.txt``.
    Raises what reading an ``entry_points.txt`` raises (e.g. ``UnicodeDecodeError``), as
    importlib.metadata does."""
    from importlib.machinery import PathFinder

    if [f for f in sys.meta_path if getattr(f, "find_distributions", None)] != [PathFinder]:
        raise _Unusual
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for root in sys.path:
        if not isinstance(root, str) or os.path.basename(root).lower().endswith(".egg"):
            raise _Unusual
        try:
            children = os.listdir(root or ".")
        except OSError:
            if os.path.isfile(root or "."):
                raise _Unusual from None  # maybe a zip: importlib.metadata looks inside
            continue
        by_name: dict[str, list[str]] = {}
        for child in children:
            if child.lower().endswith(_INFO):
                if not child.endswith(_INFO):
                    raise _Unusual  # importlib.metadata names it by its METADATA file
                name = child.lower().rpartition(".")[0].partition("-")[0]
                by_name.setdefault(_normalize(name), []).append(child)
        for name, infos in by_name.items():
            if name in seen:
                continue
            seen.add(name)
            try:
                with open(os.path.join(root, infos[0], "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
                continue
            found.extend(_section_pairs(text, group))
    return found


def entry_points(group: str) -> list[tuple[str, str]]:
    """Every entry point registered in ``group``: ``(name, "module:attr")`` pairs, in the
    order ``importlib.metadata.entry_points(group=group)`` lists them (which this falls back
    to when the layout is unusual). Raises what importlib.metadata raises on a broken
    ``entry_points.txt``."""
    try:
        return _search(group)
    except _Unusual:
        from importlib.metadata import entry_points as metadata_entry_points
        return [(ep.name, ep.value) for ep in metadata_entry_points(group=group)]


def load_entry_point(value: str):
    """The object an entry point's ``value`` names, as ``EntryPoint.load`` does: import the
    module, then follow the dotted attribute. Raises what the import or lookup raises."""
    match = _ENTRY_POINT.match(value)
    obj = importlib.import_module(match.group("module"))
    for attr in filter(None, (match.group("attr") or "").split(".")):
        obj = getattr(obj, attr)
    return obj


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


def _load(group: str, what: str, quiet: bool = False) -> tuple[dict, dict[str, str]]:
    found, failures = {}, {}
    for name, value in sorted(entry_points(group), key=lambda e: e[0]):
        try:
            found[name] = load_entry_point(value)()
        except Exception as e:  # a broken plugin must not stop the others
            failures[name] = f"{type(e).__name__}: {e}"
            if not quiet:
                log.warning("%s %s could not be loaded: %s", what, name, failures[name])
    return found, failures


def load_collectors(with_importers: bool = False, quiet: bool = False) -> LoadedCollectors:
    """Instantiate every registered collector (no arguments); with ``with_importers``, every
    registered importer too (their load failures are reported with the collectors').
    Each load failure is logged as a warning, unless ``quiet`` (the caller then reports
    ``failures`` itself, e.g. with :func:`log_failures` once the vault is open)."""
    found, failures = _load(GROUP, "collector", quiet)
    importers: dict = {}
    if with_importers:
        importers, more = _load(IMPORTER_GROUP, "importer", quiet)
        failures.update({f"importer {k}": v for k, v in more.items()})
    return LoadedCollectors(found, failures, importers)


def log_failures(loaded: LoadedCollectors) -> None:
    """Log ``loaded.failures`` as :func:`load_collectors` does when not ``quiet``."""
    for key, reason in loaded.failures.items():
        what, name = key.split(" ", 1) if key.startswith("importer ") else ("collector", key)
        log.warning("%s %s could not be loaded: %s", what, name, reason)


def load_importers() -> tuple[dict, dict[str, str]]:
    """Every registered importer: ``(name → instance, name → load error text)``."""
    return _load(IMPORTER_GROUP, "importer")


class LazyCollectors:
    """``load_collectors(with_importers=True)``, done on the first :meth:`for_provider` call.

    For the mount: it renders only when a ``conversation.md`` is first read, so loading every
    collector and importer (~0.1 s of imports) waits until then, in the process that serves
    the mount. Thread-safe (renders may run on several threads); load failures are logged
    when loading happens.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: LoadedCollectors | None = None

    def loaded(self) -> LoadedCollectors:
        """The loaded collectors and importers (loads them on the first call)."""
        with self._lock:
            if self._loaded is None:
                self._loaded = load_collectors(with_importers=True)
            return self._loaded

    def for_provider(self, provider: str):
        """As :meth:`LoadedCollectors.for_provider`."""
        return self.loaded().for_provider(provider)
