"""Claude Code prompt history (``~/.claude/history.jsonl``): metadata and Markdown.

Format: one JSON object per prompt the user submitted, appended in time order::

    {"display": "fix the tests", "pastedContents": {"1": {"id": 1, "type": "text",
     "content": "…"}}, "timestamp": 1752963660576, "project": "/home/u/proj",
     "sessionId": "93a9705e-…"}

``timestamp`` is in milliseconds; ``sessionId`` is missing in older versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import markdown as md
from ..jsonl import BadLine, JsonLine, iter_jsonl
from ..timestamps import format_time, parse_time

__all__ = ["HISTORY_NAME", "HISTORY_TITLE", "HistoryInfo", "HistoryScanner", "render_history"]

HISTORY_NAME = "history.jsonl"
HISTORY_TITLE = "Prompt history"
PASTE_LIMIT = 64 * 1024


@dataclass
class HistoryInfo:
    """Prompt count, first/last time (Unix seconds), distinct projects, bad lines."""

    prompts: int = 0
    created_at: float | None = None
    updated_at: float | None = None
    projects: list[str] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)


class HistoryScanner:
    """Streams ``history.jsonl`` lines (:meth:`feed`) into a :class:`HistoryInfo`."""

    def __init__(self) -> None:
        self.info = HistoryInfo()
        self._projects: set[str] = set()

    def feed(self, item: JsonLine | BadLine) -> None:
        info = self.info
        if isinstance(item, BadLine):
            info.bad.append(item)
            return
        rec = item.value
        info.prompts += 1
        ts = parse_time(rec.get("timestamp"), numeric_unit="ms")
        if ts is not None:
            info.created_at = ts if info.created_at is None else min(info.created_at, ts)
            info.updated_at = ts if info.updated_at is None else max(info.updated_at, ts)
        project = rec.get("project")
        if isinstance(project, str) and project and project not in self._projects:
            self._projects.add(project)
            info.projects.append(project)


def render_history(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Every prompt with its time, project and session; pasted contents collapsed."""
    doc = md.Document()
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else HISTORY_TITLE)
    data = files.get(HISTORY_NAME, b"")
    scanner = HistoryScanner()
    items = list(iter_jsonl(data))
    for item in items:
        scanner.feed(item)
    info = scanner.info
    summary = [f"- **Prompts:** {info.prompts}", f"- **Projects:** {len(info.projects)}"]
    if info.created_at is not None:
        summary.append(f"- **From:** {format_time(info.created_at)}")
        summary.append(f"- **To:** {format_time(info.updated_at)}")
    doc.add("\n".join(summary))
    for item in items:
        if isinstance(item, BadLine):
            doc.add(md.bad_line_note(item.number, item.size, item.reason))
            continue
        _prompt(doc, item)
    return doc.render()


def _prompt(doc: md.Document, item: JsonLine) -> None:
    rec = item.value
    parts = [format_time(parse_time(rec.get("timestamp"), numeric_unit="ms"))]
    project = rec.get("project")
    if isinstance(project, str) and project:
        parts.append(project)
    session = rec.get("sessionId")
    if isinstance(session, str) and session:
        parts.append(f"session {session}")
    doc.heading(3, " · ".join(parts))
    display = rec.get("display")
    if isinstance(display, str) and display.strip():
        doc.add(md.text_block(display))
    elif display is not None and not isinstance(display, str):
        doc.add(md.json_block(display))
    pasted = rec.get("pastedContents")
    if isinstance(pasted, dict):
        for key in sorted(pasted, key=str):
            doc.add(_pasted(str(key), pasted[key]))


def _pasted(key: str, value: Any) -> str:
    if not isinstance(value, dict):
        return md.details(f"Pasted content {key}", md.json_block(value, limit=PASTE_LIMIT))
    kind = value.get("type") if isinstance(value.get("type"), str) else "content"
    content = value.get("content")
    if isinstance(content, str):
        shown = content if len(content) <= PASTE_LIMIT else content[:PASTE_LIMIT] + "\n…"
        return md.details(f"Pasted {kind} {key} ({len(content)} characters)", md.fence(shown))
    if kind == "image":
        media = value.get("mediaType") if isinstance(value.get("mediaType"), str) else "image"
        return md.note(f"[pasted image {key}: {media}]")
    return md.details(f"Pasted {kind} {key}", md.json_block(value, limit=PASTE_LIMIT))
