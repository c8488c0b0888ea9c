"""``workspaceStorage/<id>/workspace.json``: which folder or workspace a storage id belongs to.

Source: microsoft/vscode ``src/vs/platform/storage/electron-main/storageMain.ts``
(``WorkspaceStorageMain``, ``WORKSPACE_META_NAME``: written beside each workspace's
``state.vscdb``). Shape::

    {"folder": "file:///home/u/project"}                     a folder window
    {"workspace": "file:///home/u/x.code-workspace"}         a multi-root workspace
    {"folder": "vscode-remote://ssh-remote%2Bhost/home/u/p"}  a remote folder

Empty windows have no workspace.json (their sessions live in
``globalStorage/emptyWindowChatSessions``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from vault import open_regular

__all__ = ["MAX_WORKSPACE_JSON", "WORKSPACE_JSON", "read_workspace", "uri_to_path"]

WORKSPACE_JSON = "workspace.json"
MAX_WORKSPACE_JSON = 64 * 1024


def uri_to_path(uri: str) -> str | None:
    """The local path of a ``file://`` URI (``file:///c%3A/x`` → ``c:/x``), else ``None``."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme != "file":
        return None
    path = unquote(parts.path)
    if len(path) >= 3 and path[0] == "/" and path[2] == ":":  # /c:/Users/… on Windows
        path = path[1:]
    if parts.netloc:  # a UNC path: file://server/share/x
        return f"//{parts.netloc}{path}"
    return path or None


def read_workspace(path: Path) -> dict[str, Any]:
    """Attributes from one ``workspace.json``: ``workspace`` (the URI as stored) and, for a
    local one, ``folder`` (its path); ``{}`` when the file is missing, too large or not the
    expected shape. ``OSError`` other than a missing file propagates."""
    try:
        with open_regular(path) as stream:
            if os.fstat(stream.fileno()).st_size > MAX_WORKSPACE_JSON:
                return {}
            data = stream.read(MAX_WORKSPACE_JSON + 1)
    except FileNotFoundError:
        return {}
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    if not isinstance(value, dict):
        return {}
    for key in ("folder", "workspace"):
        uri = value.get(key)
        if isinstance(uri, str) and uri:
            out: dict[str, Any] = {"workspace": uri, "workspace_kind": key}
            local = uri_to_path(uri)
            if local:
                out["folder"] = local
            return out
    return {}
