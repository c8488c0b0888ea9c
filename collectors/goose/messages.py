"""Goose sessions as plain data, from either storage: database rows or a legacy ``.jsonl``.

Sources (block/goose):

* ``crates/goose/src/session/session_manager.rs``: ``sessions.db`` tables ``sessions`` (``id``
  like ``20250721_1``, ``name``, ``description``, ``user_set_name``, ``session_type``,
  ``working_dir``, ``created_at``/``updated_at`` (SQLite ``TIMESTAMP`` text), ``extension_data``
  (JSON text), token counters, ``recipe_json`` …) and ``messages`` (``id`` autoincrement,
  ``session_id``, ``role``, ``content_json`` (JSON array), ``created_timestamp`` (Unix s),
  ``timestamp``, ``tokens``, ``metadata_json``).
* ``crates/goose/src/session/legacy.rs``: ``sessions/<name>.jsonl``, line 1 the session
  metadata (``description``, ``working_dir``, token counters …), then one ``Message`` per line.
* ``crates/goose/src/conversation/message.rs``: ``Message {id?, role, created (s), content:
  [MessageContent], metadata: {userVisible, agentVisible}}``; ``MessageContent`` tagged by
  ``type``: ``text``, ``image``, ``toolRequest``, ``toolResponse``, ``toolConfirmationRequest``,
  ``actionRequired``, ``frontendToolRequest``, ``thinking``, ``redactedThinking``,
  ``systemNotification`` (older: ``contextLengthExceeded``, ``summarizationRequested``,
  ``conversationCompacted``). Tool results are ``{"status": "success", "value": …}`` or
  ``{"status": "error", "error": "…"}``.

Never raises on content.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from ..jsonl import BadLine, JsonLine, iter_jsonl, nonempty_str
from ..timestamps import parse_epoch, parse_iso
from ..titles import title_from_text

__all__ = [
    "Message",
    "Session",
    "first_prompt",
    "load_db_session",
    "load_jsonl_session",
    "parse_sqlite_time",
    "redact_extension_data",
]

REDACTED = "[redacted by aifs]"
# Keys of extension configs (goose ``ExtensionConfig``) whose values may be secrets typed in
# by the user: environment variables and HTTP headers of MCP servers.
_SECRET_KEYS = frozenset({"envs", "env", "headers", "env_keys_values"})
_SQLITE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?$")


@dataclass
class Message:
    """One message: ``role``, ``created`` (Unix s or ``None``), ``content`` (the list of
    ``MessageContent`` dicts), ``metadata`` (``userVisible``/``agentVisible``)."""

    role: str
    created: float | None
    content: list[Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Session:
    """Header fields (``name`` is the title goose shows), messages, and ``problems`` (records
    that could not be used, no content)."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    working_dir: str | None = None
    session_type: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    tokens: dict[str, int] = field(default_factory=dict)
    recipe: Any = None
    messages: list[Message] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_sqlite_time(value: Any) -> float | None:
    """``CURRENT_TIMESTAMP`` text (``2025-07-21 10:00:00``, UTC) or RFC 3339 → Unix seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return parse_epoch(value)
    if not isinstance(value, str) or not _SQLITE_TIME.match(value.strip()):
        return parse_iso(value)
    text = value.strip().replace(" ", "T", 1)
    parsed = parse_iso(text)
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            return None
    return parsed


def redact_extension_data(text: Any) -> Any:
    """``extension_data`` with the values under env/header keys replaced by ``REDACTED``.

    Returns ``text`` unchanged (the same object) when it has nothing to redact or is not
    JSON, so the stored column stays byte-identical in the common case.
    """
    if not isinstance(text, str) or not any(f'"{k}"' in text for k in _SECRET_KEYS):
        return text
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    changed = [False]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k in _SECRET_KEYS and isinstance(v, dict) and v:
                    out[k] = {name: REDACTED for name in v}
                    changed[0] = True
                else:
                    out[k] = walk(v)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    redacted = walk(value)
    return json.dumps(redacted, ensure_ascii=False) if changed[0] else text


def _tokens(record: Mapping[str, Any]) -> dict[str, int]:
    """``{"input": n, "output": n, "total": n}`` from the session's (non-accumulated) counters."""
    return {k: record[f"{k}_tokens"] for k in ("input", "output", "total")
            if isinstance(record.get(f"{k}_tokens"), int)}


