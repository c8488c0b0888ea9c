"""Reading one whole-JSON conversation file (Continue sessions, Amp threads …) safely.

Such tools rewrite the whole file on every change, so a reader can meet a half-written
file. :func:`load_json_file` reads the bytes once, checks with a second ``stat`` that the
file did not change while being read (else :class:`~collectors.TemporaryItemError`: retry
later), and parses it. A file that does not parse is *not* an error: the caller stores the
raw bytes with a warning (what was written is kept; the next run stores the repaired file).

Files larger than ``max_parse`` bytes are not parsed at all (parsing JSON costs several
times its size in memory); the caller still stores them, streamed by path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault import open_regular

from .errors import TemporaryItemError
from .files import io_error

__all__ = ["DEFAULT_MAX_PARSE", "JsonFile", "load_json_file", "parse_json_bytes"]

DEFAULT_MAX_PARSE = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class JsonFile:
    """What :func:`load_json_file` found: ``value`` (the parsed JSON, ``None`` if it did not
    parse or was not parsed), ``problem`` (a short reason for the snapshot's warnings, no
    content), ``st`` (the file's ``stat``) and ``data`` (the bytes, ``None`` when too large)."""

    value: Any
    problem: str | None
    st: os.stat_result
    data: bytes | None


def parse_json_bytes(data: bytes) -> tuple[Any, str | None]:
    """``(value, None)`` or ``(None, reason)``: ``"empty file"``, ``"not UTF-8"``,
    ``"not valid JSON (truncated or half-written?)"``, ``"nested too deeply"``."""
    if not data.strip():
        return None, "empty file"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "not UTF-8"
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not valid JSON (truncated or half-written?)"


def load_json_file(path: Path, *, max_parse: int = DEFAULT_MAX_PARSE) -> JsonFile:
    """Read and parse ``path`` (see the module docstring).

    Raises :class:`~collectors.ItemError` / :class:`~collectors.TemporaryItemError` for I/O
    problems (vanished, permission …) and when the file changed while it was read.
    """
    try:
        with open_regular(path) as stream:
            before = os.fstat(stream.fileno())
            if before.st_size > max_parse:
                return JsonFile(None, f"larger than {max_parse} bytes; not parsed", before, None)
            data = stream.read()
        after = os.stat(path)
    except OSError as exc:
        raise io_error(path, exc) from None
    if (after.st_size, after.st_mtime_ns, after.st_ino) != (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    ) or len(data) != before.st_size:
        raise TemporaryItemError(os.fspath(path), "changed while being read; try again later")
    value, problem = parse_json_bytes(data)
    return JsonFile(value, problem, before, data)
