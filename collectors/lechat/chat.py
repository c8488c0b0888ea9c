"""One Mistral Le Chat chat file: names, message order and the facts read from it.

Format source: Superkikim/nexus-ai-chat-importer ``src/providers/lechat/lechat-types.ts``,
``lechat-converter.ts`` and ``lechat-attachment-extractor.ts`` (no official documentation
exists). A Le Chat data export holds, per chat::

    chat-<uuid>.json          a JSON array of messages, no title, no chat-level object:
        [{id, version (int), chatId, role: "user" | "assistant", content (str),
          contentChunks: null | [{type: "text", text}
                                 | {type: "tool_call", id?, name, isDone, success, turn?,
                                    startTime?, endTime? (ms), publicArguments (JSON text),
                                    publicResult?, …}
                                 | {type: "reference", referenceIds: [int]}
                                 | {type: "custom_element", …}],
          createdAt (ISO 8601), files: [{type: "image" | "text" | "document", name}],
          reaction ("neutral" …), reactionDetail, reactionComment, preference,
          preferenceOver, context, canvas: [], quotes: []}, …]
    chat-<uuid>-files/<name>  the chat's attachments, under their original names

The messages are not always in chronological order in the file (nexus-ai-chat-importer
sorts them by ``createdAt``), so :func:`chronological` orders them.

Everything here works on parsed values and never raises on content.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from ..timestamps import parse_iso

__all__ = [
    "CHAT_NAME",
    "FILES_FOLDER",
    "chat_url",
    "chronological",
    "message_text",
    "named_files",
]

CHAT_NAME = re.compile(r"^chat-(?P<id>[^/]+?)\.json$", re.IGNORECASE)
"""A chat file's base name; ``id`` is the chat uuid."""
FILES_FOLDER = re.compile(r"^chat-(?P<id>[^/]+)-files$", re.IGNORECASE)
"""A chat's attachment folder name; ``id`` is the chat uuid."""


def chat_url(chat_id: str) -> str:
    """The chat's address on chat.mistral.ai."""
    return f"https://chat.mistral.ai/chat/{chat_id}"


def chronological(messages: Sequence[Any]) -> list[int]:
    """Indices of ``messages`` in time order (by ``createdAt``; stable). A message without a
    readable time keeps its place after the message before it in the file."""
    keyed: list[tuple[float, int]] = []
    last = float("-inf")
    for index, message in enumerate(messages):
        when = parse_iso(message.get("createdAt")) if isinstance(message, dict) else None
        if when is not None:
            last = when
        keyed.append((last, index))
    keyed.sort()
    return [index for _, index in keyed]


def message_text(message: Any) -> str:
    """A message's text: ``content``, else its ``text`` chunks joined; ``""`` if none."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str) and content.strip():
        return content
    chunks = message.get("contentChunks")
    if isinstance(chunks, list):
        return "\n".join(c["text"] for c in chunks
                         if isinstance(c, dict) and c.get("type") == "text"
                         and isinstance(c.get("text"), str))
    return ""


def named_files(message: Any) -> list[str]:
    """The names in a message's ``files`` list (attachments it names), in order."""
    files = message.get("files") if isinstance(message, dict) else None
    if not isinstance(files, list):
        return []
    return [f["name"] for f in files
            if isinstance(f, dict) and isinstance(f.get("name"), str) and f["name"]]
