import hashlib
import json
import stat

import pytest
from .aifs_fakes import FALAFEL_ID, T0, FakeReader, render_markdown, sample, version_name

from aifs import tree as tree_mod
from aifs.tree import (
    ROOT_INO,
    IsADirectory,
    NodeKind,
    NotADirectory,
    NotASymlink,
    NotFound,
    Tree,
    VersionTooLarge,
    split_ino,
    version_ino,
)

FALAFEL_DIR = f"Fix_dry_falafel-{FALAFEL_ID}".encode()


def mk(reader=None, **kw):
    if reader is None:
        reader, ids = sample()
    else:
        ids = {}
    t = Tree(reader, render_markdown, clock=lambda: 1_000_000_000_000, **kw)
    return t, reader, ids


def walk(t, path: str):
    ino = ROOT_INO
    for part in path.strip("/").split("/"):
        if part:
            ino = t.lookup(ino, part.encode()).ino
    return ino


def names(t, ino):
    return [n for n, _ in t.readdir(ino)]


def everything(t, ino=ROOT_INO, prefix=""):
    """{path: inode} of the whole tree (does not follow `latest`)."""
    out = {}
    for name, child in t.readdir(ino):
        path = prefix + "/" + name.decode()
        out[path] = child
        if t.node(child).kind.is_dir:
            out.update(everything(t, child, path))
    return out


# -- inode layout ---------------------------------------------------------------------------------


def test_inode_layout():
    assert ROOT_INO == 1 == tree_mod.make_ino(tree_mod.K_ROOT, 1)
    assert split_ino(1) == (0, 1)
    ino = version_ino(5, 3)
    assert ino == (5 << 56) | (5 << 20) | 3
    assert split_ino(ino) == (5, (5 << 20) | 3)
    assert version_ino(2**36 - 1, 2**20 - 1) < 2**63  # fits off_t for readdir offsets
    assert tree_mod.make_ino(tree_mod.K_ORG, 7) == (1 << 56) | 7
    for bad in (0, 2, (9 << 56) | 1, 1 << 56, (5 << 56) | 3):
        with pytest.raises(NotFound):
            split_ino(bad)
    with pytest.raises(VersionTooLarge):
        version_ino(2**36)
    with pytest.raises(VersionTooLarge):
        tree_mod.make_ino(tree_mod.K_CONVERSATION, 2**56)


def test_inodes_are_derived_from_serials():
    t, r, ids = mk()
    assert walk(t, "laptop") == (1 << 56) | ids["laptop"]
    assert walk(t, "laptop/claude-code") == (2 << 56) | ids["claude-code"]
    conv = walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}")
    assert conv == (3 << 56) | ids["falafel"]
    assert walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}/latest") == (4 << 56) | ids["falafel"]
    v1 = walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{version_name(T0)}")
    assert v1 == version_ino(ids["v1"], 0)


# -- the tree -------------------------------------------------------------------------------------


def test_listing_and_lookup():
    t, r, ids = mk()
    assert names(t, ROOT_INO) == [b"laptop"]
    assert names(t, walk(t, "laptop")) == [b"claude-code", b"codex"]
    assert names(t, walk(t, "laptop/claude-code")) == [FALAFEL_DIR, b"Hummus_tahini_ratio-c0ffee"]
    assert names(t, walk(t, "laptop/codex")) == [b"Untitled-rollout-1"]
    conv = walk(t, "laptop/claude-code/" + FALAFEL_DIR.decode())
    v1, v2 = version_name(T0), version_name(T0 + 38_107)
    assert names(t, conv) == [b"latest", v1.encode(), v2.encode()]
    vdir = t.lookup(conv, v1.encode()).ino
    assert names(t, vdir) == [f"{FALAFEL_ID}.jsonl".encode(), b"conversation.md", b"meta.json",
                              b"subagents"]
    sub = t.lookup(vdir, b"subagents")
    assert sub.kind is NodeKind.SUBDIR
    assert names(t, sub.ino) == [b"agent-1.jsonl", b"agent-1.meta.json"]
    f = t.lookup(sub.ino, b"agent-1.jsonl")
    assert f.kind is NodeKind.RAW
    assert t.read(f.ino, 0, 1000) == b'{"agent":1}\n'


