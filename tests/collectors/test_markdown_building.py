"""Markdown helpers: content can never break out of its fence, its details or its line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from collectors import markdown as md

_parser = MarkdownIt("commonmark")
# Characters and fragments that have broken naive Markdown builders (found by this test).
_pieces = st.sampled_from(
    [
        *"`~<>/\n #*_[]|&\\\x00\x1b\r\tae-",
        *("details", "```", "~~~", "</details>", "    ", "é", "<!--", "-->", "<pre>"),
        *("<script>", "\n\n", "- ", "> ", "<?", "\\`", "\t```"),
    ]
)
_nasty = st.lists(_pieces, max_size=40).map("".join)


def _fences(text: str) -> list:
    return [t for t in _parser.parse(text) if t.type == "fence"]


@settings(max_examples=80, deadline=None)
@given(_nasty, st.sampled_from(["", "json", "py th`on"]))
def test_fence_holds_any_content_verbatim(content, lang):
    block = md.fence(content, lang)
    tokens = _fences(block)
    assert len(tokens) == 1
    expected = content if content.endswith("\n") or not content else content + "\n"

    # CommonMark turns NUL into U+FFFD and CR into line ends; everything else is verbatim.
    def normalize(s: str) -> str:
        return s.replace("\x00", "\ufffd").replace("\r\n", "\n").replace("\r", "\n")

    assert normalize(tokens[0].content) == normalize(expected)


def test_fence_is_longer_than_any_backtick_run():
    assert md.fence("a ````` b").startswith("``````\n")
    assert md.fence("plain").startswith("```\n")


@settings(max_examples=80, deadline=None)
@given(_nasty)
def test_text_block_inside_details_keeps_the_details_balanced(content):
    doc = md.Document()
    doc.add(md.details("summary </details> <b>", md.text_block(content)))
    doc.add("after")
    html = _parser.render(doc.render())
    assert html.count("<details>") == 1 and html.count("</details>") == 1
    assert html.rstrip().endswith("<p>after</p>")


def test_text_block_closes_open_fences_and_escapes_tags_outside_code():
    text = "see <command-name>/clear</command-name> and `<b>` and <https://x.org>\n```py\n<keep>"
    out = md.text_block(text)
    assert "\\<command-name>/clear\\</command-name>" in out
    assert "`<b>`" in out and "<https://x.org>" in out
    assert out.endswith("<keep>\n```")


@settings(max_examples=80, deadline=None)
@given(_nasty)
def test_escape_inline_is_one_line_and_one_paragraph(content):
    line = md.escape_inline(content)
    assert "\n" not in line
    tokens = [t.type for t in _parser.parse(f"- {line}")]
    assert (
        tokens.count("bullet_list_open") == 1
        and "fence" not in tokens
        and "html_block" not in tokens
    )


def test_code_span_and_heading_survive_backticks_and_newlines():
    assert md.code_span("a`b") == "``a`b``"
    assert md.code_span("`x`") == "`` `x` ``"
    doc = md.Document()
    doc.heading(1, "../etc/passwd\n# not a heading\x00")
    out = doc.render()
    assert out.count("\n") == 1 and out.startswith("# ") and "\x00" not in out


def test_document_makes_control_characters_visible():
    doc = md.Document()
    doc.add(md.fence("red \x1b[31mtext\x07 nul\x00 del\x7f c1\x9b cr\rlf\r\n"))
    out = doc.render()
    assert not any(ord(c) < 32 and c not in "\n\t" for c in out)
    assert "␛[31m" in out and "␇" in out and "␀" in out and "\x9b" not in out


def test_small_helpers():
    assert md.human_bytes(10) == "10 bytes" and md.human_bytes(2048) == "2.0 KiB"
    assert md.guess_language("settings.json") == "json" and md.guess_language("Makefile") == ""
    assert (
        md.bad_line_note(57, 12, "torn last line")
        == "_⚠ line 57 could not be parsed (12 bytes): torn last line_"
    )
    assert md.decode_preview("é".encode() * 3, 5) == "éé"
    assert md.decode_preview(b"\xff\x00binary", 100) is None
    assert md.truncate("abcdef", 4) == "abc…"
