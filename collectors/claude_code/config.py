"""The Claude Code configuration profile: which files belong to it, and its Markdown.

Kept (relative to the root, ``~/.claude``): ``settings.json``, ``settings.local.json``,
``CLAUDE.md`` and every regular file under ``agents/``, ``commands/``, ``skills/``,
``hooks/``, ``rules/``. Nothing else: in particular never ``.credentials.json`` (OAuth
tokens) or ``.encryption_key``, not even through a symlink or inside a kept tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .. import markdown as md
from ..files import FoundFile, files_named, walk_files

__all__ = [
    "CONFIG_FILES",
    "CONFIG_ID",
    "CONFIG_TITLE",
    "CONFIG_TREES",
    "DENIED",
    "find_config_files",
    "render_config",
]

CONFIG_ID = "config"
CONFIG_TITLE = "Claude Code configuration"
CONFIG_FILES = ("settings.json", "settings.local.json", "CLAUDE.md")
CONFIG_TREES = ("agents", "commands", "skills", "hooks", "rules")
DENIED = frozenset({".credentials.json", ".encryption_key"})
SHOW_LIMIT = 256 * 1024


def find_config_files(root: Path) -> list[FoundFile]:
    """The profile's files under ``root`` (listing + stat only), sorted by name."""
    found = list(files_named(root, CONFIG_FILES, DENIED))
    for tree in CONFIG_TREES:
        found.extend(walk_files(root / tree, f"{tree}/", DENIED))
    found.sort(key=lambda f: f.name)
    return found


def render_config(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Each file as a heading and a fenced block (language from its name)."""
    doc = md.Document()
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else CONFIG_TITLE)
    names = sorted(files)
    doc.add("\n".join(f"- {md.code_span(n)} ({md.human_bytes(len(files[n]))})" for n in names))
    for name in names:
        data = files[name]
        doc.heading(2, name)
        text = md.decode_preview(data, SHOW_LIMIT)
        if text is None:
            doc.add(md.note(f"binary file, {md.human_bytes(len(data))}"))
            continue
        doc.add(md.fence(text, md.guess_language(name)))
        if len(data) > SHOW_LIMIT:
            doc.add(
                md.note(f"(first {md.human_bytes(SHOW_LIMIT)} shown; the raw file is complete)")
            )
    return doc.render()
