"""`aifs collectors` and the config file's per-collector settings, through the real CLI."""

import json
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "contrib" / "samples" / "home"


def aifs(env, *args):
    return subprocess.run([sys.executable, "-m", "aifs", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_collectors_lists_every_registered_collector(cli_env, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(SAMPLES, home, dirs_exist_ok=True)
    r = aifs(cli_env, "collectors", "--json", "--home", str(home))
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {ep.name for ep in entry_points(group="aifs.collectors")}
    assert rows["claude-code"]["found"] and rows["claude-code"]["conversations"] >= 4
    assert rows["codex"]["found"] and rows["codex"]["conversations"] == 1
    assert rows["claude-code"]["paths"] == [str(home / ".claude")]
    assert not rows["cursor"]["found"] and rows["cursor"]["conversations"] == 0


def test_config_turns_a_collector_off_and_points_another_elsewhere(cli_env, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(SAMPLES, home, dirs_exist_ok=True)
    elsewhere = tmp_path / "codex-elsewhere"
    shutil.move(str(home / ".codex"), elsewhere)
    Path(cli_env["AIFS_CONFIG"]).write_text(
        '[collectors.claude-code]\nenabled = false\n\n'
        f'[collectors.codex]\npath = "{elsewhere}"\n')
    assert aifs(cli_env, "init").returncode == 0
    r = aifs(cli_env, "collect", "--json", "--home", str(home))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert set(summary["per_collector"]) >= {"codex"}
    assert "claude-code" not in summary["per_collector"]
    assert summary["per_collector"]["codex"]["new"] == 1
    listed = json.loads(aifs(cli_env, "collectors", "--json", "--home", str(home)).stdout)
    state = {row["name"]: row for row in listed}
    assert state["claude-code"]["enabled"] is False
    assert state["codex"]["paths"] == [str(elsewhere)]
