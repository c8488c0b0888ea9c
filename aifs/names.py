"""Safe file names for the mount: pure functions, no I/O, no pyfuse3.

Every name the mount shows passes through here. Rules for a *component* (one path element):

- no ``/`` and no NUL; no control characters (C0 ``U+0000–U+001F``, DEL ``U+007F``,
  C1 ``U+0080–U+009F``), no line/paragraph separators (``U+2028``/``U+2029``) and no lone
  surrogates (they cannot be encoded as UTF-8);
- bidirectional formatting characters (``U+200E``, ``U+200F``, ``U+061C``, ``U+202A–U+202E``,
  ``U+2066–U+2069``) are dropped: a title must not be able to reorder how a listing reads;
- leading/trailing whitespace, control characters and ``/`` are trimmed; every inner run of
  them becomes one ``_`` (``"Hummus / tahini"`` → ``Hummus_tahini``, ``"a/b"`` → ``a_b``);
- never ``.`` or ``..`` as a whole (dots become ``_``);
- at most ``limit`` bytes (default 255, Linux ``NAME_MAX``) once encoded in UTF-8, cut on a
  character boundary, never in the middle of a UTF-8 sequence.

:func:`safe_component` (conversation directories ``<Title>-<id>``) additionally applies NFC
and replaces a leading ``.`` by ``_`` so that no conversation is hidden from ``ls``.
:func:`safe_name` (orgs, providers, version names, raw file path components) keeps a leading
dot unless told otherwise: raw files such as ``.meta.json`` keep their native name.

All functions are deterministic: the same input gives the same name in every process.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["NAME_MAX", "disambiguate", "safe_component", "safe_name"]

NAME_MAX = 255
"""Longest name in bytes (UTF-8) that Linux accepts for one path component."""

UNTITLED = "Untitled"
"""The title used when a title is empty after sanitizing."""

_MIN_LIMIT = 32
_HASH_HEX = 16  # hex digits of sha256 kept when a too-long id is shortened
_BIDI = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Blanks (each run becomes one ``_``): whitespace, controls and ``/``. The rules are regular
# expressions (``\s`` is exactly ``str.isspace``): a provider folder lists tens of thousands
# of titles, and a per-character loop made that slow (tests/aifs/test_names_clean.py checks
# them against the per-character reference).
_BLANKS = r"\x00-\x1f\x7f-\x9f\u2028\u2029/\s"
_BIDI_RE = "".join(f"\\u{ord(c):04x}" for c in sorted(_BIDI))
_UNCHANGED = re.compile(f"[^{_BLANKS}{_BIDI_RE}\\ud800-\\udfff]*")
_ONLY_SPACES = re.compile(f"[^\\x00-\\x1f\\x7f-\\x9f/{_BIDI_RE}\\ud800-\\udfff]*")
_BIDI_CHARS = re.compile(f"[{_BIDI_RE}]")
_BLANK_RUNS = re.compile(f"[{_BLANKS}]+")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def _clean(s: str) -> str:
    """Apply the character rules (no length limit, no ``.``/``..`` rule); may return ``""``."""
    if _UNCHANGED.fullmatch(s):
        return s
    if _ONLY_SPACES.fullmatch(s):  # the only blanks are whitespace: what str.split() splits on
        return "_".join(s.split())
    # Splitting on blank runs leaves empty parts only at the ends: join the rest with "_".
    s = "_".join(filter(None, _BLANK_RUNS.split(_BIDI_CHARS.sub("", s))))
    return _SURROGATES.sub("\ufffd", s)


def _cut(s: str, max_bytes: int) -> str:
    """The longest prefix of ``s`` whose UTF-8 encoding fits ``max_bytes`` (character boundary)."""
    if max_bytes <= 0:
        return ""
    b = s.encode("utf-8")
    if len(b) <= max_bytes:
        return s
    # Back off while the cut would land on a continuation byte (0b10xxxxxx).
    end = max_bytes
    while end > 0 and (b[end] & 0xC0) == 0x80:
        end -= 1
    return b[:end].decode("utf-8")


def _nbytes(s: str) -> int:
    return len(s.encode("utf-8"))


def _no_dots(s: str) -> str:
    """``.`` and ``..`` (the only all-dot names with a meaning) become ``_`` / ``__``."""
    return "_" * len(s) if s in (".", "..") else s


def _check_limit(limit: int) -> None:
    if limit < _MIN_LIMIT:
        raise ValueError(f"name limit must be at least {_MIN_LIMIT} bytes, got {limit}")


def safe_name(s: str, limit: int = NAME_MAX, *, leading_dot: bool = True) -> str:
    """One safe path component made from ``s`` (org, provider, version or raw file name part).

    Applies the module's character rules, cuts to ``limit`` bytes of UTF-8 on a character
    boundary, never returns ``.``/``..`` or ``""`` (an empty result becomes ``_``). With
    ``leading_dot=False`` a leading ``.`` becomes ``_`` (the name is not hidden).
    Raises :class:`ValueError` if ``limit`` < 32.
    """
    _check_limit(limit)
    name = _cut(_clean(s.strip()), limit)
    if not leading_dot and name.startswith("."):
        name = "_" + name[1:]
    name = _no_dots(name)
    return name or "_"


def _short_suffix(suffix: str, cleaned: str, max_bytes: int) -> str:
    """``cleaned`` if it fits ``max_bytes``; else a deterministic ``<prefix>~<sha256[:16]>``.

    The hash is over the *original* suffix (UTF-8, lone surrogates passed through), so two
    long ids that share a prefix still get different names.
    """
    if _nbytes(cleaned) <= max_bytes:
        return cleaned
    digest = hashlib.sha256(suffix.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_HEX]
    return _cut(cleaned, max_bytes - 1 - _HASH_HEX) + "~" + digest


def safe_component(title: str, suffix: str, limit: int = NAME_MAX) -> str:
    """The directory name ``<Title>-<suffix>`` (e.g. ``Fix_dry_falafel-93a9705e-…``).

    ``title`` is NFC-normalized, sanitized (module rules; a leading ``.`` becomes ``_``) and
    cut on a UTF-8 character boundary so that the whole name is at most ``limit`` bytes while
    ``-<suffix>`` is kept whole. An empty title becomes ``Untitled``. ``suffix`` (the
    provider's id) is sanitized by the same rules; if ``-<suffix>`` would take more than
    half of ``limit`` it is shortened to ``<prefix>~<16 hex digits of sha256(suffix)>``.
    A suffix that is empty after sanitizing is left out (the name is then the title alone).
    Raises :class:`ValueError` if ``limit`` < 32.
    """
    _check_limit(limit)
    t = _clean(unicodedata.normalize("NFC", title).strip())
    if t.startswith("."):
        t = "_" + t[1:]
    s = _clean(suffix.strip())
    if not s:
        return _no_dots(_cut(t, limit)) or UNTITLED
    tail = "-" + _short_suffix(suffix, s, limit // 2 - 1)
    t = _cut(t, limit - _nbytes(tail)) or _cut(UNTITLED, limit - _nbytes(tail))
    return t + tail


def disambiguate(name: str, tag: str, limit: int = NAME_MAX) -> str:
    """``name~<tag>``, with ``name`` cut (character boundary) so the result fits ``limit`` bytes.

    Used to make a name unique within its directory; ``tag`` is a serial or an index, so
    the result is deterministic. ``tag`` is sanitized with :func:`safe_name`.
    Raises :class:`ValueError` if ``limit`` < 32 or ``~<tag>`` alone exceeds half of ``limit``.
    """
    _check_limit(limit)
    tail = "~" + safe_name(tag, limit)
    if _nbytes(tail) > limit // 2:
        raise ValueError("disambiguation tag too long")
    return _cut(name, limit - _nbytes(tail)) + tail
