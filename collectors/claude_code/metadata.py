"""Session metadata for :meth:`ClaudeCodeCollector.read`, found without parsing every line.

:class:`~collectors.claude_code.transcript.SessionScanner` parses every record. That is
right for rendering, and far too slow for reading thousands of large transcripts.
:class:`SessionMetaScanner` reads the file once, in blocks (:mod:`collectors.scan`), and
parses only the lines that can matter:

* **Title records anywhere**: one regular-expression pass over every block for
  ``"type": "custom-title" | "ai-title" | "agent-name" | "summary" | "system"`` (any
  whitespace after the colon). A matching line is parsed and its top-level ``type``
  checked; a ``system`` line only if it holds ``"logicalParentUuid"`` (a compaction
  boundary, whose parent may be missing from the file). Title records can sit anywhere:
  Claude Code's own picker reads only 64 KiB at each end and loses titles that way
  (anthropics/claude-code#51284), so the whole file is searched. This pass is most of what
  :meth:`read` costs; it runs at the speed of sre's literal-prefix scan (a ``bytes.find``
  pass is no faster in wall time, and a Python loop over lines would cost per line).
* **Line 1** usually answers the start-of-file questions at once: the first timestamp,
  ``cwd``, ``version``, ``gitBranch``, ``agentId``, the first prompt and the session id.
  Only what it leaves open is searched for:
* **First prompt**: ``"type": "user"`` lines from the start, parsed one at a time until
  the first real prompt. Lines that only carry tool results are skipped unparsed, and so are
  sidechain lines once a sidechain prompt is known.
* **Session ids**: ``"sessionId"`` values from the start, only until the file's own id is
  found; a look-ahead skips ids already seen. ``continued_from`` is the id of the line
  before the own id's first line. A 2.0 agent file has no own id: its first id is the parent.
* **First lines** (at most 8 records in the first 64 KiB): timestamp, ``cwd``, ``version``,
  ``gitBranch`` and ``agentId``, when line 1 lacks them.
* **First model**: until it is found, the pass also matches an Anthropic message object
  (``"type": "message", "role": "assistant", "model": "…"``, the key order the API and
  Claude Code write) and reads the model from the bytes.
* **Last lines**, read backwards from the end: the torn-line check, the last timestamp,
  the newest ``version``/``gitBranch`` and, when it is an assistant record, its model.

Differences from :class:`SessionScanner` (the renderer's):

* ``created_at``/``updated_at`` are the first and last timestamps in file order, not the
  minimum and maximum. Without a timestamp in the last 64 KiB, ``updated_at`` stays
  ``None`` (the collector then takes the file's mtime).
* ``version`` and ``gitBranch`` come from the last lines, or else the first ones.
* ``session_ids`` lists the ids up to and including the file's own id.
* ``models`` is a bounded sample: the first assistant message's model and the models of the
  records read anyway (first and last lines). A model used only in between is not listed
  (matching every message's model costs the pass ~15 %); the Markdown still names each
  message's model.
* Bad lines are reported only when they are the last line or one of the parsed lines.
* ``records`` stays 0.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..jsonl import nonempty_str
from ..scan import (
    STRING_BODY,
    Block,
    BlockScanner,
    Reopen,
    decode_string,
    last_offsets,
)
from ..timestamps import parse_iso
from ..titles import UNTITLED, title_from_text
from .transcript import SessionInfo, message_of, real_prompt_text

__all__ = ["SessionMetaScanner"]

HEAD_BYTES = 64 * 1024  # first-line metadata is looked for in this many bytes …
HEAD_RECORDS = 8  # … and in at most this many parsed records
TAIL_BYTES = 64 * 1024  # last-line metadata: lines examined from the end (at least one)
MAX_SESSION_IDS = 64

# Title records, in one pass over every block. No JSON writer puts a space before the
# colon, so ``"type":`` is matched literally (sre then skips ahead by that literal prefix,
# measurably faster than ``"type"\s*:``). Until the first model is known the pattern also
# matches an Anthropic message object (``"type": "message", "role": "assistant", "model"``,
# the key order the API and Claude Code write); the second pattern drops that branch.
_PASS_FIRST_MODEL = re.compile(
    rb'"type":\s*"(?:(custom-title|ai-title|agent-name|summary|system)"'
    rb'|message"\s*,\s*"role":\s*"assistant"\s*,\s*"model":\s*"((?:[^"\\]|\\.)*)")'
)
_PASS = re.compile(rb'"type":\s*"(custom-title|ai-title|agent-name|summary|system)"')
_SESSION_ID = rb'"sessionId":\s*"(?!(?:%s)")'
_USER = re.compile(rb'"type":\s*"user"')
_TEXT_BLOCK = re.compile(rb'"type":\s*"text"')
_SIDECHAIN = re.compile(rb'"isSidechain":\s*true')
_SESSION_ID_AT = re.compile(rb'"sessionId":\s*"((?:[^"\\]|\\.)*)"')
_ANY_SESSION_ID = re.compile(rb'"sessionId":\s*"')


@lru_cache(maxsize=64)
def _sid_pattern(known: tuple[bytes, ...]) -> re.Pattern[bytes]:
    # Compiled per set of ids: only files holding several sessions get here.
    if not known:
        return _ANY_SESSION_ID
    return re.compile(_SESSION_ID % b"|".join(re.escape(k) for k in known))


_HEAD, _PROMPT, _SID = 1, 2, 4  # what is still looked for from the start of the file


class SessionMetaScanner(BlockScanner):
    """Scan one transcript: ``scan(readinto)``, then :meth:`finish` (see the module docstring).

    ``own_id``: the file's session id (its name), ``None`` for a 2.0 agent file.
    ``reopen`` opens the file again, for the rare second reads (line numbers of bad lines,
    uuids of summaries and compaction parents).
    """

    def __init__(self, own_id: str | None, max_line: int, reopen: Reopen) -> None:
        super().__init__(max_line)
        self._own = own_id
        self._reopen = reopen
        self.info = SessionInfo()
        self._todo = _HEAD | _PROMPT | _SID
        self._first = True
        # title candidates (the latest ai-title or agent-name: (offset, name))
        self._custom: str | None = None
        self._named: tuple[int, str] | None = None
        self._summaries: list[tuple[str | None, str]] = []
        self._prompt: str | None = None
        self._side_prompt: str | None = None
        # first lines / last lines
        self._head_records = 0
        self._first_version: str | None = None
        self._first_branch: str | None = None
        self._last_version: str | None = None
        self._last_branch: str | None = None
        # models: name -> offset of first use
        self._models: dict[str, int] = {}
        # session ids
        self._sid_raw: tuple[bytes, ...] = ()
        self._sid_rx = _ANY_SESSION_ID
        self._prev_sid: str | None = None  # the last "sessionId" value of earlier blocks
        # compaction parents: [uuid, found in the same block?]
        self._logical: list[list[Any]] = []

    # -- blocks -----------------------------------------------------------------------------

    def on_block(self, block: Block) -> None:
        if self._first:
            self._first = False
            self._first_line(block)
        if self._todo & _HEAD:
            self._head(block)
        self._pass(block)
        if self._todo & _PROMPT:
            self._prompts(block)
        if self._todo & _SID:
            self._session_ids(block)

    def _first_line(self, block: Block) -> None:
        """Line 1 usually answers the start-of-file questions at once (it is the first
        prompt, with its time, cwd and session id); the searches then are skipped."""
        buf, ls, end = block.buf, block.start, block.end
        le = buf.find(b"\n", ls, end)
        rec = self.record(block, ls, le if le >= 0 else end)
        if rec is None:
            return
        self._harvest_head(rec, block.base + ls)
        if rec.get("type") == "user":
            text = real_prompt_text(rec)
            if text is not None:
                title = title_from_text(text) or None
                if rec.get("isSidechain") is not True:
                    self._prompt = title
                    self._todo &= ~_PROMPT
                else:
                    self._side_prompt = title
        sid = nonempty_str(rec.get("sessionId"))
        if sid is not None and (self._own is None or sid == self._own):
            self.info.session_ids.append(sid)
            self._todo &= ~_SID

    def _head(self, block: Block) -> None:
        buf, ls, end = block.buf, block.start, block.end
        while ls < end:
            if block.base + ls >= HEAD_BYTES or self._head_records >= HEAD_RECORDS:
                self._todo &= ~_HEAD
                return
            le = buf.find(b"\n", ls, end)
            if le < 0:
                le = end
            at, ls = ls, le + 1
            if buf.find(b'"timestamp"', at, le) < 0 and buf.find(b'"cwd"', at, le) < 0:
                continue
            rec = self.record(block, at, le)
            if rec is not None:
                self._harvest_head(rec, block.base + at)
                if not self._todo & _HEAD:
                    return

    def _harvest_head(self, rec: dict[str, Any], offset: int) -> None:
        info = self.info
        self._head_records += 1
        if info.created_at is None:
            info.created_at = parse_iso(rec.get("timestamp"))
        if info.cwd is None:
            info.cwd = nonempty_str(rec.get("cwd"))
        if self._first_version is None:
            self._first_version = nonempty_str(rec.get("version"))
        if self._first_branch is None:
            self._first_branch = nonempty_str(rec.get("gitBranch"))
        if not info.agent_ids:
            agent = nonempty_str(rec.get("agentId"))
            if agent is not None:
                info.agent_ids.append(agent)
        self._note_model(rec, offset)
        if info.created_at is not None and info.cwd is not None:
            self._todo &= ~_HEAD

    def _pass(self, block: Block) -> None:
        """Title records and compaction boundaries: every block, whole."""
        buf, pos, end = block.buf, block.start, block.end
        rx = _PASS if self._models else _PASS_FIRST_MODEL
        while True:
            m = rx.search(buf, pos, end)
            if m is None:
                return
            kind = m.group(1)
            if kind is None:  # the first assistant message's model
                model = decode_string(m.group(2))
                if model and model != "<synthetic>":
                    self._models.setdefault(model, block.base + m.start())
                    rx = _PASS
                pos = m.end()
                continue
            ls, le = block.line_at(m.start())
            pos = le
            if kind == b"system" and buf.find(b'"logicalParentUuid"', ls, le) < 0:
                continue
            rec = self.record(block, ls, le)
            if rec is not None:
                self._title_record(rec, block, ls)

    def _title_record(self, rec: dict[str, Any], block: Block, ls: int) -> None:
        offset = block.base + ls
        kind = rec.get("type")
        if kind == "custom-title":
            self._custom = nonempty_str(rec.get("customTitle")) or self._custom
        elif kind == "ai-title" or kind == "agent-name":
            name = nonempty_str(rec.get("aiTitle" if kind == "ai-title" else "agentName"))
            if name is not None and (self._named is None or offset >= self._named[0]):
                self._named = (offset, name)
        elif kind == "summary":
            text = nonempty_str(rec.get("summary"))
            if text is not None:
                self._summaries.append((nonempty_str(rec.get("leafUuid")), text))
        logical = nonempty_str(rec.get("logicalParentUuid"))
        if logical is not None:  # a compaction boundary: is its parent in this file?
            here = re.compile(rb'"uuid":\s*"' + re.escape(_raw(logical)) + rb'"')
            found = here.search(block.buf, block.start, block.end) is not None
            self._logical.append([logical, found])

    def _prompts(self, block: Block) -> None:
        buf, pos, end = block.buf, block.start, block.end
        while True:
            m = _USER.search(buf, pos, end)
            if m is None:
                return
            ls, le = block.line_at(m.start())
            pos = le
            if buf.find(b'"tool_result"', ls, le) >= 0 and not _TEXT_BLOCK.search(buf, ls, le):
                continue  # only tool results: not something the user typed
            if self._side_prompt is not None and _SIDECHAIN.search(buf, ls, le):
                continue
            rec = self.record(block, ls, le)
            text = real_prompt_text(rec) if rec is not None else None
            if text is None:
                continue
            title = title_from_text(text) or None
            if rec.get("isSidechain") is not True:  # type: ignore[union-attr]
                self._prompt = title
                self._todo &= ~_PROMPT
                return
            if self._side_prompt is None:
                self._side_prompt = title

    def _session_ids(self, block: Block) -> None:
        info = self.info
        buf, pos, end = block.buf, block.start, block.end
        while self._todo & _SID:
            m = self._sid_rx.search(buf, pos, end)
            if m is None:
                break
            body = STRING_BODY.match(buf, m.end(), end)
            raw = body.group(1) if body else b""
            pos = m.end()
            ls, le = block.line_at(m.start())
            rec = self.record(block, ls, le)
            sid = nonempty_str(rec.get("sessionId")) if rec is not None else None
            genuine = sid is not None and sid == decode_string(raw)
            if genuine and not info.session_ids and (self._own is None or sid == self._own):
                info.session_ids.append(sid)  # the usual case: one id; no pattern to build
                self._todo &= ~_SID
                return
            # Several ids (or a nested "sessionId"): skip the values seen from now on.
            self._sid_raw += (raw,)
            self._sid_rx = _sid_pattern(self._sid_raw)
            if not genuine or sid in info.session_ids:
                continue  # not the record's own sessionId (a nested object)
            info.session_ids.append(sid)  # type: ignore[arg-type]
            if self._own is None or sid == self._own:
                self._todo &= ~_SID
                if sid == self._own and len(info.session_ids) > 1:
                    info.continued_from = self._sid_before(block, ls)
            elif len(info.session_ids) >= MAX_SESSION_IDS:
                self._todo &= ~_SID
        if self._todo & _SID:
            self._prev_sid = self._sid_before(block, block.end)

    def _sid_before(self, block: Block, pos: int) -> str | None:
        """The ``sessionId`` value nearest before ``buf[pos]`` (else the previous blocks')."""
        buf = block.buf
        at = buf.rfind(b'"sessionId"', block.start, pos)
        if at < 0:
            return self._prev_sid
        m = _SESSION_ID_AT.match(buf, at, block.end)
        return decode_string(m.group(1)) if m else self._prev_sid

    # -- the end ----------------------------------------------------------------------------

    def on_end(self, blocks: list[Block], skipped_last: bool) -> None:
        info = self.info
        examined = 0
        for block, ls, le, rec in self.last_lines(blocks, skipped_last):
            if rec is not None:
                if info.updated_at is None:
                    info.updated_at = parse_iso(rec.get("timestamp"))
                if self._last_version is None:
                    self._last_version = nonempty_str(rec.get("version"))
                if self._last_branch is None:
                    self._last_branch = nonempty_str(rec.get("gitBranch"))
                self._note_model(rec, block.base + ls)
            examined += le - ls + 1
            if info.updated_at is not None or examined >= TAIL_BYTES:
                return

    def _note_model(self, rec: dict[str, Any], offset: int) -> None:
        if rec.get("type") != "assistant":
            return
        model = nonempty_str(message_of(rec).get("model"))
        if model is not None and model != "<synthetic>":
            models = self._models
            if model not in models or offset < models[model]:
                models[model] = offset

    def finish(self) -> SessionInfo:
        """The metadata (call after :meth:`scan`); may read the file again on rare paths."""
        info = self.info
        if self._custom is not None:
            info.title, info.title_source = self._custom, "custom-title"
        elif self._named is not None:
            info.title, info.title_source = self._named[1], "ai-title"
        elif self._summaries:
            info.title, info.title_source = self._pick_summary(), "summary"
        elif self._prompt or self._side_prompt:
            info.title = self._prompt or self._side_prompt or UNTITLED
            info.title_source = "first-prompt"
        info.version = self._last_version or self._first_version
        info.git_branch = self._last_branch or self._first_branch
        models = self._models
        info.models = list(models) if len(models) < 2 else sorted(models, key=models.__getitem__)
        if self._logical:
            info.missing_logical_parents = self._missing_parents()
        if self.bad:
            info.bad = self.bad_lines(self._reopen)
        return info

    def _pick_summary(self) -> str:
        # Prefer the summary of the leaf that appears latest in this file; else the last one.
        leaves = [leaf for leaf, _ in self._summaries if leaf]
        if len(self._summaries) < 2 or not leaves:
            return self._summaries[-1][1]
        where = _uuid_offsets(self._reopen, leaves)
        best: tuple[int, str] | None = None
        for leaf, text in self._summaries:
            at = where.get(leaf) if leaf else None
            if at is not None and (best is None or at >= best[0]):
                best = (at, text)
        return best[1] if best is not None else self._summaries[-1][1]

    def _missing_parents(self) -> list[str]:
        pending = [u for u, found in self._logical if not found]
        if not pending:
            return []
        where = _uuid_offsets(self._reopen, pending)
        return [u for u, found in self._logical if not found and u not in where]


def _raw(text: str) -> bytes:
    """How ``text`` is most likely spelled inside a JSON string in the file."""
    return text.encode("utf-8").replace(b"\\", b"\\\\").replace(b'"', b'\\"')


def _uuid_offsets(reopen: Reopen, uuids: list[str]) -> dict[str, int]:
    """Offset of the last ``"uuid": "<u>"`` of each of ``uuids`` in the file (one read)."""
    raw = {_raw(u): u for u in uuids}
    pattern = re.compile(
        rb'"uuid":\s*"(' + b"|".join(re.escape(r) for r in raw) + rb')"'
    )
    return {raw[r]: at for r, at in last_offsets(reopen, pattern).items() if r in raw}
