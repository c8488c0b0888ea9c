"""The parts of one Copilot Chat response (``request.response[]``) → Markdown blocks.

Source: microsoft/vscode ``src/vs/workbench/contrib/chat/common/model/chatModel.ts``
(``SerializedChatResponsePart``) and ``chatSessionOperationLog.ts`` (which kinds exist and
which may change after being written). A part is a MarkdownString (``{"value": …}``, no
``kind``: a fragment of the answer), a plain string (old sessions), or an object with a
``kind``: ``markdownContent``, ``inlineReference``, ``codeblockUri``, ``thinking``,
``toolInvocationSerialized``, ``prepareToolInvocation``, ``textEditGroup``,
``notebookEditGroup``, ``workspaceEdit``, ``undoStop``, ``progressTaskSerialized``,
``progressMessage``, ``warning``, ``confirmation``, ``elicitationSerialized``, ``command``,
``multiDiffData``, ``pullRequest``, ``extensions``, ``mcpServersStarting``, ``markdownVuln``,
``clearToPreviousToolInvocation``, ``questionCarousel``, ``hook``, ``treeData`` …

Markdown fragments are joined before rendering (one answer streams as many fragments, and a
code fence may open in one and close in another); inline references are put in the text as
code spans. Unknown kinds get a marked line and their JSON, collapsed. Never raises on content.
"""

from __future__ import annotations

import logging
import posixpath
import re
from typing import Any, Mapping

from .. import markdown as md

__all__ = ["ResponseParts", "markdown_value", "plain_message", "uri_label"]

log = logging.getLogger(__name__)

JSON_LIMIT = 64 * 1024
OUTPUT_LIMIT = 256 * 1024

_SILENT = frozenset({"undoStop", "prepareToolInvocation", "codeblockUri"})
_EMPTY_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")




