"""The first run as the README tells it: ``aifs init`` (passphrase from the environment, a
recovery key printed once), collect, and a mount opened with the recovery key alone."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from tests.collectors.collector_fixtures import build_codex_home

from .helpers import (assert_user_error, collect_json, conversation_dir, ls_json, needs_mount,
                      ok, run_aifs)

KEY = re.compile(r"^\s+(AIFS(?:-[A-Z2-7]+)+)\s*$", re.M)


@needs_mount
def test_init_collect_and_mount_with_the_recovery_key(cli_env, tmp_path, mounts):
    vault = Path(cli_env["AIFS_VAULT"])
    res = ok(run_aifs(cli_env, "init"))
    [key] = KEY.findall(res.stdout)
    assert cli_env["AIFS_PASSPHRASE"] not in res.stdout + res.stderr
    assert "already exists" in assert_user_error(run_aifs(cli_env, "init"), 4)
    for p in [vault, *vault.rglob("*")]:  # owner-only on disk too
        assert stat.S_IMODE(p.lstat().st_mode) & 0o077 == 0, (p, oct(p.lstat().st_mode))

    codex = build_codex_home(tmp_path)
    assert collect_json(cli_env, codex.home, "--org", "first")["failed"] == 0

    by_key = {k: v for k, v in cli_env.items() if k != "AIFS_PASSPHRASE"}
    by_key["AIFS_RECOVERY_KEY"] = key
    assert {r["id"] for r in ls_json(by_key)} == \
        {ident for ident, _ in codex.sessions.values()} | {"history"}
    bad = dict(by_key, AIFS_RECOVERY_KEY=key[:-3] + ("AAA" if not key.endswith("AAA") else "BBB"))
    assert_user_error(run_aifs(bad, "ls"), 5)

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(by_key, "mount", str(mnt)))
    for ident, src in codex.sessions.values():
        conv = conversation_dir(mnt / "first" / "codex", ident)
        assert (conv / "latest" / src.name).read_bytes() == src.read_bytes()
    ok(run_aifs(by_key, "umount", str(mnt)))
    assert not os.path.ismount(mnt)
