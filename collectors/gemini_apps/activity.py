"""Reading Gemini Apps activity rows (Google Takeout > My Activity > Gemini Apps).

Takeout delivers Gemini (gemini.google.com, formerly Bard) as an *activity log*, newest row
first, one row per prompt (plus a few other activities: "Created Canvas …", "Gave feedback …",
"Selected preferred draft"). Two forms, chosen by the user when exporting:

* JSON (``My Activity/Gemini Apps/MyActivity.json``): a top-level array of rows
  ``{header: "Gemini Apps", title: "Prompted <prompt>", time: RFC 3339,
  safeHtmlItem: [{html: <answer HTML>}], details: [{name, url:
  "https://gemini.google.com/app/<conversation id>"}], attachedFiles: [names], imageFile,
  subtitles: [{name, url?}], products, activityControls}``. ``details`` may name several
  conversation ids or none. Sources: dimpurr/chat-stasher
  ``crates/chat-stasher/src/import/gemini.rs`` (measured on a real 1,980-row export),
  Superkikim/nexus-ai-chat-importer ``src/providers/gemini/gemini-types.ts`` and
  ``gemini-converter.ts``, ``../shared/FORMATS.md`` ("Hosted chat platforms").
* HTML (``MyActivity.html``): one ``<div class="outer-cell …">`` per row, holding a
  ``header-cell`` (the product), a body ``content-cell`` (``<title text><br><local time
  text><br><answer HTML>``) and a caption ``content-cell`` (products, why it is saved).
  Times are locale-formatted text (``Feb 2, 2026, 8:24:02 AM CET``, Czech ``1. 1. 2026
  10:00:00 SEČ``). Source: jetpack3331/ai-chat-history-manager ``examples/gemini.html``
  (``../shared/fixtures/gemini-apps/ai-chat-history-manager/gemini.html``).

Folder and file names are localized (``Moje aktivita/Aplikace Gemini``,
``MeineAktivitäten.json``), and so is the word before a prompt in ``title`` ("Prompted",
Czech "Pokyn", French "Prompt :"). This module only knows a few such words
(:data:`PROMPT_PREFIXES`); an unknown one leaves the whole title as the prompt.

Everything here is pure and never raises on odd input.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import unescape as html_unescape
from html.parser import HTMLParser
from typing import Any, Iterator
from urllib.parse import unquote

from ..timestamps import parse_iso

__all__ = [
    "HtmlRow",
    "PROMPT_PREFIXES",
    "app_ids_in_text",
    "conversation_ids",
    "file_names",
    "parse_html_rows",
    "parse_local_time",
    "parse_row_time",
    "split_prompt",
    "utc_day",
]

_SPACE = "[\\s\\u00a0\\u202f]"
PROMPT_PREFIXES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("en", re.compile(rf"^(?:Prompted|Asked|Live Prompt){_SPACE}+", re.IGNORECASE)),
    ("cs", re.compile(rf"^Pokyn{_SPACE}*:?{_SPACE}+")),
    ("fr", re.compile(rf"^Prompt{_SPACE}*:{_SPACE}*")),
)
"""``(locale, pattern)`` of the words Takeout puts before a prompt in a row's title. English
from real exports (chat-stasher, nexus-ai-chat-importer), Czech from the HTML fixture,
French from nexus-ai-chat-importer. Other locales keep the whole title."""

_APP_URL = re.compile(r"gemini\.google\.com/app/([A-Za-z0-9_-]{1,128})(?![A-Za-z0-9_-])")


def split_prompt(title: Any) -> tuple[str, str | None]:
    """``(prompt, locale)`` from a row title: the title without a known prompt word
    (``"Prompted How …"`` → ``("How …", "en")``), else the whole title and ``None``."""
    if not isinstance(title, str):
        return "", None
    for locale, pattern in PROMPT_PREFIXES:
        m = pattern.match(title)
        if m and title[m.end():].strip():
            return title[m.end():], locale
    return title, None


def app_ids_in_text(text: str) -> list[str]:
    """Distinct conversation ids in ``gemini.google.com/app/<id>`` links in ``text``, in
    first-seen order."""
    ids: list[str] = []
    for m in _APP_URL.finditer(text):
        if m.group(1) not in ids:
            ids.append(m.group(1))
    return ids


def conversation_ids(row: Any) -> list[str]:
    """Distinct conversation ids a JSON row names in ``details[].url`` (``name`` when there
    is no ``url``), in first-seen order; ``[]`` when it names none."""
    ids: list[str] = []
    details = row.get("details") if isinstance(row, dict) else None
    if not isinstance(details, list):
        return ids
    for item in details:
        if not isinstance(item, dict):
            continue
        url = item.get("url")
        if not isinstance(url, str):
            url = item.get("name")
        if isinstance(url, str):
            for found in app_ids_in_text(url):
                if found not in ids:
                    ids.append(found)
    return ids


def _bare_name(value: Any) -> str | None:
    """``value`` when it names a file next to the activity log (no scheme, no ``..``)."""
    if not isinstance(value, str):
        return None
    name = value.strip()
    if (not name or len(name) > 1024 or "://" in name or name.startswith(("/", "#", "."))
            or "\\" in name or "\0" in name or ":" in name.split("/", 1)[0]):
        return None
    if any(part in ("", ".", "..") for part in name.split("/")):
        return None
    return name


def file_names(row: Any) -> list[str]:
    """The names of the files a JSON row says were attached (``attachedFiles``,
    ``imageFile``, and ``subtitles[].url`` that are bare file names), distinct, in order."""
    names: list[str] = []
    if not isinstance(row, dict):
        return names

    def add(value: Any) -> None:
        name = _bare_name(value)
        if name is not None and name not in names:
            names.append(name)

    attached = row.get("attachedFiles")
    if isinstance(attached, list):
        for item in attached:
            add(item.get("name") if isinstance(item, dict) else item)
    elif isinstance(attached, str):
        add(attached)
    add(row.get("imageFile"))
    subtitles = row.get("subtitles")
    if isinstance(subtitles, list):
        for item in subtitles:
            if isinstance(item, dict):
                add(item.get("url"))
    return names


_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_row_time(value: Any) -> float | None:
    """A JSON row's ``time`` (RFC 3339, any number of fraction digits) as Unix seconds."""
    seconds = parse_iso(value)
    if seconds is None and isinstance(value, str):
        seconds = parse_iso(_LONG_FRACTION.sub(r"\1", value))
    return seconds


