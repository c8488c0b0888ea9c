"""Gemini CLI session → Markdown: the replayed conversation, what rewinds removed, subagents.

Layout of the document::

    # <title>                          header: ids, project, times, models, kind
    ## Conversation                    the final messages of the main chat file
    ## Rewound N (line L, to `id`)     messages a ``$rewindTo`` removed (the raw file keeps them)
    ## Replaced by a history update    messages a ``$set`` of ``messages`` left out (compression)
    ## Earlier file <name>.json        a legacy file migrated into the .jsonl (not repeated)
    ## Subagent <id>                   ``chats/<parent session>/<agent>.jsonl`` files
    ## Tool output files               ``tool-outputs/session-<id>/…`` spilled outputs

A message is shown with its text parts (Markdown), thoughts collapsed, tool calls with their
arguments, displayed result and the result sent to the model, and token counts. ``info``,
``warning`` and ``error`` messages are shown as such. Bad lines get a ⚠ note where they are.
Never raises on content.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import markdown as md
from ..genai import normalize_parts, parts_text, render_parts, response_text
from ..glued import GLUED
from ..mdparts import JSON_LIMIT, arguments_block, collapse, output_block, side_files
from ..timestamps import format_time, parse_time
from ..titles import UNTITLED, title_from_text
from .chat import ChatState, load_chat, prompt_text

__all__ = ["render_session", "main_file"]

_SUBAGENT_PREFIX = "subagents/"
_TOOL_OUTPUT_PREFIX = "tool-outputs/"
_LABELS = {"user": "User", "gemini": "Gemini", "model": "Gemini", "assistant": "Gemini"}


def main_file(files: Mapping[str, bytes]) -> tuple[str | None, str | None]:
    """``(main chat file, legacy .json migrated into it)`` among a version's raw files."""
    top = sorted(n for n in files if "/" not in n and n.endswith((".json", ".jsonl")))
    jsonl = [n for n in top if n.endswith(".jsonl")]
    if jsonl:
        main = jsonl[0]
        legacy = main[:-1] if main[:-1] in top else None
        return main, legacy
    return (top[0] if top else None), None


