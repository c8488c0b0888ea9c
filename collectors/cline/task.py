"""One Cline / Roo Code task folder: its files, whether they are whole, and what they say.

Source: cline/cline ``src/core/storage/disk.ts`` (``GlobalFileNames``, the task folder
``<globalStorage>/tasks/<taskId>/``), ``src/shared/ExtensionMessage.ts`` (``ClineMessage``)
and ``src/core/context/context-tracking/ContextTrackerTypes.ts`` (``TaskMetadata``); Roo Code
keeps the same files (RooCodeInc/Roo-Code ``src/core/task-persistence/apiMessages.ts``,
``rooMessage.ts``, ``taskMessages.ts``). A task folder::

    api_conversation_history.json   [{role: "user"|"assistant", content: str | [block…],
                                      ts?, modelInfo?, metrics?}]    Anthropic messages
                                    or, Roo Code ≥ 3.4x: {version: 2, messages: [RooMessage]}
                                      (AI SDK messages: roles user/assistant/tool, parts
                                      text, image, file, tool-call, tool-result, reasoning)
    ui_messages.json                [{ts (ms), type: "say"|"ask", say?|ask?, text?,
                                      reasoning?, images?, files?, partial?, modelInfo?,
                                      lastCheckpointHash?, conversationHistoryIndex?}]
    claude_messages.json            ui_messages.json before it was renamed (old Cline)
    task_metadata.json              {files_in_context: […], model_usage: [{ts, model_id,
                                      model_provider_id, mode}], environment_history: […]}
    context_history.json, settings.json, focus_chain_taskid_<id>.md, …

Every JSON file is rewritten whole (``fs.writeFile``: truncate, then write) on each change,
so a reader can meet a prefix of it (Roo Code writes through a temporary file and a rename,
which leaves ``.tmp`` files and ``.lock`` folders beside them for a moment). The first UI
message is the task (``say: "text"``); its
text is what Cline lists as the task's name (``HistoryItem.task``).

Nothing here raises on content; I/O errors propagate as ``OSError``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..jsonl import nonempty_str
from ..scan import decode_string
from ..timestamps import parse_epoch
from ..titles import UNTITLED, title_from_text

__all__ = [
    "API_HISTORY",
    "CORE_FILES",
    "LEGACY_UI",
    "METADATA",
    "UI_MESSAGES",
    "JsonCheck",
    "TaskInfo",
    "api_messages",
    "check_json",
    "first_task_text",
    "task_cwd",
    "task_info",
]

API_HISTORY = "api_conversation_history.json"
UI_MESSAGES = "ui_messages.json"
LEGACY_UI = "claude_messages.json"
METADATA = "task_metadata.json"
CORE_FILES = (API_HISTORY, UI_MESSAGES, LEGACY_UI)
"""A folder under ``tasks/`` holding one of these is a task."""

_HEAD = 1 << 20
_WS = b" \t\r\n"
_CWD = re.compile(r"# Current (?:Working|Workspace) Directory \((.+?)\) Files")
_TASK_TAGS = re.compile(r"^\s*<task>\s*\n?(.*?)\n?\s*</task>", re.S)
_TEXT_FIELD = re.compile(rb'"text":\s*"((?:[^"\\]|\\.){0,4096})', re.S)


@dataclass
class JsonCheck:
    """Whether one JSON file is whole. ``value``: the parsed value (only for files of at
    most the parse limit); ``problem``: why it is not whole (``None`` if it is); ``parsed``:
    whether it was fully parsed (large files get a cheap check of their first and last
    bytes only); ``head``: for large files, the first element of a top-level array when it
    could be decoded from the first MiB."""

    value: Any = None
    problem: str | None = None
    parsed: bool = False
    head: Any = None


def check_json(stream: BinaryIO, size: int, limit: int) -> JsonCheck:
    """Check one JSON file read from ``stream`` (``size`` bytes). Up to ``limit`` bytes it is
    parsed; above, only its first and last bytes are looked at (an array or object must
    close where it opened: a file cut while being written fails that), and the first array
    element is decoded from the first MiB when possible."""
    if size <= limit:
        data = stream.read(limit + 1)
        try:
            return JsonCheck(value=json.loads(data.decode("utf-8-sig")), parsed=True)
        except UnicodeDecodeError:
            return JsonCheck(problem="not UTF-8")
        except RecursionError:
            return JsonCheck(problem="nested too deeply")
        except ValueError:
            if not data.strip(_WS):
                return JsonCheck(problem="empty")
            return JsonCheck(problem="not valid JSON (cut off or being written)")
    head = stream.read(_HEAD)
    stream.seek(max(size - 64, 0))
    tail = stream.read(64)
    start = head.lstrip(_WS + b"\xef\xbb\xbf")[:1]
    end = tail.rstrip(_WS)[-1:]
    if (start, end) not in ((b"[", b"]"), (b"{", b"}")):
        return JsonCheck(problem="not valid JSON (cut off or being written)")
    return JsonCheck(head=_first_element(head) if start == b"[" else None)


def _first_element(head: bytes) -> Any:
    text = head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")
    if not text.startswith("["):
        return None
    rest = text[1:].lstrip()
    try:
        value, _ = json.JSONDecoder().raw_decode(rest)
        return value
    except (ValueError, RecursionError):
        pass
    m = _TEXT_FIELD.search(head)  # the element is longer than the window: its text prefix
    if m is None:
        return None
    raw = m.group(1)
    for cut in range(8):
        value = decode_string(raw[: len(raw) - cut] if cut else raw)
        if value is not None:
            return {"type": "say", "say": "text", "text": value, "_partial": True}
    return None


@dataclass
class TaskInfo:
    """Facts about one task. Times are Unix seconds; ``title_source`` is ``"task"`` (the
    first UI message), ``"api-history"`` (the first user message) or ``"none"``."""

    title: str = UNTITLED
    title_source: str = "none"
    created_at: float | None = None
    updated_at: float | None = None
    cwd: str | None = None
    models: list[str] = field(default_factory=list)
    api_messages: int | None = None
    ui_messages: int | None = None
    version: str | None = None
    editor: str | None = None
    files_in_context: int | None = None


def api_messages(value: Any) -> list[Any] | None:
    """The message list of a parsed ``api_conversation_history.json``: the array itself
    (Cline, older Roo Code) or ``messages`` of Roo Code's ``{version: 2, messages}``."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return value["messages"]
    return None


