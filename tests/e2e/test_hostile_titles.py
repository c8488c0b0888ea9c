"""Hostile titles and names, end to end: collect, mount, list, read."""

from __future__ import annotations

import json
import os
import unicodedata
import uuid

from .helpers import (FUSE_MARKS, collect_json, conversation_dir, ls_json, mount_log, ok,
                      run_aifs, version_dirs)

pytestmark = FUSE_MARKS

HOSTILE = {
    "traversal": "../../etc/passwd",
    "dotdot": "..",
    "dot": ".",
    "slash": "/",
    "slashes": "a/b//c/",
    "nul": "evil\x00name\x00",
    "controls": "bell\x07 esc\x1b[31mred\x1b[0m tab\tnl\ncr\rdel\x7f c1\x85\x9b end",
    "bidi": "invoice\u202egnp.exe",
    "hidden": ".bashrc",
    "long_ascii": "L" * 1000,
    "long_3byte": "€" * 333 + "a",  # 1000 bytes; every cut point but one is mid-character
    "long_mixed": "/../\x00\x01" + "ü" * 497 + "/..",  # 1,004 bytes of everything at once
    "spaces": "   \t  ",
}

HOSTILE_ORG = "../..\x1b[2J/org\n\x07"  # argv cannot hold NUL


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def _session(folder, title, sid=None):
    sid = sid or str(uuid.uuid4())
    lines = [
        {"parentUuid": None, "isSidechain": False, "type": "user", "sessionId": sid,
         "cwd": "/home/u/hostile", "version": "2.1.5", "uuid": str(uuid.uuid4()),
         "message": {"role": "user", "content": f"hostile title test {sid[:8]}"},
         "timestamp": "2025-11-01T10:00:00.000Z"},
        {"type": "custom-title", "customTitle": title, "sessionId": sid},
    ]
    path = folder / f"{sid}.jsonl"
    path.write_bytes(b"".join(json.dumps(x).encode() + b"\n" for x in lines))  # NUL as \u0000
    return sid, path


def test_hostile_titles_become_safe_names(cli_env, new_vault, tmp_path, mounts):
    home = tmp_path / "home"
    folder = home / ".claude" / "projects" / "-home-u-hostile"
    folder.mkdir(parents=True)
    sessions = {key: _session(folder, title) for key, title in HOSTILE.items()}
    assert b"\\u0000" in sessions["nul"][1].read_bytes()
    summary = collect_json(cli_env, home, "--org", HOSTILE_ORG)
    assert summary["failed"] == 0 and summary["new"] == len(HOSTILE), summary

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(cli_env, "mount", str(mnt)))
    [org] = os.listdir(os.fsencode(mnt))  # the org name is made safe by the same rules
    assert org not in (b".", b"..") and not org.startswith(b".") and len(org) <= 255
    assert not any(_is_control(c) for c in org.decode("utf-8")), org
    assert os.listdir(mnt / org.decode()) == ["claude-code"]
    provider = mnt / org.decode() / "claude-code"
    raw_names = os.listdir(os.fsencode(provider))
    assert len(raw_names) == len(HOSTILE)  # nothing merged, nothing lost
    for key, (sid, src) in sessions.items():
        mine = [n for n in raw_names if n.endswith(f"-{sid}".encode())]
        assert len(mine) == 1, (key, mine)
        raw = mine[0]
        assert len(raw) <= 255, (key, len(raw))
        name = raw.decode("utf-8")  # strict: a cut never splits a character
        assert name not in (".", "..") and not name.startswith("."), (key, name)
        assert "/" not in name and "\x00" not in name, (key, name)
        assert not any(_is_control(c) for c in name if c not in "\u200d"), (key, repr(name))
        conv = provider / name
        assert conv.is_dir()
        [version] = version_dirs(conv)
        assert (conv / version / src.name).read_bytes() == src.read_bytes()
        assert (conv / "latest" / src.name).read_bytes() == src.read_bytes()
        md = (conv / "latest" / "conversation.md").read_bytes().decode("utf-8")
        assert f"hostile title test {sid[:8]}" in md
        meta = json.loads((conv / "latest" / "meta.json").read_bytes())
        assert meta["title"] == HOSTILE[key] or HOSTILE[key].strip() == ""  # stored as given
    long_names = [n for n in raw_names if any(n.endswith(f"-{sessions[k][0]}".encode())
                                              for k in ("long_ascii", "long_3byte", "long_mixed"))]
    assert all(200 < len(n) <= 255 for n in long_names), [len(n) for n in long_names]

    # what `aifs ls` prints cannot drive the terminal
    res = ok(run_aifs(cli_env, "ls"))
    assert not any(c in res.stdout for c in "\x00\x07\x1b\x7f\x85\x9b\u202e"), repr(res.stdout)
    assert {r["id"] for r in ls_json(cli_env)} == {sid for sid, _ in sessions.values()}
    ok(run_aifs(cli_env, "umount", str(mnt)))
    log = mount_log(cli_env)  # the server logs no titles at the default level
    text = log.read_text(errors="replace") if log.exists() else ""
    assert not any(t.strip() and t in text for t in HOSTILE.values() if len(t) > 3)


