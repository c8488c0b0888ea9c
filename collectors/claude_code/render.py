"""Claude Code session → Markdown: every message of every branch, sidechain and subagent.

Layout of the document::

    # <title>                      header: ids, directory, branch, times, models, version
    ## Conversation                the main thread: root → the last user/assistant message
    ## Branch N (from message …)   every other branch (rewinds, edits, retried answers)
    ## Sidechain N …               inline ``isSidechain`` runs (Claude Code ≤ 2.0)
    ## Subagent agent-… …          ``subagents/agent-*.jsonl`` (≥ 2.1.2), each with its branches
    ## Tool result files           ``tool-results/…`` spilled outputs

Consecutive assistant lines with one ``message.id`` are one message: their blocks are shown
once, under one heading. Side children that hold no conversation (a tool result of a
parallel tool call, progress, hook attachments) are shown right after their parent instead
of as a branch. Records without ``uuid`` (titles, summaries, snapshots, mode changes) and
bad lines are shown where they appear in the file. Never raises on content.
"""

from __future__ import annotations

import logging
import posixpath
from collections import deque
from typing import Any, Callable, Iterator, Mapping

from .. import markdown as md
from ..jsonl import BadLine, JsonLine, read_jsonl
from ..jsonl_fast import parse_jsonl
from ..timestamps import format_time, parse_iso
from .transcript import (
    Entry,
    SessionInfo,
    SessionScanner,
    Transcript,
    build_tree,
    content_blocks,
    message_id,
    message_of,
)

__all__ = ["render_session"]

log = logging.getLogger(__name__)

COLLAPSE_LINES = 30
COLLAPSE_CHARS = 3000
ATTACHMENT_LIMIT = 64 * 1024
TOOL_RESULT_FILE_LIMIT = 256 * 1024

_CONVERSATIONAL = ("user", "assistant")
_NOTE_TYPES_SHOWN = {
    "permission-mode": ("permissionMode",),
    "mode": ("mode",),
    "last-prompt": ("lastPrompt",),
    "pr-link": ("prRepository", "prNumber", "prUrl"),
    "frame-link": ("title", "path", "frameUrl"),
    "relocated": ("relocatedCwd",),
    "bridge-session": (),
    "atis-latch": (),
    "started": ("agentId",),
    "result": ("agentId",),
}


