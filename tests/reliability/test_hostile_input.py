"""Hostile input against the real collectors and importers, through the real runner into a real
vault, then read back through the mount's tree model (:class:`aifs.tree.Tree`, no FUSE).

Every test asserts the same three things: no traceback or "unexpected" error (a collector bug
is reported as ``unexpected <Exception>`` by the runner), every good record kept (its text is
in the stored raw bytes and in the rendered ``conversation.md``), and every name the mount
shows is safe (no ``/``, no NUL, not ``.``/``..``, at most 255 bytes, UTF-8, no controls).

Hand-written cases: torn and overlong lines (a 20 MB line, and a file that is one 20 MB line
without a newline), invalid UTF-8, NUL bytes, 100,000 levels of nesting, hostile titles and
file names, symlink loops and symlinks out of the source tree, files that vanish or change
kind between listing and reading, a file that keeps growing during the collect, and data
exports with all of that inside. Generated cases (hypothesis): transcripts of random good
records, junk lines and titles; exports of random good and junk entries; exports with bytes
overwritten or cut; elements nested too deeply for the JSON parser.

A source swapped for a FIFO after listing is refused ("not a regular file"), never opened
blocking (vault.open_regular in the collectors' and the writer's read paths).
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifs.importer import choose_importer, import_export
from aifs.registry import load_importers
from collectors.export_source import ExportError, open_export
from collectors.jsonstream import TOO_DEEP, iter_array
from tests.conftest import TEST_PASSPHRASE
from vault.keys import KdfParams
from vault.vault import Vault

from .sources import (CLAUDE, CODEX, COPILOT, GEMINI, KINDS, ORG, chatgpt_conversation,
                      claude_ai_conversation, run_collect, sid, unexpected, unsafe_names,
                      walk_mount, write_transcript)

DEEP = 100_000
BIG = 20 << 20  # a 20 MB line
EXPORT_BIG = 6 << 20  # a 6 MB message (above the 4 MiB a zip member is spilled at)

HOSTILE_LINES = {
    "invalid UTF-8": b'{"type":"user","message":{"role":"user","content":"bad \xff\xfe\xc3("}}\n',
    "NUL bytes": b'\x00\x00{"a":\x001}\x00\n\x00\n',
    "nested arrays": b"[" * DEEP + b"]" * DEEP + b"\n",
    "nested objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"\n",
    "nested almost too deep": b'{"a":' * 900 + b"1" + b"}" * 900 + b"\n",
    "lone surrogate": b'{"type":"user","message":{"role":"user","content":"\\ud800 x"}}\n',
    "not an object": b'"just a string"\n[1,2,3]\n17\nnull\n',
    "torn middle": b'{"type":"user","message":{"role":"us\r\n',
    "20 MB line": b'{"x":"' + b"y" * BIG + b'"}\n',
    "binary": bytes(range(256)).replace(b"\n", b"") + b"\n",
    "glued": b'{"a":1}{"b":2}\n',
    "CR only": b"\r\r\r\n",
}


def _mount_view(vault):
    shown = walk_mount(vault)
    bad = unsafe_names(shown.names)
    assert not bad, bad
    return shown


def _version_files(shown, provider: str) -> dict[str, dict[str, bytes]]:
    """conversation directory name -> {file path inside a version: bytes} for ``provider``
    (versions are walked oldest first, so a path holds the newest version's bytes)."""
    out: dict[str, dict[str, bytes]] = {}
    prefix = f"/{ORG}/{provider}/"
    for path, data in shown.files.items():
        if not path.startswith(prefix):
            continue
        conv, version, rest = path[len(prefix):].split("/", 2)
        out.setdefault(conv, {})[rest] = data
    return out


def _one(convs: dict, ident: str) -> dict[str, bytes]:
    found = [files for name, files in convs.items() if name.endswith(ident)]
    assert len(found) == 1, (ident, list(convs))
    return found[0]


# -- damaged transcripts ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(KINDS))
def test_hostile_lines_keep_every_good_record(name, new_vault, tmp_path):
    """Good records between every kind of bad line (and a torn last line) are all kept and
    rendered; a file that is a single 20 MB line without a newline is kept byte for byte."""
    vault, _ = new_vault
    kind = KINDS[name]
    home = tmp_path / "home"
    texts = [f"good{n}x{name.replace('-', '')}" for n in range(len(HOSTILE_LINES) + 1)]
    path = write_transcript(kind, home, sid(1), texts, title="Hostile lines",
                            extra=dict(enumerate(HOSTILE_LINES.values())))
    with open(path, "ab") as f:
        f.write(kind.message(sid(1), "torn", 99)[:40])  # the writer is mid-append
    lone = kind.path(home, sid(2))
    lone.write_bytes(b'{"x":"' + b"z" * BIG)  # one 20 MB line, no newline, never closed
    old = time.time() - 3600  # not "being written" any more (copilot-chat waits for those)
    os.utime(lone, (old, old))
    before = {p: p.read_bytes() for p in (path, lone)}

    summary = run_collect(vault, home, [name])
    assert not unexpected(summary) and summary.failed == 0, summary.errors
    assert summary.new == 2, summary.as_dict()

    convs = _version_files(_mount_view(vault), name)
    files = _one(convs, ident_suffix(name, sid(1)))
    assert files[path.name] == before[path]  # the raw file, byte for byte
    md = files["conversation.md"].decode("utf-8")
    missing = [t for t in texts if t not in md]
    assert not missing, (missing, md[:2000])
    assert _one(convs, ident_suffix(name, sid(2)))[lone.name] == before[lone]


def ident_suffix(name: str, ident: str) -> str:
    """How the conversation directory of transcript ``ident`` ends (its native id)."""
    if name == "gemini-cli":
        return f"session-2026-01-01T00-00-{ident[-8:]}"
    return ident


@pytest.mark.parametrize("name", ["copilot-chat", "gemini-cli"])
def test_hostile_whole_file_json_sessions(name, new_vault, tmp_path):
    """The formats that are one JSON document per session (Copilot Chat's flat ``.json``,
    Gemini CLI's legacy ``.json``): every kind of damage is one stored item with a warning
    (only the valid ones have none: a 20 MB message, and for Gemini CLI a bare message list)."""
    vault, _ = new_vault
    home = tmp_path / "home"
    bodies = {
        "deep": b'{"requests": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        "utf8": b'{"sessionId": "\xff", "customTitle": "bad \xff\xfe", "requests": []}',
        "nul": b"\x00" * 100 + b'{"requests": []}',
        "big": b'{"customTitle": "' + b"T" * 5000 + b'", "requests": [{"message": {"text": "'
               + b"t" * BIG + b'"}}]}',
        "torn": b'{"requests": [{"message": {"text": "cut',
        "array": b"[1, 2, 3]",
        "empty": b"",
    }
    old = time.time() - 3600  # not "being written" any more
    for n, body in enumerate(bodies.values()):
        if name == "copilot-chat":
            path = _copilot_flat(home, sid(n))
        else:
            path = GEMINI.path(home, sid(n)).with_suffix(".json")
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        os.utime(path, (old, old))
    summary = run_collect(vault, home, [name])
    assert not unexpected(summary) and summary.failed == 0, summary.errors
    assert summary.new == len(bodies)
    shown = _mount_view(vault)
    raw = {p.rsplit("/", 1)[1]: d for p, d in shown.files.items()
           if p.endswith(".json") and not p.endswith("/meta.json")}
    assert sorted(raw.values()) == sorted(bodies.values())
    warned = {json.loads(d)["native_id"]: json.loads(d)["warnings"]
              for p, d in shown.files.items() if p.endswith("/meta.json")}
    fine = ["big"] + (["array"] if name == "gemini-cli" else [])  # (an old Gemini format)
    assert sorted(k for k, w in warned.items() if not w) == sorted(
        ident_suffix(name, sid(list(bodies).index(f))) for f in fine), warned


def _copilot_flat(home: Path, ident: str) -> Path:
    folder = COPILOT.path(home, ident).parent
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{ident}.json"


# -- hostile titles and file names -------------------------------------------------------------

HOSTILE_TITLES = [
    "..", ".", "/", "a/b/../../etc/passwd", "nul\x00inside\x00", "L" * 1000, "€" * 333 + "a",
    "/../\x00\x01" + "ü" * 497 + "/..", "ctrl\x01\x1b[31mred\x7f\x85\x9b", "invoice\u202egnp.exe",
    ".bashrc", "   \t  ", "", "line\nbreak\u2028sep", "\ud83c lone surrogate", "🦜" * 300,
]

HOSTILE_IDS = ["..", ".", "a\nb", "x" * 240, "caf\udce9", "-rf", " lead", "\u202eevil", "a\x01b"]


@pytest.mark.parametrize("name", list(KINDS))
def test_hostile_titles_and_ids_give_safe_names(name, new_vault, tmp_path):
    vault, _ = new_vault
    kind = KINDS[name]
    home = tmp_path / "home"
    expected = {}
    for n, title in enumerate(HOSTILE_TITLES):
        text = f"title{n}x"
        write_transcript(kind, home, sid(100 + n), [text, text + "reply"], title=title)
        expected[ident_suffix(name, sid(100 + n))] = text
    made = 0
    for n, ident in enumerate(HOSTILE_IDS):
        try:
            write_transcript(kind, home, ident, [f"ident{n}x"], title=f"id {n}")
            made += 1
        except OSError:  # a name this filesystem refuses
            continue
    summary = run_collect(vault, home, [name])
    assert not unexpected(summary) and summary.failed == 0, summary.errors
    assert summary.new == len(HOSTILE_TITLES) + made, summary.as_dict()

    shown = _mount_view(vault)
    convs = _version_files(shown, name)
    assert len(convs) == len(HOSTILE_TITLES) + made  # nothing merged, nothing lost
    for suffix, text in expected.items():
        md = _one(convs, suffix)["conversation.md"].decode("utf-8")
        assert text in md
    names = [n for p, n in shown.names if p.count("/") == 3]
    assert len(set(names)) == len(names)
    assert not any(n.startswith(b".") for n in names)
    long_ones = [n for n in names if b"LLLL" in n or "€€".encode() in n or "🦜".encode() in n]
    assert len(long_ones) == 3 and all(200 < len(n) <= 255 for n in long_ones)


# -- symlinks ---------------------------------------------------------------------------------


def test_symlink_loops_and_links_out_of_the_tree(new_vault, tmp_path):
    """Directory symlinks inside a source tree are not followed (no loop, nothing from outside);
    file symlinks to devices, FIFOs, directories, themselves or nowhere are not read."""
    vault, _ = new_vault
    home = tmp_path / "home"
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = "OUTSIDEzq81"
    write_transcript(CLAUDE, outside, sid(9), [secret])  # a whole .claude tree elsewhere
    (outside / "rollout-2025-01-01T00-00-00-" f"{sid(9)}.jsonl").write_bytes(
        CODEX.head(sid(9))[0] + CODEX.message(sid(9), secret, 0))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    texts = {}
    for name, kind in KINDS.items():
        texts[name] = f"kept{name.replace('-', '')}"
        path = write_transcript(kind, home, sid(1), [texts[name]], title="Among links")
        folder = path.parent
        (folder / "loop").symlink_to(folder)                     # a loop
        (folder / "up").symlink_to(folder.parent)                # a loop one level up
        (folder / "out").symlink_to(outside)                     # out of the tree
        (folder.parent / "outproject").symlink_to(outside / ".claude" / "projects"
                                                 / "-home-u-proj")
        for n, target in enumerate((Path("/dev/zero"), fifo, outside, tmp_path / "nowhere")):
            kind.path(home, sid(50 + n)).symlink_to(target)
        a, b = kind.path(home, sid(60)), kind.path(home, sid(61))
        a.symlink_to(b)
        b.symlink_to(a)
    # the session folder of a Claude Code session: a loop inside and a link out
    side = CLAUDE.path(home, sid(1)).with_suffix("")
    (side / "tool-results").mkdir(parents=True)
    (side / "tool-results" / "again").symlink_to(side)
    (side / "tool-results" / "out").symlink_to(outside)
    (side / "tool-results" / "ok.txt").write_text("spilled output")

    done: list = []
    worker = threading.Thread(target=lambda: done.append(run_collect(vault, home, list(KINDS))),
                              daemon=True)
    worker.start()
    worker.join(60)
    assert done, "collect did not finish within 60 s (a loop, or a FIFO being read?)"
    summary = done[0]
    assert not unexpected(summary), summary.errors
    assert summary.failed == 0, summary.errors
    shown = _mount_view(vault)
    for name in KINDS:
        convs = _version_files(shown, name)
        assert len(convs) == 1, (name, list(convs))
        md = _one(convs, ident_suffix(name, sid(1)))["conversation.md"].decode()
        assert texts[name] in md
    everything = b"".join(shown.files.values())
    assert secret.encode() not in everything
    claude = _one(_version_files(shown, "claude-code"), sid(1))
    assert claude["tool-results/ok.txt"] == b"spilled output"
    assert not any("again" in p or "/out/" in p for p in claude)


# -- files that vanish or change while collected -------------------------------------------


class _Faulty:
    """A collector wrapper that damages the source of chosen items between the runner's steps:
    ``after_discover`` runs once listing is done, ``after_read(item)`` after ``read`` returned
    (before the vault opens the files)."""

    def __init__(self, inner, after_discover=None, after_read=None) -> None:
        self._inner = inner
        self.name, self.provider = inner.name, inner.provider
        self._after_discover, self._after_read = after_discover, after_read

    def locate(self, ctx):
        return self._inner.locate(ctx)

    def discover(self, ctx):
        items = list(self._inner.discover(ctx))
        if self._after_discover:
            self._after_discover(items)
        return iter(items)

    def read(self, item, ctx):
        snap = self._inner.read(item, ctx)
        if self._after_read:
            self._after_read(item)
        return snap

    def render_markdown(self, files, meta):
        return self._inner.render_markdown(files, meta)


@pytest.mark.parametrize("name", list(KINDS))
def test_sources_that_vanish_or_change_kind_between_listing_and_reading(name, new_vault,
                                                                         tmp_path):
    vault, _ = new_vault
    kind = KINDS[name]
    home = tmp_path / "home"
    paths = {n: write_transcript(kind, home, sid(n), [f"text{n}x"], title=f"T{n}")
             for n in range(1, 7)}

    def damage(items):
        paths[2].unlink()                       # gone
        paths[3].unlink()
        paths[3].mkdir()                        # now a directory
        paths[4].unlink()
        paths[4].symlink_to(paths[4])           # now a symlink loop
        paths[5].write_bytes(b"")               # emptied

    def gone_after_read(item):
        if item.key.endswith(ident_suffix(name, sid(6))):
            paths[6].unlink()                   # read, then gone before the vault opens it

    summary = run_collect(vault, home, [name], wrap=lambda n, c: _Faulty(c, damage,
                                                                         gone_after_read))
    assert not unexpected(summary), summary.errors
    reasons: dict[int, str] = {}
    for e in summary.errors:  # each names the file (or, when every file is gone, the id)
        [n] = [n for n in paths if str(paths[n]) == e["path"] or sid(n) in e["path"]]
        reasons[n] = e["reason"]
    if name == "copilot-chat":  # an empty log is "being written" for a while: kept for later
        assert reasons.pop(5) == "being written (not valid JSON yet)"
    assert sorted(reasons) == [2, 3, 4, 6], summary.errors
    assert "vanished" in reasons[2]
    assert reasons[3] == "not a regular file"
    assert "symbolic links" in reasons[4]
    assert reasons[6] == "No such file or directory"
    shown = _mount_view(vault)
    convs = _version_files(shown, name)
    assert "text1x" in _one(convs, ident_suffix(name, sid(1)))["conversation.md"].decode()
    # the next run, with the sources settled, completes
    again = run_collect(vault, home, [name])
    assert not unexpected(again), again.errors


def test_a_source_swapped_for_a_fifo_does_not_hang_the_collect(new_vault, tmp_path):
    vault, _ = new_vault
    home = tmp_path / "home"
    path = write_transcript(CLAUDE, home, sid(1), ["x"])
    write_transcript(CLAUDE, home, sid(2), ["kept"])

    def swap(items):
        path.unlink()
        os.mkfifo(path)

    done: list = []
    worker = threading.Thread(target=lambda: done.append(run_collect(
        vault, home, ["claude-code"], wrap=lambda n, c: _Faulty(c, swap))), daemon=True)
    worker.start()
    worker.join(1.5)
    hung = not done
    while worker.is_alive():  # free the blocked reader: a writer opens, closes, gives EOF
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        worker.join(0.2)
    assert not hung, "collect blocked opening a FIFO"


# -- a file that keeps growing -----------------------------------------------------------------


def test_a_transcript_growing_during_collect(new_vault, tmp_path):
    """A thread appends to a transcript while the real runner collects it: the run completes,
    what was there before is stored, the stored file is a prefix of the final one; the next
    run stores the rest."""
    vault, _ = new_vault
    home = tmp_path / "home"
    texts = [f"before{n}x" for n in range(2000)]
    path = write_transcript(CLAUDE, home, sid(1), texts, title="Growing")
    others = [write_transcript(CLAUDE, home, sid(n), [f"other{n}x"]) for n in range(2, 40)]
    stop = threading.Event()
    appended = []

    def grow():
        n = 0
        with open(path, "ab", buffering=0) as f:
            while not stop.is_set():
                line = CLAUDE.message(sid(1), f"during{n}x", 2000 + n)
                f.write(line[: len(line) // 2])  # half a line first: readers see torn lines
                f.write(line[len(line) // 2:])
                appended.append(n)
                n += 1
                time.sleep(0.0002)  # a busy tool, not a busy loop that starves the collect

    worker = threading.Thread(target=grow, daemon=True)
    worker.start()
    try:
        while not appended:
            time.sleep(0.001)
        summary = run_collect(vault, home, ["claude-code"])
    finally:
        stop.set()
        worker.join(10)
    assert not unexpected(summary) and summary.failed == 0, summary.errors
    assert summary.new == len(others) + 1
    final = path.read_bytes()
    assert appended and len(appended) > 10
    first = _one(_version_files(_mount_view(vault), "claude-code"), sid(1))
    stored = first[path.name]
    assert final.startswith(stored) and len(final) > len(stored) >= sum(
        len(CLAUDE.message(sid(1), t, n)) for n, t in enumerate(texts))
    md = first["conversation.md"].decode()
    assert all(t in md for t in texts)

    again = run_collect(vault, home, ["claude-code"])
    assert again.changed == 1 and again.failed == 0, again.as_dict()
    latest = _one(_version_files(_mount_view(vault), "claude-code"), sid(1))
    assert latest[path.name] == final
    assert f"during{len(appended) - 1}x" in latest["conversation.md"].decode()


# -- generated transcripts ---------------------------------------------------------------------

_junk = st.one_of(
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b"")),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                 max_leaves=8).map(lambda v: json.dumps(v).encode()),
    st.integers(1, 3000).map(lambda d: b"[" * d + b"]" * d),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
_record = st.one_of(st.tuples(st.just("good"), st.integers(0, 2 ** 32)),
                    st.tuples(st.just("junk"), _junk),
                    st.tuples(st.just("torn"), st.integers(1, 60)))
_title = st.text(max_size=300) | st.binary(max_size=80).map(
    lambda b: b.decode("utf-8", "surrogateescape"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(KINDS)), records=st.lists(_record, max_size=12),
       title=_title, trailer=st.sampled_from([b"", b"\n", b"{\"torn", b"\x00", b"\xff"]))
def test_generated_transcripts(tmp_path_factory, name, records, title, trailer):
    tmp = tmp_path_factory.mktemp("gen")
    vault, _ = Vault.create(tmp / "vault", TEST_PASSPHRASE, KdfParams(1, 1024, 1))
    kind = KINDS[name]
    home = tmp / "home"
    ident = sid(7)
    path = kind.path(home, ident)
    path.parent.mkdir(parents=True)
    parts, good = list(kind.head(ident)), []
    for n, (what, value) in enumerate(records):
        if what == "good":
            text = f"gen{value}x{n}"
            good.append(text)
            parts.append(kind.message(ident, text, len(good) - 1))
        elif what == "torn":
            parts.append(kind.message(ident, "torn", 0)[:value] + b"\n")
        else:
            parts.append(value + b"\n")
    parts.append(kind.title(ident, title))
    parts.append(trailer)
    path.write_bytes(b"".join(parts))
    source = path.read_bytes()

    summary = run_collect(vault, home, [name])
    assert not unexpected(summary), summary.errors
    assert summary.failed == 0 and summary.new == 1, summary.as_dict()
    files = _one(_version_files(_mount_view(vault), name), ident_suffix(name, ident))
    assert files[path.name] == source
    md = files["conversation.md"].decode("utf-8")
    missing = [t for t in good if t not in md]
    assert not missing, (missing, md[:3000])


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\:, ab\n\u00e9'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=10)


@settings(max_examples=60, deadline=None)
@given(inner=_json_values, after=_json_values, window=st.integers(1, 64),
       opener=st.sampled_from(["[", '{"k":']))
def test_an_element_too_deep_to_parse_is_skipped_exactly(inner, after, window, opener):
    """collectors.jsonstream: an element nested past the parser's limit comes back whole, as
    TOO_DEEP, whatever strings with brackets, quotes and escapes it holds, at any window size;
    the next element is read as usual."""
    closer = "]" if opener == "[" else "}"
    depth = sys.getrecursionlimit() + 500  # (hypothesis raises the limit while it runs)
    deep = (opener * depth + json.dumps(inner) + closer * depth).encode()
    tail = json.dumps(after).encode()
    doc = b"[" + deep + b" ,\n" + tail + b"]"
    got = list(iter_array(io.BytesIO(doc), read_bytes=window))
    assert got == [(deep, TOO_DEEP), (tail, after)]


# -- data exports ---------------------------------------------------------------------------

EXPORT_TITLES = ["..", ".", "/", "a/../../b", "nul\x00x", "L" * 1000, "€" * 400, "", "\udcff raw",
                 "ctrl\x1b[2J\x07", "\u202eevil"]
EXPORT_IDS = ["..", "/", "../../x", "a/b", "n\x00ul", "X" * 1000, ".", "\n"]


def _hostile_export(folder: Path, provider: str) -> list[str]:
    """An export folder whose conversations.json holds hostile titles and ids, a 100,000-deep
    entry, an entry with invalid UTF-8, a 20 MB message and a NUL-laden one between good
    ones. Returns the good texts (each must be in some stored conversation.json)."""
    conv = chatgpt_conversation if provider == "chatgpt" else claude_ai_conversation
    entries: list[bytes] = []
    good: list[str] = []

    def add(cid: str, title: str, texts: list[str]) -> None:
        good.extend(t for t in texts if len(t) < 100)
        entries.append(json.dumps(conv(cid, title, texts)).encode("utf-8", "surrogatepass"))

    for n, title in enumerate(EXPORT_TITLES):
        add(f"t{n}", title, [f"{provider}title{n}x", f"{provider}reply{n}x"])
    entries.append(b'{"a":' * DEEP + b"1" + b"}" * DEEP)
    entries.append(b"[" * DEEP + b"]" * DEEP)
    for n, ident in enumerate(EXPORT_IDS):
        add(ident, f"id {n}", [f"{provider}ident{n}x"])
    entries.append(b'{"title": "bad \xff\xfe", "uuid": "\xc3(", "mapping": {}}')
    add("big", "big", [f"{provider}big0x", "w" * EXPORT_BIG])
    add("nul", "nul", [f"{provider}nul0x", "\x00" * 1000])
    folder.mkdir()
    (folder / "conversations.json").write_bytes(b"[" + b",\n".join(entries) + b"]")
    if provider == "claude.ai":
        (folder / "users.json").write_text('[{"uuid": "u1", "email_address": "me@example.com"}]')
    return good


@pytest.mark.parametrize("provider", ["chatgpt", "claude.ai"])
@pytest.mark.parametrize("packed", [False, True], ids=["folder", "zip"])
def test_hostile_data_exports(provider, packed, new_vault, tmp_path):
    vault, _ = new_vault
    folder = tmp_path / "export"
    good = _hostile_export(folder, provider)
    path = folder
    if packed:
        path = tmp_path / "export.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(folder.iterdir()):
                zf.write(f, f.name)
            zf.writestr("../../escape.json", b"{}")  # unsafe member names are left out
            zf.writestr("/abs.json", b"{}")
    importers, _ = load_importers()
    with open_export(path) as export:
        importer = choose_importer(export, importers)
        assert importer.provider == provider
        with vault.writer() as writer:
            summary = import_export(writer, export, importer)
    assert summary.complete and summary.failed == 0, summary.as_dict()
    assert not unexpected(summary), summary.errors
    reasons = sorted(s["reason"] for s in summary.skips)
    expected = len(EXPORT_TITLES) + len(EXPORT_IDS) + 2  # + the 20 MB one and the NUL one
    if provider == "chatgpt":  # the entry with invalid UTF-8 has a mapping: it is kept
        expected += 1
        assert reasons == ["nested too deeply to read"] * 2, summary.skips
    else:  # a blank uuid ("\n") and the entry without chat_messages are skipped
        expected -= 1
        assert reasons == ["chat_messages is missing or not a list"] + [
            "nested too deeply to read"] * 2 + ["no uuid"], summary.skips
    assert summary.new == expected, summary.as_dict()

    shown = _mount_view(vault)
    stored = b"".join(data for p, data in shown.files.items()
                      if p.endswith("/conversation.json"))
    missing = [t for t in good if t.encode() not in stored]
    assert missing == ([] if provider == "chatgpt" else [f"{provider}ident7x"]), missing
    copy = b"".join(data for p, data in shown.files.items() if p.endswith("/conversations.json")
                    or p.endswith("/export.zip"))  # the export itself, stored whole
    assert not packed and all(t.encode() in copy for t in good) or packed and len(copy) == (
        path.stat().st_size)
    assert b"w" * EXPORT_BIG in stored
    names = [n for p, n in shown.names if p.count("/") == 3]
    assert len(set(names)) == len(names) == summary.new + 1  # + the export itself


_entry = st.one_of(
    st.tuples(st.just("good"), st.text(max_size=120), st.text(max_size=40)),
    st.tuples(st.just("junk"), _json_values.map(lambda v: json.dumps(v).encode())),
    st.tuples(st.just("deep"), st.integers(2000, 20_000)),
)


def _export_folder(tmp: Path, provider: str, entries) -> tuple[Path, list[tuple[str, str]]]:
    """An export folder for ``provider`` from generated entries; returns it and the good
    conversations' ``(id, text)``."""
    conv = chatgpt_conversation if provider == "chatgpt" else claude_ai_conversation
    folder = tmp / "export"
    folder.mkdir()
    parts, good = [], []
    for n, entry in enumerate(entries):
        if entry[0] == "good":
            cid, text = f"{n}-{entry[2]}", f"gen{n}x"
            good.append((cid, text))
            parts.append(json.dumps(conv(cid, entry[1], [text, entry[1]]))
                         .encode("utf-8", "surrogatepass"))
        elif entry[0] == "junk":
            parts.append(entry[1])
        else:
            parts.append(b'{"a":' * entry[1] + b"1" + b"}" * entry[1])
    (folder / "conversations.json").write_bytes(b"[" + b", ".join(parts) + b"]")
    if provider == "claude.ai":
        (folder / "users.json").write_text('[{"uuid": "u1", "email_address": "me@example.com"}]')
    return folder, good


def _import(vault, path: Path, provider: str):
    importers, _ = load_importers()
    with open_export(path) as export:
        importer = [i for i in importers.values() if i.provider == provider][0]
        with vault.writer() as writer:
            return import_export(writer, export, importer)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(provider=st.sampled_from(["chatgpt", "claude.ai"]), entries=st.lists(_entry, max_size=8))
def test_generated_exports_keep_every_good_conversation(tmp_path_factory, provider, entries):
    tmp = tmp_path_factory.mktemp("genexport")
    vault, _ = Vault.create(tmp / "vault", TEST_PASSPHRASE, KdfParams(1, 1024, 1))
    folder, good = _export_folder(tmp, provider, entries)
    summary = _import(vault, folder, provider)
    assert summary.complete and summary.failed == 0 and not unexpected(summary), summary
    shown = _mount_view(vault)
    stored = {p: d for p, d in shown.files.items() if p.endswith("/conversation.json")}
    for cid, text in good:
        if provider == "claude.ai" and not cid.strip():
            continue  # a blank uuid is skipped (the export itself keeps it)
        assert any(text.encode() in d for d in stored.values()), (cid, text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(provider=st.sampled_from(["chatgpt", "claude.ai"]),
       cuts=st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=4)), min_size=1,
                     max_size=4),
       truncate=st.one_of(st.none(), st.floats(0, 1)))
def test_damaged_exports_stop_cleanly(tmp_path_factory, provider, cuts, truncate):
    """Bytes overwritten anywhere in, or a cut of, a valid export: the import completes or
    stops with ExportError (what was read before is kept); never another exception."""
    tmp = tmp_path_factory.mktemp("damaged")
    vault, _ = Vault.create(tmp / "vault", TEST_PASSPHRASE, KdfParams(1, 1024, 1))
    folder, _good = _export_folder(tmp, provider, [("good", f"t{n}", f"c{n}") for n in range(4)])
    target = folder / "conversations.json"
    data = bytearray(target.read_bytes())
    for where, junk in cuts:
        at = int(where * (len(data) - 1))
        data[at:at + len(junk)] = junk
    if truncate is not None:
        del data[int(truncate * len(data)):]
    target.write_bytes(bytes(data))
    try:
        summary = _import(vault, folder, provider)
    except ExportError as e:
        summary = getattr(e, "summary", None)
        assert e.reason and "Traceback" not in e.reason
    if summary is not None:
        assert not unexpected(summary), summary.errors
    _mount_view(vault)  # whatever was stored has safe names


def test_chatgpt_conversations_with_unusable_ids_stay_apart(new_vault, tmp_path):
    """Ids with ``/`` or control characters are not used as names; the id derived instead must
    still tell apart two such conversations that share a title and a time (found by
    hypothesis: the second was dropped as a duplicate)."""
    vault, _ = new_vault
    folder = tmp_path / "export"
    folder.mkdir()
    convs = [chatgpt_conversation(cid, "Same", [f"text{n}x"])
             for n, cid in enumerate(["a/b", "c/d", "e\x1bf", "e\x1bg", "x" * 300])]
    (folder / "conversations.json").write_text(json.dumps(convs))
    summary = _import(vault, folder, "chatgpt")
    assert summary.new == 5 and summary.skipped == 0, summary.as_dict()
    again = _import(vault, folder, "chatgpt")  # and the derived ids are stable
    assert again.unchanged == 5 and again.new == 0, again.as_dict()
