"""GeminiAppsImporter on Google Takeout's Gemini Apps activity log (JSON and HTML forms)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from collectors.export_source import ExportError, open_export
from collectors.gemini_apps import GeminiAppsImporter
from collectors.gemini_apps.activity import (
    conversation_ids,
    file_names,
    parse_html_rows,
    parse_local_time,
    split_prompt,
)
from collectors.gemini_apps.htmltext import html_to_markdown
from collectors.gemini_apps.importer import HTML_HEAD, HTML_TAIL
from collectors.importing import Importer, Skipped
from tests.conftest import need_fixtures

from .import_helpers import zip_members

imp = GeminiAppsImporter()
ACTIVITY = "Takeout/My Activity/Gemini Apps/MyActivity.json"
APP = "https://gemini.google.com/app/"
ID_A = "a1b2c3d4e5f60718"
ID_B = "b1b2c3d4e5f60718"
PNG = b"\x89PNG\r\n\x1a\nfake image bytes"


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def row(title, time=None, ids=(), html=None, **extra):
    """One activity row in Takeout's key order."""
    r = {"header": "Gemini Apps", "title": title}
    if time is not None:
        r["time"] = time
    r["products"] = ["Gemini Apps"]
    r["activityControls"] = ["Gemini Apps Activity"]
    if ids:
        r["details"] = [{"name": APP + i, "url": APP + i} for i in ids]
    if html is not None:
        r["safeHtmlItem"] = [{"html": h} for h in ([html] if isinstance(html, str) else html)]
    r.update(extra)
    return r


# Newest first, as Takeout writes them.
ROWS = [
    row("Prompted Second question", "2026-03-05T10:05:00.000Z", [ID_A],
        "<p>Here is <b>code</b>:</p><pre><code class=\"language-python\">print('hi')\n</code></pre>"),
    row("Created Canvas: Plan", "2026-03-05T10:01:00Z", [ID_A, ID_B]),
    row("Prompted Příliš žluťoučký kůň\nsecond line", "2026-03-05T10:00:00.123456789Z", [ID_A],
        "<p>Nice photo &lt;3</p>", attachedFiles=["photo.png", "notes.json"], imageFile="photo.png"),
    row("Gave feedback: Good response", "2026-03-04T23:59:59Z"),
    row("Selected preferred draft", "2026-03-04T00:00:01Z"),
    row("Prompted Other thing", "2026-03-03T08:00:00Z", [ID_B], "<ul><li>one</li><li>two</li></ul>",
        attachedFiles=["missing.pdf"]),
    42,
    row("Prompted no time and no id"),
]


def activity_bytes(rows=ROWS) -> bytes:
    """Takeout-like JSON: pretty rows, one escaped non-ASCII character, CRLF-free."""
    parts = []
    for r in rows:
        text = json.dumps(r, indent=2, ensure_ascii=False)
        parts.append(text.replace("\n", "\n  "))
    body = "[\n  " + ",\n  ".join(parts) + "\n]\n"
    return body.replace("Příliš", "P\\u0159íliš").encode("utf-8")


def write_takeout(root: Path, data: bytes | None = None) -> dict[str, bytes]:
    """The members of a Takeout export (names -> bytes), also written under ``root``."""
    members = {
        "Takeout/archive_browser.html":
            b'<html><body><h1 class="header_title">Archive for jane.doe@example.com</h1></body></html>',
        ACTIVITY: activity_bytes() if data is None else data,
        "Takeout/My Activity/Gemini Apps/photo.png": PNG,
        "Takeout/My Activity/Gemini Apps/notes.json": b'{"note": 1}\n',
        "Takeout/My Activity/Search/MyActivity.json":
            b'[{"header": "Search", "title": "Searched for cats", "time": "2026-01-01T00:00:00Z"}]',
        "Takeout/Gemini/gems.json": b'[{"name": "My gem"}]',
    }
    for name, content in members.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return members


def read_all(path):
    with open_export(path) as export:
        assert imp.detect(export)
        items = list(imp.read(export))
        # materialize files while the export is open (zip members may be spilled)
        out = []
        for item in items:
            if isinstance(item, Skipped):
                out.append(item)
                continue
            files = {f.name: f.data if f.data is not None else f.path.read_bytes() for f in item.files}
            out.append((item, files))
        return out


