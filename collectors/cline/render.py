"""Cline / Roo Code task → Markdown.

Layout of the document::

    # <title>                     header: task, editor, directory, times, models, versions
    ## Conversation               api_conversation_history.json: every message, every block
    ### User · <time>             (text, tool results, environment details collapsed, images)
    ### Assistant · <model> · <time>   (text, thinking collapsed, tool calls)
    ## Task log                   ui_messages.json: what the chat panel showed, event by
                                  event (questions, commands and output, costs, errors …)
    ## Focus chain                focus_chain_taskid_<id>.md (the task's to-do list)
    ## Files in context           task_metadata.json files_in_context
    ## Other files                every other raw file, by name and size

Roo Code's condensed or truncated messages (``condenseParent`` / ``truncationParent``) are
shown, marked, since the history keeps them. A file that does not parse is named with a
⚠ note and the rest is rendered. Never raises on content.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Mapping

from .. import markdown as md
from ..timestamps import format_time, parse_epoch
from .blocks import message_blocks, render_block
from .task import API_HISTORY, LEGACY_UI, METADATA, UI_MESSAGES, api_messages, task_info
from .ui_messages import render_ui_message

__all__ = ["render_task"]

log = logging.getLogger(__name__)

TEXT_FILE_LIMIT = 256 * 1024


def _parse(files: Mapping[str, bytes], name: str, notes: list[str]) -> Any:
    data = files.get(name)
    if data is None:
        return None
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        notes.append(f"{name}: not UTF-8")
    except RecursionError:
        notes.append(f"{name}: nested too deeply")
    except ValueError:
        notes.append(f"{name}: not valid JSON (cut off?); not shown")
    return None


def render_task(files: Mapping[str, bytes], meta: Mapping[str, Any], product: str) -> str:
    """Render one task version (raw files by name + its ``meta.json``); ``product`` is
    ``"Cline"`` or ``"Roo Code"`` (used in labels)."""
    doc = md.Document()
    notes: list[str] = []
    api_raw = _parse(files, API_HISTORY, notes)
    ui_name = UI_MESSAGES if UI_MESSAGES in files else LEGACY_UI
    ui = _parse(files, ui_name, notes)
    metadata = _parse(files, METADATA, notes)
    api = api_messages(api_raw)
    if api_raw is not None and api is None:
        notes.append(f"{API_HISTORY}: not a list of messages")
    native = meta.get("native_id")
    task_id = native.split("@", 1)[0] if isinstance(native, str) else ""
    info = task_info(task_id, ui, api_raw, metadata)
    _header(doc, meta, info, product, task_id, api_raw)
    for text in notes:
        doc.add(md.note(f"⚠ {text}"))

    guard = _Guard(doc)
    doc.heading(2, "Conversation")
    if api is None:
        doc.add(md.note(f"(no readable {API_HISTORY} in this version)"))
    else:
        if not api:
            doc.add(md.note("(no messages)"))
        for number, message in enumerate(api, 1):
            guard.run(f"message {number}", lambda m=message, n=number: _message(doc, m, n))
    if isinstance(ui, list):
        doc.heading(2, f"Task log ({ui_name})")
        for index, event in enumerate(ui):
            guard.run(
                f"event {index + 1}", lambda e=event, i=index: doc.extend(render_ui_message(e, i))
            )
    elif ui_name in files and ui is not None:
        doc.add(md.note(f"⚠ {ui_name} is not a list of events"))
    _focus_chain(doc, files)
    guard.run("files in context", lambda: _files_in_context(doc, metadata))
    _other_files(doc, files, ui_name)
    return doc.render()


class _Guard:
    def __init__(self, doc: md.Document) -> None:
        self.doc = doc

    def run(self, what: str, fn: Callable[[], None]) -> None:
        """Run one section; a bug in it marks the section instead of losing the document."""
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - rendering must never fail the whole view
            log.warning("could not render %s: %s", what, type(exc).__name__)
            log.debug("could not render %s", what, exc_info=True)
            self.doc.add(md.note(f"⚠ could not render {what} ({type(exc).__name__})"))


def _header(
    doc: md.Document,
    meta: Mapping[str, Any],
    info: Any,
    product: str,
    task_id: str,
    api_raw: Any,
) -> None:
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else info.title)
    attrs = meta.get("attributes") if isinstance(meta.get("attributes"), Mapping) else {}
    lines: list[str] = []
    native = meta.get("native_id")
    if isinstance(native, str) and native:
        lines.append(f"- **Task:** {md.code_span(native)}")
    elif task_id:
        lines.append(f"- **Task:** {md.code_span(task_id)}")
    host = attrs.get("host")
    editor = info.editor or (host if isinstance(host, str) else None)
    lines.append(f"- **Extension:** {md.escape_inline(product)}"
                 + (f" in {md.escape_inline(editor)}" if editor else ""))
    if info.cwd:
        lines.append(f"- **Directory:** {md.code_span(info.cwd)}")
    if info.created_at is not None:
        lines.append(f"- **Started:** {format_time(info.created_at)}")
    if info.updated_at is not None:
        lines.append(f"- **Last activity:** {format_time(info.updated_at)}")
    if info.models:
        lines.append("- **Models:** " + ", ".join(md.code_span(m) for m in info.models))
    if info.version:
        lines.append(f"- **{md.escape_inline(product)} version:** {md.escape_inline(info.version)}")
    if isinstance(api_raw, dict) and isinstance(api_raw.get("version"), int):
        lines.append(f"- **History format:** version {api_raw['version']}")
    counts = []
    if info.api_messages is not None:
        counts.append(f"{info.api_messages} API message(s)")
    if info.ui_messages is not None:
        counts.append(f"{info.ui_messages} UI event(s)")
    if counts:
        lines.append("- **Size:** " + ", ".join(counts))
    doc.add("\n".join(lines))


def _message(doc: md.Document, message: Any, number: int) -> None:
    if not isinstance(message, dict):
        doc.add(md.note(f"⚠ message {number} is not an object"))
        return
    role = message.get("role")
    if role is None and message.get("type") == "reasoning":  # Roo Code reasoning item
        doc.heading(3, " · ".join(["Reasoning", *_when(message)]))
        doc.extend(render_block(message))
        return
    labels = {"user": "User", "assistant": "Assistant", "tool": "Tool results", "system": "System"}
    parts = [labels.get(role, str(role)) if isinstance(role, str) else "Message"]
    model_info = message.get("modelInfo")
    model = model_info.get("modelId") if isinstance(model_info, dict) else None
    if role == "assistant" and isinstance(model, str) and model:
        parts.append(model)
    parts.extend(_when(message))
    if message.get("isSummary") is True:
        parts.append("summary of earlier messages")
    if message.get("isTruncationMarker") is True:
        parts.append("truncation marker")
    doc.heading(3, " · ".join(parts))
    if any(isinstance(message.get(k), str) for k in ("condenseParent", "truncationParent")):
        doc.add(md.note("(hidden from the model later: condensed or truncated)"))
    blocks = message_blocks(message)
    if not blocks and "content" in message and not isinstance(message.get("content"), (str, list)):
        doc.add(md.note("⚠ content in an unknown shape"))
    for block in blocks:
        doc.extend(render_block(block))
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning.strip():
        doc.add(md.details("Reasoning", md.text_block(reasoning)))


def _when(message: Mapping[str, Any]) -> list[str]:
    when = parse_epoch(message.get("ts"), unit="ms")
    return [format_time(when)] if when is not None else []


def _focus_chain(doc: md.Document, files: Mapping[str, bytes]) -> None:
    names = sorted(n for n in files if _is_focus_chain(n))
    for name in names:
        text = md.decode_preview(files[name], TEXT_FILE_LIMIT)
        doc.heading(2, "Focus chain")
        if text is None:
            doc.add(md.note(f"{name}: binary, {md.human_bytes(len(files[name]))}"))
        else:
            doc.add(md.details(name, md.text_block(text)))


def _files_in_context(doc: md.Document, metadata: Any) -> None:
    files = metadata.get("files_in_context") if isinstance(metadata, dict) else None
    if not isinstance(files, list) or not files:
        return
    lines = []
    for entry in files[:2000]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        keys = ("record_source", "record_state")
        bits = [entry[k] for k in keys if isinstance(entry.get(k), str)]
        lines.append(f"- {md.code_span(entry['path'])}" + (f" ({', '.join(bits)})" if bits else ""))
    if lines:
        doc.heading(2, "Files in context")
        doc.add(md.details(f"{len(lines)} file record(s)", "\n".join(lines)))


def _other_files(doc: md.Document, files: Mapping[str, bytes], ui_name: str) -> None:
    shown = {API_HISTORY, ui_name, METADATA}
    others = [
        n for n in sorted(files)
        if n not in shown and not _is_focus_chain(n)
    ]
    if others:
        doc.heading(2, "Other files")
        doc.add("\n".join(f"- {md.code_span(n)} ({md.human_bytes(len(files[n]))})" for n in others))


def _is_focus_chain(name: str) -> bool:
    return "/" not in name and name.startswith("focus_chain") and name.endswith(".md")
