"""What :meth:`QwenCodeCollector.read` needs from a transcript, without parsing every line.

:class:`SessionMetaScanner` (:mod:`collectors.recordscan`) parses:

* the **first records** (up to 8 in the first 64 KiB): ``sessionId``, ``cwd``, ``version``,
  ``gitBranch``, the first timestamp and ``forkedFrom``;
* every ``"subtype": "custom_title"`` line: the last title in the file wins, as in Qwen
  Code's own tail read (``readSessionTitleInfoFromFileSync``);
* the ``"subtype": "parent_session"`` line (the session that spawned this one);
* ``"type": "user"`` lines until the first real prompt (``systemPayload.displayText``, else
  the message text without hook context);
* ``"model": "…"`` values, read from the bytes (no parse);
* the **last records**: the last timestamp, and the torn-last-line check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..jsonl import nonempty_str
from ..recordscan import RecordScanner
from ..scan import Block, Reopen
from ..timestamps import parse_iso
from ..titles import UNTITLED, title_from_text
from .records import prompt_text

__all__ = ["SessionInfo", "SessionMetaScanner"]

MAX_MODELS = 16

_TITLE = re.compile(rb'"subtype":\s*"custom_title"')
_PARENT = re.compile(rb'"subtype":\s*"parent_session"')
_USER = re.compile(rb'"type":\s*"user"')


@dataclass
class SessionInfo:
    """Metadata of one transcript; times are Unix seconds, ``prompt`` in title form."""

    session_id: str | None = None
    cwd: str | None = None
    version: str | None = None
    git_branch: str | None = None
    custom_title: str | None = None
    title_source: str | None = None
    prompt: str | None = None
    parent_session: str | None = None
    forked_from: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    models: list[str] = field(default_factory=list)

    def title(self) -> tuple[str, str]:
        """``(title, source)``: the custom title (``/rename`` or auto), else the first prompt."""
        if self.custom_title and self.custom_title.strip():
            return self.custom_title, f"custom_title:{self.title_source or 'manual'}"
        if self.prompt:
            return self.prompt, "first-prompt"
        return UNTITLED, "none"


class SessionMetaScanner(RecordScanner):
    """Scan one transcript: ``scan(readinto, size)``, then :attr:`info` and
    :meth:`~collectors.recordscan.RecordScanner.problems`."""

    def __init__(self, max_line: int, reopen: Reopen) -> None:
        super().__init__(max_line, reopen)
        self.info = SessionInfo()
        self.watch(_TITLE, self._on_title)
        self.watch(_PARENT, self._on_parent)
        self.watch(_USER, self._on_user)
        self.collect_strings(b"model", self.info.models, MAX_MODELS)

    def on_head(self, rec: dict[str, Any], offset: int) -> bool:
        info = self.info
        info.session_id = info.session_id or nonempty_str(rec.get("sessionId"))
        info.cwd = info.cwd or nonempty_str(rec.get("cwd"))
        info.version = info.version or nonempty_str(rec.get("version"))
        info.git_branch = info.git_branch or nonempty_str(rec.get("gitBranch"))
        if info.created_at is None:
            info.created_at = parse_iso(rec.get("timestamp"))
        forked = rec.get("forkedFrom")
        if info.forked_from is None and isinstance(forked, dict):
            info.forked_from = nonempty_str(forked.get("sessionId"))
        return info.created_at is not None and info.cwd is not None

    def on_tail(self, rec: dict[str, Any], offset: int) -> bool:
        ts = parse_iso(rec.get("timestamp"))
        if ts is not None:
            self.info.updated_at = ts
            return True
        return False

    def _on_title(self, block: Block, ls: int, le: int, m: re.Match[bytes]) -> bool:
        for rec in self.records(block, ls, le):
            payload = rec.get("systemPayload")
            if rec.get("subtype") == "custom_title" and isinstance(payload, dict):
                title = nonempty_str(payload.get("customTitle"))
                if title is not None:
                    self.info.custom_title = title
                    self.info.title_source = nonempty_str(payload.get("titleSource"))
        return False

    def _on_parent(self, block: Block, ls: int, le: int, m: re.Match[bytes]) -> bool:
        for rec in self.records(block, ls, le):
            payload = rec.get("systemPayload")
            if isinstance(payload, dict) and nonempty_str(payload.get("parentSessionId")):
                self.info.parent_session = payload["parentSessionId"]
                return True
        return False

    def _on_user(self, block: Block, ls: int, le: int, m: re.Match[bytes]) -> bool:
        for rec in self.records(block, ls, le):
            text = prompt_text(rec)
            if text is not None:
                self.info.prompt = title_from_text(text) or None
                if self.info.prompt:
                    return True
        return False
