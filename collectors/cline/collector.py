"""The Cline and Roo Code collectors: agent tasks under the extension's global storage.

Both extensions (Cline is ``saoudrizwan.claude-dev``; Roo Code, its fork, is
``rooveterinaryinc.roo-cline``) keep one folder per task in their VS Code global storage,
in every editor they are installed in (cline/cline ``src/core/storage/disk.ts``)::

    <User>/globalStorage/<extension id>/tasks/<taskId>/     one task -> item <taskId>
        api_conversation_history.json  ui_messages.json  task_metadata.json  …

``<User>`` is each VS Code-family user directory (:mod:`collectors.vscode_hosts`: VS Code,
Insiders, OSS, VSCodium, Cursor, Windsurf, the remote servers, Codespaces). Cline's CLI and
standalone builds use ``$CLINE_DATA_DIR`` (default ``$CLINE_DIR/data``, ``~/.cline/data``)
instead of ``<User>/globalStorage/saoudrizwan.claude-dev``. ``options["path"]`` (a path or a
list) replaces all of these: a folder holding ``tasks/`` (e.g. Roo Code's custom storage
path), a ``User`` folder, or a product folder holding ``User``.

Decisions:

* **Task ids** are the folder names (Cline: epoch milliseconds or a ULID; Roo Code: a
  uuid). The same id in two editors (a copied profile) is kept twice: roots are taken in a
  fixed order (:func:`~collectors.vscode_hosts.user_dirs`, then the CLI's folder); the first
  keeps the plain id, each other gets ``<taskId>@<first 8 hex of sha256(root label)>``.
* **Raw files**: every regular file of the task folder, subfolders included (relative
  names), except ``checkpoints/`` (Cline ≤ 3.x and Roo Code keep a shadow git repository of
  the *workspace* there: the user's source files, often hundreds of MB, possibly with the
  project's own secrets, and not conversation; Cline ≥ 3.x keeps it outside the task), Roo
  Code's transient ``*.tmp`` files and ``*.lock`` folders, hidden files, and credential-like
  names (:data:`DENIED`). A folder without ``api_conversation_history.json``,
  ``ui_messages.json`` or ``claude_messages.json`` is not a task.
* **Half-written files**: each top-level ``*.json`` is checked (parsed up to
  :data:`PARSE_LIMIT`, else its first and last bytes). One that is not whole and was
  modified in the last :data:`WRITE_GRACE` seconds means the extension is rewriting it:
  :class:`~collectors.TemporaryItemError` ("being written"), so the previous version stays.
  Older than that, it will not get better: the task is stored as it is, with a warning.
* **Title**: the task text (the first UI message, what Cline lists), cut by
  :func:`collectors.titles.title_from_text`; else the first user message of the history.
* Never read: the extension's ``state/``, ``settings/``, ``cache/``, ``secrets.json``, MCP
  settings, or anything outside ``tasks/``.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem, find_hint
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, io_error, list_dir, regular_file, short_hash, walk_files
from ..locations import expand
from ..vscode_hosts import FORKS, VSCODE, option_paths, user_dirs
from .task import (
    API_HISTORY,
    CORE_FILES,
    LEGACY_UI,
    METADATA,
    UI_MESSAGES,
    JsonCheck,
    check_json,
    task_info,
)

__all__ = ["ClineCollector", "RooCodeCollector", "TaskCollector"]

log = logging.getLogger(__name__)

PARSE_LIMIT = 64 * 1024 * 1024
"""JSON files up to this size (bytes) are parsed by ``read``; larger ones get a cheap check."""
WRITE_GRACE = 300.0
"""Seconds after its last change during which a broken JSON file counts as being written."""
SKIPPED_DIRS = frozenset({"checkpoints"})
DENIED = frozenset(
    {
        "secrets.json",
        ".env",
        "auth.json",
        "credentials.json",
        ".credentials.json",
        "oauth_creds.json",
        "api_keys.json",
    }
)

_WALK_DENIED = DENIED | SKIPPED_DIRS | {".git"}


@dataclass(frozen=True)
class TaskRoot:
    """A ``tasks`` folder to scan and the stable ``label`` of where it comes from."""

    label: str
    tasks: Path


@dataclass(frozen=True)
class _Hint:
    native_id: str
    task_id: str
    root: str
    folder: Path
    files: tuple[FoundFile, ...]


class TaskCollector:
    """Tasks of a Cline-family VS Code extension (see the module docstring).

    Subclasses set ``name``/``provider`` (the entry-point slug), ``extension_id`` (the
    global storage folder name), ``product`` (for labels) and ``cli_data_dir`` (whether to
    look at the Cline CLI's folder). Items: one per task (key = native id = the task id,
    suffixed on collisions). :meth:`read` raises :class:`~collectors.TemporaryItemError`
    when the task vanished or a file is being written, :class:`~collectors.ItemError` when
    it cannot be read.
    """

    name: ClassVar[str]
    provider: ClassVar[str]
    extension_id: ClassVar[str]
    product: ClassVar[str]
    cli_data_dir: ClassVar[bool] = False

    # -- where ------------------------------------------------------------------------------

    def roots(self, ctx: CollectContext) -> list[TaskRoot]:
        """The ``tasks`` folders that exist, in a fixed order (see the module docstring)."""
        paths = option_paths(ctx)
        if paths is not None:
            roots = []
            for path in paths:
                tasks = self._tasks_under(path)
                if tasks is not None:
                    roots.append(TaskRoot(path.as_posix(), tasks))
            return roots
        roots = []
        for host in user_dirs(ctx, VSCODE + FORKS):
            tasks = host.user_dir / "globalStorage" / self.extension_id / "tasks"
            if tasks.is_dir():
                roots.append(TaskRoot(host.label, tasks))
        if self.cli_data_dir:
            data = self._cli_data(ctx)
            if (data / "tasks").is_dir():
                roots.append(TaskRoot("cline-cli", data / "tasks"))
        return roots

    def _cli_data(self, ctx: CollectContext) -> Path:
        data = ctx.env.get("CLINE_DATA_DIR")
        if data:
            return expand(data, ctx.home)
        base = ctx.env.get("CLINE_DIR")
        return (expand(base, ctx.home) if base else ctx.home / ".cline") / "data"

    def _tasks_under(self, path: Path) -> Path | None:
        for candidate in (
            path / "tasks",
            path / "globalStorage" / self.extension_id / "tasks",
            path / "User" / "globalStorage" / self.extension_id / "tasks",
        ):
            if candidate.is_dir():
                return candidate
        return path if path.name == "tasks" and path.is_dir() else None

    def locate(self, ctx: CollectContext) -> list[Path]:
        """The ``tasks`` folders that exist (empty if none)."""
        return [r.tasks for r in self.roots(ctx)]

    # -- discover ---------------------------------------------------------------------------

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """Yield one item per task folder, roots in order. Lists and stats only."""
        seen: dict[str, int] = {}
        for root in self.roots(ctx):
            try:
                entries = list_dir(root.tasks, strict=True)
            except OSError as exc:
                yield io_error(root.tasks, exc)
                continue
            for entry in entries:
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                except OSError:
                    continue
                folder = Path(entry.path)
                try:
                    files = _task_files(folder)
                except OSError as exc:
                    yield io_error(folder, exc)
                    continue
                if not any(f.name in CORE_FILES for f in files):
                    continue
                count = seen.get(entry.name, 0)
                seen[entry.name] = count + 1
                native = entry.name if count == 0 else f"{entry.name}@{short_hash(root.label)}"
                hint = _Hint(native, entry.name, root.label, folder, tuple(files))
                stamps = tuple(SourceStamp.of(f.path, f.st) for f in files)
                yield SourceItem(native, stamps, hint)

    # -- read -------------------------------------------------------------------------------

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one task into a snapshot whose files are streamed by path.

        Raises :class:`TemporaryItemError` if the task vanished or one of its JSON files is
        being written, :class:`ItemError` if it cannot be read.
        """
        hint = item.hint if isinstance(item.hint, _Hint) else find_hint(self, item.key, ctx)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        now = time.time()
        raw: list[RawFile] = []
        warnings: list[str] = []
        parsed: dict[str, JsonCheck] = {}
        latest = 0.0
        for found in hint.files:
            try:
                with open_regular(found.path) as stream:
                    st = os.fstat(stream.fileno())
                    check = None
                    if "/" not in found.name and found.name.endswith(".json"):
                        check = check_json(stream, st.st_size, PARSE_LIMIT)
            except FileNotFoundError:
                warnings.append(f"{found.name}: vanished before it could be read")
                continue
            except OSError as exc:
                raise io_error(found.path, exc) from None
            if check is not None and check.problem is not None:
                if now - st.st_mtime < WRITE_GRACE:
                    raise TemporaryItemError(str(found.path), f"being written ({check.problem})")
                warnings.append(f"{found.name}: {check.problem}; kept as it is")
            elif check is not None:
                parsed[found.name] = check
                if not check.parsed:
                    warnings.append(f"{found.name}: larger than {PARSE_LIMIT} bytes, not parsed")
            raw.append(RawFile(found.name, path=found.path, mtime_ns=st.st_mtime_ns))
            latest = max(latest, st.st_mtime)
        if not any(f.name in CORE_FILES for f in raw):
            raise TemporaryItemError(str(hint.folder), "the task's files vanished")
        ui_check = parsed.get(UI_MESSAGES) or parsed.get(LEGACY_UI)
        ui = ui_check.value if ui_check and ui_check.parsed else (
            [ui_check.head] if ui_check and ui_check.head is not None else None
        )
        api = parsed[API_HISTORY].value if API_HISTORY in parsed else None
        metadata = parsed[METADATA].value if METADATA in parsed else None
        info = task_info(hint.task_id, ui, api, metadata)
        if any(c.parsed is False for n, c in parsed.items() if n in CORE_FILES):
            info.updated_at = latest or info.updated_at  # only the file times are known
        if ui_check is not None and not ui_check.parsed:
            info.ui_messages = None
        attributes: dict[str, Any] = {
            "kind": "task",
            "host": hint.root,
            "task_id": hint.task_id,
            "title_source": info.title_source,
            "files": len(raw),
        }
        for key in ("cwd", "version", "editor", "api_messages", "ui_messages", "files_in_context"):
            value = getattr(info, key)
            if value is not None:
                attributes[key] = value
        if info.models:
            attributes["model"] = info.models[-1]
            attributes["models"] = list(info.models)
        log.debug("read task %s: %d file(s)", hint.folder, len(raw))
        return ConversationSnapshot(
            provider=self.provider,
            native_id=hint.native_id,
            title=info.title,
            files=tuple(raw),
            created_at=info.created_at,
            updated_at=info.updated_at if info.updated_at is not None else (latest or None),
            source_path=str(hint.folder),
            attributes=attributes,
            warnings=tuple(warnings),
        )

    # -- render -----------------------------------------------------------------------------

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version of a task."""
        from .render import render_task  # only the mount renders: imported on first use

        return render_task(files, meta, self.product)


class ClineCollector(TaskCollector):
    """Cline (``saoudrizwan.claude-dev``) tasks in every VS Code-family editor and the
    Cline CLI's ``~/.cline/data``. Entry point ``cline``."""

    name: ClassVar[str] = "cline"
    provider: ClassVar[str] = "cline"
    extension_id: ClassVar[str] = "saoudrizwan.claude-dev"
    product: ClassVar[str] = "Cline"
    cli_data_dir: ClassVar[bool] = True


