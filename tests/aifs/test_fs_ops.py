"""AifsOperations called directly under trio (no mount): attributes, listings, reads, errno."""

import errno
import os
import stat
from functools import partial

import pyfuse3
import pytest
import trio

from aifs import fs as fs_mod
from aifs.fs import AifsOperations
from aifs.tree import ROOT_INO, Tree

from .aifs_fakes import FALAFEL_ID, T0, render_markdown, sample, version_name

FALAFEL_DIR = f"Fix_dry_falafel-{FALAFEL_ID}".encode()


def run(fn, *args):
    return trio.run(partial(fn, *args))


@pytest.fixture
def env():
    reader, ids = sample()
    ops = AifsOperations(Tree(reader, render_markdown), uid=1234, gid=5678)
    return ops, reader, ids


async def walk(ops, path):
    ino = ROOT_INO
    for part in path.strip("/").split("/"):
        ino = (await ops.lookup(ino, part.encode(), None)).st_ino
    return ino


def fuse_errno(fn, *args):
    with pytest.raises(pyfuse3.FUSEError) as e:
        run(fn, *args)
    return e.value.errno


class Listing:
    """Stands in for pyfuse3.readdir_reply: collects entries, reports a full buffer after
    ``room`` of them (per readdir call)."""

    def __init__(self, room):
        self.room = room
        self.entries = []
        self.left = room

    def __call__(self, token, name, attr, next_id):
        if self.left == 0:
            return False
        self.left -= 1
        self.entries.append((name, attr.st_ino, next_id, attr))
        return True


async def listdir(ops, ino, room=1000):
    """Everything, readdir after readdir, resuming from the last next_id like the kernel."""
    lst = Listing(room)
    fs_mod.pyfuse3.readdir_reply = lst
    fh = await ops.opendir(ino, None)
    start, calls = 0, 0
    while True:
        lst.left = room
        before = len(lst.entries)
        await ops.readdir(fh, start, object())
        calls += 1
        if len(lst.entries) == before:
            break
        start = lst.entries[-1][2]
    await ops.releasedir(fh)
    return lst.entries, calls


@pytest.fixture(autouse=True)
def keep_readdir_reply(monkeypatch):
    monkeypatch.setattr(fs_mod.pyfuse3, "readdir_reply", pyfuse3.readdir_reply)


def test_lookup_and_getattr(env):
    ops, r, ids = env

    async def go():
        org = await ops.lookup(ROOT_INO, b"laptop", None)
        assert stat.S_ISDIR(org.st_mode) and stat.S_IMODE(org.st_mode) == 0o500
        assert (org.st_uid, org.st_gid) == (1234, 5678)
        assert org.entry_timeout == org.attr_timeout == 1.0  # mutable directory
        conv = await walk(ops, f"laptop/claude-code/{FALAFEL_DIR.decode()}")
        v = await ops.lookup(conv, version_name(T0).encode(), None)
        assert v.entry_timeout == v.attr_timeout == 3600.0  # immutable version
        assert v.st_mtime_ns == int(T0 * 1e9) and v.st_nlink == 3
        f = await ops.lookup(v.st_ino, f"{FALAFEL_ID}.jsonl".encode(), None)
        fe = r.version(ids["v1"]).files[0]
        assert stat.S_ISREG(f.st_mode) and stat.S_IMODE(f.st_mode) == 0o400
        assert f.st_size == fe.size and f.st_blocks == (fe.size + 511) // 512
        assert f.attr_timeout == 3600.0
        latest = await ops.lookup(conv, b"latest", None)
        assert stat.S_ISLNK(latest.st_mode)
        assert latest.entry_timeout == 3600.0 and latest.attr_timeout == 1.0
        assert await ops.readlink(latest.st_ino, None) == version_name(T0 + 38_107).encode()
        again = await ops.getattr(f.st_ino, None)
        assert again.st_size == f.st_size and again.st_ino == f.st_ino
        root = await ops.getattr(ROOT_INO, None)
        assert stat.S_ISDIR(root.st_mode)
        md = await ops.lookup(v.st_ino, b"conversation.md", None)  # rendered in a thread
        assert md.st_size > 0

    run(go)


