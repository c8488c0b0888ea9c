"""Google GenAI ``Content``/``Part`` values (as Gemini CLI and Qwen Code store them) → Markdown.

Both tools record the model-facing messages in the shape of the ``@google/genai`` SDK
(googleapis/js-genai ``src/types.ts``): a ``Content`` is ``{role, parts: Part[]}``, a
``PartListUnion`` is a string, one ``Part`` or a list of strings/``Part`` s. A ``Part`` holds
one of ``text`` (with ``thought: true`` for reasoning), ``inlineData {mimeType, data}``
(base64), ``fileData {mimeType, fileUri}``, ``functionCall {id, name, args}``,
``functionResponse {id, name, response}``, ``executableCode {language, code}`` or
``codeExecutionResult {outcome, output}``; ``thoughtSignature`` and ``videoMetadata`` are
bookkeeping.

Functions here never raise on odd values: unknown parts come back as a marked JSON block.
"""

from __future__ import annotations

from typing import Any

from . import markdown as md
from .mdparts import JSON_LIMIT, arguments_block, collapse, output_block

__all__ = [
    "inline_data_ref",
    "normalize_parts",
    "parts_text",
    "render_part",
    "render_parts",
    "response_text",
]

_BOOKKEEPING = frozenset({"thoughtSignature", "videoMetadata", "partMetadata"})


def normalize_parts(value: Any) -> list[Any]:
    """A ``PartListUnion`` (or a ``Content`` with ``parts``) as a list of parts; strings
    become ``{"text": …}``; anything else unusable gives ``[]``."""
    if isinstance(value, str):
        return [{"text": value}]
    if isinstance(value, dict):
        if isinstance(value.get("parts"), list) and "role" in value:
            return normalize_parts(value["parts"])
        return [value]
    if isinstance(value, list):
        return [{"text": p} if isinstance(p, str) else p for p in value]
    return []


def parts_text(value: Any, *, thoughts: bool = False, sep: str = "") -> str:
    """The text of the text parts of ``value`` joined by ``sep`` (thought parts only when
    ``thoughts``)."""
    out = []
    for part in normalize_parts(value):
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            if bool(part.get("thought")) == thoughts:
                out.append(part["text"])
    return sep.join(out)


def inline_data_ref(data: Any) -> str:
    """``[attachment: image/png, 1234 bytes]`` for an ``inlineData`` value (one safe line)."""
    if not isinstance(data, dict):
        return "[attachment]"
    mime = data.get("mimeType") if isinstance(data.get("mimeType"), str) else "unknown type"
    payload = data.get("data")
    size = ""
    if isinstance(payload, str):
        padding = len(payload) - len(payload.rstrip("="))
        size = f", {max(0, len(payload) * 3 // 4 - padding)} bytes"
    name = data.get("displayName")
    label = f"{name}: " if isinstance(name, str) and name else ""
    return f"[attachment: {md.escape_inline(label + mime, 200)}{size}]"


def response_text(response: Any) -> str:
    """The text a ``functionResponse.response`` carries: its ``output`` (or ``error``,
    ``result``, ``content``) string, else the value as JSON."""
    if isinstance(response, str):
        return response
    if isinstance(response, dict):
        for key in ("output", "result", "content", "llmContent"):
            value = response.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, list) and all(isinstance(p, (dict, str)) for p in value):
                text = parts_text(value, sep="\n")
                if text:
                    return text
        error = response.get("error")
        if isinstance(error, str):
            return f"Error: {error}"
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return f"Error: {error['message']}"
        if not response:
            return ""
    return md.json_text(response)


def render_part(part: Any, *, show_thoughts: bool = True) -> list[str]:
    """Markdown blocks for one part (see the module docstring)."""
    if isinstance(part, str):
        return [md.text_block(part)] if part.strip() else []
    if not isinstance(part, dict):
        return [md.note(f"⚠ unreadable part ({type(part).__name__})")]
    if isinstance(part.get("text"), str):
        text = part["text"]
        if not text.strip():
            return []
        if part.get("thought"):
            return [md.details("Thinking", md.text_block(text))] if show_thoughts else []
        return [md.text_block(text)]
    if "inlineData" in part:
        return [inline_data_ref(part.get("inlineData"))]
    if "fileData" in part:
        fd = part.get("fileData") if isinstance(part.get("fileData"), dict) else {}
        uri = fd.get("fileUri") or fd.get("uri") or "?"
        return [f"[file: {md.escape_inline(str(uri), 500)}]"]
    if "functionCall" in part:
        call = part.get("functionCall") if isinstance(part.get("functionCall"), dict) else {}
        head = "**Tool call:** " + md.code_span(str(call.get("name") or "?"))
        if isinstance(call.get("id"), str) and call["id"]:
            head += " · " + md.code_span(call["id"])
        body = arguments_block(call.get("args"))
        return [head, body] if body else [head]
    if "functionResponse" in part:
        resp = part.get("functionResponse")
        resp = resp if isinstance(resp, dict) else {}
        head = "**Tool result:** " + md.code_span(str(resp.get("name") or "?"))
        if isinstance(resp.get("id"), str) and resp["id"]:
            head += " · " + md.code_span(resp["id"])
        out = [head, output_block(response_text(resp.get("response")))]
        nested = resp.get("parts")
        if isinstance(nested, list):
            for sub in nested:
                out.extend(render_part(sub, show_thoughts=show_thoughts))
        return out
    if "executableCode" in part:
        code = part.get("executableCode") if isinstance(part.get("executableCode"), dict) else {}
        lang = str(code.get("language") or "").lower()
        text = code.get("code") if isinstance(code.get("code"), str) else ""
        return ["**Code:**", collapse("Code", md.fence(text, lang), text)]
    if "codeExecutionResult" in part:
        res = part.get("codeExecutionResult")
        res = res if isinstance(res, dict) else {}
        outcome = res.get("outcome") if isinstance(res.get("outcome"), str) else "?"
        text = res.get("output") if isinstance(res.get("output"), str) else ""
        return [f"**Code result:** {md.code_span(outcome)}", output_block(text)]
    if set(part) <= _BOOKKEEPING:
        return []
    label = ", ".join(sorted(str(k) for k in part)[:4]) or "empty"
    return [
        md.note(f"⚠ unknown part ({label})"),
        md.details("part", md.json_block(part, limit=JSON_LIMIT)),
    ]


def render_parts(value: Any, *, show_thoughts: bool = True) -> list[str]:
    """Markdown blocks for every part of a ``PartListUnion``/``Content``."""
    out: list[str] = []
    for part in normalize_parts(value):
        out.extend(render_part(part, show_thoughts=show_thoughts))
    return out
