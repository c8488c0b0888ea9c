"""Copilot Chat session → Markdown: every request, every response part, every tool call.

Input: a stored version's raw files (``<sessionId>.jsonl`` and/or ``<sessionId>.json``). The
log is replayed to its final state (:mod:`.mutation_log`); without a usable log the flat
file is used, as VS Code does. Layout of the document::

    # <title>                  header: session, workspace, times, models, users, problems
    ## Conversation
    ### User · <time> · <model>        the request text, attachments, slash command
    ### <responder> · <agent>          the response parts in order (below), then the tool
                                       calls of the turn with their outputs (collapsed),
                                       errors, follow-up suggestions, votes
    ## Pending requests / ## Draft input    queued requests and unsent input, if any

Response parts are rendered by :mod:`.parts`. The tool calls' arguments and outputs come from
``result.metadata.toolCallRounds`` / ``toolCallResults`` (written by the Copilot Chat
extension). Never raises on content.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Mapping

from .. import markdown as md
from ..timestamps import format_time, parse_epoch
from .parts import ResponseParts
from .session import FLAT, LOG, Loaded, SessionInfo, load_flat, load_log, request_text
from .session import requests_of, session_info

__all__ = ["render_session"]

log = logging.getLogger(__name__)

JSON_LIMIT = 64 * 1024
OUTPUT_LIMIT = 256 * 1024
# ResponseModelState (chatService.ts): Pending, Complete, Cancelled, Failed, NeedsInput.
STATES = {0: "pending", 1: "complete", 2: "cancelled", 3: "failed", 4: "needs input"}

def render_session(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render one Copilot Chat session version (raw files by name + its ``meta.json``)."""
    doc = md.Document()
    logs = sorted(n for n in files if n.endswith(LOG))
    flats = sorted(n for n in files if n.endswith(FLAT))
    loaded: Loaded | None = None
    used: str | None = None
    notes: list[str] = []
    for name in logs:
        attempt = load_log(files[name])
        notes.extend(f"{name} {p}" if p.startswith("line") else f"{name}: {p}"
                     for p in attempt.problems)
        if attempt.state is not None:
            loaded, used = attempt, name
            break
    if loaded is None:
        for name in flats:
            attempt = load_flat(files[name])
            notes.extend(f"{name}: {p}" for p in attempt.problems)
            if attempt.state is not None:
                loaded, used = attempt, name
                break
    state = loaded.state if loaded is not None else None
    info = session_info(state) if state is not None else SessionInfo()
    _header(doc, meta, info, used, notes)
    if state is None:
        doc.add(md.note("⚠ no readable session state in this version; the raw files are kept"))
        _file_list(doc, files, set())
        return doc.render()
    renderer = _Renderer(doc, info)
    requests = requests_of(state)
    doc.heading(2, "Conversation")
    if not requests:
        doc.add(md.note("(no requests in this session)"))
    for number, request in enumerate(requests, 1):
        renderer.guarded(f"request {number}", lambda r=request, n=number: renderer.request(r, n))
    pending = state.get("pendingRequests")
    if isinstance(pending, list) and pending:
        doc.heading(2, "Pending requests")
        for number, item in enumerate(pending, 1):
            request = item.get("request") if isinstance(item, dict) else None
            renderer.guarded(
                f"pending {number}", lambda r=request, n=number: renderer.user(r, n, pending=True)
            )
    _draft(doc, state)
    _file_list(doc, files, {used} if used else set())
    return doc.render()


def _header(
    doc: md.Document,
    meta: Mapping[str, Any],
    info: SessionInfo,
    used: str | None,
    notes: list[str],
) -> None:
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else info.title)
    attrs = meta.get("attributes") if isinstance(meta.get("attributes"), Mapping) else {}
    lines: list[str] = []
    native = meta.get("native_id")
    session = native if isinstance(native, str) and native else info.session_id
    if session:
        lines.append(f"- **Session:** {md.code_span(session)}")
    if info.session_id and info.session_id != session:
        lines.append(f"- **Session id in file:** {md.code_span(info.session_id)}")
    folder = attrs.get("folder") or attrs.get("workspace")
    if isinstance(folder, str) and folder:
        lines.append(f"- **Workspace:** {md.code_span(folder)}")
    elif attrs.get("storage") == "emptyWindow":
        lines.append("- **Workspace:** none (empty window)")
    host = attrs.get("host")
    if isinstance(host, str) and host:
        lines.append(f"- **Editor:** {md.escape_inline(host)}")
    if info.created_at is not None:
        lines.append(f"- **Started:** {format_time(info.created_at)}")
    if info.updated_at is not None:
        lines.append(f"- **Last activity:** {format_time(info.updated_at)}")
    if info.models:
        lines.append("- **Models:** " + ", ".join(md.code_span(m) for m in info.models))
    people = [x for x in (info.requester, info.responder) if x]
    if people:
        lines.append(f"- **Participants:** {md.escape_inline(' · '.join(people))}")
    if info.location:
        lines.append(f"- **Opened in:** {md.escape_inline(info.location)}")
    if used:
        kind = "mutation log" if used.endswith(LOG) else "session file"
        lines.append(f"- **Read from:** {md.code_span(used)} ({kind})")
    lines.append(f"- **Requests:** {info.requests}")
    doc.add("\n".join(lines))
    for text in notes:
        doc.add(md.note(f"⚠ {text}"))


