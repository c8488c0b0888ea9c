"""Codex rollout files: record shapes and the metadata one read of a file gives.

Format (openai/codex ``codex-rs/core/src/rollout/recorder.rs``, ``codex-rs/protocol``): one
JSON object per line, ``{"timestamp", "type", "payload"}`` with ``type`` in ``session_meta``
(id, forked_from_id, cwd, originator, cli_version, model_provider, git, instructions),
``turn_context`` (model, effort, cwd, policies), ``response_item`` (what the model saw and
said: ``message``, ``reasoning``, ``function_call``/``function_call_output``,
``custom_tool_call``/``custom_tool_call_output``, ``local_shell_call``, ``web_search_call``,
``ghost_snapshot``, ``compaction`` …), ``event_msg`` (UI events: ``user_message``,
``agent_message``, ``agent_reasoning``, ``exec_command_end``, ``patch_apply_end``,
``thread_name_updated``, ``token_count`` …), ``compacted`` (summary + replacement history)
and ``world_state``. Early codex-rs files (mid 2025) have no envelope: a first line
``{"id", "timestamp", "instructions"}`` then bare response items and ``{"record_type":…}``
state lines. :func:`normalize` maps all of these to ``(kind, payload)``.

User text the CLI injects (``<environment_context>``, ``<user_instructions>``, AGENTS.md
instructions …) is not a prompt: :func:`is_preamble` tells them apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..jsonl import BadLine, JsonLine, nonempty_str
from ..timestamps import parse_iso
from ..titles import UNTITLED, title_from_text

__all__ = [
    "RESPONSE_ITEM_TYPES",
    "RolloutInfo",
    "RolloutScanner",
    "apply_session_meta",
    "is_preamble",
    "message_text",
    "normalize",
    "prompt_title",
]


RESPONSE_ITEM_TYPES = frozenset(
    {
        "message",
        "reasoning",
        "local_shell_call",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "web_search_call",
        "image_generation_call",
        "ghost_snapshot",
        "compaction",
        "tool_search_call",
        "tool_search_output",
        "agent_message",
    }
)
ENVELOPE_TYPES = frozenset(
    {
        "session_meta",
        "turn_context",
        "response_item",
        "event_msg",
        "compacted",
        "world_state",
    }
)
_PREAMBLE_PREFIXES = (
    "<environment_context>",
    "<user_instructions>",
    "<INSTRUCTIONS>",
    "# AGENTS.md instructions",
    "<permissions instructions>",
    "<collaboration_mode>",
    "<user_shell_command>",
    "<turn_aborted>",
    "<skill>",
    "<developer_instructions>",
)
_LEADING_SPACE = re.compile(r"\s*")  # what str.lstrip() removes
_TEXT_ITEMS = frozenset({"input_text", "output_text", "text", "summary_text", "reasoning_text"})


def normalize(rec: dict[str, Any], line: int) -> tuple[str, dict[str, Any]]:
    """``(kind, payload)`` for one line: ``kind`` is the envelope type (``"response_item"`` …),
    ``"state"`` for legacy state lines, ``"message"`` for bare ``{role, message|content}``
    lines, or the line's own ``type`` (possibly ``""``) when unknown."""
    kind = rec.get("type")
    payload = rec.get("payload")
    if isinstance(kind, str) and isinstance(payload, dict):
        return kind, payload
    if isinstance(kind, str) and kind in RESPONSE_ITEM_TYPES:
        return "response_item", rec
    if "record_type" in rec:
        return "state", rec
    if kind is None and isinstance(rec.get("id"), str) and "timestamp" in rec and line <= 2:
        return "session_meta", rec
    if kind is None and isinstance(rec.get("role"), str):
        return "message", rec
    return (kind if isinstance(kind, str) else ""), (payload if isinstance(payload, dict) else rec)


def message_text(payload: dict[str, Any]) -> str:
    """The text of a message-like payload: its text content items joined by blank lines, or a
    plain ``content``/``message``/``text`` string."""
    content = payload.get("content")
    if isinstance(content, list):
        parts = []
        for item in content:
            if isinstance(item, dict) and _is_str_in(item.get("type"), _TEXT_ITEMS):
                text = item.get("text")
                if isinstance(text, str):
                    parts.append(text)
            elif isinstance(item, str):
                parts.append(item)
        return "\n\n".join(parts)
    for key in ("content", "message", "text"):
        value = payload.get(key)
        if isinstance(value, str):
            return value
    return ""


def _is_str_in(value: Any, names: frozenset[str]) -> bool:
    return isinstance(value, str) and value in names


