"""Agent transcripts: ``~/.cursor/projects/<project>/agent-transcripts/`` JSON Lines files.

Layout (``FORMATS.md`` "Cursor"; jazzyalex/agent-sessions
``Resources/Fixtures/stage0/agents/cursor/`` for the line shape)::

    agent-transcripts/<id>/<id>.jsonl                 one conversation      -> item
    agent-transcripts/<id>/subagents/<child>.jsonl    its subagents' runs   -> same item
    agent-transcripts/<id>.jsonl                      flat layout           -> item

A line is ``{"role": "user"|"assistant", "message": {"content": [blocks]}}`` (blocks:
``text``, ``thinking``, ``tool_use`` / ``tool_call``, ``tool_result`` / ``tool-result`` …) or a
roleless event such as ``{"type": "turn_ended", "status": …}``. No ids, titles or times:
the title is the first user prompt, stripped of its ``<user_query>`` tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from vault import open_regular

from ..files import FoundFile, list_dir, regular_file, walk_files
from ..jsonl import JsonLine, iter_jsonl_stream
from .messages import agent_text, split_user_query

__all__ = ["TRANSCRIPTS_DIR", "Transcript", "find_transcripts", "first_prompt"]

TRANSCRIPTS_DIR = "agent-transcripts"
SUBAGENTS = "subagents"
SUFFIX = ".jsonl"
# Credentials are not kept here, but a link must not smuggle one in (collectors/files.py).
DENIED = frozenset({"auth.json", "cli-config.json", ".credentials.json"})


@dataclass(frozen=True)
class Transcript:
    """One transcript found by listing: ``ident`` (from the file name), ``project`` (the
    ``projects/<project>`` folder name) and ``files``: the main ``<id>.jsonl`` first, then
    ``subagents/…`` (and ``flat/<id>.jsonl`` when both layouts hold the id)."""

    ident: str
    project: str
    files: tuple[FoundFile, ...]


def find_transcripts(projects: Path) -> Iterator[Transcript]:
    """Every transcript under ``projects`` (sorted by project, then id). Lists and stats
    only; a folder that cannot be listed is skipped with a log warning."""
    for project in list_dir(projects):
        try:
            if not project.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        yield from _project(Path(project.path) / TRANSCRIPTS_DIR, project.name)


def _project(folder: Path, project: str) -> Iterator[Transcript]:
    flat: dict[str, FoundFile] = {}
    nested: dict[str, list[FoundFile]] = {}
    for entry in list_dir(folder):
        name = entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir:
            found = next(_named(Path(entry.path), f"{name}{SUFFIX}"), None)
            if found is None:
                continue
            extra = [
                f
                for f in walk_files(Path(entry.path) / SUBAGENTS, f"{SUBAGENTS}/", DENIED)
                if f.name.endswith(SUFFIX)
            ]
            nested[name] = [found, *extra]
        elif name.endswith(SUFFIX) and len(name) > len(SUFFIX):
            st = regular_file(entry, DENIED)
            if st is not None:
                flat[name[: -len(SUFFIX)]] = FoundFile(name, Path(entry.path), st)
    for ident in sorted(set(flat) | set(nested)):
        if ident in nested:
            files = nested[ident]
            if ident in flat:
                f = flat[ident]
                files.append(FoundFile(f"flat/{f.name}", f.path, f.st))
        else:
            files = [flat[ident]]
        yield Transcript(ident, project, tuple(files))


def _named(folder: Path, name: str) -> Iterator[FoundFile]:
    for entry in list_dir(folder):
        if entry.name == name:
            st = regular_file(entry, DENIED)
            if st is not None:
                yield FoundFile(name, Path(entry.path), st)


def first_prompt(path: Path, max_line: int) -> str | None:
    """The first user text of a transcript (inside ``<user_query>`` when tagged), reading
    only up to that line. Raises ``OSError``."""
    with open_regular(path) as stream:
        for line in iter_jsonl_stream(stream, max_line_bytes=max_line):
            if not isinstance(line, JsonLine) or line.value.get("role") != "user":
                continue
            message = line.value.get("message")
            content = message.get("content") if isinstance(message, dict) else None
            text = agent_text(content)
            if text.strip():
                query, _ = split_user_query(text)
                if query.strip():
                    return query
    return None
