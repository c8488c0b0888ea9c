"""One opencode session as stored, in either of opencode's two layouts, as plain data.

Sources (anomalyco/opencode, formerly sst/opencode):

* ``packages/opencode/src/session/session.sql.ts``: the SQLite tables ``session`` (one row:
  ``id, project_id, parent_id, slug, directory, title, version, share_url, summary_*,
  revert`` (JSON text), ``permission``, ``time_created``/``time_updated`` (ms) …),
  ``message`` (``id, session_id, time_created, time_updated, data``) and ``part`` (``id,
  message_id, session_id, time_*, data``) where ``data`` is the JSON of ``MessageV2.Info`` /
  ``MessageV2.Part`` without its ids; ``todo`` (``session_id, content, status, priority,
  position``).
* ``packages/opencode/src/storage/json-migration.ts``: the legacy tree
  ``storage/session/<projectID>/<sessionID>.json``, ``storage/message/<sessionID>/<messageID>.json``,
  ``storage/part/<messageID>/<partID>.json``; *ids come from the paths*, not from the JSON.

The collector stores the DB rows as ``<table>.jsonl`` (:mod:`collectors.rows`) and the legacy
files under their paths relative to ``storage/``; :func:`load_session` rebuilds the same
:class:`Session` from either, for titles and for rendering. Never raises on content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..jsonfile import parse_json_bytes
from ..jsonl import BadLine, JsonLine, iter_jsonl, nonempty_str
from ..timestamps import parse_epoch
from ..titles import title_from_text

__all__ = [
    "DB_FILES",
    "Message",
    "Session",
    "first_prompt",
    "load_session",
    "ms_to_seconds",
]

DB_FILES = ("session.jsonl", "message.jsonl", "part.jsonl", "todo.jsonl", "session_message.jsonl")


@dataclass
class Message:
    """One message: ``id``, ``info`` (the ``MessageV2.Info`` JSON: role, time, modelID …) and
    its ``parts`` (``MessageV2.Part`` dicts, each with ``id``), in id order."""

    id: str
    info: dict[str, Any]
    parts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def role(self) -> str:
        role = self.info.get("role")
        return role if isinstance(role, str) else "message"

    @property
    def created_ms(self) -> float | None:
        t = self.info.get("time")
        return _num(t.get("created")) if isinstance(t, dict) else None


@dataclass
class Session:
    """A session's header fields (normalized over both layouts), messages and todos.

    Times are Unix milliseconds as stored (``None`` if absent). ``problems`` lists records
    that could not be used (``"message/ses_x/msg_y.json: not valid JSON …"``), no content.
    """

    id: str | None = None
    title: str | None = None
    directory: str | None = None
    version: str | None = None
    slug: str | None = None
    project_id: str | None = None
    parent_id: str | None = None
    share_url: str | None = None
    created_ms: float | None = None
    updated_ms: float | None = None
    archived_ms: float | None = None
    revert: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    todos: list[dict[str, Any]] = field(default_factory=list)
    extra_records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    layout: str = "db"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _json_text(value: Any) -> Any:
    """A column holding JSON text, parsed; other values unchanged; ``None`` if unparseable."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value


def load_session(files: Mapping[str, bytes]) -> Session:
    """Rebuild the session from a version's raw files (DB rows or legacy tree)."""
    if "session.jsonl" in files or "message.jsonl" in files:
        return _from_db(files)
    return _from_tree(files)


# -- database rows ------------------------------------------------------------------------


def _rows(files: Mapping[str, bytes], name: str, session: Session) -> list[dict[str, Any]]:
    out = []
    for item in iter_jsonl(files.get(name, b"")):
        if isinstance(item, BadLine):
            session.problems.append(f"{name} {item.warning}")
        elif isinstance(item, JsonLine):
            out.append(item.value)
    return out