def snapshots(items):
    return {s.native_id: (s, files) for s, files in (i for i in items if not isinstance(i, Skipped))}


def meta_of(snap):
    return {"title": snap.title, "native_id": snap.native_id, "attributes": dict(snap.attributes),
            "created_at": snap.created_at, "updated_at": snap.updated_at}


def check_slices(conv: bytes, source: bytes) -> list:
    """conversation.json is an array of exact byte slices of the source file."""
    assert conv.startswith(b"[\n") and conv.endswith(b"\n]\n")
    parsed = json.loads(conv)
    for entry in parsed:
        raw = raw_row(entry)
        assert raw in source and raw in conv
    return parsed


# -- protocol -------------------------------------------------------------------------------

def test_protocol_names():
    assert isinstance(imp, Importer)
    assert GeminiAppsImporter.name == "gemini"
    assert GeminiAppsImporter.provider == "gemini"


# -- a Takeout zip built from the documented schema --------------------------------------------

def test_takeout_zip(tmp_path):
    members = write_takeout(tmp_path / "src")
    zpath = zip_members(tmp_path / "takeout-20260306T000000Z-001.zip", members)
    with open_export(zpath) as export:
        assert imp.detect(export)
        assert imp.is_full(export)
        assert imp.account(export) == "jane.doe@example.com"
    items = read_all(zpath)
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert skipped == [Skipped(f"{ACTIVITY} entry 6", "not an activity row (not a JSON object)")]
    snaps = snapshots(items)
    order = [s.native_id for s, _ in (i for i in items if not isinstance(i, Skipped))]
    assert order == [ID_A, ID_B, "day-2026-03-04", "day-unknown"]
    source = members[ACTIVITY]

    a, a_files = snaps[ID_A]
    assert a.provider == "gemini" and a.org == ""
    assert a.title == "Příliš žluťoučký kůň"  # the first prompt, without "Prompted "
    assert a.created_at == pytest.approx(ts("2026-03-05T10:00:00.123456Z"))
    assert a.updated_at == ts("2026-03-05T10:05:00Z")
    assert a.source_path == f"{zpath}!{ACTIVITY}"
    assert a.attributes == {"rows": 3, "grouped_by": "conversation", "form": "json",
                            "locale": "en", "rows_in_several_conversations": 1,
                            "attachments": 2}
    assert a.warnings == ()
    assert sorted(a_files) == ["conversation.json", "files/notes.json", "files/photo.png"]
    assert a_files["files/photo.png"] == PNG
    assert a_files["files/notes.json"] == b'{"note": 1}\n'
    parsed = check_slices(a_files["conversation.json"], source)
    assert [r["title"] for r in parsed] == [ROWS[0]["title"], ROWS[1]["title"], ROWS[2]["title"]]

    b, b_files = snaps[ID_B]
    assert b.title == "Other thing"
    assert [r["title"] for r in check_slices(b_files["conversation.json"], source)] == [
        "Created Canvas: Plan", "Prompted Other thing"]
    assert sorted(b_files) == ["conversation.json"]
    assert b.attributes["attachments_missing"] == 1
    assert b.warnings == ("1 attached file name(s) not found beside the activity file",)
    assert not any("missing.pdf" in w for w in b.warnings)

    day, day_files = snaps["day-2026-03-04"]
    assert day.title == "Gemini activity 2026-03-04 (no conversation id)"
    assert day.attributes["grouped_by"] == "day" and day.attributes["rows"] == 2
    assert day.created_at == ts("2026-03-04T00:00:01Z")
    assert [r["title"] for r in check_slices(day_files["conversation.json"], source)] == [
        "Gave feedback: Good response", "Selected preferred draft"]

    unknown, _ = snaps["day-unknown"]
    assert unknown.created_at is None and unknown.attributes["grouped_by"] == "day"
    assert unknown.warnings == ("1 row time(s) could not be read",)


