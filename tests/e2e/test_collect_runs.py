"""Repeated ``aifs collect`` runs: a grown transcript appears in a live mount as a new
version; an unchanged (or only touched) source adds nothing."""

from __future__ import annotations

import json
import os
import uuid

from tests.collectors.collector_fixtures import build_claude_home, build_codex_home, records

from .helpers import (collect_json, conversation_dir, expected_claude, expected_codex,
                      ls_json, needs_mount, ok, run_aifs, sha256, version_dirs, wait_for)


def _grow(path, session_id, text):
    """Append a user prompt and an assistant answer, as Claude Code would."""
    recs = records(path)
    last_uuid = next((r["uuid"] for r in reversed(recs) if isinstance(r.get("uuid"), str)), None)
    cwd = next((r["cwd"] for r in recs if isinstance(r.get("cwd"), str)), "/home/u/proj")
    u1, u2 = str(uuid.uuid4()), str(uuid.uuid4())
    lines = [
        {"parentUuid": last_uuid, "isSidechain": False, "userType": "external", "cwd": cwd,
         "sessionId": session_id, "version": "2.1.5", "type": "user",
         "message": {"role": "user", "content": text}, "uuid": u1,
         "timestamp": "2026-01-02T03:04:05.000Z"},
        {"parentUuid": u1, "isSidechain": False, "userType": "external", "cwd": cwd,
         "sessionId": session_id, "version": "2.1.5", "type": "assistant",
         "message": {"id": "msg_e2e", "type": "message", "role": "assistant",
                     "model": "claude-sonnet-4-5",
                     "content": [{"type": "text", "text": "Acknowledged: " + text}]},
         "uuid": u2, "timestamp": "2026-01-02T03:04:09.000Z"},
    ]
    with open(path, "ab") as f:
        f.write(b"".join(json.dumps(x).encode() + b"\n" for x in lines))


@needs_mount
def test_live_growth_shows_a_new_version_without_remount(cli_env, new_vault, tmp_path, mounts):
    claude = build_claude_home(tmp_path)
    first = collect_json(cli_env, claude.home, "--org", "live")
    assert first["failed"] == 0 and first["new"] == first["seen"]
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(cli_env, "mount", str(mnt)))

    key = "happy-cli/0-say-lol-session.jsonl"
    sid, src = claude.sessions.get(key) or next(iter(claude.sessions.values()))
    provider_dir = mnt / "live" / "claude-code"
    conv = conversation_dir(provider_dir, sid)
    [v1] = version_dirs(conv)
    assert os.readlink(conv / "latest") == v1
    original = src.read_bytes()
    assert (conv / v1 / src.name).read_bytes() == original
    assert (conv / "latest" / src.name).read_bytes() == original  # now in the kernel's caches

    marker = f"live growth line {uuid.uuid4().hex[:12]}"
    _grow(src, sid, marker)
    grown = src.read_bytes()
    assert len(grown) > len(original)
    second = collect_json(cli_env, claude.home, "--org", "live")  # while mounted
    assert (second["new"], second["changed"], second["failed"]) == (0, 1, 0), second
    assert second["unchanged"] == first["seen"] - 1

    def two_versions():
        c = conversation_dir(provider_dir, sid)
        names = version_dirs(c)
        new = [n for n in names if n != v1]
        if len(names) == 2 and new and os.readlink(c / "latest") == new[0]:
            return c, new[0]
        return None

    conv, v2 = wait_for(two_versions, timeout=10, what="the second version and latest -> it")
    assert v2 > v1
    assert (conv / v2 / src.name).read_bytes() == grown
    assert (conv / "latest" / src.name).read_bytes() == grown
    assert marker in (conv / v2 / "conversation.md").read_text(encoding="utf-8")
    meta2 = json.loads((conv / v2 / "meta.json").read_bytes())
    assert {f["name"]: f["sha256"] for f in meta2["files"]}[src.name] == sha256(grown)
    # the first version never changes
    assert (conv / v1 / src.name).read_bytes() == original
    assert marker not in (conv / v1 / "conversation.md").read_text(encoding="utf-8")
    meta1 = json.loads((conv / v1 / "meta.json").read_bytes())
    assert {f["name"]: f["sha256"] for f in meta1["files"]}[src.name] == sha256(original)
    ok(run_aifs(cli_env, "umount", str(mnt)))
    assert not os.path.ismount(mnt)


