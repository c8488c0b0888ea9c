"""Deriving a conversation title from its first prompt, the same way for every collector.

Tools that store a title (a custom name, an AI-generated one) pass it through unchanged: the
mount makes titles safe for file names. When a tool stores none, collectors fall back to the
first real user prompt, cut down by :func:`title_from_text`.
"""

from __future__ import annotations

__all__ = ["TITLE_LIMIT", "UNTITLED", "title_from_text"]

TITLE_LIMIT = 100
UNTITLED = "Untitled"


def title_from_text(text: str, limit: int = TITLE_LIMIT) -> str:
    """The first non-blank line of ``text``, whitespace-collapsed and cut to ``limit``
    characters (at a word boundary when one is near, ending in ``…``); ``""`` if blank."""
    window = limit + 32
    if len(text) > window:
        # A prompt can be a pasted file: look at its start first. Collapsing whitespace in a
        # prefix of a line gives a prefix of the collapsed line, so this is exact whenever
        # the first line is complete in the window or already longer than ``limit``.
        lines = text[:window].splitlines()
        for index, line in enumerate(lines):
            flat = " ".join(line.split())
            if flat:
                if index < len(lines) - 1 or len(flat) > limit:
                    return _cut(flat, limit)
                break
    for line in text.splitlines():
        flat = " ".join(line.split())  # the same as re.sub(r"\s+", " ", line).strip()
        if flat:
            return _cut(flat, limit)
    return ""


def _cut(flat: str, limit: int) -> str:
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space >= limit // 2 else cut).rstrip() + "…"
