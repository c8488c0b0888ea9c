"""A Claude.ai conversation object (export entry or web API response): title, text, tree.

Shared by the importer and the renderer. Shapes: ``../shared/FORMATS.md`` (Claude.ai);
``parent_message_uuid`` links appear in newer exports and in the web API's ``tree=True``
responses, whose first message points at :data:`ROOT_PARENT`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..branches import Thread, threads

from ..timestamps import parse_iso
from ..titles import UNTITLED, title_from_text

__all__ = ["ROOT_PARENT", "Tree", "conversation_title", "message_text", "message_tree"]

ROOT_PARENT = "00000000-0000-4000-8000-000000000000"
"""The web API's parent id for a conversation's first message (no such message exists)."""


def conversation_title(conv: Mapping[str, Any]) -> str:
    """``name``; else the first human prompt (:func:`title_from_text`); else the first line
    of ``summary``; else ``Untitled``."""
    name = conv.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    messages = conv.get("chat_messages")
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and message.get("sender") == "human":
            title = title_from_text(message_text(message))
            if title:
                return title
    summary = conv.get("summary")
    if isinstance(summary, str):
        title = title_from_text(summary.replace("*", " ").replace("#", " "))
        if title:
            return title
    return UNTITLED


def message_text(message: Mapping[str, Any]) -> str:
    """A message's prose: its ``text`` blocks joined, else its ``text`` field."""
    content = message.get("content")
    parts = [b["text"] for b in content if isinstance(b, dict) and b.get("type") == "text"
             and isinstance(b.get("text"), str)] if isinstance(content, list) else []
    if any(p.strip() for p in parts):
        return "\n\n".join(parts)
    text = message.get("text")
    return text if isinstance(text, str) else ""


@dataclass(frozen=True, slots=True)
class Tree:
    """The message tree of a conversation whose messages carry ``parent_message_uuid``.

    ``parents``: message key → parent key (``None`` for the root sentinel or no parent), in
    document order; ``index``: message key → its index in ``chat_messages``; ``times``:
    message key → ``created_at`` in Unix seconds (``None`` if unknown). A message's key is
    its ``uuid``, or ``#<index>`` when it has none or repeats an earlier one.
    """

    parents: dict[str, str | None]
    index: dict[str, int]
    times: dict[str, float | None]

    def threads(self, current: Any) -> list[Thread]:
        """:func:`collectors.branches.threads` of this tree: the thread ending at
        ``current`` (the web API's ``current_leaf_message_uuid``; when missing or unknown,
        the newest leaf by ``created_at``) first, then every other branch."""
        return threads(self.parents, current=current if isinstance(current, str) else None,
                       sort_key=self.times.get)


def message_tree(messages: Any) -> Tree | None:
    """The :class:`Tree` of ``messages`` (a conversation's ``chat_messages``) when any
    message has a ``parent_message_uuid`` string, else ``None`` (a flat, ordered list).
    Non-object messages are left out."""
    if not isinstance(messages, list) or not any(
            isinstance(m, dict) and isinstance(m.get("parent_message_uuid"), str) for m in messages):
        return None
    parents: dict[str, str | None] = {}
    index: dict[str, int] = {}
    times: dict[str, float | None] = {}
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        uuid = message.get("uuid")
        key = uuid if isinstance(uuid, str) and uuid and uuid not in parents else f"#{i}"
        parent = message.get("parent_message_uuid")
        parents[key] = parent if isinstance(parent, str) and parent and parent != ROOT_PARENT else None
        index[key] = i
        times[key] = parse_iso(message.get("created_at"))
    return Tree(parents, index, times)
