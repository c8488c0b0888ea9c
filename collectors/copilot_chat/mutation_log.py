"""Replaying VS Code's chat session mutation log (``chatSessions/<sessionId>.jsonl``, 1.109+).

Source: microsoft/vscode ``src/vs/workbench/contrib/chat/common/model/objectMutationLog.ts``
(``ObjectMutationLog.read``), the schema in ``chatSessionOperationLog.ts``. One JSON object
per line::

    {"kind": 0, "v": <state>}                      Initial: the whole session object
    {"kind": 1, "k": [<key|index>, …], "v": <x>}   Set: replace the value at path k
    {"kind": 2, "k": [<key|index>, …], "v": [<x>, …], "i": <n>}
                                                   Push: on the array at path k, first cut
                                                   it to length i (when i is present), then
                                                   append the items of v (when present); a
                                                   missing array starts empty
    {"kind": 3, "k": [<key|index>, …]}             Delete: remove the value at path k

The writer appends entries while a session changes and, once more than its limit of
entries (1024 for chat sessions, 512 by default) is reached, **rewrites the file** as a
single Initial entry. So the file is not append-only: a reader may meet a torn last line
(an append in progress) or a file cut anywhere (a rewrite in progress).

Where this replay differs from VS Code's reader, on purpose:

* Bad lines do not abort: a line that does not parse, an entry whose path does not lead
  anywhere (VS Code would throw and drop the whole session) or an unknown kind is skipped
  and reported in :attr:`Replay.problems`; the rest is applied.
* Set with an empty path replaces the whole state (what the writer means by it; VS Code's
  reader ignores such an entry, which its writer never emits for the session schema).
* Delete on an array element sets it to ``None`` (JavaScript ``arr[i] = undefined``
  serializes as ``null``); on an object it removes the key.
* Set one past the end of an array appends (JavaScript grows the array); further out, the
  gap is filled with ``None``.
* An Initial entry after the first starts over from its value (VS Code does the same).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..jsonl import BadLine, JsonLine

__all__ = ["DELETE", "INITIAL", "PUSH", "SET", "Replay", "replay"]

INITIAL, SET, PUSH, DELETE = 0, 1, 2, 3
_MAX_GAP = 1 << 16  # an index further than this past the end is a bad entry, not a gap


@dataclass
class Replay:
    """The result of :func:`replay`.

    ``state``: the final value (``None`` when no Initial entry was applied); ``entries``:
    entries applied; ``initials``: Initial entries seen; ``problems``: ``"line N: reason"``
    for every skipped line (no content); ``torn``: the last line did not parse (the writer
    is appending, or was cut off); ``oversized``: some line was too long to be read.
    """

    state: Any = None
    entries: int = 0
    initials: int = 0
    problems: list[str] = field(default_factory=list)
    torn: bool = False
    oversized: bool = False


class _Skip(Exception):
    """An entry that cannot be applied (the reason is the message, without content)."""


def replay(lines: Iterable[JsonLine | BadLine]) -> Replay:
    """Replay a mutation log given as parsed lines (:func:`collectors.jsonl.iter_jsonl` or
    :func:`~collectors.jsonl.iter_jsonl_stream`). Never raises on content."""
    out = Replay()
    for line in lines:
        if isinstance(line, BadLine):
            out.problems.append(line.warning)
            out.torn = out.torn or line.torn
            out.oversized = out.oversized or line.oversized
            continue
        try:
            out.state = _apply(out, line.value)
        except _Skip as skip:
            out.problems.append(f"line {line.number}: {skip}")
            continue
        out.entries += 1
    return out


def _apply(out: Replay, entry: dict[str, Any]) -> Any:
    kind = entry.get("kind")
    if kind == INITIAL and not isinstance(kind, bool):
        out.initials += 1
        return entry.get("v")
    if kind not in (SET, PUSH, DELETE) or isinstance(kind, bool):
        raise _Skip(f"unknown entry kind {kind!r}" if _short(kind) else "unknown entry kind")
    if out.initials == 0:
        raise _Skip("entry before the initial state")
    path = entry.get("k")
    if not isinstance(path, list) or not all(_is_key(p) for p in path):
        raise _Skip("entry without a valid path")
    state = out.state
    if kind == SET:
        if not path:
            return entry.get("v")
        container = _walk(state, path[:-1])
        _set(container, path[-1], entry.get("v"))
    elif kind == DELETE:
        if not path:
            raise _Skip("delete of the whole state")
        container = _walk(state, path[:-1])
        _delete(container, path[-1])
    else:
        if not path:
            raise _Skip("push without a path")
        container = _walk(state, path[:-1])
        _push(container, path[-1], entry.get("v"), entry.get("i"))
    return state


def _short(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_key(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _walk(state: Any, path: list[str | int]) -> Any:
    node = state
    for depth, key in enumerate(path):
        if isinstance(node, dict):
            node = node.get(key if isinstance(key, str) else str(key), _MISSING)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            node = _MISSING
        if node is _MISSING or not isinstance(node, (dict, list)):
            raise _Skip(f"path not found (at depth {depth + 1})")
    if not isinstance(node, (dict, list)):
        raise _Skip("path not found")
    return node


_MISSING = object()


def _set(container: dict[str, Any] | list[Any], key: str | int, value: Any) -> None:
    if isinstance(container, dict):
        container[key if isinstance(key, str) else str(key)] = value
        return
    if not isinstance(key, int) or key < 0 or key > len(container) + _MAX_GAP:
        raise _Skip("array index out of range")
    if key >= len(container):
        container.extend([None] * (key - len(container) + 1))
    container[key] = value


def _delete(container: dict[str, Any] | list[Any], key: str | int) -> None:
    if isinstance(container, dict):
        container.pop(key if isinstance(key, str) else str(key), None)
    elif isinstance(key, int) and 0 <= key < len(container):
        container[key] = None


def _push(container: dict[str, Any] | list[Any], key: str | int, items: Any, start: Any) -> None:
    if isinstance(container, dict):
        name = key if isinstance(key, str) else str(key)
        current = container.get(name)
    elif isinstance(key, int) and 0 <= key < len(container):
        current = container[key]
    else:
        raise _Skip("array index out of range")
    array = current if isinstance(current, list) else []
    if start is not None:
        if not _short(start) or start < 0 or int(start) != start:
            raise _Skip("push with an invalid start index")
        del array[int(start) :]
    if items is not None:
        if not isinstance(items, list):
            raise _Skip("push of something that is not a list")
        array.extend(items)
    if isinstance(container, dict):
        container[name] = array
    else:
        container[key] = array  # type: ignore[index]
