"""One DeepSeek conversation, parsed from any of the three shapes aifs imports.

Shapes (field names as the platform writes them):

* **Official export** (chat.deepseek.com > Settings > Data > Export all history): a zip whose
  ``conversations.json`` is an array of ``{id, title, inserted_at, updated_at, mapping}``.
  ``mapping`` is node id → ``{id, parent, children[], message}``; the root node is called
  ``root`` and has ``message: null``; other ids are numbers as strings (``"1"``, ``"2"``).
  ``message`` is ``{files[{id, file_name}], model, inserted_at, fragments[]}``; a fragment is
  ``{type, …}`` with ``type`` one of ``REQUEST``/``RESPONSE``/``THINK`` (``content``),
  ``SEARCH`` (``results[{url, title, snippet, cite_index, published_at, site_name, …}]``),
  ``FILE`` (``files[{file_id, file_name, file_size}]``), ``TOOL_SEARCH``, ``TOOL_OPEN`` …
  Times are RFC 3339 strings with an offset. There is no current node: the newest leaf (by
  ``inserted_at``) is taken as current and every branch is kept. Measured layout:
  dimpurr/chat-stasher ``crates/chat-stasher/src/import/deepseek.rs``;
  fixture ``../shared/fixtures/deepseek/synthetic/conversations.json``.
* **A single conversation object** of that shape, as hand-built samples have it
  (andrmkrff/deepseek-chat-export ``examples/sample_conversation.json``): may say
  ``create_time``/``update_time`` instead of ``inserted_at``/``updated_at``,
  ``conversation_id`` instead of ``id``, and may carry a ``current_node`` (used when it names
  a node).
* **The web API's** ``GET /api/v0/chat/history_messages`` **response**, as the
  ceyaima/deepseek-exporter user script saves it ("RAW"): ``{code, msg, data: {biz_data:
  {chat_session: {id, title, inserted_at, updated_at, current_message_id, …},
  chat_messages: [{message_id, parent_id, role USER|ASSISTANT, model, status,
  inserted_at, files[], fragments[{id, type, content, elapsed_secs, references[]}]}]}}}``
  with epoch-second floats for times and integer message ids; ``parent_id: null`` on every
  edited first prompt (several roots).

Everything here tolerates any JSON value: what does not fit is left out and counted in
:attr:`Conversation.warnings` (no content in warnings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..branches import Thread, threads
from ..timestamps import parse_time
from ..titles import UNTITLED, title_from_text

__all__ = ["Conversation", "Message", "parse_conversation", "shape_of"]

EXPORT = "export"
SINGLE = "export-single"
WEB_API = "web-api"


@dataclass(slots=True)
class Message:
    """One message node. ``id`` is the node id as a string; ``parent`` likewise or ``None``;
    ``role`` ``"user"``/``"assistant"``/``""`` (unknown); ``time`` Unix seconds or ``None``;
    ``fragments`` the raw fragment dicts; ``files`` the message's own ``files`` dicts;
    ``status`` the web API's message status (``FINISHED`` …) or ``None``."""

    id: str
    parent: str | None
    role: str = ""
    model: str | None = None
    time: float | None = None
    fragments: list[dict] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    status: str | None = None


@dataclass(slots=True)
class Conversation:
    """A parsed conversation: ``shape`` is ``export`` (an element of ``conversations.json``),
    ``export-single`` (one such object as a whole file) or ``web-api``; ``parents`` node id →
    parent id for every node (messages and the ``root`` sentinel), in document order;
    ``messages`` node id → :class:`Message` for nodes that carry one; ``current`` the node the
    platform names as current, if any (validated against ``parents``)."""

    shape: str
    native_id: str | None
    title: str | None
    created_at: float | None
    updated_at: float | None
    parents: dict[str, str | None] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    current: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def threads(self) -> list[Thread]:
        """The current thread (to the current node, else the newest leaf) then every branch."""
        return threads(self.parents, current=self.current, children=self.children,
                       sort_key=lambda node: _time_of(self.messages.get(node)))

    def first_prompt(self, ordered: list[Thread] | None = None) -> str:
        """The text of the first ``REQUEST`` fragment on the current thread (``""`` if none)."""
        for thread in (ordered if ordered is not None else self.threads())[:1]:
            for node in thread.ids:
                msg = self.messages.get(node)
                for frag in msg.fragments if msg else ():
                    if frag.get("type") == "REQUEST" and isinstance(frag.get("content"), str):
                        if frag["content"].strip():
                            return frag["content"]
        return ""

    def display_title(self, ordered: list[Thread] | None = None) -> str:
        """The platform's title, else one from the first prompt, else ``Untitled``."""
        if isinstance(self.title, str) and self.title.strip():
            return self.title
        return title_from_text(self.first_prompt(ordered)) or UNTITLED

    def models(self) -> list[str]:
        """The distinct non-empty model names, sorted."""
        return sorted({m.model for m in self.messages.values() if m.model})


def _time_of(msg: Message | None) -> float | None:
    return msg.time if msg is not None else None


