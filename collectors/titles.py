"""Deriving a conversation title from its first prompt, the same way for every collector.

Tools that store a title (a custom name, an AI-generated one) pass it through unchanged: the
mount makes titles safe for file names. When a tool stores none, collectors fall back to the
first real user prompt, cut down by :func:`title_from_text`.
"""

from __future__ import annotations

import re

__all__ = ["TITLE_LIMIT", "UNTITLED", "title_from_text"]

TITLE_LIMIT = 100
UNTITLED = "Untitled"

_WS = re.compile(r"\s+")


def title_from_text(text: str, limit: int = TITLE_LIMIT) -> str:
    """The first non-blank line of ``text``, whitespace-collapsed and cut to ``limit``
    characters (at a word boundary when one is near, ending in ``…``); ``""`` if blank."""
    for line in text.splitlines():
        flat = _WS.sub(" ", line).strip()
        if not flat:
            continue
        if len(flat) <= limit:
            return flat
        cut = flat[:limit]
        space = cut.rfind(" ")
        return (cut[:space] if space >= limit // 2 else cut).rstrip() + "…"
    return ""
