import hashlib
import os
import random
import stat
import subprocess
import sys

import pytest

from vault import (BadCredentials, ConversationSnapshot, RawFile, VaultExists, VaultLocked,
                   VaultNotFound)
from vault.vault import Vault

from ..conftest import TEST_PASSPHRASE


def snap(native_id, files, title="A title", org="host", provider="claude-code"):
    return ConversationSnapshot(provider=provider, native_id=native_id, title=title,
                                files=tuple(files), org=org)


def text_bytes(n, seed=0):
    r = random.Random(seed)
    words = "alpha beta gamma delta vault chunk mount render session tool result".split()
    out = []
    size = 0
    while size < n:
        line = ('{"type":"user","message":"' + " ".join(r.choice(words) for _ in range(20)) + '"}\n')
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]


def test_create_refuses_to_overwrite(new_vault, tmp_path, fast_kdf):
    with pytest.raises(VaultExists):
        Vault.create(tmp_path / "vault", "other", fast_kdf)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(VaultExists):
        Vault.create(tmp_path / "busy", "pw", fast_kdf)
    assert (tmp_path / "busy" / "file").read_text() == "x"


def test_open_with_passphrase_recovery_key_and_wrong_ones(new_vault, tmp_path):
    vault, recovery = new_vault
    assert Vault.open(tmp_path / "vault", passphrase=TEST_PASSPHRASE).keys == vault.keys
    assert Vault.open(tmp_path / "vault", recovery_key=recovery).keys == vault.keys
    with pytest.raises(BadCredentials):
        Vault.open(tmp_path / "vault", passphrase="wrong")
    with pytest.raises(VaultNotFound):
        Vault.open(tmp_path / "nowhere", passphrase="x")


def test_store_read_back_dedup_and_unchanged(new_vault, tmp_path):
    vault, _ = new_vault
    data = text_bytes(300_000)
    src = tmp_path / "s.jsonl"
    src.write_bytes(data)
    with vault.writer() as w:
        r1 = w.store(snap("s1", [RawFile("s1.jsonl", path=src), RawFile("sub/a.json", data=b"{}")]))
        r2 = w.store(snap("s1", [RawFile("s1.jsonl", path=src), RawFile("sub/a.json", data=b"{}")]))
        r3 = w.store(snap("s2", [RawFile("copy.jsonl", data=data)]))  # same content elsewhere
    assert (r1.status, r2.status) == ("new", "unchanged")
    assert r1.bytes_read == len(data) + 2
    assert 0 < r1.bytes_stored < len(data)  # compressed
    assert r2.bytes_stored == 0
    assert r3.status == "new" and r3.bytes_stored < 2000  # only the manifest is new
    with vault.reader() as rd:
        convs = rd.conversations()
        assert [c.native_id for c in convs] == ["s1", "s2"]
        v = rd.version(convs[0].version_serials[0])
        names = [f.name for f in v.files]
        assert names == ["s1.jsonl", "sub/a.json"]
        entry = v.files[0]
        assert entry.sha256 == hashlib.sha256(data).digest()
        assert rd.read_file(entry) == data
        r = random.Random(1)
        for _ in range(200):
            off, size = r.randrange(0, len(data) + 10), r.randrange(0, 70_000)
            assert rd.read(entry, off, size) == data[off:off + size]


def test_growth_stores_about_the_appended_bytes(new_vault, tmp_path):
    vault, _ = new_vault
    src = tmp_path / "grow.jsonl"
    src.write_bytes(text_bytes(2_000_000, seed=3))
    with vault.writer() as w:
        w.store(snap("g", [RawFile("g.jsonl", path=src)]))
    stored = []
    for i in range(5):
        with open(src, "ab") as f:
            f.write(text_bytes(10_240, seed=10 + i))
        with vault.writer() as w:
            r = w.store(snap("g", [RawFile("g.jsonl", path=src)]))
        assert r.status == "changed"
        stored.append(r.bytes_stored)
    # 10 KiB of text compresses to ~3 KiB; a re-stored small tail chunk adds at most 8 KiB raw.
    assert max(stored) < 8_000, stored
    with vault.reader() as rd:
        conv = rd.conversations()[0]
        assert len(conv.version_serials) == 6
        assert len(set(conv.version_names)) == 6
        last = rd.version(conv.version_serials[-1]).files[0]
        assert rd.read_file(last) == src.read_bytes()
        first = rd.version(conv.version_serials[0]).files[0]
        assert first.size == 2_000_000


