"""Qwen Code session → Markdown: the current conversation, every other branch, subagents.

Layout of the document::

    # <title>                          header: ids, directory, branch, version, times, models
    ## Conversation                    the chain Qwen Code shows (root → newest record)
    ## Branch N (from … · line L)      records off that chain: rewound or abandoned turns
    ## Subagent <name>                 ``isSidechain`` records, by agent
    ## <file>                          other transcripts in the session's folder
    ## Other files                     the rest of that folder (previews)

User prompts show what the user typed (``displayText``) with hook context and the model-bound
text collapsed; assistant messages their text, thinking (collapsed) and tool calls; tool
results the displayed result (diffs as diffs) and what the model got. Bookkeeping records
(telemetry, artifact and file-history snapshots) are left out; other system records get a
short note. Bad lines get a ⚠ note. Never raises on content.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import markdown as md
from ..genai import render_part, render_parts, response_text
from ..glued import GLUED
from ..jsonl import nonempty_str
from ..mdparts import JSON_LIMIT, collapse, output_block, side_files
from ..timestamps import format_time, parse_iso
from ..titles import UNTITLED, title_from_text
from .records import HOOK_CONTEXT_PREFIX, Node, Transcript, build_tree, prompt_text, user_text

__all__ = ["main_transcript", "render_session"]

_SILENT = frozenset(
    {
        "ui_telemetry",
        "session_artifact_event",
        "session_artifact_snapshot",
        "file_history_snapshot",
        "attribution_snapshot",
        "session_sources_snapshot",
        "session_execution_engine",
        "branch_checkpoint",
        "agent_session_ready",
        "user_text_elements",
        "turn_result",
        "goal_turn_end",
        "managed_session_header_v1",
        "managed_session_event_v1",
        "managed_session_commit_v1",
        "session_notes",
    }
)
_USER_LABELS = {
    None: "User",
    "mid_turn_user_message": "User (during the turn)",
    "notification": "Notification",
    "cron": "Scheduled prompt",
    "background_task_completed": "Background task finished",
    "realtime_message": "User (realtime)",
}


def main_transcript(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str | None:
    """The session's own transcript among a version's raw files (``<native id>.jsonl`` or
    the only top-level ``.jsonl``)."""
    top = sorted(n for n in files if "/" not in n and n.endswith(".jsonl"))
    native = meta.get("native_id")
    if isinstance(native, str):
        preferred = native.split("@", 1)[0] + ".jsonl"
        if preferred in top:
            return preferred
    return top[0] if top else None


def render_session(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a Qwen Code session version (raw files by name + its ``meta.json``)."""
    doc = md.Document()
    main = main_transcript(files, meta)
    tree = build_tree(files[main]) if main else Transcript()
    _header(doc, meta, tree, main)
    renderer = _Renderer(doc)
    if main is None:
        doc.add(md.note("⚠ no transcript in this version"))
    else:
        renderer.transcript(tree, main, "Conversation")
    others = [n for n in sorted(files) if n != main]
    for name in others:
        if name.endswith(".jsonl"):
            renderer.transcript(build_tree(files[name]), name, name)
    side_files(doc, files, (n for n in others if not n.endswith(".jsonl")), "Other files")
    return doc.render()


def _header(doc: md.Document, meta: Mapping[str, Any], tree: Transcript, main: str | None) -> None:
    title = meta.get("title")
    if not isinstance(title, str) or not title:
        title = _fallback_title(tree)
    doc.heading(1, title)
    first = tree.nodes[0].rec if tree.nodes else {}
    lines: list[str] = []
    native = meta.get("native_id")
    if isinstance(native, str) and native:
        lines.append(f"- **Session:** {md.code_span(native)}")
    sid = nonempty_str(first.get("sessionId"))
    if sid and sid != native:
        lines.append(f"- **Session id in the records:** {md.code_span(sid)}")
    for label, key in (("Directory", "cwd"), ("Git branch", "gitBranch"), ("Qwen Code", "version")):
        value = nonempty_str(first.get(key))
        if value:
            lines.append(f"- **{label}:** {md.code_span(value)}")
    times = [t for t in (parse_iso(n.rec.get("timestamp")) for n in tree.nodes) if t is not None]
    if times:
        lines.append(f"- **Started:** {format_time(times[0])}")
        lines.append(f"- **Last activity:** {format_time(times[-1])}")
    models: list[str] = []
    for node in tree.nodes:
        model = nonempty_str(node.value_of("model"))
        if model and model not in models:
            models.append(model)
    if models:
        lines.append("- **Models:** " + ", ".join(md.code_span(m) for m in models[:16]))
    forked = first.get("forkedFrom")
    if isinstance(forked, dict) and nonempty_str(forked.get("sessionId")):
        lines.append(f"- **Forked from:** {md.code_span(forked['sessionId'])}")
    if main:
        lines.append(
            f"- **Records:** {len(tree.nodes)} ({len(tree.chain)} on the current conversation, "
            f"{sum(len(b) for b in tree.branches)} on other branches)"
        )
    if tree.bad:
        lines.append(f"- **Unreadable lines:** {len(tree.bad)} (marked ⚠ below)")
    doc.add("\n".join(lines))


