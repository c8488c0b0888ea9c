"""The Qwen Code collector: session transcripts under ``~/.qwen/projects/<project>/chats``.

Roots: ``options["path"]`` if set; else ``$QWEN_RUNTIME_DIR`` (where Qwen Code writes session
data when set) and ``$QWEN_HOME`` (default ``~/.qwen``), each searched if it exists. Layout
(QwenLM/qwen-code ``packages/core/src/config/storage.ts``, ``services/sessionService.ts``)::

    projects/<sanitized cwd>/chats/<sessionId>.jsonl     one session            -> item
    projects/<sanitized cwd>/chats/<sessionId>/…         the session's side files -> same item
    projects/<sanitized cwd>/chats/<folder>/<id>.jsonl   e.g. archived sessions  -> item
    tmp/<project hash>/chats/<sessionId>.jsonl           older releases          -> item

Decisions:

* The native id is the file **stem** (Qwen Code names the file after the session id);
  :meth:`read` compares it with the records' ``sessionId`` and records a mismatch as a
  warning. The same stem found twice (two projects, or a live and an archived copy) gets
  ``@<8 hex of sha256(relative folder)>`` for every copy after the first in path order.
* A line holding two glued JSON objects is read as both (:mod:`collectors.glued`) and
  reported as a warning.
* Never read: ``oauth_creds.json``, ``settings.json`` (may hold API keys), ``.env``,
  ``mcp-oauth-tokens.json``, and anything outside ``chats/`` folders.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, io_error, list_dir, regular_file, short_hash, walk_files
from ..locations import env_path, option_path

# Parsing and rendering modules are imported by the methods that use them: every command
# loads every collector, and listing sources (``locate``, ``discover``) needs neither.

__all__ = ["QwenCodeCollector"]

log = logging.getLogger(__name__)

PROVIDER = "qwen-code"
DENIED = frozenset(
    {"oauth_creds.json", "settings.json", ".env", "mcp-oauth-tokens.json", "installation_id"}
)
MAX_SCAN_LINE = 8 * 1024 * 1024
LAYOUTS = ("projects", "tmp")


@dataclass(frozen=True)
class _Hint:
    """``main``: the transcript; ``files``: every raw file as ``(name, found)``, main first."""

    native_id: str
    folder: str
    main: FoundFile
    files: tuple[tuple[str, FoundFile], ...]
    archived: bool = False


@dataclass
class _Candidate:
    stem: str
    rel: str  # the chats folder relative to its root, for collisions
    folder: str  # the project folder name
    files: list[tuple[str, FoundFile]]
    archived: bool


class QwenCodeCollector:
    """Qwen Code sessions (see the module docstring). Items: one per transcript stem.
    :meth:`read` raises :class:`~collectors.TemporaryItemError` when the transcript vanished
    and :class:`~collectors.ItemError` when it cannot be read."""

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def roots(self, ctx: CollectContext) -> list[Path]:
        """The directories searched for ``projects/`` and ``tmp/`` (they may not exist)."""
        option = option_path(ctx)
        if option is not None:
            return [option]
        home = env_path(ctx, "QWEN_HOME") or ctx.home / ".qwen"
        runtime = env_path(ctx, "QWEN_RUNTIME_DIR")
        return [runtime, home] if runtime is not None and runtime != home else [home]

    def locate(self, ctx: CollectContext) -> list[Path]:
        """The existing roots."""
        return [r for r in self.roots(ctx) if r.is_dir()]

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Yield one item per transcript (sorted by key). Lists and stats only."""
        found: dict[str, list[_Candidate]] = {}
        for root_no, root in enumerate(self.locate(ctx)):
            for layout in LAYOUTS:
                top = root / layout
                try:
                    projects = list_dir(top, strict=True)
                except OSError as exc:
                    yield io_error(top, exc)
                    continue
                for entry in projects:
                    chats = Path(entry.path) / "chats"
                    try:
                        if not entry.is_dir(follow_symlinks=False) or not chats.is_dir():
                            continue
                        rel = f"{root_no}/{layout}/{entry.name}"
                        for cand in _scan_chats(chats, rel, entry.name):
                            found.setdefault(cand.stem, []).append(cand)
                    except OSError as exc:
                        yield io_error(chats, exc)
        for stem in sorted(found):
            group = sorted(found[stem], key=lambda c: (c.archived, c.rel))
            for index, cand in enumerate(group):
                native = stem if index == 0 else f"{stem}@{short_hash(cand.rel)}"
                files = tuple(cand.files)
                hint = _Hint(native, cand.folder, files[0][1], files, cand.archived)
                stamps = tuple(SourceStamp.of(f.path, f.st) for _, f in files)
                yield SourceItem(native, stamps, hint)

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one session into a snapshot whose files are streamed by path.

        Raises :class:`TemporaryItemError` if the transcript is gone, :class:`ItemError` if
        it cannot be read.
        """
        from ..glued import glued_warning
        from ..scan import file_reader
        from .metadata import SessionMetaScanner

        hint = item.hint if isinstance(item.hint, _Hint) else find_hint(self, item.key, ctx)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        main = hint.main
        scanner = SessionMetaScanner(MAX_SCAN_LINE, file_reader(main.path))
        try:
            with open_regular(main.path) as stream:
                st = os.fstat(stream.fileno())
                scanner.scan(stream.readinto, st.st_size)
            bad, glued = scanner.problems()
        except OSError as exc:
            raise io_error(main.path, exc) from None
        info = scanner.info
        warnings = [b.warning for b in bad] + [glued_warning(n, c) for n, c in glued]
        stem = main.name[: -len(".jsonl")]
        if info.session_id is not None and info.session_id != stem:
            warnings.append(f"records carry session id {info.session_id}, not the file name's")
        raw = [RawFile(main.name, path=main.path, mtime_ns=st.st_mtime_ns)]
        for name, found in hint.files[1:]:
            try:
                extra_st = os.stat(found.path)
            except OSError as exc:
                warnings.append(f"{name}: {io_error(found.path, exc).reason}")
                continue
            raw.append(RawFile(name, path=found.path, mtime_ns=extra_st.st_mtime_ns))
        title, source = info.title()
        attributes: dict[str, Any] = {"project_dir": hint.folder, "title_source": source}
        if hint.archived:
            attributes["folder"] = "archived"
        for key in ("cwd", "git_branch", "version"):
            value = getattr(info, key)
            if value:
                attributes[key] = value
        if info.session_id and info.session_id != stem:
            attributes["session_id"] = info.session_id
        if info.models:
            attributes["models"] = list(info.models)
            attributes["model"] = info.models[-1]
        links: dict[str, str] = {}
        if info.parent_session:
            links["parent"] = info.parent_session
        if info.forked_from:
            links["forked_from"] = info.forked_from
        log.debug("read %s: %d bytes, %d files", main.path, scanner.size, len(raw))
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=title,
            files=tuple(raw),
            created_at=info.created_at,
            updated_at=info.updated_at if info.updated_at is not None else st.st_mtime,
            source_path=str(main.path),
            links=links,
            attributes=attributes,
            warnings=tuple(warnings),
        )

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version (never raises)."""
        from .render import render_session  # only the mount renders: imported on first use

        return render_session(files, meta)


