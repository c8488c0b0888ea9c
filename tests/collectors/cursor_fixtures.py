"""Test helpers for the Cursor collector: databases built at test time, homes laid out as
Cursor writes them.

Nothing binary is committed: the global ``state.vscdb``, the modern workspace database and
the cursor-agent ``store.db`` are built here from JSON in ``tests/data/collectors/cursor/``
(written from the documented schemas, see its README). The real workspace capture and the
cursor-agent fixtures come from ``../shared/fixtures/cursor`` (copied, never modified).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors import CollectContext

from .collector_fixtures import DATA, SECRET, need_fixtures

CURSOR_DATA = DATA / "cursor"
USER_REL = Path(".config/Cursor/User")
KV_SCHEMA = "CREATE TABLE {} (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)"
TOKEN = b"eyJhbGciOiJIUzI1NiJ9." + SECRET  # what a planted cursorAuth/accessToken holds

A_ID = "6f1c2a3b-0d4e-4f50-8a61-7b8c9d0e1f2a"  # "Fix the flaky login test"
B_ID = "7a2b3c4d-1e5f-4a60-9b72-8c9d0e1f2a3b"  # no name, a missing and a rewound bubble
C_ID = "8b3c4d5e-2f60-4b71-8c83-9d0e1f2a3b4c"  # 0.4x inline conversation
DRAFT_ID = "9c4d5e6f-3a71-4c82-9d94-0e1f2a3b4c5d"
E_ID = "0d5e6f7a-4b82-4d93-8ea5-1f2a3b4c5d6e"  # title only in richText, a BLOB bubble
REAL_WS = "5c1e0e64f7a1b1a0d7a8e2c2b9f3d6a1"  # hash folder of the real capture
MODERN_WS = "e4e90b7bcae743c9a1a1a045a49e1b1d"


def composers_spec() -> dict[str, Any]:
    return json.loads((CURSOR_DATA / "global_composers.json").read_text())


def store_spec() -> dict[str, Any]:
    return json.loads((CURSOR_DATA / "agent_store.json").read_text())


def kv_rows(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """``(key, value)`` rows of the global cursorDiskKV for the composers in ``spec``."""
    rows: list[tuple[str, Any]] = []
    for composer in spec["composers"]:
        header = composer["composerData"]
        cid = header["composerId"]
        rows.append((f"composerData:{cid}", json.dumps(header)))
        for bubble in composer["bubbles"]:
            as_blob = bubble.pop("_blob", False)
            text = json.dumps(bubble)
            value = text.encode() if as_blob else text
            rows.append((f"bubbleId:{cid}:{bubble['bubbleId']}", value))
    return rows


def write_kv_db(
    path: Path,
    tables: dict[str, list[tuple[str, Any]]],
    *,
    wal: bool = False,
    keep_open: bool = False,
) -> sqlite3.Connection | None:
    """A VS Code style key-value database (``ItemTable``/``cursorDiskKV``) with ``tables``.
    With ``keep_open`` the writer connection is returned open (WAL auto-checkpoint off), like
    a running Cursor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA wal_autocheckpoint=0")
    for table, rows in tables.items():
        con.execute(KV_SCHEMA.format(table))
        con.executemany(f"INSERT INTO {table} (key, value) VALUES (?, ?)", rows)
    con.commit()
    if keep_open:
        return con
    con.close()
    return None


def credential_rows() -> list[tuple[str, Any]]:
    return [
        ("cursorAuth/accessToken", TOKEN.decode()),
        ("cursorAuth/refreshToken", TOKEN.decode()),
        ("cursorAuth/cachedEmail", "u@example.com"),
    ]


def build_global_db(user: Path, *, wal: bool = True, keep_open: bool = False):
    """``User/globalStorage/state.vscdb`` with the composers of ``global_composers.json``
    and planted ``cursorAuth/*`` rows in both tables."""
    rows = kv_rows(composers_spec())
    item_rows = [("workbench.panel.aichat.view.aichat.chatdata", '{"tabs":[]}'), *credential_rows()]
    return write_kv_db(
        user / "globalStorage" / "state.vscdb",
        {"ItemTable": item_rows, "cursorDiskKV": rows + credential_rows()},
        wal=wal,
        keep_open=keep_open,
    )