def _fallback_title(tree: Transcript) -> str:
    title = None
    for node in tree.nodes:
        payload = node.rec.get("systemPayload")
        if node.subtype == "custom_title" and isinstance(payload, dict):
            title = nonempty_str(payload.get("customTitle")) or title
    if title:
        return title
    for node in tree.nodes:
        text = prompt_text(node.rec)
        if text:
            return title_from_text(text) or UNTITLED
    return UNTITLED


def _silent(node: Node) -> bool:
    """Bookkeeping records that render to nothing (telemetry, snapshots)."""
    return node.kind == "system" and (node.subtype or "") in _SILENT


class _Renderer:
    def __init__(self, doc: md.Document) -> None:
        self.doc = doc
        self.speaker: str | None = None
        self.branch_no = 0

    def transcript(self, tree: Transcript, name: str, label: str) -> None:
        doc = self.doc
        doc.heading(2, label)
        self.speaker = None
        for index in tree.chain:
            self.node(tree.nodes[index])
        if tree.gap is not None:
            doc.add(
                md.note(
                    f"⚠ history gap: the oldest record shown names a parent ({tree.gap}) that is "
                    "not in the file; earlier records appear below as branches"
                )
            )
        for bad in tree.bad:
            doc.add(md.bad_line_note(bad.number, bad.size, bad.reason, name))
        for number, count in tree.glued:
            doc.add(md.note(f"⚠ {name} line {number}: {count} {GLUED} (all shown)"))
        for branch in tree.branches:
            if all(_silent(tree.nodes[i]) for i in branch):
                continue
            self.branch_no += 1
            head = tree.nodes[branch[0]]
            origin = head.parent[:8] if head.parent else "the start"
            doc.heading(2, f"Branch {self.branch_no} (from {origin} · line {head.line})")
            doc.add(md.note("Not on the current conversation: rewound, abandoned or detached"))
            self.speaker = None
            for index in branch:
                self.node(tree.nodes[index])
        for agent, indices in tree.sidechains.items():
            names = {nonempty_str(tree.nodes[i].rec.get("agentName")) for i in indices} - {None}
            doc.heading(2, f"Subagent {', '.join(sorted(names)) or agent or '(unnamed)'}")
            if agent:
                doc.add(md.note(f"agent id {agent}"))
            self.speaker = None
            for index in indices:
                self.node(tree.nodes[index])

    def node(self, node: Node) -> None:
        try:
            self._node(node)
        except Exception as exc:  # noqa: BLE001 - one odd record must not cost the view
            why = type(exc).__name__
            self.doc.add(md.note(f"⚠ line {node.line} could not be rendered ({why})"))

    def _heading(self, who: str, node: Node, force: bool = False) -> None:
        if self.speaker == who and not force:
            return
        self.speaker = who
        parts = [who]
        ts = parse_iso(node.rec.get("timestamp"))
        if ts is not None:
            parts.append(format_time(ts))
        model = nonempty_str(node.value_of("model"))
        if model and who == "Assistant":
            parts.append(model)
        parts.append(f"line {node.line}")
        self.doc.heading(3, " · ".join(parts))

    def _node(self, node: Node) -> None:
        kind = node.kind
        if kind == "user":
            self._user(node)
        elif kind == "assistant":
            self._heading("Assistant", node)
            self.doc.extend(render_parts(node.parts()))
            usage = node.value_of("usageMetadata")
            if isinstance(usage, dict):
                bits = [
                    f"{k.replace('TokenCount', '')} {v}"
                    for k, v in usage.items()
                    if k.endswith("TokenCount") and isinstance(v, int) and v
                ]
                if bits:
                    self.doc.add(md.note("tokens: " + " · ".join(bits)))
        elif kind == "tool_result":
            self._tool_result(node)
        elif kind == "system":
            self._system(node)
        else:
            label = kind or "(none)"
            self.doc.add(md.note(f"⚠ unknown record type {label!r} (line {node.line})"))
            parts = render_parts(node.parts())
            self.doc.extend(parts)

    def _user(self, node: Node) -> None:
        rec = node.rec
        subtype = node.subtype
        label = _USER_LABELS.get(subtype, f"User · {subtype}")
        self._heading(label, node, force=True)
        shown = user_text(rec)
        payload = rec.get("systemPayload")
        typed = isinstance(payload, dict) and bool((nonempty_str(payload.get("displayText")) or "").strip())
        if shown.strip():
            self.doc.add(md.text_block(shown))
        hooks: list[str] = []
        sent: list[str] = []
        for part in node.parts():
            text = part.get("text") if isinstance(part, dict) else None
            if isinstance(text, str) and not part.get("thought"):
                if text.lstrip().startswith(HOOK_CONTEXT_PREFIX):
                    hooks.append(md.text_block(text))
                    continue
                if not typed or text.strip() == shown.strip():
                    continue  # already shown as what the user typed
            sent.extend(render_part(part))
        if sent:
            if shown.strip():
                self.doc.add(md.details("As sent to the model", "\n\n".join(sent)))
            else:
                self.doc.extend(sent)
        if hooks:
            self.doc.add(md.details("Hook context", "\n\n".join(hooks)))

    def _tool_result(self, node: Node) -> None:
        result = node.value_of("toolCallResult")
        result = result if isinstance(result, dict) else {}
        call_id = nonempty_str(result.get("callId"))
        head = "**Tool result**"
        parts = node.parts()
        names = [
            p["functionResponse"].get("name")
            for p in parts
            if isinstance(p, dict) and isinstance(p.get("functionResponse"), dict)
        ]
        if names and isinstance(names[0], str):
            head += " " + md.code_span(names[0])
        if call_id:
            head += " · " + md.code_span(call_id)
        status = nonempty_str(result.get("status"))
        if status:
            head += f" · {md.escape_inline(status)}"
        self.doc.add(head)
        display = result.get("resultDisplay")
        shown: str | None = None
        if isinstance(display, str) and display.strip():
            self.doc.add(output_block(display))
            shown = display
        elif isinstance(display, dict) and isinstance(display.get("fileDiff"), str):
            diff = display["fileDiff"]
            name = nonempty_str(display.get("fileName")) or "file"
            self.doc.add(collapse(f"Diff of {name}", md.fence(diff, "diff"), diff, always=True))
            shown = diff
        elif display not in (None, "", {}, []):
            self.doc.add(md.details("Display", md.json_block(display, limit=JSON_LIMIT)))
            shown = md.json_text(display)
        texts = []
        others = []
        for part in parts:
            if isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
                texts.append(response_text(part["functionResponse"].get("response")))
            else:
                others.extend(render_part(part))
        text = "\n".join(texts)
        if shown is None:
            self.doc.add(output_block(text))
        elif text.strip() and text.strip() != shown.strip():
            self.doc.add(collapse("Result sent to the model", md.fence(text), text, always=True))
        self.doc.extend(others)
        error = result.get("error")
        if isinstance(error, dict) and nonempty_str(error.get("message")):
            self.doc.add(md.note(f"⚠ error: {error['message']}"))

    def _system(self, node: Node) -> None:
        subtype = node.subtype or ""
        payload = node.rec.get("systemPayload")
        payload = payload if isinstance(payload, dict) else {}
        doc = self.doc
        if subtype in _SILENT:
            return
        if subtype == "custom_title":
            source = nonempty_str(payload.get("titleSource")) or "manual"
            doc.add(md.note(f"Title set ({source}): {payload.get('customTitle')}"))
        elif subtype == "chat_compression":
            self.speaker = None
            doc.add("---")
            doc.add("**Context compressed**")
            history = payload.get("compressedHistory")
            if isinstance(history, list) and history:
                blocks = []
                for content in history:
                    role = content.get("role") if isinstance(content, dict) else None
                    blocks.append(f"**{md.escape_inline(str(role or 'content'))}**")
                    blocks.extend(render_parts(content))
                doc.add(md.details("What the model sees after compression", "\n\n".join(blocks)))
            info = payload.get("info")
            if isinstance(info, dict) and info:
                doc.add(md.details("Compression details", md.json_block(info, limit=JSON_LIMIT)))
        elif subtype == "slash_command":
            phase = nonempty_str(payload.get("phase")) or "?"
            command = nonempty_str(payload.get("rawCommand")) or "?"
            doc.add(md.note(f"Slash command ({phase}): {command}"))
            items = payload.get("outputHistoryItems")
            if isinstance(items, list) and items:
                doc.add(md.details("Command output", md.json_block(items, limit=JSON_LIMIT)))
        elif subtype == "at_command":
            read = payload.get("filesRead")
            count = len(read) if isinstance(read, list) else 0
            doc.add(md.note(f"@-command: {count} file(s) read, {payload.get('status', '?')}"))
            if isinstance(read, list) and read:
                doc.add("\n".join(f"- {md.code_span(str(f))}" for f in read[:200]))
        elif subtype == "rewind":
            self.speaker = None
            count = payload.get("truncatedCount")
            extra = f" ({count} item(s) truncated)" if isinstance(count, int) else ""
            doc.add(md.note(f"⟲ Conversation rewound{extra}"))
        elif subtype == "session_model":
            doc.add(md.note(f"Model: {payload.get('modelId', '?')}"))
        elif subtype == "session_approval_mode":
            doc.add(md.note(f"Approval mode: {payload.get('mode', '?')}"))
        elif subtype == "parent_session":
            doc.add(md.note(f"Started by session {payload.get('parentSessionId', '?')}"))
        else:
            doc.add(md.note(f"system: {subtype or '(no subtype)'} (line {node.line})"))
            parts = render_parts(node.parts())
            if parts:
                doc.extend(parts)
            elif payload:
                doc.add(md.details(subtype or "payload", md.json_block(payload, limit=JSON_LIMIT)))