def test_rewritten_file_is_rechunked_not_resumed(new_vault, tmp_path):
    vault, _ = new_vault
    src = tmp_path / "h.jsonl"
    src.write_bytes(text_bytes(100_000, seed=1))
    with vault.writer() as w:
        w.store(snap("h", [RawFile("h.jsonl", path=src)]))
    changed = bytearray(src.read_bytes())
    changed[500:510] = b"XXXXXXXXXX"
    src.write_bytes(bytes(changed) + b"tail\n")
    with vault.writer() as w:
        assert w.store(snap("h", [RawFile("h.jsonl", path=src)])).status == "changed"
    with vault.reader() as rd:
        conv = rd.conversations()[0]
        assert rd.read_file(rd.version(conv.version_serials[-1]).files[0]) == src.read_bytes()


def test_grown_item_reads_its_previous_manifest_once(new_vault, tmp_path, monkeypatch):
    vault, _ = new_vault
    src = tmp_path / "m.jsonl"
    src.write_bytes(text_bytes(300_000, seed=4))
    with vault.writer() as w:
        w.store(snap("m", [RawFile("m.jsonl", path=src)]))
    with open(src, "ab") as f:
        f.write(text_bytes(5_000, seed=5))
    with vault.writer() as w:
        reads = []
        real = w._version_files
        monkeypatch.setattr(w, "_version_files", lambda s: (reads.append(s), real(s))[1])
        assert w.store(snap("m", [RawFile("m.jsonl", path=src)])).status == "changed"
    assert len(reads) == 1  # for the append shortcut and the "nothing changed" check alike


def test_same_conversation_twice_in_one_batch_compares_with_the_newer_version(new_vault):
    # The second item is prepared before the first is finished: its "nothing changed" check
    # must see the version the first one added, not the one that was latest when it started.
    vault, _ = new_vault
    with vault.writer() as w:
        w.store(snap("b", [RawFile("b.jsonl", data=b"old\n")]))
    items = [(i, snap("b", [RawFile("b.jsonl", data=b"old\nnew\n")]), None, None, ())
             for i in range(2)]
    with vault.writer() as w:
        results = [r.status for _tag, r in w.store_many(items)]
    assert results == ["changed", "unchanged"]
    with vault.reader() as rd:
        assert len(rd.conversations()[0].version_serials) == 2


def test_second_writer_is_refused(new_vault):
    vault, _ = new_vault
    with vault.writer():
        with pytest.raises(VaultLocked):
            vault.writer()


def test_lock_released_when_the_writer_process_dies(new_vault, tmp_path):
    vault, _ = new_vault
    code = ("import os,sys; sys.path.insert(0, %r)\n"
            "from vault.vault import Vault\n"
            "v = Vault.open(%r, passphrase=%r); w = v.writer(); print('locked', flush=True); os._exit(9)\n"
            % (os.getcwd(), str(tmp_path / "vault"), TEST_PASSPHRASE))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "locked" in out.stdout
    vault.writer().close()  # does not raise VaultLocked


def test_reader_sees_later_commits_without_reopening(new_vault):
    vault, _ = new_vault
    rd = vault.reader()
    try:
        assert rd.conversations() == []
        gen = rd.generation
        with vault.writer() as w:
            w.store(snap("x", [RawFile("x.jsonl", data=b"hello\n")]))
        assert rd.refresh() and rd.generation > gen
        assert [c.native_id for c in rd.conversations()] == ["x"]
        assert not rd.refresh()
    finally:
        rd.close()


def test_no_plaintext_and_private_permissions(new_vault, tmp_path):
    vault, _ = new_vault
    phrases = [b"falafel recipe with extra tahini", b"/home/alice/secret-project",
               b"Title about quarterly layoffs"]
    body = (b'{"cwd":"/home/alice/secret-project","text":"falafel recipe with extra tahini"}\n') * 50
    with vault.writer() as w:
        w.store(snap("id-1", [RawFile("id-1.jsonl", data=body)],
                     title="Title about quarterly layoffs"))
        w.store(snap("id-2", [RawFile("x.jsonl", data=b"falafel recipe with extra tahini")],
                     title="Title about quarterly layoffs"))
    root = tmp_path / "vault"
    for dirpath, dirnames, filenames in os.walk(root):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) == 0o700, dirpath
        for name in filenames:
            p = os.path.join(dirpath, name)
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p
            blob = open(p, "rb").read()
            for phrase in phrases + [b"id-1", b"claude-code", b"host"]:
                assert phrase not in blob, (p, phrase)
                assert phrase.decode().encode("utf-16-le") not in blob


