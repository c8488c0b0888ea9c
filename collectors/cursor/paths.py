"""Where Cursor keeps its history on this machine, and what a workspace folder is.

* The IDE's **User dir** (``FORMATS.md`` "Cursor"; Electron's ``appData``/Cursor/User):
  ``~/.config/Cursor/User`` on Linux (``$XDG_CONFIG_HOME`` honoured),
  ``~/Library/Application Support/Cursor/User`` on macOS, ``%APPDATA%\\Cursor\\User`` on
  Windows. ``options["path"]`` points the collector at another User dir.
* The **cursor-agent home** ``~/.cursor`` (``chats/``, ``projects/``); ``options["agent_path"]``
  points it elsewhere.
* ``workspaceStorage/<hash>/workspace.json`` names a workspace's folder:
  ``{"folder": "file:///home/u/proj"}`` or ``{"workspace": "file:///…/x.code-workspace"}``
  (microsoft/vscode ``src/vs/platform/storage/electron-main/storageMain.ts``,
  ``WorkspaceStorageMain.ensureWorkspaceStorageFolderMeta``; Cursor is a VS Code fork).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from vault import open_regular

from ..base import CollectContext

__all__ = ["agent_dir", "expand", "user_dir", "workspace_folder", "uri_path"]

log = logging.getLogger(__name__)

WORKSPACE_JSON = "workspace.json"
WORKSPACE_JSON_LIMIT = 1 << 20


def expand(value: str, home: Path) -> Path:
    """``~`` and ``~/…`` relative to ``home`` (the context's, not the process's)."""
    if value == "~":
        return home
    if value.startswith("~/") or value.startswith("~\\"):
        return home / value[2:]
    return Path(value)


def _option(ctx: CollectContext, name: str) -> Path | None:
    value = ctx.options.get(name)
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return expand(os.fspath(value), ctx.home)
    return None


def user_dir(ctx: CollectContext, platform: str | None = None) -> Path:
    """The Cursor IDE User dir for ``ctx`` (it may not exist). ``platform`` defaults to
    :data:`sys.platform`."""
    option = _option(ctx, "path")
    if option is not None:
        return option
    platform = platform or sys.platform
    if platform == "darwin":
        return ctx.home / "Library" / "Application Support" / "Cursor" / "User"
    if platform.startswith("win"):
        appdata = ctx.env.get("APPDATA")
        base = Path(appdata) if appdata else ctx.home / "AppData" / "Roaming"
        return base / "Cursor" / "User"
    config = ctx.env.get("XDG_CONFIG_HOME")
    base = Path(config) if config and os.path.isabs(config) else ctx.home / ".config"
    return base / "Cursor" / "User"


def agent_dir(ctx: CollectContext) -> Path:
    """The cursor-agent home (``~/.cursor``) for ``ctx`` (it may not exist)."""
    return _option(ctx, "agent_path") or ctx.home / ".cursor"


def uri_path(uri: str) -> str | None:
    """The local path of a ``file://`` URI (``file:///c%3A/x`` → ``c:/x``); ``None`` for
    other schemes (``vscode-remote://`` …)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme != "file":
        return None
    path = unquote(parts.path)
    if len(path) >= 3 and path[0] == "/" and path[2] == ":" and path[1].isalpha():
        path = path[1:]  # /c:/Users/… → c:/Users/…
    if parts.netloc:
        path = f"//{parts.netloc}{path}"  # UNC share
    return path or None


def workspace_folder(workspace: Path) -> dict[str, Any]:
    """Attributes naming the folder of ``workspaceStorage/<hash>`` (from its
    ``workspace.json``): ``workspace`` (the URI), ``workspace_path`` (local path, when a
    ``file://`` URI) and ``workspace_id`` (the hash). Never raises; a missing or bad file
    gives just the id."""
    found: dict[str, Any] = {"workspace_id": workspace.name}
    try:
        with open_regular(workspace / WORKSPACE_JSON) as stream:
            data = stream.read(WORKSPACE_JSON_LIMIT)
        value = json.loads(data)
    except (OSError, ValueError, RecursionError) as exc:
        log.debug("no usable workspace.json in %s: %s", workspace, type(exc).__name__)
        return found
    if isinstance(value, dict):
        for field in ("folder", "workspace"):
            uri = value.get(field)
            if isinstance(uri, str) and uri:
                found["workspace"] = uri
                local = uri_path(uri)
                if local:
                    found["workspace_path"] = local
                break
    return found
