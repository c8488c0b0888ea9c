"""Listing opencode's legacy JSON ``storage/`` tree without reading any file.

Layout (anomalyco/opencode ``packages/opencode/src/storage/json-migration.ts``, which reads
it the same way when migrating to SQLite)::

    storage/session/<projectID>/<sessionID>.json    the session        (id = file stem)
    storage/message/<sessionID>/<messageID>.json    its messages       (session = folder)
    storage/part/<messageID>/<partID>.json          each message's parts (message = folder)
    storage/session_diff/<sessionID>.json           summary diffs      (kept when present)
    storage/todo/<sessionID>.json                   the todo list      (kept when present)
    storage/session_share/<sessionID>.json          share id + SECRET  (never read)

Names starting with ``.`` (opencode's ``.oc-*.tmp`` atomic-write files) are skipped. Part
files lying directly in ``storage/part/`` (no message folder) are not opencode's layout and
are ignored, as opencode's own migration ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..files import FoundFile, list_dir, regular_file

__all__ = ["TreeSession", "list_tree"]

@dataclass(frozen=True)
class TreeSession:
    """One legacy session: its id, project and files (names relative to ``storage/``; the
    session file first, then messages, parts and extras sorted by name)."""

    session_id: str
    project_id: str
    files: tuple[FoundFile, ...]


def _json_files(directory: Path, prefix: str) -> list[FoundFile]:
    found = []
    for entry in list_dir(directory):
        if entry.name.startswith(".") or not entry.name.endswith(".json"):
            continue
        st = regular_file(entry)
        if st is not None:
            found.append(FoundFile(prefix + entry.name, Path(entry.path), st))
    return found


def list_tree(storage: Path) -> Iterator[TreeSession]:
    """Every session of the tree under ``storage`` (sorted by project, then session id)."""
    extras = {
        folder: {f.path.name[: -len(".json")]: f for f in _json_files(storage / folder, folder + "/")}
        for folder in ("session_diff", "todo")
    }
    for project in list_dir(storage / "session"):
        try:
            if project.name.startswith(".") or not project.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        for head in _json_files(Path(project.path), f"session/{project.name}/"):
            sid = head.path.name[: -len(".json")]
            files = [head]
            messages = _json_files(storage / "message" / sid, f"message/{sid}/")
            files.extend(messages)
            for m in messages:
                mid = m.path.name[: -len(".json")]
                files.extend(_json_files(storage / "part" / mid, f"part/{mid}/"))
            for folder, found in extras.items():
                if sid in found:
                    files.append(found[sid])
            yield TreeSession(sid, project.name, (files[0], *sorted(files[1:], key=lambda f: f.name)))