def test_unchanged_rerun_and_touch_store_nothing(cli_env, new_vault, tmp_path):
    claude = build_claude_home(tmp_path)
    codex = build_codex_home(tmp_path)
    expected = expected_claude(claude) + expected_codex(codex)
    home = claude.home

    first = collect_json(cli_env, home)
    assert first["failed"] == 0, first["errors"]
    assert first["new"] == first["seen"] == len(expected)
    assert first["bytes_stored"] > 0

    again = collect_json(cli_env, home)
    assert (again["seen"], again["new"], again["changed"], again["unchanged"], again["failed"]) \
        == (len(expected), 0, 0, len(expected), 0), again
    assert again["bytes_stored"] == 0 and again["bytes_read"] == 0

    # mtime only: a Claude transcript, a file in a session's folder, a Codex rollout
    touched = [claude.sessions["data:branches.jsonl"][1],
               next(p for e in expected for n, p in e.files.items() if "/" in n
                    and e.provider == "claude-code" and e.native_id != "config"),
               next(iter(codex.sessions.values()))[1]]
    for p in touched:
        st = p.stat()
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 50_000_000_000))
    after_touch = collect_json(cli_env, home)
    assert (after_touch["new"], after_touch["changed"], after_touch["failed"]) == (0, 0, 0), \
        after_touch
    assert after_touch["unchanged"] == len(expected)
    assert after_touch["bytes_stored"] == 0
    rows = ls_json(cli_env)
    assert len(rows) == len(expected)
    assert all(r["versions"] == 1 for r in rows), [(r["id"], r["versions"]) for r in rows]

    # and the new stamps were remembered: the next run is one stat per file again
    last = collect_json(cli_env, home)
    assert (last["new"], last["changed"], last["unchanged"]) == (0, 0, len(expected)), last
    assert last["bytes_read"] == 0 and last["bytes_stored"] == 0


@needs_mount
def test_live_rename_and_new_conversations_appear(cli_env, new_vault, tmp_path, mounts):
    claude = build_claude_home(tmp_path)
    assert collect_json(cli_env, claude.home, "--org", "live")["failed"] == 0
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(cli_env, "mount", str(mnt)))
    org = mnt / "live"
    assert os.listdir(org) == ["claude-code"]
    provider_dir = org / "claude-code"
    sid, src = claude.sessions["data:branches.jsonl"]
    old = conversation_dir(provider_dir, sid)
    old_ino = os.stat(old).st_ino
    [v1] = version_dirs(old)

    new_title = f"Renamed while mounted {uuid.uuid4().hex[:6]}"
    with open(src, "ab") as f:
        f.write(json.dumps({"type": "custom-title", "customTitle": new_title,
                            "sessionId": sid}).encode() + b"\n")
    codex = build_codex_home(tmp_path)  # a provider the mount has not seen yet
    summary = collect_json(cli_env, claude.home, "--org", "live")
    assert (summary["changed"], summary["new"], summary["failed"]) == \
        (1, len(expected_codex(codex)), 0), summary

    renamed = provider_dir / f"{new_title.replace(' ', '_')}-{sid}"
    wait_for(lambda: renamed.is_dir() and not old.exists(), timeout=10,
             what="the conversation directory to take its new title")
    assert os.stat(renamed).st_ino == old_ino  # a rename changes the name, not the inode
    assert [n for n in os.listdir(provider_dir) if n.endswith(sid)] == [renamed.name]
    versions = version_dirs(renamed)
    assert len(versions) == 2 and versions[0] == v1
    assert os.readlink(renamed / "latest") == versions[1]
    assert (renamed / "latest" / src.name).read_bytes() == src.read_bytes()
    wait_for(lambda: sorted(os.listdir(org)) == ["claude-code", "codex"], timeout=10,
             what="the codex provider directory")
    for exp in expected_codex(codex):
        conv = conversation_dir(org / "codex", exp.native_id)
        [(name, path)] = exp.files.items()
        assert (conv / "latest" / name).read_bytes() == path.read_bytes()