def test_dot_and_dotdot():
    t, r, ids = mk()
    conv = walk(t, "laptop/claude-code/" + FALAFEL_DIR.decode())
    vdir = t.lookup(conv, version_name(T0).encode()).ino
    sub = t.lookup(vdir, b"subagents").ino
    assert t.lookup(sub, b"..").ino == vdir
    assert t.lookup(vdir, b"..").ino == conv
    assert t.lookup(conv, b"..").ino == walk(t, "laptop/claude-code")
    assert t.lookup(walk(t, "laptop/claude-code"), b"..").ino == walk(t, "laptop")
    assert t.lookup(walk(t, "laptop"), b"..").ino == ROOT_INO
    assert t.lookup(ROOT_INO, b"..").ino == ROOT_INO
    assert t.lookup(vdir, b".").ino == vdir
    # `..` of a conversation works even from a fresh tree (no cached provider listing)
    t2, _, _ = mk(r)
    assert t2.lookup(conv, b"..").ino == walk(t, "laptop/claude-code")


def test_raw_files_are_byte_identical():
    t, r, ids = mk()
    v = r.version(ids["v2"])
    conv = walk(t, "laptop/claude-code/" + FALAFEL_DIR.decode())
    vdir = t.lookup(conv, v.name.encode()).ino
    for fe in v.files:
        ino = vdir
        for part in fe.name.split("/"):
            ino = t.lookup(ino, part.encode()).ino
        whole = t.read(ino, 0, 1 << 20)
        assert hashlib.sha256(whole).digest() == fe.sha256
        assert t.getattr(ino).size == fe.size == len(whole)
        # every (offset, size) pair, including ranges crossing chunk boundaries
        for off in range(0, fe.size + 3, 7):
            for size in (0, 1, 5, 16, 17, 40):
                assert t.read(ino, off, size) == whole[off:off + size]


def test_latest_symlink():
    t, r, ids = mk()
    conv = walk(t, "laptop/claude-code/" + FALAFEL_DIR.decode())
    latest = t.lookup(conv, b"latest")
    assert latest.kind is NodeKind.LATEST
    target = version_name(T0 + 38_107).encode()
    assert t.readlink(latest.ino) == target
    a = t.getattr(latest.ino)
    assert stat.S_ISLNK(a.mode) and a.size == len(target)
    assert t.lookup(conv, target).ino == version_ino(ids["v2"])


def test_attributes():
    t, r, ids = mk()
    conv = walk(t, "laptop/claude-code/" + FALAFEL_DIR.decode())
    vdir = t.lookup(conv, version_name(T0).encode())
    a = t.getattr(vdir.ino)
    assert a.mode == stat.S_IFDIR | 0o500
    assert a.mtime_ns == int(T0 * 1e9)
    assert a.nlink == 3  # ., .. and subagents/
    assert a.immutable and a.fixed_name
    raw = t.getattr(t.lookup(vdir.ino, f"{FALAFEL_ID}.jsonl".encode()).ino)
    assert raw.mode == stat.S_IFREG | 0o400
    assert raw.mtime_ns == 1_795_731_600_123_456_789  # the source file's mtime
    agent = t.getattr(walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{version_name(T0)}"
                              "/subagents/agent-1.jsonl"))
    assert agent.mtime_ns == int(T0 * 1e9)  # no source mtime: capture time
    c = t.getattr(conv)
    assert c.mode == stat.S_IFDIR | 0o500 and c.nlink == 4
    assert c.mtime_ns == int((T0 + 38_107) * 1e9)
    assert not c.immutable and not c.fixed_name
    root = t.getattr(ROOT_INO)
    assert root.mtime_ns == 1_000_000_000_000 and root.nlink == 3
    assert not root.immutable
    t2, _, _ = mk(r, allow_other=True)
    assert t2.getattr(conv).mode == stat.S_IFDIR | 0o555
    assert t2.getattr(raw.ino).mode == stat.S_IFREG | 0o444
    assert t2.getattr(t.lookup(conv, b"latest").ino).mode == stat.S_IFLNK | 0o777


