"""One Grok conversation as the xAI data export holds it.

The export (grok.com > Settings > Data > "Download your data") is a zip whose files sit
under ``ttl/30d/export_data/<user uuid>/``: ``prod-grok-backend.json``,
``prod-mc-auth-mgmt-api.json`` (the account: ``user{userId, email, …}`` and sign-in
sessions), ``prod-mc-billing.json`` and ``prod-mc-asset-server/<asset uuid>/content`` (uploaded
files, named by the ids in ``file_attachments``).

``prod-grok-backend.json`` is ``{conversations: [...], projects, tasks, media_posts}``; each
element is::

    {conversation: {id, user_id, title, create_time, modify_time (ISO 8601),
                    leaf_response_id?, starred, temporary, system_prompt_name, …},
     responses: [{response: {_id, conversation_id, parent_response_id, sender
                             (human / assistant / ASSISTANT …), message (Markdown), model,
                             create_time ({$date: {$numberLong: "<ms>"}} or ISO),
                             file_attachments[<asset id>], thinking_trace,
                             web_search_results[], cited_web_search_results[], steps[],
                             generated_image_urls[], card_attachments_json, metadata, …},
                  share_link}]}

``leaf_response_id`` (when present) is the tip of the branch the user last saw; without it
the newest leaf is current. A ``parent_response_id`` outside the conversation's responses
makes that response a root. Sources: dimpurr/chat-stasher
``crates/chat-stasher/src/import/grok.rs`` (measured on a real export) and exporters that
copy ``prod-mc-asset-server/<id>/content`` for ``file_attachments``; fixture
``../shared/fixtures/grok/synthetic/prod-grok-backend.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..branches import Thread, threads
from ..timestamps import parse_epoch, parse_iso
from ..titles import UNTITLED, title_from_text

__all__ = ["Conversation", "Response", "grok_time", "parse_conversation", "safe_asset_id"]


@dataclass(slots=True)
class Response:
    """One response (a message of either side). ``role`` is ``user``, ``assistant`` or the
    sender as written (lower case) when it is neither; ``time`` Unix seconds or ``None``;
    ``raw`` the ``response`` object itself."""

    id: str
    parent: str | None
    role: str
    sender: str
    model: str | None
    time: float | None
    raw: dict

    @property
    def attachments(self) -> list[str]:
        """The asset ids in ``file_attachments`` (strings only, in order, each once)."""
        value = self.raw.get("file_attachments")
        items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        out: list[str] = []
        for item in items:
            if isinstance(item, str) and item and item not in out:
                out.append(item)
        return out


@dataclass(slots=True)
class Conversation:
    """A parsed conversation wrapper. ``parents``: response id → parent id, in document
    order; ``current``: ``leaf_response_id`` when it names a response."""

    native_id: str
    title: str | None
    created_at: float | None
    updated_at: float | None
    user_id: str | None
    responses: dict[str, Response] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    current: str | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def threads(self) -> list[Thread]:
        """The current thread (to ``leaf_response_id``, else the newest leaf), then branches."""
        return threads(self.parents, current=self.current,
                       sort_key=lambda node: self.responses[node].time)

    def display_title(self, ordered: list[Thread] | None = None) -> str:
        """The platform's title, else one from the first human message, else ``Untitled``."""
        if isinstance(self.title, str) and self.title.strip():
            return self.title
        for thread in (ordered if ordered is not None else self.threads())[:1]:
            for node in thread.ids:
                resp = self.responses.get(node)
                text = resp.raw.get("message") if resp else None
                if resp and resp.role == "user" and isinstance(text, str) and text.strip():
                    return title_from_text(text) or UNTITLED
        return UNTITLED

    def models(self) -> list[str]:
        """Distinct model names of the responses, sorted."""
        return sorted({r.model for r in self.responses.values() if r.model})


def grok_time(value: Any) -> float | None:
    """Unix seconds from a Grok time: MongoDB extended JSON ``{"$date": {"$numberLong":
    "<ms>"}}`` or ``{"$date": "<ISO>" | <ms>}``, an ISO 8601 string, or a bare number
    (milliseconds when above 10^11, else seconds). ``None`` for anything else."""
    if isinstance(value, dict):
        inner = value.get("$date")
        if isinstance(inner, dict):
            inner = inner.get("$numberLong")
        if isinstance(inner, str) and inner.strip().lstrip("-").isdigit():
            return parse_epoch(int(inner.strip()), unit="ms")
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return parse_epoch(inner, unit="ms")
        return parse_iso(inner)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            value = int(text)
        else:
            return parse_iso(text)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return parse_epoch(value, unit="ms" if abs(value) > 1e11 else "s")
    return None


def safe_asset_id(value: Any) -> bool:
    """True if ``value`` can name an asset folder (one path component, no control chars)."""
    return (isinstance(value, str) and 0 < len(value) <= 200 and value not in (".", "..")
            and not any(c in value for c in "/\\\0") and value.isprintable())


_ROLE = {"human": "user", "user": "user", "assistant": "assistant", "grok": "assistant",
         "model": "assistant"}


def parse_conversation(value: Any) -> Conversation:
    """Parse one element of ``conversations``. Raises ``ValueError`` with a content-free
    reason (``no conversation object``, ``no conversation id``) when it cannot be one."""
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    head = value.get("conversation")
    if not isinstance(head, dict):
        raise ValueError("no conversation object")
    native = head.get("id")
    if not isinstance(native, str) or not native.strip():
        raise ValueError("no conversation id")
    conv = Conversation(
        native_id=native,
        title=head.get("title") if isinstance(head.get("title"), str) else None,
        created_at=grok_time(head.get("create_time")),
        updated_at=grok_time(head.get("modify_time")),
        user_id=head.get("user_id") if isinstance(head.get("user_id"), str) else None,
    )
    for key in ("starred", "temporary", "system_prompt_name"):
        item = head.get(key)
        if isinstance(item, bool) or (isinstance(item, str) and item and len(item) <= 100):
            conv.flags[key] = item
    responses = value.get("responses")
    if responses is None:
        conv.warnings.append("the conversation has no responses list")
        responses = []
    elif not isinstance(responses, list):
        conv.warnings.append("responses is not a list; no messages shown")
        responses = []
    bad = 0
    for entry in responses:
        resp = entry.get("response") if isinstance(entry, dict) else None
        rid = resp.get("_id") if isinstance(resp, dict) else None
        if not isinstance(rid, str) or not rid or rid in conv.responses:
            bad += 1
            continue
        parent = resp.get("parent_response_id")
        parent = parent if isinstance(parent, str) and parent else None
        sender = resp.get("sender") if isinstance(resp.get("sender"), str) else ""
        low = sender.strip().lower()
        model = resp.get("model")
        conv.responses[rid] = Response(
            id=rid, parent=parent, sender=sender,
            role=_ROLE.get(low, "assistant" if low.startswith("grok") else low),
            model=model if isinstance(model, str) and model else None,
            time=grok_time(resp.get("create_time")),
            raw=resp,
        )
        conv.parents[rid] = parent
    if bad:
        conv.warnings.append(f"{bad} response(s) without a usable _id were left out")
    leaf = head.get("leaf_response_id")
    if isinstance(leaf, str) and leaf:
        if leaf in conv.responses:
            conv.current = leaf
        else:
            conv.warnings.append("leaf_response_id names no response; "
                                 "the newest leaf is shown first")
    return conv