def raw_row(r) -> bytes:
    """How :func:`activity_bytes` wrote row ``r`` (its exact bytes in the source)."""
    text = json.dumps(r, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    return text.replace("Příliš", "P\\u0159íliš").encode("utf-8")


def test_rows_are_exact_bytes_including_escapes(tmp_path):
    members = write_takeout(tmp_path / "src")
    snaps = snapshots(read_all(zip_members(tmp_path / "t.zip", members)))
    conv = snaps[ID_A][1]["conversation.json"]
    assert b"P\\u0159\xc3\xadli\xc5\xa1" in conv  # the escape kept as written
    expected = [raw_row(ROWS[i]) for i in (0, 1, 2)]
    assert all(piece in members[ACTIVITY] for piece in expected)
    assert conv == b"[\n" + b",\n".join(expected) + b"\n]\n"
    assert snaps[ID_B][1]["conversation.json"] == (
        b"[\n" + raw_row(ROWS[1]) + b",\n" + raw_row(ROWS[5]) + b"\n]\n")


def test_ids_stable_across_reads_and_forms(tmp_path):
    members = write_takeout(tmp_path / "folder")
    zpath = zip_members(tmp_path / "t.zip", members)
    first, second = snapshots(read_all(zpath)), snapshots(read_all(zpath))
    folder = snapshots(read_all(tmp_path / "folder"))
    assert first.keys() == second.keys() == folder.keys()
    for key in first:
        assert first[key][1] == second[key][1] == folder[key][1]
        assert first[key][0].title == folder[key][0].title
    sub = snapshots(read_all(tmp_path / "folder" / "Takeout" / "My Activity" / "Gemini Apps"))
    assert sub.keys() == first.keys()
    assert sub[ID_A][1] == first[ID_A][1]  # attachments found beside the file here too


def test_lone_activity_file(tmp_path):
    path = tmp_path / "MyActivity.json"
    path.write_bytes(activity_bytes())
    with open_export(path) as export:
        assert imp.detect(export)
        assert imp.is_full(export)  # the lone file is the whole activity log
        assert imp.account(export) is None
    snaps = snapshots(read_all(path))
    assert set(snaps) == {ID_A, ID_B, "day-2026-03-04", "day-unknown"}
    a, files = snaps[ID_A]
    assert sorted(files) == ["conversation.json"]
    assert a.attributes["attachments_missing"] == 2  # photo.png, notes.json not beside it
    assert a.source_path == str(path)


def test_truncated_activity_file_is_an_error(tmp_path):
    data = activity_bytes()
    cut = data[: len(data) // 2]
    members = write_takeout(tmp_path / "src", cut)
    zpath = zip_members(tmp_path / "t.zip", members)
    with open_export(zpath) as export:
        assert imp.detect(export)
        with pytest.raises(ExportError) as err:
            list(imp.read(export))
    assert err.value.path == f"{zpath}!{ACTIVITY}"
    assert "ends early" in err.value.reason
    lone = tmp_path / "MyActivity.json"
    lone.write_bytes(cut + b"}]")  # looks complete at the end, but is broken inside
    with open_export(lone) as export:
        with pytest.raises(ExportError) as err:
            list(imp.read(export))
    assert err.value.path == str(lone)
    assert "Příliš" not in str(err.value)


def test_not_an_array_is_an_error(tmp_path):
    path = tmp_path / "Gemini Apps" / "MyActivity.json"
    path.parent.mkdir()
    path.write_bytes(b'{"header": "Gemini Apps", "rows": []}')
    with open_export(path) as export:
        with pytest.raises(ExportError, match="not a JSON array"):
            list(imp.read(export))


def test_localized_names(tmp_path):
    data = activity_bytes([row("Pokyn Ahoj světe", "2026-01-02T03:04:05Z", [ID_A], "<p>Ahoj</p>")])
    members = {"Takeout/Moje aktivita/Aplikace Gemini/MojeAktivita.json": data,
               "Takeout/Moje aktivita/Vyhledávání/MojeAktivita.json": b'[{"header": "Search"}]'}
    zpath = zip_members(tmp_path / "cs.zip", members)
    snaps = snapshots(read_all(zpath))
    a = snaps[ID_A][0]
    assert a.title == "Ahoj světe" and a.attributes["locale"] == "cs"
    assert a.source_path.endswith("!Takeout/Moje aktivita/Aplikace Gemini/MojeAktivita.json")


# -- the HTML form ------------------------------------------------------------------------------

def html_row(title_html, time_text, answer_html="", caption="", extra=""):
    return (
        '<div class="outer-cell mdl-cell mdl-cell--12-col mdl-shadow--2dp"><div class="mdl-grid">'
        '<div class="header-cell mdl-cell mdl-cell--12-col"><p class="mdl-typography--title">'
        'Gemini Apps<br></p></div>'
        '<div class="content-cell mdl-cell mdl-cell--6-col mdl-typography--body-1">'
        f"{title_html}<br>{time_text}<br>{answer_html}</div>"
        '<div class="content-cell mdl-cell mdl-cell--6-col mdl-typography--body-1 '
        f'mdl-typography--text-right">{extra}</div>'
        '<div class="content-cell mdl-cell mdl-cell--12-col mdl-typography--caption">'
        f"<b>Products:</b><br>&emsp;Gemini Apps<br>{caption}</div></div></div>"
    )


HTML_ROWS = [
    html_row(f'Prompted&nbsp;<a href="{APP}{ID_A}">Second &amp; last</a>',
             "Mar 5, 2026, 11:05:00\u202fAM CET", "<p>Answer two with <code>x &lt; y</code></p>"),
    html_row("Created Canvas: Plan", "Mar 5, 2026, 11:01:00 AM CET",
             caption=f'<b>Details:</b><br><a href="{APP}{ID_A}">a</a> <a href="{APP}{ID_B}">b</a>'),
    html_row(f'Prompted&nbsp;<a href="{APP}{ID_A}">First prompt</a>', "Mar 5, 2026, 11:00:00 AM CET",
             "<p>See <a href=\"https://gemini.google.com/app/ffffffffffffffff\">this</a></p>",
             extra='<a href="photo%20one.png">photo one.png</a>'),
    html_row("Prompted&nbsp;No id here", "4 Mar 2026, 23:30:00 UTC", "<p>ok</p>"),
]


def html_doc(rows=HTML_ROWS) -> str:
    return ('<html><head><meta charset="UTF-8"><title>My Activity</title><style>.x{}</style>'
            '</head><body><div class="mdl-grid">\n' + "\n".join(rows) + "\n</div></body></html>\n")


def test_html_takeout_zip(tmp_path):
    doc = html_doc()
    members = {"Takeout/My Activity/Gemini Apps/MyActivity.html": doc.encode(),
               "Takeout/My Activity/Gemini Apps/photo one.png": PNG}
    zpath = zip_members(tmp_path / "html.zip", members)
    with open_export(zpath) as export:
        assert imp.detect(export) and imp.is_full(export)
    items = read_all(zpath)
    snaps = snapshots(items)
    assert list(snaps) == [ID_A, ID_B, "day-2026-03-04"]  # the answer's link is not an id
    a, files = snaps[ID_A]
    assert a.title == "First prompt"
    assert a.attributes == {"rows": 3, "grouped_by": "conversation", "form": "html",
                            "locale": "en", "rows_in_several_conversations": 1, "attachments": 1}
    assert a.created_at == ts("2026-03-05T10:00:00Z") and a.updated_at == ts("2026-03-05T10:05:00Z")
    assert sorted(files) == ["conversation.html", "files/photo one.png"]
    page = files["conversation.html"]
    assert page.startswith(HTML_HEAD) and page.endswith(HTML_TAIL)
    assert page == HTML_HEAD + "".join(
        HTML_ROWS[i] + "\n" for i in (0, 1, 2)).encode() + HTML_TAIL
    b = snaps[ID_B][0]
    assert b.attributes["rows"] == 1 and b.title == "Created Canvas: Plan"
    day = snaps["day-2026-03-04"][0]
    assert day.attributes["grouped_by"] == "day"

    md_text = imp.render_markdown(files, meta_of(a))
    assert md_text.index("First prompt") < md_text.index("Second & last")
    assert "`x < y`" in md_text
    assert "`files/photo one.png`" in md_text


def test_truncated_html_is_an_error(tmp_path):
    path = tmp_path / "Gemini Apps" / "MyActivity.html"
    path.parent.mkdir()
    doc = html_doc().encode()
    path.write_bytes(doc[: len(doc) - 400])
    with open_export(path) as export:
        assert imp.detect(export)
        with pytest.raises(ExportError, match="ends early"):
            list(imp.read(export))


def test_html_fixture():
    src = need_fixtures() / "gemini-apps" / "ai-chat-history-manager" / "gemini.html"
    with open_export(src) as export:
        assert imp.detect(export) and imp.is_full(export)
        assert imp.account(export) is None
    items = read_all(src)
    assert not any(isinstance(i, Skipped) for i in items)
    snaps = snapshots(items)
    assert list(snaps) == ["day-2026-01-01"]  # no conversation links: grouped by day
    snap, files = snaps["day-2026-01-01"]
    assert snap.title == "Gemini activity 2026-01-01 (no conversation id)"
    assert snap.attributes == {"rows": 9, "grouped_by": "day", "form": "html", "locale": "cs"}
    assert snap.created_at == ts("2026-01-01T09:00:00Z")  # 10:00 SEČ (UTC+1)
    assert snap.updated_at == ts("2026-01-01T09:40:00Z")
    source = src.read_bytes()
    page = files["conversation.html"]
    body = page[len(HTML_HEAD):-len(HTML_TAIL)]
    slices = body.split(b"\n<div class=\"outer-cell")
    assert len(slices) == 9
    for index, piece in enumerate(slices):
        piece = piece if index == 0 else b'<div class="outer-cell' + piece
        assert piece.rstrip(b"\n") in source
    text = imp.render_markdown(files, meta_of(snap))
    assert "grouped by their UTC day (2026-01-01)" in text
    assert text.count("### You · ") == 9 and text.count("### Gemini") == 9
    assert "Pokyn" not in text
    assert text.index("How can I use this example") < text.index("Example question 9")
    assert "- Second bullet with `inline code`" in text
    assert "`MATCH`" in text


# -- the synthetic JSON fixture -------------------------------------------------------------------

def test_json_fixture():
    src = need_fixtures() / "gemini-apps" / "synthetic" / "MyActivity.json"
    with open_export(src) as export:
        assert imp.detect(export) and imp.is_full(export)
    items = read_all(src)
    snaps = snapshots(items)
    assert list(snaps) == ["0a1b2c3d4e5f6789", "ffeeddccbbaa0099", "day-2026-03-03",
                           "1111222233334444", "5555666677778888"]
    source = src.read_bytes()
    expected = json.loads(source)
    for snap, files in snaps.values():
        conv = files["conversation.json"]
        parsed = json.loads(conv)
        for entry in parsed:
            assert entry in expected
        for piece in conv[2:-3].split(b",\n"):
            assert piece in source
    rotate, files = snaps["0a1b2c3d4e5f6789"]
    assert rotate.title == "How do I rotate a PDF page on the command line?"
    assert rotate.attributes["rows"] == 2 and rotate.attributes["locale"] == "en"
    assert rotate.created_at == ts("2026-03-02T09:15:42.118Z")
    text = imp.render_markdown(files, meta_of(rotate))
    assert text.index("How do I rotate") < text.index("And for every page?")
    assert "```\nqpdf in.pdf out.pdf --rotate=+90:1\n```" in text
    assert "Prompted" not in text
    picture, files = snaps["ffeeddccbbaa0099"]
    assert picture.attributes["attachments_missing"] == 1
    text = imp.render_markdown(files, meta_of(picture))
    assert "IMG\\_0001.jpg (not in the export)" in text
    assert "_Was this helpful? Yes_" in text
    canvas_a, canvas_b = snaps["1111222233334444"], snaps["5555666677778888"]
    assert canvas_a[1]["conversation.json"] == canvas_b[1]["conversation.json"]
    assert canvas_a[0].attributes["rows_in_several_conversations"] == 1
    day, files = snaps["day-2026-03-03"]
    assert day.attributes["grouped_by"] == "day"
    text = imp.render_markdown(files, meta_of(day))
    assert "name no conversation id" in text and "### Activity · 2026-03-03 18:41:12 UTC" in text


# -- not claiming other platforms -----------------------------------------------------------------

OTHERS = ["chatgpt", "claude", "deepseek", "grok", "lechat", "perplexity", "copilot"]


@pytest.mark.parametrize("platform", OTHERS)
def test_detect_false_on_other_platforms(platform, tmp_path):
    root = need_fixtures() / platform
    paths = sorted(p for p in root.rglob("*") if p.is_file())
    assert paths
    for path in paths:
        with open_export(path) as export:
            assert not imp.detect(export), path
    folder = tmp_path / platform
    shutil.copytree(root, folder)
    with open_export(folder) as export:
        assert not imp.detect(export)
    members = {p.relative_to(root).as_posix(): p.read_bytes() for p in paths}
    with open_export(zip_members(tmp_path / f"{platform}.zip", members)) as export:
        assert not imp.detect(export)


def test_detect_false_on_takeout_without_gemini(tmp_path):
    members = write_takeout(tmp_path / "src")
    del members[ACTIVITY]
    for name in list(members):
        if name.startswith("Takeout/My Activity/Gemini Apps/"):
            del members[name]
    with open_export(zip_members(tmp_path / "t.zip", members)) as export:
        assert not imp.detect(export)
        with pytest.raises(ExportError):
            list(imp.read(export))


# -- rendering ------------------------------------------------------------------------------------

def test_render_takeout_conversation(tmp_path):
    members = write_takeout(tmp_path / "src")
    snaps = snapshots(read_all(zip_members(tmp_path / "t.zip", members)))
    a, files = snaps[ID_A]
    text = imp.render_markdown(files, meta_of(a))
    assert text.startswith("# Příliš žluťoučký kůň\n")
    assert f"https://gemini.google.com/app/{ID_A}" in text
    first = text.index("### You · 2026-03-05 10:00:00 UTC")
    canvas = text.index("### Activity · 2026-03-05 10:01:00 UTC")
    second = text.index("### You · 2026-03-05 10:05:00 UTC")
    assert first < canvas < second
    assert "Příliš žluťoučký kůň\nsecond line" in text
    assert "- `files/photo.png`" in text and "- `files/notes.json`" in text
    assert "Nice photo \\<3" in text or "Nice photo <3" in text
    assert "```python\nprint('hi')\n```" in text
    assert "Here is **code**:" in text
    assert f"also names conversation(s) {ID_B}" in text
    day, files = snaps["day-2026-03-04"]
    text = imp.render_markdown(files, meta_of(day))
    assert "grouped by their UTC day (2026-03-04)" in text
    assert text.index("Selected preferred draft") < text.index("Gave feedback")


GARBAGE = [
    b"",
    b"\x00\xff\xfe garbage",
    b"[",
    b'[{"title": 5, "time": [], "safeHtmlItem": "x", "details": {"url": 1},'
    b' "attachedFiles": 7}, 3, null]',
    b'[{"title": "Prompted </details><script>x</script>",'
    b' "safeHtmlItem": [{"html": "</details><details><summary>x<pre>```"}]}]',
    b'[{"title": "Prompted \\u0000\\u001b[31m", "time": "2026-99-99T00:00:00Z",'
    b' "safeHtmlItem": [{"html": "<table><tr><td>1<td><pre>x"}]}]',
]


@pytest.mark.parametrize("data", GARBAGE)
def test_render_never_raises_on_garbage_json(data):
    text = imp.render_markdown({"conversation.json": data}, {"title": "T", "native_id": "x"})
    assert text.startswith("# T\n")
    assert "\x1b" not in text and "\x00" not in text
    assert "</details>" not in text.replace("\\</details>", "")


@pytest.mark.parametrize("data", [
    b"",
    b"<div class='outer-cell'><div class='content-cell'>Prompted&nbsp;x<br>not a time<br><pre>",
    b"<div class=\"outer-cell\">" * 50,
    "<div class=\"outer-cell\"><div class=\"content-cell\">\udcff</div></div>".encode(
        "utf-8", "surrogateescape"),
    b"</div></div><br><br><p>",
])
def test_render_never_raises_on_garbage_html(data):
    text = imp.render_markdown({"conversation.html": data}, {"title": None, "attributes": [1]})
    assert text.startswith("# ")


def test_render_without_files_or_meta():
    text = imp.render_markdown({}, {})
    assert text.startswith("# Untitled") and "no conversation.json" in text


# -- pieces ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected,known", [
    ("Feb 2, 2026, 8:24:02 AM CET", "2026-02-02T07:24:02Z", True),
    ("Feb 2, 2026, 12:24:02\u202fAM PST", "2026-02-02T08:24:02Z", True),
    ("2 Feb 2026, 08:24:02 GMT+01:00", "2026-02-02T07:24:02Z", True),
    ("1. 1. 2026 10:00:00 SEČ", "2026-01-01T09:00:00Z", True),
    ("02.02.2026, 08:24:02 MEZ", "2026-02-02T07:24:02Z", True),
    ("2026/02/02 8:24:02 JST", "2026-02-01T23:24:02Z", True),
    ("2026年2月2日 8:24:02 XYZ", "2026-02-02T08:24:02Z", False),
])
def test_parse_local_time(text, expected, known):
    assert parse_local_time(text) == (ts(expected), known)


