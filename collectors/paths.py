"""Where tools keep their data: ``~`` expansion, the ``path`` option and XDG base directories.

Collectors receive ``$HOME`` and the environment through :class:`~collectors.CollectContext`
(never from :mod:`os`), so every function here takes them from the context. Nothing here
touches the filesystem.
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import CollectContext

__all__ = ["expand", "option_path", "xdg_data_home"]


def expand(value: str, home: Path) -> Path:
    """``value`` as a path, with a leading ``~`` / ``~/`` meaning ``home`` (not the real $HOME)."""
    if value == "~":
        return home
    if value.startswith("~/"):
        return home / value[2:]
    return Path(value)


def option_path(ctx: CollectContext, key: str = "path") -> Path | None:
    """The collector's ``options[key]`` as an expanded path, or ``None`` when unset/empty."""
    option = ctx.options.get(key)
    if isinstance(option, (str, os.PathLike)) and os.fspath(option):
        return expand(os.fspath(option), ctx.home)
    return None


def xdg_data_home(ctx: CollectContext) -> Path:
    """``$XDG_DATA_HOME`` when set to an absolute path (the XDG Base Directory spec ignores a
    relative one), else ``~/.local/share``."""
    value = ctx.env.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return ctx.home / ".local" / "share"
