"""Codex rollout → Markdown, in file order.

What is shown: every ``response_item`` (user/assistant messages; developer messages and the
CLI's injected context collapsed; reasoning collapsed; tool calls with their outputs right
after them, paired by ``call_id``; web searches, image generations, snapshots), the
``event_msg`` events that carry something a reader wants (user/agent messages the response
items do not already hold, command summaries, applied patches, renames, aborted turns,
errors, reviews, MCP calls), compactions, and model changes from ``turn_context``.
Bookkeeping events (``token_count``, ``task_started`` …) and ``world_state`` are left out.
Unknown record, item and event types get a short marked line; bad lines a ⚠ note.
Never raises on content.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Mapping

from .. import markdown as md
from ..jsonl import BadLine, JsonLine
from ..jsonl_fast import parse_jsonl
from ..timestamps import format_time, parse_iso
from .rollout import RolloutInfo, RolloutScanner, is_preamble, message_text, normalize

__all__ = ["render_rollout"]

COLLAPSE_LINES = 30
COLLAPSE_CHARS = 3000
JSON_LIMIT = 64 * 1024

_CALL_TYPES = frozenset(
    {"function_call", "custom_tool_call", "local_shell_call", "tool_search_call"}
)
_OUTPUT_TYPES = frozenset({"function_call_output", "custom_tool_call_output", "tool_search_output"})
_SILENT_EVENTS = frozenset(
    {
        "token_count",
        "task_started",
        "task_complete",
        "turn_started",
        "turn_complete",
        "item_started",
        "item_completed",
        "thread_settings_applied",
        "session_configured",
        "agent_message_delta",
        "agent_reasoning_delta",
        "agent_reasoning_section_break",
        "exec_command_begin",
        "exec_command_output_delta",
        "patch_apply_begin",
        "mcp_tool_call_begin",
        "web_search_begin",
        "turn.completed",
        "turn.started",
        "background_event",
        "sub_agent_activity",
        "account/rateLimits/updated",
        "turn_diff",
        "plan_update",
    }
)
_SILENT_KINDS = frozenset({"world_state", "state", "inter_agent_communication_metadata"})


def render_rollout(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render a Codex session version: its rollout file (the one ``.jsonl``) and ``meta``."""
    doc = md.Document()
    names = sorted(n for n in files if n.endswith(".jsonl"))
    data = files[names[0]] if names else b""
    items = parse_jsonl(data)
    scanner = RolloutScanner()
    for item in items:
        scanner.feed(item)
    _header(doc, meta, scanner.info)
    if not names:
        doc.add(md.note("⚠ no rollout file in this version"))
        return doc.render()
    _Renderer(doc, items).run()
    for extra in names[1:]:
        doc.heading(2, f"Rollout {extra}")
        _Renderer(doc, parse_jsonl(files[extra])).run()
    return doc.render()


def _header(doc: md.Document, meta: Mapping[str, Any], info: RolloutInfo) -> None:
    title = meta.get("title")
    doc.heading(1, title if isinstance(title, str) and title else info.title()[0])
    lines: list[str] = []
    native = meta.get("native_id")
    session = native if isinstance(native, str) and native else info.meta_id
    if session:
        lines.append(f"- **Session:** {md.code_span(session)}")
    if info.meta_id and info.meta_id != session:
        lines.append(f"- **Id in session_meta:** {md.code_span(info.meta_id)}")
    if info.forked_from:
        lines.append(f"- **Forked from:** {md.code_span(info.forked_from)}")
    if info.parent_thread:
        lines.append(f"- **Parent thread:** {md.code_span(info.parent_thread)}")
    if info.cwd:
        lines.append(f"- **Directory:** {md.code_span(info.cwd)}")
    if info.git:
        git = ", ".join(f"{k}: {v}" for k, v in info.git.items())
        lines.append(f"- **Git:** {md.escape_inline(git)}")
    if info.created_at is not None:
        lines.append(f"- **Started:** {format_time(info.created_at)}")
    if info.updated_at is not None:
        lines.append(f"- **Last activity:** {format_time(info.updated_at)}")
    if info.models:
        lines.append("- **Models:** " + ", ".join(md.code_span(m) for m in info.models))
    origin = [x for x in (info.originator, info.cli_version, info.model_provider) if x]
    if origin:
        lines.append(f"- **Codex:** {md.escape_inline(' · '.join(origin))}")
    if info.bad:
        lines.append(f"- **Unreadable lines:** {len(info.bad)} (marked ⚠ below)")
    doc.add("\n".join(lines))