def render_session(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a Gemini CLI session version (raw files by name + its ``meta.json``)."""
    doc = md.Document()
    main, legacy = main_file(files)
    state = load_chat(main, files[main]) if main else ChatState("none")
    _header(doc, meta, state, main)
    if main is None:
        doc.add(md.note("⚠ no chat file in this version"))
    else:
        _chat(doc, state, main, "Conversation")
    if legacy is not None:
        old = load_chat(legacy, files[legacy])
        doc.heading(2, f"Earlier file {legacy}")
        if old.error is not None:
            doc.add(md.note(f"⚠ {legacy}: {old.error}; the raw file is kept as it is"))
        else:
            doc.add(
                md.note(
                    f"The session as Gemini CLI stored it before moving to JSON Lines: "
                    f"{len(old.messages)} message(s), all migrated into {main}"
                )
            )
    for name in sorted(n for n in files if n.startswith(_SUBAGENT_PREFIX)):
        if name.endswith((".json", ".jsonl")):
            agent = load_chat(name, files[name])
            label = name[len(_SUBAGENT_PREFIX) :].rsplit(".", 1)[0]
            _chat(doc, agent, name, f"Subagent {label}")
    outputs = [n for n in files if n.startswith(_TOOL_OUTPUT_PREFIX)]
    side_files(doc, files, outputs, "Tool output files")
    known = {main, legacy}
    other = [
        n
        for n in files
        if n not in known
        and not n.startswith(_TOOL_OUTPUT_PREFIX)
        and not (n.startswith(_SUBAGENT_PREFIX) and n.endswith((".json", ".jsonl")))
    ]
    side_files(doc, files, other, "Other files")
    return doc.render()


def _header(doc: md.Document, meta: Mapping[str, Any], state: ChatState, main: str | None) -> None:
    title = meta.get("title")
    if not isinstance(title, str) or not title:
        title = _fallback_title(state)
    doc.heading(1, title)
    lines: list[str] = []
    native = meta.get("native_id")
    if isinstance(native, str) and native:
        lines.append(f"- **Session:** {md.code_span(native)}")
    sid = state.meta.get("sessionId")
    if isinstance(sid, str) and sid and sid != native:
        lines.append(f"- **Session id:** {md.code_span(sid)}")
    attrs = meta.get("attributes") if isinstance(meta.get("attributes"), Mapping) else {}
    cwd = attrs.get("cwd") if isinstance(attrs, Mapping) else None
    if isinstance(cwd, str) and cwd:
        lines.append(f"- **Project:** {md.code_span(cwd)}")
    kind = state.meta.get("kind")
    if isinstance(kind, str) and kind:
        lines.append(f"- **Kind:** {md.escape_inline(kind)}")
    if state.started is not None:
        lines.append(f"- **Started:** {format_time(state.started)}")
    if state.updated is not None:
        lines.append(f"- **Last activity:** {format_time(state.updated)}")
    models = []
    for msg in state.messages:
        model = msg.get("model")
        if isinstance(model, str) and model and model not in models:
            models.append(model)
    if models:
        lines.append("- **Models:** " + ", ".join(md.code_span(m) for m in models[:16]))
    dirs = state.meta.get("directories")
    if isinstance(dirs, list) and dirs:
        shown = [md.code_span(d) for d in dirs[:20] if isinstance(d, str)]
        lines.append("- **Directories:** " + ", ".join(shown))
    if main:
        lines.append(f"- **File:** {md.code_span(main)} ({len(state.messages)} message(s))")
    if state.bad:
        lines.append(f"- **Unreadable lines:** {len(state.bad)} (marked ⚠ below)")
    doc.add("\n".join(lines))


def _fallback_title(state: ChatState) -> str:
    summary = state.meta.get("summary")
    if isinstance(summary, str) and summary.strip():
        return summary
    for msg in state.messages:
        text = prompt_text(msg)
        if text:
            return title_from_text(text) or UNTITLED
    return UNTITLED


def _chat(doc: md.Document, state: ChatState, name: str, label: str) -> None:
    doc.heading(2, label)
    if label != "Conversation":
        sid = state.meta.get("sessionId")
        extra = f"session id {sid}" if isinstance(sid, str) and sid else ""
        count = f"{len(state.messages)} message(s)"
        doc.add(md.note(f"{name}{' · ' + extra if extra else ''} · {count}"))
    if state.error is not None:
        doc.add(md.note(f"⚠ {name}: {state.error}; the raw file is kept as it is"))
        return
    if not state.messages:
        doc.add(md.note("(no messages)"))
    for msg in state.messages:
        _guarded(doc, msg)
    for bad in state.bad:
        doc.add(md.bad_line_note(bad.number, bad.size, bad.reason, name))
    for number, count in state.glued:
        doc.add(md.note(f"⚠ {name} line {number}: {count} {GLUED} (all shown)"))
    if state.unknown:
        shown = ", ".join(str(n) for n in state.unknown[:20])
        doc.add(md.note(f"⚠ {len(state.unknown)} line(s) of unknown shape in {name}: {shown}"))
    for n, dropped in enumerate(state.dropped, 1):
        if dropped.why == "rewind":
            doc.heading(
                2, f"Rewound {n} (line {dropped.line}, back to message {dropped.target or '?'})"
            )
            doc.add(
                md.note(
                    f"{len(dropped.messages)} message(s) removed from the conversation by a "
                    "rewind; kept in the raw file"
                )
            )
        else:
            doc.heading(2, f"Replaced by a history update (line {dropped.line})")
            doc.add(
                md.note(
                    f"{len(dropped.messages)} message(s) no longer in the conversation after a "
                    "history rewrite (compression or masking); kept in the raw file"
                )
            )
        for msg in dropped.messages:
            _guarded(doc, msg)


def _guarded(doc: md.Document, msg: dict[str, Any]) -> None:
    try:
        _message(doc, msg)
    except Exception as exc:  # noqa: BLE001 - one odd message must not cost the view
        ident = msg.get("id") if isinstance(msg.get("id"), str) else "?"
        doc.add(md.note(f"⚠ message {ident} could not be rendered ({type(exc).__name__})"))


def _message(doc: md.Document, msg: dict[str, Any]) -> None:
    kind = msg.get("type") if isinstance(msg.get("type"), str) else msg.get("role")
    kind = kind if isinstance(kind, str) and kind else "message"
    ts = parse_time(msg.get("timestamp"))
    content = msg.get("content") if "content" in msg else msg.get("parts")
    if kind in ("info", "warning", "error"):
        mark = "⚠ " if kind != "info" else ""
        heading = f"{mark}{kind.capitalize()}"
        doc.heading(3, heading + (f" · {format_time(ts)}" if ts is not None else ""))
        doc.extend(render_parts(content))
        return
    who = _LABELS.get(kind, kind.capitalize())
    parts = [who]
    if ts is not None:
        parts.append(format_time(ts))
    model = msg.get("model")
    if isinstance(model, str) and model:
        parts.append(model)
    doc.heading(3, " · ".join(parts))
    display = msg.get("displayContent")
    if kind == "user" and display not in (None, "", []) and _differs(display, content):
        doc.extend(render_parts(display))
        sent = render_parts(content)
        if sent:
            doc.add(md.details("As sent to the model", "\n\n".join(sent)))
    else:
        thoughts = msg.get("thoughts")
        if isinstance(thoughts, list):
            for thought in thoughts:
                doc.extend(_thought(thought))
        doc.extend(render_parts(content))
    calls = msg.get("toolCalls")
    if isinstance(calls, list):
        for call in calls:
            doc.extend(_tool_call(call))
    tokens = msg.get("tokens")
    if isinstance(tokens, dict) and tokens:
        bits = [
            f"{k} {v}"
            for k, v in tokens.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v
        ]
        if bits:
            doc.add(md.note("tokens: " + " · ".join(bits)))


def _differs(display: Any, content: Any) -> bool:
    return parts_text(normalize_parts(display)).strip() != parts_text(
        normalize_parts(content)
    ).strip() or len(normalize_parts(content)) > len(normalize_parts(display))


def _thought(thought: Any) -> list[str]:
    if isinstance(thought, str):
        return [md.details("Thinking", md.text_block(thought))] if thought.strip() else []
    if not isinstance(thought, dict):
        return []
    subject = thought.get("subject") if isinstance(thought.get("subject"), str) else ""
    text = thought.get("description") if isinstance(thought.get("description"), str) else ""
    if not text.strip() and not subject.strip():
        return []
    label = f"Thinking: {subject}" if subject.strip() else "Thinking"
    return [md.details(label, md.text_block(text) if text.strip() else md.note("(no text)"))]


def _tool_call(call: Any) -> list[str]:
    if not isinstance(call, dict):
        return [md.note("⚠ unreadable tool call")]
    name = call.get("name") if isinstance(call.get("name"), str) else "?"
    shown = call.get("displayName") if isinstance(call.get("displayName"), str) else ""
    head = "**Tool call:** " + md.code_span(shown or name)
    if shown and shown != name:
        head += f" ({md.code_span(name)})"
    if isinstance(call.get("id"), str) and call["id"]:
        head += " · " + md.code_span(call["id"])
    status = call.get("status")
    if isinstance(status, str) and status:
        head += f" · {md.escape_inline(status)}"
    out = [head]
    description = call.get("description")
    if isinstance(description, str) and description.strip():
        out.append(md.note(description))
    args = arguments_block(call.get("args"))
    if args:
        out.append(args)
    agent = call.get("agentId")
    if isinstance(agent, str) and agent:
        out.append(md.note(f"subagent: {agent}"))
    display = call.get("resultDisplay")
    display_text = _display(display, out)
    result = call.get("result")
    result_text = _result_text(result)
    if result_text is not None:
        if display_text is None:
            out.append(output_block(result_text))
        elif result_text.strip() != display_text.strip():
            block = md.fence(result_text)
            out.append(collapse("Result sent to the model", block, result_text, always=True))
    elif display_text is None and "result" in call and result is not None:
        out.append(md.details("Result", md.json_block(result, limit=JSON_LIMIT)))
    return out


def _display(display: Any, out: list[str]) -> str | None:
    """Add the user-facing ``resultDisplay``; its text (``None`` when there is none)."""
    if isinstance(display, str):
        if display.strip():
            out.append(output_block(display))
            return display
        return None
    if isinstance(display, dict):
        if isinstance(display.get("fileDiff"), str):
            name = display.get("fileName") if isinstance(display.get("fileName"), str) else "file"
            diff = display["fileDiff"]
            out.append(collapse(f"Diff of {name}", md.fence(diff, "diff"), diff, always=True))
            return display["fileDiff"]
        out.append(md.details("Display", md.json_block(display, limit=JSON_LIMIT)))
        return md.json_text(display)
    if isinstance(display, list) and display:
        out.append(md.details("Display", md.json_block(display, limit=JSON_LIMIT)))
        return md.json_text(display)
    return None


def _result_text(result: Any) -> str | None:
    if result is None:
        return None
    texts: list[str] = []
    for part in normalize_parts(result):
        if isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
            texts.append(response_text(part["functionResponse"].get("response")))
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part is not None:
            texts.append(md.json_text(part))
    return "\n".join(texts) if texts else None