def build_modern_workspace(user: Path, folder: str = "file:///home/u/proj") -> Path:
    """A current workspace database: composer references only (the messages live in the
    global database), a prompt history, and planted credentials."""
    ws = user / "workspaceStorage" / MODERN_WS
    refs = {
        "allComposers": [
            {"type": "head", "composerId": A_ID, "name": "Fix the flaky login test",
             "createdAt": 1766691308486, "lastUpdatedAt": 1766692125731, "unifiedMode": "agent"},
            {"type": "head", "composerId": B_ID, "createdAt": 1766700000000},
        ],
        "selectedComposerIds": [A_ID],
    }
    prompts = [{"text": "The login test fails one run in five. Find out why and fix it.",
                "commandType": 4},
               {"text": "Thanks. Add a comment explaining the timeout.", "commandType": 4}]
    write_kv_db(ws / "state.vscdb", {"ItemTable": [
        ("composer.composerData", json.dumps(refs)),
        ("aiService.prompts", json.dumps(prompts)),
        *credential_rows(),
    ]})
    (ws / "workspace.json").write_text(json.dumps({"folder": folder}, indent=2))
    return ws


def place_real_workspace(user: Path) -> Path:
    """The real workspace capture (slevin48/cursor-history) as one workspace folder."""
    src = need_fixtures() / "cursor" / "cursor-history" / "state.vscdb"
    ws = user / "workspaceStorage" / REAL_WS
    ws.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, ws / "state.vscdb")
    (ws / "workspace.json").write_text(
        json.dumps({"folder": "file:///c%3A/Users/ydebray/Documents/mobilechat"}, indent=2)
    )
    return ws


# -- cursor-agent ---------------------------------------------------------------------------


def md5_dir(cwd: str) -> str:
    return hashlib.md5(cwd.encode()).hexdigest()


def tree_node(children: list[str]) -> bytes:
    """A tree node blob: protobuf field 1 (0x0A, length 0x20) per child id."""
    return b"".join(b"\x0a\x20" + bytes.fromhex(c) for c in children)


def build_agent_store(chats: Path, spec: dict[str, Any] | None = None, *, wal: bool = True) -> Path:
    """``chats/<md5(cwd)>/<agentId>/store.db`` from ``agent_store.json``."""
    spec = spec or store_spec()
    meta = dict(spec["meta"])
    blobs: list[tuple[str, bytes]] = []

    def add(data: bytes) -> str:
        ident = hashlib.sha256(data).hexdigest()
        blobs.append((ident, data))
        return ident

    ids = [add(json.dumps(m).encode()) for m in spec["messages"]]
    for message in spec.get("earlier", []):
        add(json.dumps(message).encode())
    nodes = [add(tree_node([ids[i] for i in group])) for group in spec["tree"]]
    meta["latestRootBlobId"] = add(tree_node(nodes))
    path = chats / md5_dir(spec["cwd"]) / meta["agentId"] / "store.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE blobs (id TEXT PRIMARY KEY, data BLOB)")
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    con.executemany("INSERT INTO blobs VALUES (?, ?)", blobs)
    con.execute("INSERT INTO meta VALUES ('0', ?)", (json.dumps(meta).encode().hex(),))
    con.commit()
    con.close()
    return path


def place_fixture_store(chats: Path) -> Path:
    """The hand-built ``test-store.db`` (jazzyalex/agent-sessions) where cursor-agent keeps it:
    the folder is named after its agentId."""
    src = need_fixtures() / "cursor" / "agent-sessions" / "cli-chats" / "test-store.db"
    path = chats / md5_dir("/home/u/other") / "a1b2c3d4-e5f6-7890-abcd-ef1234567890" / "store.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, path)
    return path


