"""The FUSE handlers (``AifsOperations`` over ``Tree``) on a REAL vault filled by the real
collectors from the shared fixtures, called under trio without a mount."""

from __future__ import annotations

import errno
import json
import os
import stat
from functools import partial

import pyfuse3
import pytest
import trio

from aifs import fs as fs_mod
from aifs.fs import AifsOperations
from aifs.registry import load_collectors
from aifs.render import make_renderer
from aifs.runner import collect, default_context
from aifs.tree import ROOT_INO, Tree
from tests.collectors.collector_fixtures import build_claude_home, build_codex_home

from .helpers import GENERATED, VERSION_NAME, expected_claude, expected_codex, sha256

ORG = "ops-org"


class Listing:
    """Stands in for ``pyfuse3.readdir_reply``: takes ``room`` entries per readdir call."""

    def __init__(self, room: int) -> None:
        self.room = self.left = room
        self.entries: list[tuple[bytes, int, int, object]] = []

    def __call__(self, token, name, attr, next_id):
        if self.left == 0:
            return False
        self.left -= 1
        self.entries.append((name, attr.st_ino, next_id, attr))
        return True


@pytest.fixture
def real(new_vault, tmp_path, monkeypatch):
    vault, _recovery = new_vault
    claude = build_claude_home(tmp_path)
    codex = build_codex_home(tmp_path)
    loaded = load_collectors()
    assert {"claude-code", "codex"} <= set(loaded.collectors)
    with vault.writer() as writer:
        summary = collect(writer, loaded.collectors,
                          lambda name: default_context(claude.home, {}, {}), ORG)
    assert summary.failed == 0, summary.errors
    expected = expected_claude(claude) + expected_codex(codex)
    assert summary.new == len(expected)
    reader = vault.reader()
    ops = AifsOperations(Tree(reader, make_renderer(loaded)))
    monkeypatch.setattr(fs_mod.pyfuse3, "readdir_reply", pyfuse3.readdir_reply)
    yield ops, reader, expected
    reader.close()


async def listdir(ops, ino, room=1000):
    lst = Listing(room)
    fs_mod.pyfuse3.readdir_reply = lst
    fh = await ops.opendir(ino, None)
    start = 0
    while True:
        lst.left = room
        before = len(lst.entries)
        await ops.readdir(fh, start, object())
        if len(lst.entries) == before:
            break
        start = lst.entries[-1][2]
    await ops.releasedir(fh)
    return {name: (ino, attr) for name, ino, _next, attr in lst.entries}, lst.entries


async def walk(ops, ino, path):
    for part in path.split("/"):
        ino = (await ops.lookup(ino, part.encode(), None)).st_ino
    return ino


async def read_all(ops, ino, step):
    fh = (await ops.open(ino, os.O_RDONLY, None)).fh
    out, off = bytearray(), 0
    while True:
        data = await ops.read(fh, off, step)
        if not data:
            break
        out += data
        off += len(data)
    await ops.release(fh)
    return bytes(out)


def test_ops_on_the_real_vault_match_the_sources(real):
    ops, reader, expected = real

    async def go():
        root, _ = await listdir(ops, ROOT_INO)
        assert list(root) == [ORG.encode()]
        org_ino = root[ORG.encode()][0]
        providers, _ = await listdir(ops, org_ino)
        assert set(providers) == {b"claude-code", b"codex"}
        multi_chunk = 0
        for exp in expected:
            pino = providers[exp.provider.encode()][0]
            convs, entries = await listdir(ops, pino)
            # readdir resumes by offset: 3 entries per call give the same listing
            _, small = await listdir(ops, pino, room=3)
            assert [(n, i) for n, i, _, _ in small] == [(n, i) for n, i, _, _ in entries]
            mine = [n for n in convs if n.endswith(f"-{exp.native_id}".encode())]
            assert len(mine) == 1, (exp.native_id, mine)
            conv_ino = (await ops.lookup(pino, mine[0], None)).st_ino
            assert conv_ino == convs[mine[0]][0]
            conv, _ = await listdir(ops, conv_ino)
            versions = sorted(n.decode() for n in conv if n != b"latest")
            assert versions and all(VERSION_NAME.match(v) for v in versions)
            latest = await ops.lookup(conv_ino, b"latest", None)
            assert stat.S_ISLNK(latest.st_mode)
            assert await ops.readlink(latest.st_ino, None) == versions[-1].encode()
            vino = conv[versions[-1].encode()][0]
            vdir, _ = await listdir(ops, vino)
            top = {n.split("/")[0] for n in exp.files} | set(GENERATED)
            assert {n.decode() for n in vdir} == top
            assert (await ops.lookup(vino, b"..", None)).st_ino == conv_ino

            for name, src in exp.files.items():
                want = src.read_bytes()
                ino = await walk(ops, vino, name)
                attr = await ops.getattr(ino, None)
                assert stat.S_ISREG(attr.st_mode) and stat.S_IMODE(attr.st_mode) == 0o400
                assert attr.st_size == len(want), name
                assert await read_all(ops, ino, 128 * 1024) == want, name
                assert await read_all(ops, ino, 7919) == want, name  # odd, chunk-crossing reads
                fh = (await ops.open(ino, os.O_RDONLY, None)).fh
                assert await ops.read(fh, len(want), 4096) == b""
                assert await ops.read(fh, len(want) + 10_000, 4096) == b""
                if len(want) > 10:
                    assert await ops.read(fh, 5, 5) == want[5:10]
                for flags in (os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC,
                              os.O_WRONLY | os.O_APPEND):
                    with pytest.raises(pyfuse3.FUSEError) as e:
                        await ops.open(ino, flags, None)
                    assert e.value.errno == errno.EROFS
            meta_ino = await ops.lookup(vino, b"meta.json", None)
            meta_bytes = await read_all(ops, meta_ino.st_ino, 4096)
            assert len(meta_bytes) == meta_ino.st_size
            meta = json.loads(meta_bytes)
            assert {f["name"]: f["sha256"] for f in meta["files"]} == \
                {n: sha256(p.read_bytes()) for n, p in exp.files.items()}
            version = reader.version(meta["serial"])
            assert version.name == versions[-1]
            multi_chunk += sum(1 for fe in version.files if len(fe.chunks) > 1)
            md_ino = await ops.lookup(vino, b"conversation.md", None)
            md = await read_all(ops, md_ino.st_ino, 1000)
            assert len(md) == md_ino.st_size > 0
            md.decode("utf-8")
        assert multi_chunk >= 1  # the bisect over chunk offsets was exercised

    trio.run(go)


def test_ops_errors_on_the_real_vault(real):
    ops, reader, expected = real

    async def go():
        exp = expected[0]
        with pytest.raises(pyfuse3.FUSEError) as e:
            await ops.lookup(ROOT_INO, b"no-such-org", None)
        assert e.value.errno == errno.ENOENT
        org = (await ops.lookup(ROOT_INO, ORG.encode(), None)).st_ino
        prov = (await ops.lookup(org, exp.provider.encode(), None)).st_ino
        for call in (partial(ops.mkdir, prov, b"x", 0o700, None),
                     partial(ops.create, prov, b"x", 0o600, os.O_WRONLY, None),
                     partial(ops.unlink, prov, b"x", None),
                     partial(ops.rename, org, exp.provider.encode(), org, b"y", 0, None),
                     partial(ops.setattr, prov, None, None, None, None),
                     partial(ops.write, prov, 0, b"x")):
            with pytest.raises(pyfuse3.FUSEError) as e:
                await call()
            assert e.value.errno == errno.EROFS

    trio.run(go)
