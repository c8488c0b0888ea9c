"""PerplexityImporter on the shared fixture and on thread files built here (file, folder, zip)."""

from __future__ import annotations

import copy
import json
from functools import partial
from pathlib import Path

import pytest

from collectors.export_source import open_export
from collectors.importing import CONVERSATION_FILE, Importer
from collectors.perplexity import PerplexityImporter
from tests.conftest import need_fixtures

from .import_helpers import (assert_claims_none, assert_reads_are_stable, export_facts, read_by_id,
                             read_error, zip_folder)

imp = PerplexityImporter()

SLUG = "best-lightweight-linux-distro-Xs6pxUAfRwqwP8Wg0SsM6Q"
OTHER_PLATFORMS = ("chatgpt", "claude", "deepseek", "gemini-apps", "grok", "lechat", "copilot")


def fixture_file() -> Path:
    return need_fixtures() / "perplexity" / "synthetic" / "perplexity_thread.json"


read_all = partial(read_by_id, imp)


def entry(n: int, **extra) -> dict:
    base = {"uuid": f"e{n}", "backend_uuid": f"e{n}", "context_uuid": "ctx-1",
            "thread_title": "Rust borrow checker", "thread_url_slug": "rust-borrow-abc123",
            "query_str": f"Question {n} about lifetimes?", "display_model": "sonar",
            "mode": "concise",
            "blocks": [
                {"intended_usage": "ask_text_0_markdown",
                 "markdown_block": {"answer": f"Draft answer {n}", "chunks": []}},
                {"intended_usage": "ask_text",
                 "markdown_block": {"chunks": ["Final ", f"answer {n} [1]."]}},
                {"intended_usage": "web_results", "web_result_block": {"web_results": [
                    {"name": "The Rust Book", "url": "https://doc.rust-lang.org/book/",
                     "snippet": "References and borrowing"},
                    {"name": "Evil", "url": "javascript:alert(1)> <b>", "snippet": "x"}]}},
                {"intended_usage": "pro_search_steps",
                 "plan_block": {"goals": [{"description": "look up"}]}},
            ],
            "related_query_items": [{"text": "What is NLL?", "type": "related"}],
            "entry_created_datetime": f"2026-04-0{n}T10:00:00.000000",
            "entry_updated_datetime": f"2026-04-0{n}T10:00:30.000000"}
    base.update(extra)
    return base


def thread(n_entries: int = 2, **meta) -> dict:
    return {"status": "success",
            "thread_metadata": {"title": "Rust borrow checker", **meta},
            "entries": [entry(i) for i in range(1, n_entries + 1)]}


# -- the shared fixture ---------------------------------------------------------------------------


def test_importer_contract():
    assert isinstance(imp, Importer)
    assert (imp.name, imp.provider) == ("perplexity", "perplexity")


def test_fixture():
    path = fixture_file()
    assert export_facts(imp, path) == (True, False, None)
    snaps, skipped = read_all(path)
    assert skipped == {}
    snap, files = snaps[SLUG]
    assert snap.title == "Best lightweight Linux distro for old laptops"
    assert snap.created_at == pytest.approx(1768206600.0)  # 2026-01-12T08:30:00 UTC
    assert snap.updated_at == pytest.approx(1768206850.0)  # 08:34:10
    assert files == {CONVERSATION_FILE: path.read_bytes()}
    assert snap.attributes == {"entries": 2, "url": f"https://www.perplexity.ai/search/{SLUG}",
                               "models": ["pplx_alpha"], "modes": ["copilot"]}
    assert snap.source_path == str(path)
    assert snap.warnings == ()


def test_fixture_render():
    snaps, _ = read_all(fixture_file())
    snap, files = snaps[SLUG]
    text = imp.render_markdown(files, {"title": snap.title, "native_id": snap.native_id})
    assert text.startswith("# Best lightweight Linux distro for old laptops\n")
    q1 = text.index("Best lightweight Linux distro for a 2012 laptop with 4GB RAM?")
    a1 = text.index("Consider **Lubuntu** or **antiX** [1].")
    related = text.index("_Related questions:_\n\n- Is Lubuntu still maintained?")
    a2 = text.index("Yes, Lubuntu ships with each Ubuntu release.")
    assert q1 < a1 < related < a2
    assert "### Perplexity · pplx\\_alpha · copilot" in text
    assert "- **Questions:** 2" in text


@pytest.mark.parametrize("platform", OTHER_PLATFORMS)
def test_detect_refuses_other_platforms(platform):
    folder = need_fixtures() / platform
    assert_claims_none(imp, [folder] + sorted(folder.rglob("*")))


# -- files built here ---------------------------------------------------------------------------


def test_bare_list_of_entries(tmp_path):
    path = tmp_path / "thread.json"
    path.write_text(json.dumps([entry(1), entry(2)]), encoding="utf-8")
    with open_export(path) as export:
        assert imp.detect(export)
    snaps, _ = read_all(path)
    snap, files = snaps["rust-borrow-abc123"]
    assert snap.title == "Rust borrow checker"  # from the entries' thread_title
    assert snap.created_at == pytest.approx(1775037600.0)  # 2026-04-01T10:00:00 UTC
    assert snap.updated_at == pytest.approx(1775124030.0)  # 2026-04-02T10:00:30 UTC
    assert files[CONVERSATION_FILE] == path.read_bytes()


@pytest.mark.parametrize("drop, native, title", [
    (("thread_url_slug",), "ctx-1", "Rust borrow checker"),
    (("thread_url_slug", "context_uuid"), "e1", "Rust borrow checker"),
    (("thread_url_slug", "context_uuid", "thread_title"), "e1", "Question 1 about lifetimes?"),
])
def test_id_and_title_fallbacks(tmp_path, drop, native, title):
    entries = [{k: v for k, v in entry(i).items() if k not in drop} for i in (1, 2)]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    snaps, _ = read_all(path)
    assert list(snaps) == [native]
    assert snaps[native][0].title == title
    assert "url" not in snaps[native][0].attributes