def transcript_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aifs-test:cursor:{name}"))


@dataclass
class CursorHome:
    """A tmp ``$HOME`` for the Cursor collector. ``transcripts`` maps a fixture name to
    ``(transcript id, main file)``; ``stores`` the session ids to their ``store.db``."""

    home: Path
    user: Path
    agent: Path
    transcripts: dict[str, tuple[str, Path]] = field(default_factory=dict)
    stores: dict[str, Path] = field(default_factory=dict)
    real_workspace: Path | None = None

    @property
    def ctx(self) -> CollectContext:
        return CollectContext(home=self.home, env={})


def place_transcripts(agent: Path, built: CursorHome | None = None) -> dict[str, tuple[str, Path]]:
    """The cursor-agent transcript fixtures under ``projects/home-u-proj/agent-transcripts``:
    nested layout, subagent files in ``subagents/``, one flat file."""
    fixtures = need_fixtures() / "cursor" / "agent-sessions"
    folder = agent / "projects" / "home-u-proj" / "agent-transcripts"
    placed: dict[str, tuple[str, Path]] = {}
    plan = [
        ("small.jsonl", fixtures / "agent-transcripts" / "small.jsonl", None),
        ("large.jsonl", fixtures / "agent-transcripts" / "large.jsonl", None),
        ("schema_drift.jsonl", fixtures / "agent-transcripts" / "schema_drift.jsonl", None),
        ("subagent/parent.jsonl", fixtures / "agent-transcripts" / "subagent" / "parent.jsonl",
         fixtures / "agent-transcripts" / "subagent" / "subagents" / "child.jsonl"),
        ("test-session.jsonl", fixtures / "cli-chats" / "test-session.jsonl",
         fixtures / "cli-chats" / "subagent-session.jsonl"),
    ]
    for name, src, child in plan:
        ident = A_ID if name == "large.jsonl" else transcript_id(name)  # one shares a composer id
        main = folder / ident / f"{ident}.jsonl"
        main.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, main)
        if child is not None:
            sub = main.parent / "subagents" / child.name
            sub.parent.mkdir()
            shutil.copyfile(child, sub)
        placed[name] = (ident, main)
    flat_id = transcript_id("flat")
    flat = folder / f"{flat_id}.jsonl"
    shutil.copyfile(fixtures / "agent-transcripts" / "small.jsonl", flat)
    placed["flat:small.jsonl"] = (flat_id, flat)
    return placed


def plant_cursor_secrets(home: Path, agent: Path) -> None:
    """Credential files a collector must never pick up, also through a symlink."""
    (agent / "cli-config.json").write_bytes(b'{"accessToken":"' + TOKEN + b'"}')
    auth = home / ".config" / "cursor" / "auth.json"
    auth.parent.mkdir(parents=True, exist_ok=True)
    auth.write_bytes(b'{"accessToken":"' + TOKEN + b'"}')
    folder = next((agent / "projects").glob("*/agent-transcripts/*/"), None)
    if folder is not None:
        (folder / "subagents").mkdir(exist_ok=True)
        (folder / "subagents" / "leak.jsonl").symlink_to(agent / "cli-config.json")


def build_cursor_home(tmp_path: Path) -> CursorHome:
    """Everything: global DB (WAL, built), modern workspace (built), the real workspace
    capture, two cursor-agent sessions (one built, one fixture), the transcript fixtures,
    planted credentials."""
    home = tmp_path / "home"
    user = home / USER_REL
    agent = home / ".cursor"
    built = CursorHome(home, user, agent)
    build_global_db(user)
    build_modern_workspace(user)
    built.real_workspace = place_real_workspace(user)
    chats = agent / "chats"
    built.stores[store_spec()["meta"]["agentId"]] = build_agent_store(chats)
    built.stores["a1b2c3d4-e5f6-7890-abcd-ef1234567890"] = place_fixture_store(chats)
    built.transcripts = place_transcripts(agent)
    plant_cursor_secrets(home, agent)
    return built
