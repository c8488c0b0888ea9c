"""collectors/export_source.py on real zips, folders and files, good and broken."""

import os
import zipfile

import pytest

from collectors import export_source
from collectors.export_source import ExportError, open_export

from .import_helpers import zip_members


def test_zip_members_stream_and_spill_big_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(export_source, "SPILL_BYTES", 10)
    big = os.urandom(5000)
    path = zip_members(tmp_path / "e.zip", {"conversations.json": b"[]", "dalle/file-1.webp": big,
                                         "dir/": b""})
    with open_export(path) as ex:
        assert ex.kind == "zip" and list(ex.members) == ["conversations.json", "dalle/file-1.webp"]
        assert ex.find("file-1.webp") == ["dalle/file-1.webp"]
        assert ex.under("dalle") == ["dalle/file-1.webp"]
        assert ex.read("conversations.json") == b"[]"
        assert ex.tail("dalle/file-1.webp", 8) == big[-8:]
        small = ex.raw_file("conversations.json", "conversation.json")
        assert small.data == b"[]" and small.name == "conversation.json"
        spilled = ex.raw_file("dalle/file-1.webp", "files/file-1.webp")
        assert spilled.data is None and spilled.path.read_bytes() == big
        assert oct(spilled.path.stat().st_mode & 0o777) == "0o600"
        assert oct(spilled.path.parent.stat().st_mode & 0o777) == "0o700"
        assert ex.where("conversations.json") == f"{path}!conversations.json"
        (whole,) = ex.whole()
        assert whole.path == path and whole.name == "e.zip"
    assert not spilled.path.exists()  # removed on close


def test_unsafe_zip_names_are_left_out(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name in ("../escape.json", "/abs.json", "a/../../b.json", "ok.json"):
            z.writestr(zipfile.ZipInfo(name), b"{}")
    with open_export(path) as ex:
        assert list(ex.members) == ["ok.json"]
        assert len(ex.ignored) == 3


def test_folder_skips_symlinks_and_loops(tmp_path):
    root = tmp_path / "export"
    (root / "sub").mkdir(parents=True)
    (root / "conversations.json").write_bytes(b"[]")
    (root / "sub" / "a.png").write_bytes(b"png")
    (root / "sub" / "loop").symlink_to(root)
    (root / "link.json").symlink_to(root / "conversations.json")
    os.mkfifo(root / "fifo")
    with open_export(root) as ex:
        assert ex.kind == "folder"
        assert list(ex.members) == ["conversations.json", "sub/a.png"]
        assert sorted(ex.ignored) == ["fifo", "link.json", "sub/loop"]
        rf = ex.raw_file("sub/a.png", "files/a.png")
        assert rf.path == root / "sub" / "a.png"
        assert [f.name for f in ex.whole()] == ["conversations.json", "sub/a.png"]


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.write_bytes(b"PK\x03\x04" + os.urandom(300)), "damaged or cut off"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: None, "no such file"),
])
def test_broken_exports_name_the_file_and_the_problem(tmp_path, make, reason):
    path = tmp_path / "export.zip"
    make(path)
    with pytest.raises(ExportError) as info:
        open_export(path)
    assert reason in info.value.reason and info.value.path == str(path)


def test_a_cut_off_zip_and_an_unfinished_download(tmp_path):
    good = zip_members(tmp_path / "good.zip", {"conversations.json": os.urandom(20000)})
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[:15000])
    with pytest.raises(ExportError, match="half-downloaded"):
        open_export(cut)
    part = tmp_path / "export.zip.crdownload"
    part.write_bytes(good.read_bytes())
    with pytest.raises(ExportError, match="not finished"):
        open_export(part)


def test_a_damaged_zip_member_is_reported_when_read(tmp_path):
    path = zip_members(tmp_path / "e.zip", {"conversations.json": b"[" + b"1," * 5000 + b"1]"})
    data = bytearray(path.read_bytes())
    at = data.index(b"conversations.json") + 40  # inside the compressed data
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    with open_export(path) as ex:
        with pytest.raises(ExportError, match="damaged zip member"):
            ex.read("conversations.json")


def test_single_file_export(tmp_path):
    path = tmp_path / "chat.json"
    path.write_bytes(b'{"requests": []}')
    with open_export(path) as ex:
        assert ex.kind == "file" and list(ex.members) == ["chat.json"]
        assert ex.where("chat.json") == str(path)
        assert ex.read("chat.json") == b'{"requests": []}'
        assert ex.bytes_read == 16 and ex.total_bytes == 16


def test_head_strips_bom_and_whitespace_and_is_not_progress(tmp_path):
    path = zip_members(tmp_path / "e.zip", {"a.json": b"\xef\xbb\xbf \r\n\t[1, 2]" + b" " * 9000,
                                            "b.json": b"  \n"})
    with open_export(path) as ex:
        assert ex.head("a.json") == b"[1, 2]" + b" " * (4096 - 13)  # 4 KiB, then stripped
        assert ex.head("a.json", 7) == b""  # BOM and white space only
        assert ex.head("b.json") == b"" and ex.head("missing.json") == b""
        assert ex.bytes_read == 0
        with pytest.raises(ExportError, match="no such file"):
            ex.head("missing.json", strict=True)


def test_head_of_a_damaged_member_is_empty_unless_strict(tmp_path):
    path = zip_members(tmp_path / "e.zip", {"conversations.json": b"[" + b"1," * 5000 + b"1]"})
    data = bytearray(path.read_bytes())
    data[data.index(b"conversations.json") + 40] ^= 0xFF  # inside the compressed data
    path.write_bytes(bytes(data))
    with open_export(path) as ex:
        assert ex.head("conversations.json") == b""
        with pytest.raises(ExportError, match="damaged zip member"):
            ex.head("conversations.json", strict=True)
        assert ex.bytes_read == 0