@pytest.mark.parametrize("text", ["", "hello", "99:99", "Feb 30, 2026, 10:00:00 AM", None, 5])
def test_parse_local_time_rejects(text):
    assert parse_local_time(text) == (None, False)


def test_split_prompt_and_row_fields():
    assert split_prompt("Prompted Hello there") == ("Hello there", "en")
    assert split_prompt("Pokyn\u00a0Ahoj") == ("Ahoj", "cs")
    assert split_prompt("Prompt : Pourquoi") == ("Pourquoi", "fr")
    assert split_prompt("Gave feedback: Good response") == ("Gave feedback: Good response", None)
    assert split_prompt("Eingabe Hallo") == ("Eingabe Hallo", None)  # unknown word: kept
    assert split_prompt(None) == ("", None)
    r = row("x", ids=[ID_A, ID_B, ID_A], attachedFiles=["a.png", "../etc/passwd", "/abs", "b.pdf"],
            imageFile="a.png", subtitles=[{"name": "-  a.png", "url": "a-123.png"},
                                          {"name": "Gem", "url": "https://gemini.google.com/gems/x"}])
    r["details"].append({"name": "https://gemini.google.com/gems/view"})
    assert conversation_ids(r) == [ID_A, ID_B]
    assert file_names(r) == ["a.png", "b.pdf", "a-123.png"]
    assert conversation_ids({"details": "x"}) == [] and file_names(3) == []


