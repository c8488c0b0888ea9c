"""The shared collector conformance suite (collectors/testing.py) on each built-in collector."""

import shutil
from pathlib import Path

from collectors.claude_code import ClaudeCodeCollector
from collectors.codex import CodexCollector
from collectors.testing import CollectorConformance

from .collector_fixtures import build_claude_home, build_codex_home, need_fixtures

SID = "11111111-2222-4333-8444-555555555555"


class TestClaudeCodeConformance(CollectorConformance):
    credential_files = (".claude/.credentials.json", ".claude/.encryption_key")

    def make_collector(self):
        return ClaudeCodeCollector()

    def make_sources(self, home: Path) -> None:
        need_fixtures()
        built = build_claude_home(home.parent / "build-claude")
        shutil.copytree(built.root, home / ".claude", dirs_exist_ok=True)

    def hostile_source(self, home: Path, title: str) -> bool:
        import json
        proj = home / ".claude" / "projects" / "-home-u-p"
        proj.mkdir(parents=True)
        lines = [{"type": "user", "uuid": "u1", "parentUuid": None, "sessionId": SID,
                  "timestamp": "2026-01-01T00:00:00Z", "message": {"role": "user", "content": "hi"}},
                 {"type": "custom-title", "customTitle": title, "sessionId": SID}]
        (proj / f"{SID}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        return True


class TestCodexConformance(CollectorConformance):
    credential_files = (".codex/auth.json",)

    def make_collector(self):
        return CodexCollector()

    def make_sources(self, home: Path) -> None:
        need_fixtures()
        built = build_codex_home(home.parent / "build-codex")
        shutil.copytree(built.root, home / ".codex", dirs_exist_ok=True)

    def hostile_source(self, home: Path, title: str) -> bool:
        import json
        d = home / ".codex" / "sessions" / "2026" / "01" / "02"
        d.mkdir(parents=True)
        lines = [{"timestamp": "2026-01-02T00:00:00Z", "type": "session_meta", "payload": {"id": SID}},
                 {"timestamp": "2026-01-02T00:00:01Z", "type": "event_msg",
                  "payload": {"type": "thread_name_updated", "thread_name": title}}]
        (d / f"rollout-2026-01-02T00-00-00-{SID}.jsonl").write_text(
            "".join(json.dumps(x) + "\n" for x in lines))
        return True