def build_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "a-rust.json").write_text(json.dumps(thread(2), indent=2), encoding="utf-8")
    older = thread(1, updated_at="2026-04-01T10:00:30.000000")
    (root / "b-rust-older.json").write_text(json.dumps(older), encoding="utf-8")
    other = copy.deepcopy([entry(1)])
    other[0].update(thread_url_slug="pasta-xyz", context_uuid="ctx-2", thread_title="Pasta")
    (root / "c-pasta.json").write_text(json.dumps(other), encoding="utf-8")
    (root / "d-broken.json").write_bytes(b'{"entries": [ {"query_str": "x"}, ')
    (root / "e-other.json").write_text(json.dumps({"mapping": {}, "title": "chatgpt"}))
    (root / "f-invalid.json").write_bytes(b'{"entries": nope}')
    (root / "notes.txt").write_text("ignored")
    return root


def test_folder_of_threads(tmp_path):
    root = build_folder(tmp_path / "threads")
    with open_export(root) as export:
        assert imp.detect(export)
        assert imp.is_full(export) is False
    snaps, skipped = read_all(root)
    assert set(snaps) == {"rust-borrow-abc123", "pasta-xyz"}
    assert skipped == {
        "b-rust-older.json": "an older copy of a thread another file of this import holds",
        "d-broken.json": "the file ends early (half-downloaded?); save the thread again",
        "e-other.json": "not a Perplexity thread (no entries with a query)",
        "f-invalid.json": "not valid JSON",
    }
    rust, files = snaps["rust-borrow-abc123"]
    assert files[CONVERSATION_FILE] == (root / "a-rust.json").read_bytes()
    assert json.loads(files[CONVERSATION_FILE]) == thread(2)
    assert rust.attributes["entries"] == 2
    assert rust.source_path == str(root / "a-rust.json")
    assert snaps["pasta-xyz"][0].title == "Pasta"


def test_zip_of_threads_matches_folder(tmp_path):
    root = build_folder(tmp_path / "threads")
    archive = zip_folder(root, tmp_path / "threads.zip", prefix="saved/")
    folder_snaps, _ = read_all(root)
    snaps, skipped = read_all(archive)
    assert set(snaps) == set(folder_snaps)
    for key in snaps:
        assert snaps[key][1] == folder_snaps[key][1]
    assert skipped["saved/b-rust-older.json"].startswith("an older copy")
    assert len(skipped) == 4
    assert snaps["pasta-xyz"][0].source_path == f"{archive}!saved/c-pasta.json"


def test_reads_are_stable(tmp_path):
    assert_reads_are_stable(imp, build_folder(tmp_path / "s"))


@pytest.mark.parametrize("content, reason", [
    (json.dumps(thread(2))[:-40].encode(), "ends early"),
    (b'{"status": "success", "entries": []}', "not a Perplexity thread"),
    (b'{"thread_metadata": {"title": "x"}, "entries": []}', "no entries"),
    (b"[1, 2, 3]", "not a Perplexity thread"),
])
def test_single_bad_file_raises(tmp_path, content, reason):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    error = read_error(imp, path)
    assert reason in str(error) and str(path) in str(error)


def test_render_sources_blocks_and_hostile_urls(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(thread(2)), encoding="utf-8")
    snaps, _ = read_all(path)
    snap, files = snaps["rust-borrow-abc123"]
    text = imp.render_markdown(files, {"title": snap.title, "native_id": snap.native_id})
    # the ask_text block (chunks joined) is the answer; the draft is collapsed
    assert "### Perplexity · sonar · concise\n\nFinal answer 1 [1]." in text
    assert "<summary>Answer block ask_text_0_markdown</summary>\n\nDraft answer 1" in text
    assert "<summary>Sources (2)</summary>" in text
    assert ("1. **The Rust Book** <https://doc.rust-lang.org/book/> — References and borrowing"
            in text)
    assert "<javascript:" not in text
    assert "**Evil** `javascript:alert(1)> <b>` — x" in text  # shown as code, not a link
    assert text.count("<b>") == 2  # both inside that code span (one per entry)
    assert "<summary>Other blocks (1): pro_search_steps</summary>" in text
    assert '"description": "look up"' in text
    assert "_Related questions:_\n\n- What is NLL?" in text
    assert (text.index("Question 1 about") < text.index("Final answer 1")
            < text.index("Question 2 about"))
    assert text.count("\n<details>\n") == text.count("\n</details>") == 6


@pytest.mark.parametrize("data", [
    b"", b"\xff\x00", b"{", b"null", b"[]", b'{"entries": "x"}',
    json.dumps({"entries": [None, 1, {"query_str": 5, "blocks": "x"}],
                "thread_metadata": []}).encode(),
    json.dumps([{"query_str": "q", "blocks": [None, {"markdown_block": {"chunks": [1, None]}},
                 {"web_result_block": {"web_results": [None, {"url": 5, "name": []}]}},
                 {"markdown_block": "x"}], "related_queries": [None, 3],
                 "related_query_items": "x", "display_model": {}, "attachments": [1, "a"],
                 "entry_created_datetime": 12}]).encode(),
    b'{"entries": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
])
def test_render_never_raises(data):
    text = imp.render_markdown({CONVERSATION_FILE: data}, {"title": "T"})
    assert text.startswith("# T\n")


def test_render_without_conversation_file():
    text = imp.render_markdown({"x.bin": b"1"}, {})
    assert text.startswith("# Untitled\n") and "no conversation.json" in text
