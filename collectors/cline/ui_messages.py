"""Cline / Roo Code UI events (``ui_messages.json``) → Markdown, one block per event.

Source: cline/cline ``src/shared/ExtensionMessage.ts`` (``ClineMessage``, ``ClineSay``,
``ClineAsk``, ``ClineApiReqInfo``, ``ClineSayTool``); Roo Code keeps the same shape
(RooCodeInc/Roo-Code ``packages/types/src/message.ts``). One event::

    {ts (ms), type: "say"|"ask", say?: ClineSay, ask?: ClineAsk, text?, reasoning?,
     images?: [data URL…], files?: [path…], partial?, modelInfo?, lastCheckpointHash?}

The log is what the user saw in the chat panel: the task, the assistant's text and
reasoning, tool and command requests with their output, questions and answers, API request
costs, errors and checkpoints. ``text`` holds JSON for tool requests (``{tool, path,
content, diff, …}``), API requests (``{request, tokensIn, tokensOut, cacheWrites,
cacheReads, cost, cancelReason}``), questions (``{question, options}``) and plan-mode
answers (``{response, options}``). Unknown kinds get a marked line and their text,
collapsed. Never raises on content.
"""

from __future__ import annotations

import json
from typing import Any

from .. import markdown as md
from ..timestamps import format_time, parse_epoch

__all__ = ["render_ui_message"]

COLLAPSE_LINES = 30
COLLAPSE_CHARS = 3000
JSON_LIMIT = 64 * 1024

_TEXT_SAYS = {
    "text": "Assistant",
    "task": "Task",
    "user_feedback": "User",
    "completion_result": "Completion",
    "task_progress": "Task progress",
    "subagent": "Subagent",
}
_TEXT_ASKS = {
    "completion_result": "Completion (waiting for the user)",
    "resume_task": "Resume task?",
    "resume_completed_task": "Resume completed task?",
    "new_task": "New task",
    "condense": "Condense context",
    "report_bug": "Report a bug",
}
_ERROR_KINDS = frozenset(
    {
        "error",
        "diff_error",
        "clineignore_error",
        "rooignore_error",
        "api_req_failed",
        "mistake_limit_reached",
        "auto_approval_max_req_reached",
        "shell_integration_warning",
        "error_retry",
    }
)
_QUIET_SAYS = frozenset({"api_req_finished", "api_req_retried", "deleted_api_reqs"})


def _loads(text: Any) -> Any:
    if not isinstance(text, str) or not text.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _collapsed(label: str, text: str, lang: str = "") -> str:
    body = md.fence(text, lang)
    lines = text.count("\n") + 1
    if lines > COLLAPSE_LINES or len(text) > COLLAPSE_CHARS:
        return md.details(f"{label} ({lines} lines)", body)
    return body


def render_ui_message(message: Any, index: int) -> list[str]:
    """Markdown blocks for one UI event (``index`` is its 0-based position in the file)."""
    if not isinstance(message, dict):
        return [md.note(f"⚠ event {index + 1} is not an object")]
    kind_type = message.get("type")
    kind = message.get("say") if kind_type == "say" else message.get("ask")
    kind = kind if isinstance(kind, str) and kind else "?"
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    when = parse_epoch(message.get("ts"), unit="ms")
    stamp = f" · {format_time(when)}" if when is not None else ""
    partial = " · partial" if message.get("partial") is True else ""
    out: list[str]
    if kind_type == "say" and kind in _TEXT_SAYS:
        label = "Task" if index == 0 and kind == "text" else _TEXT_SAYS[kind]
        out = [f"**{label}**{stamp}{partial}"]
        if text.strip():
            out.append(md.text_block(text))
    elif kind_type == "ask" and kind in _TEXT_ASKS:
        out = [f"**{_TEXT_ASKS[kind]}**{stamp}"]
        if text.strip():
            out.append(md.text_block(text))
    elif kind == "reasoning":
        reasoning = message.get("reasoning")
        body = text or (reasoning if isinstance(reasoning, str) else "")
        out = [md.details(f"Reasoning{stamp}", md.text_block(body))] if body.strip() else []
    elif kind == "api_req_started":
        out = [md.note(_api_request(text, stamp))]
    elif kind in _QUIET_SAYS:
        out = [md.note(f"{kind.replace('_', ' ')}{stamp}")]
    elif kind == "checkpoint_created":
        sha = message.get("lastCheckpointHash")
        short = f" {sha[:10]}" if isinstance(sha, str) and sha else ""
        out = [md.note(f"checkpoint{short}{stamp}")]
    elif kind in ("command", "command_output"):
        waiting = " (awaiting approval)" if kind_type == "ask" and kind == "command" else ""
        label = "Command" if kind == "command" else "Command output"
        out = [f"**{label}**{waiting}{stamp}"]
        if text.strip():
            out.append(_collapsed(label, text, "bash" if kind == "command" else ""))
    elif kind == "tool":
        out = _tool(text, stamp, kind_type == "ask")
    elif kind in ("followup", "plan_mode_respond"):
        out = _question(kind, text, stamp)
    elif kind in _ERROR_KINDS:
        out = [md.note(f"⚠ {kind.replace('_', ' ')}{stamp}")]
        if text.strip():
            out.append(_collapsed("Details", text))
    else:
        out = [md.note(f"{kind_type if isinstance(kind_type, str) else '?'}: {kind}{stamp}")]
        if text.strip():
            parsed = _loads(text)
            out.append(
                md.details("Details", md.json_block(parsed, limit=JSON_LIMIT))
                if parsed is not None
                else _collapsed("Text", text)
            )
    out.extend(_attachments(message))
    return out


