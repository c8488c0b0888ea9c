"""Rollout metadata for :meth:`CodexCollector.read`, found without parsing every line.

:class:`~collectors.codex.rollout.RolloutScanner` parses every record (the renderer uses it);
:class:`RolloutMetaScanner` reads the (possibly zstd-decoded) file once in blocks
(:mod:`collectors.scan`) and parses only the lines that can matter:

* **First lines** (at most 8 records in the first 64 KiB): the first ``session_meta``
  (line 1, or line 1–2 for the early envelope-less format) and the first timestamp.
* **One regular-expression pass over every block** for ``"type": "thread_name_updated" |
  "turn_context" | "session_meta"`` (any whitespace after the colon). A
  ``thread_name_updated`` line is parsed, and the latest name wins. The first
  ``session_meta`` line is parsed if the first lines had none. In a ``turn_context`` line,
  the first ``"model"`` value is read from the bytes; the line is parsed only when that value
  is new, so every model used is listed.
* **First prompt**: ``"type": "user_message"`` / ``"role": "user"`` lines from the start,
  parsed one at a time until the first real (non-preamble) prompt.
* **Last lines**, read backwards from the end: the torn-line check and the last timestamp.

Differences from :class:`RolloutScanner`: ``created_at`` is the earlier of the first
timestamp and the ``session_meta`` one, and ``updated_at`` is the last timestamp in file
order (not the minimum and maximum of all). Bad lines are reported only when they are the
last line or one of the parsed lines. ``records`` stays 0.
"""

from __future__ import annotations

import re
from typing import Any

from ..jsonl import nonempty_str
from ..scan import STRING_BODY, Block, BlockScanner, Reopen
from ..timestamps import parse_iso
from .rollout import RolloutInfo, apply_session_meta, normalize, prompt_title

__all__ = ["RolloutMetaScanner"]

HEAD_BYTES = 64 * 1024
HEAD_RECORDS = 8
TAIL_BYTES = 64 * 1024

# One pass over every block (see collectors.claude_code.metadata for the literal "type":).
_PASS_META = re.compile(rb'"type":\s*"(thread_name_updated|turn_context|session_meta)"')
_PASS = re.compile(rb'"type":\s*"(thread_name_updated|turn_context)"')  # once meta is known
# Two patterns with long literal prefixes scan much faster than one alternation after '"'.
_USER_EVENT = re.compile(rb'"type":\s*"user_message"')
_USER_ROLE = re.compile(rb'"role":\s*"user"')
_MODEL = re.compile(rb'"model":\s*"')


def _time(rec: dict[str, Any]) -> float | None:
    return parse_iso(rec.get("timestamp")) or parse_iso(rec.get("created_at"))


class RolloutMetaScanner(BlockScanner):
    """Scan one rollout: ``scan(read)``, then :meth:`finish` (see the module docstring)."""

    def __init__(self, max_line: int, reopen: Reopen) -> None:
        super().__init__(max_line)
        self._reopen = reopen
        self.info = RolloutInfo()
        self._meta_seen = False
        self._first_time: float | None = None
        self._head_done = False
        self._head_lines = 0  # lines met so far in the first lines (blank ones too)
        self._head_records = 0
        self._numbers: dict[int, int] = {}  # offset -> line number, for the first lines
        self._prompt_done = False
        self._model_raw: set[bytes] = set()

    def on_block(self, block: Block) -> None:
        if not self._head_done:
            self._head(block)
        self._pass(block)
        if not self._prompt_done:
            self._prompts(block)

    def _head(self, block: Block) -> None:
        buf, ls, end = block.buf, block.start, block.end
        while ls < end:
            if block.base + ls >= HEAD_BYTES or self._head_records >= HEAD_RECORDS:
                self._head_done = True
                return
            le = buf.find(b"\n", ls, end)
            if le < 0:
                le = end
            self._head_lines += 1
            number = self._head_lines
            self._numbers[block.base + ls] = number
            rec = self.record(block, ls, le)
            ls = le + 1
            if rec is None:
                continue
            self._head_records += 1
            if self._first_time is None:
                self._first_time = _time(rec)
            kind, payload = normalize(rec, number)
            if kind == "session_meta" and not self._meta_seen:
                self._meta_seen = True
                apply_session_meta(self.info, payload)
            if self._first_time is not None and (self._meta_seen or number >= 2):
                self._head_done = True
                return

    def _pass(self, block: Block) -> None:
        info = self.info
        buf, pos, end = block.buf, block.start, block.end
        while True:
            m = (_PASS if self._meta_seen else _PASS_META).search(buf, pos, end)
            if m is None:
                return
            pos = m.end()
            kind = m.group(1)
            ls, le = block.line_at(m.start())
            if kind == b"turn_context":
                model = _MODEL.search(buf, ls, le)
                body = STRING_BODY.match(buf, model.end(), le) if model else None
                if body is None or body.group(1) in self._model_raw:
                    continue  # the same model as a turn before: no need to parse the line
                self._model_raw.add(body.group(1))
            elif kind == b"session_meta" and self._meta_seen:
                continue
            rec = self.record(block, ls, le)
            if rec is None:
                continue
            rkind, payload = normalize(rec, self._numbers.get(block.base + ls, 3))
            if rkind == "session_meta" and not self._meta_seen:
                self._meta_seen = True
                apply_session_meta(info, payload)
            elif rkind == "turn_context":
                name = nonempty_str(payload.get("model"))
                if name is not None and name not in info.models:
                    info.models.append(name)
            elif rkind == "event_msg" and payload.get("type") == "thread_name_updated":
                info.thread_name = nonempty_str(payload.get("thread_name")) or info.thread_name

    def _prompts(self, block: Block) -> None:
        buf, pos, end = block.buf, block.start, block.end
        while True:
            m = _USER_ROLE.search(buf, pos, end)
            first = _USER_EVENT.search(buf, pos, m.start() if m else end)
            if first is not None:
                m = first
            if m is None:
                return
            ls, le = block.line_at(m.start())
            pos = le
            rec = self.record(block, ls, le)
            if rec is None:
                continue
            kind, payload = normalize(rec, self._numbers.get(block.base + ls, 3))
            title = prompt_title(kind, payload)
            if title is not None:
                self.info.prompt = title
                self._prompt_done = True
                return

    def on_end(self, blocks: list[Block], skipped_last: bool) -> None:
        examined = 0
        for _block, ls, le, rec in self.last_lines(blocks, skipped_last):
            if rec is not None:
                self.info.updated_at = _time(rec)
                if self.info.updated_at is not None:
                    return
            examined += le - ls + 1
            if examined >= TAIL_BYTES:
                return

    def finish(self) -> RolloutInfo:
        """The metadata (call after :meth:`scan`); may read the file again for line numbers."""
        info = self.info
        if self._first_time is not None:
            created = info.created_at
            first = self._first_time
            info.created_at = first if created is None else min(created, first)
        info.bad = self.bad_lines(self._reopen)
        return info

