"""Source trees for the reliability tests: minimal, real-format histories of four local tools
and two data exports, written from the documented shapes so a test knows exactly which text
every good record carries.

Every builder takes the texts and titles to plant and returns where it wrote them. The JSON
Lines kinds (:data:`KINDS`) share one interface so a hostile-input test can run against all
of them: ``kind.path(home, ident)`` is the transcript's path, ``kind.head(ident)`` the
lines a valid transcript starts with, ``kind.message(ident, text, n)`` one good record whose
only free text is ``text``, ``kind.title(ident, title)`` a record that sets the title.

Helpers to drive and inspect: :func:`run_collect` (the real runner into a real vault),
:func:`walk_mount` (every name and file the mount would show, through :class:`aifs.tree.Tree`
on the stored vault, no FUSE), :func:`unsafe_names`.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from aifs.registry import load_collectors
from aifs.render import make_renderer
from aifs.runner import CollectSummary, collect, default_context
from aifs.tree import ROOT_INO, NodeKind, Tree

ORG = "reliability-org"


def _line(obj: dict) -> bytes:
    return json.dumps(obj).encode("utf-8") + b"\n"


def sid(n: int) -> str:
    """A deterministic uuid-shaped id (``n`` < 16**12)."""
    return f"00000000-0000-4000-8000-{n:012x}"


@dataclass(frozen=True)
class Kind:
    """One JSON Lines transcript format (see the module docstring)."""

    collector: str
    path: Callable[[Path, str], Path]
    head: Callable[[str], list[bytes]]
    message: Callable[[str, str, int], bytes]
    title: Callable[[str, str], bytes]


# -- Claude Code: ~/.claude/projects/<slug>/<sessionId>.jsonl ---------------------------------

def _claude_path(home: Path, ident: str) -> Path:
    return home / ".claude" / "projects" / "-home-u-proj" / f"{ident}.jsonl"


def _claude_message(ident: str, text: str, n: int) -> bytes:
    role = "user" if n % 2 == 0 else "assistant"
    content = text if role == "user" else [{"type": "text", "text": text}]
    return _line({"parentUuid": None if n == 0 else f"{ident[:8]}-u{n - 1}", "isSidechain": False,
                  "type": role, "sessionId": ident, "cwd": "/home/u/proj", "version": "2.1.5",
                  "uuid": f"{ident[:8]}-u{n}", "message": {"role": role, "content": content},
                  "timestamp": f"2025-11-01T10:{n % 60:02d}:00.000Z"})


CLAUDE = Kind("claude-code", _claude_path, lambda ident: [], _claude_message,
              lambda ident, t: _line({"type": "custom-title", "customTitle": t,
                                      "sessionId": ident}))


# -- Codex: ~/.codex/sessions/Y/M/D/rollout-<time>-<uuid>.jsonl --------------------------------

def _codex_path(home: Path, ident: str) -> Path:
    return (home / ".codex" / "sessions" / "2025" / "01" / "01"
            / f"rollout-2025-01-01T00-00-00-{ident}.jsonl")


def _codex_message(ident: str, text: str, n: int) -> bytes:
    role = "user" if n % 2 == 0 else "assistant"
    kind = "input_text" if role == "user" else "output_text"
    return _line({"timestamp": f"2025-01-01T00:{n % 60:02d}:00Z", "type": "response_item",
                  "payload": {"type": "message", "role": role,
                              "content": [{"type": kind, "text": text}]}})


CODEX = Kind(
    "codex", _codex_path,
    lambda ident: [_line({"timestamp": "2025-01-01T00:00:00Z", "type": "session_meta",
                          "payload": {"id": ident, "cwd": "/home/u/proj",
                                      "originator": "codex_cli_rs", "cli_version": "0.50.0"}})],
    _codex_message,
    lambda ident, t: _line({"timestamp": "2025-01-01T00:59:00Z", "type": "event_msg",
                            "payload": {"type": "thread_name_updated", "thread_name": t}}))


# -- Gemini CLI: ~/.gemini/tmp/<project>/chats/session-<time>-<id8>.jsonl ----------------------

def _gemini_path(home: Path, ident: str) -> Path:
    id8 = ident[-8:] if ident.startswith("00000000-") else ident  # a uuid: its last 8
    return home / ".gemini" / "tmp" / "proj" / "chats" / f"session-2026-01-01T00-00-{id8}.jsonl"


def _gemini_message(ident: str, text: str, n: int) -> bytes:
    if n % 2 == 0:
        return _line({"id": f"u{n}", "timestamp": f"2026-01-01T00:{n % 60:02d}:00.000Z",
                      "type": "user", "content": [{"text": text}]})
    return _line({"id": f"g{n}", "timestamp": f"2026-01-01T00:{n % 60:02d}:00.000Z",
                  "type": "gemini", "content": text, "model": "gemini-3-flash-preview"})


GEMINI = Kind(
    "gemini-cli", _gemini_path,
    lambda ident: [_line({"sessionId": ident, "projectHash": "ab" * 32,
                          "startTime": "2026-01-01T00:00:00.000Z",
                          "lastUpdated": "2026-01-01T00:00:00.000Z", "kind": "main"})],
    _gemini_message,
    lambda ident, t: _line({"$set": {"summary": t}}))


# -- Copilot Chat (VS Code ≥ 1.109 mutation log) -----------------------------------------------

def _copilot_path(home: Path, ident: str) -> Path:
    return (home / ".config" / "Code" / "User" / "workspaceStorage" / "ws1" / "chatSessions"
            / f"{ident}.jsonl")


def _copilot_message(ident: str, text: str, n: int) -> bytes:
    request = {"requestId": f"request_{n}", "timestamp": 1767225610000 + n * 1000,
               "message": {"text": text, "parts": []}, "variableData": {"variables": []},
               "response": [{"value": f"reply {n}"}], "modelId": "copilot/gpt-5"}
    return _line({"kind": 2, "k": ["requests"], "v": [request]})


COPILOT = Kind(
    "copilot-chat", _copilot_path,
    lambda ident: [_line({"kind": 0, "v": {"version": 3, "creationDate": 1767225600000,
                                           "initialLocation": "panel",
                                           "responderUsername": "GitHub Copilot",
                                           "sessionId": ident, "requests": []}})],
    _copilot_message,
    lambda ident, t: _line({"kind": 1, "k": ["customTitle"], "v": t}))

KINDS = {k.collector: k for k in (CLAUDE, CODEX, GEMINI, COPILOT)}


def write_transcript(kind: Kind, home: Path, ident: str, texts: list[str],
                     title: str | None = None, extra: dict[int, bytes] | None = None) -> Path:
    """A transcript of ``kind`` whose good records carry ``texts`` (in order), its title record
    last; ``extra`` maps a position (before good record ``i``; ``len(texts)`` = at the end,
    before the title) to raw bytes inserted there as they are. Returns the path."""
    path = kind.path(home, ident)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = extra or {}
    parts = list(kind.head(ident))
    for n, text in enumerate(texts):
        if n in extra:
            parts.append(extra[n])
        parts.append(kind.message(ident, text, n))
    if len(texts) in extra:
        parts.append(extra[len(texts)])
    if title is not None:
        parts.append(kind.title(ident, title))
    path.write_bytes(b"".join(parts))
    return path


# -- data exports --------------------------------------------------------------------------------

def chatgpt_conversation(cid: str, title: str, texts: list[str]) -> dict:
    """One ChatGPT ``conversations.json`` entry: a linear mapping carrying ``texts``."""
    mapping: dict[str, dict] = {"root": {"id": "root", "message": None, "parent": None,
                                         "children": []}}
    parent = "root"
    for n, text in enumerate(texts):
        nid = f"{cid}-n{n}"
        role = "user" if n % 2 == 0 else "assistant"
        mapping[nid] = {"id": nid, "parent": parent, "children": [], "message": {
            "id": nid, "author": {"role": role, "name": None, "metadata": {}},
            "create_time": 1735689600.0 + n, "content": {"content_type": "text", "parts": [text]},
            "status": "finished_successfully", "metadata": {}, "recipient": "all"}}
        mapping[parent]["children"].append(nid)
        parent = nid
    return {"title": title, "create_time": 1735689600.0, "update_time": 1735689600.0 + len(texts),
            "mapping": mapping, "current_node": parent, "conversation_id": cid, "id": cid,
            "default_model_slug": "gpt-4o"}


def claude_ai_conversation(cid: str, title: str, texts: list[str]) -> dict:
    """One Claude.ai ``conversations.json`` entry carrying ``texts``."""
    messages = []
    for n, text in enumerate(texts):
        at = f"2025-01-02T10:{n % 60:02d}:00.000000Z"
        messages.append({"uuid": f"{cid}-m{n}", "text": text,
                         "content": [{"type": "text", "text": text}],
                         "sender": "human" if n % 2 == 0 else "assistant", "created_at": at,
                         "updated_at": at, "attachments": [], "files": []})
    return {"uuid": cid, "name": title, "summary": "", "created_at": "2025-01-02T10:00:00.000000Z",
            "updated_at": "2025-01-02T10:59:00.000000Z", "account": {"uuid": "acct-1"},
            "chat_messages": messages}


# -- driving and inspecting ----------------------------------------------------------------------

def run_collect(vault, home: Path, names: list[str] | tuple[str, ...],
                wrap: Callable | None = None) -> CollectSummary:
    """The real runner over collectors ``names`` (entry-point names) reading ``home`` into
    ``vault``; ``wrap(name, collector)`` may replace a collector (fault injection)."""
    loaded = load_collectors()
    chosen = {n: loaded.collectors[n] for n in names}
    if wrap is not None:
        chosen = {n: wrap(n, c) for n, c in chosen.items()}
    with vault.writer() as writer:
        return collect(writer, chosen, lambda name: default_context(home, {}, {}), ORG)


def unexpected(summary) -> list[dict]:
    """The errors of a summary that say a collector or importer met something it did not
    expect (a bug), as opposed to a reported problem with one source."""
    return [e for e in summary.errors if "unexpected" in e["reason"].lower()]


@dataclass
class Shown:
    """What the mount shows: every name (bytes) with its path, and each regular file's bytes
    by its path under the root (``org/provider/conversation/version/...``)."""

    names: list[tuple[str, bytes]]
    files: dict[str, bytes]


def walk_mount(vault, *, read_files: bool = True) -> Shown:
    """Walk the whole tree the mount would show for ``vault`` (through :class:`Tree`, with the
    real renderers, no FUSE); ``latest`` is not followed (it points at a version listed
    beside it)."""
    loaded = load_collectors(with_importers=True)
    shown = Shown([], {})
    with vault.reader() as reader:
        tree = Tree(reader, make_renderer(loaded))

        def walk(ino: int, where: str) -> None:
            for name, child in tree.readdir(ino):
                path = f"{where}/{name.decode('utf-8', 'backslashreplace')}"
                shown.names.append((path, name))
                node = tree.node(child)
                if node.kind.is_dir:
                    walk(child, path)
                elif node.kind is not NodeKind.LATEST and read_files:
                    size = tree.attr(node).size
                    shown.files[path] = tree.read_node(node, 0, size) if size else b""

        walk(ROOT_INO, "")
    return shown


def unsafe_names(names: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """``(path, why)`` for every name that could not be a safe Linux file name in a listing."""
    bad = []
    for path, name in names:
        why = None
        if not name:
            why = "empty"
        elif b"/" in name:
            why = "contains /"
        elif b"\0" in name:
            why = "contains NUL"
        elif name in (b".", b".."):
            why = "is . or .."
        elif len(name) > 255:
            why = f"{len(name)} bytes"
        else:
            try:
                text = name.decode("utf-8")
            except UnicodeDecodeError:
                why = "not UTF-8"
            else:
                if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
                    why = "control character"
        if why:
            bad.append((path, why))
    return bad


def iter_files(top: Path) -> Iterator[Path]:
    """Every path below ``top`` (files and folders), not following symlinks."""
    for root, dirs, files in os.walk(top):
        for d in dirs:
            yield Path(root) / d
        for f in files:
            yield Path(root) / f


def unique_marker(label: str) -> str:
    """A marker string that occurs nowhere by chance (``MARK-<label>-<hex>``)."""
    return f"MARK{label}{uuid.uuid4().hex[:12]}"
