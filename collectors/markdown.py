"""Building the ``conversation.md`` the mount shows: safe Markdown pieces shared by collectors.

The input is whatever the AI tool stored: model output (Markdown), user text, tool output with
ANSI colours, NUL bytes, unbalanced code fences, stray ``</details>``. The helpers here keep
such content from breaking the document around it:

* :func:`fence` picks a fence longer than any backtick run in the content;
* :func:`details` puts a ``<details>`` around a body (pass it fenced or :func:`text_block` text);
* :func:`text_block` keeps prose as Markdown but closes fences it leaves open and neutralizes
  tag-like ``<`` outside code (so ``<command-name>`` stays visible and cannot open HTML);
* :func:`escape_inline` makes any string safe on one line (headings, list items, summaries);
* :class:`Document` joins blocks and, last, replaces control characters by visible symbols
  (``ESC`` → ``␛``, ``NUL`` → ``␀``) so ``cat conversation.md`` cannot drive the terminal.

Pure functions on ``str``; nothing here raises on odd content.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
from typing import Any, Callable, Iterable

__all__ = [
    "Document",
    "bad_line_note",
    "code_span",
    "decode_preview",
    "details",
    "escape_inline",
    "fallback_document",
    "fence",
    "guess_language",
    "human_bytes",
    "json_block",
    "json_text",
    "note",
    "sanitize",
    "text_block",
    "truncate",
]

_BACKTICK_RUNS = re.compile(r"`+")
_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
# A "<" that may open HTML and is not already backslash-escaped (an even run of "\\" before it).
_TAG_START = re.compile(r"(?<!\\)((?:\\\\)*)<(?=[A-Za-z/!?])")
# Tags that open HTML blocks running past a blank line, or that are our own structure.
_DANGEROUS_TAG = re.compile(
    r"(?<!\\)((?:\\\\)*)<(?=/?(?:details|summary|script|pre|style|textarea)\b|!|\?)",
    re.IGNORECASE,
)
_AUTOLINK = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*>")
_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]<>|~&#!])")
_WHITESPACE = re.compile(r"\s+")
_LEADING_BLOCK = re.compile(r"^(\d{0,9})(-|[+.)](?=\s|$)|=+$)")
_LEADING_CHARS = frozenset("-+.)=")  # with the digits, what _LEADING_BLOCK can start with
_BLANK_LINE = re.compile(r"^[^\S\n]*$", re.MULTILINE)
_LONGEST_RUN_PROBES = 16  # beyond this many backticks in a row, count them with the regex

# C0 controls (except TAB and LF) -> U+2400 pictures, DEL -> U+2421, C1 controls -> U+FFFD.
_CONTROL_MAP = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}
_CONTROL_MAP[0x7F] = 0x2421
_CONTROL_MAP.update(dict.fromkeys(range(128, 160), 65533))
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The same characters as bytes: C0 (but TAB, LF) and DEL; in Latin-1 also C1; in UTF-8, C1.
_C0_BYTES = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])
_C0_C1_BYTES = _C0_BYTES + bytes(range(0x80, 0xA0))
_C1_UTF8 = re.compile(b"\xc2[\x80-\x9f]")

_LANGUAGES = {
    ".json": "json",
    ".jsonl": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".py": "python",
    ".sh": "bash",
    ".bash": "bash",
    ".zsh": "bash",
    ".fish": "fish",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".txt": "text",
    ".ps1": "powershell",
    ".rb": "ruby",
    ".go": "go",
    ".rs": "rust",
    ".html": "html",
    ".css": "css",
    ".xml": "xml",
    ".ini": "ini",
    ".cfg": "ini",
    ".diff": "diff",
    ".patch": "diff",
}


def sanitize(text: str) -> str:
    """Normalize line ends (CRLF and lone CR become LF) and make control characters visible."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not _has_controls(text):
        return text
    return _CONTROL_RE.sub(_control_picture, text)


def _control_picture(m: re.Match[str]) -> str:
    return chr(_CONTROL_MAP[ord(m.group())])


