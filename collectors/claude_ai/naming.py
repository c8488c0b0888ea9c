"""Stable raw-file names for what a Claude.ai export holds inline (attachments, project docs,
memories), shared by the importer (which stores the files) and the renderer (which lists them).

Names are derived only from the export's own JSON, in document order, so two reads of the same
export give the same names, and a conversation that grows keeps the names it had: the first
file called ``notes.txt`` is ``attachments/notes.txt``; a later one with the same name (any
case) becomes ``attachments/<message number>-notes.txt`` (1-based message number in
``chat_messages``), then ``attachments/<message>-<attachment>-notes.txt``.
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["ATTACHMENTS", "DOCS", "attachment_names", "doc_names", "memory_names", "safe_file_name"]

ATTACHMENTS = "attachments/"
DOCS = "docs/"
MEMORIES = "memories/"
NAME_BYTES = 150  # leaves room in the 255-byte NAME_MAX for the disambiguating prefix


def safe_file_name(name: Any, fallback: str) -> str:
    """One safe POSIX path component from a platform-supplied file ``name``.

    Keeps the last component of a path (``/`` or ``\\``), turns control characters, lone
    surrogates and other unsafe characters into ``_``, never returns ``""``, ``.`` or ``..``,
    and cuts to :data:`NAME_BYTES` bytes of UTF-8 keeping the extension. ``fallback`` is used
    when ``name`` is not a string or nothing usable is left.
    """
    if not isinstance(name, str):
        return fallback
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    chars = []
    for ch in base:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xDFFF or o in (0x2028, 0x2029):
            chars.append("_")
        else:
            chars.append(ch)
    clean = " ".join("".join(chars).split()).strip()
    if clean in ("", ".", ".."):
        return fallback
    if len(clean.encode("utf-8")) > NAME_BYTES:
        dot = clean.rfind(".")
        ext = clean[dot:] if 0 < dot and len(clean) - dot <= 16 else ""
        stem = clean[: len(clean) - len(ext)]
        budget = NAME_BYTES - len(ext.encode("utf-8"))
        stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
        clean = stem + ext
    return clean


class _Names:
    """Hands out unique names under one folder, case-insensitively."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.taken: set[str] = set()

    def claim(self, candidates: Iterable[str]) -> str:
        last = ""
        for candidate in candidates:
            last = candidate
            if candidate.casefold() not in self.taken:
                break
        else:  # every candidate taken (hostile input): count up
            n = 2
            while f"{n}-{last}".casefold() in self.taken:
                n += 1
            last = f"{n}-{last}"
        self.taken.add(last.casefold())
        return self.folder + last


def attachment_names(messages: Any) -> dict[tuple[int, int], str]:
    """``(message index, attachment index) → stored name`` (``attachments/<name>``) for every
    attachment in ``messages`` (a conversation's ``chat_messages``, 0-based indexes) whose
    ``extracted_content`` is a string. Anything malformed is passed over."""
    out: dict[tuple[int, int], str] = {}
    if not isinstance(messages, list):
        return out
    names = _Names(ATTACHMENTS)
    for mi, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("attachments"), list):
            continue
        for ai, att in enumerate(message["attachments"]):
            if not isinstance(att, dict) or not isinstance(att.get("extracted_content"), str):
                continue
            base = safe_file_name(att.get("file_name"), f"attachment-{mi + 1}-{ai + 1}.txt")
            out[(mi, ai)] = names.claim((base, f"{mi + 1}-{base}", f"{mi + 1}-{ai + 1}-{base}"))
    return out


def doc_names(docs: Any) -> dict[int, str]:
    """``doc index → stored name`` (``docs/<filename>``) for every doc of a project whose
    ``content`` is a string; a repeated file name becomes ``docs/<n>-<filename>`` (n 1-based)."""
    out: dict[int, str] = {}
    if not isinstance(docs, list):
        return out
    names = _Names(DOCS)
    for di, doc in enumerate(docs):
        if not isinstance(doc, dict) or not isinstance(doc.get("content"), str):
            continue
        base = safe_file_name(doc.get("filename"), f"doc-{di + 1}.md")
        out[di] = names.claim((base, f"{di + 1}-{base}"))
    return out


def memory_names(value: Any) -> list[tuple[str, str]]:
    """The memory texts in a parsed ``memories.json`` as ``(stored name, text)``:
    ``memories/<n>-conversations_memory.md`` for an entry's ``conversations_memory`` and
    ``memories/<n>-project-<project uuid>.md`` for each of its ``project_memories``, ``n`` the
    1-based entry number. Accepts a list of entry objects or one entry object; anything else
    gives ``[]``. Only non-empty strings count."""
    entries = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    out: list[tuple[str, str]] = []
    names = _Names(MEMORIES)
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            continue
        text = entry.get("conversations_memory")
        if isinstance(text, str) and text.strip():
            out.append((names.claim((f"{n}-conversations_memory.md",)), text))
        projects = entry.get("project_memories")
        if isinstance(projects, dict):
            for key, text in projects.items():
                if isinstance(text, str) and text.strip():
                    safe = safe_file_name(key, "unknown")
                    out.append((names.claim((f"{n}-project-{safe}.md",)), text))
    return out
