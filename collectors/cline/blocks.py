"""Message content blocks → Markdown: Anthropic blocks (Cline) and AI SDK parts (Roo Code v2).

Anthropic Messages API blocks (anthropics/anthropic-sdk-typescript ``MessageParam``):
``text``, ``thinking`` (with ``signature``), ``redacted_thinking``, ``tool_use``
(``id, name, input``), ``tool_result`` (``tool_use_id, content, is_error``), ``image`` and
``document`` (``source: {type: base64, media_type, data} | {type: url, url}``). Roo Code adds
``reasoning`` blocks and, in its v2 history (RooCodeInc/Roo-Code
``src/core/task-persistence/rooMessage.ts``), the Vercel AI SDK parts: ``text``,
``reasoning`` (``text``), ``tool-call`` (``toolCallId, toolName, input``), ``tool-result``
(``toolCallId, toolName, output: {type: text|json|error-text|error-json|content, value}``),
``image`` (``image, mediaType``) and ``file`` (``data, mediaType, filename``).

Cline's tool results are often plain user text (``[read_file for 'x'] Result:`` …), and every
user turn carries a long ``<environment_details>`` block: both are collapsed. Inline images
are shown as ``[image: <type>, N bytes]``, never decoded. Never raises on content.
"""

from __future__ import annotations

import re
from typing import Any

from .. import markdown as md

__all__ = ["media", "message_blocks", "render_block"]

COLLAPSE_LINES = 30
COLLAPSE_CHARS = 3000
JSON_LIMIT = 64 * 1024

_TOOL_RESULT_TEXT = re.compile(r"^\[([^\]\n]{1,300})\] Result:")
_ENVIRONMENT = "<environment_details>"
_TASK = re.compile(r"^\s*<task>\s*\n?(.*?)\n?\s*</task>\s*$", re.S)


def message_blocks(message: Any) -> list[Any]:
    """The content of one message as a list of blocks (a string content is one text block)."""
    if not isinstance(message, dict):
        return []
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return content
    return []


def render_block(block: Any) -> list[str]:
    """Markdown blocks for one content block of either format."""
    if isinstance(block, str):
        return _text(block)
    if not isinstance(block, dict):
        return [md.note(f"⚠ content block of type {type(block).__name__}")]
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return _text(text) if isinstance(text, str) else []
    if kind in ("thinking", "reasoning"):
        text = block.get("thinking", block.get("text"))
        if not isinstance(text, str) or not text.strip():
            summary = _summary_text(block.get("summary"))
            if summary:
                return [md.details("Reasoning summary", md.text_block(summary))]
            return [md.note(f"({kind}, no text recorded)")]
        return [md.details("Thinking", md.text_block(text))]
    if kind == "redacted_thinking":
        data = block.get("data")
        return [md.note(f"(redacted thinking, {len(data) if isinstance(data, str) else 0} bytes)")]
    if kind in ("tool_use", "tool-call", "server_tool_use", "mcp_tool_use"):
        return _tool_call(block)
    if kind in ("tool_result", "tool-result"):
        return _tool_result(block)
    if kind in ("image", "document", "file"):
        return [media(block)]
    label = kind if isinstance(kind, str) else "?"
    return [
        md.note(f"⚠ unknown content block {label!r}"),
        md.details(f"{label} block", md.json_block(block, limit=JSON_LIMIT)),
    ]


def _summary_text(summary: Any) -> str:
    if not isinstance(summary, list):
        return ""
    return "\n\n".join(
        s["text"] for s in summary if isinstance(s, dict) and isinstance(s.get("text"), str)
    )


def _collapsible(head: str, text: str, label: str, lang: str = "") -> list[str]:
    body = md.fence(text, lang)
    lines = text.count("\n") + 1
    if lines > COLLAPSE_LINES or len(text) > COLLAPSE_CHARS:
        size = md.human_bytes(len(text.encode("utf-8", "replace")))
        return [head, md.details(f"{label} ({lines} lines, {size})", body)]
    return [head, body]


