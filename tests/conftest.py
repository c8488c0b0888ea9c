"""Shared test helpers: where ../shared is, fast vaults, a temporary HOME with real fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO.parent / "shared").resolve()
FIXTURES = SHARED / "fixtures"
TEST_PASSPHRASE = "correct horse battery staple"


def need_fixtures() -> Path:
    """The shared fixtures folder, or skip the test with a reason when it is absent."""
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present (clone the project with shared/ beside it)")
    return FIXTURES


@pytest.fixture
def fast_kdf():
    """Weak Argon2id parameters: tests open vaults often; the format is the same."""
    from vault.keys import KdfParams
    return KdfParams(t_cost=1, m_cost_kib=1024, parallelism=1)


@pytest.fixture
def new_vault(tmp_path, fast_kdf):
    """A fresh unlocked vault in a temporary directory: ``(vault, recovery_key_text)``."""
    from vault.vault import Vault
    return Vault.create(tmp_path / "vault", TEST_PASSPHRASE, fast_kdf)


@pytest.fixture
def cli_env(tmp_path):
    """Environment for running the ``aifs`` CLI in a subprocess against a temporary vault."""
    env = dict(os.environ)
    env.update(AIFS_VAULT=str(tmp_path / "vault"), AIFS_PASSPHRASE=TEST_PASSPHRASE,
               AIFS_CONFIG=str(tmp_path / "no-config.toml"), HOME=str(tmp_path / "home"))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "AIFS_RECOVERY_KEY", "AIFS_ORG"):
        env.pop(var, None)
    (tmp_path / "home").mkdir(exist_ok=True)
    return env
