"""Gemini's answer HTML (``safeHtmlItem[].html``, or the HTML form's body cell) → Markdown.

The answers are HTML that Gemini produced from its own Markdown: paragraphs, headings,
lists, tables, ``<pre><code>`` blocks, inline code, emphasis, links, images. This converter
(stdlib :mod:`html.parser`, no dependency) turns them back into readable Markdown:

* ``<pre>`` → a fenced block (:func:`collectors.markdown.fence`, language from a
  ``language-*``/``lang-*`` class), content kept verbatim;
* ``<code>`` → an inline code span; ``<b>/<strong>`` → ``**``; ``<i>/<em>`` → ``*``;
* ``<h1>``–``<h6>`` → ``####``–``######`` (below the page's own ``###`` row headings);
* lists (nested, ordered), block quotes, tables (pipe tables), ``<hr>``, ``<br>``;
* ``<a href="http…">`` → ``[text](url)``; ``<img>`` → ``[image: alt]``;
* ``<script>``, ``<style>``, ``<head>`` … dropped, unknown tags unwrapped.

The result goes through :func:`collectors.markdown.text_block`, so tag-like text cannot open
HTML in the page. Never raises on any input.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from .. import markdown as md

__all__ = ["html_to_markdown"]

_WS = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "svg", "math"})
_BLOCKS = frozenset({
    "p", "div", "section", "article", "header", "footer", "main", "figure", "figcaption",
    "dl", "dt", "dd", "details", "summary", "aside", "nav", "address", "center",
})
_HEADINGS = {"h1": 4, "h2": 5, "h3": 6, "h4": 6, "h5": 6, "h6": 6}
_LANG = re.compile(r"(?:^|\s)(?:language|lang)-([A-Za-z0-9_+.\-]{1,32})")
_BR = "\ue000"  # a private-use marker for <br> inside inline text


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.parts: list[str] = []
        self.lists: list[list] = []  # [kind, item counter, continuation indent]
        self.pending_marker: str | None = None
        self.quote = 0
        self.skip = 0
        self.pre = 0
        self.pre_parts: list[str] = []
        self.pre_lang = ""
        self.code_at: list[int] = []
        self.links: list[tuple[int, str | None]] = []
        self.heading: int | None = None
        self.table: list[list[str]] | None = None
        self.row: list[str] | None = None
        self.cell_at: int | None = None

    # -- output -------------------------------------------------------------------------

    @property
    def item_indent(self) -> str:
        """How continuation lines of the current list item are indented."""
        return self.lists[-1][2] if self.lists else ""

    def emit(self, block: str, raw: bool = False) -> None:
        """Add a finished block, with the list marker/indent and quote prefix applied."""
        if not block.strip():
            return
        lines = block.split("\n")
        if not raw or self.lists:
            marker = self.pending_marker
            out = []
            for index, line in enumerate(lines):
                if index == 0 and marker is not None:
                    out.append(marker + line)
                else:
                    out.append(self.item_indent + line if line else line)
            if marker is not None:
                self.pending_marker = None
            lines = out
        if self.quote:
            prefix = "> " * self.quote
            lines = [prefix + line for line in lines]
        self.blocks.append("\n".join(lines))

    def flush(self) -> None:
        if self.cell_at is not None:  # inside a table cell: blocks stay inline
            self.parts.append(" ")
            return
        text = "".join(self.parts)
        self.parts = []
        self.code_at = []
        self.links = []
        lines = [_WS.sub(" ", line).strip() for line in text.split(_BR)]
        while lines and not lines[0]:
            lines.pop(0)
        while lines and not lines[-1]:
            lines.pop()
        if not lines:
            return
        if self.heading is not None:
            self.emit("#" * self.heading + " " + " ".join(lines))
            return
        self.emit("\n".join(lines))

    # -- parser callbacks ---------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        a = dict(attrs)
        if self.pre:
            if tag == "br":
                self.pre_parts.append("\n")
            elif tag == "code" and not self.pre_lang:
                self.pre_lang = _language(a.get("class"))
            return
        if tag == "br":
            self.parts.append(_BR if self.cell_at is None else " ")
        elif tag == "pre":
            self.flush()
            self.pre += 1
            self.pre_parts = []
            self.pre_lang = _language(a.get("class"))
        elif tag in _BLOCKS:
            self.flush()
        elif tag in _HEADINGS:
            self.flush()
            self.heading = _HEADINGS[tag]
        elif tag in ("ul", "ol", "menu"):
            self.flush()
            self.lists.append([tag, 0, ""])
        elif tag == "li":
            self.flush()
            if not self.lists:
                self.lists.append(["ul", 0, ""])
            kind = self.lists[-1]
            kind[1] += 1
            base = self.lists[-2][2] if len(self.lists) > 1 else ""
            marker = f"{kind[1]}. " if kind[0] == "ol" else "- "
            self.pending_marker = base + marker
            kind[2] = base + " " * len(marker)
        elif tag == "blockquote":
            self.flush()
            self.quote += 1
        elif tag == "hr":
            self.flush()
            self.emit("* * *")
        elif tag == "table":
            self.flush()
            self.table = []
        elif tag == "tr":
            if self.table is not None:
                self.row = []
        elif tag in ("td", "th"):
            if self.row is not None:
                self.cell_at = len(self.parts)
        elif tag == "code":
            self.code_at.append(len(self.parts))
        elif tag in ("b", "strong"):
            self.parts.append("**")
        elif tag in ("i", "em"):
            self.parts.append("*")
        elif tag in ("s", "del", "strike"):
            self.parts.append("~~")
        elif tag == "a":
            self.links.append((len(self.parts), a.get("href")))
        elif tag == "img":
            label = a.get("alt") or a.get("title") or a.get("src") or ""
            self.parts.append(f" [image: {_WS.sub(' ', label).strip()[:200]}] ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "img", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if self.pre:
            if tag == "pre":
                self.pre -= 1
                if not self.pre:
                    self._emit_pre()
            return
        if tag in _BLOCKS:
            self.flush()
        elif tag in _HEADINGS:
            self.flush()
            self.heading = None
        elif tag in ("ul", "ol", "menu"):
            self.flush()
            if self.lists:
                self.lists.pop()
            self.pending_marker = None
        elif tag == "li":
            self.flush()
            self.pending_marker = None
        elif tag == "blockquote":
            self.flush()
            self.quote = max(0, self.quote - 1)
        elif tag in ("td", "th"):
            if self.row is not None and self.cell_at is not None:
                cell = "".join(self.parts[self.cell_at:])
                del self.parts[self.cell_at:]
                self.cell_at = None
                self.row.append(_WS.sub(" ", cell.replace(_BR, " ")).strip().replace("|", "\\|"))
        elif tag == "tr":
            if self.table is not None and self.row is not None:
                self.table.append(self.row)
            self.row = None
        elif tag == "table":
            self._emit_table()
        elif tag == "code":
            if self.code_at:
                start = self.code_at.pop()
                inner = "".join(self.parts[start:]).replace(_BR, " ")
                del self.parts[start:]
                if inner.strip():
                    self.parts.append(md.code_span(inner.strip()))
        elif tag in ("b", "strong"):
            self.parts.append("**")
        elif tag in ("i", "em"):
            self.parts.append("*")
        elif tag in ("s", "del", "strike"):
            self.parts.append("~~")
        elif tag == "a":
            if self.links:
                start, href = self.links.pop()
                label = "".join(self.parts[start:])
                if href and href.startswith(("http://", "https://")) and label.strip():
                    del self.parts[start:]
                    url = href.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
                    self.parts.append(f"[{label.strip()}]({url})")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            self.pre_parts.append(data)
        else:
            self.parts.append(data)

    # -- blocks -------------------------------------------------------------------------

    def _emit_pre(self) -> None:
        body = "".join(self.pre_parts).strip("\n")
        self.pre_parts = []
        if not body.strip():
            return
        fenced = md.fence(body, self.pre_lang)
        if len(self.item_indent) > 3:  # too deep for a fence inside the list item
            lists, marker = self.lists, self.pending_marker
            self.lists, self.pending_marker = [], None
            self.emit(fenced, raw=True)
            self.lists, self.pending_marker = lists, marker
        else:
            self.emit(fenced, raw=True)

    def _emit_table(self) -> None:
        rows = [r for r in (self.table or []) if any(c for c in r)]
        self.table, self.row, self.cell_at = None, None, None
        if not rows:
            return
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
        lines.extend("| " + " | ".join(r) + " |" for r in rows[1:])
        self.emit("\n".join(lines))

    def result(self) -> str:
        if self.pre:
            self._emit_pre()
        if self.table is not None:
            if self.row:
                self.table.append(self.row)
            self._emit_table()
        self.cell_at = None
        self.heading = None
        self.flush()
        return "\n\n".join(self.blocks)


def _language(classes: str | None) -> str:
    m = _LANG.search(classes or "")
    return m.group(1) if m else ""


def html_to_markdown(html_text: str) -> str:
    """``html_text`` (an HTML fragment) as safe, readable Markdown (see the module doc)."""
    if not isinstance(html_text, str) or not html_text.strip():
        return ""
    conv = _Converter()
    try:
        conv.feed(html_text)
        conv.close()
    except Exception:  # html.parser is lenient; keep what was converted
        pass
    try:
        text = conv.result()
    except Exception:
        text = _WS.sub(" ", re.sub(r"<[^>]*>", " ", html_text)).strip()
    return md.text_block(text.replace(_BR, "\n"))
