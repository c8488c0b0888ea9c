"""Every built-in importer against the shared conformance suite (collectors/import_testing.py),
each on a small export made from the shared fixtures. Also: no importer claims another
platform's export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from collectors.chatgpt import ChatGPTImporter
from collectors.claude_ai import ClaudeAiImporter
from collectors.copilot_chat.export import CopilotChatExportImporter
from collectors.deepseek import DeepSeekImporter
from collectors.export_source import open_export
from collectors.gemini_apps import GeminiAppsImporter
from collectors.grok import GrokImporter
from collectors.import_testing import ImporterConformance
from collectors.lechat import LeChatImporter
from collectors.perplexity import PerplexityImporter
from tests.conftest import need_fixtures

from .import_helpers import zip_members


def fixture(rel: str) -> bytes:
    return (need_fixtures() / rel).read_bytes()


def chatgpt_export(tmp_path: Path) -> Path:
    entries = []
    for rel in ("chatgpt/LibreChat/chatgpt-tree.json", "chatgpt/LibreChat/chatgpt-modern-export.json",
                "chatgpt/chatgpt-export-parser/example-conversation.json"):
        entries += json.loads(fixture(rel))
    return zip_members(tmp_path / "chatgpt.zip", {
        "conversations.json": json.dumps(entries).encode(),
        "user.json": b'{"id": "user-1", "email": "a@example.org"}'})


def claude_export(tmp_path: Path) -> Path:
    conv = {"uuid": "c0ffee00-0000-4000-8000-000000000001", "name": "Plan", "summary": "",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:05:00Z",
            "account": {"uuid": "acct-1"},
            "chat_messages": [
                {"uuid": "m1", "sender": "human", "text": "hello", "content": [],
                 "created_at": "2026-01-01T00:00:00Z", "attachments": [
                     {"file_name": "notes.txt", "file_type": "txt", "file_size": 5,
                      "extracted_content": "notes"}], "files": []},
                {"uuid": "m2", "sender": "assistant", "text": "hi", "content": [],
                 "created_at": "2026-01-01T00:00:05Z", "attachments": [], "files": []}]}
    return zip_members(tmp_path / "claude.zip", {
        "conversations.json": json.dumps([conv]).encode(),
        "users.json": b'[{"uuid": "acct-1", "email_address": "a@example.org"}]',
        "projects.json": b"[]"})


def copy_to(tmp_path: Path, rel: str, name: str | None = None) -> Path:
    src = need_fixtures() / rel
    out = tmp_path / (name or src.name)
    shutil.copyfile(src, out)
    return out


class TestChatGPT(ImporterConformance):
    importer_class = ChatGPTImporter

    def make_export(self, tmp_path):
        return chatgpt_export(tmp_path)


class TestClaudeAi(ImporterConformance):
    importer_class = ClaudeAiImporter

    def make_export(self, tmp_path):
        return claude_export(tmp_path)


class TestGemini(ImporterConformance):
    importer_class = GeminiAppsImporter

    def make_export(self, tmp_path):
        return zip_members(tmp_path / "takeout.zip", {
            "Takeout/My Activity/Gemini Apps/MyActivity.json":
                fixture("gemini-apps/synthetic/MyActivity.json")})


class TestDeepSeek(ImporterConformance):
    importer_class = DeepSeekImporter

    def make_export(self, tmp_path):
        return zip_members(tmp_path / "deepseek.zip", {
            "conversations.json": fixture("deepseek/synthetic/conversations.json")})


class TestGrok(ImporterConformance):
    importer_class = GrokImporter

    def make_export(self, tmp_path):
        return zip_members(tmp_path / "grok.zip", {
            "ttl/30d/export_data/u1/prod-grok-backend.json":
                fixture("grok/synthetic/prod-grok-backend.json")})


class TestLeChat(ImporterConformance):
    importer_class = LeChatImporter

    def make_export(self, tmp_path):
        name = "chat-0b9c7d36-5f4e-4d3a-9a8b-1c2d3e4f5a6b"
        return zip_members(tmp_path / "lechat.zip", {
            f"{name}.json": fixture(f"lechat/synthetic/{name}.json"),
            f"{name}-files/notes.txt": b"- budget\n"})


class TestPerplexity(ImporterConformance):
    importer_class = PerplexityImporter

    def make_export(self, tmp_path):
        return copy_to(tmp_path, "perplexity/synthetic/perplexity_thread.json")


class TestCopilotExport(ImporterConformance):
    importer_class = CopilotChatExportImporter

    def make_export(self, tmp_path):
        return copy_to(tmp_path, "copilot/copilot-chat-to-markdown/chat.json")


ALL = [TestChatGPT, TestClaudeAi, TestGemini, TestDeepSeek, TestGrok, TestLeChat,
       TestPerplexity, TestCopilotExport]


@pytest.mark.parametrize("owner", ALL, ids=lambda c: c.importer_class.name)
def test_exactly_one_importer_claims_each_export(owner, tmp_path):
    path = owner().make_export(tmp_path)
    with open_export(path) as export:
        claimed = [c.importer_class.name for c in ALL if c.importer_class().detect(export)]
    assert claimed == [owner.importer_class.name]