def utc_day(seconds: float | None) -> str | None:
    """``YYYY-MM-DD`` (UTC) of ``seconds``, or ``None``."""
    if seconds is None or not math.isfinite(seconds):
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return None


# -- locale-formatted times (HTML form) ---------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")), start=1)
    for name in names
}
_ZONES = {
    "utc": 0, "gmt": 0, "z": 0, "wet": 0, "wez": 0,
    "cet": 60, "mez": 60, "seč": 60, "sec": 60, "west": 60, "wesz": 60, "bst": 60,
    "cest": 120, "mesz": 120, "selč": 120, "selc": 120, "eet": 120, "oez": 120,
    "eest": 180, "oesz": 180, "msk": 180,
    "pst": -480, "pdt": -420, "mst": -420, "mdt": -360, "cst": -360, "cdt": -300,
    "est": -300, "edt": -240, "akst": -540, "akdt": -480, "hst": -600,
    "jst": 540, "kst": 540, "hkt": 480, "sgt": 480, "awst": 480, "acst": 570,
    "aest": 600, "aedt": 660, "nzst": 720, "nzdt": 780,
}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?"
                    r"(?:\s*([AaPp])\.?\s?[Mm]\.?(?![A-Za-z]))?")
_YMD = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})")
_DMY_DOT = re.compile(r"(\d{1,2})\s*\.\s*(\d{1,2})\s*\.\s*(\d{4})")
_SLASH = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_MDY_NAME = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})")
_DMY_NAME = re.compile(r"(\d{1,2})\.?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})")
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+\-−])\s*(\d{1,2})(?::?(\d{2}))?$")


def _date(text: str) -> tuple[int, int, int] | None:
    m = _YMD.search(text)
    if m:
        return int(m[1]), int(m[2]), int(m[3])
    m = _DMY_DOT.search(text)
    if m:
        return int(m[3]), int(m[2]), int(m[1])
    m = _MDY_NAME.search(text)
    if m and m[1].lower() in _MONTHS:
        return int(m[3]), _MONTHS[m[1].lower()], int(m[2])
    m = _DMY_NAME.search(text)
    if m and m[2].lower() in _MONTHS:
        return int(m[3]), _MONTHS[m[2].lower()], int(m[1])
    m = _SLASH.search(text)
    if m:
        a, b = int(m[1]), int(m[2])
        return (int(m[3]), b, a) if a > 12 else (int(m[3]), a, b)  # US order unless impossible
    return None