def test_meta_json():
    t, r, ids = mk()
    v = r.version(ids["v1"])
    ino = walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{v.name}/meta.json")
    data = t.read(ino, 0, 1 << 20)
    assert t.getattr(ino).size == len(data)
    assert data.endswith(b"}\n")
    doc = json.loads(data)
    assert doc["native_id"] == FALAFEL_ID and doc["captured_at"] == T0
    assert doc["files"] == [{"name": fe.name, "sha256": fe.sha256.hex(), "size": fe.size}
                            for fe in v.files]
    expected = json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    assert data == expected.encode()


def test_markdown_rendered_lazily_and_cached():
    t, r, ids = mk()
    v = r.version(ids["v1"])
    vdir = walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{v.name}")
    before = r.calls["read"]
    md = t.lookup(vdir, b"conversation.md")
    assert r.calls["read"] == before  # lookup alone does not render
    assert t.attr_is_heavy(md) and t.read_is_heavy(md, 0, 10)
    a = t.attr(md)
    rendered = render_markdown(v, {fe.name: r.read(fe, 0, fe.size) for fe in v.files}).encode()
    assert a.size == len(rendered)
    assert not t.attr_is_heavy(md) and not t.read_is_heavy(md, 0, 10)
    reads = r.calls["read"]
    assert t.read(md.ino, 0, 1 << 20) == rendered
    assert t.read(md.ino, 3, 5) == rendered[3:8]
    assert r.calls["read"] == reads  # served from the cache


def test_markdown_cache_is_bounded_and_sizes_stay():
    t, r, ids = mk(content_cache_bytes=10)
    md = walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{version_name(T0)}/conversation.md")
    node = t.node(md)
    size = t.attr(node).size
    assert size > 10
    assert not t.attr_is_heavy(node)  # size known forever
    assert t.read_is_heavy(node, 0, 10)  # bytes were too big to cache
    assert len(t.read(md, 0, 1 << 20)) == size


def test_renderer_failure_gives_a_placeholder():
    r, ids = sample()

    def broken(version, files):
        raise ValueError("secret title in message")

    t = Tree(r, broken)
    md = walk(t, f"laptop/codex/Untitled-rollout-1/{version_name(T0 + 9)}/conversation.md")
    text = t.read(md, 0, 1 << 20)
    assert b"could not be rendered" in text and b"ValueError" in text
    assert b"secret" not in text


def test_read_is_heavy_counts_chunks():
    t, r, ids = mk(max_inline_chunks=1)  # FakeReader chunks are 16 bytes
    ino = walk(t, "laptop/codex/Untitled-rollout-1/" + version_name(T0 + 9) + "/rollout-1.jsonl")
    n = t.node(ino)
    assert not t.read_is_heavy(n, 0, 16)
    assert not t.read_is_heavy(n, 3, 10)
    assert t.read_is_heavy(n, 8, 16)
    assert t.read_is_heavy(n, 0, 100)
    assert not t.read_is_heavy(n, 96, 100)  # only the last chunk
    assert not t.read_is_heavy(n, 500, 10)  # past the end
    t2, _, _ = mk(r, max_inline_chunks=8)
    assert not t2.read_is_heavy(t2.node(ino), 0, 100)
    t3, _, _ = mk(r)  # by default a read of up to 16 chunks (a 128 KiB read) stays inline
    assert not t3.read_is_heavy(t3.node(ino), 0, 100)


def test_errors():
    t, r, ids = mk()
    vdir = walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{version_name(T0)}")
    f = t.lookup(vdir, f"{FALAFEL_ID}.jsonl".encode()).ino
    with pytest.raises(NotFound):
        t.lookup(vdir, b"nope")
    with pytest.raises(KeyError):  # NotFound is a KeyError too
        t.lookup(ROOT_INO, b"nope")
    with pytest.raises(NotADirectory):
        t.lookup(f, b"x")
    with pytest.raises(NotADirectory):
        t.readdir(f)
    with pytest.raises(IsADirectory):
        t.read(vdir, 0, 10)
    with pytest.raises(NotASymlink):
        t.readlink(vdir)
    for bogus in (version_ino(ids["v1"], 999), version_ino(99_999), (3 << 56) | 99_999,
                  (2 << 56) | 99_999, (1 << 56) | 99_999, (4 << 56) | 99_999,
                  (1 << 56) | ids["claude-code"]):  # a provider serial is no org
        with pytest.raises(NotFound):
            t.getattr(bogus)
    assert t.read(f, 10_000, 10) == b""


