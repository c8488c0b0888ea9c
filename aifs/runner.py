"""The collect run: discover every collector's items, store the changed ones, summarize.

An item whose source stamps equal the stored ones is skipped after one ``stat`` per file
(done by the collector's ``discover``). One failing item is reported and the run goes on;
nothing already stored is touched by a failure.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from collectors import CollectContext, ItemError, SourceItem
from vault import VaultError

log = logging.getLogger(__name__)


@dataclass
class CollectSummary:
    """Counts of one run. ``seen`` = new + changed + unchanged + failed; ``deleted_upstream``
    counts stored conversations newly found gone at their source (kept, flagged); bytes are
    raw bytes read from sources and bytes added to the vault (compressed + encrypted)."""

    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    deleted_upstream: int = 0
    bytes_read: int = 0
    bytes_stored: int = 0
    seconds: float = 0.0
    errors: list[dict[str, str]] = field(default_factory=list)
    per_collector: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-ready form (for ``--json``)."""
        return dataclasses.asdict(self)


Progress = Callable[[str, int, int], None]  # (collector name, done, total)


@dataclass
class Plan:
    """What :func:`discover_all` found, before anything is read or stored.

    ``entries``: per collector, in run order, ``(name, instance, context, items)``;
    ``complete``: names of the collectors whose source exists and was listed without error
    (only those may mark stored conversations as deleted upstream); ``failures``:
    ``(collector, path, reason)`` for what could not be listed, reported (and logged) by
    :func:`collect`; ``seconds``: how long listing took.
    """

    entries: list[tuple[str, object, CollectContext, list[SourceItem]]]
    complete: set[str]
    failures: list[tuple[str, str, str]]
    seconds: float


def discover_all(collectors: dict, ctx_for: Callable[[str], CollectContext]) -> Plan:
    """List every collector's items (``locate`` + ``discover``: directory listings and one
    ``stat`` per file, nothing read). Needs no vault, so the CLI runs it while the vault's
    key is still being derived. Logs nothing: :func:`collect` reports the failures. Raises
    only what a collector raises beyond ``OSError`` / ``ItemError`` (a collector bug)."""
    started = time.monotonic()
    entries: list[tuple[str, object, CollectContext, list[SourceItem]]] = []
    failures: list[tuple[str, str, str]] = []
    complete: set[str] = set()  # collectors whose source exists and was listed without error
    for name, collector in collectors.items():
        ctx = ctx_for(name)
        items: list[SourceItem] = []
        listed = False
        try:
            listed = bool(collector.locate(ctx))
            for found in collector.discover(ctx):
                if isinstance(found, ItemError):
                    failures.append((name, found.path, found.reason))
                    listed = False  # an item we could not list must not look deleted
                else:
                    items.append(found)
        except OSError as e:
            failures.append((name, str(e.filename or name), e.strerror or str(e)))
            listed = False
        except ItemError as e:
            failures.append((name, e.path, e.reason))
            listed = False
        if listed:
            complete.add(name)
        entries.append((name, collector, ctx, items))
    return Plan(entries, complete, failures, time.monotonic() - started)


def collect(writer, collectors: dict, ctx_for: Callable[[str], CollectContext], org: str,
            progress: Progress | None = None, plan: Plan | None = None) -> CollectSummary:
    """Run every collector in ``collectors`` (name → instance) against ``writer``.

    ``ctx_for(name)`` gives a collector its :class:`CollectContext`; ``org`` fills snapshots
    that leave it empty; ``plan``, if given, is :func:`discover_all` of the same collectors
    done beforehand (else it is done here). Returns the :class:`CollectSummary` (its
    ``seconds``: listing plus reading and storing); raises only vault errors that make going
    on pointless (e.g. the vault disk is full).
    """
    summary = CollectSummary()
    if plan is None:
        plan = discover_all(collectors, ctx_for)
    start = time.monotonic()
    for name, path, reason in plan.failures:
        _fail(summary, name, path, reason)
    total = sum(len(p[3]) for p in plan.entries)
    done = 0

    def tick(name: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(name, done, total)

    for name, collector, ctx, items in plan.entries:
        counts = summary.per_collector.setdefault(name, {"seen": 0, "new": 0, "changed": 0,
                                                         "unchanged": 0, "failed": 0})

        def count(status: str) -> None:
            counts[status] += 1
            if status != "failed":  # _fail counts summary.failed itself
                setattr(summary, status, getattr(summary, status) + 1)

        def to_store() -> Iterator[tuple]:
            for item in items:
                summary.seen += 1
                counts["seen"] += 1
                snap = _read(writer, name, collector, ctx, item, org, summary)
                if isinstance(snap, str):
                    count(snap)
                    tick(name)
                    continue
                yield item, snap, name, item.key, item.stamps

        for item, result in writer.store_many(to_store()):
            if isinstance(result, OSError):  # the source went away or broke while read
                _fail(summary, name, str(result.filename or item.key), result.strerror or str(result))
                count("failed")
            elif isinstance(result, Exception):
                _fail(summary, name, item.key, f"unexpected {type(result).__name__}")
                count("failed")
            else:
                summary.bytes_read += result.bytes_read
                summary.bytes_stored += result.bytes_stored
                count(result.status)
            tick(name)
        if name in plan.complete:
            summary.deleted_upstream += writer.mark_missing_sources(name, (i.key for i in items))
    writer.commit()
    summary.seconds = round(plan.seconds + time.monotonic() - start, 3)
    return summary


def _read(writer, name, collector, ctx, item: SourceItem, org: str, summary: CollectSummary):
    """The item's snapshot to store, or ``"unchanged"`` / ``"failed"`` (already reported)."""
    try:
        if writer.source_unchanged(name, item.key, item.stamps):
            return "unchanged"
        snap = collector.read(item, ctx)
    except ItemError as e:
        _fail(summary, name, e.path, e.reason)
        return "failed"
    except OSError as e:
        _fail(summary, name, str(e.filename or item.key), e.strerror or str(e))
        return "failed"
    except VaultError:
        raise  # the vault cannot take more (disk full …): stop, keep what is committed
    except Exception as e:  # a collector bug on one odd item must not stop the run
        log.debug("%s %s failed", name, item.key, exc_info=True)
        _fail(summary, name, item.stamps[0].path if item.stamps else item.key,
              f"unexpected {type(e).__name__} (run with --debug for details)")
        return "failed"
    for w in snap.warnings:
        log.info("%s %s: %s", name, item.key, w)
    return snap if snap.org else dataclasses.replace(snap, org=org)


def _fail(summary: CollectSummary, collector: str, path: str, reason: str) -> None:
    summary.failed += 1
    summary.errors.append({"collector": collector, "path": path, "reason": reason})
    log.warning("%s: %s: %s", collector, path, reason)


def default_context(home: Path, env, options: dict) -> CollectContext:
    """A :class:`CollectContext` for ``home`` with the given environment and options."""
    return CollectContext(home=home, env=dict(env), options=options)


