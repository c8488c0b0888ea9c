"""Fixtures of the end-to-end tests.

``archive``: ALL Claude Code and Codex fixtures laid out in a temporary HOME (by
``tests/collectors/collector_fixtures.py``), collected with the real CLI into a fresh vault
and mounted with ``aifs mount``; shared by the read-only tests of this package, unmounted
(``aifs umount``, then always ``fusermount3 -u -z``) at the end of the session.

``mounts``: records mount points a test mounts and lazy-unmounts them in teardown, even
when the test failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.collectors.collector_fixtures import (ClaudeHome, CodexHome, build_claude_home,
                                                 build_codex_home)
import tests.conftest as root_conftest

from .helpers import (Expected, collect_json, expected_claude, expected_codex, force_unmount,
                      ls_json, ok, run_aifs)

ORG = "e2e-org-q7zv"


@dataclass
class Archive:
    base: Path
    env: dict
    home: Path
    vault: Path
    mnt: Path
    org: str
    claude: ClaudeHome
    codex: CodexHome
    expected: list[Expected]
    summary: dict
    listing: list[dict]


@pytest.fixture(scope="session")
def archive(tmp_path_factory):
    root_conftest.need_fixtures()
    base = tmp_path_factory.mktemp("archive")
    # the same environment and vault as the `cli_env` and `new_vault` fixtures give a test
    env = root_conftest.cli_env.__wrapped__(base)
    root_conftest.new_vault.__wrapped__(base, root_conftest.fast_kdf.__wrapped__())
    claude = build_claude_home(base)
    codex = build_codex_home(base)
    home = Path(env["HOME"])
    assert claude.home == codex.home == home
    summary = collect_json(env, home, "--org", ORG)
    listing = ls_json(env)
    mnt = base / "mnt"
    mnt.mkdir()
    try:
        ok(run_aifs(env, "mount", str(mnt)))
        yield Archive(base, env, home, Path(env["AIFS_VAULT"]), mnt, ORG, claude, codex,
                      expected_claude(claude) + expected_codex(codex), summary, listing)
    finally:
        run_aifs(env, "umount", str(mnt), timeout=30)
        force_unmount(mnt)


@pytest.fixture
def mounts():
    """``mounts.append(path)`` before mounting: lazy-unmounted in teardown whatever happens."""
    made: list[Path] = []
    yield made
    for m in made:
        force_unmount(m)