def _zone(text: str) -> int | None:
    """Minutes east of UTC for a zone name or offset; ``None`` if unknown."""
    flat = text.strip().strip("()").strip().lower()
    if not flat:
        return None
    if flat in _ZONES:
        return _ZONES[flat]
    m = _OFFSET.match(flat)
    if m:
        minutes = int(m[2]) * 60 + int(m[3] or 0)
        return -minutes if m[1] in "-−" else minutes
    return None


def parse_local_time(text: Any) -> tuple[float | None, bool]:
    """``(unix_seconds, zone_known)`` for a locale-formatted activity time such as
    ``"Feb 2, 2026, 8:24:02 AM CET"``, ``"2 Feb 2026, 08:24:02 GMT+01:00"`` or
    ``"1. 1. 2026 10:00:00 SEČ"``. Dates: year-first, day-first with dots, English month
    names, or slashes (month first unless impossible). A zone it does not know is taken as
    UTC (``zone_known`` False). ``(None, False)`` when no date and clock are found."""
    if not isinstance(text, str) or len(text) > 200:
        return None, False
    flat = re.sub(r"[\s\u00a0\u202f\u2009]+", " ", text).strip()
    clock = _CLOCK.search(flat)
    if not clock:
        return None, False
    ymd = _date(flat[:clock.start()]) or _date(flat)
    if ymd is None:
        return None, False
    hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
    if clock[4]:
        if not 1 <= hour <= 12:
            return None, False
        hour = hour % 12 + (12 if clock[4] in "Pp" else 0)
    offset = _zone(flat[clock.end():])
    try:
        local = datetime(ymd[0], ymd[1], ymd[2], hour, minute, second, tzinfo=timezone.utc)
        seconds = (local - timedelta(minutes=offset or 0)).timestamp()
    except (ValueError, OverflowError, OSError):
        return None, False
    return seconds, offset is not None


# -- the HTML form ----------------------------------------------------------------------

@dataclass
class HtmlRow:
    """One ``outer-cell`` row of a My Activity HTML file.

    ``start``/``end``: character offsets of the row's ``<div class="outer-cell">`` …
    ``</div>`` in the parsed text. ``header``: the header cell's text (``Gemini Apps``).
    ``title``: the text before the time (``Prompted <prompt>``). ``time_text``: the time as
    written; ``time``: it in Unix seconds (``None`` if unreadable); ``zone_known``: whether
    its zone was understood. ``answer_html``: the body cell's HTML after the time.
    ``app_ids``: conversation ids from ``gemini.google.com/app/<id>`` outside the answer.
    ``files``: bare file names the row links to (``href``/``src``). ``caption``: the caption
    cell's text."""

    start: int
    end: int
    header: str = ""
    title: str = ""
    time_text: str = ""
    time: float | None = None
    zone_known: bool = False
    answer_html: str = ""
    app_ids: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    caption: str = ""