def is_preamble(text: str) -> bool:
    """True for user-role text the CLI injects (environment, instructions), not a prompt."""
    return text.startswith(_PREAMBLE_PREFIXES, _LEADING_SPACE.match(text).end())


@dataclass
class RolloutInfo:
    """What one read of a rollout gives. Times are Unix seconds (UTC); ``meta_id`` is the first
    ``session_meta`` id; ``thread_name`` the latest ``thread_name_updated``; ``prompt`` the
    first real user prompt (title form); ``models`` from ``turn_context`` in order of use."""

    meta_id: str | None = None
    forked_from: str | None = None
    parent_thread: str | None = None
    cwd: str | None = None
    cli_version: str | None = None
    originator: str | None = None
    model_provider: str | None = None
    source: str | None = None
    git: dict[str, Any] | None = None
    models: list[str] = field(default_factory=list)
    thread_name: str | None = None
    prompt: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    records: int = 0
    bad: list[BadLine] = field(default_factory=list)

    def title(self, index_name: str | None = None) -> tuple[str, str]:
        """``(title, source)``: thread name > ``session_index.jsonl`` name > first prompt."""
        if self.thread_name:
            return self.thread_name, "thread_name_updated"
        if index_name:
            return index_name, "session_index"
        if self.prompt:
            return self.prompt, "first-prompt"
        return UNTITLED, "none"


class RolloutScanner:
    """Feed a rollout's lines in order (:meth:`feed`); read :attr:`info` at the end.

    The Markdown renderer uses it. :meth:`CodexCollector.read` parses only a few lines
    instead (:class:`~collectors.codex.metadata.RolloutMetaScanner`), with the same rules."""

    def __init__(self) -> None:
        self.info = RolloutInfo()
        self._meta_seen = False

    def feed(self, item: JsonLine | BadLine) -> None:
        info = self.info
        if isinstance(item, BadLine):
            if not item.oversized:
                info.bad.append(item)
            return
        rec = item.value
        info.records += 1
        ts = parse_iso(rec.get("timestamp")) or parse_iso(rec.get("created_at"))
        if ts is not None:
            info.created_at = ts if info.created_at is None else min(info.created_at, ts)
            info.updated_at = ts if info.updated_at is None else max(info.updated_at, ts)
        kind, payload = normalize(rec, item.number)
        if kind == "session_meta":
            if not self._meta_seen:
                self._meta_seen = True
                self._session_meta(payload)
        elif kind == "turn_context":
            model = nonempty_str(payload.get("model"))
            if model is not None and model not in info.models:
                info.models.append(model)
        elif kind == "event_msg" and payload.get("type") == "thread_name_updated":
            info.thread_name = nonempty_str(payload.get("thread_name")) or info.thread_name
        elif info.prompt is None:
            info.prompt = prompt_title(kind, payload)

    def _session_meta(self, payload: dict[str, Any]) -> None:
        apply_session_meta(self.info, payload)


def prompt_title(kind: str, payload: dict[str, Any]) -> str | None:
    """The title form of a record's text if it is a real user prompt (a ``user_message``
    event, or a user message item or line that is not injected preamble), else ``None``."""
    if kind == "event_msg":
        if payload.get("type") != "user_message":
            return None
        text = nonempty_str(payload.get("message")) or ""
    elif kind == "response_item":
        if payload.get("type") not in ("message", None) or payload.get("role") != "user":
            return None
        text = message_text(payload)
    elif kind == "message" and payload.get("role") == "user":
        text = message_text(payload)
    else:
        return None
    if text and not text.isspace() and not is_preamble(text):
        return title_from_text(text) or None
    return None


def apply_session_meta(info: RolloutInfo, payload: dict[str, Any]) -> None:
    """Take the first ``session_meta`` payload's fields into ``info``."""
    info.meta_id = nonempty_str(payload.get("id"))
    info.forked_from = nonempty_str(payload.get("forked_from_id"))
    info.parent_thread = nonempty_str(payload.get("parent_thread_id"))
    info.cwd = nonempty_str(payload.get("cwd"))
    info.cli_version = nonempty_str(payload.get("cli_version"))
    info.originator = nonempty_str(payload.get("originator"))
    info.model_provider = nonempty_str(payload.get("model_provider"))
    info.source = nonempty_str(payload.get("source"))
    git = payload.get("git")
    if isinstance(git, dict):
        info.git = {k: v for k, v in git.items() if isinstance(v, (str, int, float, bool))}
    ts = parse_iso(payload.get("timestamp"))
    if ts is not None:
        info.created_at = ts if info.created_at is None else min(info.created_at, ts)
