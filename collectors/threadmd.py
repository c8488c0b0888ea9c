"""Branched conversations in Markdown: every thread of a message tree, each message once.

:func:`collectors.branches.threads` splits a conversation's tree into the current thread and
the other branches. The importers' renderers (ChatGPT, Claude.ai, DeepSeek, Grok) show them
alike: when there is more than one thread, each under a ``## `` heading
(:func:`branch_heading`: ``Branch N (continues after message M)`` …), with the messages
numbered once, in the order shown (:func:`add_threads`). For a conversation model with
``threads()`` and ``display_title()`` (:class:`Tree`), :func:`start_page` loads and titles
the page and :func:`summary_lines` gives the header's times, models and counts.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Hashable, Mapping, Protocol, Sequence, TypeVar

from . import markdown as md
from .branches import Thread
from .timestamps import format_time

__all__ = ["Tree", "add_threads", "branch_heading", "start_page", "summary_lines"]

T = TypeVar("T")


class Tree(Protocol):
    """A parsed conversation that :func:`start_page` can title: its threads (current first)
    and a display title."""

    def threads(self) -> list[Thread]: ...

    def display_title(self, ordered: list[Thread] | None = None) -> str: ...


C = TypeVar("C", bound=Tree)


def start_page(data: bytes | None, meta: Mapping[str, Any],
               parse: Callable[[Any], C]) -> tuple[md.Document, C | None, list[Thread]]:
    """Begin the page of a stored conversation from ``data`` (its ``conversation.json``,
    ``None`` when the version has none) and ``meta`` (its ``meta.json``).

    ``data`` is decoded leniently (a UTF-8 BOM allowed, bad bytes replaced), parsed as JSON
    and handed to ``parse``, which builds the conversation or raises ``ValueError`` with a
    content-free reason. The page gets its ``# `` title: ``meta["title"]`` when it is a
    non-blank string, else the conversation's display title, else ``Untitled``. Returns the
    document, the conversation and its threads; when there is no conversation (``None``,
    no threads) the page already says why, and the caller only renders it. A ``ValueError``
    from ``parse`` becomes that note; anything else ``parse`` or the conversation's methods
    raise propagates."""
    doc = md.Document()
    conv: C | None = None
    problem = ""
    if data is None:
        problem = "no conversation.json in this version"
    else:
        try:
            value = json.loads(data.decode("utf-8-sig", "replace"))
        except (ValueError, RecursionError):
            problem = "conversation.json is not valid JSON"
        else:
            try:
                conv = parse(value)
            except ValueError as e:
                problem = f"conversation.json cannot be shown ({e})"
    ordered = conv.threads() if conv is not None else []
    title = meta.get("title")
    if not (isinstance(title, str) and title.strip()):
        title = conv.display_title(ordered) if conv is not None else "Untitled"
    doc.heading(1, title)
    if conv is None:
        doc.add(md.note(f"⚠ {problem}; the raw file is kept as it was exported"))
    return doc, conv, ordered


def branch_heading(number: int, thread: Thread, numbers: Mapping[Hashable, int],
                   otherwise: str, current: str | None = None) -> str:
    """The heading of ``thread``, the ``number``-th shown: ``current`` (default
    ``Branch N (current)``) for the current thread; ``Branch N (continues after message M)``
    when the message it forks after has number M in ``numbers`` (the messages shown so far);
    else ``Branch N (<otherwise>)`` (``"a separate start"`` …, the renderer's words for a
    branch whose start is not shown above)."""
    if thread.current:
        return current if current is not None else f"Branch {number} (current)"
    if thread.fork_after in numbers:
        return f"Branch {number} (continues after message {numbers[thread.fork_after]})"
    return f"Branch {number} ({otherwise})"


def add_threads(doc: md.Document, ordered: Sequence[Thread],
                lookup: Callable[[Hashable], T | None], show: Callable[[int, T], None],
                heading: Callable[[int, Thread, Mapping[Hashable, int]], str]) -> int:
    """Add the threads ``ordered`` (from :func:`~collectors.branches.threads`) to ``doc``.

    When there is more than one, each starts with a level-2 heading ``heading(number,
    thread, numbers)`` (``number`` counts threads from 1; ``numbers``: message id → number of
    the messages shown so far; see :func:`branch_heading`). Then, for every id of the thread
    that ``lookup`` knows (a result other than ``None``), ``show(n, message)`` adds it, ``n``
    numbering the messages shown from 1. Returns how many messages were shown. What
    ``lookup``, ``show`` or ``heading`` raise propagates."""
    numbers: dict[Hashable, int] = {}
    count = 0
    for number, thread in enumerate(ordered, 1):
        if len(ordered) > 1:
            doc.heading(2, heading(number, thread, numbers))
        for node in thread.ids:
            message = lookup(node)
            if message is None:
                continue
            count += 1
            numbers[node] = count
            show(count, message)
    return count


def summary_lines(created_at: float | None, updated_at: float | None, models: Sequence[str],
                  messages: int, branches: int) -> list[str]:
    """Header bullets of a branched conversation: ``Created`` and ``Updated`` (when known),
    ``Models`` (the first 20 of ``models``, as code; none when empty), ``Messages`` and, when
    there is more than one thread, ``Branches: N (the current one first)``."""
    lines: list[str] = []
    if created_at is not None:
        lines.append(f"- **Created:** {format_time(created_at)}")
    if updated_at is not None:
        lines.append(f"- **Updated:** {format_time(updated_at)}")
    if models:
        lines.append("- **Models:** " + ", ".join(md.code_span(m) for m in models[:20]))
    lines.append(f"- **Messages:** {messages}")
    if branches > 1:
        lines.append(f"- **Branches:** {branches} (the current one first)")
    return lines
