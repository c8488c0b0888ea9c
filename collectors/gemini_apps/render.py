"""A stored Gemini Apps conversation (``conversation.json`` or ``conversation.html``) → Markdown.

The page: the title, the conversation id (with its gemini.google.com link) or, for rows
grouped by day, a note that they name no conversation and may come from several; times and
row count. Then every row oldest first:

* a prompt row (its title starts with a known prompt word, or it has an answer):
  ``### You · <time>`` with the prompt (title without the prompt word, or the whole title),
  the attached files with their stored names (``files/<name>``), the row's subtitles as
  notes, a note when the row also names other conversations; then ``### Gemini`` with each
  answer HTML converted to Markdown (:func:`.htmltext.html_to_markdown`);
* any other activity (``Gave feedback …``, ``Created Canvas …``): ``### Activity · <time>``
  with its title.

Rows that cannot be read are noted with ⚠; never raises (the importer's
``render_markdown`` is also wrapped in :func:`collectors.markdown.never_raises`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import markdown as md
from ..jsonstream import JsonStreamError, iter_array
from ..timestamps import format_time
from . import activity
from .htmltext import html_to_markdown

__all__ = ["render_conversation"]

APP_URL = "https://gemini.google.com/app/"


@dataclass
class _View:
    """One row as the page shows it."""

    time: float | None
    time_text: str
    title: str
    answers: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    header: str = ""


def _json_views(data: bytes) -> tuple[list[_View], str | None]:
    views: list[_View] = []
    problem: str | None = None
    rows: list[Any] = []
    try:
        for _, value in iter_array(io.BytesIO(data)):
            rows.append(value)  # the rows before any damage are kept
    except JsonStreamError as e:
        problem = f"conversation.json could not be read past byte {e.offset}"
    bad = 0
    for row in rows:
        if not isinstance(row, dict):
            bad += 1
            continue
        answers = _strings(row.get("safeHtmlItem"), "html")
        notes = _strings(row.get("subtitles"), "name")
        time_text = row.get("time") if isinstance(row.get("time"), str) else ""
        views.append(_View(
            time=activity.parse_row_time(row.get("time")),
            time_text=time_text[:80],
            title=row.get("title") if isinstance(row.get("title"), str) else "",
            answers=answers,
            files=activity.file_names(row),
            notes=notes,
            ids=activity.conversation_ids(row),
            header=row.get("header") if isinstance(row.get("header"), str) else "",
        ))
    if bad:
        extra = f"{bad} row(s) are not JSON objects"
        problem = f"{problem}; {extra}" if problem else extra
    return views, problem


def _strings(items: Any, key: str) -> list[str]:
    """``item[key]`` of every object in list ``items`` whose value is non-blank text."""
    if not isinstance(items, list):
        return []
    return [i[key] for i in items
            if isinstance(i, dict) and isinstance(i.get(key), str) and i[key].strip()]


def _html_views(data: bytes) -> list[_View]:
    text = data.decode("utf-8", "replace")
    views = []
    for row in activity.parse_html_rows(text):
        views.append(_View(time=row.time, time_text=row.time_text[:80], title=row.title,
                           answers=[row.answer_html] if row.answer_html.strip() else [],
                           files=row.files, notes=[], ids=row.app_ids, header=row.header))
    return views


def _when(view: _View) -> str:
    if view.time is not None:
        return format_time(view.time)
    return view.time_text or "unknown time"


def _attachments(view: _View, files: Mapping[str, bytes]) -> str:
    items = []
    for name in view.files:
        stored = f"files/{name}"
        if stored in files:
            items.append(f"- {md.code_span(stored)}")
        else:
            items.append(f"- {md.escape_inline(name, 200)} (not in the export)")
    return ("**Attached:**\n" + "\n".join(items)) if items else ""


def render_conversation(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render one stored version (raw files by name, ``meta.json`` dict) as Markdown."""
    doc = md.Document()
    attributes = meta.get("attributes") if isinstance(meta.get("attributes"), Mapping) else {}
    native = meta.get("native_id") if isinstance(meta.get("native_id"), str) else ""
    by_day = attributes.get("grouped_by") == "day" or (
        native.startswith("day-") and attributes.get("grouped_by") != "conversation")
    title = meta.get("title") if isinstance(meta.get("title"), str) else ""

    problem: str | None = None
    if "conversation.json" in files:
        views, problem = _json_views(files["conversation.json"])
        source = "conversation.json"
    elif "conversation.html" in files:
        views = _html_views(files["conversation.html"])
        source = "conversation.html"
    else:
        views, source = [], ""
    views = _oldest_first(views)

    if not title:
        first = next((v for v in views if v.title.strip()), None)
        title = activity.split_prompt(first.title)[0] if first else "Untitled"
    doc.heading(1, title)
    lines: list[str] = []
    if by_day:
        day = native[4:] if native.startswith("day-") else ""
        doc.add(md.note(
            "These activity rows name no conversation id; they are grouped by their UTC day"
            + (f" ({day})" if day and day != "unknown" else "")
            + " and may come from different conversations."))
    elif native:
        lines.append(f"- **Conversation:** {md.code_span(native)} ({APP_URL}{native})"
                     if _safe_id(native) else f"- **Conversation:** {md.code_span(native)}")
    created, updated = meta.get("created_at"), meta.get("updated_at")
    if isinstance(created, (int, float)):
        lines.append(f"- **First activity:** {format_time(float(created))}")
    if isinstance(updated, (int, float)):
        lines.append(f"- **Last activity:** {format_time(float(updated))}")
    lines.append(f"- **Rows:** {len(views)}")
    if source:
        lines.append(f"- **Source:** {md.code_span(source)} "
                     "(Google Takeout, My Activity › Gemini Apps)")
    doc.add("\n".join(lines))
    if not source:
        doc.add(md.note("⚠ no conversation.json or conversation.html in this version"))
    if problem:
        doc.add(md.note(f"⚠ {problem}"))

    for view in views:
        prompt, locale = activity.split_prompt(view.title)
        activity_only = locale is None and not view.answers
        if activity_only:
            doc.heading(3, f"Activity · {_when(view)}")
            doc.add(md.text_block(view.title) if view.title.strip() else md.note("(no title)"))
        else:
            doc.heading(3, f"You · {_when(view)}")
            doc.add(md.text_block(prompt) if prompt.strip() else md.note("(no prompt text)"))
        doc.add(_attachments(view, files))
        doc.extend(md.note(n) for n in view.notes)
        others = [i for i in view.ids if i != native]
        if others and native in view.ids:
            doc.add(md.note("this row also names conversation(s) " + ", ".join(others)))
        if activity_only:
            continue
        doc.heading(3, "Gemini")
        if not view.answers:
            doc.add(md.note("(no answer in the export)"))
        for number, answer in enumerate(view.answers, 1):
            if len(view.answers) > 1:
                doc.add(md.note(f"answer item {number} of {len(view.answers)}"))
            converted = html_to_markdown(answer)
            doc.add(converted if converted.strip() else md.note("(empty answer)"))
    return doc.render()


def _safe_id(native: str) -> bool:
    return bool(native) and len(native) <= 128 and all(c.isalnum() or c in "-_" for c in native)


def _oldest_first(views: list[_View]) -> list[_View]:
    ordered = list(reversed(views))
    if all(v.time is not None for v in ordered):
        ordered.sort(key=lambda v: v.time)
    return ordered