def test_lone_surrogate_title_and_non_utf8_file_name_do_not_stop_collect(cli_env, new_vault,
                                                                         tmp_path, mounts):
    """Claude Code is JavaScript: a title cut inside an emoji is written as a lone surrogate
    escape (``"\\ud83c"``), which Python's json accepts. File names on Linux are bytes and
    need not be UTF-8. Either must not stop the backup of everything else."""
    home = tmp_path / "home"
    folder = home / ".claude" / "projects" / "-home-u-odd"
    folder.mkdir(parents=True)
    # ids chosen so that the healthy session is collected last (items go in id order)
    surrogate_sid, surrogate_src = _session(folder, "Party \ud83c",
                                            "00000000-0000-4000-8000-000000000001")
    assert b'"Party \\ud83c"' in surrogate_src.read_bytes()
    odd_sid, odd_src = _session(folder, "Odd file name", "00000000-0000-4000-8000-000000000002")
    (folder / odd_sid / "tool-results").mkdir(parents=True)
    odd_file = os.path.join(os.fsencode(folder / odd_sid / "tool-results"), b"out-\xfe\xff.txt")
    with open(odd_file, "wb") as f:
        f.write(b"tool output\n")
    day = home / ".codex" / "sessions" / "2025" / "01" / "01"  # a rollout named in Latin-1
    day.mkdir(parents=True)
    rollout = os.path.join(os.fsencode(day), b"rollout-2025-01-01T00-00-00-caf\xe9.jsonl")
    with open(rollout, "wb") as f:
        f.write(json.dumps({"timestamp": "2025-01-01T00:00:00Z", "type": "session_meta",
                            "payload": {"id": "cafe", "cwd": "/tmp"}}).encode() + b"\n")
    healthy_sid, healthy_src = _session(folder, "Healthy neighbour",
                                        "ffffffff-ffff-4fff-8fff-ffffffffffff")

    res = run_aifs(cli_env, "collect", "--json", "--home", str(home), "--org", "odd")
    problems = []
    if "Traceback" in res.stderr:
        problems.append(f"collect crashed (exit {res.returncode}): "
                        + res.stderr.strip().splitlines()[-1])
    rows = json.loads(ok(run_aifs(cli_env, "ls", "--json")).stdout)
    stored = {r["id"] for r in rows}
    if not any(r["provider"] == "codex" for r in rows):
        problems.append("the Codex rollout with a non-UTF-8 file name was not stored")
    for what, sid in (("the healthy session", healthy_sid),
                      ("the session with a lone-surrogate title", surrogate_sid),
                      ("the session with a non-UTF-8 file name", odd_sid)):
        if sid not in stored:
            problems.append(f"{what} was not stored")
    if not problems:
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        mounts.append(mnt)
        ok(run_aifs(cli_env, "mount", str(mnt)))
        provider = mnt / "odd" / "claude-code"
        for sid, src in ((surrogate_sid, surrogate_src), (odd_sid, odd_src),
                         (healthy_sid, healthy_src)):
            [name] = [n for n in os.listdir(os.fsencode(provider)) if n.endswith(sid.encode())]
            name.decode("utf-8")  # shown as valid UTF-8
            conv = provider / os.fsdecode(name)
            assert (conv / "latest" / src.name).read_bytes() == src.read_bytes()
        tool = conversation_dir(provider, odd_sid) / "latest" / "tool-results"
        [shown] = os.listdir(os.fsencode(tool))
        shown.decode("utf-8")
        assert (tool / os.fsdecode(shown)).read_bytes() == b"tool output\n"
        ok(run_aifs(cli_env, "umount", str(mnt)))
    assert not problems, "; ".join(problems)
