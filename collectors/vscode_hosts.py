"""Where VS Code and its forks keep per-user data: the ``User`` directories, on every OS.

Extensions' ``globalStorage/<publisher.name>/``, ``workspaceStorage/<id>/`` and the editor's
own chat sessions all live below a ``User`` directory. Its place depends on the product, the
OS and how the editor runs (microsoft/vscode ``src/vs/platform/environment/node/userDataPath.ts``
for the desktop; the remote server keeps ``<server dir>/data/User``)::

    Linux     $XDG_CONFIG_HOME/<product>/User     (default ~/.config/<product>/User)
    macOS     ~/Library/Application Support/<product>/User
    Windows   %APPDATA%\\<product>\\User            (default ~\\AppData\\Roaming\\<product>\\User)
    Flatpak   ~/.var/app/<app id>/config/<product>/User
    Remote    ~/.vscode-server/data/User, ~/.vscode-server-insiders/data/User,
              ~/.vscodium-server/data/User, ~/.cursor-server/data/User,
              ~/.windsurf-server/data/User            (SSH, WSL, dev containers)
    Codespaces ~/.vscode-remote/data/User

Every layout is tried on every OS (a home directory copied from another machine, a Windows
home mounted in WSL): only existence is checked, relative to ``ctx.home`` (``XDG_CONFIG_HOME``
and ``APPDATA`` from ``ctx.env`` are honoured as well). Nothing here opens a file.

Not covered: portable installs (``data/user-data/User`` beside the executable) and
``--user-data-dir``; point a collector at those with its ``path`` option.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import locations
from .base import CollectContext

__all__ = [
    "FORKS",
    "VSCODE",
    "Host",
    "Product",
    "option_paths",
    "user_dirs",
]


@dataclass(frozen=True, slots=True)
class Product:
    """One editor: ``name`` is its folder name under the OS config directory (``"Code"``),
    ``server`` the remote server's folder under home (``".vscode-server"``), ``flatpak``
    its Flatpak application id, if any."""

    name: str
    server: str | None = None
    flatpak: str | None = None


@dataclass(frozen=True, slots=True)
class Host:
    """A ``User`` directory that exists. ``label`` names where it comes from, stable across
    runs and machines (``"Code"``, ``"Code (flatpak)"``, ``".vscode-server"``); collectors
    use it in attributes and to tell apart items with the same id in two hosts."""

    label: str
    user_dir: Path


VSCODE: tuple[Product, ...] = (
    Product("Code", ".vscode-server", "com.visualstudio.code"),
    Product("Code - Insiders", ".vscode-server-insiders"),
    Product("Code - OSS", None, "com.visualstudio.code-oss"),
    Product("VSCodium", ".vscodium-server", "com.vscodium.codium"),
)
"""VS Code and its open-source builds (where GitHub Copilot Chat runs)."""

FORKS: tuple[Product, ...] = (
    Product("Cursor", ".cursor-server"),
    Product("Windsurf", ".windsurf-server"),
)
"""Forks that run VS Code extensions such as Cline and Roo Code."""

_CODESPACES = ".vscode-remote"


def option_paths(ctx: CollectContext) -> list[Path] | None:
    """The ``path`` option as a list (a string or a list of strings), ``None`` when unset."""
    return locations.option_paths(ctx, "path") or None


def _candidates(ctx: CollectContext, product: Product) -> Iterable[tuple[str, Path]]:
    home = ctx.home
    config_dirs = [home / ".config"]
    xdg = ctx.env.get("XDG_CONFIG_HOME")
    if xdg:
        config_dirs.insert(0, locations.expand(xdg, home))
    config_dirs.append(home / "Library" / "Application Support")
    appdata = ctx.env.get("APPDATA")
    if appdata:
        config_dirs.append(locations.expand(appdata, home))
    config_dirs.append(home / "AppData" / "Roaming")
    for base in config_dirs:
        yield product.name, base / product.name / "User"
    if product.flatpak:
        yield (
            f"{product.name} (flatpak)",
            home / ".var" / "app" / product.flatpak / "config" / product.name / "User",
        )
    if product.server:
        yield product.server, home / product.server / "data" / "User"


def user_dirs(ctx: CollectContext, products: Iterable[Product] = VSCODE) -> list[Host]:
    """The ``User`` directories of ``products`` that exist under ``ctx.home``, in a fixed
    order (products in the given order, desktop before Flatpak before remote server, then
    Codespaces' ``~/.vscode-remote``), without duplicates (same real path). Labels are
    unique: a product found in two OS layouts gets the second one's path in its label."""
    found: list[Host] = []
    seen: set[str] = set()
    labels: set[str] = set()
    candidates = [c for product in products for c in _candidates(ctx, product)]
    candidates.append((_CODESPACES, ctx.home / _CODESPACES / "data" / "User"))
    for label, path in candidates:
        try:
            if not path.is_dir():
                continue
            real = os.path.realpath(path)
        except OSError:
            continue
        if real in seen:
            continue
        seen.add(real)
        if label in labels:  # e.g. both ~/.config/Code and ~/AppData/Roaming/Code
            label = f"{label} ({_relative(path, ctx.home)})"
        labels.add(label)
        found.append(Host(label, path))
    return found


def _relative(path: Path, home: Path) -> str:
    try:
        return "~/" + path.relative_to(home).as_posix()
    except ValueError:
        return path.as_posix()
