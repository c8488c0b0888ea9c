"""Grok (xAI) data exports → conversation snapshots.

Reads every ``prod-grok-backend.json`` in the export (the zip, its extracted folder, or the
file alone; in the zip it sits under ``ttl/30d/export_data/<uuid>/``), streaming its
``conversations`` array: each element's exact bytes become that conversation's
``conversation.json``. Uploaded files a response names in ``file_attachments`` are taken from
``prod-mc-asset-server/<asset id>/…`` (the folder beside the backend file first, else any
such folder in the export) and stored as ``files/<asset id>/<file>`` (normally
``files/<asset id>/content``). Assets no response names stay only in the stored export file.
Generated images are listed by URL; the export is not known to hold their bytes under a
name a response refers to. Formats: :mod:`.model`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile

from .. import markdown as md
from ..export_source import ExportError, ExportSource
from ..importing import CONVERSATION_FILE, Skipped, snapshot_or_skipped
from ..jsonstream import JsonStreamError, iter_array, looks_complete
from .model import Conversation, parse_conversation, safe_asset_id
from .render import render_conversation

__all__ = ["GrokImporter"]

log = logging.getLogger(__name__)

BACKEND = "prod-grok-backend.json"
ACCOUNT = "prod-mc-auth-mgmt-api.json"
ASSETS = "prod-mc-asset-server"
ACCOUNT_LIMIT = 16 * 1024 * 1024
WRAPPER = ("conversations",)

_Index = dict[str, list[tuple[str, str, str]]]
"""Asset id → ``(member name, folder holding prod-mc-asset-server/, path in the asset)``."""


def _key(name: str) -> re.Pattern[str]:
    return re.compile(r'(?<!\\)"' + re.escape(name) + r'"\s*:')


_CONVERSATIONS = _key("conversations")
_CONVERSATION_OBJ = re.compile(r'(?<!\\)"conversation"\s*:\s*\{')
_RESPONSES = _key("responses")


def head_is_grok(head: str) -> bool:
    """True if the first few KiB of a JSON file look like ``prod-grok-backend.json``: an
    object with a ``conversations`` key whose elements have a ``conversation`` object (or,
    for an export without conversations, only the ``conversations`` key at the start)."""
    text = head.lstrip("\ufeff \t\r\n")
    if not text.startswith("{") or not _CONVERSATIONS.search(text):
        return False
    return bool(_CONVERSATION_OBJ.search(text) or _RESPONSES.search(text)
                or re.match(r'\{\s*"conversations"\s*:\s*\[\s*\]', text))


class GrokImporter:
    """Imports Grok data exports (see the module docstring). Registered as ``grok``."""

    name: ClassVar[str] = "grok"
    provider: ClassVar[str] = "grok"

    def detect(self, export: ExportSource) -> bool:
        """True if the export holds a ``prod-grok-backend.json``, or is a single JSON file
        that starts like one. Reads at most 4 KiB."""
        if _backends(export):
            return True
        if export.kind != "file":
            return False
        return head_is_grok(export.head(next(iter(export.members))).decode("utf-8", "replace"))

    def is_full(self, export: ExportSource) -> bool:
        """True for the official export (zip or folder with ``prod-grok-backend.json``)."""
        return export.kind in ("zip", "folder") and bool(export.find(BACKEND))

    def account(self, export: ExportSource) -> str | None:
        """The account: ``user.email`` (else ``user.userId``) from
        ``prod-mc-auth-mgmt-api.json``, else the first conversation's ``user_id``, else
        ``None``. Only those fields are read; sign-in sessions in the same file are not."""
        for name in sorted(export.find(ACCOUNT), key=lambda n: (n.count("/"), n)):
            try:
                doc = json.loads(export.read(name, limit=ACCOUNT_LIMIT))
            except (ExportError, ValueError, RecursionError):
                continue
            user = doc.get("user") if isinstance(doc, dict) else None
            if isinstance(user, dict):
                for key in ("email", "userId", "user_id", "id"):
                    value = user.get(key)
                    if isinstance(value, str) and value.strip():
                        return value.strip()
        for name in _backends(export):
            try:
                with export.open(name) as stream:
                    for _raw, value in iter_array(stream, wrapper_keys=WRAPPER):
                        head = value.get("conversation") if isinstance(value, dict) else None
                        user_id = head.get("user_id") if isinstance(head, dict) else None
                        if isinstance(user_id, str) and user_id.strip():
                            return user_id.strip()
                        break
            except (ExportError, JsonStreamError):
                continue
        return None

    def read(self, export: ExportSource) -> Iterator[ConversationSnapshot | Skipped]:
        """Yield a snapshot per conversation and a :class:`Skipped` per element that is not
        one (no ``conversation`` object, no id). Raises :class:`ExportError` when a backend
        file is cut off, not JSON, or has no ``conversations`` list."""
        names = _backends(export)
        if not names and export.kind == "file":
            names = list(export.members)
        if not names:
            raise ExportError(str(export.path), f"no {BACKEND} in the export")
        assets = _asset_index(export)
        for name in names:
            yield from self._read_backend(export, name, assets)

    def _read_backend(self, export: ExportSource, member: str,
                      assets: _Index) -> Iterator[ConversationSnapshot | Skipped]:
        where = export.where(member)
        head = export.head(member, strict=True).decode("utf-8", "replace")
        if not head.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
            raise ExportError(where, "not a Grok export (not a JSON object)")
        if not looks_complete(export.tail(member)):
            raise ExportError(where, "the file ends early (half-downloaded?); "
                              "download the export again")
        home = member.rsplit("/", 1)[0] + "/" if "/" in member else ""
        stripped = head.lstrip("\ufeff \t\r\n")
        seen = 0
        try:
            with export.open(member) as stream:
                for index, (raw, value) in enumerate(iter_array(stream, wrapper_keys=WRAPPER), 1):
                    seen += 1
                    yield self._entry(export, member, f"{member} entry {index}", raw, value,
                                      assets, home)
        except JsonStreamError as e:
            if e.truncated:
                raise ExportError(where, "the file ends early (half-downloaded?); "
                                  "download the export again") from None
            raise ExportError(where, f"not a readable Grok export ({e})") from None
        if not seen and stripped.startswith("{") and not _CONVERSATIONS.search(stripped):
            raise ExportError(where, "not a Grok export (no conversations list)")

    def _entry(self, export: ExportSource, member: str, label: str, raw: bytes, value: Any,
               assets: _Index, home: str) -> ConversationSnapshot | Skipped:
        try:
            conv = parse_conversation(value)
        except ValueError as e:  # content-free reasons from .model
            inner = value.get("conversation") if isinstance(value, dict) else None
            wid = inner.get("id") if isinstance(inner, dict) else None
            return Skipped(label, str(e), wid if isinstance(wid, str) and wid else None)
        return snapshot_or_skipped(
            conv.native_id, lambda: _snapshot(export, member, conv, raw, assets, home), log)

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version (see :func:`.render.render_conversation`)."""
        return render_conversation(files, meta)