def test_html_rows_offsets_exact():
    doc = html_doc()
    rows = list(parse_html_rows(doc))
    assert [doc[r.start:r.end] for r in rows] == HTML_ROWS
    assert rows[0].title == "Prompted Second & last"
    assert rows[1].app_ids == [ID_A, ID_B]
    assert rows[2].app_ids == [ID_A] and rows[2].files == ["photo one.png"]
    assert rows[3].time == ts("2026-03-04T23:30:00Z")


def test_html_to_markdown():
    out = html_to_markdown(
        "<h2>Plan</h2><ol><li><p>first</p><pre><code class='language-sh'>ls ```</code></pre></li>"
        "<li>second<ul><li>nested</li></ul></li></ol>"
        "<table><tr><th>a</th><th>b|c</th></tr><tr><td>1</td><td>2</td></tr></table>"
        "<blockquote><p>quote &lt;script&gt;</p></blockquote>"
        "<p><a href='https://example.org/x y'>link</a> <img alt='cat'></p><script>bad()</script>")
    assert "##### Plan" in out
    assert "1. first\n\n   ````sh\n   ls ```\n   ````" in out
    assert "2. second" in out and "   - nested" in out
    assert "| a | b\\|c |\n|---|---|\n| 1 | 2 |" in out
    assert "> quote \\<script>" in out
    assert "[link](https://example.org/x%20y)" in out and "[image: cat]" in out
    assert "bad()" not in out
    assert html_to_markdown("") == "" and html_to_markdown(None) == ""  # type: ignore[arg-type]