def _id(value: Any) -> str | None:
    """A node or conversation id as a string (ints become decimal strings); else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def shape_of(value: Any) -> str | None:
    """Which shape a parsed JSON *object* is: ``export-single`` (has a ``mapping`` object),
    ``web-api`` (``data.biz_data.chat_messages``), or ``None``."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("mapping"), dict):
        return SINGLE
    data = value.get("data")
    biz = data.get("biz_data") if isinstance(data, dict) else None
    if isinstance(biz, dict) and (isinstance(biz.get("chat_messages"), list)
                                  or isinstance(biz.get("chat_session"), dict)):
        return WEB_API
    return None


def parse_conversation(value: Any, shape: str = EXPORT) -> Conversation:
    """Parse one conversation of ``shape`` (:data:`EXPORT`, :data:`SINGLE` or
    :data:`WEB_API`). Raises ``ValueError`` with a content-free reason (``no mapping``,
    ``not an object`` …) when ``value`` cannot be a conversation of that shape."""
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    if shape == WEB_API:
        return _parse_web_api(value)
    return _parse_mapping(value, shape)


def _parse_mapping(value: dict, shape: str) -> Conversation:
    if "mapping" not in value:
        raise ValueError("no mapping")
    mapping = value["mapping"]
    if not isinstance(mapping, dict):
        raise ValueError("mapping is not an object")
    conv = Conversation(
        shape=shape,
        native_id=_id(value.get("id")) or _id(value.get("conversation_id")),
        title=_str(value.get("title")),
        created_at=_first_time(value, "inserted_at", "create_time", "created_at"),
        updated_at=_first_time(value, "updated_at", "update_time"),
    )
    bad = 0
    for key, node in mapping.items():
        if not isinstance(node, dict):
            bad += 1
            continue
        node_id = key  # the mapping key is the id children/parent refer to
        parent = _id(node.get("parent"))
        conv.parents[node_id] = parent
        listed = node.get("children")
        kids = [k for k in map(_id, listed) if k] if isinstance(listed, list) else []
        if kids:
            conv.children[node_id] = kids
        message = node.get("message")
        if isinstance(message, dict):
            conv.messages[node_id] = Message(
                id=node_id, parent=parent,
                role=_role(message),
                model=_str(message.get("model")),
                time=parse_time(message.get("inserted_at")),
                fragments=_dicts(message.get("fragments")),
                files=_dicts(message.get("files")),
                status=_str(message.get("status")),
            )
    if bad:
        conv.warnings.append(f"{bad} mapping node(s) are not objects and were left out")
    current = _id(value.get("current_node"))
    if current is not None:
        if current in conv.parents:
            conv.current = current
        else:
            conv.warnings.append("current_node names no node; the newest leaf is shown first")
    return conv


def _parse_web_api(value: dict) -> Conversation:
    data = value.get("data")
    biz = data.get("biz_data") if isinstance(data, dict) else None
    if not isinstance(biz, dict):
        raise ValueError("no data.biz_data")
    session = biz.get("chat_session") if isinstance(biz.get("chat_session"), dict) else {}
    raw_messages = biz.get("chat_messages")
    if not isinstance(raw_messages, list):
        raise ValueError("no chat_messages list")
    conv = Conversation(
        shape=WEB_API,
        native_id=_id(session.get("id")),
        title=_str(session.get("title")),
        created_at=parse_time(session.get("inserted_at")),
        updated_at=parse_time(session.get("updated_at")),
    )
    for key in ("agent", "title_type", "pinned", "version"):
        item = session.get(key)
        if isinstance(item, (str, bool, int)) and not isinstance(item, float):
            conv.extra[key] = item
    bad = 0
    for raw in raw_messages:
        node_id = _id(raw.get("message_id")) if isinstance(raw, dict) else None
        if node_id is None or node_id in conv.parents:
            bad += 1
            continue
        parent = _id(raw.get("parent_id"))
        conv.parents[node_id] = parent
        conv.messages[node_id] = Message(
            id=node_id, parent=parent,
            role=_role(raw),
            model=_str(raw.get("model")),
            time=parse_time(raw.get("inserted_at")),
            fragments=_dicts(raw.get("fragments")),
            files=_dicts(raw.get("files")),
            status=_str(raw.get("status")),
        )
    if bad:
        conv.warnings.append(f"{bad} chat message(s) without a usable message_id were left out")
    current = _id(session.get("current_message_id"))
    if current is not None and current in conv.parents:
        conv.current = current
    elif current is not None:
        conv.warnings.append("current_message_id names no message; the newest leaf is shown first")
    return conv


def _first_time(value: dict, *keys: str) -> float | None:
    for key in keys:
        seconds = parse_time(value.get(key))
        if seconds is not None:
            return seconds
    return None


def _role(message: dict) -> str:
    """``user``/``assistant`` from an explicit ``role`` (web API), else from the fragment
    types (``REQUEST``/``FILE`` are the person's; ``RESPONSE``/``THINK``/``SEARCH`` and tool
    fragments the model's); ``""`` when neither says."""
    role = message.get("role")
    if isinstance(role, str) and role.strip():
        low = role.strip().lower()
        return {"user": "user", "human": "user", "assistant": "assistant"}.get(low, low)
    types = {f["type"] for f in _dicts(message.get("fragments")) if isinstance(f.get("type"), str)}
    if "REQUEST" in types:
        return "user"
    if types - {"FILE"}:
        return "assistant"
    if "FILE" in types:
        return "user"
    return ""
