"""The Claude Code collector: find sessions under ``~/.claude`` and read them into snapshots.

Root: ``options["path"]`` if set, else ``$CLAUDE_CONFIG_DIR``, else ``~/.claude``.
Layout (``FORMATS.md`` "Claude Code"; anthropics/claude-code writes it)::

    projects/<slug>/<sessionId>.jsonl                 one session        -> item <sessionId>
    projects/<slug>/<sessionId>/subagents/agent-*.jsonl, agent-*.meta.json   (≥ 2.1.2)
    projects/<slug>/<sessionId>/tool-results/…        spilled tool output -> same item
    projects/<slug>/agent-<id>.jsonl                  subagent run (2.0)  -> item agent-<id>
    history.jsonl                                     prompt history      -> item "history"
    settings.json, settings.local.json, CLAUDE.md,
    agents/ commands/ skills/ hooks/ rules/           configuration       -> item "config"

Decisions:

* **2.0 subagent files** (``projects/<slug>/agent-<id>.jsonl``) are items of their own
  (native id ``agent-<id>``): the parent session is named only *inside* the file (every line's
  ``sessionId``), and ``discover`` must not read files. :meth:`read` finds it and records it
  as ``links["parent"]``. ≥ 2.1.2 subagents live in the session's own folder and are part of
  the session's item.
* **The same session id under two project folders** (a moved project, anthropics/claude-code
  #70674): both are kept. Folders are taken in name order; the first keeps the plain id, each
  other gets ``<sessionId>@<first 8 hex of sha256(slug)>``. Deterministic for a given set of
  folders. The ids ``history`` and ``config`` are reserved the same way.
* A per-session folder without its ``<sessionId>.jsonl`` is not an item (the transcript is
  what makes a session; Claude Code's cleanup deletes both together).
* Never read: ``.credentials.json``, ``.encryption_key``, and anything not listed above.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, io_error, list_dir, regular_file, short_hash, walk_files
from ..locations import env_path, option_path
from .config import CONFIG_ID, CONFIG_TITLE, DENIED, find_config_files, render_config
from .history import HISTORY_NAME, HISTORY_TITLE, HistoryScanner, render_history
from .render import render_session

# The metadata scanners are imported by the methods that use them: every command loads every
# collector, and listing sources (``locate``, ``discover``) needs none of them.
if TYPE_CHECKING:
    from .transcript import SessionInfo

__all__ = ["ClaudeCodeCollector"]

log = logging.getLogger(__name__)

PROVIDER = "claude-code"
HISTORY_ID = "history"
RESERVED_IDS = frozenset({HISTORY_ID, CONFIG_ID})
# Lines longer than this are not parsed for metadata (they are still stored byte for byte).
MAX_SCAN_LINE = 8 * 1024 * 1024


@dataclass(frozen=True)
class _Hint:
    """What :meth:`ClaudeCodeCollector.discover` hands to :meth:`~ClaudeCodeCollector.read`.

    ``kind``: ``"session"``, ``"agent"`` (2.0 subagent file), ``"history"`` or ``"config"``;
    ``files``: the item's files, the transcript first for sessions and agents.
    """

    kind: str
    native_id: str
    slug: str | None
    files: tuple[FoundFile, ...]
    root: Path | None = None


@dataclass
class _Candidate:
    stem: str
    kind: str
    slug: str
    files: list[FoundFile]


class ClaudeCodeCollector:
    """Claude Code sessions, prompt history and configuration (see the module docstring).

    Items: one per session transcript (key = native id = session id, see the module
    docstring for collisions), ``history`` and ``config``. :meth:`read` raises
    :class:`~collectors.TemporaryItemError` when the transcript vanished and
    :class:`~collectors.ItemError` when it cannot be read.
    """

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    # -- where ------------------------------------------------------------------------------

    def root(self, ctx: CollectContext) -> Path:
        """The Claude Code root for ``ctx`` (it may not exist)."""
        return option_path(ctx) or env_path(ctx, "CLAUDE_CONFIG_DIR") or ctx.home / ".claude"

    def locate(self, ctx: CollectContext) -> list[Path]:
        """``[root]`` when the root is an existing directory, else ``[]``."""
        root = self.root(ctx)
        return [root] if root.is_dir() else []

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Yield sessions (by key), then ``history``, then ``config``. Lists and stats only."""
        root = self.root(ctx)
        if not root.is_dir():
            return
        candidates: dict[str, list[_Candidate]] = defaultdict(list)
        projects = root / "projects"
        try:
            slugs = list_dir(projects, strict=True)
        except OSError as exc:
            yield io_error(projects, exc)
            slugs = []
        for slug_entry in slugs:
            try:  # a symlinked project folder is not followed (loops, links out of the tree)
                if not slug_entry.is_dir(follow_symlinks=False):
                    continue
            except OSError:
                continue
            try:
                _scan_project(Path(slug_entry.path), slug_entry.name, candidates)
            except OSError as exc:
                yield io_error(slug_entry.path, exc)

        for stem in sorted(candidates):
            group = sorted(candidates[stem], key=lambda c: c.slug)
            for index, cand in enumerate(group):
                plain = index == 0 and stem not in RESERVED_IDS
                native = stem if plain else f"{stem}@{short_hash(cand.slug)}"
                hint = _Hint(cand.kind, native, cand.slug, tuple(cand.files))
                yield SourceItem(native, _stamps(cand.files), hint)

        for entry in list_dir(root):
            if entry.name == HISTORY_NAME:
                st = regular_file(entry, DENIED)
                if st is not None:
                    found = (FoundFile(HISTORY_NAME, Path(entry.path), st),)
                    yield SourceItem(
                        HISTORY_ID, _stamps(found), _Hint("history", HISTORY_ID, None, found)
                    )
        config = tuple(find_config_files(root))
        if config:
            yield SourceItem(
                CONFIG_ID, _stamps(config), _Hint("config", CONFIG_ID, None, config, root)
            )

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one item into a snapshot whose files are streamed by path.

        Raises :class:`TemporaryItemError` if the item or its transcript is gone,
        :class:`ItemError` if it cannot be read.
        """
        hint = item.hint if isinstance(item.hint, _Hint) else find_hint(self, item.key, ctx)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        if hint.kind in ("session", "agent"):
            return self._read_session(hint)
        if hint.kind == "history":
            return self._read_history(hint)
        return self._read_config(hint)

    def _read_session(self, hint: _Hint) -> ConversationSnapshot:
        from ..scan import file_reader, torn_last_line
        from .metadata import SessionMetaScanner

        main = hint.files[0]
        stem = main.name[: -len(".jsonl")]
        path = str(main.path)
        # Metadata from a byte scan that parses only the lines that matter (metadata.py).
        scanner = SessionMetaScanner(
            stem if hint.kind == "session" else None, MAX_SCAN_LINE, file_reader(path)
        )
        try:
            with open_regular(path) as stream:
                st = os.fstat(stream.fileno())
                scanner.scan(stream.readinto, st.st_size)
            info = scanner.finish()
        except OSError as exc:
            raise io_error(main.path, exc) from None
        warnings = [bad.warning for bad in info.bad]
        raw = [RawFile(main.name, path=main.path, mtime_ns=st.st_mtime_ns)]
        for extra in hint.files[1:]:
            try:
                extra_st = os.stat(extra.path)
                if extra.name.endswith(".jsonl"):
                    torn = torn_last_line(extra.path, MAX_SCAN_LINE)
                    if torn is not None:
                        warnings.append(f"{extra.name} {torn.warning}")
            except OSError as exc:
                warnings.append(f"{extra.name}: {io_error(extra.path, exc).reason}")
                continue
            raw.append(RawFile(extra.name, path=extra.path, mtime_ns=extra_st.st_mtime_ns))
        log.debug("read %s: %d bytes, %d files", main.path, scanner.size, len(raw))
        links, attributes = _relations(hint, info, stem)
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=info.title,
            files=tuple(raw),
            created_at=info.created_at,
            updated_at=info.updated_at if info.updated_at is not None else st.st_mtime,
            source_path=path,
            links=links,
            attributes=attributes,
            warnings=tuple(warnings),
        )

    def _read_history(self, hint: _Hint) -> ConversationSnapshot:
        from ..jsonl import iter_jsonl_stream

        found = hint.files[0]
        scanner = HistoryScanner()
        try:
            with open_regular(found.path) as stream:
                for line in iter_jsonl_stream(stream, max_line_bytes=MAX_SCAN_LINE):
                    scanner.feed(line)
                st = os.fstat(stream.fileno())
        except OSError as exc:
            raise io_error(found.path, exc) from None
        info = scanner.info
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=HISTORY_ID,
            title=HISTORY_TITLE,
            files=(RawFile(HISTORY_NAME, path=found.path, mtime_ns=st.st_mtime_ns),),
            created_at=info.created_at,
            updated_at=info.updated_at if info.updated_at is not None else st.st_mtime,
            source_path=str(found.path),
            attributes={"kind": "history", "prompts": info.prompts, "projects": len(info.projects)},
            warnings=tuple(bad.warning for bad in info.bad if not bad.oversized),
        )

    def _read_config(self, hint: _Hint) -> ConversationSnapshot:
        raw: list[RawFile] = []
        warnings: list[str] = []
        latest: float | None = None
        for found in hint.files:
            try:
                st = os.stat(found.path)
            except OSError as exc:
                warnings.append(f"{found.name}: {io_error(found.path, exc).reason}")
                continue
            raw.append(RawFile(found.name, path=found.path, mtime_ns=st.st_mtime_ns))
            latest = st.st_mtime if latest is None else max(latest, st.st_mtime)
        if not raw:
            raise TemporaryItemError(CONFIG_ID, "every configuration file vanished")
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=CONFIG_ID,
            title=CONFIG_TITLE,
            files=tuple(raw),
            updated_at=latest,
            source_path=str(hint.root) if hint.root is not None else None,
            attributes={"kind": "config", "files": len(raw)},
            warnings=tuple(warnings),
        )

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version: a session, the history or the config."""
        native = meta.get("native_id")
        names = set(files)
        if native == HISTORY_ID or (native is None and names == {HISTORY_NAME}):
            return render_history(files, meta)
        if native == CONFIG_ID or (
            native is None
            and names
            and not any("/" not in n and n.endswith(".jsonl") for n in names)
        ):
            return render_config(files, meta)
        return render_session(files, meta)


