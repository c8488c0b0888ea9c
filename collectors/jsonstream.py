"""Stream the elements of a large JSON array, each with its exact source bytes.

Exports put every conversation in one JSON array (ChatGPT's ``conversations.json`` has been
seen at 108 MB), sometimes inside a wrapper object (``{"conversations": [...]}``). Loading
that whole document costs several times its size in memory; this module walks it element by
element instead, so memory stays bounded by the largest single element.

Each element comes back twice: its **raw bytes exactly as in the file** (so the vault can
store a conversation's JSON byte-for-byte) and the parsed value. The bytes are decoded as
UTF-8 with ``surrogateescape`` and encoded back the same way, which is lossless for any
input, valid UTF-8 or not.

Parsing uses the C-accelerated :meth:`json.JSONDecoder.raw_decode` on a sliding window; an
element cut by the window edge is retried with more input (doubling, so the cost stays
linear).

An element nested deeper than the parser can follow (``[[[[…`` 100,000 levels) is not an
error of the whole document: its end is found by counting brackets (strings skipped), and it
comes back as ``(raw bytes, TOO_DEEP)``, so a reader skips that one element (it is not a
``dict``) and reads on.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, BinaryIO, Iterator

__all__ = ["TOO_DEEP", "JsonStreamError", "cut_off", "iter_array", "looks_complete"]

READ_BYTES = 1 << 20
MAX_ELEMENT_CHARS = 512 * 1024 * 1024
_WS = " \t\n\r"
_decoder = json.JSONDecoder()
# For skipping an element nested too deeply to parse: text up to the next closing bracket
# outside strings (strings taken whole), one JSON string, a run of closing brackets.
_UNTIL_CLOSE = re.compile(r'(?:[^"\]}]+|"(?:[^"\\]|\\.)*")*', re.S)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_CLOSERS = re.compile(r"[\]}]+")


class _TooDeep:
    """The type of :data:`TOO_DEEP`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TOO_DEEP"


TOO_DEEP = _TooDeep()
"""The value :func:`iter_array` gives for an element nested too deeply to parse."""


class JsonStreamError(ValueError):
    """The document is not what was expected. ``offset`` is the byte offset of the problem;
    ``truncated`` is True when the input ended early (a half-downloaded file)."""

    def __init__(self, reason: str, offset: int, truncated: bool = False) -> None:
        super().__init__(f"{reason} at byte {offset}")
        self.reason = reason
        self.offset = offset
        self.truncated = truncated


class _Window:
    """A decoded sliding window over a binary stream, with byte offsets kept exact."""

    def __init__(self, stream: BinaryIO, read_bytes: int = READ_BYTES) -> None:
        self.stream = stream
        self.read_bytes = read_bytes
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.buf = ""
        self.pos = 0
        self.base = 0  # byte offset of buf[0]
        self.eof = False

    def more(self, at_least: int = 0) -> bool:
        """Append more input; False at end of stream."""
        if self.eof:
            return False
        if self.pos:
            self.base += len(self.buf[:self.pos].encode("utf-8", "surrogateescape"))
            self.buf = self.buf[self.pos:]
            self.pos = 0
        data = self.stream.read(max(at_least, self.read_bytes))
        if not data:
            self.eof = True
            self.buf += self.decoder.decode(b"", final=True)
            return False
        self.buf += self.decoder.decode(data)
        return True

    def offset(self, pos: int | None = None) -> int:
        p = self.pos if pos is None else pos
        return self.base + len(self.buf[:p].encode("utf-8", "surrogateescape"))

    def peek(self) -> str:
        """The next non-whitespace character (consumed whitespace), ``""`` at the end."""
        while True:
            buf, n, p = self.buf, len(self.buf), self.pos
            while p < n and buf[p] in _WS:
                p += 1
            self.pos = p
            if p < n:
                return buf[p]
            if not self.more():
                return ""

    def expect(self, chars: str, what: str) -> str:
        c = self.peek()
        if c == "" or c not in chars:
            raise JsonStreamError(f"expected {what}", self.offset(), truncated=(c == ""))
        self.pos += 1
        return c

    def value(self) -> tuple[Any, int, int]:
        """Parse one value at the cursor; returns it and its start/end positions in ``buf``."""
        self.peek()
        while True:
            start = self.pos
            try:
                obj, end = _decoder.raw_decode(self.buf, start)
            except RecursionError:
                start, end = self._skip_nested()
                self.pos = end
                return TOO_DEEP, start, end
            except json.JSONDecodeError as e:
                if self.eof:
                    if self._cut_here(e):
                        raise JsonStreamError("the file ends in the middle of an element "
                                              "(half-downloaded?)", self.offset(e.pos),
                                              truncated=True) from None
                    raise JsonStreamError(f"invalid JSON ({e.msg})", self.offset(e.pos)) from None
                if not self._maybe_incomplete(e):
                    raise JsonStreamError(f"invalid JSON ({e.msg})", self.offset(e.pos)) from None
                if len(self.buf) - start > MAX_ELEMENT_CHARS:
                    raise JsonStreamError("one element is larger than 512 MiB",
                                          self.offset(start)) from None
                self.more(len(self.buf) - start)
                continue
            if (not self.eof and not isinstance(obj, (dict, list, str))
                    and not self.buf[end:].strip("0123456789+-.eE")):
                self.more()  # a number or literal the window edge may have cut: parse it again
                continue
            self.pos = end
            return obj, start, end

    def _skip_nested(self) -> tuple[int, int]:
        """Start and end in ``buf`` of the array or object at the cursor, found by counting
        brackets outside strings (reading on as needed; the cursor stays at its start).
        Raises :class:`JsonStreamError` if the input ends first or it exceeds 512 MiB."""
        depth, p = 0, self.pos
        while True:
            buf = self.buf
            seg = _UNTIL_CLOSE.match(buf, p).group()  # up to the next closer, strings whole
            if seg:
                bare = _STRING.sub("", seg) if '"' in seg else seg
                depth += bare.count("[") + bare.count("{")
                p += len(seg)
            if p < len(buf) and buf[p] != '"':  # a run of closers
                run = len(_CLOSERS.match(buf, p).group())
                if run >= depth:
                    return self.pos, p + depth
                depth -= run
                p += run
                continue
            # the window ends here, or inside a string: read more (doubling keeps it linear)
            rel = p - self.pos
            if len(buf) - self.pos > MAX_ELEMENT_CHARS:
                raise JsonStreamError("one element is larger than 512 MiB", self.offset())
            if not self.more(len(buf) - self.pos):
                raise JsonStreamError("the file ends in the middle of an element "
                                      "(half-downloaded?)", self.offset(), truncated=True)
            p = self.pos + rel

    def _maybe_incomplete(self, e: json.JSONDecodeError) -> bool:
        """Could more input fix this error? (The window may end inside the element.)"""
        if e.msg.startswith("Unterminated string"):
            return True
        return len(self.buf[e.pos:].rstrip(_WS)) <= 16

    def _cut_here(self, e: json.JSONDecodeError) -> bool:
        """At the end of input: does ``e`` mean the document was cut off there?"""
        rest = self.buf[e.pos:].strip(_WS)
        return (e.msg.startswith("Unterminated string") or "escape" in e.msg
                or any(word.startswith(rest) for word in ("true", "false", "null")))

    def raw(self, start: int, end: int) -> bytes:
        return self.buf[start:end].encode("utf-8", "surrogateescape")