def _from_db(files: Mapping[str, bytes]) -> Session:
    s = Session(layout="db")
    head = _rows(files, "session.jsonl", s)
    if head:
        row = head[0]
        s.id = nonempty_str(row.get("id"))
        s.title = row.get("title") if isinstance(row.get("title"), str) else None
        s.directory = nonempty_str(row.get("directory"))
        s.version = nonempty_str(row.get("version"))
        s.slug = nonempty_str(row.get("slug"))
        s.project_id = nonempty_str(row.get("project_id"))
        s.parent_id = nonempty_str(row.get("parent_id"))
        s.share_url = nonempty_str(row.get("share_url"))
        s.created_ms = _num(row.get("time_created"))
        s.updated_ms = _num(row.get("time_updated"))
        s.archived_ms = _num(row.get("time_archived"))
        revert = _json_text(row.get("revert"))
        s.revert = revert if isinstance(revert, dict) else None
        s.summary = {
            k[len("summary_"):]: v
            for k, v in row.items()
            if k.startswith("summary_") and isinstance(v, (int, float))
        }
    else:
        s.problems.append("no session row")
    by_id: dict[str, Message] = {}
    for row in _rows(files, "message.jsonl", s):
        ident = nonempty_str(row.get("id")) or f"(row {len(by_id) + 1})"
        data = _json_text(row.get("data"))
        if not isinstance(data, dict):
            s.problems.append(f"message {ident}: data is not a JSON object")
            data = {}
        if "time" not in data and _num(row.get("time_created")) is not None:
            data["time"] = {"created": row["time_created"]}
        by_id[ident] = Message(ident, data)
    for row in _rows(files, "part.jsonl", s):
        ident = nonempty_str(row.get("id")) or ""
        data = _json_text(row.get("data"))
        if not isinstance(data, dict):
            s.problems.append(f"part {ident}: data is not a JSON object")
            data = {"type": "(unreadable)"}
        data = {**data, "id": ident}
        _attach(by_id, nonempty_str(row.get("message_id")) or "", data)
    s.messages = _ordered(by_id)
    s.todos = sorted(
        _rows(files, "todo.jsonl", s),
        key=lambda r: r.get("position") if isinstance(r.get("position"), int) else 0,
    )
    s.extra_records = _rows(files, "session_message.jsonl", s)
    return s


def _attach(by_id: dict[str, Message], message_id: str, part: dict[str, Any]) -> None:
    message = by_id.get(message_id)
    if message is None:  # a part whose message row is missing: keep it visible
        message = by_id[message_id] = Message(message_id, {"role": "(missing message)"})
    message.parts.append(part)


def _ordered(by_id: dict[str, Message]) -> list[Message]:
    for m in by_id.values():
        m.parts.sort(key=lambda p: str(p.get("id", "")))
    return sorted(
        by_id.values(),
        key=lambda m: (m.created_ms if m.created_ms is not None else float("inf"), m.id),
    )


# -- legacy JSON tree ----------------------------------------------------------------------


def _from_tree(files: Mapping[str, bytes]) -> Session:
    s = Session(layout="storage")
    by_id: dict[str, Message] = {}
    parts: list[tuple[str, dict[str, Any]]] = []
    for name in sorted(files):
        pieces = name.split("/")
        if pieces[0] == "todo" and len(pieces) == 2:
            value, problem = parse_json_bytes(files[name])
            if isinstance(value, list):
                s.todos = [t for t in value if isinstance(t, dict)]
            else:
                s.problems.append(f"{name}: {problem or 'not a JSON array'}")
            continue
        if len(pieces) != 3 or not pieces[2].endswith(".json"):
            continue
        kind, folder, stem = pieces[0], pieces[1], pieces[2][: -len(".json")]
        value, problem = parse_json_bytes(files[name])
        if problem or not isinstance(value, dict):
            s.problems.append(f"{name}: {problem or 'not a JSON object'}")
            if kind == "message":
                by_id.setdefault(stem, Message(stem, {"role": "(unreadable message)"}))
            continue
        if kind == "session":
            s.id = stem
            s.project_id = folder
            _session_json(s, value)
        elif kind == "message":
            by_id[stem] = Message(stem, value)
        elif kind == "part":
            parts.append((folder, {**value, "id": stem}))
    for message_id, part in parts:
        _attach(by_id, message_id, part)
    s.messages = _ordered(by_id)
    if s.id is None:
        s.problems.append("no session file")
    return s


def _session_json(s: Session, value: dict[str, Any]) -> None:
    s.title = value.get("title") if isinstance(value.get("title"), str) else None
    s.directory = nonempty_str(value.get("directory"))
    s.version = nonempty_str(value.get("version"))
    s.slug = nonempty_str(value.get("slug"))
    s.parent_id = nonempty_str(value.get("parentID"))
    share = value.get("share")
    s.share_url = nonempty_str(share.get("url")) if isinstance(share, dict) else None
    t = value.get("time")
    if isinstance(t, dict):
        s.created_ms = _num(t.get("created"))
        s.updated_ms = _num(t.get("updated"))
        s.archived_ms = _num(t.get("archived"))
    revert = value.get("revert")
    s.revert = revert if isinstance(revert, dict) else None
    summary = value.get("summary")
    if isinstance(summary, dict):
        s.summary = {k: v for k, v in summary.items() if isinstance(v, (int, float))}


# -- titles ---------------------------------------------------------------------------------


def first_prompt(session: Session) -> str:
    """The title derived from the first user message's non-synthetic text parts, or ``""``."""
    for m in session.messages:
        if m.role != "user":
            continue
        texts = [
            p["text"]
            for p in m.parts
            if p.get("type") == "text" and isinstance(p.get("text"), str) and not p.get("synthetic")
        ]
        title = title_from_text("\n".join(texts))
        if title:
            return title
    return ""


def ms_to_seconds(value: float | None) -> float | None:
    """Milliseconds → Unix seconds (``None`` for missing or out-of-range values)."""
    return parse_epoch(value, unit="ms") if value is not None else None
