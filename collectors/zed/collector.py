"""The Zed collector: agent-panel threads from ``threads/threads.db``.

Zed's data directory: ``options["path"]`` if set; otherwise every one of these that exists
(zed-industries/zed ``crates/paths/src/paths.rs``; the same machine can have several, e.g. a
native and a Flatpak install)::

    $XDG_DATA_HOME/zed                        Linux (default ~/.local/share/zed)
    ~/.var/app/dev.zed.Zed/data/zed           Linux, Flatpak
    ~/Library/Application Support/Zed         macOS
    $LOCALAPPDATA/Zed                         Windows

and in it ``threads/threads.db`` (SQLite; schema in :mod:`.thread`).

Decisions:

* **Items**: one per thread id (key = native id; a repeat in a later data directory gets
  ``<id>@<8 hex of sha256(directory)>``). Stamps: the database and its ``-wal``.
* **Raw files** of a version (the row, nothing else of the database):

  - ``thread.json.zst``: the ``data`` column exactly as stored (zstd), when ``data_type`` is
    ``zstd``; ``thread.json`` holds it instead when ``data_type`` is ``json``;
  - ``thread.json``: for a zstd row, also the decompressed JSON. Kept on purpose as a second
    file: it is readable and searchable in the mount without zstd tools, and the vault's
    content-defined chunking deduplicates it across versions (each save recompresses the
    whole thread, so consecutive ``.zst`` blobs share no chunk; the JSON mostly grows at its
    end). It is left out, with a warning, when the blob is corrupt, cut off or decompresses
    to more than 256 MiB;
  - ``row.json``: the row's other columns (``id``, ``summary``, ``updated_at``,
    ``data_type``, ``parent_id``, ``folder_paths`` …) as one JSON object, values as stored.
* **Title**: the row's ``summary`` (what Zed's history list shows), else the JSON's title,
  else the first prompt.
* **Discover** reads only the ``id`` column (one query per database).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from vault import ConversationSnapshot, RawFile

from .. import markdown as md
from ..base import CollectContext, SourceItem
from ..errors import ItemError, TemporaryItemError
from ..files import short_hash
from ..locations import expand, option_path, xdg_data_home
from ..rows import columns, decode_text, row_object, tables
from ..sqlite import db_stamps, read_snapshot
from ..timestamps import parse_iso

# Parsing and rendering modules are imported by the methods that use them: every command
# loads every collector, and listing sources (``locate``, ``discover``) needs neither.

__all__ = ["ZedCollector"]

log = logging.getLogger(__name__)

PROVIDER = "zed"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class _Hint:
    db: Path
    thread_id: str


class ZedCollector:
    """Zed agent threads (see the module docstring). :meth:`read` raises
    :class:`~collectors.TemporaryItemError` when the thread or database vanished or is locked,
    :class:`~collectors.ItemError` when the database is damaged."""

    name: ClassVar[str] = PROVIDER
    provider: ClassVar[str] = PROVIDER

    def data_dirs(self, ctx: CollectContext) -> list[Path]:
        """Candidate Zed data directories for ``ctx`` (existing or not), without repeats."""
        option = option_path(ctx)
        if option is not None:
            return [option]
        candidates = [
            xdg_data_home(ctx) / "zed",
            ctx.home / ".var" / "app" / "dev.zed.Zed" / "data" / "zed",
            ctx.home / "Library" / "Application Support" / "Zed",
        ]
        local = ctx.env.get("LOCALAPPDATA", "")
        if local:
            candidates.append(expand(local, ctx.home) / "Zed")
        out: list[Path] = []
        for c in candidates:
            if c not in out:
                out.append(c)
        return out

    def databases(self, ctx: CollectContext) -> list[Path]:
        """The ``threads.db`` files that exist, in :meth:`data_dirs` order."""
        seen: set[str] = set()
        found = []
        for d in self.data_dirs(ctx):
            db = d / "threads" / "threads.db"
            if db.is_file():
                real = os.path.realpath(db)
                if real not in seen:
                    seen.add(real)
                    found.append(db)
        return found

    def locate(self, ctx: CollectContext) -> list[Path]:
        """The thread databases that exist."""
        return self.databases(ctx)

    def discover(self, ctx: CollectContext) -> Iterator[SourceItem | ItemError]:
        """One item per thread id, database by database."""
        seen: set[str] = set()
        for db in self.databases(ctx):
            try:
                with read_snapshot(db) as con:
                    con.text_factory = decode_text
                    ids = (sorted(str(r[0]) for r in con.execute("SELECT id FROM threads") if r[0] is not None)
                           if "threads" in tables(con) else [])
            except ItemError as exc:
                yield exc
                continue
            stamps = db_stamps(db)
            for tid in ids:
                native = tid if tid not in seen else f"{tid}@{short_hash(os.fspath(db.parent.parent))}"
                if native in seen:
                    continue
                seen.add(native)
                yield SourceItem(native, stamps, _Hint(db, tid))

    def read(self, item: SourceItem, ctx: CollectContext) -> ConversationSnapshot:
        """Read one thread row. Raises :class:`ItemError` / :class:`TemporaryItemError`."""
        from ..jsonfile import parse_json_bytes
        from .thread import decompress_limited, first_prompt, json_title

        hint = item.hint
        if not isinstance(hint, _Hint):
            hint = next((f.hint for f in self.discover(ctx)
                         if isinstance(f, SourceItem) and f.key == item.key), None)
        if hint is None:
            raise TemporaryItemError(item.key, "no longer found")
        if not hint.db.exists():
            raise TemporaryItemError(os.fspath(hint.db), "database vanished before it could be read")
        with read_snapshot(hint.db) as con:
            con.text_factory = decode_text
            names = columns(con, "threads")
            row = con.execute("SELECT * FROM threads WHERE id = ?", (hint.thread_id,)).fetchone()
        if row is None:
            raise TemporaryItemError(f"{hint.db}#{hint.thread_id}", "thread no longer in the database")
        values = dict(zip(names, row))
        data = values.pop("data", None)
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        data = data if isinstance(data, bytes) else b""
        meta_row = row_object(list(values), values.values())
        updated = parse_iso(values.get("updated_at"))
        created = parse_iso(values.get("created_at")) or updated
        mtime_ns = int(updated * 1e9) if updated is not None else None
        warnings: list[str] = []
        files = [RawFile("row.json", data=json.dumps(meta_row, ensure_ascii=False, indent=1)
                         .encode("utf-8", "surrogatepass"), mtime_ns=mtime_ns)]
        compressed = values.get("data_type") == "zstd" or (
            values.get("data_type") != "json" and data.startswith(ZSTD_MAGIC))
        if compressed:
            files.append(RawFile("thread.json.zst", data=data, mtime_ns=mtime_ns))
            plain, problem = decompress_limited(data)
            if problem:
                warnings.append(f"thread data: {problem}; only the stored bytes are kept")
            else:
                files.append(RawFile("thread.json", data=plain, mtime_ns=mtime_ns))
        else:
            plain = data
            files.append(RawFile("thread.json", data=data, mtime_ns=mtime_ns))
        doc, problem = parse_json_bytes(plain) if plain is not None else (None, None)
        if plain is not None and problem:
            warnings.append(f"thread JSON: {problem}")
        summary = values.get("summary")
        if isinstance(summary, str) and summary:
            title, source = summary, "zed"
        elif json_title(doc):
            title, source = json_title(doc) or "", "thread json"
        else:
            prompt = first_prompt(doc)
            title, source = (prompt, "first prompt") if prompt else ("Untitled", "none")
        attributes: dict[str, Any] = {"title_source": source, "data_type": values.get("data_type")}
        if isinstance(doc, dict):
            model = doc.get("model")
            if isinstance(model, dict) and isinstance(model.get("model"), str):
                attributes["model"] = model["model"]
                if isinstance(model.get("provider"), str):
                    attributes["model_provider"] = model["provider"]
            if isinstance(doc.get("version"), str):
                attributes["format_version"] = doc["version"]
            if isinstance(doc.get("messages"), list):
                attributes["messages"] = len(doc["messages"])
        if isinstance(values.get("folder_paths"), str) and values["folder_paths"]:
            attributes["folder_paths"] = values["folder_paths"]
        parent = values.get("parent_id")
        return ConversationSnapshot(
            provider=PROVIDER,
            native_id=item.key,
            title=title,
            files=tuple(files),
            created_at=created,
            updated_at=updated,
            source_path=f"{hint.db}#threads/{hint.thread_id}",
            links={"parent": parent} if isinstance(parent, str) and parent else {},
            attributes=attributes,
            warnings=tuple(warnings),
        )

    @md.never_raises
    def render_markdown(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
        """``conversation.md`` for a stored version."""
        from .render import render_thread

        return render_thread(files, meta)