def iter_array(stream: BinaryIO, *, wrapper_keys: tuple[str, ...] = (),
               read_bytes: int = READ_BYTES) -> Iterator[tuple[bytes, Any]]:
    """Yield ``(raw_bytes, value)`` for every element of the top-level JSON array in
    ``stream``, or, when the document is an object, of the array under the first of
    ``wrapper_keys`` it has (``{"conversations": [...]}``); an object with none of them
    yields nothing. A leading UTF-8 BOM is skipped.

    Raises :class:`JsonStreamError` for anything else (not JSON, wrong shape, cut off),
    after yielding every element before the problem. ``read_bytes``: the read size; memory
    holds about one element plus that.
    """
    w = _Window(stream, read_bytes)
    w.more()
    if w.buf.startswith("\ufeff"):
        w.pos = 1
    first = w.peek()
    if first == "[":
        yield from _elements(w)
    elif first == "{":
        w.pos += 1
        yield from _wrapped(w, wrapper_keys)
    elif first == "":
        raise JsonStreamError("the file is empty", 0, truncated=True)
    else:
        raise JsonStreamError("not a JSON array or object", w.offset())
    if w.peek() != "":
        raise JsonStreamError("unexpected data after the JSON document", w.offset())


def _elements(w: _Window) -> Iterator[tuple[bytes, Any]]:
    """The elements of the array whose ``[`` is at the cursor; leaves the cursor after ``]``."""
    w.expect("[", "'['")
    if w.peek() == "]":
        w.pos += 1
        return
    while True:
        obj, start, end = w.value()
        yield w.raw(start, end), obj
        if w.expect(",]", "',' or ']'") == "]":
            return


def _wrapped(w: _Window, keys: tuple[str, ...]) -> Iterator[tuple[bytes, Any]]:
    """Walk an object's members (cursor after ``{``); stream the first array under ``keys``."""
    found = False
    if w.peek() == "}":
        w.pos += 1
        return
    while True:
        key, _, _ = w.value()
        if not isinstance(key, str):
            raise JsonStreamError("expected a property name", w.offset())
        w.expect(":", "':'")
        if not found and key in keys and w.peek() == "[":
            found = True
            yield from _elements(w)
        else:
            w.value()  # skip it (held in memory only while parsed)
        if w.expect(",}", "',' or '}'") == "}":
            return


def looks_complete(tail: bytes) -> bool:
    """True if ``tail`` (the last bytes of a JSON document) ends like a whole array or
    object does; a cut-off download almost never ends in ``]`` or ``}``."""
    return tail.rstrip(b" \t\r\n\x00")[-1:] in (b"]", b"}")


def cut_off(data: bytes) -> bool:
    """True if ``data``, a whole file that did not parse as JSON, looks cut off (a
    half-downloaded file): it starts like a JSON document (``[`` or ``{``, after any
    whitespace and a UTF-8 BOM) but its last 64 bytes do not end like one
    (:func:`looks_complete`). False when it does not start like JSON, or ends like a whole
    document (then it is damaged inside, not cut off)."""
    start = data[:64].lstrip(b" \t\r\n")
    if start.startswith(b"\xef\xbb\xbf"):
        start = start[3:].lstrip(b" \t\r\n")
    return start[:1] in (b"[", b"{") and not looks_complete(data[-64:])