def test_forced_on_a_foreign_json_file(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_bytes(b'[{"id": "x", "mapping": {}}]')
    with open_export(path) as export:
        assert not imp.detect(export)
        with pytest.raises(ExportError, match="not a My Activity log"):
            list(imp.read(export))


def test_html_rows_with_crlf_and_lone_html_file(tmp_path):
    doc = html_doc().replace("\n", "\r\n").replace("<br>", "<br>\r\n")
    rows = list(parse_html_rows(doc))
    assert len(rows) == 4
    assert [doc[r.start:r.end] for r in rows] == [
        r.replace("<br>", "<br>\r\n") for r in HTML_ROWS]
    assert rows[0].time == ts("2026-03-05T10:05:00Z")
    path = tmp_path / "Aplikace Gemini" / "MojeAktivita.html"
    path.parent.mkdir()
    path.write_bytes(doc.encode())
    with open_export(path) as export:
        assert imp.detect(export) and imp.is_full(export)
    snaps = snapshots(read_all(path))
    assert list(snaps) == [ID_A, ID_B, "day-2026-03-04"]
    page = snaps[ID_A][1]["conversation.html"]
    assert page == HTML_HEAD + "".join(
        doc[r.start:r.end] + "\n" for r in rows[:3]).encode() + HTML_TAIL
