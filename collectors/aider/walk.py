"""Finding ``.aider.chat.history.md`` files: a bounded, listing-only directory walk.

Aider writes its history at the root of the repository it runs in, so there is no central
place to look: :func:`find_histories` walks the configured roots breadth-first with
:func:`os.scandir` (one listing per directory, ``stat`` only for the files it reports), never
opening a file. It does not follow directory symlinks, skips dependency, build and cache
folders by name (:data:`SKIP_DIRS`), stops ``max_depth`` levels below each root and after
``max_dirs`` directories in all (logged as a warning), and reports each history file once
even when roots overlap. The order is deterministic (names sorted), so the same tree gives
the same result on every run.
"""

from __future__ import annotations

import logging
import os
import stat
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from ..files import FoundFile, regular_file

__all__ = ["CHAT_HISTORY", "INPUT_HISTORY", "SKIP_DIRS", "Found", "find_histories"]

log = logging.getLogger(__name__)

CHAT_HISTORY = ".aider.chat.history.md"
INPUT_HISTORY = ".aider.input.history"
SKIP_DIRS = frozenset(
    {
        # version control and dependencies
        ".git", ".hg", ".svn", "node_modules", "bower_components", "vendor", "site-packages",
        ".venv", "venv", ".tox", ".nox", "__pycache__", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", ".eggs", ".gradle", ".m2", ".ivy2", ".cargo", ".rustup", ".npm",
        ".pnpm-store", ".yarn", ".bun", ".deno", "go", ".nvm", ".pyenv", ".rbenv", ".conda",
        "anaconda3", "miniconda3",
        # build output and caches
        "target", "dist", "build", ".next", ".nuxt", ".cache", ".parcel-cache", ".terraform",
        # desktop and system folders
        "Library", "Applications", ".Trash", ".local", "snap", ".var", ".docker", ".android",
        ".mozilla", ".thunderbird", ".steam", ".wine", "AppData",
        # editors and other agents' state
        ".vscode", ".vscode-server", ".cursor", ".cursor-server", ".idea", ".gemini", ".qwen",
        ".copilot", ".claude", ".codex",
    }
)


@dataclass(frozen=True)
class Found:
    """A repository with aider history: its folder, the chat history and (if present) the
    input history, each with the ``stat`` taken while listing."""

    repo: Path
    chat: FoundFile
    inputs: FoundFile | None


def find_histories(
    roots: Iterable[Path],
    *,
    max_depth: int = 6,
    max_dirs: int = 50_000,
    skip: frozenset[str] = SKIP_DIRS,
    deny: frozenset[str] = frozenset(),
) -> Iterator[Found]:
    """Yield every repository below ``roots`` holding a ``.aider.chat.history.md``.

    ``max_depth`` counts levels below a root (0: the root only). A root that is itself a
    history file is reported too. Unlistable directories are skipped (logged at DEBUG).
    """
    seen: set[tuple[int, int]] = set()
    budget = max_dirs
    for root in roots:
        if root.name == CHAT_HISTORY and root.is_file():
            names = {CHAT_HISTORY: root}
            if (root.parent / INPUT_HISTORY).is_file():
                names[INPUT_HISTORY] = root.parent / INPUT_HISTORY
            found = _found_in(root.parent, names, deny, seen)
            if found is not None:
                yield found
            continue
        queue: deque[tuple[Path, int]] = deque([(root, 0)])
        while queue:
            if budget <= 0:
                log.warning("aider: stopped searching after %d folders (max_dirs)", max_dirs)
                return
            budget -= 1
            folder, depth = queue.popleft()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                log.debug("aider: cannot list %s: %s", folder, exc.strerror or exc)
                continue
            names: dict[str, Path] = {}
            for entry in entries:
                if entry.name in (CHAT_HISTORY, INPUT_HISTORY):
                    names[entry.name] = Path(entry.path)
                    continue
                if depth >= max_depth or entry.name in skip:
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        queue.append((Path(entry.path), depth + 1))
                except OSError:
                    continue
            if CHAT_HISTORY in names:
                found = _found_in(folder, names, deny, seen, entries)
                if found is not None:
                    yield found


def _found_in(
    folder: Path,
    names: dict[str, Path],
    deny: frozenset[str],
    seen: set[tuple[int, int]],
    entries: list[os.DirEntry[str]] | None = None,
) -> Found | None:
    by_name = {e.name: e for e in entries or []}
    chat = _stat(names[CHAT_HISTORY], by_name.get(CHAT_HISTORY), deny)
    if chat is None:
        return None
    key = (chat.st.st_dev, chat.st.st_ino)
    if key in seen:
        return None
    seen.add(key)
    inputs = None
    if INPUT_HISTORY in names:
        inputs = _stat(names[INPUT_HISTORY], by_name.get(INPUT_HISTORY), deny)
    return Found(Path(os.path.abspath(folder)), chat, inputs)


def _stat(path: Path, entry: os.DirEntry[str] | None, deny: frozenset[str]) -> FoundFile | None:
    if entry is not None:
        st = regular_file(entry, deny)
    else:
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or os.path.basename(os.path.realpath(path)) in deny:
            return None
    return FoundFile(path.name, path, st) if st is not None else None
