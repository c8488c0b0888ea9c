"""The Codex CLI collector: rollout files under ``$CODEX_HOME`` as conversations.

Root: ``options["path"]`` if set, else ``$CODEX_HOME``, else ``~/.codex``. Layout
(openai/codex ``codex-rs/core/src/rollout/``, ``codex-rs/rollout/src/compression.rs``)::

    sessions/YYYY/MM/DD/rollout-<YYYY-MM-DDThh-mm-ss>-<uuid>.jsonl   one session -> item <uuid>
    sessions/…/rollout-…-<uuid>.jsonl.zst                          the same, zstd-compressed
    archived_sessions/rollout-…-<uuid>.jsonl[.zst]                 archived session -> item <uuid>
    history.jsonl                                                  prompt history -> item "history"
    session_index.jsonl                                            thread names (read, not stored)

Decisions:

* The native id is the uuid in the **file name** (``discover`` does not read files);
  :meth:`CodexCollector.read` compares it with the first ``session_meta`` id and records a
  mismatch as a warning. A name that does not parse keeps its whole stem as the id.
* **One session in several places** (``sessions/`` and ``archived_sessions/``, or a plain and
  a ``.zst`` copy during compression): one item. The most recently modified copy is read
  (then the larger, then the one under ``sessions/``); only its stamp is kept, so a change
  of which copy wins also changes the stamps.
* ``session_index.jsonl`` is read by :meth:`~CodexCollector.read` only for a session whose
  rollout has no ``thread_name_updated`` event, and it is not stamped (stamping it would
  re-read every session at each rename; current Codex also writes the rename into the
  rollout). A rename found only in the index shows up when the rollout next changes.
* Never read: ``auth.json``, ``config.toml``, logs, anything not listed above.
"""

from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Iterator, Mapping

import zstandard

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, files_named, io_error, list_dir, walk_files
from ..jsonl import JsonLine, iter_jsonl_stream
from ..locations import env_path, option_path
from .history import HISTORY_NAME, HISTORY_TITLE, HistoryScanner, render_history

# Parsing and rendering modules are imported by the functions that use them: every command
# loads every collector, and listing sources (``locate``, ``discover``) needs none of them.
if TYPE_CHECKING:
    from ..scan import ReadInto, Reopen
    from .metadata import RolloutMetaScanner
    from .rollout import RolloutInfo

__all__ = ["CodexCollector", "rollout_id"]

log = logging.getLogger(__name__)

PROVIDER = "codex"
HISTORY_ID = "history"
INDEX_NAME = "session_index.jsonl"
DENIED = frozenset({"auth.json"})
MAX_SCAN_LINE = 8 * 1024 * 1024
ZST = ".zst"
# (re.S and \Z: a file name may hold a newline, and must still be found, whole)
_ROLLOUT = re.compile(r"^rollout-(?P<rest>.+)\.jsonl(?:\.zst)?\Z", re.S)
_TIMESTAMP_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-(?P<id>.+)\Z", re.S)


def rollout_id(file_name: str) -> str | None:
    """The session id in a rollout file name, ``None`` if it is not a rollout name.

    ``rollout-2025-07-19T22-21-00-0198…e7.jsonl`` → ``0198…e7``; a name without the
    timestamp part keeps everything between ``rollout-`` and ``.jsonl``.
    """
    m = _ROLLOUT.match(file_name)
    if not m:
        return None
    rest = m.group("rest")
    ts = _TIMESTAMP_PREFIX.match(rest)
    return ts.group("id") if ts else rest


@dataclass(frozen=True)
class _Hint:
    """``kind`` (``"session"`` or ``"history"``), the file to read, whether it sits in
    ``archived_sessions/``, and the root (for ``session_index.jsonl``)."""

    kind: str
    native_id: str
    file: FoundFile
    archived: bool
    root: Path


class _SessionIndex:
    """``session_index.jsonl`` parsed once per change (size, mtime): id → latest name."""

    def __init__(self) -> None:
        self._key: tuple[str, int, int] | None = None
        self._names: dict[str, str] = {}

    def name(self, root: Path, session_id: str) -> str | None:
        path = root / INDEX_NAME
        try:
            st = os.stat(path)
            key = (str(path), st.st_size, st.st_mtime_ns)
            if key != self._key:
                names: dict[str, str] = {}
                with open_regular(path) as stream:
                    for line in iter_jsonl_stream(stream, max_line_bytes=1 << 20):
                        if isinstance(line, JsonLine):
                            ident, name = line.value.get("id"), line.value.get("thread_name")
                            if isinstance(ident, str) and isinstance(name, str) and name:
                                names[ident] = name
                self._key, self._names = key, names
        except OSError as exc:
            log.debug("no usable %s: %s", path, exc.strerror or exc)
            return None
        return self._names.get(session_id)


