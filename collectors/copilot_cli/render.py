"""Copilot CLI session → Markdown, in event order.

Layout of the document::

    # <title>                  header: ids, directory, repository, times, models, version
    ## Conversation            the event log (``events.jsonl``, else the flat ``<id>.jsonl``)
    ## Log <name>              a second log of the same session (flat and folder layouts)
    ## Session files           the folder's other files (workspace.yaml, plan, checkpoints …)

Shown: user prompts (with attachments, and the model-bound text collapsed when it differs),
assistant messages with reasoning (collapsed) and tool requests followed by their
``tool.execution_complete`` result (paired by ``toolCallId``), subagent starts and ends,
hooks (collapsed), system messages and notifications, session notes (model changes, titles,
info, warnings, errors, compactions, truncations, aborts, shutdown summary). Subagent events
(``agentId`` or ``parentToolCallId``) are labelled. Bookkeeping events (turn starts/ends,
usage checkpoints, deltas) are left out; unknown types get a short note, bad lines a ⚠ note.
Never raises on content.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import markdown as md
from ..glued import iter_jsonl_glued
from ..jsonl import BadLine, JsonLine, nonempty_str
from ..mdparts import JSON_LIMIT, arguments_block, collapse, output_block, side_files
from ..timestamps import format_time, parse_iso
from ..titles import UNTITLED
from .events import event_data, prompt_title, workspace_fields

__all__ = ["log_names", "render_session"]

EVENTS = "events.jsonl"
_SILENT = frozenset(
    {
        "assistant.turn_start",
        "assistant.turn_end",
        "assistant.message_delta",
        "assistant.message_start",
        "assistant.streaming_delta",
        "assistant.reasoning_delta",
        "assistant.tool_call_delta",
        "assistant.usage",
        "assistant.idle",
        "assistant.intent",
        "session.usage_checkpoint",
        "session.usage_info",
        "session.auto_mode_resolved",
        "session.idle",
        "session.context_changed",
        "session.remote_steerable_changed",
        "session.limits_changed",
        "session.tools_updated",
        "tool.execution_partial_result",
        "tool.execution_progress",
        "hook.progress",
        "model_call.finished",
        "session.skills_loaded",
        "session.mcp_servers_loaded",
        "session.extensions_loaded",
        "session.custom_agents_updated",
        "session.commands_changed",
        "session.capabilities_changed",
        "session.background_tasks_changed",
        "pending_messages.modified",
    }
)
_CONTEXT_EVENTS = {
    "session.compaction_start": "Context compaction started",
    "session.compaction_complete": "Context compacted",
    "session.truncation": "Context truncated",
}
_NOTES = {
    "session.info": ("", ("message",)),
    "session.warning": ("⚠ ", ("message",)),
    "session.error": ("⚠ error: ", ("message", "errorType")),
    "session.title_changed": ("Title set: ", ("title",)),
    "session.mode_changed": ("Mode: ", ("newMode", "mode")),
    "session.plan_changed": ("Plan ", ("operation",)),
    "session.todos_changed": ("Todo list updated", ()),
    "session.workspace_file_changed": ("Workspace file ", ("operation", "path")),
    "session.handoff": ("Handed off ", ("sourceType",)),
    "session.context_cleared": ("Context cleared", ()),
    "session.task_complete": ("Task complete: ", ("outcome",)),
    "skill.invoked": ("Skill invoked: ", ("name",)),
    "permission.requested": ("Permission requested", ()),
    "permission.completed": ("Permission ", ("result", "decision")),
}


def log_names(files: Mapping[str, bytes]) -> list[str]:
    """The event logs among a version's raw files, ``events.jsonl`` first."""
    logs = sorted(n for n in files if "/" not in n and n.endswith(".jsonl"))
    if EVENTS in logs:
        logs.remove(EVENTS)
        logs.insert(0, EVENTS)
    return logs