class RooCodeCollector(TaskCollector):
    """Roo Code (``rooveterinaryinc.roo-cline``) tasks in every VS Code-family editor.
    Entry point ``roo-code``."""

    name: ClassVar[str] = "roo-code"
    provider: ClassVar[str] = "roo-code"
    extension_id: ClassVar[str] = "rooveterinaryinc.roo-cline"
    product: ClassVar[str] = "Roo Code"


# ---------------------------------------------------------------------------------------


def _skipped(name: str, is_dir: bool) -> bool:
    if name.startswith(".") or name in DENIED:
        return True
    if is_dir:
        return name in SKIPPED_DIRS or name.endswith(".lock")
    return name.endswith(".tmp") or ".tmp_" in name


def _task_files(folder: Path) -> list[FoundFile]:
    """The raw files of one task folder (see the module docstring for what is skipped).
    ``OSError`` if the folder cannot be listed."""
    found: list[FoundFile] = []
    for entry in list_dir(folder, strict=True):
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if _skipped(entry.name, is_dir):
            continue
        if is_dir:
            for f in walk_files(Path(entry.path), f"{entry.name}/", _WALK_DENIED):
                parts = f.name.split("/")
                if any(_skipped(p, True) for p in parts[:-1]) or _skipped(parts[-1], False):
                    continue
                found.append(f)
            continue
        st = regular_file(entry, DENIED)
        if st is not None:
            found.append(FoundFile(entry.name, Path(entry.path), st))
    found.sort(key=lambda f: f.name)
    return found
