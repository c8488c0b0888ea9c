"""Real FUSE mounts of the FakeReader sample (a subprocess running aifs.mount.mount).

Always unmounted with ``fusermount3 -u -z`` in teardown, whatever happened.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aifs.mount import EXIT_MOUNTPOINT_BUSY, MountError, mount, umount

from .aifs_fakes import FALAFEL_ID, T0, render_markdown, sample, version_name
from .mount_helper import NEW_VERSION_AT

REPO = Path(__file__).resolve().parents[2]
FALAFEL = f"laptop/claude-code/Fix_dry_falafel-{FALAFEL_ID}"

pytestmark = [
    pytest.mark.mount,
    pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="/dev/fuse is missing"),
    pytest.mark.skipif(shutil.which("fusermount3") is None, reason="fusermount3 is missing"),
]


def helper(mnt, ctl, *flags, **kw):
    return subprocess.Popen([sys.executable, "-m", "tests.aifs.mount_helper", str(mnt), str(ctl),
                             *flags], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            **kw)


def wait_for(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def force_unmount(mnt):
    subprocess.run(["fusermount3", "-u", "-z", str(mnt)], capture_output=True, check=False)


@pytest.fixture
def dirs(tmp_path):
    mnt, ctl = tmp_path / "mnt", tmp_path / "ctl"
    mnt.mkdir()
    ctl.mkdir()
    yield mnt, ctl
    force_unmount(mnt)


@pytest.fixture
def mounted(dirs):
    mnt, ctl = dirs
    proc = helper(mnt, ctl)
    try:
        wait_for(lambda: proc.poll() is not None or os.path.ismount(mnt), what="the mount")
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"mount helper exited with {proc.returncode}: {err.decode()}")
        yield mnt, ctl, proc
    finally:
        force_unmount(mnt)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_browse_read_copy(mounted, tmp_path):
    mnt, ctl, proc = mounted
    reader, ids = sample()  # the same deterministic sample the helper serves
    assert os.listdir(mnt) == ["laptop"]
    assert sorted(os.listdir(mnt / "laptop")) == ["claude-code", "codex"]
    conv = mnt / FALAFEL
    v1, v2 = version_name(T0), version_name(T0 + 38_107)
    assert sorted(os.listdir(conv)) == sorted(["latest", v1, v2])
    assert os.readlink(conv / "latest") == v2
    assert sorted(os.listdir(conv / "latest")) == sorted(
        [f"{FALAFEL_ID}.jsonl", "conversation.md", "meta.json", "subagents"])

    version = reader.version(ids["v1"])
    for fe in version.files:
        p = conv / v1 / fe.name
        data = p.read_bytes()
        assert hashlib.sha256(data).digest() == fe.sha256
        st = p.stat()
        assert st.st_size == fe.size and stat.S_IMODE(st.st_mode) == 0o400
        assert st.st_uid == os.getuid()
        copy = tmp_path / ("copy-" + fe.name.replace("/", "_"))
        shutil.copy2(p, copy)
        assert copy.read_bytes() == data
    src = conv / v1 / f"{FALAFEL_ID}.jsonl"
    assert src.stat().st_mtime_ns == 1_795_731_600_123_456_789

    md = (conv / v1 / "conversation.md").read_bytes()
    files = {fe.name: reader.read(fe, 0, fe.size) for fe in version.files}
    assert md == render_markdown(version, files).encode()
    assert (conv / v1 / "meta.json").stat().st_size == len((conv / v1 / "meta.json").read_bytes())

    # the whole tree walks, every file reads to its stat size
    count = 0
    for root, dnames, fnames in os.walk(mnt):
        for f in fnames:
            p = Path(root, f)
            assert len(p.read_bytes()) == p.stat().st_size
            count += 1
    assert count == 15


def test_read_only(mounted):
    mnt, ctl, proc = mounted
    f = mnt / FALAFEL / version_name(T0) / f"{FALAFEL_ID}.jsonl"
    attempts = [
        lambda: open(f, "ab"),
        lambda: open(f, "r+b"),
        lambda: open(mnt / FALAFEL / "new.txt", "wb"),
        lambda: os.mkdir(mnt / "newdir"),
        lambda: os.unlink(f),
        lambda: os.rmdir(mnt / FALAFEL / version_name(T0) / "subagents"),
        lambda: os.rename(f, f.with_name("moved")),
        lambda: os.symlink("x", mnt / "link"),
        lambda: os.chmod(f, 0o644),
        lambda: os.truncate(f, 0),
    ]
    for attempt in attempts:
        with pytest.raises(OSError) as e:
            attempt()
        assert e.value.errno in (errno.EROFS, errno.EACCES, errno.EPERM), attempt
    with pytest.raises(OSError) as e:
        open(f, "wb")
    assert e.value.errno == errno.EROFS


def test_new_commit_appears_without_remount(mounted):
    mnt, ctl, proc = mounted
    conv = mnt / FALAFEL
    assert len(os.listdir(conv)) == 3
    os.readlink(conv / "latest")
    (ctl / "add-version").touch()
    wait_for(lambda: (ctl / "added").exists(), what="the fake commit")
    renamed = mnt / "laptop/claude-code" / f"Fix_dry_falafel_(solved)-{FALAFEL_ID}"
    wait_for(renamed.exists, timeout=10, what="the renamed conversation")
    new = version_name(NEW_VERSION_AT)
    wait_for(lambda: os.readlink(renamed / "latest") == new, timeout=10, what="latest to move")
    assert new in os.listdir(renamed)
    assert (renamed / new / "new.jsonl").read_bytes() == b'{"fresh":true}\n'
    assert not conv.exists()


def test_sigterm_unmounts_cleanly(mounted):
    mnt, ctl, proc = mounted
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert not os.path.ismount(mnt)


def test_background_mount_and_umount(dirs):
    mnt, ctl = dirs
    done = subprocess.run([sys.executable, "-m", "tests.aifs.mount_helper", str(mnt), str(ctl),
                           "--background"], cwd=REPO, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert os.path.ismount(mnt)  # live as soon as mount() returned
    assert os.listdir(mnt) == ["laptop"]
    with pytest.raises(MountError) as e:  # mounting twice is refused up front
        mount(lambda: pytest.fail("must not open the vault"), render_markdown, mnt,
              foreground=True, allow_other=False)
    assert e.value.exit_code == EXIT_MOUNTPOINT_BUSY
    assert umount(mnt) == 0
    assert not os.path.ismount(mnt)
    assert os.listdir(mnt) == []


def test_umount_of_a_stale_mount(mounted):
    mnt, ctl, proc = mounted
    proc.kill()  # the server dies without unmounting
    proc.wait(timeout=10)
    with pytest.raises(OSError) as e:
        os.listdir(mnt)
    assert e.value.errno in (errno.ENOTCONN, errno.ECONNABORTED)  # the kernel says either
    with pytest.raises(MountError) as me:
        mount(lambda: None, render_markdown, mnt, foreground=True, allow_other=False)
    assert me.value.exit_code == EXIT_MOUNTPOINT_BUSY and "aifs umount" in str(me.value)
    assert umount(mnt) == 0
    assert os.listdir(mnt) == []
