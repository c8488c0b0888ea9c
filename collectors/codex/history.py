"""Codex prompt history (``$CODEX_HOME/history.jsonl``): metadata and Markdown.

Format (openai/codex ``codex-rs/core/src/message_history.rs``): one line per submitted
prompt, ``{"session_id": "<uuid>", "ts": <Unix seconds>, "text": "…"}``. With
``history.max_bytes`` set, Codex trims it by rewriting the file, so a version may lose
old lines; earlier versions in the vault keep them.
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


@dataclass
class HistoryInfo:
    """Prompt count, first/last time (Unix seconds), number of sessions, bad lines."""

    prompts: int = 0
    created_at: float | None = None
    updated_at: float | None = None
    sessions: int = 0
    bad: list[BadLine] = field(default_factory=list)


class HistoryScanner:
    """Streams ``history.jsonl`` lines (:meth:`feed`) into a :class:`HistoryInfo`."""

    def __init__(self) -> None:
        self.info = HistoryInfo()
        self._sessions: set[str] = set()

    def feed(self, item: JsonLine | BadLine) -> None:
        info = self.info
        if isinstance(item, BadLine):
            if not item.oversized:
                info.bad.append(item)
            return
        rec = item.value
        info.prompts += 1
        ts = parse_time(rec.get("ts"), numeric_unit="s")
        if ts is not None:
            info.created_at = ts if info.created_at is None else min(info.created_at, ts)
            info.updated_at = ts if info.updated_at is None else max(info.updated_at, ts)
        session = rec.get("session_id")
        if isinstance(session, str) and session not in self._sessions:
            self._sessions.add(session)
            info.sessions = len(self._sessions)


def render_history(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Every prompt with its time and session, in file order."""
    doc = md.Document()
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else HISTORY_TITLE)
    items = list(iter_jsonl(files.get(HISTORY_NAME, b"")))
    scanner = HistoryScanner()
    for item in items:
        scanner.feed(item)
    info = scanner.info
    summary = [f"- **Prompts:** {info.prompts}", f"- **Sessions:** {info.sessions}"]
    if info.created_at is not None:
        summary.append(f"- **From:** {format_time(info.created_at)}")
        summary.append(f"- **To:** {format_time(info.updated_at)}")
    doc.add("\n".join(summary))
    for item in items:
        if isinstance(item, BadLine):
            doc.add(md.bad_line_note(item.number, item.size, item.reason))
            continue
        rec = item.value
        parts = [format_time(parse_time(rec.get("ts"), numeric_unit="s"))]
        session = rec.get("session_id")
        if isinstance(session, str) and session:
            parts.append(f"session {session}")
        doc.heading(3, " · ".join(parts))
        text = rec.get("text")
        if isinstance(text, str):
            if text.strip():
                doc.add(md.text_block(text))
        elif text is not None:
            doc.add(md.json_block(text))
    return doc.render()
