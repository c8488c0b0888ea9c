"""pytest fixtures for collector tests (helpers in ``collector_fixtures.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .collector_fixtures import ClaudeHome, CodexHome, build_claude_home, build_codex_home


@pytest.fixture
def claude_home(tmp_path: Path) -> ClaudeHome:
    """A tmp $HOME with ~/.claude built from the shared fixtures (skips if they are absent)."""
    return build_claude_home(tmp_path)


@pytest.fixture
def codex_home(tmp_path: Path) -> CodexHome:
    """A tmp $HOME with ~/.codex built from the shared fixtures (skips if they are absent)."""
    return build_codex_home(tmp_path)
