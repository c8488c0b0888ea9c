"""The Windsurf collector: Cascade conversations as opaque files.

Roots: ``options["path"]`` if set, else ``~/.codeium/windsurf`` and ``~/.codeium/windsurf-next``
(Windsurf Next, the preview build). Layout (FORMATS.md "Windsurf")::

    cascade/<uuid>.pb       one Cascade conversation; protobuf-named, but the bytes look
                            encrypted (no protobuf structure, high entropy): not decoded

Decisions:

* **Items**: one per ``cascade/*.pb``; key = native id = the uuid (``<uuid>@next`` for
  Windsurf Next). The raw file is the ``.pb`` itself, streamed byte for byte.
* **Metadata**: none can be read, so the title is ``Windsurf Cascade <first 8 characters of
  the uuid>`` and ``updated_at`` the file's modification time. A truncated file cannot be
  told from a whole one; it is stored as found.
* The Markdown view says the conversation is opaque and gives its size, modification time
  and SHA-256, so versions can be told apart.
* Never read: anything else under ``~/.codeium`` (``user_settings.pb``, ``memories/``, the
  language-server's auth state).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile, SourceStamp, open_regular

from .. import markdown as md
from ..base import CollectContext, SourceItem
from ..errors import ItemError, TemporaryItemError
from ..files import FoundFile, files_with_suffix, io_error
from ..locations import option_path
from ..timestamps import format_time

__all__ = ["WindsurfCollector", "cascade_title"]

log = logging.getLogger(__name__)

PROVIDER = "windsurf"


def cascade_title(uuid: str) -> str:
    """``Windsurf Cascade 3f2a1c9e`` for a conversation uuid."""
    return f"Windsurf Cascade {uuid[:8]}"


@dataclass(frozen=True)
class _Hint:
    file: FoundFile
    uuid: str
    edition: str


class WindsurfCollector:
    """Windsurf Cascade conversations, kept opaque (see the module docstring).
    :meth:`read` raises :class:`~collectors.TemporaryItemError` when the file vanished."""

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def roots(self, ctx: CollectContext) -> list[tuple[Path, str]]:
        """``(root, edition)`` pairs for ``ctx`` (existing or not); edition ``""`` or ``"next"``."""
        option = option_path(ctx)
        if option is not None:
            return [(option, "")]
        base = ctx.home / ".codeium"
        return [(base / "windsurf", ""), (base / "windsurf-next", "next")]

    def locate(self, ctx: CollectContext) -> list[Path]:
        """The ``cascade/`` folders that exist."""
        return [r / "cascade" for r, _ in self.roots(ctx) if (r / "cascade").is_dir()]

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """One item per ``.pb`` file. Lists and stats only."""
        for root, edition in self.roots(ctx):
            for found in files_with_suffix(root / "cascade", ".pb"):
                if isinstance(found, ItemError):
                    yield found
                    continue
                uuid = found.name[: -len(".pb")]
                key = f"{uuid}@{edition}" if edition else uuid
                yield SourceItem(key, (SourceStamp.of(found.path, found.st),),
                                 _Hint(found, uuid, edition))

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """The file as an opaque raw file. Raises :class:`ItemError` / :class:`TemporaryItemError`."""
        hint = item.hint
        if not isinstance(hint, _Hint):
            hint = next((f.hint for f in self.discover(ctx)
                         if isinstance(f, SourceItem) and f.key == item.key), None)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        path = hint.file.path
        try:
            st = os.stat(path)
            with open_regular(path):
                pass  # readable now (permission problems surface here, not in the vault)
        except OSError as exc:
            raise io_error(path, exc) from None
        attributes: dict[str, Any] = {"opaque": True, "size": st.st_size}
        if hint.edition:
            attributes["edition"] = "Windsurf Next"
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=item.key,
            title=cascade_title(hint.uuid),
            files=(RawFile(path.name, path=path, mtime_ns=st.st_mtime_ns),),
            updated_at=st.st_mtime,
            source_path=str(path),
            attributes=attributes,
        )

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """A page saying the conversation is opaque, with each file's size, time and hash."""
        doc = md.Document()
        title = meta.get("title")
        doc.heading(1, title if isinstance(title, str) and title else "Windsurf Cascade")
        doc.add(
            "This Windsurf Cascade conversation is stored by Windsurf in an undocumented, "
            "apparently encrypted format. aifs keeps its bytes exactly as found but cannot "
            "show its messages. The raw file is beside this page."
        )
        updated = meta.get("updated_at")
        rows = []
        for name in sorted(files):
            data = files[name]
            rows.append(
                f"- {md.code_span(name)}: {md.human_bytes(len(data))} ({len(data)} bytes), "
                f"SHA-256 {md.code_span(hashlib.sha256(data).hexdigest())}"
            )
        if isinstance(updated, (int, float)):
            rows.append(f"- Modified: {format_time(float(updated))}")
        doc.add("\n".join(rows))
        return doc.render()