def test_readdir_resumes_after_any_inode():
    t, r, ids = mk()
    vdir = walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{version_name(T0)}")
    full = list(t.readdir(vdir))
    inos = [i for _, i in full]
    assert inos == sorted(inos)
    for k, (_, ino) in enumerate(full):
        assert list(t.readdir(vdir, ino)) == full[k + 1:]
    # resumption stays correct when entries are added between two calls
    prov = walk(t, "laptop/claude-code")
    first = list(t.readdir(prov))[:1]
    r.add_version(r.add_conversation(ids["claude-code"], "new", "Newer"), {"a": b"1"}, T0 + 99)
    t.refresh()
    rest = list(t.readdir(prov, first[-1][1]))
    assert [n for n, _ in first + rest] == [FALAFEL_DIR, b"Hummus_tahini_ratio-c0ffee",
                                            b"Newer-new"]


# -- naming conflicts ------------------------------------------------------------------------------


def test_duplicate_conversation_names_are_made_unique():
    r = FakeReader()
    p = r.add_provider(r.add_org("o"), "p")
    a = r.add_conversation(p, "a/b", "Same")
    b = r.add_conversation(p, "a_b", "Same")
    c = r.add_conversation(p, f"a_b~{b}", "Same")  # already holds the name b would get
    for conv in (a, b, c):
        r.add_version(conv, {"f": b"x"}, T0)
    t, _, _ = mk(r)
    listing = dict(t.readdir(walk(t, "o/p")))
    assert listing == {
        b"Same-a_b": (3 << 56) | a,
        f"Same-a_b~{b}".encode(): (3 << 56) | b,
        f"Same-a_b~{b}~{c}".encode(): (3 << 56) | c,
    }


def test_duplicate_org_and_provider_names():
    r = FakeReader()
    o1, o2, o3 = r.add_org("work/home"), r.add_org("work_home"), r.add_org(".hidden")
    p1, p2 = r.add_provider(o1, "x"), r.add_provider(o1, "x")
    t, _, _ = mk(r)
    assert names(t, ROOT_INO) == [b"work_home", f"work_home~{o2}".encode(), b"_hidden"]
    assert names(t, walk(t, "work_home")) == [b"x", f"x~{p2}".encode()]


def test_raw_file_name_conflicts():
    r = FakeReader()
    conv = r.add_conversation(r.add_provider(r.add_org("o"), "p"), "id", "T")
    v = r.add_version(conv, [
        ("conversation.md", b"raw md"),
        ("meta.json", b"raw meta"),
        ("a", b"file a"),
        ("a/b", b"file a/b"),
        ("x\x01", b"ctl 1"),
        ("x\x02", b"ctl 2"),
        ("//weird/./path", b"w"),
        ("../up", b"up"),
    ], T0)
    t, _, _ = mk(r)
    vdir = walk(t, f"o/p/T-id/{v.name}")
    listing = names(t, vdir)
    assert listing == sorted(listing)
    assert set(listing) == {b"conversation.md", b"meta.json", b"conversation.aifs.md",
                            b"meta.aifs.json", b"a", b"a~4", b"x", b"x~6", b"weird", b"__"}
    assert t.read(t.lookup(vdir, b"conversation.md").ino, 0, 100) == b"raw md"
    assert t.read(t.lookup(vdir, b"meta.json").ino, 0, 100) == b"raw meta"
    assert t.lookup(vdir, b"conversation.aifs.md").kind is NodeKind.MARKDOWN
    assert json.loads(t.read(t.lookup(vdir, b"meta.aifs.json").ino, 0, 1 << 16))["files"]
    assert t.read(t.lookup(vdir, b"a").ino, 0, 100) == b"file a"
    assert t.read(walk(t, f"o/p/T-id/{v.name}/a~4/b"), 0, 100) == b"file a/b"
    assert t.read(walk(t, f"o/p/T-id/{v.name}/x~6"), 0, 100) == b"ctl 2"
    assert t.read(walk(t, f"o/p/T-id/{v.name}/weird/path"), 0, 100) == b"w"
    assert t.read(walk(t, f"o/p/T-id/{v.name}/__/up"), 0, 100) == b"up"