def _draft(doc: md.Document, state: Mapping[str, Any]) -> None:
    input_state = state.get("inputState")
    text = input_state.get("inputText") if isinstance(input_state, dict) else None
    if isinstance(text, str) and text.strip():
        doc.heading(2, "Draft input (not sent)")
        doc.add(md.text_block(text))


def _file_list(doc: md.Document, files: Mapping[str, bytes], used: set[str]) -> None:
    others = [n for n in sorted(files) if n not in used]
    if not others:
        return
    doc.heading(2, "Other files")
    lines = []
    for name in others:
        what = " (an older copy of the session, before the mutation log)" if (
            name.endswith(FLAT) and any(u.endswith(LOG) for u in used)
        ) else ""
        lines.append(f"- {md.code_span(name)} ({md.human_bytes(len(files[name]))}){what}")
    doc.add("\n".join(lines))


# ---------------------------------------------------------------------------------------


class _Renderer:
    """Writes requests and their responses into one document."""

    def __init__(self, doc: md.Document, info: SessionInfo) -> None:
        self.doc = doc
        self.info = info

    def guarded(self, what: str, fn: Any) -> None:
        """Run one section; a bug in it marks the section instead of losing the document."""
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - rendering must never fail the whole view
            log.warning("could not render %s: %s", what, type(exc).__name__)
            log.debug("could not render %s", what, exc_info=True)
            self.doc.add(md.note(f"⚠ could not render {what} ({type(exc).__name__})"))

    # -- one request ----------------------------------------------------------------------

    def request(self, request: Any, number: int) -> None:
        if not isinstance(request, dict):
            self.doc.add(md.note(f"⚠ request {number} is not an object"))
            return
        self.user(request, number)
        self.response(request)

    def user(self, request: Any, number: int, pending: bool = False) -> None:
        if not isinstance(request, dict):
            self.doc.add(md.note(f"⚠ request {number} is not an object"))
            return
        parts = ["Pending request" if pending else "User"]
        when = parse_epoch(request.get("timestamp"), unit="ms")
        if when is not None:
            parts.append(format_time(when))
        model = request.get("modelId")
        if isinstance(model, str) and model:
            parts.append(model)
        self.doc.heading(3, " · ".join(parts))
        text = request_text(request)
        if text and text.strip():
            self.doc.add(md.text_block(text))
        else:
            self.doc.add(md.note("(no text)"))
        extras: list[str] = []
        slash = request.get("slashCommand")
        if isinstance(slash, dict) and isinstance(slash.get("name"), str):
            extras.append(f"command {md.code_span('/' + slash['name'])}")
        mode = request.get("modeInfo")
        if isinstance(mode, dict):
            kind = mode.get("kind") or mode.get("modeId") or mode.get("modeName")
            if isinstance(kind, str) and kind:
                extras.append(f"mode {md.code_span(kind)}")
        names = _attachment_names(request.get("variableData"))
        if names:
            extras.append("attached " + ", ".join(md.code_span(n) for n in names))
        if extras:
            self.doc.add("_" + "; ".join(extras) + "_")

    def response(self, request: dict[str, Any]) -> None:
        parts = request.get("response")
        result = request.get("result") if isinstance(request.get("result"), dict) else {}
        agent = request.get("agent")
        label = [self.info.responder or "Copilot"]
        if isinstance(agent, dict):
            name = agent.get("fullName") or agent.get("name") or agent.get("id")
            if isinstance(name, str) and name and name != label[0]:
                label.append(name)
        state = request.get("modelState")
        value = state.get("value") if isinstance(state, dict) else None
        if isinstance(value, int) and value in (2, 3, 4):
            label.append(STATES[value])
        elif request.get("isCanceled") is True:
            label.append("cancelled")
        if parts in (None, [], "") and not result:
            return
        self.doc.heading(3, " · ".join(label))
        ResponseParts(self.doc).run(parts)
        self._tool_calls(result)
        error = result.get("errorDetails")
        if isinstance(error, dict):
            message = error.get("message")
            code = error.get("code") or error.get("responseIsFiltered")
            text = message if isinstance(message, str) else "error"
            self.doc.add(md.note(f"⚠ {text}" + (f" ({code})" if isinstance(code, str) else "")))
        self._followups(request.get("followups"))
        vote = request.get("vote")
        if vote in (0, 1) and not isinstance(vote, bool):
            reason = request.get("voteDownReason")
            why = f" ({reason})" if isinstance(reason, str) and reason else ""
            verdict = "👍 voted helpful" if vote == 1 else "👎 voted unhelpful"
            self.doc.add(md.note(verdict + why))

    def _tool_calls(self, result: Mapping[str, Any]) -> None:
        metadata = result.get("metadata") if isinstance(result.get("metadata"), dict) else {}
        rounds = metadata.get("toolCallRounds")
        outputs = metadata.get("toolCallResults")
        outputs = outputs if isinstance(outputs, dict) else {}
        if not isinstance(rounds, list):
            return
        blocks: list[str] = []
        count = 0
        for rnd in rounds:
            if not isinstance(rnd, dict):
                continue
            thinking = rnd.get("thinking")
            if isinstance(thinking, dict):
                text = thinking.get("text")
                if isinstance(text, list):
                    text = "\n".join(t for t in text if isinstance(t, str))
                if isinstance(text, str) and text.strip():
                    blocks.append(md.details("Thinking", md.text_block(text)))
            calls = rnd.get("toolCalls")
            if not isinstance(calls, list):
                continue
            for call in calls:
                if not isinstance(call, dict):
                    continue
                count += 1
                blocks.extend(_tool_call(call, outputs))
        if blocks:
            self.doc.add(md.details(f"Tool calls of this turn ({count})", "\n\n".join(blocks)))

    def _followups(self, followups: Any) -> None:
        if not isinstance(followups, list):
            return
        items = []
        for item in followups:
            if isinstance(item, dict):
                text = item.get("message") or item.get("title")
                if isinstance(text, str) and text.strip():
                    items.append(f"- {md.escape_inline(text)}")
        if items:
            self.doc.add("_Suggested follow-ups:_\n\n" + "\n".join(items))