def _text(text: str) -> list[str]:
    if not text.strip():
        return []
    stripped = text.lstrip()
    if stripped.startswith(_ENVIRONMENT):
        return [md.details("Environment details", md.fence(text))]
    m = _TOOL_RESULT_TEXT.match(stripped)
    if m:
        return _collapsible(f"**Tool output** ({md.escape_inline(m.group(1))})", text, "Output")
    task = _TASK.match(text)
    if task:
        return [md.text_block(task.group(1))]
    return [md.text_block(text)]


def _tool_call(block: dict[str, Any]) -> list[str]:
    name = block.get("name", block.get("toolName"))
    ident = block.get("id", block.get("toolCallId"))
    head = "**Tool call:** " + md.code_span(name if isinstance(name, str) and name else "?")
    if isinstance(ident, str) and ident:
        head += " · " + md.code_span(ident)
    value = block.get("input", block.get("args", {}))
    body = md.json_block(value, limit=JSON_LIMIT)
    if len(body) > COLLAPSE_CHARS or body.count("\n") > COLLAPSE_LINES:
        return [head, md.details("Input", body)]
    return [head, body]


def _result_text(content: Any) -> str:
    """The text of a tool result's content (Anthropic) or output (AI SDK)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):  # AI SDK output: {type, value}
        value = content.get("value")
        if content.get("type") in ("text", "error-text") and isinstance(value, str):
            return value
        if content.get("type") == "content" and isinstance(value, list):
            return _result_text(value)
        if "value" in content:
            return value if isinstance(value, str) else md.json_text(value)
        return md.json_text(content)
    if isinstance(content, list):
        parts: list[str] = []
        for item in content:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict):
                text = item.get("text", item.get("value"))
                if item.get("type") in ("text", None) and isinstance(text, str):
                    parts.append(text)
                elif item.get("type") in ("image", "document", "media", "file"):
                    parts.append(media(item))
                else:
                    parts.append(md.json_text(item))
        return "\n".join(parts)
    return "" if content is None else md.json_text(content)


def _tool_result(block: dict[str, Any]) -> list[str]:
    content = block.get("content", block.get("output"))
    text = _result_text(content)
    error = block.get("is_error") is True or (
        isinstance(content, dict) and str(content.get("type", "")).startswith("error")
    )
    ident = block.get("tool_use_id", block.get("toolCallId"))
    label = "Tool error" if error else "Tool output"
    name = block.get("toolName")
    head = f"**{label}**"
    if isinstance(name, str) and name:
        head += f" ({md.code_span(name)})"
    if isinstance(ident, str) and ident:
        head += f" for {md.code_span(ident)}"
    if not text.strip():
        return [head + " _(empty)_"]
    return _collapsible(head, text, label)


def media(block: dict[str, Any]) -> str:
    """``[image: image/png, 1234 bytes]`` for inline base64 data, on one safe line."""
    kind = block.get("type") if isinstance(block.get("type"), str) else "media"
    source = block.get("source") if isinstance(block.get("source"), dict) else block
    media_type = source.get("media_type", source.get("mediaType", block.get("mediaType")))
    what = md.escape_inline(media_type) if isinstance(media_type, str) else "unknown type"
    name = block.get("filename")
    if isinstance(name, str) and name:
        what += f", {md.escape_inline(name)}"
    for key in ("data", "image"):
        data = source.get(key)
        if isinstance(data, str):
            if data.startswith(("http://", "https://")):
                return f"[{md.escape_inline(kind)}: {md.escape_inline(data[:300])}]"
            return f"[{md.escape_inline(kind)}: {what}, {_base64_size(data)} bytes]"
    url = source.get("url")
    if isinstance(url, str):
        return f"[{md.escape_inline(kind)}: {md.escape_inline(url[:300])}]"
    return f"[{md.escape_inline(kind)}: {what}]"


def _base64_size(data: str) -> int:
    if data.startswith("data:") and "," in data[:200]:
        data = data.split(",", 1)[1]
    stripped = data.strip()
    padding = len(stripped) - len(stripped.rstrip("="))
    return max(0, len(stripped) * 3 // 4 - padding)