def test_hostile_titles_come_out_safe():
    r = FakeReader()
    p = r.add_provider(r.add_org("o"), "p")
    titles = ["../../etc/passwd", "\x00", "a/b/c", ".", "..", "\n\r\t", "x" * 600,
              "🧆" * 200, "evil\u202egnp.exe", "\udcff", "-", "~", "latest"]
    for i, title in enumerate(titles):
        r.add_version(r.add_conversation(p, f"id{i}", title), {"f": b"x"}, T0 + i)
    t, _, _ = mk(r)
    listing = names(t, walk(t, "o/p"))
    assert len(listing) == len(titles) == len(set(listing))
    for name in listing:
        assert 0 < len(name) <= 255
        assert b"/" not in name and b"\x00" not in name and name not in (b".", b"..")
        assert not name.startswith(b".")
        name.decode("utf-8")
        assert t.lookup(walk(t, "o/p"), name)


def test_version_with_too_many_entries(monkeypatch, caplog):
    monkeypatch.setattr(tree_mod, "MAX_ENTRIES", 3)
    r = FakeReader()
    conv = r.add_conversation(r.add_provider(r.add_org("o"), "p"), "id", "T")
    small = r.add_version(conv, {"a": b"1"}, T0)  # 1 raw + 2 generated = 3 entries
    big = r.add_version(conv, {"a": b"1", "b": b"2"}, T0 + 1)
    t, _, _ = mk(r)
    assert names(t, version_ino(small.serial)) == [b"a", b"conversation.md", b"meta.json"]
    with pytest.raises(VersionTooLarge):
        t.lookup(walk(t, "o/p/T-id"), big.name.encode())
    assert "at most 3 fit" in caplog.text


# -- refresh -----------------------------------------------------------------------------------------


def test_refresh_without_commit_is_a_no_op():
    t, r, ids = mk()
    everything(t)
    r.refresh()  # consume the generation bumps of building the sample
    assert t.refresh() == []


def test_new_version_appears_after_refresh():
    t, r, ids = mk()
    before = everything(t)
    r.refresh()
    conv_path = "/laptop/claude-code/" + FALAFEL_DIR.decode()
    conv = before[conv_path]
    new = r.add_version(ids["falafel"], {f"{FALAFEL_ID}.jsonl": b"newest\n"}, T0 + 90_000)
    assert new.name.encode() not in names(t, conv)  # cached until refresh
    changes = t.refresh()
    changed = {c.ino: c.stale_names for c in changes}
    assert changed == {conv: (), (4 << 56) | ids["falafel"]: ()}
    assert names(t, conv)[-1] == new.name.encode()
    assert t.readlink(t.lookup(conv, b"latest").ino) == new.name.encode()
    assert t.getattr(conv).mtime_ns == int((T0 + 90_000) * 1e9)
    after = everything(t)
    for path, ino in before.items():  # inodes stable, nothing vanished
        assert after[path] == ino
    assert set(after) - set(before) == {f"{conv_path}/{new.name}{s}" for s in (
        "", f"/{FALAFEL_ID}.jsonl", "/conversation.md", "/meta.json")}


def test_rename_keeps_inode_and_reports_stale_name():
    t, r, ids = mk()
    prov = walk(t, "laptop/claude-code")
    conv = t.lookup(prov, FALAFEL_DIR).ino
    t.getattr(ROOT_INO)
    r.refresh()
    r.rename(ids["falafel"], "Moist falafel")
    changes = t.refresh()
    assert [(c.ino, c.stale_names) for c in changes] == [(prov, (FALAFEL_DIR,))]
    assert t.getattr(prov).mtime_ns == 1_000_000_000_000  # our fake clock, at refresh
    with pytest.raises(NotFound):
        t.lookup(prov, FALAFEL_DIR)
    assert t.lookup(prov, f"Moist_falafel-{FALAFEL_ID}".encode()).ino == conv


