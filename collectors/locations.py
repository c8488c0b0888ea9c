"""Where a tool's data lives: the ``path`` option, environment overrides, ``~`` expansion.

Every local collector resolves its root the same way: ``ctx.options["path"]`` if set, else
the tool's own environment variable(s), else a default under ``ctx.home``. ``~`` and ``~/…``
expand against ``ctx.home`` (not the process's ``$HOME``), so tests and the runner can point
a collector at any home directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import CollectContext

__all__ = ["env_path", "expand", "option_path", "option_paths", "xdg_data_home"]


def expand(value: str, home: Path) -> Path:
    """``value`` as a path, with a leading ``~`` meaning ``home``."""
    if value == "~":
        return home
    if value.startswith(("~/", "~\\")):
        return home / value[2:]
    return Path(value)


def option_path(ctx: CollectContext, key: str = "path") -> Path | None:
    """``ctx.options[key]`` as an expanded path, ``None`` when unset or empty."""
    value = ctx.options.get(key)
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return expand(os.fspath(value), ctx.home)
    return None


def option_paths(ctx: CollectContext, key: str) -> list[Path] | None:
    """``ctx.options[key]`` (a path or a list of paths) as expanded paths; ``None`` when unset."""
    value = ctx.options.get(key)
    if isinstance(value, (str, os.PathLike)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return None
    out = [
        expand(os.fspath(v), ctx.home)
        for v in value
        if isinstance(v, (str, os.PathLike)) and os.fspath(v)
    ]
    return out


def env_path(ctx: CollectContext, *names: str) -> Path | None:
    """The first of the environment variables ``names`` that is set (non-blank), expanded."""
    for name in names:
        value = ctx.env.get(name)
        if value and value.strip():
            return expand(value.strip(), ctx.home)
    return None


def xdg_data_home(ctx: CollectContext) -> Path:
    """``$XDG_DATA_HOME`` when set to an absolute path (the XDG Base Directory spec ignores a
    relative one), else ``~/.local/share``."""
    value = ctx.env.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return ctx.home / ".local" / "share"
