"""The import run: one hosted platform's data export into the vault.

``aifs import PATH`` opens the export (:func:`collectors.export_source.open_export`), picks
the importer that recognizes it (:func:`choose_importer`), and :func:`import_export` stores
what it reads:

- every conversation whose files differ from its stored latest version gets a new version;
  one whose files are byte-identical costs a sha256 and one index lookup (the vault keeps a
  MAC of each conversation's file digests as its source stamp);
- the export itself is stored once, as a conversation of its own (``Data export <name>``),
  so whatever an importer skips is still in the vault;
- after a complete read of a *full* export, stored conversations it no longer has are flagged
  ``deleted_upstream_at`` (kept, never removed) — unless they were updated after the
  export's newest activity, which means the export is older than what is stored.

A damaged or cut-off export stops the run with :class:`ExportError` *after* committing the
conversations read before the damage; nothing stored earlier is touched, nothing is flagged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from collectors.export_source import ExportError, ExportSource
from collectors.importing import Importer, Skipped
from collectors.jsonstream import JsonStreamError
from vault import ConversationSnapshot, RawFile, SourceStamp

log = logging.getLogger(__name__)

__all__ = ["ImportSummary", "choose_importer", "import_export", "source_name"]

Progress = Callable[[int, int, int], None]  # (conversations done, bytes read, total bytes)


@dataclass
class ImportSummary:
    """What one import did. ``seen`` = new + changed + unchanged + failed (skipped entries are
    counted apart, each with its reason in ``skips``); ``deleted_upstream``: stored
    conversations newly flagged as gone; ``export_status``: what storing the export file itself
    did (``new``, ``unchanged``, or ``not stored`` when the export could not be read whole);
    ``complete``: the whole export was read, else ``stopped`` says where and why it broke
    off; bytes as in :class:`aifs.runner.CollectSummary`."""

    export: str = ""
    provider: str = ""
    org: str = ""
    full: bool = False
    complete: bool = False
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    deleted_upstream: int = 0
    export_status: str = "not stored"
    bytes_read: int = 0
    bytes_stored: int = 0
    seconds: float = 0.0
    skips: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    stopped: dict[str, str] | None = None

    def as_dict(self) -> dict:
        """JSON-ready form (for ``--json``)."""
        return dataclasses.asdict(self)


def choose_importer(export: ExportSource, importers: dict[str, Importer],
                    provider: str | None = None) -> Importer:
    """The importer for ``export``: the one named ``provider`` (its name or provider slug), or
    the only one whose ``detect`` says yes. Raises :class:`ExportError` when none or several
    recognize it, or ``provider`` is unknown."""
    if provider:
        for name, imp in importers.items():
            if provider in (name, imp.provider):
                return imp
        raise ExportError(str(export.path), f"unknown provider '{provider}' (known: "
                          f"{', '.join(sorted(importers))})")
    found = []
    for name, imp in importers.items():
        try:
            if imp.detect(export):
                found.append(name)
        except ExportError:
            raise
        except Exception:  # a detector bug on odd input means "not mine"
            log.debug("importer %s failed to detect", name, exc_info=True)
    if not found:
        raise ExportError(str(export.path), "not a data export aifs knows (looked for ChatGPT, "
                          "Claude.ai, Gemini, DeepSeek, Grok, Le Chat, Perplexity and Copilot "
                          "exports; pass --provider if you know which it is)")
    if len(found) > 1:
        raise ExportError(str(export.path), f"looks like an export of several platforms "
                          f"({', '.join(found)}); pass --provider")
    return importers[found[0]]


def source_name(provider: str, org: str) -> str:
    """The vault's source-state namespace of one provider account's imports."""
    return f"import/{provider}/{org}"


def import_export(writer, export: ExportSource, importer: Importer, org: str | None = None,
                  progress: Progress | None = None) -> ImportSummary:
    """Store what ``importer`` reads from ``export`` through ``writer`` (a
    :class:`vault.writer.WriteSession`) and commit. ``org`` overrides the account the export
    names. Returns the :class:`ImportSummary`; raises :class:`ExportError` (after committing
    what was read) when the export breaks off, and vault errors that make going on pointless.
    """
    start = time.monotonic()
    full = _safe_bool(importer.is_full, export)
    account = org or _safe_account(importer, export) or f"{importer.provider}-account"
    summary = ImportSummary(export=str(export.path), provider=importer.provider, org=account,
                            full=full)
    namespace = source_name(importer.provider, account)
    seen_ids: set[str] = set()
    newest = 0.0
    done = 0
    failure: ExportError | None = None

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, export.bytes_read, export.total_bytes)

    def snapshots() -> Iterator[tuple]:
        nonlocal newest, failure
        stream = importer.read(export)
        while True:
            try:
                found = next(stream)
            except StopIteration:
                return
            except ExportError as e:
                failure = e
                return
            except JsonStreamError as e:  # an importer that let it through
                failure = ExportError(str(export.path), str(e))
                return
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                log.debug("importer %s failed", importer.name, exc_info=True)
                failure = ExportError(str(export.path), f"the importer stopped on unexpected "
                                      f"input ({type(e).__name__}; run with --debug for details)")
                return
            if isinstance(found, Skipped):
                if found.native_id:
                    seen_ids.add(found.native_id)  # present upstream, only unreadable here
                summary.skipped += 1
                summary.skips.append({"where": found.where, "reason": found.reason})
                log.info("skipped %s: %s", found.where, found.reason)
                tick()
                continue
            snap = found if found.org else dataclasses.replace(found, org=account)
            if org:
                snap = dataclasses.replace(snap, org=org)
            summary.seen += 1
            seen_ids.add(snap.native_id)
            newest = max(newest, snap.updated_at or 0.0, snap.created_at or 0.0)
            try:
                stamps = (_digest_stamp(snap.files),)
            except OSError as e:
                _fail(summary, str(e.filename or snap.native_id), e.strerror or str(e))
                tick()
                continue
            if writer.source_unchanged(namespace, snap.native_id, stamps):
                summary.unchanged += 1
                tick()
                continue
            for w in snap.warnings:
                log.info("%s %s: %s", importer.name, snap.native_id, w)
            yield snap.native_id, snap, namespace, snap.native_id, stamps

    for native_id, result in writer.store_many(snapshots()):
        if isinstance(result, OSError):
            _fail(summary, str(result.filename or native_id), result.strerror or str(result))
        elif isinstance(result, Exception):
            _fail(summary, native_id, f"unexpected {type(result).__name__}")
        else:
            summary.bytes_read += result.bytes_read
            summary.bytes_stored += result.bytes_stored
            setattr(summary, result.status, getattr(summary, result.status) + 1)
        tick()

    if failure is None:
        summary.complete = True
        made = _export_time(export)
        if full:
            not_after = max(newest, made)
            summary.deleted_upstream = writer.mark_missing_sources(
                namespace, seen_ids, not_after=not_after or None)
        summary.export_status = _store_export(writer, export, importer, account, summary, made)
    writer.commit()
    summary.seconds = round(time.monotonic() - start, 3)
    if failure is not None:
        summary.stopped = {"path": failure.path, "reason": failure.reason}
        raise _Incomplete(failure, summary)
    return summary


class _Incomplete(ExportError):
    """The export broke off; ``summary`` says what was imported before."""

    def __init__(self, cause: ExportError, summary: ImportSummary) -> None:
        super().__init__(cause.path, cause.reason)
        self.summary = summary


def _store_export(writer, export: ExportSource, importer: Importer, org: str,
                  summary: ImportSummary, made: float) -> str:
    """Store the export file(s) themselves as one conversation (``made``: the export's time,
    :func:`_export_time`); returns the store status."""
    digest = _export_digest(export)
    snap = ConversationSnapshot(
        provider=importer.provider, org=org, native_id=f"export-{digest[:16]}",
        title=f"Data export {export.path.name}", files=tuple(export.whole()),
        created_at=made or None, updated_at=made or None,
        source_path=str(export.path),
        attributes={"kind": "data-export", "importer": importer.name, "full": summary.full,
                    "conversations": summary.seen, "skipped": summary.skipped,
                    "sha256" if export.kind != "folder" else "listing_sha256": digest})
    try:
        result = writer.store(snap)
    except OSError as e:
        _fail(summary, str(e.filename or export.path), e.strerror or str(e))
        return "not stored"
    summary.bytes_read += result.bytes_read
    summary.bytes_stored += result.bytes_stored
    return result.status


def _export_digest(export: ExportSource) -> str:
    """sha256 of the export file; for a folder, of its listing (names, sizes, mtimes)."""
    h = hashlib.sha256()
    if export.kind == "folder":
        for name, m in export.members.items():
            h.update(f"{name}\0{m.size}\0{m.mtime}\n".encode("utf-8", "surrogateescape"))
        return h.hexdigest()
    with open(export.path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _export_time(export: ExportSource) -> float:
    """The newest member time (when the export was made, near enough)."""
    return max((m.mtime or 0.0 for m in export.members.values()), default=0.0)


def _digest_stamp(files: tuple[RawFile, ...]) -> SourceStamp:
    """One :class:`SourceStamp` standing for the exact content of ``files`` (names + sha256),
    so an unchanged conversation is recognized without chunking it."""
    h = hashlib.sha256()
    total = 0
    for f in sorted(files, key=lambda f: f.name):
        fh = hashlib.sha256()
        if f.data is not None:
            fh.update(f.data)
            total += len(f.data)
        else:
            with open(f.path, "rb") as src:  # type: ignore[arg-type]
                while chunk := src.read(1 << 20):
                    fh.update(chunk)
                    total += len(chunk)
        h.update(f.name.encode("utf-8", "surrogatepass") + b"\0" + fh.digest())
    return SourceStamp(f"sha256:{h.hexdigest()}", 0, total, 0, 0)


def _safe_bool(fn, export: ExportSource) -> bool:
    try:
        return bool(fn(export))
    except Exception:  # noqa: BLE001 - unsure means "not a full export": flag nothing
        log.debug("is_full failed", exc_info=True)
        return False


def _safe_account(importer: Importer, export: ExportSource) -> str | None:
    try:
        name = importer.account(export)
    except Exception:  # noqa: BLE001 - the account is a nicety; fall back to a fixed name
        log.debug("account() failed", exc_info=True)
        return None
    return name.strip() if isinstance(name, str) and name.strip() else None


def _fail(summary: ImportSummary, path: str, reason: str) -> None:
    summary.failed += 1
    summary.errors.append({"path": path, "reason": reason})
    log.warning("%s: %s", path, reason)