def _has_controls(text: str) -> bool:
    """True if ``text`` holds a character :func:`sanitize` replaces. Encoding and deleting
    bytes is several times faster than a regular expression search over long text."""
    if text.isascii():
        data = text.encode("ascii")
        return len(data.translate(None, _C0_BYTES)) != len(data)
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
        return len(data.translate(None, _C0_BYTES)) != len(data) or bool(_C1_UTF8.search(data))
    return len(data.translate(None, _C0_C1_BYTES)) != len(data)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``…`` when cut."""
    if limit <= 0:
        return ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def escape_inline(text: str, limit: int | None = None) -> str:
    """``text`` as one safe line of Markdown: whitespace runs become one space, Markdown and
    HTML punctuation is backslash-escaped; cut to ``limit`` characters first when given."""
    flat = str(text)
    if not flat.isprintable() or "  " in flat:  # every whitespace but " " is unprintable
        flat = _WHITESPACE.sub(" ", flat)
    if flat[:1] == " " or flat[-1:] == " ":
        flat = flat.strip()
    if limit is not None:
        flat = truncate(flat, limit)
    if _INLINE_SPECIALS.search(flat):
        flat = _INLINE_SPECIALS.sub(_backslash, flat)
    # What would start a list item, a setext underline or an ordered list at line start.
    first = flat[:1]
    if first in _LEADING_CHARS or first.isdigit():
        return _LEADING_BLOCK.sub(r"\1\\\2", flat, count=1)
    return flat


def _backslash(m: re.Match[str]) -> str:
    return "\\" + m.group()


def _longest_backtick_run(text: str) -> int:
    """The length of the longest run of backticks in ``text`` (0 if none)."""
    at = text.find("`")
    if at < 0:
        return 0
    longest = 1
    while True:  # a run of N + 1 starts at or after the first run of N
        at = text.find("`" * (longest + 1), at)
        if at < 0:
            return longest
        longest += 1
        if longest >= _LONGEST_RUN_PROBES:
            return max(len(m) for m in _BACKTICK_RUNS.findall(text))


def code_span(text: str) -> str:
    """``text`` as inline code, on one line, delimited by more backticks than it contains."""
    flat = str(text)
    if not flat.isprintable() or "  " in flat:  # every whitespace but " " is unprintable
        flat = _WHITESPACE.sub(" ", flat)
    ticks = "`" * (_longest_backtick_run(flat) + 1)
    if not flat.strip():
        return f"{ticks} {ticks}" if flat else "` `"
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def fence(text: str, lang: str = "") -> str:
    """``text`` as a fenced code block whose fence is longer than any backtick run inside."""
    body = str(text)
    ticks = "`" * max(3, _longest_backtick_run(body) + 1)
    info = _fence_info(lang) if lang else ""
    if body and body[-1] != "\n":
        return f"{ticks}{info}\n{body}\n{ticks}"
    return f"{ticks}{info}\n{body}{ticks}"


@functools.lru_cache(maxsize=256)
def _fence_info(lang: str) -> str:
    return re.sub(r"[^A-Za-z0-9_+.\-]", "", lang)[:32]


def details(summary: str, body: str) -> str:
    """A collapsed ``<details>`` section; ``summary`` is HTML-escaped and flattened, ``body``
    must already be safe Markdown (a :func:`fence` or :func:`text_block`)."""
    flat = _WHITESPACE.sub(" ", str(summary)).strip() or "details"
    return f"<details>\n<summary>{html.escape(flat)}</summary>\n\n{body}\n\n</details>"


def text_block(text: str) -> str:
    """Prose (model output, user input) kept as Markdown, made safe to embed.

    Line ends are normalized; code fences left open are closed at the end. Outside code
    fences, a ``<`` that could start an HTML tag is backslash-escaped (autolinks are kept),
    except inside inline code, where only tags that could swallow or break the document
    around it (``details``, ``summary``, ``script``, ``pre``, ``style``, ``textarea``,
    comments, declarations) are escaped.

    A paragraph is a run of non-blank lines outside fences; a fence opens on a line of up to
    3 spaces and 3+ backticks (an info string without backticks) or 3+ tildes, and closes on
    a line (indented at most 3 columns, tabs every 4) holding only at least as many of its
    character. Only lines holding ``"```"`` or ``"~~~"`` are looked at one by one; what is
    not a paragraph with a ``<`` in it is copied as it is.
    """
    text = str(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    has_tag = "<" in text
    find, rfind = text.find, text.rfind
    # Finding one character is much faster than finding three: look for "`" first.
    ticks = find("`")
    if ticks >= 0:
        ticks = find("```", ticks)
    tildes = find("~")
    if tildes >= 0:
        tildes = find("~~~", tildes)
    if ticks < 0 and tildes < 0:  # no fence can open
        return (_escape_paragraphs(text) if has_tag else text).strip("\n")
    size = len(text)
    pieces: list[str] = []
    done = 0  # text[:done] is in pieces
    pos = 0  # where to look for the next fence line (a line start)
    char = ""  # the open fence's character, "" outside fences
    length = 0
    while True:
        # The next "```" or "~~~" at or after pos that may matter (inside a fence: its kind).
        if 0 <= ticks < pos:
            ticks = _find_run(text, "```", pos)
        if 0 <= tildes < pos:
            tildes = _find_run(text, "~~~", pos)
        if char == "`":
            found = ticks
        elif char == "~":
            found = tildes
        else:
            found = tildes if ticks < 0 or 0 <= tildes < ticks else ticks
        if found < 0:
            break
        start = rfind("\n", 0, found) + 1
        end = find("\n", found)
        if end < 0:
            end = size
        line = text[start:end]
        pos = end + 1
        if char:  # does this line close the fence?
            stripped = line.strip()
            if len(stripped) >= length and stripped.count(char) == len(stripped):
                expanded = line.expandtabs(4)
                if len(expanded) - len(expanded.lstrip(" ")) <= 3:
                    char = ""
                    if has_tag:  # fence lines are copied as they are
                        pieces.append(text[done:pos])
                        done = pos
        else:  # does it open one?
            m = _FENCE_OPEN.match(line)
            if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
                char, length = m.group(2)[0], len(m.group(2))
                if has_tag and start > done:  # the lines before the fence
                    pieces.append(_escape_paragraphs(text[done : start - 1]))
                    pieces.append("\n")
                    done = start
        if pos > size:
            break
    if has_tag and not char and done <= size:
        pieces.append(_escape_paragraphs(text[done:]))
        done = size
    if pieces:
        pieces.append(text[done:])
        text = "".join(pieces)
    if char:
        text += "\n" + char * length
    return text.strip("\n")


def _find_run(text: str, run: str, pos: int) -> int:
    """``text.find(run, pos)``, faster when ``run`` (a character repeated) is absent: finding
    one character is much faster than finding several."""
    first = text.find(run[0], pos)
    return first if first < 0 else text.find(run, first)


def _escape_paragraphs(region: str) -> str:
    """:func:`_escape_tags` applied to each paragraph (run of non-blank lines) of ``region``,
    a run of whole lines without fences."""
    if "<" not in region:
        return region
    pieces: list[str] = []
    done = 0  # region[:done] is in pieces
    start = 0  # start of the current paragraph (or of a blank line)
    for blank in _BLANK_LINE.finditer(region):
        end = blank.start() - 1  # the paragraph before this blank line ends here
        if end > start and region.find("<", start, end) >= 0:
            pieces.append(region[done:start])
            pieces.append(_escape_tags(region[start:end]))
            done = end
        start = blank.end() + 1
    end = len(region)
    if end > start and region.find("<", start, end) >= 0:
        pieces.append(region[done:start])
        pieces.append(_escape_tags(region[start:end]))
        done = end
    if not pieces:
        return region
    pieces.append(region[done:])
    return "".join(pieces)


def _escape_tags(paragraph: str) -> str:
    """Escape tag-like ``<`` in one paragraph, treating inline code spans (a run of N
    backticks closed by the next run of exactly N, possibly on a later line) gently."""
    if "<" not in paragraph:
        return paragraph
    if "`" not in paragraph:
        return _escape_plain(paragraph)
    pieces: list[str] = []
    pos = 0
    runs = list(_BACKTICK_RUNS.finditer(paragraph))
    # next_same[i]: the index of the next run as long as run i, or None.
    next_same: list[int | None] = [None] * len(runs)
    last: dict[int, int] = {}
    for j in range(len(runs) - 1, -1, -1):
        width = runs[j].end() - runs[j].start()
        next_same[j] = last.get(width)
        last[width] = j
    i = 0
    while i < len(runs):
        opener = runs[i]
        closer_index = next_same[i]
        if closer_index is None:
            i += 1
            continue
        pieces.append(_escape_plain(paragraph[pos : opener.start()]))
        pieces.append(
            _DANGEROUS_TAG.sub(_escape_lt, paragraph[opener.start() : runs[closer_index].end()])
        )
        pos = runs[closer_index].end()
        i = closer_index + 1
    pieces.append(_escape_plain(paragraph[pos:]))
    return "".join(pieces)


def _escape_lt(m: re.Match[str]) -> str:
    return m.group(1) + "\\<"


def _escape_plain(segment: str) -> str:
    if "<" not in segment:
        return segment
    out: list[str] = []
    pos = 0
    for m in _AUTOLINK.finditer(segment):
        out.append(_TAG_START.sub(_escape_lt, segment[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(_TAG_START.sub(_escape_lt, segment[pos:]))
    return "".join(out)


def decode_preview(data: bytes, limit: int) -> str | None:
    """The first ``limit`` bytes of ``data`` as UTF-8 text (a character cut by the limit is
    dropped), or ``None`` when the data is not UTF-8 text (binary)."""
    head = data[:limit]
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if (
            len(data) > limit
            and exc.start >= len(head) - 3
            and exc.reason == "unexpected end of data"
        ):
            return head[: exc.start].decode("utf-8", "replace")
        return None


def json_text(value: Any, *, indent: int | None = 2) -> str:
    """``value`` as JSON text (non-ASCII kept); falls back to ``repr`` for what JSON refuses."""
    if indent == 2:  # the pretty form, built faster than the json module's pure-Python one
        chunks: list[str] = []
        try:
            _indented(value, chunks, "\n", _INDENTED_DEPTH)
        except Exception:  # noqa: BLE001 - anything unusual: let json.dumps decide
            pass
        else:
            return "".join(chunks)
    try:
        return json.dumps(value, indent=indent, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        try:
            return repr(value)
        except RecursionError:
            return "<value nested too deeply to show>"


_INDENTED_DEPTH = 64
_encode_str = json.encoder.encode_basestring  # the C version when available
_INF = float("inf")


class _NotPlainJson(Exception):
    """A value :func:`_indented` leaves to ``json.dumps``."""


def _indented(value: Any, out: list[str], newline: str, budget: int) -> None:
    """Append ``json.dumps(value, indent=2, ensure_ascii=False)`` to ``out`` in pieces, for
    values made of dict (``str`` keys), list, str, int, float, bool and None nested at most
    ``budget`` deep; raises :class:`_NotPlainJson` for anything else. ``newline`` is a line
    feed and the current indentation."""
    if isinstance(value, str):
        out.append(_encode_str(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float_text(value))
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        if budget <= 0:
            raise _NotPlainJson
        inner = newline + "  "
        separator = "," + inner
        out.append("[" + inner)
        first = True
        for item in value:
            if first:
                first = False
            else:
                out.append(separator)
            if isinstance(item, str):
                out.append(_encode_str(item))
            else:
                _indented(item, out, inner, budget - 1)
        out.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        if budget <= 0:
            raise _NotPlainJson
        inner = newline + "  "
        separator = "," + inner
        out.append("{" + inner)
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotPlainJson
            if first:
                first = False
            else:
                out.append(separator)
            out.append(_encode_str(key))
            out.append(": ")
            if isinstance(item, str):
                out.append(_encode_str(item))
            else:
                _indented(item, out, inner, budget - 1)
        out.append(newline + "}")
    else:
        raise _NotPlainJson


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    return float.__repr__(value)


def json_block(value: Any, *, limit: int | None = None) -> str:
    """``value`` pretty-printed in a ``json`` fence, cut to ``limit`` characters when given."""
    text = json_text(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters in the raw file)"
    return fence(text, "json")


def note(text: str) -> str:
    """A one-line marked remark (italic), for events and markers: ``_text_`` escaped."""
    return f"_{escape_inline(text)}_"


def bad_line_note(number: int, size: int, reason: str = "", file: str | None = None) -> str:
    """``⚠ line N could not be parsed (K bytes)`` (plus the reason and file name when given)."""
    where = f"{file} " if file else ""
    why = f": {reason}" if reason else ""
    return note(f"⚠ {where}line {number} could not be parsed ({size} bytes){why}")


def human_bytes(size: int) -> str:
    """``532 bytes``, ``1.4 KiB``, ``3.0 MiB`` …"""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024.0
        if value < 1024.0 or unit == "TiB":
            return f"{value:.1f} {unit}"
    return f"{size} bytes"  # pragma: no cover


def guess_language(name: str) -> str:
    """A fence language for a file name (``settings.json`` → ``json``), ``""`` if unknown."""
    lower = name.lower()
    dot = lower.rfind(".")
    return _LANGUAGES.get(lower[dot:], "") if dot >= 0 else ""


_HEADING_PREFIX = {level: "#" * level + " " for level in range(1, 7)}


class Document:
    """An ordered list of Markdown blocks, separated by blank lines when rendered."""

    def __init__(self) -> None:
        self._blocks: list[str] = []

    def add(self, block: str) -> None:
        """Append one block (skipped when empty or only whitespace)."""
        if block and not block.isspace():
            self._blocks.append(block.rstrip("\n") if block[-1] == "\n" else block)

    def extend(self, blocks: Iterable[str]) -> None:
        """Append several blocks."""
        append = self._blocks.append
        for block in blocks:
            if block and not block.isspace():
                append(block.rstrip("\n") if block[-1] == "\n" else block)

    def heading(self, level: int, text: str) -> None:
        """Append a heading of ``level`` (1-6) with ``text`` escaped to one line."""
        prefix = _HEADING_PREFIX[min(max(level, 1), 6)]
        self._blocks.append(prefix + (escape_inline(text) or "(untitled)"))

    def render(self) -> str:
        """The document, control characters made visible, ending in one newline."""
        blocks = self._blocks
        text = "\n\n".join(blocks)
        if "\r" in text:
            return sanitize(text) + "\n"
        # Check the ASCII blocks (most of the text) apart from the others: one non-ASCII
        # character makes the whole text slower to check.
        plain: list[str] = []
        other: list[str] = []
        for block in blocks:
            (plain if block.isascii() else other).append(block)
        if _has_controls("".join(plain)) or (other and _has_controls("".join(other))):
            return _CONTROL_RE.sub(_control_picture, text) + "\n"
        return text + "\n"


def never_raises(render: Callable[..., str]) -> Callable[..., str]:
    """Decorate a collector's ``render_markdown(self, files, meta)`` so a rendering bug gives
    :func:`fallback_document` (the error's type name only, never its message, which may
    quote message text) instead of an exception; the traceback goes to DEBUG."""
    log = logging.getLogger(render.__module__)

    @functools.wraps(render)
    def wrapper(self, files, meta):
        try:
            return render(self, files, meta)
        except Exception as exc:  # the view must always render something
            log.warning("rendering failed: %s", type(exc).__name__)
            log.debug("rendering failed", exc_info=True)
            return fallback_document(meta.get("title"), files, type(exc).__name__)

    return wrapper


def fallback_document(title: object, names: Iterable[str], error: str) -> str:
    """A minimal page for a version whose rendering failed (a bug): the title, the error's
    type name and the raw file names. Uses plain string operations only, so it still works
    when the rest of this module does not."""

    def plain(value: object) -> str:
        text = value if isinstance(value, str) else ""
        return "".join(c if c.isprintable() and c not in "`<>" else " " for c in text).strip()

    head = plain(title)[:300] or "Untitled"
    lines = [
        f"# {head}",
        "",
        f"_⚠ this version could not be rendered ({plain(error)}); the raw files are complete_",
        "",
    ]
    lines.extend(f"- {plain(name)}" for name in sorted(names))
    return "\n".join(lines) + "\n"
