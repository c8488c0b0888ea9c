"""Every real fixture, collected with ``aifs collect`` and mounted with ``aifs mount``:
restore by copying, tree shape, read-only, owner-only modes, ``rg``, no plaintext in the vault.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from aifs.names import safe_component, safe_name
from tests.collectors.collector_fixtures import SECRET, build_codex_home

from .helpers import (FUSE_MARKS, GENERATED, VERSION_NAME, collect_json, conversation_dir, cwds,
                      md_candidates, message_texts, mount_entry, mount_log, ok, phrases, run_aifs,
                      sha256, tree_files, version_dirs)

pytestmark = FUSE_MARKS


def _conv(archive, exp):
    return conversation_dir(archive.mnt / archive.org / exp.provider, exp.native_id)


# -- 1. restore = cp, tree shape, conversation.md, meta.json -------------------------------------


def test_collect_summary_and_listing(archive):
    s = archive.summary
    assert s["failed"] == 0 and s["errors"] == [], s["errors"]
    assert s["new"] == s["seen"] == len(archive.expected)
    stored = {(r["provider"], r["id"]) for r in archive.listing}
    assert stored == {(e.provider, e.native_id) for e in archive.expected}
    assert {r["org"] for r in archive.listing} == {archive.org}


def test_check_read_data_finds_no_problem(archive):
    res = ok(run_aifs(archive.env, "check", "--read-data"))  # while the vault is mounted
    assert "no problems" in res.stdout and "problem:" not in res.stdout, res.stdout
    assert f"{len(archive.expected)} conversations" in res.stdout


def test_tree_shape(archive):
    mnt = archive.mnt
    assert os.listdir(mnt) == [archive.org]
    assert sorted(os.listdir(mnt / archive.org)) == ["claude-code", "codex"]
    titles = {(r["provider"], r["id"]): r["title"] for r in archive.listing}
    for exp in archive.expected:
        conv = _conv(archive, exp)
        # named after the current title, then the provider's id
        assert conv.name == safe_component(titles[exp.provider, exp.native_id], exp.native_id)
        assert len(conv.name.encode()) <= 255
        versions = version_dirs(conv)
        assert versions and all(VERSION_NAME.match(v) for v in versions), versions
        assert set(os.listdir(conv)) == set(versions) | {"latest"}
        latest = conv / "latest"
        assert latest.is_symlink() and stat.S_ISLNK(os.lstat(latest).st_mode)
        assert os.readlink(latest) == versions[-1]
        assert latest.resolve() == (conv / versions[-1]).resolve()


def test_every_source_file_restores_byte_identical(archive, tmp_path):
    copied = 0
    for n, exp in enumerate(archive.expected):
        conv = _conv(archive, exp)
        latest = conv / "latest"
        # exactly the raw files (native names, subfolders kept) plus the two generated ones
        assert set(tree_files(latest)) == set(exp.files) | set(GENERATED), exp.native_id
        out = tmp_path / f"copy-{n}"
        for name, src in exp.files.items():
            want = src.read_bytes()
            dest = out / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(latest / name, dest)
            assert dest.read_bytes() == want, f"{exp.provider}/{exp.native_id}/{name}"
            st = os.stat(latest / name)
            assert st.st_size == len(want)
            assert st.st_mtime_ns == src.stat().st_mtime_ns, "raw files keep the source's mtime"
            copied += 1
        # and the whole version with a real `cp -r`, the way a user restores
        res = subprocess.run(["cp", "-r", "--", f"{latest}/.", str(tmp_path / f"cp-{n}")],
                             capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stderr
        for name, src in exp.files.items():
            assert (tmp_path / f"cp-{n}" / name).read_bytes() == src.read_bytes(), name
    assert copied == sum(len(e.files) for e in archive.expected) >= 30


def test_cp_of_single_files_from_every_version(archive, tmp_path):
    """`cp FILE DEST` of each raw file from the version directory itself (not via latest)."""
    for exp in archive.expected:
        conv = _conv(archive, exp)
        for version in version_dirs(conv):
            for name, src in exp.files.items():
                dest = tmp_path / "one"
                res = subprocess.run(["cp", str(conv / version / name), str(dest)],
                                     capture_output=True, text=True, check=False)
                assert res.returncode == 0, res.stderr
                assert dest.read_bytes() == src.read_bytes(), name
                dest.unlink()


def test_tar_of_the_whole_mount_restores(archive, tmp_path):
    """`tar` compares each file's size before and after reading it (a generated file whose
    stat size differs from its contents shows up as "file changed as we read it")."""
    tarball = tmp_path / "archive.tar"
    res = subprocess.run(["tar", "-C", str(archive.mnt), "-cf", str(tarball), "."],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    out = tmp_path / "untarred"
    out.mkdir()
    subprocess.run(["tar", "-C", str(out), "-xf", str(tarball)], check=True)
    for exp in archive.expected:
        conv = conversation_dir(out / archive.org / exp.provider, exp.native_id)
        assert (conv / "latest").is_symlink()
        for name, src in exp.files.items():
            assert (conv / "latest" / name).read_bytes() == src.read_bytes(), name


def test_conversation_md_and_meta_json_of_every_version(archive):
    for exp in archive.expected:
        conv = _conv(archive, exp)
        candidates = md_candidates(exp)
        for version in version_dirs(conv):
            vdir = conv / version
            md_bytes = (vdir / "conversation.md").read_bytes()
            assert md_bytes, f"{exp.native_id}: empty conversation.md"
            assert len(md_bytes) == (vdir / "conversation.md").stat().st_size
            md = md_bytes.decode("utf-8")  # strict: valid UTF-8
            if candidates:
                assert any(c in md for c in candidates), \
                    f"{exp.provider}/{exp.native_id}: no message text in conversation.md"
            else:  # a transcript without any message (metadata only) still says whose it is
                assert exp.native_id in md or any(c in md for f in exp.jsonl for c in cwds(f))

            meta = json.loads((vdir / "meta.json").read_bytes().decode("utf-8"))
            assert meta["provider"] == exp.provider
            assert meta["native_id"] == exp.native_id
            assert meta["org"] == archive.org
            assert meta["name"] == version
            by_name = {f["name"]: f for f in meta["files"]}
            assert set(by_name) == set(exp.files)
            for name in exp.files:
                data = (vdir / name).read_bytes()
                assert by_name[name]["sha256"] == sha256(data), name
                assert by_name[name]["size"] == len(data), name


def test_default_org_is_the_hostname(cli_env, new_vault, tmp_path, mounts):
    codex = build_codex_home(tmp_path)
    summary = collect_json(cli_env, codex.home)  # no --org, no AIFS_ORG, no config file
    assert summary["new"] == summary["seen"] > 0 and summary["failed"] == 0
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(cli_env, "mount", str(mnt)))
    host = socket.gethostname()
    assert os.listdir(mnt) == [safe_name(host.strip(), leading_dot=False)]
    assert os.listdir(mnt / os.listdir(mnt)[0]) == ["codex"]
    ok(run_aifs(cli_env, "umount", str(mnt)))
    assert not os.path.ismount(mnt) and os.listdir(mnt) == []


# -- 2. read-only --------------------------------------------------------------------------------


def test_every_write_fails_with_erofs(archive):
    mnt = archive.mnt
    # a session with a subfolder, so that rmdir has a real target
    exp = next(e for e in archive.expected if any("/" in n for n in e.files))
    conv = _conv(archive, exp)
    vdir = conv / version_dirs(conv)[0]
    name = next(n for n in exp.files if "/" not in n)
    f = vdir / name
    sub = vdir / next(n for n in exp.files if "/" in n).split("/")[0]
    before = f.read_bytes()
    attempts = {
        "open for append": lambda: open(f, "ab"),
        "open for update": lambda: open(f, "r+b"),
        "open for write (truncate)": lambda: open(f, "wb"),
        "os.open O_WRONLY": lambda: os.open(f, os.O_WRONLY),
        "create a file in a version": lambda: open(vdir / "new.txt", "wb"),
        "create a file at the root": lambda: os.open(mnt / "new.txt", os.O_CREAT | os.O_WRONLY),
        "exclusive create": lambda: open(conv / "new.txt", "xb"),
        "mkdir at the root": lambda: os.mkdir(mnt / "newdir"),
        "mkdir in a version": lambda: os.mkdir(vdir / "newdir"),
        "rm a raw file": lambda: os.unlink(f),
        "rm conversation.md": lambda: os.unlink(vdir / "conversation.md"),
        "rm latest": lambda: os.unlink(conv / "latest"),
        "rmdir a subfolder": lambda: os.rmdir(sub),
        "rmdir a version": lambda: os.rmdir(vdir),
        "rename a file": lambda: os.rename(f, vdir / "moved"),
        "rename a conversation": lambda: os.rename(conv, conv.with_name("renamed")),
        "touch (utime now)": lambda: os.utime(f),
        "utime explicit": lambda: os.utime(f, ns=(0, 0)),
        "chmod a file": lambda: os.chmod(f, 0o644),
        "chmod a directory": lambda: os.chmod(vdir, 0o755),
        "chown": lambda: os.chown(f, os.getuid(), os.getgid()),
        "truncate": lambda: os.truncate(f, 0),
        "symlink": lambda: os.symlink("x", vdir / "link"),
        "hard link": lambda: os.link(f, vdir / "hard"),
        "setxattr": lambda: os.setxattr(f, "user.aifs", b"1"),
    }
    wrong = {}
    for what, attempt in attempts.items():
        try:
            handle = attempt()
        except OSError as e:
            if e.errno != errno.EROFS:
                wrong[what] = errno.errorcode.get(e.errno, e.errno)
        else:
            if hasattr(handle, "close"):
                handle.close()
            elif isinstance(handle, int):
                os.close(handle)
            wrong[what] = "succeeded"
    assert not wrong, f"expected EROFS: {wrong}"
    # the shell tools say so too
    for cmd in (["touch", str(f)], ["touch", str(vdir / "new")], ["rm", "-f", str(f)],
                ["mkdir", str(mnt / "d")], ["mv", str(f), str(vdir / "m")]):
        res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"},
                             check=False)
        assert res.returncode != 0 and "Read-only file system" in res.stderr, (cmd, res.stderr)
    assert f.read_bytes() == before
    assert set(tree_files(vdir)) == set(exp.files) | set(GENERATED)


# -- 3. owner-only -----------------------------------------------------------------------------


def test_owner_only_modes(archive):
    mnt = archive.mnt
    fstype, opts, super_opts = mount_entry(mnt)
    assert fstype == "fuse.aifs"
    assert "ro" in opts.split(",")
    assert "allow_other" not in super_opts.split(",")
    dirs = files = 0
    for root, dnames, fnames in os.walk(mnt):
        for p in [Path(root)] + [Path(root, d) for d in dnames] + [Path(root, f) for f in fnames]:
            st = os.lstat(p)
            assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid()), p
            if stat.S_ISLNK(st.st_mode):
                assert p.name == "latest"
                continue
            mode = stat.S_IMODE(st.st_mode)
            assert mode & 0o077 == 0, f"{p}: {oct(mode)} gives group/other access"
            if stat.S_ISDIR(st.st_mode):
                assert mode == 0o500, (p, oct(mode))
                dirs += 1
            else:
                assert stat.S_ISREG(st.st_mode) and mode == 0o400, (p, oct(mode))
                files += 1
    assert files >= 3 * len(archive.expected) and dirs > len(archive.expected)


def test_allow_other_widens_modes_to_read_only_for_all(cli_env, new_vault, tmp_path, mounts):
    codex = build_codex_home(tmp_path)
    collect_json(cli_env, codex.home, "--org", "shared")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounts.append(mnt)
    ok(run_aifs(cli_env, "mount", "--allow-other", str(mnt)))
    assert "allow_other" in mount_entry(mnt)[2].split(",")
    seen = 0
    for root, dnames, fnames in os.walk(mnt):
        for p in [Path(root, d) for d in dnames] + [Path(root, f) for f in fnames]:
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                assert stat.S_IMODE(st.st_mode) == 0o555, p
            elif stat.S_ISREG(st.st_mode):
                assert stat.S_IMODE(st.st_mode) == 0o444, p
                seen += 1
    assert seen >= 3 * len(codex.sessions)
    ok(run_aifs(cli_env, "umount", str(mnt)))


# -- 5. rg ---------------------------------------------------------------------------------------


def _unique_phrase(archive, provider):
    """A phrase of message text found in exactly one source file (of ``provider``) and in
    that conversation's conversation.md."""
    sources = {p: p.read_bytes() for e in archive.expected for p in e.files.values()}
    for exp in archive.expected:
        if exp.provider != provider or exp.native_id == "history":
            continue
        md = (_conv(archive, exp) / "latest" / "conversation.md").read_text()
        for f in exp.jsonl:
            for ph in phrases(message_texts(f), min_len=14):
                holders = [p for p, data in sources.items() if ph.encode() in data]
                if holders == [f] and ph in md:
                    return exp, ph
    pytest.fail(f"no usable phrase in the {provider} fixtures")


