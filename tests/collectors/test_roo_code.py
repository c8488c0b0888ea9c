"""RooCodeCollector: the shared task collector on Roo Code's global storage folder.

Inputs: tests/data/collectors/cline/ (written from the Roo Code and Cline sources, see its
README), copied into ``<User>/globalStorage/rooveterinaryinc.roo-cline/tasks/<id>/``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from collectors import CollectContext, SourceItem
from collectors.cline import ClineCollector, RooCodeCollector
from collectors.testing import CollectorConformance

from .collector_fixtures import DATA

SRC = DATA / "cline"
ROO = "rooveterinaryinc.roo-cline"
V2_TASK = "0b5e6c1a-7d2f-4b3e-9a8c-1f2e3d4c5b6a"
LEGACY_TASK = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"

collector = RooCodeCollector()


def build_home(home: Path) -> Path:
    code = home / ".config" / "Code" / "User" / "globalStorage" / ROO / "tasks"
    shutil.copytree(SRC / "roo-v2", code / V2_TASK)
    server = home / ".vscode-server" / "data" / "User" / "globalStorage" / ROO / "tasks"
    shutil.copytree(SRC / "1718000000000", server / LEGACY_TASK)  # Anthropic-format history
    (server / "_index.json").write_text(json.dumps({"version": 1, "entries": []}))
    return home


def discover(home: Path) -> dict[str, SourceItem]:
    found = list(collector.discover(CollectContext(home=home, env={})))
    assert all(isinstance(f, SourceItem) for f in found), found
    return {f.key: f for f in found}


class TestRooCodeConformance(CollectorConformance):
    credential_files = (
        f".config/Code/User/globalStorage/{ROO}/secrets.json",
        f".config/Code/User/globalStorage/{ROO}/tasks/{V2_TASK}/.env",
        f".config/Code/User/globalStorage/{ROO}/tasks/{V2_TASK}/checkpoints/.git/config",
    )

    def make_collector(self):
        return RooCodeCollector()

    def make_sources(self, home: Path) -> None:
        build_home(home)


def test_roo_code_reads_its_own_folder_only(tmp_path):
    home = build_home(tmp_path)
    cline = home / ".config" / "Code" / "User" / "globalStorage" / "saoudrizwan.claude-dev" / "tasks"
    shutil.copytree(SRC / "1718000000000", cline / "1718000000000")
    shutil.copytree(SRC / "1718000000000", home / ".cline" / "data" / "tasks" / "1718000000001")
    assert set(discover(home)) == {V2_TASK, LEGACY_TASK}
    assert {i.key for i in ClineCollector().discover(CollectContext(home=home, env={}))} == {
        "1718000000000", "1718000000001"
    }


def test_roo_code_task_reads_and_renders(tmp_path):
    home = build_home(tmp_path)
    ctx = CollectContext(home=home, env={})
    snap = collector.read(discover(home)[V2_TASK], ctx)
    assert snap.provider == "roo-code" and snap.native_id == V2_TASK
    assert snap.title == "Rename the `fetchAll` helper to `loadAll` everywhere."
    assert snap.created_at == 1740000000.0 and snap.updated_at == 1740000005.0
    assert snap.attributes["host"] == "Code" and snap.attributes["api_messages"] == 5
    files = {f.name: Path(f.path).read_bytes() for f in snap.files}
    assert set(files) == {"api_conversation_history.json", "ui_messages.json", "history_item.json"}
    text = collector.render_markdown(files, {"native_id": snap.native_id, "title": snap.title})
    assert "- **Extension:** Roo Code" in text
    for expected in ("Search for fetchAll usages first.", "**Tool output** (`search_files`) for `call_1`",
                     "Renamed `fetchAll` to `loadAll` in src/api.ts.", "(900 in, 40 out, $0.0040)"):
        assert expected in text, expected
    legacy = collector.read(discover(home)[LEGACY_TASK], ctx)
    assert legacy.attributes["host"] == ".vscode-server"
    assert legacy.title == "Add a --dry-run flag to the deploy script."
