"""``aifs import`` as a user runs it: real CLI, real vault, real mount, real exports built
from the shared fixtures; and every kind of bad export (exit 13, one line, vault untouched)."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import need_fixtures

from .helpers import assert_user_error, ls_json, needs_mount, ok, run_aifs

EMAIL = "export-owner@example.org"


def chatgpt_export(tmp_path: Path, name="chatgpt-export.zip") -> tuple[Path, list[bytes]]:
    """A ChatGPT export zip whose conversations.json holds every ChatGPT fixture's entries
    (as exact byte slices), plus user.json. Returns the zip and the entries' bytes."""
    fx = need_fixtures() / "chatgpt"
    entries: list[bytes] = []
    for path in sorted(fx.rglob("*.json")):
        doc = json.loads(path.read_bytes())
        for item in doc if isinstance(doc, list) else [doc]:
            entries.append(json.dumps(item, ensure_ascii=False).encode())
    body = b"[\n" + b",\n".join(entries) + b"\n]\n"
    out = tmp_path / name
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("conversations.json", body)
        z.writestr("user.json", json.dumps({"id": "user-e2e", "email": EMAIL}))
        z.writestr("chat.html", "<html></html>")
    return out, entries


def import_json(env, path, *extra) -> dict:
    res = run_aifs(env, "import", str(path), "--json", *extra)
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout)


def test_import_twice_then_newer_export(cli_env, new_vault, tmp_path):
    path, entries = chatgpt_export(tmp_path)
    first = import_json(cli_env, path)
    with_mapping = [e for e in entries if b'"mapping"' in e]
    assert first["provider"] == "chatgpt" and first["org"] == EMAIL and first["full"]
    assert first["new"] == len(with_mapping) and first["seen"] == len(with_mapping)
    assert first["skipped"] == len(entries) - len(with_mapping) >= 1  # the entry without mapping
    assert all(s["reason"] for s in first["skips"])
    assert first["export_status"] == "new" and first["complete"]

    again = import_json(cli_env, path)
    assert (again["new"], again["changed"], again["bytes_stored"]) == (0, 0, 0)
    assert again["unchanged"] == len(with_mapping) and again["export_status"] == "unchanged"

    rows = ls_json(cli_env)
    chats = [r for r in rows if r["provider"] == "chatgpt" and not r["id"].startswith("export-")]
    assert len(chats) == len(with_mapping) and all(r["versions"] == 1 for r in chats)
    assert all(r["org"] == EMAIL for r in rows)

    # A newer full export: one conversation gone, one changed.
    docs = [json.loads(e) for e in with_mapping]
    gone, changed = docs[0], docs[1]
    changed["title"] = "Renamed upstream"
    changed["update_time"] = 1_800_000_000.0
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as z:
        z.writestr("conversations.json", json.dumps(docs[1:]))
        z.writestr("user.json", json.dumps({"id": "user-e2e", "email": EMAIL}))
    third = import_json(cli_env, newer)
    assert (third["changed"], third["new"], third["deleted_upstream"]) == (1, 0, 1)
    rows = {r["id"]: r for r in ls_json(cli_env)}
    gone_id = gone.get("conversation_id") or gone.get("id")
    assert rows[gone_id]["deleted_upstream_at"] is not None and rows[gone_id]["versions"] == 1
    changed_id = changed.get("conversation_id") or changed.get("id")
    assert rows[changed_id]["versions"] == 2 and rows[changed_id]["title"] == "Renamed upstream"