def _message(value: Mapping[str, Any], created: Any = None, role: Any = None) -> Message:
    content = value.get("content")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    meta = value.get("metadata")
    when = created if created is not None else value.get("created")
    return Message(
        role=nonempty_str(role) or nonempty_str(value.get("role")) or "message",
        created=parse_epoch(when) if isinstance(when, (int, float)) else parse_sqlite_time(when),
        content=content if isinstance(content, list) else [],
        metadata=meta if isinstance(meta, dict) else {},
    )


def _rows(data: bytes, name: str, problems: list[str]) -> Iterable[dict[str, Any]]:
    for item in iter_jsonl(data):
        if isinstance(item, BadLine):
            problems.append(f"{name} {item.warning}")
        elif isinstance(item, JsonLine):
            yield item.value


def load_db_session(files: Mapping[str, bytes]) -> Session:
    """A session from its stored rows (``sessions.jsonl`` + ``messages.jsonl``)."""
    s = Session()
    head = list(_rows(files.get("sessions.jsonl", b""), "sessions.jsonl", s.problems))
    if head:
        row = head[0]
        s.id = nonempty_str(row.get("id"))
        s.name = nonempty_str(row.get("name"))
        s.description = nonempty_str(row.get("description"))
        s.working_dir = nonempty_str(row.get("working_dir"))
        s.session_type = nonempty_str(row.get("session_type"))
        s.created_at = parse_sqlite_time(row.get("created_at"))
        s.updated_at = parse_sqlite_time(row.get("updated_at"))
        s.tokens = _tokens(row)
        recipe = row.get("recipe_json")
        if isinstance(recipe, str):
            try:
                s.recipe = json.loads(recipe)
            except (ValueError, RecursionError):
                s.recipe = None
    else:
        s.problems.append("no session row")
    for row in _rows(files.get("messages.jsonl", b""), "messages.jsonl", s.problems):
        raw = row.get("content_json")
        try:
            content = json.loads(raw) if isinstance(raw, str) else None
        except (ValueError, RecursionError):
            content = None
        if not isinstance(content, list):
            s.problems.append(f"message row {row.get('id')}: content_json is not a JSON array")
            content = []
        meta_raw = row.get("metadata_json")
        try:
            meta = json.loads(meta_raw) if isinstance(meta_raw, str) else {}
        except (ValueError, RecursionError):
            meta = {}
        created = row.get("created_timestamp")
        if created is None:
            created = row.get("timestamp")
        s.messages.append(_message({"content": content, "metadata": meta}, created, row.get("role")))
    return s


def load_jsonl_session(data: bytes, name: str = "session.jsonl") -> Session:
    """A session from a legacy ``.jsonl`` (line 1 metadata unless it is a message)."""
    s = Session()
    first = True
    for item in iter_jsonl(data):
        if isinstance(item, BadLine):
            s.problems.append(f"{name} {item.warning}")
            first = False
            continue
        value = item.value
        if first and "role" not in value and "content" not in value:
            s.description = nonempty_str(value.get("description"))
            s.name = nonempty_str(value.get("name")) or s.description
            s.working_dir = nonempty_str(value.get("working_dir"))
            s.tokens = _tokens(value)
            first = False
            continue
        first = False
        s.messages.append(_message(value))
    times = [m.created for m in s.messages if m.created is not None]
    if times:
        s.created_at, s.updated_at = min(times), max(times)
    return s


def content_text(items: list[Any]) -> str:
    """The text of a message's ``text`` items, joined by blank lines."""
    return "\n\n".join(
        c["text"] for c in items if isinstance(c, dict) and c.get("type") == "text" and isinstance(c.get("text"), str)
    )


def first_prompt(s: Session) -> str:
    """Title from the first user message with text that the user saw."""
    for m in s.messages:
        if m.role == "user" and m.metadata.get("userVisible", True) is not False:
            title = title_from_text(content_text(m.content))
            if title:
                return title
    return ""