# ---------------------------------------------------------------------------------------


def _scan_project(folder: Path, slug: str, candidates: dict[str, list[_Candidate]]) -> None:
    """Add the transcripts of one project folder to ``candidates`` (by file stem)."""
    entries = list_dir(folder, strict=True)
    dirs = set()
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                dirs.add(entry.name)
        except OSError:
            continue
    for entry in entries:
        if not entry.name.endswith(".jsonl") or entry.name in DENIED:
            continue
        stem = entry.name[: -len(".jsonl")]
        st = regular_file(entry, DENIED)
        if not stem or st is None:
            continue
        kind = "agent" if stem.startswith("agent-") else "session"
        files = [FoundFile(entry.name, Path(entry.path), st)]
        if kind == "session" and stem in dirs:
            files.extend(walk_files(folder / stem, "", DENIED))
        candidates[stem].append(_Candidate(stem, kind, slug, files))


def _stamps(files: tuple[FoundFile, ...] | list[FoundFile]) -> tuple[SourceStamp, ...]:
    return tuple(SourceStamp.of(f.path, f.st) for f in files)


def _relations(hint: _Hint, info: SessionInfo, stem: str) -> tuple[dict[str, str], dict[str, Any]]:
    links: dict[str, str] = {}
    attributes: dict[str, Any] = {"kind": "subagent" if hint.kind == "agent" else "session"}
    if hint.kind == "agent":
        parents = [s for s in info.session_ids if s != stem]
        if parents:
            links["parent"] = parents[0]
        attributes["agent_id"] = info.agent_ids[0] if info.agent_ids else stem[len("agent-") :]
    elif info.continued_from and info.continued_from != stem:
        links["continued_from"] = info.continued_from
    if hint.native_id != stem:
        attributes["session_id"] = stem
    if hint.slug is not None:
        attributes["project_dir"] = hint.slug
    if info.cwd:
        attributes["cwd"] = info.cwd
    if info.git_branch:
        attributes["git_branch"] = info.git_branch
    if info.version:
        attributes["version"] = info.version
    if info.models:
        attributes["models"] = list(info.models)
    if info.missing_logical_parents:
        attributes["continued_from_message"] = info.missing_logical_parents[0]
    other = [s for s in info.session_ids if s != stem]
    if other:
        attributes["other_session_ids"] = other[:20]
    attributes["title_source"] = info.title_source
    return links, attributes