def markdown_value(value: Any) -> str | None:
    """The text of a MarkdownString (``{"value": …}``) or a plain string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("value"), str):
        return value["value"]
    return None


def uri_label(value: Any) -> str | None:
    """A short label for a serialized URI or Location (``{uri, range}``): its path."""
    if isinstance(value, dict):
        if isinstance(value.get("uri"), dict):
            value = value["uri"]
        for key in ("fsPath", "path", "external"):
            if isinstance(value.get(key), str) and value[key]:
                return value[key]
    if isinstance(value, str):
        return value
    return None


def plain_message(markdown: str) -> str:
    """One line from a short Markdown message: ``[](file:///x/y.md)`` → ``y.md``."""

    def link(m: re.Match[str]) -> str:
        text, target = m.group(1), m.group(2)
        if text:
            return text
        path = target.split("#", 1)[0].rstrip("/")
        return posixpath.basename(path) or target

    return _EMPTY_LINK.sub(link, markdown)


class ResponseParts:
    """Renders one response's parts into ``doc``, in order: ``ResponseParts(doc).run(parts)``."""

    def __init__(self, doc: md.Document) -> None:
        self.doc = doc
        self.buffer: list[str] = []

    def flush(self) -> None:
        text = "".join(self.buffer)
        self.buffer.clear()
        if text.strip():
            self.doc.add(md.text_block(text))

    def add(self, block: str) -> None:
        self.flush()
        self.doc.add(block)

    def run(self, parts: Any) -> None:
        if isinstance(parts, (str, dict)):
            parts = [parts]
        if not isinstance(parts, list):
            if parts is not None:
                self.add(md.note("⚠ response in an unknown shape"))
            return
        for part in parts:
            try:
                self.part(part)
            except Exception as exc:  # noqa: BLE001 - one odd part must not lose the rest
                log.debug("response part failed", exc_info=True)
                self.add(md.note(f"⚠ a response part could not be shown ({type(exc).__name__})"))
        self.flush()

    def part(self, part: Any) -> None:
        if isinstance(part, str):
            self.buffer.append(part)
            return
        if not isinstance(part, dict):
            self.add(md.note(f"⚠ response part of type {type(part).__name__}"))
            return
        kind = part.get("kind")
        if kind is None or kind == "markdownContent":
            text = markdown_value(part.get("content")) if kind else markdown_value(part)
            if text is not None:
                self.buffer.append(text)
            elif kind is None:
                self._unknown("(no kind)", part)
            return
        if not isinstance(kind, str):
            self._unknown("?", part)
            return
        if kind in _SILENT:
            return
        handler = getattr(self, "_k_" + kind, None) if kind.isidentifier() else None
        if handler is None:
            self._unknown(kind, part)
        else:
            handler(part)

    # -- kinds ----------------------------------------------------------------------------

    def _k_inlineReference(self, part: dict[str, Any]) -> None:
        name = part.get("name")
        label = name if isinstance(name, str) and name else uri_label(part.get("inlineReference"))
        if label:
            self.buffer.append(md.code_span(posixpath.basename(label) or label))

    def _k_markdownVuln(self, part: dict[str, Any]) -> None:
        text = markdown_value(part.get("content"))
        if text:
            self.buffer.append(text)
        vulns = part.get("vulnerabilities")
        if isinstance(vulns, list) and vulns:
            titles = [v.get("title") for v in vulns if isinstance(v, dict)]
            shown = ", ".join(t for t in titles if isinstance(t, str)) or f"{len(vulns)}"
            self.add(md.note(f"⚠ flagged vulnerabilities: {shown}"))

    def _k_thinking(self, part: dict[str, Any]) -> None:
        value = part.get("value")
        if isinstance(value, list):
            value = "".join(v for v in value if isinstance(v, str))
        if isinstance(value, str) and value.strip():
            self.add(md.details("Thinking", md.text_block(value)))

    def _k_toolInvocationSerialized(self, part: dict[str, Any]) -> None:
        message = markdown_value(part.get("pastTenseMessage")) or markdown_value(
            part.get("invocationMessage")
        )
        tool = part.get("toolId")
        head = "🔧 " + md.escape_inline(plain_message(message)) if message else "🔧 tool call"
        if isinstance(tool, str) and tool:
            head += " · " + md.code_span(tool)
        if part.get("isConfirmed") is False:
            head += " _(not confirmed)_"
        if part.get("isComplete") is False:
            head += " _(did not complete)_"
        blocks = [head]
        data = part.get("toolSpecificData")
        if isinstance(data, dict):
            blocks.extend(_tool_specific(data))
        details = part.get("resultDetails")
        if isinstance(details, dict):
            blocks.extend(_result_details(details))
        elif isinstance(details, list) and details:
            names = [uri_label(d) for d in details]
            shown = [n for n in names if n]
            if shown:
                blocks.append("Results: " + ", ".join(md.code_span(n) for n in shown[:50]))
        self.add("\n\n".join(blocks))

    def _k_toolInvocation(self, part: dict[str, Any]) -> None:
        self._k_toolInvocationSerialized(part)

    def _k_textEditGroup(self, part: dict[str, Any]) -> None:
        path = uri_label(part.get("uri")) or "?"
        edits = part.get("edits")
        texts: list[str] = []
        count = 0
        if isinstance(edits, list):
            for group in edits:
                for edit in group if isinstance(group, list) else [group]:
                    if isinstance(edit, dict):
                        count += 1
                        if isinstance(edit.get("text"), str):
                            texts.append(edit["text"])
        head = f"✏️ **Edited** {md.code_span(path)} ({count} edit{'s' if count != 1 else ''})"
        if part.get("state", {}) and isinstance(part.get("state"), dict):
            applied = part["state"].get("applied")
            if isinstance(applied, int) and not isinstance(applied, bool):
                head += f", {applied} applied"
        body = "".join(texts)
        if body.strip():
            if len(body) > OUTPUT_LIMIT:
                body = body[:OUTPUT_LIMIT] + f"\n… ({len(body) - OUTPUT_LIMIT} more characters)"
            fenced = md.fence(body, md.guess_language(path))
            self.add(head + "\n\n" + md.details("Inserted text", fenced))
        else:
            self.add(head)

    def _k_notebookEditGroup(self, part: dict[str, Any]) -> None:
        path = uri_label(part.get("uri")) or "?"
        edits = part.get("edits")
        count = len(edits) if isinstance(edits, list) else 0
        self.add(f"✏️ **Edited notebook** {md.code_span(path)} ({count} edit(s))")

    def _k_workspaceEdit(self, part: dict[str, Any]) -> None:
        edits = part.get("edits")
        count = len(edits) if isinstance(edits, list) else 0
        self.add(md.note(f"workspace edit ({count} file operation(s))"))

    def _k_progressTaskSerialized(self, part: dict[str, Any]) -> None:
        text = markdown_value(part.get("content"))
        if text and text.strip():
            self.add(md.note(plain_message(text)))

    _k_progressTask = _k_progressTaskSerialized
    _k_progressMessage = _k_progressTaskSerialized

    def _k_warning(self, part: dict[str, Any]) -> None:
        text = markdown_value(part.get("content")) or "warning"
        self.add(md.note(f"⚠ {plain_message(text)}"))

    def _k_confirmation(self, part: dict[str, Any]) -> None:
        title = part.get("title")
        self.add(md.note(f"Confirmation: {title if isinstance(title, str) else ''}"))
        message = markdown_value(part.get("message"))
        if message and message.strip():
            self.doc.add(md.text_block(message))
        if part.get("isUsed") is True:
            self.doc.add(md.note("(answered)"))

    def _k_elicitationSerialized(self, part: dict[str, Any]) -> None:
        title = markdown_value(part.get("title")) or ""
        self.add(md.note(f"Question: {plain_message(title)}"))
        message = markdown_value(part.get("message"))
        if message and message.strip():
            self.doc.add(md.text_block(message))
        state = part.get("state")
        if isinstance(state, str) and state:
            self.doc.add(md.note(f"({state})"))

    _k_elicitation = _k_elicitationSerialized

    def _k_command(self, part: dict[str, Any]) -> None:
        command = part.get("command")
        title = command.get("title") if isinstance(command, dict) else None
        self.add(md.note(f"button: {title if isinstance(title, str) else 'command'}"))

    def _k_multiDiffData(self, part: dict[str, Any]) -> None:
        data = part.get("multiDiffData")
        data = data if isinstance(data, dict) else {}
        title = data.get("title") if isinstance(data.get("title"), str) else "changes"
        resources = data.get("resources")
        lines = [md.note(f"diff: {title}")]
        if isinstance(resources, list):
            for res in resources[:200]:
                if isinstance(res, dict):
                    label = uri_label(res.get("modifiedUri") or res.get("goToFileUri")
                                       or res.get("originalUri"))
                    if label:
                        lines.append(f"- {md.code_span(label)}")
        self.add("\n".join(lines))

    def _k_pullRequest(self, part: dict[str, Any]) -> None:
        title = part.get("title")
        where = uri_label(part.get("uri")) or part.get("linkTag")
        text = f"pull request: {title if isinstance(title, str) else ''}"
        if isinstance(where, str) and where:
            text += f" ({where})"
        self.add(md.note(text))

    def _k_extensions(self, part: dict[str, Any]) -> None:
        ext = part.get("extensions")
        shown = ", ".join(e for e in ext if isinstance(e, str)) if isinstance(ext, list) else ""
        self.add(md.note(f"extensions suggested: {shown}"))

    def _k_mcpServersStarting(self, part: dict[str, Any]) -> None:
        self.add(md.note("MCP servers starting"))

    def _k_clearToPreviousToolInvocation(self, part: dict[str, Any]) -> None:
        self.add(md.note("(earlier tool output cleared)"))

    def _unknown(self, kind: str, part: dict[str, Any]) -> None:
        self.add(md.note(f"⚠ unknown response part {kind!r}"))
        self.doc.add(md.details(f"{kind} part", md.json_block(part, limit=JSON_LIMIT)))


def _tool_specific(data: Mapping[str, Any]) -> list[str]:
    kind = data.get("kind")
    if kind == "terminal":
        line = data.get("commandLine")
        command = None
        if isinstance(line, dict):
            for key in ("userEdited", "toolEdited", "original"):
                if isinstance(line.get(key), str) and line[key]:
                    command = line[key]
                    break
        elif isinstance(data.get("command"), str):
            command = data["command"]
        out = [md.fence(command, "bash")] if command else []
        output = data.get("terminalCommandOutput") or data.get("output")
        text = markdown_value(output) if not isinstance(output, dict) or "value" in output else None
        if isinstance(output, dict) and isinstance(output.get("text"), str):
            text = output["text"]
        if text and text.strip():
            out.append(md.details("Terminal output", md.fence(text)))
        return out
    if kind == "input":
        raw = data.get("rawInput")
        if raw is None:
            return []
        return [md.details("Input", md.json_block(raw, limit=JSON_LIMIT))]
    return [md.details(f"{kind if isinstance(kind, str) else 'tool'} data",
                       md.json_block(data, limit=JSON_LIMIT))]


def _result_details(details: Mapping[str, Any]) -> list[str]:
    out = []
    if "input" in details:
        value = details["input"]
        body = md.fence(value) if isinstance(value, str) else md.json_block(value, limit=JSON_LIMIT)
        out.append(md.details("Input", body))
    output = details.get("output")
    if isinstance(output, list):
        texts = []
        for item in output:
            if isinstance(item, dict) and isinstance(item.get("value"), str):
                if item.get("isText") is False or item.get("mimeType", "text").startswith("image"):
                    texts.append(f"[{item.get('mimeType', 'binary')} data]")
                else:
                    texts.append(item["value"])
        text = "\n".join(texts)
        if text.strip():
            label = "Error output" if details.get("isError") is True else "Output"
            out.append(md.details(label, md.fence(text[:OUTPUT_LIMIT])))
    return out