def _snapshot(export: ExportSource, member: str, conv: Conversation, raw: bytes,
              assets: _Index, home: str) -> ConversationSnapshot:
    ordered = conv.threads()
    stamp = conv.updated_at if conv.updated_at is not None else conv.created_at
    files = [RawFile(CONVERSATION_FILE, data=raw,
                     mtime_ns=int(stamp * 1e9) if stamp is not None else None)]
    stored: set[str] = set()
    missing = unreadable = 0
    wanted: list[str] = []
    for resp in conv.responses.values():
        for asset in resp.attachments:
            if asset not in wanted:
                wanted.append(asset)
    for asset in wanted:
        members = _asset_members(assets, asset, home) if safe_asset_id(asset) else []
        if not members:
            missing += 1
            continue
        for name, _home, rest in members:
            stored_as = f"files/{asset}/{rest}"
            if stored_as not in stored:
                stored.add(stored_as)
                try:
                    files.append(export.raw_file(name, stored_as))
                except ExportError:  # a damaged member: keep the conversation without it
                    unreadable += 1
    attributes: dict[str, Any] = {"responses": len(conv.responses), "branches": len(ordered)}
    models = conv.models()
    if models:
        attributes["models"] = models[:20]
    if ordered and ordered[0].ids:
        attributes["current_response"] = str(ordered[0].ids[-1])
    if conv.user_id:
        attributes["user_id"] = conv.user_id
    if wanted:
        attributes["attachments"] = len(wanted)
    if missing:
        attributes["attachments_missing"] = missing
    attributes.update(conv.flags)
    warnings = list(conv.warnings)
    if unreadable:
        warnings.append(f"{unreadable} attachment file(s) could not be read from the export")
    return ConversationSnapshot(
        provider=GrokImporter.provider,
        native_id=conv.native_id,
        title=conv.display_title(ordered),
        files=tuple(files),
        created_at=conv.created_at,
        updated_at=conv.updated_at,
        source_path=export.where(member),
        attributes=attributes,
        warnings=tuple(warnings),
    )


def _backends(export: ExportSource) -> list[str]:
    return sorted(export.find(BACKEND), key=lambda n: (n.count("/"), n))


def _asset_index(export: ExportSource) -> _Index:
    """Asset id → ``(member name, folder holding prod-mc-asset-server/ ("" or "…/"), path
    inside the asset's folder)`` for every member under ``…/prod-mc-asset-server/<id>/``."""
    index: _Index = {}
    for name in export.members:
        if ASSETS not in name:
            continue
        parts = name.split("/")
        for i, part in enumerate(parts[:-2]):
            if part == ASSETS:
                home = "/".join(parts[:i]) + "/" if i else ""
                index.setdefault(parts[i + 1], []).append((name, home, "/".join(parts[i + 2:])))
                break
    return index


def _asset_members(index: _Index, asset: str,
                   home: str) -> list[tuple[str, str, str]]:
    """The files of asset ``asset``: those beside the backend file (in ``home``) if any,
    else those of the first other export folder that has it."""
    entries = index.get(asset, [])
    local = [e for e in entries if e[1] == home]
    if local or not entries:
        return local
    return [e for e in entries if e[1] == entries[0][1]]