def test_lookup_errors(env):
    ops, r, ids = env
    assert fuse_errno(ops.lookup, ROOT_INO, b"nope", None) == errno.ENOENT
    assert fuse_errno(ops.getattr, (3 << 56) | 99_999, None) == errno.ENOENT
    assert fuse_errno(ops.getattr, 12345, None) == errno.ENOENT
    assert fuse_errno(ops.readlink, ROOT_INO, None) == errno.EINVAL

    async def go():
        f = await walk(ops, f"laptop/codex/Untitled-rollout-1/{version_name(T0 + 9)}/meta.json")
        with pytest.raises(pyfuse3.FUSEError) as e:
            await ops.lookup(f, b"x", None)
        assert e.value.errno == errno.ENOTDIR
        with pytest.raises(pyfuse3.FUSEError) as e:
            await ops.opendir(f, None)
        assert e.value.errno == errno.ENOTDIR

    run(go)


@pytest.mark.parametrize("room", [1, 2, 3, 1000])
def test_readdir_resumes_by_offset(env, room):
    ops, r, ids = env

    async def go():
        vdir = await walk(ops, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{version_name(T0)}")
        entries, calls = await listdir(ops, vdir, room)
        names = [e[0] for e in entries]
        assert names == [f"{FALAFEL_ID}.jsonl".encode(), b"conversation.md", b"meta.json",
                         b"subagents"]
        assert calls == -(-len(names) // room) + 1  # the last call finds nothing more
        for name, ino, next_id, attr in entries:
            assert next_id == ino  # offsets are the entries' own inodes
            assert (await ops.lookup(vdir, name, None)).st_ino == ino
            if attr.attr_timeout == 0:  # not rendered yet: listed without its size
                assert name == b"conversation.md" and attr.st_size == 0
            else:
                assert attr.st_size == (await ops.getattr(ino, None)).st_size
        conv_entries, _ = await listdir(ops, await walk(
            ops, f"laptop/claude-code/{FALAFEL_DIR.decode()}"), room)
        assert [e[0] for e in conv_entries] == [b"latest", version_name(T0).encode(),
                                                version_name(T0 + 38_107).encode()]
        root, _ = await listdir(ops, ROOT_INO, room)
        assert [e[0] for e in root] == [b"laptop"]

    run(go)


def test_listing_a_version_renders_nothing(env):
    ops, r, ids = env

    async def go():
        vdir = await walk(ops, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{version_name(T0)}")
        reads = r.calls["read"]
        entries, _ = await listdir(ops, vdir, 1000)
        assert r.calls["read"] == reads  # no raw file was read to render conversation.md
        md = {e[0]: e for e in entries}[b"conversation.md"]
        assert md[3].st_size == 0 and md[3].attr_timeout == 0  # the kernel must ask again
        real = await ops.getattr(md[1], None)  # now it renders
        assert real.st_size > 0 and real.attr_timeout > 0 and r.calls["read"] > reads
        again, _ = await listdir(ops, vdir, 1000)  # rendered once: listed with its size
        assert {e[0]: e for e in again}[b"conversation.md"][3].st_size == real.st_size

    run(go)


def test_open_conversation_md_is_rendered_once_however_small_the_cache():
    reader, ids = sample()
    ops = AifsOperations(Tree(reader, render_markdown, content_cache_bytes=10))
    v = reader.version(ids["v1"])

    async def go():
        md = await walk(ops, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{v.name}/conversation.md")
        size = (await ops.getattr(md, None)).st_size  # renders; too big for the cache
        assert size > 10
        fh = (await ops.open(md, os.O_RDONLY, None)).fh
        fh2 = (await ops.open(md, os.O_RDONLY, None)).fh  # a second open shares it
        reads = reader.calls["read"]
        parts = [await ops.read(fh, off, 7) for off in range(0, size + 7, 7)]
        assert reader.calls["read"] > reads  # rendered again once: the cache could not keep it
        reads = reader.calls["read"]
        whole = b"".join(parts)
        assert len(whole) == size and whole.startswith(b"# Fix dry falafel")
        assert await ops.read(fh, 3, 5) == whole[3:8]
        await ops.release(fh)
        assert await ops.read(fh2, 0, 1 << 20) == whole  # still open once
        assert reader.calls["read"] == reads  # ... and never rendered again while open
        await ops.release(fh2)
        assert await ops.read(md, 0, 1 << 20) == whole  # closed: rendered on demand again
        assert reader.calls["read"] > reads

    run(go)


def test_read_inline_and_in_thread(env, monkeypatch):
    ops, r, ids = env
    v = r.version(ids["v2"])
    fe = v.files[0]
    whole = r.read(fe, 0, fe.size)
    threaded = []
    real = trio.to_thread.run_sync

    async def spy(fn, *args, **kw):
        threaded.append(getattr(fn, "__name__", fn))
        return await real(fn, *args, **kw)

    monkeypatch.setattr(fs_mod.trio.to_thread, "run_sync", spy)

    async def go():
        ino = await walk(ops, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{v.name}/{fe.name}")
        info = await ops.open(ino, os.O_RDONLY, None)
        assert info.fh == ino and info.keep_cache
        assert await ops.read(info.fh, 0, 10) == whole[:10]  # one 16-byte chunk
        assert threaded == []
        assert await ops.read(info.fh, 0, 1 << 20) == whole  # many chunks
        assert threaded == ["read_node"]
        assert await ops.read(info.fh, fe.size, 10) == b""
        await ops.release(info.fh)
        md = await walk(ops, f"laptop/claude-code/{FALAFEL_DIR.decode()}/{v.name}/conversation.md")
        data = await ops.read((await ops.open(md, os.O_RDONLY, None)).fh, 0, 1 << 20)
        assert data.startswith(b"# Fix dry falafel")

    run(go)


@pytest.mark.parametrize("flags", [os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC,
                                   os.O_RDONLY | os.O_APPEND, os.O_RDONLY | os.O_CREAT,
                                   os.O_WRONLY | os.O_CREAT | os.O_TRUNC])
def test_open_for_writing_is_erofs(env, flags):
    ops, r, ids = env
    f = run(walk, ops, f"laptop/codex/Untitled-rollout-1/{version_name(T0 + 9)}/rollout-1.jsonl")
    assert fuse_errno(ops.open, f, flags, None) == errno.EROFS


def test_open_directory_is_eisdir(env):
    ops, r, ids = env
    assert fuse_errno(ops.open, ROOT_INO, os.O_RDONLY, None) == errno.EISDIR


def test_every_write_op_is_erofs(env):
    ops, r, ids = env
    ino = ROOT_INO
    calls = [
        (ops.setattr, ino, pyfuse3.EntryAttributes(), None, None, None),
        (ops.mknod, ino, b"n", 0o644, 0, None),
        (ops.mkdir, ino, b"d", 0o755, None),
        (ops.unlink, ino, b"laptop", None),
        (ops.rmdir, ino, b"laptop", None),
        (ops.symlink, ino, b"s", b"target", None),
        (ops.rename, ino, b"laptop", ino, b"other", 0, None),
        (ops.link, ino, ino, b"l", None),
        (ops.create, ino, b"c", 0o644, os.O_WRONLY | os.O_CREAT, None),
        (ops.write, ino, 0, b"data"),
        (ops.setxattr, ino, b"user.x", b"v", None),
        (ops.removexattr, ino, b"user.x", None),
    ]
    for fn, *args in calls:
        assert fuse_errno(fn, *args) == errno.EROFS, fn.__name__
    assert fuse_errno(ops.access, ino, os.W_OK, None) == errno.EROFS
    assert run(ops.access, ino, os.R_OK | os.X_OK, None) is True


def test_statfs(env):
    ops, r, ids = env
    s = run(ops.statfs, None)
    assert s.f_namemax == 255 and s.f_bsize == 4096


def test_integrity_error_is_eio_and_damage_stays_local(env, caplog):
    ops, r, ids = env
    v = r.version(ids["v1"])
    fe = v.files[0]
    r.corrupt.add(fe.chunks[1][0])
    base = f"laptop/claude-code/{FALAFEL_DIR.decode()}/{v.name}"

    async def go():
        vdir = await walk(ops, base)
        f = (await ops.lookup(vdir, fe.name.encode(), None)).st_ino
        assert await ops.read(f, 0, 16) == r.read(fe, 0, 16)  # intact chunk still reads
        with pytest.raises(pyfuse3.FUSEError) as e:
            await ops.read(f, 0, 1 << 20)
        assert e.value.errno == errno.EIO
        with pytest.raises(pyfuse3.FUSEError) as e:
            await ops.lookup(vdir, b"conversation.md", None)  # rendering reads every file
        assert e.value.errno == errno.EIO
        entries, _ = await listdir(ops, vdir)  # the version stays listable: listing renders
        assert [e[0] for e in entries] == [fe.name.encode(), b"conversation.md", b"meta.json",
                                           b"subagents"]  # nothing; conversation.md gives EIO
        meta = await ops.lookup(vdir, b"meta.json", None)
        assert meta.st_size > 0

    run(go)
    assert "IntegrityError" in caplog.text


def test_unexpected_exception_is_eio_and_logged_without_message(env, caplog):
    ops, r, ids = env
    r.fail_with = RuntimeError("title: Secret plans")
    assert fuse_errno(ops.lookup, ROOT_INO, b"laptop", None) == errno.EIO
    assert fuse_errno(ops.getattr, (1 << 56) | ids["laptop"], None) == errno.EIO
    assert "RuntimeError" in caplog.text and "Secret" not in caplog.text
    r.fail_with = KeyError(5)
    assert fuse_errno(ops.getattr, (3 << 56) | ids["falafel"], None) == errno.ENOENT


def test_refresh_invalidates_changed_directories(env, monkeypatch):
    ops, r, ids = env
    calls = []

    def inval_inode(ino, attr_only=False):
        calls.append(("inode", ino))
        if ino == ROOT_INO:
            raise OSError(errno.ENOENT, "kernel does not know it")

    def inval_entry(parent, name, deleted=0):
        calls.append(("entry", parent, name))

    monkeypatch.setattr(fs_mod.pyfuse3, "invalidate_inode", inval_inode)
    monkeypatch.setattr(fs_mod.pyfuse3, "invalidate_entry", inval_entry)

    async def go():
        conv = await walk(ops, f"laptop/claude-code/{FALAFEL_DIR.decode()}")
        prov = await walk(ops, "laptop/claude-code")
        await listdir(ops, ROOT_INO)
        await listdir(ops, prov)
        await listdir(ops, conv)
        await ops.refresh_once()  # the sample's own commits
        calls.clear()
        assert await ops.refresh_once() == []
        assert calls == []
        new = r.add_version(ids["falafel"], {"x.jsonl": b"{}\n"}, T0 + 99_999)
        r.rename(ids["falafel"], "Crispy falafel")
        await ops.refresh_once()
        assert ("inode", conv) in calls and ("inode", (4 << 56) | ids["falafel"]) in calls
        assert ("inode", prov) in calls
        assert ("entry", prov, FALAFEL_DIR) in calls
        entries, _ = await listdir(ops, conv)
        assert entries[-1][0] == new.name.encode()
        crispy = await ops.lookup(prov, f"Crispy_falafel-{FALAFEL_ID}".encode(), None)
        assert crispy.st_ino == conv

    run(go)


def test_refresh_survives_reader_errors(env, caplog):
    ops, r, ids = env
    run(walk, ops, "laptop/claude-code")
    r.fail_with = RuntimeError("boom")
    assert run(ops.refresh_once) == []
    assert "refresh failed" in caplog.text


def test_refresher_loop_polls(env, monkeypatch):
    ops, r, ids = env
    seen = []
    monkeypatch.setattr(fs_mod.pyfuse3, "invalidate_inode", lambda ino, attr_only=False: seen.append(ino))
    monkeypatch.setattr(fs_mod.pyfuse3, "invalidate_entry", lambda p, n, deleted=0: None)

    async def go():
        await listdir(ops, ROOT_INO)
        async with trio.open_nursery() as n:
            n.start_soon(ops.run_refresher, 0.01)
            await trio.sleep(0.05)
            r.add_org("desktop")
            with trio.fail_after(5):
                while ROOT_INO not in seen:
                    await trio.sleep(0.01)
            n.cancel_scope.cancel()

    run(go)
