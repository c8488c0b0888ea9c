"""One Copilot Chat session: its serialized state, and the facts read from it.

Source: microsoft/vscode ``src/vs/workbench/contrib/chat/common/model/chatSessionStore.ts``
(where and how sessions are stored), ``chatModel.ts`` (``ISerializableChatData``, version 3)
and ``chatSessionOperationLog.ts`` (what the 1.109+ log holds). The state is one object::

    {version: 3, sessionId, creationDate (ms), lastMessageDate (ms, flat files only),
     customTitle?, requesterUsername?, responderUsername, initialLocation,
     requests: [{requestId, timestamp (ms), message: {text, parts}, variableData,
                 response: [<part>, …], result, modelId, agent, modelState, …}], …}

A session is stored as ``<sessionId>.json`` (the whole object, before 1.109) or as
``<sessionId>.jsonl`` (a mutation log, :mod:`.mutation_log`). Both may exist for one session
after an upgrade; VS Code reads the log when there is one, and so do we.

Everything here takes bytes or a binary stream and never raises on content.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Mapping

from ..jsonl import iter_jsonl, iter_jsonl_stream, nonempty_str
from ..scan import decode_string
from ..timestamps import parse_epoch
from ..titles import UNTITLED, title_from_text
from .mutation_log import Replay, replay

__all__ = [
    "FLAT",
    "LOG",
    "Loaded",
    "SessionInfo",
    "load_flat",
    "load_log",
    "session_info",
    "sniff_title",
]

LOG = ".jsonl"
FLAT = ".json"


@dataclass
class Loaded:
    """The state read from one session file: ``state`` (a dict, or ``None`` if none could
    be had), ``problems`` (``"line N: reason"`` / ``"not valid JSON"``, no content),
    ``torn`` (the log's last line did not parse), ``broken`` (nothing usable: the file does
    not parse at all, or the log has no initial state) and, for logs, ``entries``."""

    state: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    torn: bool = False
    broken: bool = False
    oversized: bool = False
    entries: int = 0


def load_flat(data: bytes) -> Loaded:
    """Parse a ``<sessionId>.json`` file (one JSON object)."""
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return Loaded(problems=["not UTF-8"], broken=True)
    except RecursionError:
        return Loaded(problems=["nested too deeply"], broken=True)
    except ValueError:
        return Loaded(problems=["not valid JSON (cut off or being written)"], broken=True)
    if not isinstance(value, dict):
        return Loaded(problems=["not a JSON object"], broken=True)
    return Loaded(state=value)


def load_log(source: bytes | BinaryIO, max_line_bytes: int | None = None) -> Loaded:
    """Replay a ``<sessionId>.jsonl`` mutation log, from bytes or a binary stream (read line
    by line; lines longer than ``max_line_bytes`` are skipped and make ``oversized`` true).
    I/O errors from a stream propagate as ``OSError``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        lines = iter_jsonl(bytes(source), max_line_bytes=max_line_bytes)
    else:
        lines = iter_jsonl_stream(source, max_line_bytes=max_line_bytes)
    result: Replay = replay(lines)
    state = result.state if isinstance(result.state, dict) else None
    problems = list(result.problems)
    if result.state is not None and state is None:
        problems.append("the replayed state is not a JSON object")
    broken = state is None
    if result.initials == 0:
        problems.append("no initial state (kind 0) in the log")
    return Loaded(state, problems, result.torn, broken, result.oversized, result.entries)


@dataclass
class SessionInfo:
    """Facts about a session state. Times are Unix seconds; ``title_source`` is
    ``"customTitle"``, ``"first-request"`` or ``"none"``."""

    session_id: str | None = None
    title: str = UNTITLED
    title_source: str = "none"
    created_at: float | None = None
    updated_at: float | None = None
    requests: int = 0
    models: list[str] = field(default_factory=list)
    requester: str | None = None
    responder: str | None = None
    location: str | None = None
    version: int | None = None


def request_text(request: Any) -> str | None:
    """The user's text of one request (``message.text``; older sessions: a plain string)."""
    if not isinstance(request, dict):
        return None
    message = request.get("message")
    if isinstance(message, str):
        return message
    if isinstance(message, dict):
        text = message.get("text")
        if isinstance(text, str):
            return text
        parts = message.get("parts")
        if isinstance(parts, list):
            joined = "".join(p.get("text", "") for p in parts if isinstance(p, dict)
                             and isinstance(p.get("text"), str))
            return joined or None
    return None


def requests_of(state: Mapping[str, Any]) -> list[Any]:
    """``state["requests"]`` when it is a list, else ``[]``."""
    requests = state.get("requests")
    return requests if isinstance(requests, list) else []