@needs_mount
def test_the_mount_shows_the_export_byte_for_byte(cli_env, new_vault, tmp_path, mounts):
    path, entries = chatgpt_export(tmp_path)
    ok(run_aifs(cli_env, "import", str(path)))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(cli_env, "mount", str(mnt)))
    provider = mnt / EMAIL / "chatgpt"
    dirs = sorted(os.listdir(provider))
    stored = []
    for d in dirs:
        latest = provider / d / "latest"
        files = set(os.listdir(latest))
        assert {"conversation.md", "meta.json"} <= files
        meta = json.loads((latest / "meta.json").read_bytes())
        assert meta["provider"] == "chatgpt" and meta["deleted_upstream_at"] is None
        if d.startswith("Data_export") or meta["native_id"].startswith("export-"):
            assert (latest / "chatgpt-export.zip").read_bytes() == path.read_bytes()
            continue
        raw = (latest / "conversation.json").read_bytes()
        stored.append(raw)
        md = (latest / "conversation.md").read_text()
        assert md.startswith("#") and "could not be rendered" not in md
    assert sorted(stored) == sorted(e for e in entries if b'"mapping"' in e)

    # A newer full export without the first conversation, imported while mounted: its
    # meta.json gains deleted_upstream_at (kernel caches included), its files stay.
    docs = [json.loads(e) for e in entries if b'"mapping"' in e]
    gone = docs[0].get("conversation_id") or docs[0].get("id")
    gone_dir = next(provider / d for d in dirs if d.endswith(gone))
    meta_path = gone_dir / "latest" / "meta.json"
    assert json.loads(meta_path.read_bytes())["deleted_upstream_at"] is None
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as z:
        z.writestr("conversations.json", json.dumps(docs[1:]))
        z.writestr("user.json", json.dumps({"email": EMAIL}))
    ok(run_aifs(cli_env, "import", str(newer)))
    deadline = time.monotonic() + 15
    while True:  # the mount sees the commit within a few seconds; never a torn file
        meta = json.loads(meta_path.read_bytes())
        if meta["deleted_upstream_at"] is not None:
            break
        assert time.monotonic() < deadline, "meta.json never showed the deletion"
        time.sleep(0.3)
    assert os.stat(meta_path).st_size == len(meta_path.read_bytes())
    assert (gone_dir / "latest" / "conversation.json").read_bytes() in entries


@pytest.mark.parametrize("name, make, words", [
    ("bad-export.zip", lambda p: p.write_bytes(b"PK\x03\x04" + os.urandom(2000)), "damaged or cut off"),
    ("bad-export.zip", lambda p: p.write_bytes(b'{"hello": "world"}'), "damaged or cut off"),
    ("export.json", lambda p: p.write_bytes(b'{"hello": "world"}'), "not a data export"),
    ("export.json", lambda p: p.write_bytes(b""), "empty"),
])
def test_bad_exports_leave_the_vault_untouched(cli_env, new_vault, tmp_path, name, make, words):
    path, _ = chatgpt_export(tmp_path)
    ok(run_aifs(cli_env, "import", str(path)))
    before = ls_json(cli_env)
    vault_files = {p: p.stat().st_mtime_ns for p in (tmp_path / "vault" / "packs").rglob("*")}
    bad = tmp_path / name
    make(bad)
    line = assert_user_error(run_aifs(cli_env, "import", str(bad)), 13)
    assert str(bad) in line and words in line
    assert ls_json(cli_env) == before
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "vault" / "packs").rglob("*")} == vault_files


def test_a_half_downloaded_export_is_refused(cli_env, new_vault, tmp_path):
    path, _ = chatgpt_export(tmp_path)
    with zipfile.ZipFile(path) as z:
        body = z.read("conversations.json")
    folder = tmp_path / "extracted"
    folder.mkdir()
    (folder / "conversations.json").write_bytes(body[: len(body) * 2 // 3])
    (folder / "user.json").write_text(json.dumps({"email": EMAIL}))
    res = run_aifs(cli_env, "import", str(folder))
    assert res.returncode == 13 and "Traceback" not in res.stderr
    assert "half-downloaded" in res.stderr and "conversations.json" in res.stderr
    assert ls_json(cli_env) == []
    cut = tmp_path / "cut.zip"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "cut off" in assert_user_error(run_aifs(cli_env, "import", str(cut)), 13)
