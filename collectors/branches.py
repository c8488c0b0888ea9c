"""Message trees → threads: the current thread first, then every other branch.

ChatGPT (``mapping`` + ``current_node``), Claude.ai (``parent_message_uuid`` +
``current_leaf_message_uuid``), DeepSeek (``mapping``, no current node) and Grok
(``parent_response_id`` + ``leaf_response_id``) keep each conversation as a tree: an edited
prompt or a regenerated answer starts a new branch. Renderers show the current thread whole,
then each other branch from where it forks, so every message appears exactly once.

Trees from exports are not trusted: parents that point nowhere make a node a root, cycles are
cut, and every node is shown once even if the input is malformed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Mapping, Sequence

__all__ = ["Thread", "threads"]


@dataclass(frozen=True, slots=True)
class Thread:
    """One run of messages to show, in order. ``fork_after`` is the id of the message this
    branch continues from (already shown above), ``None`` for the current thread or a run
    that starts at a root. ``current`` is True for the current thread."""

    ids: tuple[Hashable, ...]
    fork_after: Hashable | None
    current: bool


def threads(parents: Mapping[Hashable, Hashable | None], *,
            current: Hashable | None = None,
            sort_key: Callable[[Hashable], object] | None = None,
            children: Mapping[Hashable, Sequence[Hashable]] | None = None) -> list[Thread]:
    """Split a message tree into threads.

    ``parents``: node id → parent id (``None`` or an unknown id for a root), in document
    order. ``current``: the current leaf (or any node: the thread ends there and its
    descendants become branches); when missing or unknown, the newest leaf by ``sort_key``
    (ties: the last in document order). ``children``: node id → child ids in the order the
    platform lists them (ChatGPT's ``children``); without it, document order. Returns the
    current thread (root → ``current``) first, then the other branches in depth-first order,
    each starting at its first message not yet shown. Every node appears exactly once.
    """
    order = {node: i for i, node in enumerate(parents)}
    kids: dict[Hashable, list[Hashable]] = {node: [] for node in parents}
    roots: list[Hashable] = []
    for node, parent in parents.items():
        if parent is not None and parent in kids and parent != node:
            kids[parent].append(node)
        else:
            roots.append(node)
    if children is not None:  # the platform's own child order where it agrees with parents
        for node, listed in children.items():
            if node in kids and isinstance(listed, (list, tuple)):
                rank = {c: i for i, c in enumerate(listed) if isinstance(c, Hashable)}
                kids[node].sort(key=lambda c: (rank.get(c, len(rank)), order[c]))

    # Depth-first order from the roots; nodes on a cycle (unreachable from any root) are
    # then visited from their first member, which becomes a root: the cycle is cut there.
    dfs: list[Hashable] = []
    up: dict[Hashable, Hashable] = {}  # node -> parent along the tree actually walked
    seen: set[Hashable] = set()

    def walk(start: Hashable) -> None:
        stack: list[tuple[Hashable, Hashable | None]] = [(start, None)]
        while stack:
            node, parent = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            dfs.append(node)
            if parent is not None:
                up[node] = parent
            stack.extend((child, node) for child in reversed(kids[node]))

    for root in roots:
        walk(root)
    for node in parents:
        if node not in seen:
            walk(node)
    has_child = set(up.values())
    leaves = [n for n in dfs if n not in has_child]
    if current not in order:
        current = _newest(leaves or dfs, order, sort_key) if dfs else None

    def path_to(node: Hashable, stop: set[Hashable]) -> list[Hashable]:
        path: list[Hashable] = []
        guard: set[Hashable] = set()
        while node is not None and node not in stop and node not in guard:
            guard.add(node)
            path.append(node)
            node = up.get(node)
        path.reverse()
        return path

    out: list[Thread] = []
    shown: set[Hashable] = set()
    if current is not None:
        main = path_to(current, set())
        shown.update(main)
        out.append(Thread(tuple(main), None, True))
    for node in dfs:
        if node in shown or node in has_child:
            continue  # already shown, or not a leaf
        run = path_to(node, shown)
        if not run:
            continue
        shown.update(run)
        out.append(Thread(tuple(run), up.get(run[0]), False))
    return out


def _newest(nodes: list[Hashable], order: Mapping[Hashable, int],
            sort_key: Callable[[Hashable], object] | None) -> Hashable:
    def key(node: Hashable) -> tuple:
        k = sort_key(node) if sort_key else None
        return (k is not None, k if k is not None else 0, order[node])
    try:
        return max(nodes, key=key)
    except TypeError:  # incomparable keys: document order decides
        return max(nodes, key=lambda n: order[n])