def session_info(state: Mapping[str, Any]) -> SessionInfo:
    """Title, times, models … of a session state.

    Title: ``customTitle`` unchanged (a rename, or the title VS Code generated and stored),
    else the first request's text cut by :func:`collectors.titles.title_from_text`.
    ``updated_at``: ``lastMessageDate``, else the latest request timestamp or completion time.
    """
    info = SessionInfo(session_id=nonempty_str(state.get("sessionId")))
    version = state.get("version")
    info.version = version if isinstance(version, int) and not isinstance(version, bool) else None
    requests = requests_of(state)
    info.requests = len(requests)
    custom = nonempty_str(state.get("customTitle"))
    if custom is not None:
        info.title, info.title_source = custom, "customTitle"
    else:
        for request in requests:
            text = request_text(request)
            title = title_from_text(text) if text else ""
            if title:
                info.title, info.title_source = title, "first-request"
                break
    info.created_at = parse_epoch(state.get("creationDate"), unit="ms")
    latest = parse_epoch(state.get("lastMessageDate"), unit="ms")
    for request in requests:
        if not isinstance(request, dict):
            continue
        model = nonempty_str(request.get("modelId"))
        if model is not None and model not in info.models:
            info.models.append(model)
        for when in (request.get("timestamp"), _completed_at(request)):
            seconds = parse_epoch(when, unit="ms")
            if seconds is not None and (latest is None or seconds > latest):
                latest = seconds
    info.updated_at = latest
    if info.created_at is None and requests and isinstance(requests[0], dict):
        info.created_at = parse_epoch(requests[0].get("timestamp"), unit="ms")
    info.requester = nonempty_str(state.get("requesterUsername"))
    info.responder = nonempty_str(state.get("responderUsername"))
    location = state.get("initialLocation")
    info.location = location if isinstance(location, str) and location else None
    return info


def _completed_at(request: dict[str, Any]) -> Any:
    state = request.get("modelState")
    return state.get("completedAt") if isinstance(state, dict) else None


# -- titles of files too large to parse ------------------------------------------------------

_CUSTOM = re.compile(
    rb'(?:"customTitle":\s*|"k":\s*\[\s*"customTitle"\s*\]\s*,\s*"v":\s*)"((?:[^"\\]|\\.){0,4096})',
    re.S,
)
_FIRST_TEXT = re.compile(rb'"message":\s*\{\s*"text":\s*"((?:[^"\\]|\\.){0,4096})', re.S)
_SNIFF_BLOCK = 1 << 20
_OVERLAP = 32 * 1024


def sniff_title(stream: BinaryIO) -> tuple[str | None, str | None]:
    """``(customTitle, first request text)`` found by a byte scan of a session file too large
    to parse: the last ``"customTitle": "…"`` or log entry setting ``["customTitle"]`` (the
    last one wins) and the first
    ``"message": {"text": "…"`` (cut to 4 KiB). Memory stays bounded by about 1 MiB.
    A match inside another JSON string is ignored (its quotes are escaped there)."""
    custom: str | None = None
    first: str | None = None
    tail = b""
    eof = False
    while not eof:
        block = stream.read(_SNIFF_BLOCK)
        eof = not block
        buf = tail + block
        if not buf:
            break
        # Matches must start before ``limit``; the rest is kept for the next round, so a
        # match is seen whole (up to _OVERLAP bytes) and exactly once.
        limit = len(buf) if eof else max(len(buf) - _OVERLAP, 0)
        for m in _CUSTOM.finditer(buf):
            if m.start() >= limit:
                break
            if not _escaped(buf, m.start()):
                custom = _decode_partial(m.group(1)) or custom
        if first is None:
            for m in _FIRST_TEXT.finditer(buf):
                if m.start() >= limit:
                    break
                if not _escaped(buf, m.start()):
                    first = _decode_partial(m.group(1))
                    break
        tail = buf[limit:]
    return custom, first


def _escaped(buf: bytes, pos: int) -> bool:
    """Whether the quote at ``buf[pos]`` is escaped (an odd run of backslashes before it)."""
    run = 0
    while pos - run - 1 >= 0 and buf[pos - run - 1] == 0x5C:
        run += 1
    return run % 2 == 1


def _decode_partial(raw: bytes) -> str | None:
    """The text of a JSON string body that may be cut anywhere (a cut escape is dropped)."""
    for cut in range(0, 8):
        piece = raw[: len(raw) - cut] if cut else raw
        text = decode_string(piece)
        if text is not None:
            return text
    return None
