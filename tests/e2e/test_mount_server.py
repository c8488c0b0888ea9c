"""The background server ``aifs mount`` leaves behind: detached like a daemon, and gone
after ``aifs umount``."""

from __future__ import annotations

import errno
import os
import signal

import pytest

from .helpers import (FUSE_MARKS, assert_user_error, mount_entry, ok, pid_alive, run_aifs,
                      server_pids, wait_for)

pytestmark = FUSE_MARKS


def test_background_server_is_detached_and_exits_on_umount(cli_env, new_vault, tmp_path, mounts):
    launch = tmp_path / "launch"  # where the user happened to be when mounting
    launch.mkdir()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(cli_env, "mount", "../mnt", cwd=launch))  # a relative mount point works
    assert os.path.ismount(mnt) and mount_entry(mnt)[0] == "fuse.aifs"
    [pid] = server_pids("../mnt")
    assert os.getsid(pid) == pid  # its own session: no terminal signals reach it
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"
    cwd = os.readlink(f"/proc/{pid}/cwd")
    open_in_launch = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    open_in_launch = [t for t in open_in_launch if t.startswith(str(launch))]

    ok(run_aifs(cli_env, "umount", str(mnt)))
    wait_for(lambda: not pid_alive(pid), timeout=10, what="the mount server to exit")
    assert open_in_launch == []
    # A daemon must not pin the directory it was started from: otherwise the file system
    # holding it cannot be unmounted while the archive is mounted (EBUSY).
    assert cwd == "/", f"the mount server keeps its launch directory as cwd: {cwd}"


def test_sigterm_unmounts_and_a_killed_server_can_be_cleaned_up(cli_env, new_vault, tmp_path,
                                                                mounts):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(cli_env, "mount", str(mnt)))
    [pid] = server_pids(mnt)
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not os.path.ismount(mnt) and not pid_alive(pid), timeout=10,
             what="SIGTERM to unmount and end the server")
    assert mount_entry(mnt) is None and os.listdir(mnt) == []

    ok(run_aifs(cli_env, "mount", str(mnt)))
    [pid] = server_pids(mnt)
    os.kill(pid, signal.SIGKILL)  # dies without unmounting: a stale mount is left
    wait_for(lambda: not pid_alive(pid), timeout=10, what="the server to die")
    with pytest.raises(OSError) as e:
        os.listdir(mnt)
    assert e.value.errno in (errno.ENOTCONN, errno.ECONNABORTED)  # the kernel says "stale"
    line = assert_user_error(run_aifs(cli_env, "mount", str(mnt)), 9)
    assert "aifs umount" in line  # tells the user the way out
    ok(run_aifs(cli_env, "umount", str(mnt)))
    assert mount_entry(mnt) is None and os.listdir(mnt) == []
    ok(run_aifs(cli_env, "mount", str(mnt)))  # and the mount point is usable again
    assert os.path.ismount(mnt)
    ok(run_aifs(cli_env, "umount", str(mnt)))
