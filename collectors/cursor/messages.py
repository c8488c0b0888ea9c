"""Facts about Cursor messages that reading and rendering share: roles, text, models, times.

Three message shapes (``FORMATS.md`` "Cursor"; michaeldhood/chatrxiv
``docs/cursor/storage-reference.md`` for the composer fields):

* **composer bubble** (``bubbleId:<composerId>:<bubbleId>`` values, or inline in old
  ``composerData``): ``type`` 1 user / 2 assistant, ``text``, ``richText`` (Lexical editor
  JSON), ``thinking {text}``, ``toolFormerData {name, rawArgs, result, status}``,
  ``modelInfo {modelName}``, ``createdAt`` (ISO string);
* **legacy chat bubble** (``workbench.panel.aichat.view.aichat.chatdata`` ``tabs[].bubbles[]``):
  ``type`` "user" / "ai", ``text``, ``rawText``, ``modelType``;
* **agent message** (cursor-agent ``store.db`` blobs and ``agent-transcripts`` lines):
  ``role`` user / assistant / tool / system, ``content`` a string or a list of blocks;
  user text wrapped in ``<user_query>…</user_query>``.

Everything here is tolerant: odd values give ``""``/``None``, never an exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..timestamps import parse_time
from ..titles import UNTITLED, title_from_text

__all__ = [
    "MessageStats",
    "agent_text",
    "bubble_role",
    "bubble_text",
    "choose_title",
    "lexical_text",
    "split_user_query",
]

_USER_QUERY = re.compile(r"<user_query>\s*(.*?)\s*</user_query>", re.DOTALL)
_LEXICAL_LIMIT = 10_000


def bubble_role(bubble: dict[str, Any]) -> str:
    """``"user"``, ``"assistant"`` or ``"other"`` for a composer or legacy chat bubble."""
    kind = bubble.get("type")
    if kind in (1, "user"):
        return "user"
    if kind in (2, "ai", "assistant"):
        return "assistant"
    return "other"


def lexical_text(rich: Any) -> str:
    """The plain text of a Lexical editor state (``richText``: a JSON string or object):
    text nodes joined, paragraphs on their own lines. ``""`` if it is not one."""
    if isinstance(rich, str):
        if not rich.startswith("{"):
            return ""
        try:
            rich = json.loads(rich)
        except (ValueError, RecursionError):
            return ""
    if not isinstance(rich, dict):
        return ""
    lines: list[str] = []
    stack: list[tuple[Any, int]] = [(rich.get("root", rich), 0)]
    current: list[str] = []
    seen = 0
    while stack and seen < _LEXICAL_LIMIT:
        node, depth = stack.pop()
        seen += 1
        if not isinstance(node, dict):
            continue
        if node.get("type") in ("paragraph", "heading", "quote", "listitem", "code") and current:
            lines.append("".join(current))
            current = []
        text = node.get("text")
        if isinstance(text, str):
            current.append(text)
        elif node.get("type") == "linebreak":
            current.append("\n")
        children = node.get("children")
        if isinstance(children, list) and depth < 64:
            stack.extend((child, depth + 1) for child in reversed(children))
    if current:
        lines.append("".join(current))
    return "\n".join(lines).strip()


def bubble_text(bubble: dict[str, Any]) -> str:
    """The visible text of a composer or legacy chat bubble (``text``, else ``rawText``,
    else the text of ``richText``)."""
    for name in ("text", "rawText"):
        value = bubble.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return lexical_text(bubble.get("richText"))


def split_user_query(text: str) -> tuple[str, str]:
    """``(query, rest)``: the text inside ``<user_query>`` tags (cursor-agent wraps the
    user's words in them, beside ``<user_info>`` context), and everything else; ``(text,
    "")`` when there are no such tags."""
    found = _USER_QUERY.findall(text)
    if not found:
        return text, ""
    rest = _USER_QUERY.sub("", text).strip()
    return "\n\n".join(found), rest


def agent_text(content: Any) -> str:
    """The text blocks of an agent message's ``content`` (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") in ("text", None):
                text = block.get("text")
                if isinstance(text, str):
                    parts.append(text)
            elif isinstance(block, str):
                parts.append(block)
    return "\n".join(parts)


def _model_of(bubble: dict[str, Any]) -> str | None:
    info = bubble.get("modelInfo")
    if isinstance(info, dict) and isinstance(info.get("modelName"), str) and info["modelName"]:
        return info["modelName"]
    for name in ("modelType", "model", "modelName"):
        value = bubble.get(name)
        if isinstance(value, str) and value:
            return value
    return None


@dataclass
class MessageStats:
    """What :meth:`Collector.read` keeps of a conversation's messages while copying them:
    counts, the first user prompt, models (first-use order) and the time range (Unix s)."""

    messages: int = 0
    user_messages: int = 0
    first_prompt: str | None = None
    models: list[str] = field(default_factory=list)
    first_at: float | None = None
    last_at: float | None = None

    def feed_bubble(self, bubble: Any) -> None:
        """Count one composer or legacy chat bubble."""
        if not isinstance(bubble, dict):
            return
        self.messages += 1
        if bubble_role(bubble) == "user":
            self.user_messages += 1
            self._prompt(bubble_text(bubble))
        model = _model_of(bubble)
        if model:
            self._model(model)
        self._time(parse_time(bubble.get("createdAt"), numeric_unit="ms"))

    def feed_agent(self, message: Any) -> None:
        """Count one agent message (``role`` + ``content``)."""
        if not isinstance(message, dict):
            return
        self.messages += 1
        if message.get("role") == "user":
            self.user_messages += 1
            query, _ = split_user_query(agent_text(message.get("content")))
            self._prompt(query)
        model = message.get("model")
        if isinstance(model, str) and model:
            self._model(model)

    def _prompt(self, text: str) -> None:
        if self.first_prompt is None and text.strip():
            self.first_prompt = text

    def _model(self, model: str) -> None:
        if model not in self.models:
            self.models.append(model)

    def _time(self, when: float | None) -> None:
        if when is None:
            return
        self.first_at = when if self.first_at is None else min(self.first_at, when)
        self.last_at = when if self.last_at is None else max(self.last_at, when)


def choose_title(name: Any, first_prompt: str | None) -> tuple[str, str]:
    """``(title, source)``: the tool's own ``name`` when it is a non-blank string (passed
    through unchanged), else the first prompt cut by :func:`title_from_text`, else
    ``Untitled``. ``source`` is ``"name"``, ``"first prompt"`` or ``"none"``."""
    if isinstance(name, str) and name.strip():
        return name, "name"
    if first_prompt:
        title = title_from_text(first_prompt)
        if title:
            return title, "first prompt"
    return UNTITLED, "none"