def _attachment_names(variable_data: Any) -> list[str]:
    if not isinstance(variable_data, dict):
        return []
    variables = variable_data.get("variables")
    if not isinstance(variables, list):
        return []
    names = []
    for var in variables:
        if isinstance(var, dict):
            name = var.get("name") or var.get("id")
            if isinstance(name, str) and name:
                names.append(name)
    return names


def _tool_call(call: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[str]:
    name = call.get("name")
    ident = call.get("id")
    head = "**Tool call:** " + md.code_span(name if isinstance(name, str) and name else "?")
    if isinstance(ident, str) and ident:
        head += " · " + md.code_span(ident)
    out = [head]
    arguments = call.get("arguments")
    if isinstance(arguments, str):
        try:
            out.append(md.json_block(json.loads(arguments), limit=JSON_LIMIT))
        except (ValueError, RecursionError):
            out.append(md.fence(arguments))
    elif arguments is not None:
        out.append(md.json_block(arguments, limit=JSON_LIMIT))
    result = outputs.get(ident) if isinstance(ident, str) else None
    if result is not None:
        text = _result_text(result)
        if text.strip():
            if len(text) > OUTPUT_LIMIT:
                text = text[:OUTPUT_LIMIT] + f"\n… ({len(text) - OUTPUT_LIMIT} more characters)"
            out.append(f"**Tool output** for {md.code_span(ident)}")
            out.append(md.fence(text))
        else:
            out.append(f"**Tool output** for {md.code_span(ident)} _(no text)_")
    return out


def _result_text(value: Any) -> str:
    """The text inside a tool result: ``{content: [{value: str}]}`` text parts, or the
    ``text`` leaves of a prompt-tsx tree (``{node: {children: [{text}]}}``)."""
    pieces: list[str] = []
    stack = [value]
    seen = 0
    while stack and seen < 200_000:
        seen += 1
        node = stack.pop()
        if isinstance(node, str):
            pieces.append(node)
        elif isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            text = node.get("text")
            if isinstance(text, str):
                pieces.append(text)
            inner = node.get("value")
            if isinstance(inner, (str, list, dict)):
                stack.append(inner)
            for key in ("content", "node", "children"):
                child = node.get(key)
                if isinstance(child, (list, dict)):
                    stack.append(child)
    return "".join(pieces)
