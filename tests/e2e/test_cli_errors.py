"""Mistakes as a user meets them: exit code from the table in aifs/cli.py, one line on
stderr, no traceback, nothing left mounted."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import TEST_PASSPHRASE
from vault.vault import Vault

from .helpers import assert_user_error, mount_entry, needs_mount, ok, run_aifs


@needs_mount
def test_mount_and_umount_errors(cli_env, new_vault, tmp_path, mounts):
    missing = tmp_path / "nope"
    line = assert_user_error(run_aifs(cli_env, "mount", str(missing)), 8)
    assert "nope" in line and not missing.exists()

    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert_user_error(run_aifs(cli_env, "mount", str(a_file)), 8)

    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("mine")
    assert "not empty" in assert_user_error(run_aifs(cli_env, "mount", str(full)), 9)
    assert not os.path.ismount(full) and os.listdir(full) == ["something"]

    mnt = tmp_path / "my archive ☃"  # /proc/self/mountinfo escapes the space as \040
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(cli_env, "mount", str(mnt)))  # an empty vault mounts as an empty tree
    assert os.path.ismount(mnt) and os.listdir(mnt) == []
    assert mount_entry(mnt)[0] == "fuse.aifs"
    assert_user_error(run_aifs(cli_env, "mount", str(mnt)), 9)
    assert os.path.ismount(mnt)  # the first mount is untouched
    busy = subprocess.Popen(["sleep", "60"], cwd=mnt)  # a shell sitting in the mount
    try:
        assert "busy" in assert_user_error(run_aifs(cli_env, "umount", str(mnt)), 9)
        assert os.path.ismount(mnt)
    finally:
        busy.kill()
        busy.wait()
    ok(run_aifs(cli_env, "umount", str(mnt)))
    assert not os.path.ismount(mnt) and mount_entry(mnt) is None
    assert_user_error(run_aifs(cli_env, "umount", str(mnt)), 11)  # no longer mounted

    plain = tmp_path / "plain"
    plain.mkdir()
    assert "not mounted" in assert_user_error(run_aifs(cli_env, "umount", str(plain)), 11)


@needs_mount
def test_wrong_passphrase_mounts_nothing(cli_env, new_vault, tmp_path, mounts):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    wrong = dict(cli_env, AIFS_PASSPHRASE="not the passphrase")
    line = assert_user_error(run_aifs(wrong, "mount", str(mnt)), 5)
    assert "not the passphrase" not in line
    assert not os.path.ismount(mnt) and mount_entry(mnt) is None and os.listdir(mnt) == []
    assert_user_error(run_aifs(wrong, "collect", "--home", cli_env["HOME"]), 5)
    assert_user_error(run_aifs(wrong, "ls"), 5)


def test_no_vault(cli_env, tmp_path):
    env = dict(cli_env, AIFS_VAULT=str(tmp_path / "no-vault-here"))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    assert_user_error(run_aifs(env, "mount", str(mnt)), 3)
    assert not os.path.ismount(mnt)
    assert_user_error(run_aifs(env, "collect", "--home", cli_env["HOME"]), 3)


def test_second_collect_while_one_holds_the_lock(cli_env, new_vault, tmp_path):
    vault = Vault.open(cli_env["AIFS_VAULT"], passphrase=TEST_PASSPHRASE)
    with vault.writer():
        res = run_aifs(cli_env, "collect", "--home", cli_env["HOME"], timeout=30)
        assert_user_error(res, 6)
    ok(run_aifs(cli_env, "collect", "--home", cli_env["HOME"]))  # free again