def first_task_text(ui: Any) -> str | None:
    """The task text: the first UI message when it is ``say: "text"`` (or ``"task"``)."""
    if isinstance(ui, list) and ui and isinstance(ui[0], dict):
        first = ui[0]
        if first.get("type") == "say" and first.get("say") in ("text", "task"):
            return nonempty_str(first.get("text"))
    return None


def user_text(message: Any) -> str:
    """All text blocks of one API message, joined by newlines."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(
        b["text"] for b in content
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    )


def task_cwd(api: Any) -> str | None:
    """The working directory named in the first user message's environment details."""
    if not isinstance(api, list):
        return None
    for message in api[:4]:
        if isinstance(message, dict) and message.get("role") == "user":
            m = _CWD.search(user_text(message))
            if m:
                return m.group(1)
    return None


def _api_task_text(api: Any) -> str | None:
    if not isinstance(api, list):
        return None
    for message in api:
        if isinstance(message, dict) and message.get("role") == "user":
            text = user_text(message)
            m = _TASK_TAGS.match(text)
            return m.group(1) if m else (text or None)
    return None


def task_info(task_id: str, ui: Any, api: Any, metadata: Any) -> TaskInfo:
    """Facts from the parsed files (any may be ``None``: missing, not parsed or broken);
    ``api`` is the parsed history file in either shape (see :func:`api_messages`).

    Title: the task text (first UI message), else the first user message without its
    ``<task>`` tags, cut by :func:`collectors.titles.title_from_text`. Created: the first UI
    message's ``ts``, else the task id when it is epoch milliseconds (Cline's ids), else
    the first API message's ``ts``. Updated: the latest ``ts`` of either file.
    """
    info = TaskInfo()
    api = api_messages(api)
    text = first_task_text(ui)
    if text and title_from_text(text):
        info.title, info.title_source = title_from_text(text), "task"
    else:
        text = _api_task_text(api)
        if text and title_from_text(text):
            info.title, info.title_source = title_from_text(text), "api-history"
    times: list[float] = []
    for messages in (ui, api):
        if isinstance(messages, list):
            for message in messages:
                if isinstance(message, dict):
                    when = parse_epoch(message.get("ts"), unit="ms")
                    if when is not None:
                        times.append(when)
    if isinstance(ui, list):
        info.ui_messages = len(ui)
        if ui and isinstance(ui[0], dict):
            info.created_at = parse_epoch(ui[0].get("ts"), unit="ms")
    if isinstance(api, list):
        info.api_messages = len(api)
    if info.created_at is None and task_id.isdigit() and len(task_id) == 13:
        info.created_at = parse_epoch(int(task_id), unit="ms")
    if info.created_at is None and times:
        info.created_at = min(times)
    info.updated_at = max(times) if times else None
    info.cwd = task_cwd(api)
    _metadata(info, metadata)
    if not info.models:
        for messages in (ui, api):
            for message in messages if isinstance(messages, list) else ():
                model_info = message.get("modelInfo") if isinstance(message, dict) else None
                model = nonempty_str(model_info.get("modelId")) if isinstance(model_info, dict) else None
                if model and model not in info.models:
                    info.models.append(model)
    return info


def _metadata(info: TaskInfo, metadata: Any) -> None:
    if not isinstance(metadata, dict):
        return
    usage = metadata.get("model_usage")
    if isinstance(usage, list):
        for entry in usage:
            model = nonempty_str(entry.get("model_id")) if isinstance(entry, dict) else None
            if model and model not in info.models:
                info.models.append(model)
    history = metadata.get("environment_history")
    if isinstance(history, list) and history and isinstance(history[-1], dict):
        last = history[-1]
        info.version = nonempty_str(last.get("cline_version")) or nonempty_str(last.get("roo_version"))
        name, version = nonempty_str(last.get("host_name")), nonempty_str(last.get("host_version"))
        if name:
            info.editor = f"{name} {version}" if version else name
    files = metadata.get("files_in_context")
    if isinstance(files, list):
        info.files_in_context = len(files)
