"""The aider collector: ``.aider.chat.history.md`` files in repositories, one conversation each.

Aider (Aider-AI/aider ``aider/io.py``) appends its chat log to ``<repo>/.aider.chat.history.md``
and its prompt history to ``<repo>/.aider.input.history``; there are no ids and no central
folder. Where to look (options, all optional)::

    path        one more root (a folder, or a history file)
    roots       folders to search (a path or a list); default: the home folder
    max_depth   levels searched below each root (default 6)
    max_dirs    folders listed in all before giving up (default 50000)
    skip        extra folder names never entered (besides walk.SKIP_DIRS)

Decisions:

* **One conversation per repository**: key and native id are the first 16 hex digits of
  sha256 of the repository's absolute path; title is the folder's name; the path is the
  ``repo`` attribute. A moved repository is a new conversation.
* Each ``# aider chat started at`` run is a section of the Markdown, not an item: the file
  is one append-only log and runs have no ids.
* ``.aider.input.history`` beside it is a raw file of the same conversation.
* Never read: anything but those two file names (``.env``, ``.aider.conf.yml`` with API
  keys are left alone).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import io_error
from ..locations import option_path, option_paths
from .history import HEADER, header_time
from .walk import CHAT_HISTORY, INPUT_HISTORY, SKIP_DIRS, Found, find_histories

__all__ = ["AiderCollector", "repo_id"]

log = logging.getLogger(__name__)

PROVIDER = "aider"
DENIED = frozenset({".env", ".aider.conf.yml", "auth.json", ".credentials.json"})
DEFAULT_MAX_DEPTH = 6
DEFAULT_MAX_DIRS = 50_000
BLOCK = 1 << 20
_RUN = re.compile(rb"^" + re.escape(HEADER.encode()) + rb"([^\n]*)", re.M)


def repo_id(repo: Path | str) -> str:
    """The native id of a repository: 16 hex digits of sha256 of its absolute path."""
    text = os.path.abspath(os.fspath(repo))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _scan_runs(stream: Any) -> tuple[list[str], bool]:
    """The header times of a chat history, read in blocks (memory stays bounded: a line
    longer than a block is skipped, it cannot be a header), and whether the file ends with
    a newline (aider writes whole lines)."""
    runs: list[str] = []
    carry = b""
    skipping = False  # inside a line too long to keep
    last = b"\n"
    while True:
        chunk = stream.read(BLOCK)
        if not chunk:
            break
        last = chunk[-1:]
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                continue
            chunk, skipping = chunk[nl + 1 :], False
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        for m in _RUN.finditer(data, 0, cut):
            runs.append(m.group(1).decode("utf-8", "replace").strip())
        carry = data[cut:]
        if len(carry) > BLOCK:
            carry, skipping = b"", True
    if carry and not skipping:
        runs.extend(m.group(1).decode("utf-8", "replace").strip() for m in _RUN.finditer(carry))
    return runs, last == b"\n"


@dataclass(frozen=True)
class _Hint:
    found: Found


def _int_option(ctx: CollectContext, key: str, default: int) -> int:
    value = ctx.options.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return default


class AiderCollector:
    """Aider chat histories (see the module docstring). Items: one per repository.
    :meth:`read` raises :class:`~collectors.TemporaryItemError` when the history vanished
    and :class:`~collectors.ItemError` when it cannot be read."""

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def roots(self, ctx: CollectContext) -> list[Path]:
        """The folders searched: ``roots`` (default the home folder), plus ``path``."""
        roots = option_paths(ctx, "roots")
        if roots is None:
            roots = [ctx.home]
        extra = option_path(ctx)
        if extra is not None:
            roots = [extra] if ctx.options.get("roots") is None else roots + [extra]
        return roots

    def locate(self, ctx: CollectContext) -> list[Path]:
        """The existing search roots (aider has no home folder of its own)."""
        return [r for r in self.roots(ctx) if r.exists()]

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Yield one item per repository with a chat history. Lists and stats only."""
        extra = ctx.options.get("skip")
        skip = SKIP_DIRS | frozenset(s for s in extra if isinstance(s, str)) if isinstance(
            extra, (list, tuple)
        ) else SKIP_DIRS
        found_ids: set[str] = set()
        for found in find_histories(
            self.locate(ctx),
            max_depth=_int_option(ctx, "max_depth", DEFAULT_MAX_DEPTH),
            max_dirs=_int_option(ctx, "max_dirs", DEFAULT_MAX_DIRS),
            skip=skip,
            deny=DENIED,
        ):
            ident = repo_id(found.repo)
            if ident in found_ids:
                continue
            found_ids.add(ident)
            stamps = [SourceStamp.of(found.chat.path, found.chat.st)]
            if found.inputs is not None:
                stamps.append(SourceStamp.of(found.inputs.path, found.inputs.st))
            yield SourceItem(ident, tuple(stamps), _Hint(found))

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one repository's history into a snapshot (files streamed by path).

        Raises :class:`TemporaryItemError` if the history is gone, :class:`ItemError` if it
        cannot be read.
        """
        hint = item.hint if isinstance(item.hint, _Hint) else find_hint(self, item.key, ctx)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        found = hint.found
        chat = found.chat.path
        try:
            with open_regular(chat) as stream:
                st = os.fstat(stream.fileno())
                runs, complete = _scan_runs(stream)
        except OSError as exc:
            raise io_error(chat, exc) from None
        warnings: list[str] = []
        if not complete:
            warnings.append("last line is incomplete (no newline at the end)")
        raw = [RawFile(CHAT_HISTORY, path=chat, mtime_ns=st.st_mtime_ns)]
        if found.inputs is not None:
            try:
                in_st = os.stat(found.inputs.path)
                raw.append(
                    RawFile(INPUT_HISTORY, path=found.inputs.path, mtime_ns=in_st.st_mtime_ns)
                )
            except OSError as exc:
                warnings.append(f"{INPUT_HISTORY}: {io_error(found.inputs.path, exc).reason}")
        times = [t for t in (header_time(r) for r in runs) if t is not None]
        repo = str(found.repo)
        title = found.repo.name or repo
        log.debug("read %s: %d runs", chat, len(runs))
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=item.key,
            title=title,
            files=tuple(raw),
            created_at=min(times) if times else None,
            updated_at=st.st_mtime,
            source_path=str(chat),
            attributes={"repo": repo, "runs": len(runs)},
            warnings=tuple(warnings),
        )

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version (never raises)."""
        from .render import render_history  # only the mount renders: imported on first use

        return render_history(files, meta)