class _Renderer:
    """One pass over a rollout's lines, with look-ups prepared for pairing and de-duplication."""

    def __init__(self, doc: md.Document, items: list[JsonLine | BadLine]) -> None:
        self.doc = doc
        self.items = items
        self.speaker: str | None = None
        self.model: tuple[Any, Any] | None = None
        self.meta_seen = False
        self.outputs: dict[str, list[int]] = {}
        self.consumed: set[int] = set()
        self.called: set[str] = set()
        self.said: Counter[tuple[str, str]] = Counter()
        self.reasoned: Counter[str] = Counter()
        for index, item in enumerate(items):
            if isinstance(item, BadLine):
                continue
            kind, payload = normalize(item.value, item.number)
            if kind != "response_item":
                continue
            ptype = payload.get("type")
            call_id = payload.get("call_id")
            if not isinstance(ptype, (str, type(None))):
                continue  # an odd "type" (a list, an object …): shown as an unknown item
            if ptype in _OUTPUT_TYPES and isinstance(call_id, str):
                self.outputs.setdefault(call_id, []).append(index)
            elif ptype in _CALL_TYPES and isinstance(call_id, str):
                self.called.add(call_id)
            elif ptype in ("message", None) and payload.get("role") in ("user", "assistant"):
                self.said[(payload["role"], message_text(payload).strip())] += 1
            elif ptype == "reasoning":
                for text in _reasoning_texts(payload):
                    self.reasoned[text.strip()] += 1

    def run(self) -> None:
        for index, item in enumerate(self.items):
            if index in self.consumed:
                continue
            if isinstance(item, BadLine):
                self.doc.add(md.bad_line_note(item.number, item.size, item.reason))
                continue
            kind, payload = normalize(item.value, item.number)
            ts = parse_iso(item.value.get("timestamp"))
            try:
                self._record(kind, payload, item.number, ts)
            except Exception as exc:  # noqa: BLE001 - one odd record must not cost the view
                self.doc.add(
                    md.note(f"⚠ line {item.number} could not be rendered ({type(exc).__name__})")
                )

    # -- dispatch -------------------------------------------------------------------------

    def _record(self, kind: str, p: dict[str, Any], line: int, ts: float | None) -> None:
        if kind in ("compacted", "session_meta") or (
            kind == "event_msg" and p.get("type") in ("turn_aborted", "context_compacted")
        ):
            self.speaker = None  # the next message starts a new section
        if kind == "response_item":
            self._item(p, line, ts)
        elif kind == "event_msg":
            self._event(p, line, ts)
        elif kind == "session_meta":
            self._session_meta(p)
        elif kind == "turn_context":
            key = (p.get("model"), p.get("effort"))
            if key != self.model and isinstance(p.get("model"), str):
                effort = f" · effort {p['effort']}" if isinstance(p.get("effort"), str) else ""
                self.doc.add(md.note(f"Model: {p['model']}{effort}"))
            self.model = key
        elif kind == "compacted":
            self.doc.add("---")
            self.doc.add("**Context compacted**")
            message = p.get("message")
            if isinstance(message, str) and _has_text(message):
                self.doc.add(md.details("Summary", md.text_block(message)))
            history = p.get("replacement_history")
            if isinstance(history, list):
                self.doc.add(
                    md.note(f"{len(history)} history item(s) replaced the earlier context")
                )
        elif kind == "message":
            role = p.get("role") if isinstance(p.get("role"), str) else "message"
            self._heading(role.capitalize(), ts, line, force=True)
            self.doc.add(md.text_block(message_text(p)))
        elif kind in _SILENT_KINDS:
            return
        else:
            label = kind or "(no type)"
            self.doc.add(md.note(f"⚠ unknown record type {label!r} (line {line})"))

    def _heading(self, who: str, ts: float | None, line: int, force: bool = False) -> None:
        if self.speaker == who and not force:
            return
        self.speaker = who
        parts = [who]
        if ts is not None:
            parts.append(format_time(ts))
        parts.append(f"line {line}")
        self.doc.heading(3, " · ".join(parts))

    def _session_meta(self, p: dict[str, Any]) -> None:
        if self.meta_seen:
            ident = p.get("id")
            self.doc.add(md.note(f"Session meta: {ident if isinstance(ident, str) else '?'}"))
        self.meta_seen = True
        for key in ("base_instructions", "instructions"):
            value = p.get(key)
            if isinstance(value, dict):
                value = value.get("text")
            if isinstance(value, str) and _has_text(value):
                self.doc.add(md.details("Instructions", md.text_block(value)))

    # -- response items -------------------------------------------------------------------

    def _item(self, p: dict[str, Any], line: int, ts: float | None) -> None:
        ptype = p.get("type")
        if not isinstance(ptype, (str, type(None))):
            ptype = "?"  # not hashable, not a known type: shown as an unknown item
        if ptype is None and isinstance(p.get("role"), str):
            ptype = "message"  # hand-written or very old lines leave the item type out
        if ptype == "message":
            self._message(p, line, ts)
        elif ptype == "reasoning":
            self._heading("Assistant", ts, line)
            texts = _reasoning_texts(p)
            if texts:
                self.doc.add(md.details("Reasoning", md.text_block("\n\n".join(texts))))
            elif isinstance(p.get("encrypted_content"), str):
                self.doc.add(md.note(f"(encrypted reasoning, {len(p['encrypted_content'])} bytes)"))
        elif ptype in _CALL_TYPES or ptype == "tool_call":
            self._heading("Assistant", ts, line)
            self._call(p)
        elif ptype in _OUTPUT_TYPES or ptype == "tool_result":
            self.doc.extend(_output(p))
        elif ptype == "web_search_call":
            self._heading("Assistant", ts, line)
            self.doc.add(md.note(f"Web search: {_search_action(p.get('action'))}"))
        elif ptype == "image_generation_call":
            self._heading("Assistant", ts, line)
            prompt = p.get("revised_prompt")
            result = p.get("result")
            size = f", {len(result) * 3 // 4} bytes" if isinstance(result, str) else ""
            self.doc.add(
                md.note(
                    f"[image generation{size}]{': ' + prompt if isinstance(prompt, str) else ''}"
                )
            )
        elif ptype == "ghost_snapshot":
            commit = p.get("ghost_commit")
            ident = commit.get("id") if isinstance(commit, dict) else None
            self.doc.add(md.note(f"ghost snapshot{' ' + ident if isinstance(ident, str) else ''}"))
        elif ptype == "compaction":
            enc = p.get("encrypted_content")
            size = f" ({len(enc)} bytes, encrypted)" if isinstance(enc, str) else ""
            self.doc.add("---")
            self.doc.add(md.note(f"Context compacted{size}"))
        elif ptype == "agent_message":
            who = " → ".join(
                str(p[k]) for k in ("author", "recipient") if isinstance(p.get(k), str)
            )
            self._heading(f"Agent message{' · ' + who if who else ''}", ts, line, force=True)
            self.doc.add(md.text_block(message_text(p)))
        else:
            label = ptype if isinstance(ptype, str) else "?"
            self.doc.add(md.note(f"⚠ unknown item type {label!r} (line {line})"))
            self.doc.add(md.details(f"{label} item", md.json_block(p, limit=JSON_LIMIT)))

    def _message(self, p: dict[str, Any], line: int, ts: float | None) -> None:
        role = p.get("role") if isinstance(p.get("role"), str) else "?"
        content = p.get("content")
        # The joined text is needed for these roles, or when there are no parts to show.
        text = (
            message_text(p)
            if role in ("user", "developer", "system") or not isinstance(content, list)
            else ""
        )
        if role == "user" and is_preamble(text):
            label = (
                "Instructions"
                if "instructions" in text[:64].lower() or "AGENTS.md" in text[:64]
                else "Context"
            )
            self.doc.add(
                md.details(f"{label} (injected by Codex, line {line})", md.text_block(text))
            )
            return
        if role in ("developer", "system"):
            self.doc.add(
                md.details(f"{role.capitalize()} message (line {line})", md.text_block(text))
            )
            return
        who = {"user": "User", "assistant": "Assistant"}.get(role, role.capitalize())
        phase = p.get("phase")
        self._heading(who, ts, line, force=(role == "user"))
        if (
            role == "assistant"
            and isinstance(phase, str)
            and phase not in ("output", "final_answer")
        ):
            self.doc.add(md.note(phase))
        if isinstance(content, list):
            for part in content:
                self.doc.extend(_content_item(part))
        elif text:
            self.doc.add(md.text_block(text))

    def _call(self, p: dict[str, Any]) -> None:
        ptype = p.get("type")
        name = p.get("name")
        if not isinstance(name, str) and isinstance(p.get("function"), dict):
            name = p["function"].get("name")
        call_id = p.get("call_id") if isinstance(p.get("call_id"), str) else None
        if ptype == "local_shell_call":
            action = p.get("action") if isinstance(p.get("action"), dict) else {}
            command = action.get("command")
            shown = (
                " ".join(command)
                if isinstance(command, list) and all(isinstance(c, str) for c in command)
                else None
            )
            head = "**Shell:** " + md.code_span(shown or "?")
            body: str | None = md.json_block(action, limit=JSON_LIMIT)
        else:
            label = "Tool search" if ptype == "tool_search_call" else "Tool call"
            if isinstance(name, str) and name:
                head = f"**{label}:** " + md.code_span(name)
            else:
                head = f"**{label}**" if ptype == "tool_search_call" else f"**{label}:** `?`"
            body = _arguments(p.get("input") if ptype == "custom_tool_call" else p.get("arguments"))
        if call_id:
            head += " · " + md.code_span(call_id)
        self.doc.add(head)
        if body is None:
            summary = p.get("summary")
            self.doc.add(
                md.note(summary if isinstance(summary, str) else "(no arguments recorded)")
            )
        else:
            self.doc.add(_collapse("Input", body))
        for index in self.outputs.get(call_id or "", []):
            if index in self.consumed:
                continue
            self.consumed.add(index)
            item = self.items[index]
            if isinstance(item, JsonLine):
                _, payload = normalize(item.value, item.number)
                self.doc.extend(_output(payload))

    # -- events ---------------------------------------------------------------------------

    def _event(self, p: dict[str, Any], line: int, ts: float | None) -> None:
        etype = p.get("type") if isinstance(p.get("type"), str) else ""
        if etype in _SILENT_EVENTS:
            return
        if etype in ("user_message", "agent_message"):
            role = "user" if etype == "user_message" else "assistant"
            text = p.get("message") if isinstance(p.get("message"), str) else ""
            said = (role, text.strip())
            if self.said[said] > 0:
                self.said[said] -= 1
                return
            self._heading("User" if role == "user" else "Assistant", ts, line, force=role == "user")
            if _has_text(text):
                self.doc.add(md.text_block(text))
            for key in ("images", "local_images"):
                images = p.get(key)
                if isinstance(images, list):
                    for image in images:
                        self.doc.add(_image_ref(image))
        elif etype in ("agent_reasoning", "agent_reasoning_raw_content"):
            text = p.get("text") if isinstance(p.get("text"), str) else ""
            reasoned = text.strip()
            if self.reasoned[reasoned] > 0:
                self.reasoned[reasoned] -= 1
                return
            if reasoned:
                self._heading("Assistant", ts, line)
                self.doc.add(md.details("Reasoning", md.text_block(text)))
        elif etype == "exec_command_end":
            self._exec_end(p)
        elif etype == "patch_apply_end":
            self._patch_end(p)
        elif etype == "thread_name_updated":
            name = p.get("thread_name")
            self.doc.add(md.note(f"Title set: {name if isinstance(name, str) else '?'}"))
        elif etype == "turn_aborted":
            reason = p.get("reason")
            self.doc.add(
                md.note(f"⚠ turn aborted{' (' + reason + ')' if isinstance(reason, str) else ''}")
            )
        elif etype == "context_compacted":
            self.doc.add("---")
            self.doc.add("**Context compacted**")
        elif etype in ("error", "stream_error", "warning"):
            message = p.get("message")
            if not isinstance(message, str) and isinstance(p.get("error"), dict):
                message = p["error"].get("message")
            self.doc.add(md.note(f"⚠ {etype}: {message if isinstance(message, str) else '?'}"))
        elif etype == "mcp_tool_call_end":
            inv = p.get("invocation") if isinstance(p.get("invocation"), dict) else {}
            name = ".".join(str(inv[k]) for k in ("server", "tool") if isinstance(inv.get(k), str))
            self.doc.add(f"**MCP tool call:** {md.code_span(name or '?')}")
            self.doc.add(
                md.details(
                    "Arguments and result",
                    md.json_block(
                        {"arguments": inv.get("arguments"), "result": p.get("result")},
                        limit=JSON_LIMIT,
                    ),
                )
            )
        elif etype == "web_search_end":
            results = p.get("results")
            query = (
                p.get("query")
                if isinstance(p.get("query"), str)
                else _search_action(p.get("action"))
            )
            if isinstance(results, list) and results:
                self.doc.add(
                    md.details(
                        f"Web search results: {query}", md.json_block(results, limit=JSON_LIMIT)
                    )
                )
        elif etype in ("entered_review_mode", "exited_review_mode"):
            hint = p.get("user_facing_hint")
            self.doc.add(
                md.note(f"{etype.replace('_', ' ')}{': ' + hint if isinstance(hint, str) else ''}")
            )
            if isinstance(p.get("review_output"), dict):
                self.doc.add(
                    md.details("Review", md.json_block(p["review_output"], limit=JSON_LIMIT))
                )
        elif etype == "image_generation_end":
            prompt = p.get("revised_prompt")
            self.doc.add(
                md.note(f"[image generated]{': ' + prompt if isinstance(prompt, str) else ''}")
            )
        elif etype == "view_image_tool_call":
            path = p.get("path")
            self.doc.add(md.note(f"viewed image {path if isinstance(path, str) else ''}"))
        elif etype == "undo_completed":
            ok = "succeeded" if p.get("success") is True else "failed"
            self.doc.add(md.note(f"undo {ok}"))
        else:
            self.doc.add(md.note(f"event: {etype or '?'}"))

    def _exec_end(self, p: dict[str, Any]) -> None:
        command = p.get("command")
        if isinstance(command, list):
            shown = " ".join(str(c) for c in command)
        else:
            shown = command if isinstance(command, str) else "?"
        code = p.get("exit_code")
        duration = _duration(p.get("duration"))
        bits = [f"exit {code}" if isinstance(code, int) else None, duration]
        status = ", ".join(b for b in bits if b) or "no status"
        self.doc.add(f"**Command finished:** {md.code_span(shown)} ({status})")
        call_id = p.get("call_id")
        if isinstance(call_id, str) and call_id in self.outputs:
            return  # the output is shown with the tool call
        output = next(
            (
                p[k]
                for k in ("aggregated_output", "formatted_output", "stdout")
                if isinstance(p.get(k), str) and p[k]
            ),
            "",
        )
        if output:
            self.doc.add(_collapse("Output", md.fence(output), always=True))

    def _patch_end(self, p: dict[str, Any]) -> None:
        ok = p.get("success")
        changes = p.get("changes") if isinstance(p.get("changes"), dict) else {}
        state = "applied" if ok is True else ("failed" if ok is False else "finished")
        self.doc.add(md.note(f"Patch {state}: {len(changes)} file(s)"))
        for path, change in changes.items():
            if not isinstance(change, dict):
                continue
            kind = change.get("type") if isinstance(change.get("type"), str) else "change"
            diff = change.get("unified_diff")
            content = change.get("content")
            body = (
                diff
                if isinstance(diff, str)
                else (content if isinstance(content, str) else md.json_text(change))
            )
            self.doc.add(
                md.details(
                    f"{kind}: {path}", md.fence(body, "diff" if isinstance(diff, str) else "")
                )
            )
        for key in ("stdout", "stderr"):
            value = p.get(key)
            if isinstance(value, str) and _has_text(value):
                self.doc.add(md.details(key, md.fence(value)))