# ---------------------------------------------------------------------------------------


def _scan_chats(chats: Path, rel: str, folder: str) -> list[_Candidate]:
    """The transcripts of one ``chats/`` folder, with their side folders."""
    entries = list_dir(chats, strict=True)
    dirs: dict[str, os.DirEntry[str]] = {}
    files: list[tuple[str, FoundFile]] = []
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                dirs[entry.name] = entry
                continue
        except OSError:
            continue
        if entry.name.endswith(".jsonl") and len(entry.name) > len(".jsonl"):
            st = regular_file(entry, DENIED)
            if st is not None:
                stem = entry.name[: -len(".jsonl")]
                files.append((stem, FoundFile(entry.name, Path(entry.path), st)))
    out: list[_Candidate] = []
    stems = {stem for stem, _ in files}
    for stem, found in files:
        raw: list[tuple[str, FoundFile]] = [(found.name, found)]
        if stem in dirs:
            side = walk_files(Path(dirs[stem].path), f"{stem}/", DENIED)
            raw.extend((f.name, f) for f in side)
        out.append(_Candidate(stem, rel, folder, raw, False))
    for name, entry in sorted(dirs.items()):
        if name in stems:
            continue
        for sub in list_dir(Path(entry.path)):
            if not sub.name.endswith(".jsonl") or len(sub.name) <= len(".jsonl"):
                continue
            st = regular_file(sub, DENIED)
            if st is None:
                continue
            stem = sub.name[: -len(".jsonl")]
            found = FoundFile(sub.name, Path(sub.path), st)
            out.append(_Candidate(stem, f"{rel}/{name}", folder, [(sub.name, found)], True))
    return out
