"""Aider repository history → Markdown: every run as its own section.

Layout of the document::

    # <repository folder name>        header: repository path, runs, first and last start
    ## Run N · started <time>         one ``# aider chat started at`` section of the history
    ### User                           input (multi-line inputs joined)
    ### Aider                          the model's reply (Markdown, kept as such)
    > tool output …                    aider's own notes (edits applied, commands, questions)
    ## Input history                  ``.aider.input.history`` entries (collapsed)

Times in aider's files are local times without a zone; they are shown as written.
Never raises on content.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import markdown as md
from .history import ChatHistory, Run, Turn, parse_history, parse_input_history
from .walk import CHAT_HISTORY, INPUT_HISTORY

__all__ = ["render_history"]

INPUT_LIMIT = 500


def render_history(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> str:
    """Render an aider version (raw files by name + its ``meta.json``)."""
    doc = md.Document()
    data = files.get(CHAT_HISTORY)
    history = parse_history(data.decode("utf-8", "replace")) if data is not None else ChatHistory()
    _header(doc, meta, history)
    if data is None:
        doc.add(md.note(f"⚠ no {CHAT_HISTORY} in this version"))
    if history.preamble:
        doc.heading(2, "Before the first run")
        _turns(doc, history.preamble)
    for n, run in enumerate(history.runs, 1):
        _run(doc, n, run)
    if data is not None and not history.runs and not history.preamble:
        doc.add(md.note("(empty history)"))
    if data is not None and not data.endswith(b"\n") and data:
        doc.add(md.note("⚠ the last line is incomplete (aider may still be writing it)"))
    inputs = files.get(INPUT_HISTORY)
    if inputs is not None:
        _inputs(doc, inputs)
    return doc.render()


def _header(doc: md.Document, meta: Mapping[str, Any], history: ChatHistory) -> None:
    title = meta.get("title")
    attrs = meta.get("attributes") if isinstance(meta.get("attributes"), Mapping) else {}
    repo = attrs.get("repo") if isinstance(attrs, Mapping) else None
    if not isinstance(title, str) or not title:
        title = repo.rstrip("/").rsplit("/", 1)[-1] if isinstance(repo, str) and repo else "aider"
    doc.heading(1, title)
    lines = []
    if isinstance(repo, str) and repo:
        lines.append(f"- **Repository:** {md.code_span(repo)}")
    lines.append(f"- **Runs:** {len(history.runs)}")
    started = [r.started_text for r in history.runs if r.started_text]
    if started:
        lines.append(f"- **First run:** {md.escape_inline(started[0])} (local time)")
        lines.append(f"- **Last run:** {md.escape_inline(started[-1])} (local time)")
    prompts = sum(1 for r in history.runs for t in r.turns if t.role == "user")
    lines.append(f"- **Inputs:** {prompts}")
    doc.add("\n".join(lines))


def _run(doc: md.Document, n: int, run: Run) -> None:
    when = f" · started {run.started_text}" if run.started_text else ""
    doc.heading(2, f"Run {n}{when}")
    if not run.turns:
        doc.add(md.note("(nothing recorded in this run)"))
        return
    _turns(doc, run.turns)


def _turns(doc: md.Document, turns: list[Turn]) -> None:
    for turn in turns:
        if turn.role == "user":
            doc.heading(3, f"User · line {turn.line}")
            text = turn.text
            doc.add(md.text_block(text) if text.strip() else md.note("(empty input)"))
        elif turn.role == "assistant":
            doc.heading(3, f"Aider · line {turn.line}")
            doc.add(md.text_block(turn.text))
        else:
            lines = [line for line in turn.lines if line.strip()]
            if lines:
                doc.add("\n".join(f"> {md.escape_inline(line) or ' '}  " for line in lines))


def _inputs(doc: md.Document, data: bytes) -> None:
    entries = parse_input_history(data.decode("utf-8", "replace"))
    doc.heading(2, "Input history")
    doc.add(md.note(f"{INPUT_HISTORY}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"))
    if not entries:
        return
    shown = entries[-INPUT_LIMIT:]
    blocks = []
    for entry in shown:
        label = entry.when or "?"
        blocks.append(f"- {md.escape_inline(label)}: {md.code_span(entry.text)}")
    body = "\n".join(blocks)
    if len(entries) > len(shown):
        cut = md.note(f"(last {len(shown)} of {len(entries)} shown; the raw file is complete)")
        body = cut + "\n\n" + body
    doc.add(md.details("Inputs as typed", body))
