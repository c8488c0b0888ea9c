"""aifs.mount without mounting anything: validation, exit codes, error reporting."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aifs import mount as mount_mod
from aifs.mount import (
    EXIT_FUSE_UNAVAILABLE,
    EXIT_MOUNT_FAILED,
    EXIT_MOUNTPOINT_BUSY,
    EXIT_MOUNTPOINT_MISSING,
    EXIT_NOT_MOUNTED,
    MountError,
    mount,
    umount,
)

from .aifs_fakes import render_markdown

REPO = Path(__file__).resolve().parents[2]


def never():
    raise AssertionError("the reader must not be opened when validation fails")


def mount_error(path, **kw) -> MountError:
    with pytest.raises(MountError) as e:
        mount(never, render_markdown, path, foreground=kw.pop("foreground", True),
              allow_other=False, **kw)
    return e.value


def test_exit_codes_are_distinct_and_match_the_cli_table():
    codes = [EXIT_MOUNTPOINT_MISSING, EXIT_MOUNTPOINT_BUSY, EXIT_FUSE_UNAVAILABLE,
             EXIT_NOT_MOUNTED, EXIT_MOUNT_FAILED]
    assert len(set(codes)) == len(codes)
    assert codes[:4] == [8, 9, 10, 11]


def test_mountpoint_missing(tmp_path):
    e = mount_error(tmp_path / "nope")
    assert e.exit_code == EXIT_MOUNTPOINT_MISSING and "does not exist" in e.message
    (tmp_path / "file").write_text("x")
    assert mount_error(tmp_path / "file").exit_code == EXIT_MOUNTPOINT_MISSING
    assert mount_error(tmp_path / "file" / "below").exit_code == EXIT_MOUNTPOINT_MISSING


def test_mountpoint_not_empty(tmp_path):
    (tmp_path / "something").write_text("x")
    e = mount_error(tmp_path, foreground=False)
    assert e.exit_code == EXIT_MOUNTPOINT_BUSY and "not empty" in e.message


def test_mountpoint_already_mounted():
    e = mount_error("/proc")
    assert e.exit_code == EXIT_MOUNTPOINT_BUSY and "already a mount point (proc)" in e.message


def test_fuse_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(mount_mod, "FUSE_DEVICE", str(tmp_path / "no-fuse"))
    e = mount_error(tmp_path)
    assert e.exit_code == EXIT_FUSE_UNAVAILABLE and "FUSE is not available" in e.message


def test_umount_errors(tmp_path):
    with pytest.raises(MountError) as e:
        umount(tmp_path)
    assert e.value.exit_code == EXIT_NOT_MOUNTED and "not mounted" in e.value.message
    with pytest.raises(MountError) as e:
        umount(tmp_path / "nope")
    assert e.value.exit_code == EXIT_MOUNTPOINT_MISSING
    with pytest.raises(MountError) as e:
        umount("/proc")
    assert e.value.exit_code == EXIT_NOT_MOUNTED and "not an aifs mount" in e.value.message


def test_mount_error_crosses_a_pipe():
    e = pickle.loads(pickle.dumps(MountError("msg", EXIT_MOUNTPOINT_BUSY)))
    assert isinstance(e, MountError) and (e.message, e.exit_code) == ("msg", EXIT_MOUNTPOINT_BUSY)
    assert str(e) == "msg"


def test_mountinfo_parsing(monkeypatch, tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        "90 27 0:50 / /home/u/ai\\040archive rw,nosuid shared:1 - fuse.aifs aifs ro\n"
        "91 27 0:51 / /home/u/ai\\040archive rw - tmpfs tmpfs rw\n")
    real_open = open

    def fake_open(path, *a, **kw):
        return real_open(info if path == "/proc/self/mountinfo" else path, *a, **kw)

    monkeypatch.setattr("builtins.open", fake_open)
    assert mount_mod._mounts() == {"/proc": "proc", "/home/u/ai archive": "tmpfs"}


def test_fuse_options():
    assert mount_mod._fuse_options(False, False) == {"fsname=aifs", "subtype=aifs", "ro",
                                                     "default_permissions"}
    assert "allow_other" in mount_mod._fuse_options(True, False)
    assert "debug" in mount_mod._fuse_options(False, True)


@pytest.mark.skipif(not os.path.exists("/dev/fuse") or shutil.which("fusermount3") is None,
                    reason="FUSE is not available")
def test_background_reports_the_servers_vault_error(tmp_path):
    """The reader is opened after the fork; its error reaches the parent as the same type."""
    (tmp_path / "mnt").mkdir()
    done = subprocess.run([sys.executable, "-m", "tests.aifs.mount_helper", str(tmp_path / "mnt"),
                           str(tmp_path), "--background", "--fail"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "BadCredentials: wrong passphrase" in done.stderr
    assert "Traceback" not in done.stderr
    assert not os.path.ismount(tmp_path / "mnt")
