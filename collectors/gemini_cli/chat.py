"""Gemini CLI chat files: the two on-disk shapes and the replay that turns them into messages.

Source: google-gemini/gemini-cli ``packages/core/src/services/chatRecordingService.ts`` and
``chatRecordingTypes.ts`` (``ConversationRecord``, ``MessageRecord``, ``ToolCallRecord``).

Legacy (≤ 0.39), ``session-<YYYY-MM-DDTHH-MM>-<id8>.json``, rewritten whole on every change::

    {"sessionId", "projectHash", "startTime", "lastUpdated", "kind"?, "summary"?,
     "directories"?, "messages": [MessageRecord …]}

Current (≥ 0.40), ``….jsonl``, appended; :func:`load_chat` replays it as
``loadConversationRecord`` does: the first line is the metadata (``sessionId`` +
``projectHash``); a line with a string ``id`` is a message, and a later line with the same
``id`` *replaces* it in place (tool results, token counts are added that way);
``{"$set": {…}}`` merges metadata (``lastUpdated``, ``summary``, and — after history
masking or compression — a whole new ``messages`` list);
``{"$rewindTo": id}`` drops that message and every later one (all of them when the id is
unknown). A resumed legacy session is migrated into a ``.jsonl`` beside the ``.json``.

``MessageRecord``: ``id``, ``timestamp`` (ISO), ``type`` (``user`` | ``gemini`` | ``info`` |
``error`` | ``warning``), ``content`` (``PartListUnion``), ``displayContent``?; gemini messages
add ``toolCalls``, ``thoughts [{subject, description, timestamp}]``, ``tokens``, ``model``.
Older composite files use ``type: "model"`` with ``parts``, or a ``history`` list of
``{role, parts, ts}``; both are accepted.

Nothing here raises on content: bad lines become :class:`~collectors.jsonl.BadLine` s and a
legacy file that is not JSON is reported in :attr:`ChatState.error`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..genai import normalize_parts, parts_text
from ..glued import iter_jsonl_glued
from ..jsonl import BadLine, JsonLine
from ..timestamps import parse_time

__all__ = ["ChatState", "Dropped", "load_chat", "message_text", "prompt_text"]

REPLACING = ("$set", "$rewindTo")


@dataclass
class Dropped:
    """Messages that left the conversation: ``why`` is ``"rewind"`` (``{"$rewindTo": target}``)
    or ``"replaced"`` (a ``$set`` of ``messages`` without them); ``line`` is 1-based."""

    why: str
    line: int
    target: str | None
    messages: list[dict[str, Any]]


@dataclass
class ChatState:
    """One chat file replayed. ``meta``: the metadata (first line merged with every ``$set``,
    ``messages`` excluded); ``messages``: the final message list; ``dropped``: what rewinds
    and history replacements removed, in file order; ``updates``: message lines that replaced
    an earlier version; ``unknown``: lines of no known shape; ``bad``/``glued``: problem
    lines; ``error``: why a legacy ``.json`` could not be read (``None`` if it could)."""

    shape: str
    meta: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    updates: int = 0
    unknown: list[int] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    glued: list[tuple[int, int]] = field(default_factory=list)
    error: str | None = None

    @property
    def started(self) -> float | None:
        """``startTime`` in Unix seconds (``None`` if absent or unreadable)."""
        return parse_time(self.meta.get("startTime")) or parse_time(self.meta.get("start_time"))

    @property
    def updated(self) -> float | None:
        """``lastUpdated`` in Unix seconds (``None`` if absent or unreadable)."""
        return parse_time(self.meta.get("lastUpdated"))


def load_chat(name: str, data: bytes) -> ChatState:
    """Replay one chat file (``name`` decides the shape: ``.json`` legacy, else JSONL)."""
    if name.endswith(".json"):
        state = _load_legacy(data)
        if state is not None:
            return state
        jsonl = _load_jsonl(data)
        if jsonl.meta or jsonl.messages:
            return jsonl
        return ChatState("json", error=_json_error(data))
    return _load_jsonl(data)


def _json_error(data: bytes) -> str:
    if not data.strip():
        return "empty file"
    try:
        json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8"
    except RecursionError:
        return "nested too deeply"
    except ValueError as exc:
        return f"not valid JSON (cut off or damaged near byte {getattr(exc, 'pos', '?')})"
    return "not a chat object"


def _load_legacy(data: bytes) -> ChatState | None:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    state = ChatState("json")
    if isinstance(value, list):
        state.messages = [_from_content(c, i) for i, c in enumerate(value) if isinstance(c, dict)]
        return state
    if not isinstance(value, dict):
        return None
    state.meta = {k: v for k, v in value.items() if k not in ("messages", "history")}
    messages = value.get("messages")
    if isinstance(messages, list):
        state.messages = [m for m in messages if isinstance(m, dict)]
    history = value.get("history")
    if not state.messages and isinstance(history, list):
        state.messages = [_from_content(c, i) for i, c in enumerate(history) if isinstance(c, dict)]
    return state


def _from_content(content: dict[str, Any], index: int) -> dict[str, Any]:
    """A ``{role, parts, ts?}`` Content (old ``history`` lists, checkpoints) as a message."""
    if "type" in content or "id" in content:
        return content
    role = content.get("role")
    msg: dict[str, Any] = {
        "id": f"#{index + 1}",
        "type": "user" if role == "user" else ("gemini" if role in ("model", "gemini") else role),
        "content": content.get("parts", content.get("content")),
    }
    for key in ("ts", "timestamp", "time"):
        if key in content:
            msg["timestamp"] = content[key]
            break
    return msg


def _load_jsonl(data: bytes) -> ChatState:
    state = ChatState("jsonl")
    order: dict[str, dict[str, Any]] = {}
    glued: list[tuple[int, int]] = []
    for item in iter_jsonl_glued(data, glued=glued):
        if isinstance(item, BadLine):
            state.bad.append(item)
            continue
        _apply(state, order, item)
    state.messages = list(order.values())
    state.glued = glued
    return state


def _apply(state: ChatState, order: dict[str, dict[str, Any]], item: JsonLine) -> None:
    rec = item.value
    if isinstance(rec.get("$rewindTo"), str):
        target = rec["$rewindTo"]
        ids = list(order)
        cut = ids.index(target) if target in order else 0
        removed = [order.pop(i) for i in ids[cut:]]
        state.dropped.append(Dropped("rewind", item.number, target, removed))
    elif isinstance(rec.get("id"), str):
        if rec["id"] in order:
            state.updates += 1
        order[rec["id"]] = rec
    elif isinstance(rec.get("$set"), dict):
        update = rec["$set"]
        messages = update.get("messages")
        if isinstance(messages, list):
            new = {}
            for index, msg in enumerate(messages):
                if isinstance(msg, dict):
                    key = msg.get("id")
                    new[key if isinstance(key, str) else f"#{item.number}.{index}"] = msg
            gone = [m for k, m in order.items() if k not in new]
            if gone:
                state.dropped.append(Dropped("replaced", item.number, None, gone))
            order.clear()
            order.update(new)
        state.meta.update({k: v for k, v in update.items() if k != "messages"})
    elif isinstance(rec.get("sessionId"), str) and "projectHash" in rec:
        state.meta.update({k: v for k, v in rec.items() if k != "messages"})
    else:
        state.unknown.append(item.number)


def message_text(msg: dict[str, Any], *, display: bool = True) -> str:
    """The plain text of a message: ``displayContent`` when present and ``display``, else
    ``content`` (or ``parts``), text parts only, thoughts left out."""
    value = None
    if display and msg.get("displayContent") not in (None, "", []):
        value = msg["displayContent"]
    if value is None:
        value = msg.get("content") if "content" in msg else msg.get("parts")
    return parts_text(normalize_parts(value))


def prompt_text(msg: dict[str, Any]) -> str | None:
    """The prompt text of a user message (as Gemini CLI's session list shows it: the
    ``content`` text), ``None`` for other messages or blank prompts."""
    if msg.get("type") != "user" and msg.get("role") != "user":
        return None
    text = message_text(msg, display=False) or message_text(msg)
    return text if text.strip() else None