def render_session(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a Copilot CLI session version (raw files by name + its ``meta.json``)."""
    doc = md.Document()
    logs = log_names(files)
    parsed = {name: list(iter_jsonl_glued(files[name])) for name in logs}
    fields = {}
    if "workspace.yaml" in files:
        fields = workspace_fields(files["workspace.yaml"].decode("utf-8", "replace"))
    _header(doc, meta, parsed.get(logs[0], []) if logs else [], fields)
    if not logs:
        doc.add(md.note("⚠ no event log in this version"))
    for index, name in enumerate(logs):
        doc.heading(2, "Conversation" if index == 0 else f"Log {name}")
        _Renderer(doc, parsed[name], name).run()
    side_files(doc, files, (n for n in files if n not in logs), "Session files")
    return doc.render()


def _header(
    doc: md.Document,
    meta: Mapping[str, Any],
    items: list[JsonLine | BadLine],
    fields: Mapping[str, str],
) -> None:
    events = [i.value for i in items if isinstance(i, JsonLine)]
    title = meta.get("title")
    if not isinstance(title, str) or not title:
        title = _fallback_title(events, fields)
    doc.heading(1, title)
    lines: list[str] = []
    native = meta.get("native_id")
    if isinstance(native, str) and native:
        lines.append(f"- **Session:** {md.code_span(native)}")
    start = next((event_data(e) for e in events if e.get("type") == "session.start"), {})
    sid = nonempty_str(start.get("sessionId"))
    if sid and sid != native:
        lines.append(f"- **Session id in the log:** {md.code_span(sid)}")
    context = start.get("context") if isinstance(start.get("context"), dict) else {}
    cwd = nonempty_str(context.get("cwd")) or fields.get("cwd")
    if cwd:
        lines.append(f"- **Directory:** {md.code_span(cwd)}")
    for label, key in (("Repository", "repository"), ("Branch", "branch")):
        value = nonempty_str(context.get(key))
        if value:
            lines.append(f"- **{label}:** {md.code_span(value)}")
    times = [t for t in (parse_iso(e.get("timestamp")) for e in events) if t is not None]
    if times:
        lines.append(f"- **Started:** {format_time(min(times))}")
        lines.append(f"- **Last activity:** {format_time(max(times))}")
    models: list[str] = []
    for e in events:
        data = event_data(e)
        for key in ("selectedModel", "newModel", "model"):
            value = nonempty_str(data.get(key))
            if value and value not in models:
                models.append(value)
    if models:
        lines.append("- **Models:** " + ", ".join(md.code_span(m) for m in models[:16]))
    version = nonempty_str(start.get("copilotVersion"))
    if version:
        lines.append(f"- **Copilot CLI:** {md.code_span(version)}")
    bad = [i for i in items if isinstance(i, BadLine)]
    if bad:
        lines.append(f"- **Unreadable lines:** {len(bad)} (marked ⚠ below)")
    doc.add("\n".join(lines))


def _fallback_title(events: list[dict[str, Any]], fields: Mapping[str, str]) -> str:
    titles = [
        nonempty_str(event_data(e).get("title"))
        for e in events
        if e.get("type") == "session.title_changed" and not e.get("agentId")
    ]
    titles = [t for t in titles if t]
    if titles:
        return titles[-1]
    if fields.get("summary", "").strip():
        return fields["summary"]
    for e in events:
        title = prompt_title(e)
        if title:
            return title
    return UNTITLED


class _Renderer:
    """One pass over a log, with tool results indexed by ``toolCallId`` for pairing."""

    def __init__(self, doc: md.Document, items: list[JsonLine | BadLine], name: str) -> None:
        self.doc = doc
        self.items = items
        self.name = name
        self.speaker: str | None = None
        self.results: dict[str, list[int]] = {}
        self.requested: set[str] = set()
        self.consumed: set[int] = set()
        for index, item in enumerate(items):
            if not isinstance(item, JsonLine):
                continue
            kind = item.value.get("type")
            data = event_data(item.value)
            if kind == "tool.execution_complete" and isinstance(data.get("toolCallId"), str):
                self.results.setdefault(data["toolCallId"], []).append(index)
            elif kind == "assistant.message":
                for req in data.get("toolRequests") or []:
                    if isinstance(req, dict) and isinstance(req.get("toolCallId"), str):
                        self.requested.add(req["toolCallId"])

    def run(self) -> None:
        for index, item in enumerate(self.items):
            if index in self.consumed:
                continue
            if isinstance(item, BadLine):
                self.doc.add(md.bad_line_note(item.number, item.size, item.reason, self.name))
                continue
            try:
                self._event(item)
            except Exception as exc:  # noqa: BLE001 - one odd event must not cost the view
                self.doc.add(
                    md.note(f"⚠ line {item.number} could not be rendered ({type(exc).__name__})")
                )

    def _heading(self, who: str, item: JsonLine, force: bool = False) -> None:
        if self.speaker == who and not force:
            return
        self.speaker = who
        parts = [who]
        ts = parse_iso(item.value.get("timestamp"))
        if ts is not None:
            parts.append(format_time(ts))
        parts.append(f"line {item.number}")
        self.doc.heading(3, " · ".join(parts))

    def _event(self, item: JsonLine) -> None:
        rec = item.value
        kind = rec.get("type") if isinstance(rec.get("type"), str) else ""
        data = event_data(rec)
        sub = bool(rec.get("agentId") or data.get("parentToolCallId"))
        doc = self.doc
        if kind in _SILENT:
            return
        if kind == "user.message":
            self._heading("User (to a subagent)" if sub else "User", item, force=True)
            self._user(data)
        elif kind == "assistant.message":
            self._heading("Subagent" if sub else "Assistant", item)
            self._assistant(data)
        elif kind == "assistant.reasoning":
            text = nonempty_str(data.get("content"))
            if text:
                self._heading("Subagent" if sub else "Assistant", item)
                doc.add(md.details("Reasoning", md.text_block(text)))
        elif kind == "tool.execution_start":
            call = data.get("toolCallId")
            if isinstance(call, str) and call in self.requested:
                return
            self._heading("Subagent" if sub else "Assistant", item)
            doc.add(self._call_head(data.get("toolName"), call))
            args = arguments_block(data.get("arguments"))
            if args:
                doc.add(args)
            self._results(call)
        elif kind == "tool.execution_complete":
            doc.extend(_result(data))
        elif kind == "system.message":
            text = nonempty_str(data.get("content")) or ""
            role = nonempty_str(data.get("role")) or "system"
            label = f"{role.capitalize()} message (line {item.number})"
            doc.add(md.details(label, md.text_block(text)))
        elif kind == "system.notification":
            text = nonempty_str(data.get("content")) or ""
            kind_info = data.get("kind")
            label = kind_info.get("type") if isinstance(kind_info, dict) else None
            summary = f"Notification{': ' + label if isinstance(label, str) else ''}"
            body = md.text_block(text) if text.strip() else md.json_block(data, limit=JSON_LIMIT)
            doc.add(md.details(summary, body))
        elif kind.startswith("subagent."):
            name = nonempty_str(data.get("agentDisplayName")) or nonempty_str(data.get("agentName")) or "?"
            what = kind.split(".", 1)[1]
            doc.add(md.note(f"Subagent {name} {what}"))
        elif kind in ("hook.start", "hook.end"):
            hook = nonempty_str(data.get("hookType")) or "?"
            summary = f"Hook {hook} ({kind.split('.', 1)[1]})"
            doc.add(md.details(summary, md.json_block(data, limit=JSON_LIMIT)))
        elif kind in ("session.start", "session.resume"):
            self.speaker = None
            context = data.get("context") if isinstance(data.get("context"), dict) else {}
            where = nonempty_str(context.get("cwd"))
            what = "Session started" if kind == "session.start" else "Session resumed"
            doc.add(md.note(f"{what}{' in ' + where if where else ''}"))
        elif kind == "session.model_change":
            doc.add(md.note(f"Model: {data.get('newModel', '?')}"))
        elif kind in _CONTEXT_EVENTS:
            self.speaker = None
            doc.add("---")
            label = _CONTEXT_EVENTS[kind]
            doc.add(f"**{label}**")
            summary = nonempty_str(data.get("summaryContent")) or nonempty_str(data.get("summary"))
            if summary:
                doc.add(md.details("Summary", md.text_block(summary)))
            if data:
                doc.add(md.details("Details", md.json_block(data, limit=JSON_LIMIT)))
        elif kind == "session.shutdown":
            doc.add(md.note(f"Session ended ({data.get('shutdownType', '?')})"))
            doc.add(md.details("Session summary", md.json_block(data, limit=JSON_LIMIT)))
        elif kind == "abort":
            doc.add(md.note(f"⚠ aborted: {data.get('reason', '?')}"))
        elif kind in _NOTES:
            prefix, keys = _NOTES[kind]
            value = next((str(data[k]) for k in keys if data.get(k) not in (None, "")), "")
            doc.add(md.note(f"{prefix}{value}".strip() or kind))
        else:
            doc.add(md.note(f"event: {kind or '(no type)'} (line {item.number})"))

    def _user(self, data: dict[str, Any]) -> None:
        text = data.get("content") if isinstance(data.get("content"), str) else ""
        if text.strip():
            self.doc.add(md.text_block(text))
        attachments = data.get("attachments")
        if isinstance(attachments, list) and attachments:
            lines = []
            for att in attachments:
                if isinstance(att, dict):
                    name = att.get("displayName") or att.get("path") or att.get("type") or "?"
                    lines.append(f"- [attachment: {md.escape_inline(str(name), 300)}]")
            if lines:
                self.doc.add("\n".join(lines))
        sent = data.get("transformedContent")
        if isinstance(sent, str) and sent.strip() and sent.strip() != text.strip():
            self.doc.add(md.details("As sent to the model", md.text_block(sent)))

    def _assistant(self, data: dict[str, Any]) -> None:
        reasoning = nonempty_str(data.get("reasoningText"))
        if reasoning:
            self.doc.add(md.details("Reasoning", md.text_block(reasoning)))
        text = data.get("content")
        if isinstance(text, str) and text.strip():
            self.doc.add(md.text_block(text))
        for req in data.get("toolRequests") or []:
            if not isinstance(req, dict):
                continue
            call = req.get("toolCallId") if isinstance(req.get("toolCallId"), str) else None
            self.doc.add(self._call_head(req.get("name"), call))
            intent = nonempty_str(req.get("intentionSummary")) or nonempty_str(req.get("toolTitle"))
            if intent:
                self.doc.add(md.note(intent))
            args = arguments_block(req.get("arguments"))
            if args:
                self.doc.add(args)
            self._results(call)

    def _call_head(self, name: Any, call: Any) -> str:
        head = "**Tool call:** " + md.code_span(name if isinstance(name, str) and name else "?")
        if isinstance(call, str) and call:
            head += " · " + md.code_span(call)
        return head

    def _results(self, call: Any) -> None:
        if not isinstance(call, str):
            return
        for index in self.results.get(call, []):
            if index in self.consumed:
                continue
            self.consumed.add(index)
            item = self.items[index]
            if isinstance(item, JsonLine):
                self.doc.extend(_result(event_data(item.value)))
            return


def _result(data: dict[str, Any]) -> list[str]:
    call = data.get("toolCallId")
    ok = data.get("success")
    state = "succeeded" if ok is True else ("failed" if ok is False else "finished")
    head = f"**Tool result** ({state})"
    if isinstance(call, str) and call:
        head += " for " + md.code_span(call)
    out = [head]
    result = data.get("result")
    text = None
    if isinstance(result, dict):
        text = nonempty_str(result.get("content"))
        detailed = nonempty_str(result.get("detailedContent"))
        if text is not None:
            out.append(output_block(text))
        if detailed and detailed != text:
            out.append(collapse("Detailed output", md.fence(detailed), detailed, always=True))
        if text is None and detailed is None and result:
            out.append(md.details("Result", md.json_block(result, limit=JSON_LIMIT)))
    elif isinstance(result, str):
        out.append(output_block(result))
    error = data.get("error")
    if isinstance(error, dict) and nonempty_str(error.get("message")):
        out.append(md.note(f"⚠ error: {error['message']}"))
    elif isinstance(error, str) and error:
        out.append(md.note(f"⚠ error: {error}"))
    if len(out) == 1:
        out[0] += " _(no output)_"
    return out
