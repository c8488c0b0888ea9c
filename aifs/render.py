"""``conversation.md`` for a stored version: the provider's collector renders it.

Rendering happens when the file is first read through the mount (it is not stored, so the
vault holds each conversation's text once). A renderer that fails, or a provider with no
installed collector, gives a Markdown page that says so and lists the raw files, never an
error for the reader.
"""

from __future__ import annotations

import logging
from typing import Callable, Mapping

from vault import VersionInfo

from .registry import LoadedCollectors

log = logging.getLogger(__name__)

Renderer = Callable[[VersionInfo, Mapping[str, bytes]], str]


def fallback_markdown(version: VersionInfo, files: Mapping[str, bytes], why: str) -> str:
    """A plain page listing the raw files, used when no renderer can do better."""
    lines = [f"# {version.title or 'Untitled'}", "", f"> {why}", "", "Raw files in this version:", ""]
    lines += [f"- `{name}` ({len(data)} bytes)" for name, data in sorted(files.items())]
    return "\n".join(lines) + "\n"


def make_renderer(loaded: LoadedCollectors) -> Renderer:
    """A renderer that dispatches on ``version.meta["provider"]``."""

    def render(version: VersionInfo, files: Mapping[str, bytes]) -> str:
        provider = version.meta.get("provider", "")
        collector = loaded.for_provider(provider)
        if collector is None:
            return fallback_markdown(version, files, f"No installed collector renders '{provider}'.")
        try:
            return collector.render_markdown(files, dict(version.meta))
        except Exception:  # a renderer bug must not make the file unreadable
            log.exception("rendering version %s failed", version.serial)
            return fallback_markdown(version, files, "The renderer failed on this version; "
                                     "the raw files are intact.")

    return render
