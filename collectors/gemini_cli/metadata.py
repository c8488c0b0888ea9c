"""What :meth:`GeminiCliCollector.read` needs from a chat file, without replaying all of it.

* ``.jsonl`` (≥ 0.40): :class:`ChatMetaScanner` (:mod:`collectors.recordscan`) parses the
  first lines (the metadata record), every ``{"$set": …}`` line (``summary``, ``lastUpdated``,
  ``kind``; a ``$set`` carrying a whole ``messages`` list is parsed too, up to the line
  limit), the ``"type": "user"`` lines until the first prompt, and reads model names from
  the bytes of ``"model": "…"``. Like Gemini CLI's own ``loadConversationRecord``, the first
  prompt is the first user message in file order, even if a rewind later removed it.
* ``.json`` (≤ 0.39): one JSON object, parsed whole up to :data:`MAX_LEGACY_PARSE` bytes;
  a larger file is described from the file name alone (with a warning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..jsonl import nonempty_str
from ..recordscan import RecordScanner
from ..scan import Block, Reopen
from ..timestamps import parse_time
from ..titles import UNTITLED, title_from_text
from .chat import load_chat, prompt_text

__all__ = ["ChatInfo", "ChatMetaScanner", "legacy_info", "MAX_LEGACY_PARSE"]

MAX_LEGACY_PARSE = 64 * 1024 * 1024
MAX_MODELS = 16

# A ``$set`` of ``lastUpdated`` alone follows every message: those lines are skipped (the
# last one is read from the end of the file instead).
_SET = re.compile(rb'"\$set":\s*\{(?!\s*"lastUpdated":\s*"[^"\\]*"\s*\}\s*\}\s*$)', re.M)
_USER = re.compile(rb'"type":\s*"user"')


@dataclass
class ChatInfo:
    """Metadata of one chat file. Times are Unix seconds; ``prompt`` is in title form."""

    session_id: str | None = None
    project_hash: str | None = None
    kind: str | None = None
    summary: str | None = None
    prompt: str | None = None
    started: float | None = None
    updated: float | None = None
    directories: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    messages: int | None = None
    warnings: list[str] = field(default_factory=list)

    def take_meta(self, meta: dict[str, Any]) -> None:
        """Merge a metadata record / ``$set`` payload."""
        self.session_id = nonempty_str(meta.get("sessionId")) or self.session_id
        self.project_hash = nonempty_str(meta.get("projectHash")) or self.project_hash
        self.kind = nonempty_str(meta.get("kind")) or self.kind
        if "summary" in meta:
            self.summary = nonempty_str(meta.get("summary"))
        started = parse_time(meta.get("startTime")) or parse_time(meta.get("start_time"))
        if started is not None:
            self.started = started
        self.touch(parse_time(meta.get("lastUpdated")))
        dirs = meta.get("directories")
        if isinstance(dirs, list):
            self.directories = [d for d in dirs if isinstance(d, str)][:50]

    def touch(self, when: float | None) -> None:
        """Move ``updated`` forward to ``when``."""
        if when is not None and (self.updated is None or when > self.updated):
            self.updated = when

    def add_model(self, name: str | None) -> None:
        if name and name not in self.models and len(self.models) < MAX_MODELS:
            self.models.append(name)

    def title(self) -> tuple[str, str]:
        """``(title, source)``: the session summary, else the first prompt."""
        if self.summary and self.summary.strip():
            return self.summary, "summary"
        if self.prompt:
            return self.prompt, "first-prompt"
        return UNTITLED, "none"


class ChatMetaScanner(RecordScanner):
    """Scan one ``.jsonl`` chat file: ``scan(readinto, size)``, then :attr:`info` and
    :meth:`~collectors.recordscan.RecordScanner.problems`."""

    def __init__(self, max_line: int, reopen: Reopen) -> None:
        super().__init__(max_line, reopen)
        self.info = ChatInfo()
        self._meta_seen = False
        self.watch(_SET, self._on_set)
        self.watch(_USER, self._on_user)
        self.collect_strings(b"model", self.info.models, MAX_MODELS)

    def on_head(self, rec: dict[str, Any], offset: int) -> bool:
        if (
            not self._meta_seen
            and isinstance(rec.get("sessionId"), str)
            and "id" not in rec
            and "$set" not in rec
        ):
            self._meta_seen = True
            self.info.take_meta(rec)
        return self._meta_seen

    def on_tail(self, rec: dict[str, Any], offset: int) -> bool:
        update = rec.get("$set")
        when = parse_time(update.get("lastUpdated")) if isinstance(update, dict) else None
        if when is None and isinstance(rec.get("id"), str):
            when = parse_time(rec.get("timestamp"))
        self.info.touch(when)
        return when is not None

    def _on_set(self, block: Block, ls: int, le: int, m: re.Match[bytes]) -> bool:
        for rec in self.records(block, ls, le):
            update = rec.get("$set")
            if isinstance(update, dict):
                self.info.take_meta(update)
                if isinstance(update.get("messages"), list) and self.info.prompt is None:
                    for msg in update["messages"]:
                        if isinstance(msg, dict) and self._take_prompt(msg):
                            break
        return False

    def _on_user(self, block: Block, ls: int, le: int, m: re.Match[bytes]) -> bool:
        for rec in self.records(block, ls, le):
            if isinstance(rec.get("id"), str) and self._take_prompt(rec):
                return True
        return False

    def _take_prompt(self, msg: dict[str, Any]) -> bool:
        text = prompt_text(msg)
        if text is None:
            return False
        self.info.prompt = title_from_text(text) or None
        return self.info.prompt is not None


def legacy_info(data: bytes, name: str) -> ChatInfo:
    """Metadata of a legacy ``.json`` chat file already read into memory."""
    info = ChatInfo()
    state = load_chat(name, data)
    if state.error is not None:
        info.warnings.append(f"{name}: {state.error}")
        return info
    info.take_meta(state.meta)
    info.messages = len(state.messages)
    for msg in state.messages:
        if info.prompt is None:
            text = prompt_text(msg)
            if text is not None:
                info.prompt = title_from_text(text) or None
        model = msg.get("model")
        info.add_model(model if isinstance(model, str) else None)
    if info.started is None and state.messages:
        info.started = parse_time(state.messages[0].get("timestamp"))
    if info.updated is None and state.messages:
        info.updated = parse_time(state.messages[-1].get("timestamp"))
    if state.bad:
        info.warnings.extend(f"{name} {bad.warning}" for bad in state.bad)
    return info
