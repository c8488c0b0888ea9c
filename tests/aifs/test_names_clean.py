"""``aifs.names._clean`` (regular expressions, for speed) against a per-character reference."""

from __future__ import annotations

import random

import pytest

from aifs import names

BIDI = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def reference_clean(s: str) -> str:
    """The module's character rules, one character at a time (the former implementation)."""
    out: list[str] = []
    pending_blank = False
    for ch in s:
        if ch in BIDI:
            continue
        o = ord(ch)
        if o < 0x20 or 0x7F <= o <= 0x9F or ch.isspace() or o in (0x2028, 0x2029) or ch == "/":
            pending_blank = True
            continue
        if 0xD800 <= o <= 0xDFFF:
            ch = "\ufffd"
        if pending_blank and out:
            out.append("_")
        pending_blank = False
        out.append(ch)
    return "".join(out)


SPECIAL = (" \t\n\r\x0b\x0c\x00\x01\x1c\x1f\x7f\x80\x85\x9f\xa0\u1680\u2000\u2009\u200b"
           "\u2028\u2029\u202f\u205f\u3000/\ud800\udbff\udc00\udfff\ufeff" + BIDI)


@pytest.mark.parametrize("block", range(0, 0x3100, 0x100))
def test_every_character_of_the_first_blocks_alone_and_in_context(block):
    for c in range(block, block + 0x100):
        ch = chr(c)
        for s in (ch, f"a{ch}b", f" {ch}", f"{ch} ", ch * 2, f" a{ch} b "):
            assert names._clean(s) == reference_clean(s), (hex(c), s)


def test_special_characters_everywhere():
    for ch in SPECIAL + "\U0001f600\U0010ffff":
        for s in (ch, f"a{ch}b", f" {ch}", f"{ch} ", ch * 2, f" a{ch} b ", f"/{ch}/"):
            assert names._clean(s) == reference_clean(s), (hex(ord(ch)), s)


def test_random_strings_of_hostile_characters():
    r = random.Random(5)
    alphabet = list(SPECIAL + "abc.é✓_-~\U0001f600")
    spaces_only = [c for c in alphabet if c.isspace() or c.isalnum()]
    for pool in (alphabet, spaces_only):
        for _ in range(20_000):
            s = "".join(r.choice(pool) for _ in range(r.randint(0, 14)))
            assert names._clean(s) == reference_clean(s), repr(s)


def test_common_titles():
    for s in ("Fix the vault mount", "  Hummus / tahini  ", "a/b", "über café ✓", "", "   ",
              "tab\there", "line\nbreak", "\u202eevil\u202c.txt", ".hidden", "x\ud800y"):
        assert names._clean(s) == reference_clean(s), repr(s)
