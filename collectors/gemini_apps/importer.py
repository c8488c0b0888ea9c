"""Gemini Apps (gemini.google.com) Google Takeout import: activity rows → conversations.

Where the data is: Takeout > My Activity > Gemini Apps, i.e.
``Takeout/My Activity/Gemini Apps/MyActivity.json`` (or ``.html``; also spelled
``My Activity.json``; the folder and file names are localized, e.g.
``Moje aktivita/Aplikace Gemini/…``, ``MeineAktivitäten.json``), with the files the user
attached to prompts beside it. The row format is described in :mod:`.activity`.

How rows become conversations (the export has no conversation objects):

* A row's conversation id is the ``<id>`` of ``https://gemini.google.com/app/<id>`` in its
  ``details[].url`` (HTML form: such a link anywhere in the row outside the answer). A row
  naming several conversations goes into each of them. native_id = that id; title = the
  conversation's first prompt (the row title without the locale's prompt word, see
  :func:`.activity.split_prompt`, cut by :func:`collectors.titles.title_from_text`).
* Rows naming no conversation are grouped by the UTC day of their time: native_id
  ``day-YYYY-MM-DD``, title ``Gemini activity YYYY-MM-DD (no conversation id)``, attribute
  ``grouped_by: "day"``; rows whose time cannot be read either go to ``day-unknown``.
  Such a group is not one conversation, and the page says so.

Stored files per conversation:

* JSON form: ``conversation.json`` = a JSON array of the conversation's rows, each row's
  exact bytes from the export (:func:`collectors.jsonstream.iter_array`), in export order
  (newest first), joined as ``b"[\\n" + b",\\n".join(rows) + b"\\n]\\n"``. This is "the
  conversation's JSON exactly as in the export": the export has no per-conversation JSON,
  only these rows.
* HTML form: ``conversation.html`` = the rows' exact ``<div class="outer-cell">`` source
  slices, in export order, one per line, inside a fixed minimal document
  (:data:`HTML_HEAD` … :data:`HTML_TAIL`).
* ``files/<name>``: each attached file (``attachedFiles``, ``imageFile``, file-name
  ``subtitles[].url``; HTML: bare-name ``href``/``src``) found in the activity file's
  folder. Names not found are counted in a warning (names are not logged).

Memory: rows must all be seen before any conversation is complete (a conversation's rows
are spread over the whole newest-first log), so the reader keeps every row's raw bytes plus
a few small fields until the end: memory is bounded by the size of the activity file's text
(Takeout's Gemini log is tens of MB at most; 26 MB for ~2,000 rows has been measured), not
by the rest of the export. The JSON is still parsed as a stream, never ``json.load``-ed.
A whole-file problem (cut off, invalid JSON) raises :class:`ExportError` before anything
is yielded, so a broken export never produces partial conversations.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile

from .. import markdown as md
from ..export_source import ExportError, ExportSource
from ..importing import Skipped
from ..jsonstream import JsonStreamError, iter_array, looks_complete
from ..titles import UNTITLED, title_from_text
from . import activity
from .render import render_conversation

__all__ = ["GeminiAppsImporter", "HTML_HEAD", "HTML_TAIL", "CONVERSATION_HTML"]

log = logging.getLogger(__name__)

CONVERSATION_JSON = "conversation.json"
CONVERSATION_HTML = "conversation.html"
HTML_HEAD = (b'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
             b"<title>Gemini Apps activity</title>\n</head>\n<body>\n<div class=\"mdl-grid\">\n")
"""The fixed start of a stored ``conversation.html`` (its rows follow, one per line)."""
HTML_TAIL = b"</div>\n</body>\n</html>\n"
"""The fixed end of a stored ``conversation.html``."""

SNIFF_BYTES = 4096
HTML_SNIFF_BYTES = 16384
ACCOUNT_SCAN_BYTES = 1 << 20
_GEMINI_FOLDER = re.compile(r"gemini|bard", re.IGNORECASE)
_ACTIVITY_NAME = re.compile(
    r"activit|aktivit|aktywn|attivit|activid|actividad|atividad"
    r"|アクティビティ|활동|活动|活動|активн",
    re.IGNORECASE)
_JSON_GEMINI = re.compile(rb'"header"\s*:\s*"[^"\\]{0,80}(?:gemini|bard)', re.IGNORECASE)
_JSON_ACTIVITY = re.compile(rb'^\s*\[\s*(?:\]|\{\s*"(?:header|title|time|products)"\s*:)')
_HTML_ACTIVITY = re.compile(rb"outer-cell|mdl-typography--title", re.IGNORECASE)
_HTML_GEMINI = re.compile(rb'mdl-typography--title"[^>]*>\s*[^<]{0,60}(?:gemini|bard)',
                          re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,255}\.[A-Za-z]{2,24}")
_HEADER_TITLE = re.compile(r'class="header_title"[^>]*>([^<]{0,400})<', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Activity:
    """One activity file found in the export: member name, form, and its folder."""

    member: str
    form: str  # "json" | "html"
    folder: str  # member-name prefix of its folder ("" at the root)


@dataclass(slots=True)
class _Row:
    """What is kept of one activity row while grouping (small, plus the raw source)."""

    raw: bytes
    source: int  # index into the activity file list
    ids: tuple[str, ...]
    time: float | None
    title: str
    answered: bool
    files: tuple[str, ...]
    zone_known: bool = True


def _suffix(name: str) -> str:
    base = name.rsplit("/", 1)[-1].lower()
    if base.endswith(".json"):
        return "json"
    if base.endswith((".html", ".htm")):
        return "html"
    return ""


class GeminiAppsImporter:
    """Google Takeout's Gemini Apps activity log (JSON or HTML) as ``gemini`` conversations.

    Accepts a Takeout zip or its extracted folder (anything holding ``…/Gemini …/
    MyActivity.json|html``, localized names included), the Gemini Apps folder itself, or
    the activity file alone. See the module doc for grouping, stored files and memory.
    """

    name: ClassVar[str] = "gemini"
    provider: ClassVar[str] = "gemini"

    # -- finding the activity log ------------------------------------------------------

    def _folder_name(self, export: ExportSource, member: str) -> str:
        parent = member.rpartition("/")[0]
        if parent:
            return parent.rsplit("/", 1)[-1]
        if export.kind == "folder":
            return export.path.name
        if export.kind == "file":
            return export.path.parent.name
        return ""

    def _gemini_content(self, export: ExportSource, member: str, form: str) -> bool:
        """Does the start of ``member`` look like a Gemini activity log? JSON: an array of
        rows with a ``"header": "Gemini …"`` (or ``Bard``) key; HTML: My Activity markup
        whose row header names Gemini, or a file named ``*gemini*``."""
        if form == "json":
            head = export.head(member, SNIFF_BYTES)
            return bool(_JSON_ACTIVITY.match(head)) and bool(_JSON_GEMINI.search(head))
        head = export.head(member, HTML_SNIFF_BYTES)
        named = "gemini" in member.rsplit("/", 1)[-1].lower()
        return bool(_HTML_ACTIVITY.search(head)) and (named or bool(_HTML_GEMINI.search(head)))

    def _activity_shape(self, export: ExportSource, member: str, form: str) -> bool:
        if form == "json":
            return bool(_JSON_ACTIVITY.match(export.head(member, SNIFF_BYTES)))
        return bool(_HTML_ACTIVITY.search(export.head(member, HTML_SNIFF_BYTES)))

    def _activities(self, export: ExportSource) -> list[_Activity]:
        """The Gemini activity files of ``export``: the JSON ones if there are any, else the
        HTML ones, by member name."""
        found: list[_Activity] = []
        for member in export.members:
            form = _suffix(member)
            if not form:
                continue
            base = member.rsplit("/", 1)[-1]
            stem = base.rsplit(".", 1)[0]
            activity_name = bool(_ACTIVITY_NAME.search(stem))
            gemini_folder = bool(_GEMINI_FOLDER.search(self._folder_name(export, member)))
            if export.kind == "file":
                ok = self._gemini_content(export, member, form) or (
                    gemini_folder and activity_name
                    and (form == "html" or self._activity_shape(export, member, form)))
            elif gemini_folder and form == "json":
                ok = self._activity_shape(export, member, form) and (
                    activity_name or self._gemini_content(export, member, form))
            elif gemini_folder:
                ok = activity_name or self._activity_shape(export, member, form)
            elif activity_name:
                ok = self._gemini_content(export, member, form)
            else:
                ok = False
            if ok:
                found.append(_Activity(member, form, member.rpartition("/")[0]))
        json_files = [a for a in found if a.form == "json"]
        return json_files or found

    # -- the protocol --------------------------------------------------------------------

    def detect(self, export: ExportSource) -> bool:
        """True if ``export`` holds a Gemini Apps activity log (by member names, plus the
        first KiB of candidate files: a JSON array whose rows have a Gemini ``header``, or
        My Activity HTML markup mentioning Gemini)."""
        try:
            return bool(self._activities(export))
        except ExportError:
            return False

    def account(self, export: ExportSource) -> str | None:
        """The account e-mail from Takeout's archive index (``archive_browser.html``, an
        HTML file at the Takeout root: ``<h1 class="header_title">Archive for
        jane@example.com</h1>``), or ``None`` when the export has none (a lone activity
        file, an extracted sub-folder)."""
        candidates = [n for n in export.members
                      if n.rsplit("/", 1)[-1].lower() == "archive_browser.html"]
        if not candidates:
            roots = set()
            for act in self._activities(export):
                parts = act.folder.split("/") if act.folder else []
                if len(parts) >= 2:
                    roots.add("/".join(parts[:-2]))
            candidates = [n for n in export.members if _suffix(n) == "html"
                          and n.rpartition("/")[0] in roots]
        for member in sorted(candidates, key=lambda n: (n.count("/"), n)):
            text = export.head(member, ACCOUNT_SCAN_BYTES).decode("utf-8", "replace")
            m = _HEADER_TITLE.search(text)
            if m:
                email = _EMAIL.search(m.group(1))
                if email:
                    return email.group(0)
        return None

    def is_full(self, export: ExportSource) -> bool:
        """True whenever the export holds the activity log: a Takeout zip or folder, and
        also the lone ``MyActivity.json``/``.html``, since that one file *is* the whole
        Gemini activity log of the account (rows Google no longer keeps, e.g. after
        auto-delete, then show as deleted upstream, which is what happened)."""
        return bool(self._activities(export))

    def read(self, export: ExportSource) -> Iterator[ConversationSnapshot | Skipped]:
        """Yield one snapshot per conversation id and per day of id-less rows, and a
        :class:`Skipped` for each row that is not an object. A lone ``.json``/``.html`` file
        is read as the activity log even when :meth:`detect` did not claim it (the user
        chose ``--provider gemini``). Raises :class:`ExportError` when no activity file is
        found, or it is cut off, not a JSON array, or invalid JSON mid-stream (before
        yielding any snapshot)."""
        activities = self._activities(export)
        if not activities and export.kind == "file":  # --provider gemini on a lone file
            member = next(iter(export.members))
            if _suffix(member):
                activities = [_Activity(member, _suffix(member), "")]
        if not activities:
            raise ExportError(str(export.path), "no Gemini Apps activity file (My Activity/"
                                                "Gemini Apps/MyActivity.json or .html) found")
        rows: list[_Row] = []
        skipped: list[Skipped] = []
        for index, act in enumerate(activities):
            if act.form == "json":
                self._read_json(export, act, index, rows, skipped)
            else:
                self._read_html(export, act, index, rows)
        yield from skipped
        yield from self._snapshots(export, activities, rows)

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """Markdown of a stored version: see :func:`.render.render_conversation`."""
        return render_conversation(files, meta)

    # -- reading -------------------------------------------------------------------------

    def _read_json(self, export: ExportSource, act: _Activity, index: int,
                   rows: list[_Row], skipped: list[Skipped]) -> None:
        where = export.where(act.member)
        if export.members[act.member].size == 0:
            raise ExportError(where, "the file is empty (half-downloaded?)")
        if not looks_complete(export.tail(act.member)):
            raise ExportError(where, "the file ends early (half-downloaded?); download the "
                                     "Takeout export again")
        if not export.head(act.member, 64).lstrip().startswith(b"["):
            raise ExportError(where, "not a JSON array of activity rows (unknown layout)")
        number = -1
        objects = shaped = 0
        try:
            with export.open(act.member) as stream:
                for number, (raw, row) in enumerate(iter_array(stream)):
                    if not isinstance(row, dict):
                        skipped.append(Skipped(f"{act.member} entry {number}",
                                               "not an activity row (not a JSON object)"))
                        continue
                    objects += 1
                    shaped += any(k in row for k in ("header", "title", "time"))
                    title = row.get("title") if isinstance(row.get("title"), str) else ""
                    html_items = row.get("safeHtmlItem")
                    answered = isinstance(html_items, list) and any(
                        isinstance(i, dict) and isinstance(i.get("html"), str) and i["html"].strip()
                        for i in html_items)
                    rows.append(_Row(raw, index, tuple(activity.conversation_ids(row)),
                                     activity.parse_row_time(row.get("time")), title,
                                     answered, tuple(activity.file_names(row))))
        except JsonStreamError as e:
            why = ("the file ends early (half-downloaded?)" if e.truncated
                   else f"{e.reason} (entry {number + 1})")
            raise ExportError(where, f"{why} at byte {e.offset}") from None
        if objects and not shaped:
            raise ExportError(where, "not a My Activity log: no row has a header, title or "
                                     "time (unknown layout)")

    def _read_html(self, export: ExportSource, act: _Activity, index: int,
                   rows: list[_Row]) -> None:
        where = export.where(act.member)
        if export.members[act.member].size == 0:
            raise ExportError(where, "the file is empty (half-downloaded?)")
        tail = export.tail(act.member, 256).lower()
        if b"</html" not in tail and b"</body" not in tail:
            raise ExportError(where, "the file ends early (no closing </html>; "
                                     "half-downloaded?); download the Takeout export again")
        data = export.read(act.member)
        text = data.decode("utf-8", "surrogateescape")
        del data
        for row in activity.parse_html_rows(text):
            raw = text[row.start:row.end].encode("utf-8", "surrogateescape")
            answered = bool(row.answer_html.strip())
            rows.append(_Row(raw, index, tuple(row.app_ids), row.time, row.title, answered,
                             tuple(row.files),
                             zone_known=row.zone_known or row.time is None))

    # -- grouping ------------------------------------------------------------------------

    def _snapshots(self, export: ExportSource, activities: list[_Activity],
                   rows: list[_Row]) -> Iterator[ConversationSnapshot]:
        groups: dict[str, list[int]] = {}
        for number, row in enumerate(rows):
            keys = row.ids or (f"day-{activity.utc_day(row.time) or 'unknown'}",)
            for key in keys:
                groups.setdefault(key, []).append(number)
        day_keys = {f"day-{activity.utc_day(r.time) or 'unknown'}" for r in rows if not r.ids}
        for key, members in groups.items():
            by_day = key in day_keys and not any(key in rows[i].ids for i in members)
            yield self._snapshot(export, activities, key, [rows[i] for i in members], by_day)

    def _snapshot(self, export: ExportSource, activities: list[_Activity], key: str,
                  rows: list[_Row], by_day: bool) -> ConversationSnapshot:
        form = activities[rows[0].source].form
        if form == "json":
            body = b"[\n" + b",\n".join(r.raw for r in rows) + b"\n]\n"
            files = [RawFile(CONVERSATION_JSON, data=body)]
        else:
            body = HTML_HEAD + b"".join(r.raw + b"\n" for r in rows) + HTML_TAIL
            files = [RawFile(CONVERSATION_HTML, data=body)]
        times = [r.time for r in rows if r.time is not None]
        locales: list[str] = []
        first_prompt = ""
        for row in chronological(rows):
            prompt, locale = activity.split_prompt(row.title)
            if locale and locale not in locales:
                locales.append(locale)
            if not first_prompt and (locale or row.answered):
                first_prompt = title_from_text(prompt)
        if by_day:
            day = key[4:]
            title = (f"Gemini activity {day} (no conversation id)" if day != "unknown"
                     else "Gemini activity, unknown day (no conversation id)")
        else:
            title = first_prompt or next(
                (title_from_text(r.title) for r in chronological(rows) if r.title.strip()),
                "") or UNTITLED
        stored: dict[str, str] = {}
        missing = 0
        for row in rows:
            folder = activities[row.source].folder
            for name in row.files:
                member = f"{folder}/{name}" if folder else name
                if member not in export.members:
                    missing += 1
                    continue
                stored_as = f"files/{name}"
                if stored_as not in stored.values() and member not in stored:
                    stored[member] = stored_as
        for member, stored_as in sorted(stored.items(), key=lambda kv: kv[1]):
            files.append(export.raw_file(member, stored_as))
        attributes: dict[str, Any] = {
            "rows": len(rows),
            "grouped_by": "day" if by_day else "conversation",
            "form": form,
        }
        if locales:
            attributes["locale"] = locales[0]
        shared = sum(1 for r in rows if len(r.ids) > 1)
        if shared:
            attributes["rows_in_several_conversations"] = shared
        if stored:
            attributes["attachments"] = len(stored)
        warnings: list[str] = []
        if missing:
            attributes["attachments_missing"] = missing
            warnings.append(f"{missing} attached file name(s) not found beside the activity file")
        unknown_zone = sum(1 for r in rows if not r.zone_known)
        if unknown_zone:
            warnings.append(f"{unknown_zone} row time(s) in an unknown time zone, read as UTC")
        untimed = sum(1 for r in rows if r.time is None)
        if untimed:
            warnings.append(f"{untimed} row time(s) could not be read")
        sources = sorted({activities[r.source].member for r in rows})
        return ConversationSnapshot(
            provider=self.provider,
            native_id=key,
            title=title,
            files=tuple(files),
            created_at=min(times) if times else None,
            updated_at=max(times) if times else None,
            source_path=export.where(sources[0]),
            attributes=attributes,
            warnings=tuple(warnings),
        )


def chronological(rows: list[Any]) -> list[Any]:
    """``rows`` (export order: newest first, each with ``.time``) oldest first: sorted by
    time when every row has one, else simply reversed."""
    ordered = list(reversed(rows))
    if all(getattr(r, "time", None) is not None for r in ordered):
        ordered.sort(key=lambda r: r.time)
    return ordered
