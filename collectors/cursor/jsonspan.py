"""The exact characters of each element of one array inside a JSON text.

Old Cursor versions keep every conversation of a workspace in one ``ItemTable`` value
(``composer.composerData`` → ``allComposers[]``; the legacy chat's
``workbench.panel.aichat.view.aichat.chatdata`` → ``tabs[]``). A version's raw file holds one
conversation's element *as stored* (see :mod:`.records`), so the elements are cut out of the
text by position instead of being parsed and re-serialized.

The top-level object is walked with :meth:`json.JSONDecoder.raw_decode`, one member value at
a time, so memory stays bounded by the largest single element, not the whole array.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

__all__ = ["iter_elements"]

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"


def _skip(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in _WS:
        i += 1
    return i


def _expect(text: str, i: int, char: str) -> int:
    if text[i : i + 1] != char:
        raise ValueError(f"expected {char!r} at offset {i}")
    return i + 1


def iter_elements(text: str, member: str) -> Iterator[tuple[Any, str]]:
    """Yield ``(parsed element, exact element text)`` for each element of the array that is
    the value of the top-level member ``member`` of the JSON object ``text``.

    Yields nothing when the member is absent or not an array. A member present twice yields
    both arrays' elements, in order (JSON.parse keeps the last; callers keep the last id).
    Raises ``ValueError`` (``json.JSONDecodeError`` included) when ``text`` is not a JSON
    object, and ``RecursionError`` for absurdly deep nesting.
    """
    i = _expect(text, _skip(text, 0), "{")
    i = _skip(text, i)
    if text[i : i + 1] == "}":
        return
    while True:
        i = _skip(text, i)
        key, i = _DECODER.raw_decode(text, i)
        if not isinstance(key, str):
            raise ValueError(f"object key expected at offset {i}")
        i = _skip(text, _expect(text, _skip(text, i), ":"))
        if key == member and text[i : i + 1] == "[":
            i = yield from _array(text, i + 1)
        else:
            _, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if text[i : i + 1] == ",":
            i += 1
            continue
        _expect(text, i, "}")
        return


def _array(text: str, i: int) -> Iterator[tuple[Any, str]]:
    """The elements of an array whose ``[`` ends just before ``i``; returns the index after
    its ``]``."""
    i = _skip(text, i)
    if text[i : i + 1] == "]":
        return i + 1
    while True:
        start = _skip(text, i)
        value, end = _DECODER.raw_decode(text, start)
        yield value, text[start:end]
        i = _skip(text, end)
        if text[i : i + 1] == ",":
            i += 1
            continue
        return _expect(text, i, "]")
