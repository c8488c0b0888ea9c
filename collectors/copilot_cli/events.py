"""GitHub Copilot CLI session logs: the event envelope, and the session's ``workspace.yaml``.

Source: github/copilot-sdk ``nodejs/src/generated/session-events.ts`` (generated from the
CLI's ``session-events.schema.json``). Each line of ``events.jsonl`` (or of a flat
``<id>.jsonl``, before 1.0.11) is one event::

    {"type", "data": {…}, "id", "timestamp" (ISO), "parentId" (the previous event), "agentId"?}

Types used here: ``session.start`` (sessionId, copilotVersion, startTime, selectedModel,
context {cwd, gitRoot, branch, repository}), ``session.resume``, ``session.title_changed``
(title), ``session.model_change`` (newModel), ``session.info|warning|error``,
``session.truncation``, ``session.compaction_start|complete``, ``session.shutdown``,
``user.message`` (content, transformedContent, attachments), ``assistant.message`` (content,
toolRequests [{toolCallId, name, arguments}], reasoningText, parentToolCallId),
``assistant.reasoning`` (content), ``tool.execution_start|complete`` (toolCallId, success,
result {content, detailedContent}, error), ``subagent.*``, ``hook.start|end``,
``system.message``, ``system.notification``, ``abort``. Streaming deltas are ephemeral and
not normally stored. A rewind removes events from the file (``session.snapshot_rewind`` is
never written), so a log is a plain sequence.

``workspace.yaml`` (directory layout) holds flat ``key: value`` metadata written by the CLI
(``id``, ``cwd``, ``summary``, ``created_at`` …); :func:`workspace_fields` reads its top-level
scalars without a YAML library.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..titles import title_from_text

__all__ = ["event_data", "prompt_text", "prompt_title", "workspace_fields"]

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*):(?:\s+(.*?))?\s*$")
_DQ_ESCAPES = {"\\n": "\n", '\\"': '"', "\\\\": "\\", "\\t": "\t", "\\/": "/"}


def event_data(rec: dict[str, Any]) -> dict[str, Any]:
    """The event's ``data`` object (``{}`` when missing or not an object)."""
    data = rec.get("data")
    return data if isinstance(data, dict) else {}


def prompt_text(rec: dict[str, Any]) -> str | None:
    """The text of a user prompt typed into the main agent (a ``user.message`` that is not a
    subagent's), ``None`` otherwise or when blank."""
    if rec.get("type") != "user.message" or rec.get("agentId"):
        return None
    data = event_data(rec)
    if data.get("parentToolCallId"):
        return None
    text = data.get("content")
    if not isinstance(text, str) or not text.strip():
        return None
    return text


def prompt_title(rec: dict[str, Any]) -> str | None:
    """:func:`prompt_text` in title form."""
    text = prompt_text(rec)
    if text is None:
        return None
    return title_from_text(text) or None


def workspace_fields(text: str) -> dict[str, str]:
    """The top-level scalar fields of a ``workspace.yaml``: plain, single- or double-quoted
    values, and ``|``/``>`` block scalars. Nested mappings and lists are skipped."""
    out: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        m = _KEY.match(line)
        if m is None:
            continue
        key, value = m.group(1), (m.group(2) or "")
        if value[:1] in ("|", ">"):
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i][:1] in (" ", "\t")):
                block.append(lines[i].strip() if value[:1] == ">" else lines[i].lstrip())
                i += 1
            joined = (" " if value[:1] == ">" else "\n").join(block).strip()
            out[key] = joined
            continue
        if not value:
            continue
        if value.startswith('"'):
            out[key] = _double_quoted(value)
        elif value.startswith("'"):
            body = value[1:-1] if value.endswith("'") and len(value) > 1 else value[1:]
            out[key] = body.replace("''", "'")
        else:
            cont = [value]
            while i < len(lines) and lines[i][:1] in (" ", "\t") and lines[i].strip():
                cont.append(lines[i].strip())
                i += 1
            plain = " ".join(cont)
            if " #" in plain:
                plain = plain.split(" #", 1)[0].rstrip()
            out[key] = plain
    return out


def _double_quoted(value: str) -> str:
    try:
        decoded = json.loads(value)
        if isinstance(decoded, str):
            return decoded
    except ValueError:
        pass
    body = value[1:-1] if value.endswith('"') and len(value) > 1 else value[1:]
    for raw, plain in _DQ_ESCAPES.items():
        body = body.replace(raw, plain)
    return body
