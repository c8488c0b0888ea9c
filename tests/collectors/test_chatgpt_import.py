"""ChatGPTImporter on the shared fixtures and on exports built here from the documented schema."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest

from collectors.chatgpt import ChatGPTImporter
from collectors.chatgpt.shape import derived_id, file_id_of_name, pointer_file_id
from collectors.export_source import ExportError, open_export
from collectors.importing import Importer, Skipped
from vault import ConversationSnapshot

from .collector_fixtures import need_fixtures
from .import_helpers import zip_folder

imp = ChatGPTImporter()

OTHER_PLATFORMS = ("claude", "deepseek", "gemini-apps", "grok", "lechat", "perplexity", "copilot")


# -- helpers ------------------------------------------------------------------------------


def read_all(path) -> list:
    with open_export(path) as export:
        assert imp.detect(export)
        return list(imp.read(export))


def snaps(items) -> list[ConversationSnapshot]:
    return [i for i in items if isinstance(i, ConversationSnapshot)]


def skipped(items) -> list[Skipped]:
    return [i for i in items if isinstance(i, Skipped)]


def data_of(raw) -> bytes:
    return raw.data if raw.data is not None else Path(raw.path).read_bytes()


def files_of(snap: ConversationSnapshot) -> dict[str, bytes]:
    return {f.name: data_of(f) for f in snap.files}


def render(snap: ConversationSnapshot) -> str:
    return imp.render_markdown(files_of(snap), {"title": snap.title, "native_id": snap.native_id})


def assert_exact_slices(items, *sources: Path) -> None:
    """Every conversation.json is a byte slice of a source file and parses to that entry."""
    blobs = [s.read_bytes() for s in sources]
    entries = []
    for blob in blobs:
        value = json.loads(blob)
        if isinstance(value, dict):
            value = value.get("conversations", [value])
        entries.extend(value)
    for snap in snaps(items):
        raw = files_of(snap)["conversation.json"]
        assert any(raw in blob for blob in blobs), snap.native_id
        assert json.loads(raw) in entries


def node(nid, parent, children, role=None, content=None, *, t=None, meta=None, recipient="all",
         name=None):
    message = None
    if role is not None:
        message = {"id": nid, "author": {"role": role, "name": name, "metadata": {}},
                   "create_time": t, "content": content, "status": "finished_successfully",
                   "metadata": meta or {}, "recipient": recipient}
    return {"id": nid, "parent": parent, "children": children, "message": message}


def text(*parts):
    return {"content_type": "text", "parts": list(parts)}


def conversation(cid, title, nodes, current, *, t=1_700_000_000.5, **extra):
    conv = {"title": title, "create_time": t, "update_time": t + 100,
            "mapping": {n["id"]: n for n in nodes}, "current_node": current}
    if cid is not None:
        conv["conversation_id"] = cid
        conv["id"] = cid
    conv.update(extra)
    return conv


CONV_A = "aaaaaaaa-0000-4000-8000-000000000001"
CONV_B = "bbbbbbbb-0000-4000-8000-000000000002"
CONV_C = "cccccccc-0000-4000-8000-000000000003"
CONV_E = "eeeeeeee-0000-4000-8000-000000000005"
TEXTDOC = "67a09787dab081919c312675cdd596a9"


def build_conversations() -> tuple[list, list]:
    """Two parts: part 0 (array) and part 1 (wrapper), as documented."""
    a = conversation(CONV_A, "Photo question", [
        node("r", None, ["u1"]),
        node("u1", "r", ["a1", "a1b"], "user", {
            "content_type": "multimodal_text",
            "parts": [{"content_type": "image_asset_pointer",
                       "asset_pointer": "file-service://file-AAA111", "width": 640,
                       "height": 480}, "What is in this photo?"]},
            t=1_700_000_001.0, meta={"attachments": [
                {"id": "file-AAA111", "name": "photo.png", "mime_type": "image/png", "size": 2048},
                {"id": "file-GONE00", "name": "lost.pdf"}]}),
        node("a1", "u1", [], "assistant", text("A cat on a sofa."), t=1_700_000_002.0,
             meta={"model_slug": "gpt-4o"}),
        node("a1b", "u1", [], "assistant", text("A sleeping cat."), t=1_700_000_003.0,
             meta={"model_slug": "gpt-4o"}),
    ], "a1", default_model_slug="gpt-4o", gizmo_id="g-abc123", gizmo_type="gpt",
        is_archived=True)
    b = conversation(CONV_B, "Draw me a fox", [
        node("r", None, ["u1"]),
        node("u1", "r", ["a1"], "user", text("Draw a fox"), t=1_700_000_010.0),
        node("a1", "u1", ["tool1"], "assistant",
             {"content_type": "code", "language": "json", "text": '{"prompt": "a fox"}'},
             recipient="dalle.text2im", t=1_700_000_011.0),
        node("tool1", "a1", ["a2"], "tool", {
            "content_type": "multimodal_text",
            "parts": [{"content_type": "image_asset_pointer",
                       "asset_pointer": "sediment://file_00000000ccc333",
                       "metadata": {"dalle": {"prompt": "a red fox in snow"}}},
                      {"content_type": "image_asset_pointer",
                       "asset_pointer": "file-service://file-BBB222"},
                      {"content_type": "image_asset_pointer",
                       "asset_pointer": "sediment://file_00000000missing"}]},
             name="dalle.text2im", t=1_700_000_012.0),
        node("a2", "tool1", [], "assistant", text("Here is your fox."), t=1_700_000_013.0),
    ], "a2")
    c = conversation(CONV_C, "Canvas draft", [
        node("r", None, ["u1"]),
        node("u1", "r", ["a1"], "user", text("Write a poem in canvas"), t=1_700_000_020.0),
        node("a1", "u1", ["tool1"], "assistant",
             {"content_type": "code", "language": "json",
              "text": '{"name": "poem", "type": "document", "content": "Roses"}'},
             recipient="canmore.create_textdoc", t=1_700_000_021.0),
        node("tool1", "a1", [], "tool",
             text("Successfully created text document 'poem' which will be referenced in all "
                  f"future messages with the unique identifier textdoc_id: '{TEXTDOC}'"),
             name="canmore.create_textdoc", t=1_700_000_022.0,
             meta={"canvas": {"textdoc_id": TEXTDOC, "textdoc_type": "document",
                              "version": 1, "title": "poem"}}),
    ], "tool1")
    d = conversation(None, "", [  # no id, no title
        node("r", None, ["u1"]),
        node("u1", "r", [], "user", text("Untitled prompt about tides\nsecond line"),
             t=1_700_000_030.0),
    ], "u1")
    no_mapping = {"id": "ffffffff-0000-4000-8000-00000000000f", "title": "Broken"}
    e = conversation(CONV_E, "Voice chat", [
        node("r", None, ["u1"]),
        node("u1", "r", [], "user", {
            "content_type": "multimodal_text",
            "parts": [{"content_type": "audio_transcription", "text": "hello there",
                       "direction": "in"},
                      {"content_type": "real_time_user_audio_video_asset_pointer",
                       "audio_asset_pointer": {
                           "content_type": "audio_asset_pointer",
                           "asset_pointer": "sediment://file_00000000ddd444"}}]},
             t=1_700_000_040.0),
    ], "u1")
    return [a, b, 42, no_mapping], [c, d, e]


def write_export(root: Path, *, split=True, wrapper_part1=True, user=True, chat_html=True,
                 parts=(0, 1)) -> dict:
    """Write a ChatGPT export into folder ``root``; return what was written."""
    root.mkdir(parents=True, exist_ok=True)
    part0, part1 = build_conversations()
    names = []
    if split:
        bodies = {0: json.dumps(part0, indent=1),
                  1: json.dumps({"conversations": part1}) if wrapper_part1 else json.dumps(part1)}
        for n in parts:
            name = f"conversations-{n:03d}.json"
            (root / name).write_text(bodies.get(n, "[]"))
            names.append(name)
    else:
        (root / "conversations.json").write_text(json.dumps(part0 + part1))
        names.append("conversations.json")
    if user:
        (root / "user.json").write_text(json.dumps({"id": "user-xyz", "email": "me@example.com",
                                                    "chatgpt_plus_user": True}))
    if chat_html:
        (root / "chat.html").write_text("<html><body>chats</body></html>")
    (root / "message_feedback.json").write_text("[]")
    blobs = {
        "file-AAA111-photo.png": b"\x89PNG photo",
        "file-ZZZ999-unrelated.png": b"\x89PNG other",
        "dalle-generations/file-BBB222-0b1c2d3e-uuid.webp": b"RIFF webp",
        "user-xyz/file_00000000ccc333-7f6e5d4c.png": b"\x89PNG sediment",
        f"{CONV_E}/audio/file_00000000ddd444-0a0b.wav": b"RIFF wav",
        f"textdocs/{TEXTDOC}.json": json.dumps({"id": TEXTDOC, "title": "poem",
                                                "content": "Roses"}).encode(),
        "textdocs/0123456789abcdef0123456789abcdef.json": b'{"id": "other"}',
    }
    for name, data in blobs.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return {"names": names, "blobs": blobs}


# -- the contract -------------------------------------------------------------------------


def test_is_an_importer():
    assert isinstance(imp, Importer)
    assert (ChatGPTImporter.name, ChatGPTImporter.provider) == ("chatgpt", "chatgpt")


def test_shape_helpers():
    assert file_id_of_name("file-abc123-photo.png") == "file-abc123"
    assert file_id_of_name("file_00000000ff-uuid.png") == "file_00000000ff"
    assert file_id_of_name("file-XYZ") == "file-XYZ"
    assert file_id_of_name("notes-file-abc.png") is None
    assert pointer_file_id("file-service://file-AAA111") == "file-AAA111"
    assert pointer_file_id("sediment://file_00000000ccc333") == "file_00000000ccc333"
    assert pointer_file_id("https://example.com/x") is None and pointer_file_id(3) is None
    one = derived_id({"create_time": 1.5, "title": "T"})
    assert one == derived_id({"create_time": 1.5, "title": "T", "mapping": {}})
    assert one.startswith("sha-") and len(one) == 36
    assert one != derived_id({"create_time": 1.5, "title": "U"})


# -- shared fixtures ----------------------------------------------------------------------


def test_fixture_example_conversation_with_branch():
    path = need_fixtures() / "chatgpt" / "chatgpt-export-parser" / "example-conversation.json"
    items = read_all(path)
    (snap,) = snaps(items)
    assert not skipped(items)
    assert snap.native_id == "conv-123" and snap.provider == "chatgpt" and snap.org == ""
    assert snap.title == "Sample conversation with branch"
    assert (snap.created_at, snap.updated_at) == (1704067200.0, 1704067500.0)
    assert [f.name for f in snap.files] == ["conversation.json"]
    assert snap.attributes["branches"] == 2 and snap.attributes["messages"] == 6
    assert snap.attributes["models"] == ["gpt-4"] and snap.attributes["is_archived"] is False
    assert snap.source_path == str(path)
    assert_exact_slices(items, path)
    page = render(snap)
    assert page.startswith("# Sample conversation with branch\n")
    current = page.index("## Current thread")
    js = page.index("How do I write a function in JavaScript?")
    answer = page.index("function greet(name)")
    branch = page.index("## Branch 2 (continues after message 3)")
    python = page.index("Actually, can you help me with Python instead?")
    assert current < js < answer < branch < python
    assert page.count("Actually, can you help me with Python instead?") == 1


def test_fixture_tree_current_thread_first_then_every_branch():
    path = need_fixtures() / "chatgpt" / "LibreChat" / "chatgpt-tree.json"
    items = read_all(path)
    (snap,) = snaps(items)
    assert snap.native_id == "d5dc5307-6807-41a0-8b04-4acee626eeb7"
    assert snap.title == "Assist user with summary"
    assert snap.attributes["default_model_slug"] == "text-davinci-002-render-sha"
    assert snap.attributes["branches"] == 3 and snap.attributes["messages"] == 12
    assert_exact_slices(items, path)
    page = render(snap)
    # current_node f63b8e17: hi there → hi again → tell me a joke → (its 2nd answer)
    order = [page.index(s) for s in ("## Current thread", "hi there", "hi again",
                                     "tell me a joke", "## Branch 2", "so cool bro",
                                     "tell me a story", "## Branch 3")]
    assert order == sorted(order)
    assert "## Branch 2 (continues after message 3)" in page
    assert "## Branch 3 (continues after message 6)" in page
    for prompt in ("hi there", "so cool bro", "tell me a story", "hi again", "tell me a joke"):
        assert page.count(f"\n{prompt}\n") == 1, prompt
    assert "in\\_progress" in page and "_(interrupted)_" in page
    assert "<summary>1. System · hidden</summary>" in page


def test_fixture_modern_export_skips_entry_without_mapping():
    path = need_fixtures() / "chatgpt" / "LibreChat" / "chatgpt-modern-export.json"
    items = read_all(path)
    assert [type(i).__name__ for i in items] == ["ConversationSnapshot", "Skipped",
                                                 "ConversationSnapshot"]
    (skip,) = skipped(items)
    assert skip.reason == "no mapping"
    assert skip.where == "conversation 6b0f0d9c-0000-4000-8000-000000000002"
    first, last = snaps(items)
    assert first.native_id == "6b0f0d9c-0000-4000-8000-000000000001"
    assert first.title == "Deploying the staging cluster"
    assert first.created_at == pytest.approx(1756000000.123456)
    assert first.updated_at == pytest.approx(1756000400.654321)
    assert first.attributes["default_model_slug"] == "gpt-5-thinking"
    assert first.attributes["memory_scope"] == "global_enabled"
    assert last.native_id == "6b0f0d9c-0000-4000-8000-000000000003"
    assert last.title == "Weeknight pasta"
    assert_exact_slices(items, path)
    page = render(first)
    assert "<summary>1. User · user_editable_context · hidden</summary>" in page
    assert "The user is an SRE." in page and "Answer concisely." in page
    assert page.index("</details>") < page.index("How do I roll back the deploy?")
    assert "### 5\\. Assistant · o4-mini" in page
    assert "- **Model:** `gpt-5-thinking`" in page


def test_fixture_reads_are_stable():
    root = need_fixtures() / "chatgpt"
    for path in sorted(root.rglob("*.json")):
        one, two = read_all(path), read_all(path)
        assert [(s.native_id, files_of(s)) for s in snaps(one)] == \
               [(s.native_id, files_of(s)) for s in snaps(two)]
        with open_export(path) as export:
            assert imp.is_full(export) is False
            assert imp.account(export) is None


def test_detect_refuses_other_platforms_fixtures():
    root = need_fixtures()
    checked = 0
    for platform in OTHER_PLATFORMS:
        for path in sorted((root / platform).rglob("*")):
            if not path.is_file():
                continue
            with open_export(path) as export:
                assert imp.detect(export) is False, path
            checked += 1
    assert checked >= 8


def test_detect_refuses_other_platforms_named_conversations_json(tmp_path):
    root = need_fixtures()
    deepseek = tmp_path / "deepseek"
    deepseek.mkdir()
    shutil.copy(root / "deepseek" / "synthetic" / "conversations.json", deepseek)
    (deepseek / "user.json").write_text('{"email": "x@example.com"}')
    claude = tmp_path / "claude"
    claude.mkdir()
    tree = root / "claude" / "synthetic" / "webapi-chat_conversation-tree.json"
    chat = json.loads(tree.read_text())
    (claude / "conversations.json").write_text(json.dumps([chat]))
    for folder in (deepseek, claude):
        with open_export(folder) as export:
            assert imp.detect(export) is False, folder
        with open_export(zip_folder(folder, tmp_path / f"{folder.name}.zip")) as export:
            assert imp.detect(export) is False, folder


# -- exports built here -------------------------------------------------------------------


def check_built_export(items, *, where_prefix=""):
    by_id = {s.native_id: s for s in snaps(items)}
    no_id = derived_id(build_conversations()[1][1])
    assert list(by_id) == [CONV_A, CONV_B, CONV_C, no_id, CONV_E]
    reasons = [(s.where, s.reason) for s in skipped(items)]
    assert reasons == [(f"{where_prefix}conversations-000.json entry 3", "not a JSON object"),
                       ("conversation ffffffff-0000-4000-8000-00000000000f", "no mapping")]

    a = files_of(by_id[CONV_A])
    assert sorted(a) == ["conversation.json", "files/file-AAA111-photo.png"]
    assert a["files/file-AAA111-photo.png"] == b"\x89PNG photo"
    attrs = by_id[CONV_A].attributes
    assert attrs["gizmo_id"] == "g-abc123" and attrs["gizmo_type"] == "gpt"
    assert attrs["is_archived"] is True and attrs["default_model_slug"] == "gpt-4o"
    assert attrs["attachments"] == 1 and attrs["unresolved_attachments"] == 1
    assert "unresolved_asset_pointers" not in attrs
    assert by_id[CONV_A].created_at == 1_700_000_000.5
    assert by_id[CONV_A].updated_at == 1_700_000_100.5

    b = files_of(by_id[CONV_B])
    assert sorted(b) == ["conversation.json", "files/file-BBB222-0b1c2d3e-uuid.webp",
                         "files/file_00000000ccc333-7f6e5d4c.png"]
    assert b["files/file_00000000ccc333-7f6e5d4c.png"] == b"\x89PNG sediment"
    assert b["files/file-BBB222-0b1c2d3e-uuid.webp"] == b"RIFF webp"
    assert by_id[CONV_B].attributes["unresolved_asset_pointers"] == 1

    c = files_of(by_id[CONV_C])
    assert sorted(c) == ["conversation.json", f"textdocs/{TEXTDOC}.json"]
    assert json.loads(c[f"textdocs/{TEXTDOC}.json"])["content"] == "Roses"
    assert by_id[CONV_C].attributes["textdocs"] == 1
    assert by_id[CONV_C].attributes["canvas_ids"] == [TEXTDOC]

    d = by_id[no_id]
    assert d.title == "Untitled prompt about tides"
    assert d.native_id.startswith("sha-")

    e = files_of(by_id[CONV_E])
    assert sorted(e) == ["conversation.json", "files/file_00000000ddd444-0a0b.wav"]

    everything = [name for s in snaps(items) for name in files_of(s)]
    assert not any("ZZZ999" in n or "0123456789abcdef" in n for n in everything)
    return by_id


@pytest.mark.parametrize("form", ["folder", "zip", "zip-in-top-folder", "folder-in-top-folder"])
def test_full_export_split_and_wrapped(tmp_path, form):
    src = tmp_path / "export"
    written = write_export(src)
    prefix = ""
    if form == "folder":
        path = src
    elif form == "zip":
        path = zip_folder(src, tmp_path / "export.zip")
    elif form == "zip-in-top-folder":
        prefix = "ChatGPT-export-2026/"
        path = zip_folder(src, tmp_path / "export.zip", prefix)
    else:
        path = tmp_path / "outer"
        shutil.copytree(src, path / "inner")
        prefix = "inner/"
    with open_export(path) as export:
        assert imp.detect(export) is True
        assert imp.is_full(export) is True
        assert imp.account(export) == "me@example.com"
        items = list(imp.read(export))
    by_id = check_built_export(items, where_prefix=prefix)
    assert_exact_slices(items, *(src / n for n in written["names"]))
    if form.startswith("zip"):
        assert by_id[CONV_A].source_path == f"{path}!{prefix}conversations-000.json"
        assert by_id[CONV_C].source_path == f"{path}!{prefix}conversations-001.json"
    # stable across reads
    with open_export(path) as export:
        again = list(imp.read(export))
    assert [(s.native_id, files_of(s)) for s in snaps(again)] == \
           [(s.native_id, files_of(s)) for s in snaps(items)]


def test_textdocs_found_by_conversation_folder_or_by_content(tmp_path):
    src = tmp_path / "export"
    write_export(src)
    (src / f"textdocs/{TEXTDOC}.json").unlink()
    nested = src / "textdocs" / CONV_C / "v2.json"
    nested.parent.mkdir()
    nested.write_text('{"version": 2}')
    (src / "textdocs" / "poem.json").write_text(json.dumps({"textdoc_id": TEXTDOC}))
    with open_export(src) as export:
        by_id = {s.native_id: s for s in snaps(imp.read(export))}
    assert sorted(files_of(by_id[CONV_C])) == [
        "conversation.json", f"textdocs/{CONV_C}/v2.json", "textdocs/poem.json"]
    assert not any(n.startswith("textdocs/") for n in files_of(by_id[CONV_A]))


def test_single_conversations_json_in_zip(tmp_path):
    src = tmp_path / "export"
    write_export(src, split=False)
    path = zip_folder(src, tmp_path / "export.zip")
    with open_export(path) as export:
        assert imp.detect(export) and imp.is_full(export)
        items = list(imp.read(export))
    reasons = sorted(s.reason for s in skipped(items))
    assert reasons == ["no mapping", "not a JSON object"]
    assert len(snaps(items)) == 5
    assert_exact_slices(items, src / "conversations.json")


def test_full_export_needs_the_complete_part_set_and_evidence(tmp_path):
    cases = {
        "gap": (dict(parts=(0, 2)), False),
        "only-part-1": (dict(parts=(1,)), False),
        "no-user-no-html": (dict(user=False, chat_html=False), False),
        "html-only": (dict(user=False), True),
        "single-part-0": (dict(parts=(0,)), True),
    }
    for label, (kwargs, full) in cases.items():
        folder = tmp_path / label
        write_export(folder, **kwargs)
        with open_export(folder) as export:
            assert imp.detect(export), label
            assert imp.is_full(export) is full, label
            if not kwargs.get("user", True):
                assert imp.account(export) is None


def test_one_part_alone_is_detected_but_not_full(tmp_path):
    src = tmp_path / "export"
    write_export(src, wrapper_part1=True)
    part = src / "conversations-001.json"
    with open_export(part) as export:
        assert imp.detect(export) is True
        assert imp.is_full(export) is False
        assert imp.account(export) is None
        items = list(imp.read(export))
    ids = [s.native_id for s in snaps(items)]
    assert ids[0] == CONV_C and len(ids) == 3
    # no export around it: nothing to attach, the Canvas id is still recorded
    c = snaps(items)[0]
    assert [f.name for f in c.files] == ["conversation.json"]
    assert c.attributes["canvas_ids"] == [TEXTDOC]
    assert_exact_slices(items, part)


def test_truncated_conversations_json_raises_naming_the_file(tmp_path):
    src = tmp_path / "export"
    write_export(src, split=False)
    full = (src / "conversations.json").read_bytes()
    (src / "conversations.json").write_bytes(full[: len(full) * 2 // 3])
    with open_export(src) as export:
        assert imp.detect(export)
        with pytest.raises(ExportError) as err:
            list(imp.read(export))
    assert err.value.path == str(src / "conversations.json")
    assert "ends early" in err.value.reason
    path = zip_folder(src, tmp_path / "cut.zip")
    with open_export(path) as export:
        with pytest.raises(ExportError) as err:
            list(imp.read(export))
    assert err.value.path == f"{path}!conversations.json"


def test_truncated_second_part_keeps_the_first(tmp_path):
    src = tmp_path / "export"
    write_export(src)
    part1 = src / "conversations-001.json"
    part1.write_bytes(part1.read_bytes()[:200])
    got = []
    with open_export(src) as export:
        with pytest.raises(ExportError) as err:
            for item in imp.read(export):
                got.append(item)
    assert err.value.path == str(part1)
    assert [s.native_id for s in snaps(got)] == [CONV_A, CONV_B]


def test_invalid_json_in_the_middle_raises_after_earlier_entries(tmp_path):
    good = conversation("11111111-0000-4000-8000-000000000001", "ok",
                        [node("r", None, [])], "r")
    path = tmp_path / "conversations.json"
    path.write_text("[" + json.dumps(good) + ', {"mapping": {"x": nope}}]')
    got = []
    with open_export(path) as export:
        assert imp.detect(export)
        with pytest.raises(ExportError) as err:
            for item in imp.read(export):
                got.append(item)
    assert err.value.path == str(path)
    assert [s.native_id for s in snaps(got)] == [good["id"]]


def test_duplicate_conversation_is_skipped(tmp_path):
    conv = conversation(CONV_A, "twice", [node("r", None, ["u"]),
                                          node("u", "r", [], "user", text("hi"))], "u")
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conv, conv]))
    items = read_all(path)
    assert len(snaps(items)) == 1
    (skip,) = skipped(items)
    assert skip.where == f"conversation {CONV_A}" and "again" in skip.reason


def test_backend_api_single_object_with_iso_times(tmp_path):
    conv = conversation(CONV_A, "From the API", [
        node("r", None, ["u"]),
        node("u", "r", [], "user", text("hello"), t="2025-03-01T10:00:00.000000Z"),
    ], "u")
    conv["create_time"] = "2025-03-01T10:00:00Z"
    conv["update_time"] = "2025-03-01T11:00:00+00:00"
    path = tmp_path / "chat.json"
    body = json.dumps(conv, indent=2)
    path.write_bytes(b"\xef\xbb\xbf" + body.encode() + b"\n")
    items = read_all(path)
    (snap,) = snaps(items)
    assert files_of(snap)["conversation.json"] == body.encode()
    assert snap.created_at == 1740823200.0 and snap.updated_at == 1740826800.0
    page = render(snap)
    assert "2025-03-01 10:00:00 UTC" in page and "hello" in page


def test_empty_wrapper_and_empty_array_import_nothing(tmp_path):
    for body in ('{"conversations": []}', "[]"):
        path = tmp_path / "conversations.json"
        path.write_text(body)
        with open_export(path) as export:
            assert list(imp.read(export)) == []


def test_unknown_object_shape_raises(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text('{"something": [1, 2]}')
    with open_export(path) as export:
        with pytest.raises(ExportError):
            list(imp.read(export))


def test_several_exports_in_one_folder_raise(tmp_path):
    write_export(tmp_path / "all" / "one")
    write_export(tmp_path / "all" / "two")
    with open_export(tmp_path / "all") as export:
        assert imp.detect(export) is True  # so that read() can say what is wrong
        with pytest.raises(ExportError) as err:
            list(imp.read(export))
    assert "several" in err.value.reason


def test_many_conversations_stream(tmp_path):
    convs = [conversation(f"{i:08x}-0000-4000-8000-000000000000", f"c{i}",
                          [node("r", None, ["u"]), node("u", "r", [], "user", text(f"q{i}"))],
                          "u") for i in range(2000)]
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(convs))
    items = read_all(path)
    assert len(snaps(items)) == 2000 and not skipped(items)
    assert snaps(items)[1999].title == "c1999"


# -- rendering ----------------------------------------------------------------------------


def test_render_built_export_shows_files_tools_and_custom_gpt(tmp_path):
    src = tmp_path / "export"
    write_export(src)
    with open_export(src) as export:
        by_id = {s.native_id: s for s in snaps(imp.read(export))}
    a = render(by_id[CONV_A])
    assert "- **Custom GPT:** `g-abc123` (gpt)" in a
    assert "Flags:** archived" in a
    assert "Image (640×480): `files/file-AAA111-photo.png`" in a
    assert "photo.png (image/png, 2.0 KiB): `files/file-AAA111-photo.png`" in a
    assert "lost.pdf: not in the export" in a
    assert a.index("A cat on a sofa.") < a.index("## Branch 2 (continues after message 1)") \
        < a.index("A sleeping cat.")
    b = render(by_id[CONV_B])
    assert "<summary>2. Assistant · → dalle.text2im · code · " in b
    assert "<summary>3. Tool · dalle.text2im · multimodal_text · " in b
    assert "Image: `files/file_00000000ccc333-7f6e5d4c.png`" in b
    assert "Image: `files/file-BBB222-0b1c2d3e-uuid.webp`" in b
    assert "`sediment://file_00000000missing` (not in the export)" in b
    assert "a red fox in snow" in b
    c = render(by_id[CONV_C])
    assert f"Canvas documents:** `textdocs/{TEXTDOC}.json`" in c
    e = render(by_id[CONV_E])
    assert "hello there" in e and "Audio: `files/file_00000000ddd444-0a0b.wav`" in e


def test_render_content_types():
    nodes = [
        node("r", None, ["sys"]),
        node("sys", "r", ["u"], "system", text("You are ChatGPT."),
             meta={"is_visually_hidden_from_conversation": True}),
        node("u", "sys", ["th"], "user", text("Search the web for tides"), t=1.7e9),
        node("th", "u", ["rr"], "assistant",
             {"content_type": "thoughts",
              "thoughts": [{"summary": "Planning", "content": "I should search."}]},
             meta={"model_slug": "o3"}),
        node("rr", "th", ["call"], "assistant",
             {"content_type": "reasoning_recap", "content": "Thought for 4 seconds"}),
        node("call", "rr", ["browse"], "assistant",
             {"content_type": "code", "language": "unknown", "text": "search('tides')"},
             recipient="browser"),
        node("browse", "call", ["quote"], "tool",
             {"content_type": "tether_browsing_display", "result": "L0: tides result",
              "summary": "search results"}, name="browser"),
        node("quote", "browse", ["py"], "tool",
             {"content_type": "tether_quote", "title": "Tides page", "url": "https://ex.org",
              "text": "Tides are caused by the moon."}, name="browser"),
        node("py", "quote", ["out"], "assistant",
             {"content_type": "code", "language": "python", "text": "print(1+1)"},
             recipient="python"),
        node("out", "py", ["mem"], "tool",
             {"content_type": "execution_output", "text": "2"}, name="python"),
        node("mem", "out", ["odd"], "user",
             {"content_type": "model_editable_context", "model_set_context": "Likes tides."},
             meta={"is_visually_hidden_from_conversation": True}),
        node("odd", "mem", ["fin"], "assistant",
             {"content_type": "brand_new_type", "payload": {"k": 1}}),
        node("fin", "odd", [], "assistant", text("The moon causes tides."),
             meta={"model_slug": "o3"}),
    ]
    conv = conversation(CONV_A, "Tides", nodes, "fin", default_model_slug="o3")
    page = imp.render_markdown({"conversation.json": json.dumps(conv).encode()},
                               {"title": "Tides"})
    assert "<summary>1. System · hidden</summary>" in page and "You are ChatGPT." in page
    assert "### 3\\. Assistant · o3" in page
    assert "<summary>Thinking</summary>" in page and "**Planning**" in page
    assert "_Thought for 4 seconds_" in page
    assert "<summary>5. Assistant · → browser · code</summary>" in page
    assert "<summary>6. Tool · browser · tether_browsing_display</summary>" in page
    assert "L0: tides result" in page
    assert "**Quote: Tides page — https://ex.org**" in page
    assert "```python\nprint(1+1)\n```" in page
    assert "<summary>9. Tool · python · execution_output</summary>" in page
    assert "<summary>10. User · model_editable_context · hidden</summary>" in page
    assert "<summary>brand_new_type</summary>" in page and '"payload"' in page
    assert page.index("Search the web") < page.index("The moon causes tides.")
    assert "## Branch" not in page and "## Current thread" not in page


def test_render_missing_current_node_shows_newest_leaf_first():
    nodes = [node("r", None, ["u"]),
             node("u", "r", ["old", "new"], "user", text("question"), t=10.0),
             node("old", "u", [], "assistant", text("older answer"), t=11.0),
             node("new", "u", [], "assistant", text("newer answer"), t=12.0)]
    conv = conversation(CONV_A, "Q", nodes, "gone")
    page = imp.render_markdown({"conversation.json": json.dumps(conv).encode()}, {})
    assert "current\\_node names no message" in page
    assert page.index("newer answer") < page.index("## Branch 2 (continues after message 1)") \
        < page.index("older answer")


def test_render_hostile_text_stays_inside_its_message():
    nodes = [node("r", None, ["u"]),
             node("u", "r", ["a"], "user", text("</details> <script>x</script> \x1b[31m red")),
             node("a", "u", [], "assistant", text("```\nunclosed fence")),
             ]
    conv = conversation(CONV_A, "Evil </details>", nodes, "a")
    page = imp.render_markdown({"conversation.json": json.dumps(conv).encode()},
                               {"title": "Evil </details>"})
    assert "\x1b" not in page and "␛[31m red" in page
    assert re.search(r"(?<!\\)<(script|/details)", page) is None
    assert "\\<script>" in page and "\\</details>" in page
    assert page.endswith("```\nunclosed fence\n```\n")


def test_render_never_raises_on_garbage():
    rng = random.Random(7)
    conv = conversation(CONV_A, "x", [node("r", None, ["u"]),
                                      node("u", "r", [], "user", text("hi"))], "u")
    good = json.dumps(conv).encode()
    samples = [b"", b"\x00\xff\xfe", b"[1, 2]", b"null", b'{"mapping": []}', good[: len(good) // 2],
               b'{"mapping": {"a": "x", "b": {"parent": "b", "message": {"content": 5}}}}',
               b'{"mapping": {"a": {"parent": "b", "message": {"author": 1, "content": '
               b'{"content_type": "multimodal_text", "parts": [null, 3, {"asset_pointer": 7},'
               b' {"content_type": "thoughts"}]}}}, "b": {"parent": "a", "message": {}}},'
               b' "current_node": ["x"], "title": 5, "create_time": "soon"}',
               b"[" * 5000 + b"]" * 5000,
               b'{"mapping": {"a": {"message": {"content": {"content_type": "thoughts", '
               b'"thoughts": [1, {"summary": 2, "content": null}]}, "metadata": '
               b'{"attachments": [1, {"size": true}], "finish_details": 3}}}}}']
    for _ in range(200):
        blob = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        samples.append(bytes(blob))
    for sample in samples:
        for meta in ({}, {"title": 3}, {"title": "T", "created_at": "x"}):
            page = imp.render_markdown({"conversation.json": sample, "files/a": b"x"}, meta)
            assert isinstance(page, str) and page.startswith("# ")
    page = imp.render_markdown({}, {"title": "Only a title"})
    assert page.startswith("# Only a title") and "no conversation.json" in page