def test_new_org_and_provider_appear():
    t, r, ids = mk()
    everything(t)
    r.refresh()
    o = r.add_org("desktop")
    p = r.add_provider(o, "cursor")
    r.add_version(r.add_conversation(p, "c1", "Cursor chat"), {"c.json": b"{}"}, T0)
    p2 = r.add_provider(ids["laptop"], "aider")
    changes = {c.ino for c in t.refresh()}
    assert changes == {ROOT_INO, walk(t, "laptop")}
    assert names(t, ROOT_INO) == [b"laptop", b"desktop"]
    assert walk(t, "laptop/aider") == (2 << 56) | p2
    assert names(t, walk(t, "desktop/cursor")) == [b"Cursor_chat-c1"]


def test_versions_are_immutable_across_refresh_and_remount():
    t, r, ids = mk()
    before = {p: (ino, t.getattr(ino)) for p, ino in everything(t).items()}
    contents = {p: t.read(ino, 0, 1 << 20) for p, (ino, a) in before.items()
                if stat.S_ISREG(a.mode)}
    r.add_version(ids["hummus"], {"c0ffee.jsonl": b"{}\n{}\n"}, T0 + 50)
    r.rename(ids["falafel"], "Renamed")
    t.refresh()
    fresh, _, _ = mk(r)  # a remount: same inodes, same bytes
    for tr in (t, fresh):
        for path, (ino, attr) in before.items():
            if attr.immutable:
                assert tr.getattr(ino) == attr
                if path in contents:
                    assert tr.read(ino, 0, 1 << 20) == contents[path]


def test_meta_json_shows_the_deletion_mark_of_its_conversation():
    t, r, ids = mk()
    meta_ino = walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}/latest/meta.json".replace(
        "/latest/", "/" + t.readlink(walk(t, f"laptop/claude-code/{FALAFEL_DIR.decode()}/latest")).decode() + "/"))
    node = t.node(meta_ino)
    assert not node.immutable  # the kernel must not keep it for an hour
    before = json.loads(t.read(meta_ino, 0, 1 << 20))
    assert before["deleted_upstream_at"] is None
    r.mark_deleted(ids["falafel"], T0 + 99.5)
    assert meta_ino in [c.ino for c in t.refresh()]  # the kernel must drop its cached size
    after = t.read(meta_ino, 0, 1 << 20)
    assert json.loads(after)["deleted_upstream_at"] == T0 + 99.5
    assert t.getattr(meta_ino).size == len(after)
    r.mark_deleted(ids["falafel"], None)  # the source came back
    t.refresh()
    assert json.loads(t.read(meta_ino, 0, 1 << 20))["deleted_upstream_at"] is None


def test_version_layouts_are_evicted_and_rebuilt_identically():
    t, r, ids = mk(layout_cache=1)
    a = everything(t)
    b = everything(t)
    assert a == b
    assert r.calls["version"] > 4  # evicted and re-read, same inodes


def test_reader_keyerror_is_notfound():
    t, r, ids = mk()
    r.fail_with = KeyError(1)
    with pytest.raises(KeyError):
        t.getattr((3 << 56) | 12345)


def test_deeply_nested_raw_file():
    r = FakeReader()
    conv = r.add_conversation(r.add_provider(r.add_org("o"), "p"), "id", "T")
    v = r.add_version(conv, {"d/" * 3000 + "leaf": b"deep"}, T0)
    t, _, _ = mk(r)
    ino = walk(t, f"o/p/T-id/{v.name}")
    for _ in range(3000):
        ino = t.lookup(ino, b"d").ino
    assert t.read(t.lookup(ino, b"leaf").ino, 0, 10) == b"deep"
    assert t.getattr(version_ino(v.serial)).nlink == 3