class CodexCollector:
    """OpenAI Codex CLI sessions and prompt history (see the module docstring).

    Items: one per session uuid (key = native id = the uuid from the rollout's file name)
    and ``history``. :meth:`read` raises :class:`~collectors.TemporaryItemError` when the
    rollout vanished and :class:`~collectors.ItemError` when it cannot be read.
    """

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def __init__(self) -> None:
        self._index = _SessionIndex()

    def root(self, ctx: CollectContext) -> Path:
        """The Codex home for ``ctx`` (it may not exist)."""
        return option_path(ctx) or env_path(ctx, "CODEX_HOME") or ctx.home / ".codex"

    def locate(self, ctx: CollectContext) -> list[Path]:
        """``[root]`` when the root is an existing directory, else ``[]``."""
        root = self.root(ctx)
        return [root] if root.is_dir() else []

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Yield one item per session id (sorted), then ``history``. Lists and stats only."""
        root = self.root(ctx)
        if not root.is_dir():
            return
        found: dict[str, list[tuple[FoundFile, bool]]] = {}
        for folder, archived in (("sessions", False), ("archived_sessions", True)):
            top = root / folder
            try:
                list_dir(top, strict=True)
            except OSError as exc:
                yield io_error(top, exc)
                continue
            for f in walk_files(top, f"{folder}/", DENIED):
                ident = rollout_id(f.path.name)
                if ident:
                    found.setdefault(ident, []).append((f, archived))
        for ident in sorted(found):
            copies = found[ident]
            best, archived = max(
                copies, key=lambda c: (c[0].st.st_mtime_ns, c[0].st.st_size, not c[1], c[0].name)
            )
            native = ident if ident != HISTORY_ID else f"{ident}@rollout"  # keep "history" free
            if len(copies) > 1:
                log.debug("session %s found %d times; reading %s", native, len(copies), best.path)
            stamp = (SourceStamp.of(best.path, best.st),)
            yield SourceItem(native, stamp, _Hint("session", native, best, archived, root))
        for f in files_named(root, (HISTORY_NAME,), DENIED):
            stamp = (SourceStamp.of(f.path, f.st),)
            yield SourceItem(HISTORY_ID, stamp, _Hint("history", HISTORY_ID, f, False, root))

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one item into a snapshot whose file is streamed by path.

        Raises :class:`TemporaryItemError` if the file is gone, :class:`ItemError` if it
        cannot be read.
        """
        hint = item.hint if isinstance(item.hint, _Hint) else find_hint(self, item.key, ctx)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        if hint.kind == "history":
            return self._read_history(hint)
        return self._read_session(hint)

    def _read_session(self, hint: _Hint) -> ConversationSnapshot:
        from .metadata import RolloutMetaScanner

        path = hint.file.path
        compressed = path.name.endswith(ZST)
        # Metadata from a byte scan that parses only the lines that matter (metadata.py).
        scanner = RolloutMetaScanner(MAX_SCAN_LINE, _reopen(path, compressed))
        warnings: list[str] = []
        try:
            with open_regular(path) as raw_stream:
                st = os.fstat(raw_stream.fileno())
                warnings.extend(_scan(raw_stream, st.st_size, compressed, scanner))
            info = scanner.finish()
        except OSError as exc:
            raise io_error(path, exc) from None
        warnings[:0] = [bad.warning for bad in info.bad]
        index_name = None if info.thread_name else self._index.name(hint.root, hint.native_id)
        title, source = info.title(index_name)
        file_id = rollout_id(path.name)
        if info.meta_id is None:
            warnings.append("no session_meta record")
        elif info.meta_id != file_id:
            warnings.append(f"session_meta id {info.meta_id} differs from the file name's id")
        log.debug("read %s: %d bytes", path, scanner.size)
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=hint.native_id,
            title=title,
            files=(RawFile(path.name, path=path, mtime_ns=st.st_mtime_ns),),
            created_at=info.created_at,
            updated_at=info.updated_at if info.updated_at is not None else st.st_mtime,
            source_path=str(path),
            links=_links(info),
            attributes=_attributes(info, hint, source),
            warnings=tuple(warnings),
        )

    def _read_history(self, hint: _Hint) -> ConversationSnapshot:
        path = hint.file.path
        scanner = HistoryScanner()
        try:
            with open_regular(path) as stream:
                st = os.fstat(stream.fileno())
                for line in iter_jsonl_stream(stream, max_line_bytes=MAX_SCAN_LINE):
                    scanner.feed(line)
        except OSError as exc:
            raise io_error(path, exc) from None
        info = scanner.info
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=HISTORY_ID,
            title=HISTORY_TITLE,
            files=(RawFile(HISTORY_NAME, path=path, mtime_ns=st.st_mtime_ns),),
            created_at=info.created_at,
            updated_at=info.updated_at if info.updated_at is not None else st.st_mtime,
            source_path=str(path),
            attributes={"kind": "history", "prompts": info.prompts, "sessions": info.sessions},
            warnings=tuple(bad.warning for bad in info.bad),
        )

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version: a session or the prompt history."""
        native = meta.get("native_id")
        if native == HISTORY_ID or (native is None and set(files) == {HISTORY_NAME}):
            return render_history(files, meta)
        from .render import render_rollout
        from .zst import decompress

        plain = {}
        notes = []
        for name, data in files.items():
            if name.endswith(".jsonl" + ZST):
                text, problem = decompress(data)
                plain[name[: -len(ZST)]] = text
                if problem:
                    notes.append(f"⚠ {name}: {problem}; showing what could be decompressed")
            else:
                plain[name] = data
        rendered = render_rollout(plain, meta)
        if notes:
            rendered += "\n" + "\n\n".join(md.note(n) for n in notes) + "\n"
        return rendered


# ---------------------------------------------------------------------------------------


def _scan(stream: BinaryIO, size: int, compressed: bool, scanner: RolloutMetaScanner) -> list[str]:
    """Run ``scanner`` over ``stream`` (zstd-decoded when ``compressed``); warnings for a
    corrupt or cut-off compressed stream (what came before the problem is kept)."""
    if not compressed:
        scanner.scan(stream.readinto, size)
        return []
    from .zst import ZstdReader
    reader = ZstdReader(stream)
    lines = 0
    last = 10  # the last byte decoded ("\n" before the start)
    corrupt = False

    def readinto(buf: bytearray) -> int:
        nonlocal lines, last, corrupt
        if corrupt:
            return 0
        try:
            n = reader.readinto(buf)
        except zstandard.ZstdError:
            corrupt = True
            return 0
        if n:
            with memoryview(buf) as view:  # buf may itself be a memoryview
                lines += view[:n].tobytes().count(b"\n")
                last = view[n - 1]
        return n

    scanner.scan(readinto)
    if last != 10:
        lines += 1  # an unterminated last line
    if corrupt:
        return [f"compressed data is corrupt after {lines} line(s)"]
    return [] if reader.complete else [f"compressed data is cut off after {lines} line(s)"]


def _reopen(path: Path, compressed: bool) -> Reopen:
    """Opens ``path`` again (decoded when ``compressed``), for the scanner's rare re-reads."""
    from ..scan import file_reader
    from .zst import ZstdReader

    if not compressed:
        return file_reader(path)

    @contextmanager
    def reopen() -> Iterator[ReadInto]:
        with open_regular(path) as stream:
            reader = ZstdReader(stream)

            def readinto(buf: bytearray) -> int:
                try:
                    return reader.readinto(buf)
                except zstandard.ZstdError:
                    return 0

            yield readinto

    return reopen


def _links(info: RolloutInfo) -> dict[str, str]:
    links: dict[str, str] = {}
    if info.forked_from:
        links["forked_from"] = info.forked_from
    if info.parent_thread:
        links["parent"] = info.parent_thread
    return links


def _attributes(info: RolloutInfo, hint: _Hint, title_source: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {"kind": "session", "archived": hint.archived}
    if hint.file.path.name.endswith(ZST):
        attributes["compressed"] = True
    for key in ("cwd", "cli_version", "originator", "model_provider", "source"):
        value = getattr(info, key)
        if value:
            attributes[key] = value
    if info.models:
        attributes["model"] = info.models[-1]
        attributes["models"] = list(info.models)
    if info.git:
        attributes["git"] = dict(info.git)
    if info.meta_id:
        attributes["session_meta_id"] = info.meta_id
    attributes["title_source"] = title_source
    return attributes
