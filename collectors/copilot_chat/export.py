"""Importing VS Code "Chat: Export Chat…" files (GitHub Copilot Chat) into ``copilot-chat``.

VS Code's *Chat: Export Chat…* command saves one chat as JSON: ``ChatModel.toExport()`` in
microsoft/vscode ``src/vs/workbench/contrib/chat/common/model/chatModel.ts``
(``IExportableChatData``)::

    {requesterUsername, requesterAvatarIconUri, responderUsername, responderAvatarIconUri,
     initialLocation, requests: [{requestId, message: {text, parts}, variableData,
                                  response: [<part>, …], result, responseId, followups,
                                  isCanceled, agent, contentReferences, codeCitations,
                                  timestamp (ms), modelId}, …]}

It is the session state of :mod:`.session` without ``sessionId``, ``creationDate`` or
``customTitle``. (Sample: peckjon/copilot-chat-to-markdown ``samples/chat.json``.)

Decisions:

- ``native_id`` is ``"export-" + requests[0].requestId``: the export has no session id, and
  the first request's id stays the same when the same chat is exported again later with
  more requests, so the later export becomes a new version of the same conversation. (It
  changes only if the first request was removed from the chat before exporting.) It never
  equals a session id the local ``copilot-chat`` collector uses, so an exported chat and the
  same chat collected from VS Code's storage are two conversations.
- ``conversation.json`` is the exported file's exact bytes; rendering is the local
  collector's :func:`.render.render_session` (it renders any ``.json`` session state).
- :meth:`CopilotChatExportImporter.account` is ``requesterUsername`` (the user's public
  GitHub login, which the export names); it is used only as the org name, not copied into
  the conversations' attributes.
- Never a full export (:meth:`~CopilotChatExportImporter.is_full` is False).

Accepts one exported file, or a folder or zip of several (each ``.json`` file one chat).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot

from .. import markdown as md
from ..export_files import conversation_file, first_heads, json_members, load_json, read_files
from ..export_source import ExportSource
from ..importing import EntryError, Skipped
from .render import render_session
from .session import request_text, requests_of, session_info

__all__ = ["CopilotChatExportImporter", "EXPORT_PREFIX"]

log = logging.getLogger(__name__)

EXPORT_PREFIX = "export-"
_REQUESTER = re.compile(rb'"requesterUsername"\s*:\s*("(?:[^"\\]|\\.){0,512}")')


def looks_like_export(head: bytes) -> bool:
    """Does a file starting with ``head`` look like an exported chat: a JSON object naming
    ``requesterUsername`` and ``requests`` (VS Code writes both first, in that order)?"""
    return head.startswith(b"{") and b'"requesterUsername"' in head and b'"requests"' in head


def _first_request_id(state: Mapping[str, Any]) -> str | None:
    requests = requests_of(state)
    first = requests[0] if requests else None
    ident = first.get("requestId") if isinstance(first, dict) else None
    return ident if isinstance(ident, str) and ident else None


def _load(export: ExportSource, member: str) -> tuple[bytes, dict[str, Any]]:
    data, value = load_json(export, member, "export the chat again")
    if (not isinstance(value, dict) or not isinstance(value.get("requests"), list)
            or not ("requesterUsername" in value or "responderUsername" in value)):
        raise EntryError("not a VS Code chat export (no requests and requesterUsername)")
    if _first_request_id(value) is None:
        raise EntryError("the chat has no request with a requestId (nothing to name it by)")
    return data, value


def _identify(loaded: tuple[bytes, dict[str, Any]]) -> tuple[str, tuple[int, float]]:
    """The chat's id and rank among copies: the most requests, then the latest activity."""
    state = loaded[1]
    info = session_info(state)
    return EXPORT_PREFIX + str(_first_request_id(state)), (info.requests, info.updated_at or 0.0)


class CopilotChatExportImporter:
    """VS Code "Chat: Export Chat…" JSON files. ``name`` and ``provider``: ``copilot-chat``
    (the same provider as the local collector, whose renderer shows them)."""

    name: ClassVar[str] = "copilot-chat"
    provider: ClassVar[str] = "copilot-chat"

    def detect(self, export: ExportSource) -> bool:
        """True if the single file, or one of the first few ``.json`` members, starts like
        an exported chat. Reads at most 4 KiB of each of at most 8 members."""
        return any(looks_like_export(head) for head in first_heads(export, json_members(export)))

    def account(self, export: ExportSource) -> str | None:
        """The ``requesterUsername`` (GitHub login) of the first exported chat that names
        one in its first 4 KiB, else ``None``."""
        for head in first_heads(export, json_members(export)):
            m = _REQUESTER.search(head)
            if m:
                try:
                    value = json.loads(m.group(1))
                except ValueError:
                    continue
                if isinstance(value, str) and value.strip():
                    return value.strip()
        return None

    def is_full(self, export: ExportSource) -> bool:
        """Always False: an export holds the chats the user chose, not all of them."""
        return False

    def read(self, export: ExportSource) -> Iterator[ConversationSnapshot | Skipped]:
        """One snapshot per exported chat; a :class:`Skipped` per ``.json`` file that is not
        a readable export, and per older copy of a chat another file holds (the copy with
        the most requests, then the latest activity, then the last by name, is kept).

        Raises :class:`ExportError` when there is no ``.json`` file, or when the single file
        handed over cannot be read."""
        return read_files(export, json_members(export),
                          load=lambda member: _load(export, member), identify=_identify,
                          snapshot=lambda member, loaded: self._snapshot(export, member, *loaded),
                          what="chat")

    def _snapshot(self, export: ExportSource, member: str, data: bytes,
                  state: dict[str, Any]) -> ConversationSnapshot:
        info = session_info(state)
        native = EXPORT_PREFIX + str(_first_request_id(state))
        requests = requests_of(state)
        attributes: dict[str, Any] = {"requests": info.requests, "exported": True}
        if info.models:
            attributes["models"] = info.models
        if info.location:
            attributes["location"] = info.location
        if info.session_id:  # a session file from VS Code's storage, not an export
            attributes["session_id"] = info.session_id
        warnings = []
        odd = sum(1 for r in requests if not isinstance(r, dict))
        if odd:
            warnings.append(f"{odd} requests are not objects")
        if not any(request_text(r) for r in requests):
            warnings.append("no request has text")
        return ConversationSnapshot(
            provider=self.provider,
            native_id=native,
            title=info.title,
            files=(conversation_file(export, member, data),),
            created_at=info.created_at,
            updated_at=info.updated_at,
            source_path=export.where(member),
            attributes=attributes,
            warnings=tuple(warnings),
        )

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md``: the local collector's :func:`.render.render_session`."""
        return render_session(files, meta)