def render_session(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a Claude Code session version (raw files by name + its ``meta.json``)."""
    doc = md.Document()
    main_names = _main_transcripts(files, meta)
    main_name = main_names[0] if main_names else None
    data = files.get(main_name, b"") if main_name else b""
    items = parse_jsonl(data)
    scanner = SessionScanner()
    for item in items:
        scanner.feed(item)
    stem = main_name[: -len(".jsonl")] if main_name else None
    info = scanner.finish(stem)
    _header(doc, files, meta, info, stem)

    renderer = _Renderer(doc)
    if main_name is None:
        doc.add(md.note("⚠ no transcript file in this version"))
    else:
        renderer.guarded(
            main_name, lambda: renderer.transcript(build_tree(items), label="Conversation")
        )
    for extra in main_names[1:]:
        doc.heading(2, f"Transcript {extra}")
        renderer.guarded(extra, lambda n=extra: renderer.transcript(_tree(files[n]), label=None))

    for name in sorted(files):
        if name.startswith("subagents/") and name.endswith(".jsonl"):
            renderer.guarded(name, lambda n=name: renderer.subagent(n, files))
    _tool_result_files(doc, files)
    _other_files(doc, files, set(main_names))
    return doc.render()


def _tree(data: bytes) -> Transcript:
    return build_tree(parse_jsonl(data))


def _main_transcripts(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> list[str]:
    top = sorted(n for n in files if "/" not in n and n.endswith(".jsonl"))
    native = meta.get("native_id")
    if isinstance(native, str):
        preferred = native.split("@", 1)[0] + ".jsonl"
        if preferred in top:
            top.remove(preferred)
            top.insert(0, preferred)
    return top


def _header(
    doc: md.Document,
    files: Mapping[str, bytes],
    meta: Mapping[str, Any],
    info: SessionInfo,
    stem: str | None,
) -> None:
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else info.title)
    lines: list[str] = []
    native = meta.get("native_id")
    session = native if isinstance(native, str) and native else stem
    if session:
        lines.append(f"- **Session:** {md.code_span(session)}")
    if info.agent_ids:
        lines.append("- **Agent:** " + ", ".join(md.code_span(a) for a in info.agent_ids))
    others = [s for s in info.session_ids if s != stem]
    if others:
        lines.append("- **Session ids in file:** " + ", ".join(md.code_span(s) for s in others))
    if info.continued_from:
        lines.append(f"- **Continued from:** {md.code_span(info.continued_from)}")
    if info.cwd:
        lines.append(f"- **Directory:** {md.code_span(info.cwd)}")
    if info.git_branch:
        lines.append(f"- **Git branch:** {md.code_span(info.git_branch)}")
    if info.created_at is not None:
        lines.append(f"- **Started:** {format_time(info.created_at)}")
    if info.updated_at is not None:
        lines.append(f"- **Last activity:** {format_time(info.updated_at)}")
    if info.models:
        lines.append("- **Models:** " + ", ".join(md.code_span(m) for m in info.models))
    if info.version:
        lines.append(f"- **Claude Code:** {md.escape_inline(info.version)}")
    subagents = sum(1 for n in files if n.startswith("subagents/") and n.endswith(".jsonl"))
    spilled = sum(1 for n in files if n.startswith("tool-results/"))
    if subagents or spilled:
        lines.append(
            f"- **Files:** {subagents} subagent transcript(s), {spilled} tool-result file(s)"
        )
    if info.bad:
        lines.append(f"- **Unreadable lines:** {len(info.bad)} (marked ⚠ below)")
    doc.add("\n".join(lines))


class _Renderer:
    """Walks transcripts into one document; branch numbers run across the whole document."""

    def __init__(self, doc: md.Document) -> None:
        self.doc = doc
        self.branch_no = 0
        self.sidechain_no = 0
        self.done: set[int] = set()  # id() of rendered entries

    # -- sections ------------------------------------------------------------------------

    def guarded(self, name: str, fn: Callable[[], None]) -> None:
        """Run one section; a bug in it marks the section instead of losing the document."""
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - rendering must never fail the whole view
            log.warning("could not render %s: %s", name, type(exc).__name__)
            log.debug("could not render %s", name, exc_info=True)
            self.doc.add(md.note(f"⚠ could not render {name} ({type(exc).__name__})"))

    def transcript(self, tree: Transcript, label: str | None, file: str | None = None) -> None:
        """The main thread, its branches, then each sidechain with its branches."""
        for item in tree.preamble:
            self.doc.add(self._note(item, file))
        if tree.main_root is not None:
            if label:
                self.doc.heading(2, label)
            self._thread(tree.main_root, file)
        for root in tree.side_roots:
            self.sidechain_no += 1
            self.doc.heading(2, f"Sidechain {self.sidechain_no} (subagent run, line {root.line})")
            self._thread(root, file)
        if tree.duplicates:
            self.doc.add(md.note(f"{tree.duplicates} exact duplicate line(s) not shown again"))

    def subagent(self, name: str, files: Mapping[str, bytes]) -> None:
        """One ``subagents/agent-<id>.jsonl`` with what its ``.meta.json`` says."""
        agent = posixpath.basename(name)[: -len(".jsonl")]
        meta_name = name[: -len(".jsonl")] + ".meta.json"
        extra = ""
        if meta_name in files:
            good, _ = read_jsonl(files[meta_name])
            agent_meta = good[0].value if good else {}
            kind = agent_meta.get("agentType")
            desc = agent_meta.get("description")
            extra = " · ".join(str(x) for x in (kind, desc) if isinstance(x, str) and x)
        self.doc.heading(2, f"Subagent {agent}" + (f" ({extra})" if extra else ""))
        self.transcript(_tree(files[name]), label=None, file=name)

    def _thread(self, start: Entry, file: str | None) -> None:
        queue: deque[tuple[Entry, Entry]] = deque()
        self._path(start, queue, file)
        while queue:
            child, origin = queue.popleft()
            if id(child) in self.done:
                continue
            self.branch_no += 1
            where = f"{file} " if file else ""
            self.doc.heading(
                2,
                f"Branch {self.branch_no} "
                f"(from message {origin.uuid[:8]}, {where}line {origin.line})",
            )
            self._path(child, queue, file)

    def _path(self, start: Entry, queue: deque[tuple[Entry, Entry]], file: str | None) -> None:
        target = _target(start)
        path: list[Entry] = []
        node: Entry | None = target
        while node is not None:
            path.append(node)
            if node is start:
                break
            node = node.parent
        path.reverse()
        on_path = {id(e) for e in path}
        i = 0
        while i < len(path):
            group = [path[i]]
            mid = message_id(path[i].rec) if path[i].kind == "assistant" else None
            while (
                mid is not None
                and i + 1 < len(path)
                and path[i + 1].kind == "assistant"
                and message_id(path[i + 1].rec) == mid
            ):
                i += 1
                group.append(path[i])
            self._group(group, file)
            for member in group:
                for child in member.children:
                    if id(child) in on_path or id(child) in self.done:
                        continue
                    if _has_turn(child):
                        queue.append((child, member))
                    else:
                        self._inline(child, file)
            i += 1

    def _inline(self, start: Entry, file: str | None) -> None:
        for entry in sorted(_subtree(start), key=lambda e: e.line):
            if id(entry) not in self.done:
                self._group([entry], file)

    # -- one message (possibly several lines with one message.id) ------------------------

    def _group(self, group: list[Entry], file: str | None) -> None:
        first = group[0]
        done = self.done
        for entry in group:
            done.add(id(entry))
        if first.link != "parent" or first.missing_parent:
            self._link_marker(first)
        kind = first.kind
        if kind == "assistant":
            self._assistant(group)
        elif kind == "user":
            for entry in group:
                self._user(entry)
        else:
            for entry in group:
                self.doc.extend(_record(entry.rec, entry.line))
        for entry in group:
            if entry.notes:
                for item in entry.notes:
                    self.doc.add(self._note(item, file))

    def _link_marker(self, entry: Entry) -> None:
        if entry.link == "logical":
            if not _is_compact_boundary(entry.rec) and entry.parent is not None:
                origin = entry.parent.uuid[:8]
                self.doc.add(md.note(f"↳ continues after compaction (from message {origin})"))
        elif entry.link == "restart":
            if "parentUuid" not in entry.rec and "logicalParentUuid" not in entry.rec:
                return  # a format without a tree: lines simply follow each other
            why = (
                f"parent {entry.missing_parent[:8]} is not in this file"
                if entry.missing_parent
                else "no parent recorded"
            )
            if not _is_compact_boundary(entry.rec):
                self.doc.add(md.note(f"↳ new chain at line {entry.line} ({why})"))
        elif entry.missing_parent:
            self.doc.add(md.note(f"↳ parent {entry.missing_parent[:8]} is not in this file"))

    def _assistant(self, group: list[Entry]) -> None:
        first = group[0]
        model = message_of(first.rec).get("model")
        parts = ["Assistant"]
        if isinstance(model, str) and model:
            parts.append(model)
        parts.extend(_time_and_flags(first))
        self.doc.heading(3, " · ".join(parts))
        contents: list[tuple[Entry, list[Any] | None]] = []
        blocks = 0
        for entry in group:
            msg = message_of(entry.rec)
            content = msg.get("content") if msg else entry.rec.get("message")
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            if isinstance(content, list):
                blocks += len(content)
                contents.append((entry, content))
            else:
                contents.append((entry, None))
        # A block already shown (same JSON) is not shown again; one block cannot repeat.
        shown = (
            _ShownBlocks(all(_shallow(c) for _, c in contents if c is not None))
            if blocks > 1
            else None
        )
        for entry, content in contents:
            if content is None:
                continue
            for block in content:
                if shown is not None and shown.seen(block):
                    continue
                self.doc.extend(_block(block))
            rec = entry.rec
            if (
                "isApiErrorMessage" in rec
                or "apiErrorStatus" in rec
                or "isAbortedMidStream" in rec
            ):
                self.doc.extend(_record_flags(rec))

    def _user(self, entry: Entry) -> None:
        rec = entry.rec
        blocks = content_blocks(rec)
        only_results = bool(blocks)
        for b in blocks:
            if not (isinstance(b, dict) and b.get("type") == "tool_result"):
                only_results = False
                break
        if rec.get("isCompactSummary") is True:
            label = "Compaction summary"
        elif only_results:
            label = "Tool result"
        elif rec.get("isMeta") is True:
            label = "User (meta)"
        else:
            label = "User"
        self.doc.heading(3, " · ".join([label, *_time_and_flags(entry)]))
        if rec.get("isCompactSummary") is True:
            text = "\n".join(
                b.get("text", "")
                for b in blocks
                if isinstance(b, dict) and isinstance(b.get("text"), str)
            )
            self.doc.add(md.details("Summary of the earlier conversation", md.text_block(text)))
            return
        for block in blocks:
            self.doc.extend(_block(block))
        extra = rec.get("toolUseResult")
        if (
            only_results
            and extra not in (None, "", {}, [])
            and not any(_tool_result_text(b) for b in blocks)
        ):
            self.doc.add(
                md.details("Tool result details", md.json_block(extra, limit=ATTACHMENT_LIMIT))
            )
        if not blocks and "message" in rec and not isinstance(rec.get("message"), (dict, str)):
            self.doc.add(md.note("⚠ message in an unknown shape"))

    # -- records that are not user/assistant messages -----------------------------------

    def _note(self, item: JsonLine | BadLine, file: str | None) -> str:
        if isinstance(item, BadLine):
            return md.bad_line_note(item.number, item.size, item.reason, file)
        return "\n\n".join(_record(item.value, item.number))


# ---------------------------------------------------------------------------------------
# Blocks repeated across the lines of one assistant message

_SHALLOW_DEPTH = 64


class _ShownBlocks:
    """Which content blocks of one message were shown: a block is shown once, compared by
    its compact JSON text. That text is made only for blocks that could equal an earlier one
    (same type, length and ``type`` field: equal JSON text implies these). ``shallow`` must
    say that no block nests deeper than ``_SHALLOW_DEPTH`` (a deeper one may not encode, and
    then its stand-in text could equal any other's): otherwise every block's text is made."""

    def __init__(self, shallow: bool) -> None:
        self._shallow = shallow
        self._keys: set[str] = set()
        self._by_sig: dict[tuple[Any, ...], list[list[Any]]] = {}

    def seen(self, block: Any) -> bool:
        """True if ``block`` equals one shown before; else remember it as shown."""
        if not self._shallow:
            key = md.json_text(block, indent=None)
            if key in self._keys:
                return True
            self._keys.add(key)
            return False
        if isinstance(block, dict):
            kind = block.get("type")
            sig: tuple[Any, ...] = (dict, len(block), kind if isinstance(kind, str) else None)
        elif isinstance(block, (str, list)):
            sig = (type(block), len(block))
        else:
            sig = (type(block),)
        same = self._by_sig.get(sig)
        if same is None:
            self._by_sig[sig] = [[block, None]]
            return False
        key = md.json_text(block, indent=None)
        for earlier in same:
            if earlier[1] is None:
                earlier[1] = md.json_text(earlier[0], indent=None)
            if earlier[1] == key:
                return True
        same.append([block, key])
        return False


def _shallow(value: Any, budget: int = _SHALLOW_DEPTH) -> bool:
    """True if ``value`` nests lists and objects at most ``budget`` deep."""
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return True
    if budget <= 0:
        return False
    for item in items:
        if isinstance(item, (dict, list)) and not _shallow(item, budget - 1):
            return False
    return True


# ---------------------------------------------------------------------------------------
# Tree helpers


def _subtree(start: Entry) -> Iterator[Entry]:
    stack = [start]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def _has_turn(start: Entry) -> bool:
    return any(e.turn for e in _subtree(start))


def _target(start: Entry) -> Entry:
    """The entry the thread from ``start`` leads to: its last user/assistant message in file
    order, else its last entry."""
    best: Entry | None = None
    last = start
    stack = [start]  # _subtree(start), inline: this visits every entry of a thread
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.line > last.line:
            last = node
        if node.kind in _CONVERSATIONAL and (best is None or node.line > best.line):
            best = node
    return best or last


def _is_compact_boundary(rec: dict[str, Any]) -> bool:
    return rec.get("type") == "system" and rec.get("subtype") == "compact_boundary"


def _time_and_flags(entry: Entry) -> list[str]:
    rec = entry.rec
    ts = parse_iso(rec.get("timestamp"))
    out = [] if ts is None else [format_time(ts)]
    if rec.get("isSidechain") is True:
        out.append("sidechain")
    out.append(f"line {entry.line}")
    return out


def _record_flags(rec: dict[str, Any]) -> list[str]:
    flags: list[str] = []
    if rec.get("isApiErrorMessage") is True or isinstance(rec.get("apiErrorStatus"), int):
        status = rec.get("apiErrorStatus")
        flags.append(md.note(f"⚠ API error{f' {status}' if isinstance(status, int) else ''}"))
    if rec.get("isAbortedMidStream") is True:
        flags.append(md.note("⚠ answer aborted mid-stream"))
    return flags


# ---------------------------------------------------------------------------------------
# Content blocks


def _block(block: Any) -> list[str]:
    """Markdown blocks for one message content block."""
    if isinstance(block, str):
        return [md.text_block(block)]
    if not isinstance(block, dict):
        return [md.note(f"⚠ content block of type {type(block).__name__}")]
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return [md.text_block(text)] if isinstance(text, str) and _has_text(text) else []
    if kind == "thinking":
        text = block.get("thinking")
        if not isinstance(text, str) or not _has_text(text):
            return [md.note("(thinking, no text recorded)")]
        return [md.details("Thinking", md.text_block(text))]
    if kind == "redacted_thinking":
        data = block.get("data")
        size = len(data) if isinstance(data, str) else 0
        return [md.note(f"(redacted thinking, {size} bytes)")]
    if kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
        return _tool_use(block)
    if kind == "tool_result":
        return _tool_result(block)
    if kind in ("image", "document"):
        return [_media(block)]
    if isinstance(kind, str) and kind.endswith("_tool_result"):
        return [
            md.details(
                f"{kind}", md.json_block(block.get("content", block), limit=ATTACHMENT_LIMIT)
            )
        ]
    label = kind if isinstance(kind, str) else "?"
    return [
        md.note(f"⚠ unknown content block {label!r}"),
        md.details(f"{label} block", md.json_block(block, limit=ATTACHMENT_LIMIT)),
    ]


def _has_text(text: str) -> bool:
    """``bool(text.strip())`` without copying ``text``."""
    return bool(text) and not text.isspace()


def _utf8_size(text: str) -> int:
    """``len(text.encode("utf-8", "replace"))``, without encoding ASCII text."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "replace"))


def _tool_use(block: dict[str, Any]) -> list[str]:
    name = block.get("name")
    ident = block.get("id")
    head = "**Tool call:** " + md.code_span(name if isinstance(name, str) and name else "?")
    if isinstance(ident, str) and ident:
        head += " · " + md.code_span(ident)
    body = md.json_block(block.get("input", {}))
    if len(body) > COLLAPSE_CHARS or body.count("\n") > COLLAPSE_LINES:
        return [head, md.details("Input", body)]
    return [head, body]


def _tool_result_text(block: Any) -> str:
    if not isinstance(block, dict):
        return ""
    content = block.get("content")
    parts: list[str] = []
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        for item in content:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict):
                if item.get("type") == "text" and isinstance(item.get("text"), str):
                    parts.append(item["text"])
                elif item.get("type") in ("image", "document"):
                    parts.append(_media(item))
                else:
                    parts.append(md.json_text(item))
    elif content is not None:
        parts.append(md.json_text(content))
    if not parts and isinstance(block.get("text"), str):
        parts.append(block["text"])
    return "\n".join(parts)


def _tool_result(block: dict[str, Any]) -> list[str]:
    text = _tool_result_text(block)
    error = block.get("is_error") is True
    ident = block.get("tool_use_id")
    label = "Tool error" if error else "Tool output"
    head = f"**{label}**" + (
        f" for {md.code_span(ident)}" if isinstance(ident, str) and ident else ""
    )
    if not _has_text(text):
        return [head + " _(empty)_"]
    lines = text.count("\n") + 1
    body = md.fence(text)
    if lines > COLLAPSE_LINES or len(text) > COLLAPSE_CHARS:
        return [
            head,
            md.details(
                f"{label} ({lines} lines, {md.human_bytes(_utf8_size(text))})",
                body,
            ),
        ]
    return [head, body]


def _media(block: dict[str, Any]) -> str:
    """``[image: image/png, 1234 bytes]`` (decoded size of inline base64), on one safe line."""
    kind = md.escape_inline(block["type"]) if isinstance(block.get("type"), str) else "media"
    source = block.get("source")
    if isinstance(source, dict):
        media_type = (
            source.get("media_type")
            if isinstance(source.get("media_type"), str)
            else "unknown type"
        )
        what = md.escape_inline(media_type)
        data = source.get("data")
        if isinstance(data, str):
            return f"[{kind}: {what}, {_base64_size(data)} bytes]"
        for key, label in (("url", ""), ("file_id", "file ")):
            if isinstance(source.get(key), str):
                return f"[{kind}: {label}{md.escape_inline(source[key])}]"
        return f"[{kind}: {what}]"
    return f"[{kind}]"


def _base64_size(data: str) -> int:
    stripped = data.strip()
    padding = len(stripped) - len(stripped.rstrip("="))
    return max(0, len(stripped) * 3 // 4 - padding)


# ---------------------------------------------------------------------------------------
# Records other than messages


def _record(rec: dict[str, Any], line: int) -> list[str]:
    kind = rec.get("type")
    if kind == "system":
        return _system(rec)
    if kind == "summary":
        text = rec.get("summary")
        return [md.note(f"Summary: {text}")] if isinstance(text, str) else []
    if kind == "custom-title":
        return [md.note(f"Title set: {rec.get('customTitle')}")]
    if kind == "ai-title":
        return [md.note(f"AI title: {rec.get('aiTitle')}")]
    if kind == "agent-name":
        return [md.note(f"Agent name: {rec.get('agentName')}")]
    if kind == "attachment":
        return _attachment(rec)
    if kind == "progress":
        data = rec.get("data") if isinstance(rec.get("data"), dict) else {}
        what = " · ".join(
            str(data[k]) for k in ("type", "hookName") if isinstance(data.get(k), str)
        )
        return [md.note(f"progress{': ' + what if what else ''}")]
    if kind == "file-history-snapshot":
        snap = rec.get("snapshot") if isinstance(rec.get("snapshot"), dict) else {}
        backups = snap.get("trackedFileBackups")
        count = len(backups) if isinstance(backups, dict) else 0
        return [md.note(f"file history snapshot ({count} tracked file(s))")]
    if kind == "queue-operation":
        op = rec.get("operation")
        content = rec.get("content")
        out = [md.note(f"queued input: {op if isinstance(op, str) else '?'}")]
        if isinstance(content, str) and _has_text(content):
            out.append(md.text_block(content))
        return out
    if kind == "worktree-state":
        state = rec.get("worktreeSession") if isinstance(rec.get("worktreeSession"), dict) else {}
        path = state.get("worktreePath")
        return [md.note(f"worktree: {path if isinstance(path, str) else 'state changed'}")]
    if kind in ("user", "assistant"):  # a user/assistant line without uuid
        out = [md.note(f"{kind} message (line {line}, not in the message tree)")]
        for block in content_blocks(rec):
            out.extend(_block(block))
        return out
    if kind == "tool_use":  # schema drift: a tool call as its own record
        return _tool_use(rec)
    if kind == "tool_result":
        out = [f"**Tool output** ({md.code_span(str(rec.get('name', '?')))})"]
        output = rec.get("output", rec.get("content"))
        out.append(md.fence(output if isinstance(output, str) else md.json_text(output)))
        return out
    if isinstance(kind, str) and kind in _NOTE_TYPES_SHOWN:
        fields = _NOTE_TYPES_SHOWN[kind]
        shown = ", ".join(
            f"{k}={rec[k]}" for k in fields if k in rec and not isinstance(rec[k], (dict, list))
        )
        return [md.note(f"{kind}{': ' + shown if shown else ''}")]
    label = kind if isinstance(kind, str) else "(none)"
    return [md.note(f"⚠ unknown record type {label!r} (line {line})")]


def _system(rec: dict[str, Any]) -> list[str]:
    subtype = rec.get("subtype") if isinstance(rec.get("subtype"), str) else ""
    if subtype == "compact_boundary":
        meta = rec.get("compactMetadata") if isinstance(rec.get("compactMetadata"), dict) else {}
        trigger = meta.get("trigger", rec.get("trigger"))
        pre = meta.get("preTokens")
        bits = [f"trigger: {trigger}"] if isinstance(trigger, str) else []
        if isinstance(pre, int):
            bits.append(f"{pre} tokens before")
        return ["---", f"**Context compacted**{' (' + ', '.join(bits) + ')' if bits else ''}"]
    out = [md.note(f"System{' · ' + subtype if subtype else ''}")]
    content = rec.get("content")
    if isinstance(content, str) and _has_text(content):
        out.append(md.text_block(content))
    error = rec.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        status = error.get("status")
        summary = " ".join(str(x) for x in (status, message) if isinstance(x, (str, int)))
        out.append(md.note(f"⚠ error{': ' + summary if summary else ''}"))
    elif isinstance(error, str) and error:
        out.append(md.note(f"⚠ error: {error}"))
    explanation = rec.get("apiRefusalExplanation")
    if isinstance(explanation, str) and explanation:
        out.append(md.note(f"refusal: {explanation}"))
    return out


def _attachment(rec: dict[str, Any]) -> list[str]:
    att = rec.get("attachment")
    if not isinstance(att, dict):
        return [md.note("attachment")]
    kind = att.get("type") if isinstance(att.get("type"), str) else "?"
    out = [md.note(f"Attachment · {kind}")]
    prompt = att.get("prompt")
    if isinstance(prompt, str) and _has_text(prompt):
        out.append(md.text_block(prompt))
    elif isinstance(prompt, list):
        for block in prompt:
            out.extend(_block(block))
    else:
        out.append(md.details(f"attachment: {kind}", md.json_block(att, limit=ATTACHMENT_LIMIT)))
    return out


# ---------------------------------------------------------------------------------------
# Non-transcript files of a session


def _tool_result_files(doc: md.Document, files: Mapping[str, bytes]) -> None:
    names = sorted(n for n in files if n.startswith("tool-results/"))
    if not names:
        return
    doc.heading(2, "Tool result files")
    for name in names:
        data = files[name]
        doc.heading(3, name)
        text = md.decode_preview(data, TOOL_RESULT_FILE_LIMIT)
        if text is None:
            doc.add(md.note(f"binary file, {md.human_bytes(len(data))}"))
            continue
        body = md.fence(text, md.guess_language(name))
        if len(data) > TOOL_RESULT_FILE_LIMIT:
            body += "\n\n" + md.note(
                f"(first {md.human_bytes(TOOL_RESULT_FILE_LIMIT)} of {md.human_bytes(len(data))} "
                "shown; the raw file is complete)"
            )
        doc.add(md.details(f"{name} ({md.human_bytes(len(data))})", body))


def _other_files(doc: md.Document, files: Mapping[str, bytes], mains: set[str]) -> None:
    names = [
        n
        for n in sorted(files)
        if n not in mains
        and not n.startswith("tool-results/")
        and not (n.startswith("subagents/") and n.endswith((".jsonl", ".meta.json")))
    ]
    if names:
        doc.heading(2, "Other files")
        doc.add("\n".join(f"- {md.code_span(n)} ({md.human_bytes(len(files[n]))})" for n in names))
