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

# C0 controls (except TAB and LF) -> U+2400 pictures, DEL -> U+2421, C1 controls -> U+FFFD.
_CONTROL_MAP = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}
_CONTROL_MAP[0x7F] = 0x2421
_CONTROL_MAP.update(dict.fromkeys(range(128, 160), 65533))
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

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
    return _CONTROL_RE.sub(lambda m: chr(_CONTROL_MAP[ord(m.group())]), text)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``…`` when cut."""
    if limit <= 0:
        return ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def escape_inline(text: str, limit: int | None = None) -> str:
    """``text`` as one safe line of Markdown: whitespace runs become one space, Markdown and
    HTML punctuation is backslash-escaped; cut to ``limit`` characters first when given."""
    flat = _WHITESPACE.sub(" ", str(text)).strip()
    if limit is not None:
        flat = truncate(flat, limit)
    escaped = _INLINE_SPECIALS.sub(r"\\\1", flat)
    # What would start a list item, a setext underline or an ordered list at line start.
    return _LEADING_BLOCK.sub(r"\1\\\2", escaped, count=1)


def code_span(text: str) -> str:
    """``text`` as inline code, on one line, delimited by more backticks than it contains."""
    flat = _WHITESPACE.sub(" ", str(text))
    longest = max((len(m) for m in _BACKTICK_RUNS.findall(flat)), default=0)
    ticks = "`" * (longest + 1)
    if not flat.strip():
        return f"{ticks} {ticks}" if flat else "` `"
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def fence(text: str, lang: str = "") -> str:
    """``text`` as a fenced code block whose fence is longer than any backtick run inside."""
    body = str(text)
    longest = max((len(m) for m in _BACKTICK_RUNS.findall(body)), default=0)
    ticks = "`" * max(3, longest + 1)
    info = re.sub(r"[^A-Za-z0-9_+.\-]", "", lang)[:32]
    if body and not body.endswith("\n"):
        body += "\n"
    return f"{ticks}{info}\n{body}{ticks}"


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
    """
    out: list[str] = []
    paragraph: list[str] = []
    open_char = ""
    open_len = 0

    def flush() -> None:
        if paragraph:
            out.append(_escape_tags("\n".join(paragraph)))
            paragraph.clear()

    for line in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if open_char:
            stripped = line.strip()
            indent = len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))
            if (
                indent <= 3
                and stripped
                and set(stripped) == {open_char}
                and len(stripped) >= open_len
            ):
                open_char = ""
            out.append(line)
            continue
        m = _FENCE_OPEN.match(line)
        if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            flush()
            open_char, open_len = m.group(2)[0], len(m.group(2))
            out.append(line)
        elif not line.strip():
            flush()
            out.append(line)
        else:
            paragraph.append(line)
    flush()
    if open_char:
        out.append(open_char * open_len)
    return "\n".join(out).strip("\n")


def _escape_tags(paragraph: str) -> str:
    """Escape tag-like ``<`` in one paragraph, treating inline code spans (a run of N
    backticks closed by the next run of exactly N, possibly on a later line) gently."""
    if "<" not in paragraph:
        return paragraph
    pieces: list[str] = []
    pos = 0
    runs = list(_BACKTICK_RUNS.finditer(paragraph))
    i = 0
    while i < len(runs):
        opener = runs[i]
        closer_index = next(
            (j for j in range(i + 1, len(runs)) if len(runs[j].group()) == len(opener.group())),
            None,
        )
        if closer_index is None:
            i += 1
            continue
        pieces.append(_escape_plain(paragraph[pos : opener.start()]))
        pieces.append(
            _DANGEROUS_TAG.sub(r"\1\\<", paragraph[opener.start() : runs[closer_index].end()])
        )
        pos = runs[closer_index].end()
        i = closer_index + 1
    pieces.append(_escape_plain(paragraph[pos:]))
    return "".join(pieces)


def _escape_plain(segment: str) -> str:
    if "<" not in segment:
        return segment
    out: list[str] = []
    pos = 0
    for m in _AUTOLINK.finditer(segment):
        out.append(_TAG_START.sub(r"\1\\<", segment[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(_TAG_START.sub(r"\1\\<", segment[pos:]))
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
    try:
        return json.dumps(value, indent=indent, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        try:
            return repr(value)
        except RecursionError:
            return "<value nested too deeply to show>"


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


class Document:
    """An ordered list of Markdown blocks, separated by blank lines when rendered."""

    def __init__(self) -> None:
        self._blocks: list[str] = []

    def add(self, block: str) -> None:
        """Append one block (skipped when empty)."""
        if block and block.strip():
            self._blocks.append(block.rstrip("\n"))

    def extend(self, blocks: Iterable[str]) -> None:
        """Append several blocks."""
        for block in blocks:
            self.add(block)

    def heading(self, level: int, text: str) -> None:
        """Append a heading of ``level`` (1-6) with ``text`` escaped to one line."""
        level = min(max(level, 1), 6)
        self._blocks.append(f"{'#' * level} {escape_inline(text) or '(untitled)'}")

    def render(self) -> str:
        """The document, control characters made visible, ending in one newline."""
        return sanitize("\n\n".join(self._blocks)) + "\n"


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