def test_interrupted_store_keeps_previous_commit(new_vault, tmp_path):
    vault, _ = new_vault
    with vault.writer() as w:
        w.store(snap("ok", [RawFile("ok.jsonl", data=b"fine\n")]))
    missing = tmp_path / "gone.jsonl"
    with vault.writer() as w:
        with pytest.raises(FileNotFoundError):
            w.store(snap("bad", [RawFile("gone.jsonl", path=missing)]))
        w.store(snap("ok2", [RawFile("ok2.jsonl", data=b"also fine\n")]))
    with vault.reader() as rd:
        assert sorted(c.native_id for c in rd.conversations()) == ["ok", "ok2"]
    assert vault.check(read_data=True).ok


def test_mark_deleted_upstream_and_revival(new_vault):
    vault, _ = new_vault
    with vault.writer() as w:
        w.store(snap("d", [RawFile("d.jsonl", data=b"x\n")]))
    with vault.writer() as w:
        assert w.mark_deleted_upstream("claude-code", "host", "d", 123.0)
        assert not w.mark_deleted_upstream("claude-code", "host", "nope")
    with vault.reader() as rd:
        assert rd.conversations()[0].deleted_upstream_at == 123.0
    with vault.writer() as w:
        w.store(snap("d", [RawFile("d.jsonl", data=b"x\n")]))
    with vault.reader() as rd:
        assert rd.conversations()[0].deleted_upstream_at is None


def test_a_damaged_source_key_does_not_flag_a_present_conversation(new_vault):
    """A source record whose key was damaged (or left stale) names a conversation that a
    present item still stores into: it is dropped, and nothing is flagged deleted."""
    import lmdb

    from vault import SourceStamp
    vault, _ = new_vault
    stamp = (SourceStamp("/src/d.jsonl", 1, 2, 3, 4),)
    with vault.writer() as w:
        w.store(snap("d", [RawFile("d.jsonl", data=b"x\n")]), collector="claude-code", key="d",
                stamps=stamp)
        w.store(snap("e", [RawFile("e.jsonl", data=b"y\n")]), collector="claude-code", key="e",
                stamps=stamp)
    env = lmdb.open(str(vault.root / "index"), max_dbs=16)
    with env.begin(write=True) as txn:
        db = env.open_db(b"sources", txn=txn)
        key, value = next(iter(txn.cursor(db=db)))
        txn.put(key[:-1] + bytes([key[-1] ^ 0x40]), value, db=db)  # a damaged copy of a key
        count = txn.stat(db)["entries"]
    env.close()
    assert count == 3
    with vault.writer() as w:
        assert w.mark_missing_sources("claude-code", ["d", "e"]) == 0
    with vault.reader() as rd:
        assert all(c.deleted_upstream_at is None for c in rd.conversations())
    with vault.writer() as w:  # the damaged copy was dropped; a really gone item is flagged
        assert w.mark_missing_sources("claude-code", ["d"]) == 1
    with vault.reader() as rd:
        flagged = {c.native_id for c in rd.conversations() if c.deleted_upstream_at}
    assert flagged == {"e"}


def test_large_files_are_chunked_window_by_window(new_vault, tmp_path, monkeypatch):
    """Files larger than the chunking window are stored with bounded memory (written per
    window), and chunk boundaries do not depend on the window: same ids as a small-window run."""
    from vault import writer as W
    vault, _ = new_vault
    monkeypatch.setattr(W, "WINDOW", 256 * 1024)
    data = text_bytes(3_000_000, seed=9)
    src = tmp_path / "big.jsonl"
    src.write_bytes(data)
    with vault.writer() as w:
        absorbed = []
        real = w._absorb
        monkeypatch.setattr(w, "_absorb", lambda new: (absorbed.append(len(new)), real(new)))
        r = w.store(snap("big", [RawFile("big.jsonl", path=src)]))
        monkeypatch.setattr(W, "WINDOW", 64 << 20)  # the same bytes in one window
        w.store(snap("copy", [RawFile("copy.jsonl", data=data)]))
    assert r.status == "new" and len(absorbed) >= 10  # one call per window
    with vault.reader() as rd:
        big, copy = rd.conversations()
        a = rd.version(big.version_serials[0]).files[0]
        b = rd.version(copy.version_serials[0]).files[0]
        assert rd.read_file(a) == data
        assert a.chunks == b.chunks  # window edges never cut a chunk