def _api_request(text: str, stamp: str) -> str:
    info = _loads(text)
    bits = []
    if isinstance(info, dict):
        for key, label in (("tokensIn", "in"), ("tokensOut", "out"),
                           ("cacheWrites", "cache writes"), ("cacheReads", "cache reads")):
            value = info.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value:
                bits.append(f"{value:g} {label}")
        cost = info.get("cost")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            bits.append(f"${cost:.4f}")
        reason = info.get("cancelReason")
        if isinstance(reason, str) and reason:
            bits.append(f"cancelled: {reason}")
    detail = f" ({', '.join(bits)})" if bits else ""
    return f"API request{stamp}{detail}"


def _tool(text: str, stamp: str, asking: bool) -> list[str]:
    info = _loads(text)
    if not isinstance(info, dict):
        head = f"**Tool**{stamp}"
        return [head, _collapsed("Tool", text)] if text.strip() else [head]
    name = info.get("tool")
    head = "**Tool:** " + md.code_span(name if isinstance(name, str) and name else "?")
    path = info.get("path")
    if isinstance(path, str) and path:
        head += " " + md.code_span(path)
    if asking:
        head += " (awaiting approval)"
    out = [head + stamp]
    for key in ("diff", "content"):
        value = info.get(key)
        if isinstance(value, str) and value.strip():
            named = path if isinstance(path, str) else ""
            lang = "diff" if key == "diff" else md.guess_language(named)
            out.append(_collapsed(key.capitalize(), value, lang))
    rest = {k: v for k, v in info.items() if k not in ("tool", "path", "diff", "content")}
    if rest:
        out.append(md.details("Tool request", md.json_block(rest, limit=JSON_LIMIT)))
    return out


def _question(kind: str, text: str, stamp: str) -> list[str]:
    label = "Question" if kind == "followup" else "Plan"
    info = _loads(text)
    out = [f"**{label}**{stamp}"]
    if isinstance(info, dict):
        body = info.get("question", info.get("response"))
        if isinstance(body, str) and body.strip():
            out.append(md.text_block(body))
        options = info.get("options")
        if isinstance(options, list) and options:
            out.append("\n".join(f"- {md.escape_inline(str(o))}" for o in options))
        selected = info.get("selected")
        if isinstance(selected, str) and selected:
            out.append(md.note(f"chosen: {selected}"))
    elif text.strip():
        out.append(md.text_block(text))
    return out


def _attachments(message: dict[str, Any]) -> list[str]:
    out = []
    images = message.get("images")
    if isinstance(images, list) and images:
        out.append(md.note(f"{len(images)} image(s) attached"))
    files = message.get("files")
    if isinstance(files, list) and files:
        names = [f for f in files if isinstance(f, str)]
        if names:
            out.append("_files:_ " + ", ".join(md.code_span(n) for n in names[:50]))
    return out