_BLOCK_TAGS = frozenset({
    "p", "div", "ul", "ol", "pre", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "hr", "section", "article", "figure", "img", "dl", "details", "li",
})
_BLOCK_START = re.compile(r"<(?:%s)(?=[\s/>])" % "|".join(sorted(_BLOCK_TAGS)), re.IGNORECASE)
# The row structure: divs (attribute values may hold ">"), skipping comments and raw text.
_STRUCTURE = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(script|style|textarea|title)\b.*?(?:</\1\s*>|\Z)"
    r"|<div(?=[\s/>])((?:\"[^\"]*\"|'[^']*'|[^'\">])*)>"
    r"|</div\s*>",
    re.IGNORECASE | re.DOTALL)
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_LINK = re.compile(r"""\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def _classes(attrs: str) -> set[str]:
    m = _CLASS.search(attrs)
    return set((m.group(1) or m.group(2) or m.group(3) or "").split()) if m else set()


class _Text(HTMLParser):
    """Visible text of an HTML fragment; ``<br>`` becomes a line break."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _text(fragment: str) -> list[str]:
    """The non-blank, whitespace-collapsed lines of an HTML fragment's text."""
    parser = _Text()
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:  # html.parser is lenient; keep what was read
        pass
    return [line for line in (_flat(x) for x in "".join(parser.parts).split("\n")) if line]


def _flat(text: str) -> str:
    return re.sub(r"[\s\u00a0\u202f]+", " ", text).strip()


class _BodySplitter(HTMLParser):
    """Splits the start of a body cell into ``<br>``-separated text lines."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.lines: list[str] = []
        self.after_br: list[int] = []
        self.current: list[str] = []

    def _at(self) -> int:
        line, col = self.getpos()
        return self.line_starts[min(line, len(self.line_starts)) - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.lines.append("".join(self.current))
            self.current = []
            self.after_br.append(self._at() + len(self.get_starttag_text() or "<br>"))

    def handle_data(self, data: str) -> None:
        self.current.append(data)


def _split_body(inner: str) -> tuple[str, str, int]:
    """``(title, time_text, answer_offset)`` of a body cell's inner HTML: text lines up to
    the first block tag; the first line after the title that reads as a time is the time;
    the answer is everything after that line's ``<br>``."""
    block = _BLOCK_START.search(inner)
    prefix = inner[:block.start()] if block else inner
    splitter = _BodySplitter(prefix)
    try:
        splitter.feed(prefix)
        splitter.close()
    except Exception:  # html.parser is lenient; never let a row break the file
        pass
    lines = [_flat(line) for line in splitter.lines]
    for index in range(1, len(lines)):
        if parse_local_time(lines[index])[0] is not None:
            title = "\n".join(line for line in lines[:index] if line)
            return title, lines[index], splitter.after_br[index]
    if lines:
        return lines[0], "", splitter.after_br[0]
    trailing = _flat("".join(splitter.current))
    return trailing, "", block.start() if block else len(inner)


def _build_row(text: str, start: int, end: int,
               cells: dict[str, tuple[int, int]]) -> HtmlRow:
    row = HtmlRow(start=start, end=end)
    if "header" in cells:
        row.header = " ".join(_text(text[slice(*cells["header"])]))
    if "caption" in cells:
        row.caption = "\n".join(_text(text[slice(*cells["caption"])]))
    answer_at = answer_end = end
    if "body" in cells:
        b0, b1 = cells["body"]
        inner = text[b0:b1]
        row.title, row.time_text, offset = _split_body(inner)
        row.answer_html = inner[offset:]
        answer_at, answer_end = b0 + offset, b1
        row.time, row.zone_known = parse_local_time(row.time_text)
    row.app_ids = app_ids_in_text(text[start:answer_at] + " " + text[answer_end:end])
    for m in _LINK.finditer(text, start, end):
        value = html_unescape(m.group(1) if m.group(1) is not None else m.group(2))
        name = _bare_name(unquote(value))
        if name is not None and name not in row.files:
            row.files.append(name)
    return row


def parse_html_rows(text: str) -> Iterator[HtmlRow]:
    """Every ``outer-cell`` row of a My Activity HTML document ``text``, in document order.

    The div structure is found with a tokenizer that skips comments and ``<script>``/
    ``<style>`` text; cell text goes through :mod:`html.parser`. A row left open at the end
    of the text ends there; an ``outer-cell`` opening inside an unclosed one closes it.
    Never raises."""
    depth = 0
    row_start: int | None = None
    row_depth = 0
    cells: dict[str, tuple[int, int]] = {}
    cell: tuple[str, int, int] | None = None  # (kind, depth, content start)
    for m in _STRUCTURE.finditer(text):
        token = m.group(0)
        if token.startswith("<!") or m.group(1):
            continue
        if token[1] != "/":  # <div …>
            attrs = m.group(2) or ""
            classes = _classes(attrs)
            self_closing = attrs.rstrip().endswith("/")
            depth += 1
            if "outer-cell" in classes:
                if row_start is not None:
                    if cell is not None and cell[0] == "body":
                        cells.setdefault("body", (cell[2], m.start()))
                    yield _build_row(text, row_start, m.start(), cells)
                row_start, row_depth, cells, cell = m.start(), depth, {}, None
            elif row_start is not None and cell is None:
                kind = None
                if "header-cell" in classes:
                    kind = "header"
                elif "content-cell" in classes:
                    if "mdl-typography--caption" in classes:
                        kind = "caption"
                    elif "mdl-typography--text-right" not in classes and "body" not in cells:
                        kind = "body"
                if kind is not None and kind not in cells and not self_closing:
                    cell = (kind, depth, m.end())
            if self_closing:
                depth -= 1
            continue
        if depth == 0:
            continue
        if cell is not None and depth == cell[1]:
            cells[cell[0]] = (cell[2], m.start())
            cell = None
        if row_start is not None and depth == row_depth:
            yield _build_row(text, row_start, m.end(), cells)
            row_start, cells, cell = None, {}, None
        depth -= 1
    if row_start is not None:
        if cell is not None:
            cells.setdefault(cell[0], (cell[2], len(text)))
        yield _build_row(text, row_start, len(text), cells)
