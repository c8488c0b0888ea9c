import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aifs.names import NAME_MAX, UNTITLED, disambiguate, safe_component, safe_name

UUID = "93a9705e-bc6a-406d-8dce-8acc014dedbd"


def assert_valid(name: str, limit: int = NAME_MAX) -> None:
    b = name.encode("utf-8")  # raises on lone surrogates
    assert 0 < len(b) <= limit
    assert "/" not in name and "\x00" not in name
    assert name not in (".", "..")
    for ch in name:
        o = ord(ch)
        assert not (o < 0x20 or 0x7F <= o <= 0x9F), repr(name)
        assert ch not in "\u2028\u2029\u202e\u202d\u2066\u2067\u2068\u2069\u200e\u200f"
    assert name == name.strip()


# -- safe_component ------------------------------------------------------------------------------


def test_design_example():
    assert safe_component("Fix dry falafel", UUID) == f"Fix_dry_falafel-{UUID}"


@pytest.mark.parametrize("title, expected", [
    ("", UNTITLED),
    ("   ", UNTITLED),
    ("\x00\x01\n\t", UNTITLED),
    ("a/b", "a_b"),
    ("../../etc/passwd", "_._.._etc_passwd"),
    (".", "_"),
    ("..", "_."),
    (".hidden", "_hidden"),
    ("  padded  title \n", "padded_title"),
    ("line1\nline2\r\nline3", "line1_line2_line3"),
    ("tab\there", "tab_here"),
    ("nul\x00inside", "nul_inside"),
    ("del\x7fc1\x85x", "del_c1_x"),
    ("sep\u2028para\u2029end", "sep_para_end"),
    ("evil\u202etxt.exe", "eviltxt.exe"),
    ("nbsp\u00a0and\u3000ideographic", "nbsp_and_ideographic"),
    ("caf\u0065\u0301", "caf\u00e9"),  # NFC
    ("emoji 🧆 ok", "emoji_🧆_ok"),
])
def test_title_rules(title, expected):
    name = safe_component(title, "id1")
    assert name == f"{expected}-id1"
    assert_valid(name)


def test_id_is_sanitized():
    assert safe_component("T", "a/b\x00c") == "T-a_b_c"
    assert safe_component("T", "..") == "T-.."  # fine: not a whole name
    assert safe_component("T", "  ") == "T"  # empty id: title alone
    assert safe_component("", "") == UNTITLED
    assert safe_component(".", "") == "_"


def test_long_title_is_cut_keeping_the_id():
    name = safe_component("x" * 1000, UUID)
    assert name.endswith("-" + UUID)
    assert len(name.encode()) == NAME_MAX


@pytest.mark.parametrize("ch", ["é", "🧆", "中", "\u0301"])
def test_cut_on_utf8_boundary(ch):
    for pad in range(4):
        name = safe_component("a" * pad + ch * 300, UUID)
        b = name.encode("utf-8")
        assert len(b) <= NAME_MAX
        assert name.endswith("-" + UUID)
        assert b.decode("utf-8") == name
        assert len(b) > NAME_MAX - 4  # cut as late as the character boundary allows


def test_overlong_id_is_hashed_deterministically():
    long_a = "A" * 400
    long_b = "A" * 399 + "B"
    na, nb = safe_component("T", long_a), safe_component("T", long_b)
    assert na != nb
    assert na == safe_component("T", long_a)
    for n in (na, nb):
        assert_valid(n)
        assert n.startswith("T-AAAA")
        assert len(n.encode()) <= NAME_MAX
    tail = na.split("~")[-1]
    assert len(tail) == 16 and int(tail, 16) >= 0


def test_limit_validation():
    with pytest.raises(ValueError):
        safe_component("t", "i", limit=8)
    assert len(safe_component("t" * 100, "id", limit=40).encode()) == 40


# -- safe_name ----------------------------------------------------------------------------------


@pytest.mark.parametrize("s, expected", [
    ("laptop", "laptop"),
    ("claude-code", "claude-code"),
    ("claude.ai", "claude.ai"),
    ("", "_"),
    (".", "_"),
    ("..", "__"),
    ("...", "..."),
    (".meta.json", ".meta.json"),
    ("my org/team", "my_org_team"),
    ("\x1b[31mred", "[31mred"),
    ("2026-11-20T22-21-04Z.2", "2026-11-20T22-21-04Z.2"),
])
def test_safe_name(s, expected):
    assert safe_name(s) == expected
    assert_valid(safe_name(s))


def test_safe_name_leading_dot():
    assert safe_name(".git", leading_dot=False) == "_git"
    assert safe_name(".git") == ".git"


def test_safe_name_keeps_native_bytes_when_possible():
    for s in ["agent-1.jsonl", "conversation.json", "Ünïcödé.md", "rollout-2026.jsonl"]:
        assert safe_name(s) == s


def test_safe_name_long():
    n = safe_name("é" * 300)
    assert len(n.encode()) == 254 and n == "é" * 127


def test_lone_surrogates():
    n = safe_component("bad\udcff title", "i\ud800d")
    assert_valid(n)
    assert_valid(safe_name("\udcff"))


# -- disambiguate --------------------------------------------------------------------------------


def test_disambiguate():
    assert disambiguate("name", "7") == "name~7"
    long = disambiguate("é" * 200, "12345")
    assert long.endswith("~12345") and len(long.encode()) <= NAME_MAX
    assert_valid(long)
    with pytest.raises(ValueError):
        disambiguate("x", "9" * 200)


# -- properties ---------------------------------------------------------------------------------

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=600)
limits = st.integers(min_value=32, max_value=NAME_MAX)


@settings(max_examples=400, deadline=None)
@given(title=any_text, suffix=any_text, limit=limits)
def test_safe_component_properties(title, suffix, limit):
    name = safe_component(title, suffix, limit)
    assert_valid(name, limit)
    assert not name.startswith(".")
    assert name == safe_component(title, suffix, limit)


@settings(max_examples=300, deadline=None)
@given(title=any_text, suffix=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e,
                                                    exclude_characters="/"), min_size=1,
                                      max_size=60))
def test_short_ids_survive_whole(title, suffix):
    name = safe_component(title, suffix)
    assert name.endswith("-" + suffix)


@settings(max_examples=400, deadline=None)
@given(s=any_text, limit=limits, leading_dot=st.booleans())
def test_safe_name_properties(s, limit, leading_dot):
    name = safe_name(s, limit, leading_dot=leading_dot)
    assert_valid(name, limit)
    if not leading_dot:
        assert not name.startswith(".")
    assert name == safe_name(s, limit, leading_dot=leading_dot)


@settings(max_examples=200, deadline=None)
@given(s=any_text, tag=st.integers(min_value=1, max_value=2**56).map(str))
def test_disambiguate_properties(s, tag):
    name = disambiguate(safe_name(s), tag)
    assert_valid(name)
    assert name.endswith("~" + tag)


@settings(max_examples=200, deadline=None)
@given(s=st.text(st.characters(exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp", "Cf"),
                               exclude_characters="/"), min_size=1, max_size=60))
def test_safe_name_is_identity_on_clean_names(s):
    if s.strip() == s and s not in (".", ".."):
        assert safe_name(s) == s
