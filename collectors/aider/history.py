"""Aider's ``.aider.chat.history.md`` and ``.aider.input.history``: how to read them back.

Source: Aider-AI/aider ``aider/io.py`` (``InputOutput``), which appends to the chat history:

* at start-up ``\\n# aider chat started at <YYYY-MM-DD HH:MM:SS>\\n\\n`` (local time, no zone);
* each user input as ``\\n#### <line>  \\n`` per input line (lines joined by ``"  \\n#### "``, an
  empty input as ``#### <blank>``): ``append_chat_history(…, linebreak=True)`` ends every
  line with two spaces, a Markdown hard break;
* each model reply as ``\\n<reply, stripped>\\n\\n`` (``ai_output``);
* tool output, warnings, errors and confirmations as ``> <text>  \\n`` (``blockquote=True``);
  a multi-line ``tool_output`` keeps only its first line quoted.

Aider's own reader (``aider/utils.py`` ``split_chat_history_markdown``) takes every
``#### `` line as user input, so a ``#### `` heading inside a reply becomes a false user turn.
:func:`parse_history` does better with the writer's conventions:

* **strict mode** (the file has ``#### `` lines ending in two spaces, as aider writes them):
  only such lines are user input; ``#### `` headings and ``> `` quotes without the two spaces
  inside a reply stay reply text;
* otherwise (hand-written or rewritten files): a ``#### `` line inside a reply is a heading
  when the next line is plain text (aider always writes a blank line or a ``> `` line after
  user input, never reply text directly).

Lines before the first ``# aider chat started at`` header form a preamble. Nothing here
raises on content.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

__all__ = [
    "HEADER",
    "ChatHistory",
    "InputEntry",
    "Run",
    "Turn",
    "header_time",
    "parse_history",
    "parse_input_history",
]

HEADER = "# aider chat started at "
_USER = "#### "
_BLANK_INPUT = "<blank>"
_INPUT_TIME = re.compile(r"^# (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(\.\d+)?\s*$")


@dataclass
class Turn:
    """A run of lines of one kind: ``role`` is ``user``, ``assistant`` or ``tool``; ``line``
    the 1-based number of its first line; ``lines`` without their markers."""

    role: str
    line: int
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip("\n")


@dataclass
class Run:
    """One aider launch: its header time (as written, and parsed as local time) and turns."""

    started_text: str | None
    started: float | None
    line: int
    turns: list[Turn] = field(default_factory=list)


@dataclass
class ChatHistory:
    """A parsed chat history: ``preamble`` (turns before the first header) and ``runs``."""

    preamble: list[Turn] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    strict: bool = False


def header_time(text: str) -> float | None:
    """A header time ``2026-06-09 14:01:00`` as Unix seconds, read as this machine's local
    time (aider writes ``datetime.now()``); ``None`` when it does not parse."""
    try:
        return time.mktime(time.strptime(text.strip()[:19], "%Y-%m-%d %H:%M:%S"))
    except (ValueError, OverflowError):
        return None


def _is_strict_user(line: str) -> bool:
    return line.startswith(_USER) and line.endswith("  ")


def parse_history(text: str) -> ChatHistory:
    """Split a chat history into runs and turns (see the module docstring)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    history = ChatHistory(strict=any(_is_strict_user(line) for line in lines))
    turns = history.preamble
    current: Turn | None = None
    prev_blank = True
    for index, line in enumerate(lines):
        number = index + 1
        if line.startswith(HEADER):
            stamp = line[len(HEADER) :].strip()
            run = Run(stamp or None, header_time(stamp), number)
            history.runs.append(run)
            turns = run.turns
            current = None
            prev_blank = True
            continue
        if not line.strip():
            if current is not None:
                current.lines.append("")
            prev_blank = True
            continue
        role = _classify(line, lines, index, current, prev_blank, history.strict)
        prev_blank = False
        if role == "user":
            content = line[len(_USER) :] if line.startswith(_USER) else line[4:]
            content = content.rstrip()
            content = "" if content == _BLANK_INPUT else content
        elif role == "tool":
            content = line[1:]
            content = content[1:] if content.startswith(" ") else content
            content = content.rstrip() if line.endswith("  ") else content
        else:
            content = line
        if current is None or current.role != role:
            if current is not None:
                _trim(current)
            current = Turn(role, number)
            turns.append(current)
        current.lines.append(content)
    if current is not None:
        _trim(current)
    return history


def _classify(
    line: str, lines: list[str], index: int, current: Turn | None, prev_blank: bool, strict: bool
) -> str:
    role = current.role if current is not None else None
    if line.startswith(_USER) or line.rstrip() == "####":
        if strict:
            return "user" if line.endswith("  ") else "assistant"
        if role == "assistant" and _plain(lines, index + 1):
            return "assistant"
        return "user"
    if line.startswith(">"):
        if strict and role == "assistant" and not line.endswith("  "):
            return "assistant"
        return "tool"
    if role == "tool" and not prev_blank:
        return "tool"  # the unquoted rest of a multi-line tool message
    return "assistant"


def _plain(lines: list[str], index: int) -> bool:
    """Whether line ``index`` exists and is reply text (not blank, input, quote or header)."""
    if index >= len(lines):
        return False
    line = lines[index]
    return bool(line.strip()) and not line.startswith(("####", ">", HEADER))


def _trim(turn: Turn) -> None:
    while turn.lines and not turn.lines[-1].strip():
        turn.lines.pop()


@dataclass
class InputEntry:
    """One entry of ``.aider.input.history``: its time text (local) and the input."""

    when: str | None
    text: str


def parse_input_history(text: str) -> list[InputEntry]:
    """Entries of a prompt_toolkit ``FileHistory`` file (prompt-toolkit
    ``src/prompt_toolkit/history.py``): ``# <time>`` then ``+<line>`` per input line."""
    entries: list[InputEntry] = []
    current: InputEntry | None = None
    body: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        m = _INPUT_TIME.match(line)
        if m is not None:
            if current is not None:
                current.text = "\n".join(body)
                entries.append(current)
            current, body = InputEntry(m.group(1), ""), []
        elif line.startswith("+"):
            if current is None:
                current = InputEntry(None, "")
            body.append(line[1:])
    if current is not None:
        current.text = "\n".join(body)
        entries.append(current)
    return entries
