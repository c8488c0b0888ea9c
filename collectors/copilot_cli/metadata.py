"""What :meth:`CopilotCliCollector.read` needs from an event log, without parsing every line.

:class:`EventMetaScanner` (:mod:`collectors.recordscan`) parses:

* the **first events** (up to 8 in the first 64 KiB): ``session.start`` (session id,
  CLI version, start time, model, working directory, repository, branch) and the first
  timestamp;
* every ``session.title_changed`` event (the last title wins);
* ``session.model_change`` events (models in order of use);
* ``user.message`` events until the first prompt typed into the main agent;
* the **last events**: the last timestamp, and the torn-last-line check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..jsonl import nonempty_str
from ..recordscan import RecordScanner
from ..scan import Block, Reopen
from ..timestamps import parse_iso
from ..titles import UNTITLED
from .events import event_data, prompt_title

__all__ = ["EventMetaScanner", "SessionInfo"]

MAX_MODELS = 16

_TITLE = re.compile(rb'"type":\s*"session\.title_changed"')
_MODEL = re.compile(rb'"type":\s*"session\.model_change"')
_USER = re.compile(rb'"type":\s*"user\.message"')


@dataclass
class SessionInfo:
    """Metadata of one event log; times are Unix seconds, ``prompt`` in title form."""

    session_id: str | None = None
    version: str | None = None
    cwd: str | None = None
    repository: str | None = None
    branch: str | None = None
    title: str | None = None
    summary: str | None = None
    prompt: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    models: list[str] = field(default_factory=list)

    def add_model(self, name: Any) -> None:
        if isinstance(name, str) and name and name not in self.models:
            if len(self.models) < MAX_MODELS:
                self.models.append(name)

    def best_title(self) -> tuple[str, str]:
        """``(title, source)``: the session's title > ``workspace.yaml`` summary > first prompt."""
        if self.title and self.title.strip():
            return self.title, "title_changed"
        if self.summary and self.summary.strip():
            return self.summary, "workspace.yaml"
        if self.prompt:
            return self.prompt, "first-prompt"
        return UNTITLED, "none"


class EventMetaScanner(RecordScanner):
    """Scan one event log: ``scan(readinto, size)``, then :attr:`info` and
    :meth:`~collectors.recordscan.RecordScanner.problems`."""

    def __init__(self, max_line: int, reopen: Reopen) -> None:
        super().__init__(max_line, reopen)
        self.info = SessionInfo()
        self._started = False
        self.watch(_TITLE, self._on_title)
        self.watch(_MODEL, self._on_model)
        self.watch(_USER, self._on_user)

    def on_head(self, rec: dict[str, Any], offset: int) -> bool:
        info = self.info
        if info.created_at is None:
            info.created_at = parse_iso(rec.get("timestamp"))
        if rec.get("type") == "session.start" and not self._started:
            self._started = True
            data = event_data(rec)
            info.session_id = nonempty_str(data.get("sessionId"))
            info.version = nonempty_str(data.get("copilotVersion"))
            start = parse_iso(data.get("startTime"))
            if start is not None:
                info.created_at = start if info.created_at is None else min(info.created_at, start)
            info.add_model(data.get("selectedModel"))
            context = data.get("context")
            if isinstance(context, dict):
                info.cwd = nonempty_str(context.get("cwd"))
                info.repository = nonempty_str(context.get("repository"))
                info.branch = nonempty_str(context.get("branch"))
        return self._started and info.created_at is not None

    def on_tail(self, rec: dict[str, Any], offset: int) -> bool:
        ts = parse_iso(rec.get("timestamp"))
        if ts is not None:
            self.info.updated_at = ts
            return True
        return False

    def _on_title(self, block: Block, ls: int, le: int, m: re.Match[bytes]) -> bool:
        for rec in self.records(block, ls, le):
            if rec.get("type") == "session.title_changed" and not rec.get("agentId"):
                self.info.title = nonempty_str(event_data(rec).get("title")) or self.info.title
        return False

    def _on_model(self, block: Block, ls: int, le: int, m: re.Match[bytes]) -> bool:
        for rec in self.records(block, ls, le):
            if rec.get("type") == "session.model_change":
                self.info.add_model(event_data(rec).get("newModel"))
        return len(self.info.models) >= MAX_MODELS

    def _on_user(self, block: Block, ls: int, le: int, m: re.Match[bytes]) -> bool:
        for rec in self.records(block, ls, le):
            title = prompt_title(rec)
            if title:
                self.info.prompt = title
                return True
        return False