# ---------------------------------------------------------------------------------------


def _has_text(text: str) -> bool:
    """``bool(text.strip())`` without copying ``text``."""
    return bool(text) and not text.isspace()


def _reasoning_texts(p: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    for key in ("summary", "content"):
        value = p.get(key)
        if isinstance(value, list):
            for part in value:
                if (
                    isinstance(part, dict)
                    and isinstance(part.get("text"), str)
                    and _has_text(part["text"])
                ):
                    texts.append(part["text"])
                elif isinstance(part, str) and _has_text(part):
                    texts.append(part)
    return texts


def _content_item(part: Any) -> list[str]:
    if isinstance(part, str):
        return [md.text_block(part)]
    if not isinstance(part, dict):
        return []
    ptype = part.get("type")
    if ptype in ("input_text", "output_text", "text"):
        text = part.get("text")
        return [md.text_block(text)] if isinstance(text, str) and _has_text(text) else []
    if ptype == "input_image":
        return [_image_ref(part.get("image_url"))]
    if ptype == "refusal":
        return [md.note(f"⚠ refusal: {part.get('refusal')}")]
    if ptype == "input_file":
        name = part.get("filename") or part.get("file_id") or "file"
        return [md.note(f"[file: {name}]")]
    if ptype == "encrypted_content":
        return [md.note("(encrypted content)")]
    label = ptype if isinstance(ptype, str) else "?"
    return [
        md.note(f"⚠ unknown content {label!r}"),
        md.details(label, md.json_block(part, limit=JSON_LIMIT)),
    ]


def _image_ref(url: Any) -> str:
    """``[image: image/png, 1234 bytes]`` for a data URL, ``[image: <url or path>]`` else;
    one safe line of Markdown."""
    if isinstance(url, dict):
        url = url.get("url") or url.get("path")
    if not isinstance(url, str) or not url:
        return "[image]"
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media = md.escape_inline(header[5:].split(";", 1)[0] or "unknown type", 100)
        padding = len(data) - len(data.rstrip("="))
        return f"[image: {media}, {max(0, len(data) * 3 // 4 - padding)} bytes]"
    return f"[image: {md.escape_inline(url, 500)}]"


def _arguments(value: Any) -> str | None:
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith(("{", "[")):
            try:
                return md.json_block(json.loads(stripped), limit=JSON_LIMIT)
            except (ValueError, RecursionError):
                pass
        return md.fence(value, "diff" if stripped.startswith("*** Begin Patch") else "")
    if value is None:
        return None
    return md.json_block(value, limit=JSON_LIMIT)


def _output_text(value: Any) -> str:
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("{"):
            try:
                parsed = json.loads(stripped)
            except (ValueError, RecursionError):
                return value
            if isinstance(parsed, dict) and isinstance(parsed.get("output"), str):
                meta = parsed.get("metadata")
                code = meta.get("exit_code") if isinstance(meta, dict) else None
                suffix = f"\n(exit code {code})" if isinstance(code, int) else ""
                return parsed["output"] + suffix
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") in ("input_image", "image"):
                parts.append(_image_ref(part.get("image_url")))
            else:
                parts.append(md.json_text(part))
        return "\n".join(parts)
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return value["text"]
        if "content" in value:
            return _output_text(value["content"])
    return md.json_text(value)


def _output(p: dict[str, Any]) -> list[str]:
    ptype = p.get("type")
    if ptype == "tool_search_output":
        return [
            md.details("Tool search result", md.json_block(p.get("tools", p), limit=JSON_LIMIT))
        ]
    value = p.get("output", p.get("result", p.get("content")))
    text = _output_text(value)
    call_id = p.get("call_id")
    head = "**Tool output**" + (f" for {md.code_span(call_id)}" if isinstance(call_id, str) else "")
    if not _has_text(text):
        return [head + " _(empty)_"]
    return [head, _collapse("Output", md.fence(text), size_hint=text)]


def _collapse(label: str, block: str, size_hint: str | None = None, always: bool = False) -> str:
    text = size_hint if size_hint is not None else block
    lines = text.count("\n") + 1
    if always or lines > COLLAPSE_LINES or len(text) > COLLAPSE_CHARS:
        return md.details(f"{label} ({lines} lines)", block)
    return block


def _search_action(action: Any) -> str:
    if not isinstance(action, dict):
        return "?"
    for key in ("query", "url", "pattern"):
        value = action.get(key)
        if isinstance(value, str) and value:
            return value
    queries = action.get("queries")
    if isinstance(queries, list) and queries:
        return ", ".join(str(q) for q in queries)
    return str(action.get("type", "?"))


def _duration(value: Any) -> str | None:
    if isinstance(value, dict):
        secs, nanos = value.get("secs"), value.get("nanos", 0)
        if isinstance(secs, (int, float)) and isinstance(nanos, (int, float)):
            return f"{secs + nanos / 1e9:.1f} s"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value} ms"
    if isinstance(value, str):
        return value
    return None