def test_conversation_deleted_at_the_source_is_kept_and_flagged(cli_env, new_vault, tmp_path):
    """DESIGN.md: "Conversations deleted at the source stay, with deleted_upstream_at"."""
    claude = build_claude_home(tmp_path)
    assert collect_json(cli_env, claude.home)["failed"] == 0
    sid, src = claude.sessions["data:branches.jsonl"]
    src.unlink()
    summary = collect_json(cli_env, claude.home)
    assert summary["failed"] == 0 and summary["deleted_upstream"] == 1, summary
    rows = {r["id"]: r for r in ls_json(cli_env) if r["provider"] == "claude-code"}
    assert sid in rows and rows[sid]["versions"] == 1  # kept
    others = [r for i, r in rows.items() if i != sid]
    assert all(r["deleted_upstream_at"] is None for r in others)
    assert rows[sid]["deleted_upstream_at"] is not None, \
        "a conversation whose source file is gone is not marked deleted_upstream_at"


def _big_lines(sid: str, n: int, start: int = 0) -> bytes:
    out = []
    for i in range(start, start + n):
        noise = os.urandom(48).hex()  # keeps the file from compressing to nothing
        out.append(json.dumps({
            "type": "user" if i % 2 == 0 else "assistant", "sessionId": sid,
            "uuid": str(uuid.UUID(int=i + 1)), "parentUuid": str(uuid.UUID(int=i)) if i else None,
            "cwd": "/home/u/big", "timestamp": "2025-11-01T10:00:00.000Z",
            "message": {"role": "user" if i % 2 == 0 else "assistant",
                        "content": f"message {i} about the large archive {noise}"}}
        ).encode() + b"\n")
    return b"".join(out)


@needs_mount
def test_large_transcript_grows_cheaply_and_restores(cli_env, new_vault, tmp_path, mounts):
    sid = str(uuid.uuid4())
    folder = tmp_path / "home" / ".claude" / "projects" / "-home-u-big"
    folder.mkdir(parents=True)
    src = folder / f"{sid}.jsonl"
    src.write_bytes(_big_lines(sid, 8_000))  # ≈ 3.3 MB: about a hundred chunks
    v1_bytes = src.read_bytes()
    assert len(v1_bytes) > 3_000_000
    home = tmp_path / "home"
    first = collect_json(cli_env, home, "--org", "big")
    assert first["new"] == 1 and first["failed"] == 0
    with open(src, "ab") as f:
        f.write(_big_lines(sid, 200, start=8_000))
    v2_bytes = src.read_bytes()
    second = collect_json(cli_env, home, "--org", "big")
    assert second["changed"] == 1
    grown = len(v2_bytes) - len(v1_bytes)
    # an append re-stores the tail, not the file (DESIGN.md: ≈ 32 KiB chunks, resume at the
    # last stable boundary)
    assert second["bytes_stored"] < grown + 512 * 1024, (second["bytes_stored"], grown)

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(cli_env, "mount", str(mnt)))
    conv = conversation_dir(mnt / "big" / "claude-code", sid)
    v1, v2 = version_dirs(conv)
    assert os.readlink(conv / "latest") == v2
    for version, want in ((v1, v1_bytes), (v2, v2_bytes)):
        got = (conv / version / src.name).read_bytes()
        assert len(got) == len(want) and sha256(got) == sha256(want), version
        with open(conv / version / src.name, "rb") as f:  # random access
            for off in (0, 1, 65_535, len(want) // 2, len(want) - 7):
                f.seek(off)
                assert f.read(4096) == want[off:off + 4096], (version, off)
    ok(run_aifs(cli_env, "umount", str(mnt)))
