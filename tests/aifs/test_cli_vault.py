"""The CLI's vault commands as a user runs them: real subprocesses, real vaults."""

import json
import os
import subprocess
import sys

import pytest

from vault.vault import Vault

from ..conftest import TEST_PASSPHRASE


def aifs(env, *args, input=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "aifs", *args], env=env, capture_output=True,
                          text=True, input=input, timeout=timeout)


def test_init_prints_recovery_key_once_and_refuses_to_overwrite(cli_env, tmp_path):
    r = aifs(cli_env, "init")
    assert r.returncode == 0, r.stderr
    key = next(line.strip() for line in r.stdout.splitlines() if line.strip().startswith("AIFS-"))
    assert Vault.open(tmp_path / "vault", recovery_key=key)
    again = aifs(cli_env, "init")
    assert again.returncode == 4
    assert "already exists" in again.stderr and "Traceback" not in again.stderr
    assert Vault.open(tmp_path / "vault", recovery_key=key)  # untouched


def test_passphrase_never_from_argv_but_from_file(cli_env, tmp_path):
    env = dict(cli_env)
    del env["AIFS_PASSPHRASE"]
    pf = tmp_path / "pass.txt"
    pf.write_text("from a file\n")
    assert aifs(env, "init", "--passphrase-file", str(pf)).returncode == 0
    assert Vault.open(tmp_path / "vault", passphrase="from a file")
    r = aifs(env, "ls")  # no terminal, no env, no file: a clear message, exit 5
    assert r.returncode == 5 and "AIFS_PASSPHRASE" in r.stderr and "Traceback" not in r.stderr
    r = aifs(env, "ls", "--passphrase", "x")
    assert r.returncode == 2  # there is no such option


def test_errors_are_one_line_with_distinct_codes(cli_env, tmp_path):
    missing = aifs(cli_env, "ls")
    assert missing.returncode == 3 and missing.stderr.count("\n") == 1
    assert aifs(cli_env, "init").returncode == 0
    wrong = aifs(dict(cli_env, AIFS_PASSPHRASE="nope"), "collect")
    assert wrong.returncode == 5 and "wrong passphrase" in wrong.stderr
    assert wrong.stderr.count("\n") == 1
    vault = Vault.open(tmp_path / "vault", passphrase=TEST_PASSPHRASE)
    with vault.writer():
        busy = aifs(cli_env, "collect")
    assert busy.returncode == 6 and "another aifs" in busy.stderr
    assert "Traceback" not in wrong.stderr + busy.stderr + missing.stderr


def test_ls_and_check_on_an_empty_and_a_damaged_vault(cli_env, tmp_path):
    from vault import ConversationSnapshot, RawFile
    assert aifs(cli_env, "init").returncode == 0
    assert json.loads(aifs(cli_env, "ls", "--json").stdout) == []
    vault = Vault.open(tmp_path / "vault", passphrase=TEST_PASSPHRASE)
    with vault.writer() as w:
        w.store(ConversationSnapshot("codex", "c-1", "Hello", (RawFile("r.jsonl", data=b"x" * 5000),),
                                     org="box"))
    rows = json.loads(aifs(cli_env, "ls", "--json").stdout)
    assert [(r["provider"], r["id"], r["title"], r["versions"]) for r in rows] == [("codex", "c-1", "Hello", 1)]
    ok = aifs(cli_env, "check", "--read-data")
    assert ok.returncode == 0 and "no problems" in ok.stdout
    pack = next(p for p in (tmp_path / "vault" / "packs").rglob("*") if p.is_file())
    data = bytearray(pack.read_bytes())
    data[20] ^= 0x01
    pack.write_bytes(bytes(data))
    quick = aifs(cli_env, "check")
    deep = aifs(cli_env, "check", "--read-data")
    assert deep.returncode == 1 and "problem:" in deep.stdout and pack.name in deep.stdout
    assert "codex/c-1" in deep.stdout  # says what is affected
    pack.unlink()
    gone = aifs(cli_env, "check")
    assert gone.returncode == 1 and "missing" in gone.stdout
    assert quick.returncode in (0, 1)