@pytest.mark.parametrize("provider", ["claude-code", "codex"])
def test_rg_finds_raw_files_and_markdown(archive, provider):
    exp, phrase = _unique_phrase(archive, provider)
    conv = _conv(archive, exp)
    res = subprocess.run(["rg", "-l", "-F", "--", phrase, str(archive.mnt)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    hits = {Path(line) for line in res.stdout.splitlines()}
    want = set()
    for version in version_dirs(conv):  # rg does not follow `latest`: each version once
        vdir = conv / version
        want |= {vdir / n for n, src in exp.files.items() if phrase.encode() in src.read_bytes()}
        want |= {vdir / n for n in GENERATED if phrase.encode() in (vdir / n).read_bytes()}
        assert vdir / "conversation.md" in want
    assert hits == want, (phrase, hits ^ want)
    # searching through the symlink, the way a user would
    res = subprocess.run(["rg", "-l", "-F", "--", phrase, str(conv / "latest")],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert {Path(line).name for line in res.stdout.splitlines()} >= {"conversation.md"}


def test_rg_reads_the_whole_mount_without_errors_and_finds_no_secret(archive):
    res = subprocess.run(["rg", "-l", "-F", "-a", "--", SECRET.decode(), str(archive.mnt)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)  # 1 = nothing found
    assert res.stderr == ""
    res = subprocess.run(["rg", "-c", "-a", "", str(archive.mnt)], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert len(res.stdout.splitlines()) >= 3 * len(archive.expected)  # every file was read
    log = mount_log(archive.env)  # and the server had nothing to complain about
    if log.exists():
        assert stat.S_IMODE(log.stat().st_mode) & 0o077 == 0
        text = log.read_text(errors="replace")
        assert "ERROR" not in text and "Traceback" not in text, text[-2000:]


# -- 8. no plaintext in the vault ----------------------------------------------------------------


def test_no_plaintext_in_the_vault_directory(archive):
    titles = [r["title"] for r in archive.listing if len(r["title"]) >= 12]
    paths = [c for e in archive.expected for f in e.jsonl for c in cwds(f) if len(c) >= 12]
    texts = [t for e in archive.expected for f in e.jsonl for t in message_texts(f)]
    found = list(dict.fromkeys(titles[:8] + paths[:6] + [str(archive.home), archive.org]
                               + phrases(texts, 16)[:20]))
    assert len(found) >= 20, found
    # sanity: every phrase is real (it is in the sources or in what `aifs ls` shows)
    sources = b"".join(p.read_bytes() for e in archive.expected for p in e.files.values())
    shown = json.dumps(archive.listing, ensure_ascii=False).encode()
    for item in found:
        assert item.encode() in sources or item.encode() in shown or item == str(archive.home) \
            or item == archive.org, item
    leaks = []
    files = [p for p in archive.vault.rglob("*") if p.is_file()]
    assert any("packs" in p.parts for p in files) and any(p.name == "data.mdb" for p in files)
    for p in files:
        data = p.read_bytes()
        for item in found:
            if item.encode() in data:
                leaks.append((p.relative_to(archive.vault).as_posix(), item))
    assert not leaks, f"plaintext in the vault: {leaks}"
