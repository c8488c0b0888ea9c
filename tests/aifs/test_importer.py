"""The import runner (aifs/importer.py) against a real vault, with a small importer of a
made-up export format: a zip or folder holding ``chats.json`` (an array of
``{"id", "title", "updated", "messages"}``) and ``account.txt``."""

import json
import zipfile
from pathlib import Path

import pytest

from aifs.importer import choose_importer, import_export
from collectors.export_source import ExportError, open_export
from collectors.importing import CONVERSATION_FILE, Skipped
from collectors.jsonstream import iter_array
from vault import ConversationSnapshot, RawFile


class ToyImporter:
    name = "toy"
    provider = "toy-chat"

    def detect(self, export):
        return bool(export.find("chats.json"))

    def account(self, export):
        names = export.find("account.txt")
        return export.read(names[0]).decode().strip() if names else None

    def is_full(self, export):
        return export.kind != "file"

    def read(self, export):
        member = export.find("chats.json")[0]
        with export.open(member) as f:
            for i, (raw, obj) in enumerate(iter_array(f)):
                if not isinstance(obj, dict) or "id" not in obj:
                    yield Skipped(f"chats.json entry {i}", "no id")
                    continue
                if not isinstance(obj.get("messages"), list):
                    yield Skipped(f"chats.json entry {i}", "no messages", obj["id"])
                    continue
                yield ConversationSnapshot(
                    provider=self.provider, native_id=obj["id"], title=obj.get("title", ""),
                    files=(RawFile(CONVERSATION_FILE, data=raw),),
                    updated_at=obj.get("updated"), source_path=export.where(member))

    def render_markdown(self, files, meta):
        return "toy"


class OtherImporter(ToyImporter):
    name = "other"
    provider = "other-chat"


def chats(*specs):
    return [{"id": cid, "title": f"T {cid}", "updated": upd, "messages": msgs}
            for cid, upd, msgs in specs]


def write_export(folder: Path, items, account="me@example.org", as_zip=True,
                 made=(2026, 11, 1, 12, 0, 0)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = json.dumps(items, indent=1).encode()
    if not as_zip:
        (folder / "chats.json").write_bytes(body)
        (folder / "account.txt").write_text(account)
        return folder
    path = folder / "export.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("chats.json", made), body)
        z.writestr(zipfile.ZipInfo("account.txt", made), account)
    return path


def run(vault, path, importer=None, org=None):
    with open_export(path) as export, vault.writer() as w:
        return import_export(w, export, importer or ToyImporter(), org)


def by_id(vault):
    with vault.reader() as r:
        return {c.native_id: c for c in r.conversations()}


def test_import_twice_adds_nothing_and_keeps_the_export_file(new_vault, tmp_path):
    vault, _ = new_vault
    path = write_export(tmp_path / "e1", chats(("a", 100.0, ["hi"]), ("b", 200.0, ["yo"])))
    first = run(vault, path)
    assert (first.seen, first.new, first.unchanged, first.failed) == (2, 2, 0, 0)
    assert first.org == "me@example.org" and first.full and first.complete
    assert first.export_status == "new"
    again = run(vault, path)
    assert (again.new, again.changed, again.unchanged, again.bytes_stored) == (0, 0, 2, 0)
    assert again.export_status == "unchanged"
    convs = by_id(vault)
    assert all(len(c.version_serials) == 1 for c in convs.values())
    exports = [c for c in convs.values() if c.native_id.startswith("export-")]
    assert len(exports) == 1 and exports[0].org == "me@example.org"
    with vault.reader() as r:
        v = r.version(exports[0].version_serials[0])
        (fe,) = v.files
        assert fe.name == "export.zip" and r.read(fe, 0, fe.size) == path.read_bytes()
        conv = r.version(convs["a"].version_serials[0])
        data = r.read(conv.files[0], 0, conv.files[0].size)
    assert json.loads(data)["id"] == "a" and data in path.read_bytes()  # the exact slice


def test_newer_export_adds_versions_only_for_changes_and_flags_missing(new_vault, tmp_path):
    vault, _ = new_vault
    run(vault, write_export(tmp_path / "e1", chats(("a", 100.0, ["hi"]), ("b", 200.0, ["yo"]),
                                                    ("c", 300.0, ["x"]))))
    newer = run(vault, write_export(tmp_path / "e2", chats(("a", 100.0, ["hi"]),
                                                           ("b", 400.0, ["yo", "more"]))))
    assert (newer.new, newer.changed, newer.unchanged, newer.deleted_upstream) == (0, 1, 1, 1)
    convs = by_id(vault)
    assert len(convs["a"].version_serials) == 1 and len(convs["b"].version_serials) == 2
    assert convs["c"].deleted_upstream_at is not None  # kept, flagged
    assert convs["a"].deleted_upstream_at is None
    assert len(convs["c"].version_serials) == 1


def test_an_older_export_imported_later_flags_nothing_newer(new_vault, tmp_path):
    vault, _ = new_vault
    late = 1_790_000_000.0  # 2026-09
    run(vault, write_export(tmp_path / "new", chats(("a", 100.0, ["hi"]), ("late", late, ["z"]))))
    # made 2026-01-01: its zip member times say it predates "late"
    old = write_export(tmp_path / "old", chats(("a", 100.0, ["hi"])), made=(2026, 1, 1, 0, 0, 0))
    summary = run(vault, old)
    assert summary.deleted_upstream == 0
    assert by_id(vault)["late"].deleted_upstream_at is None


def test_a_single_file_is_not_a_full_export(new_vault, tmp_path):
    vault, _ = new_vault
    folder = write_export(tmp_path / "f", chats(("a", 1.0, []), ("b", 2.0, [])), as_zip=False)
    run(vault, folder)
    one = tmp_path / "one" / "chats.json"
    one.parent.mkdir()
    one.write_text(json.dumps(chats(("a", 1.0, []))))
    summary = run(vault, one, org="me@example.org")
    assert not summary.full and summary.deleted_upstream == 0
    assert by_id(vault)["b"].deleted_upstream_at is None


def test_bad_entries_are_skipped_with_a_reason_the_rest_imported(new_vault, tmp_path):
    vault, _ = new_vault
    items = chats(("a", 1.0, [])) + [{"title": "no id"}, 7] + chats(("b", 2.0, []))
    summary = run(vault, write_export(tmp_path / "e", items))
    assert (summary.new, summary.skipped) == (2, 2)
    assert summary.skips == [{"where": "chats.json entry 1", "reason": "no id"},
                             {"where": "chats.json entry 2", "reason": "no id"}]


def test_a_damaged_entry_with_an_id_is_not_taken_for_deleted(new_vault, tmp_path):
    vault, _ = new_vault
    run(vault, write_export(tmp_path / "e1", chats(("a", 1.0, []), ("b", 2.0, []))))
    damaged = chats(("a", 1.0, [])) + [{"id": "b", "messages": "garbled"}]
    summary = run(vault, write_export(tmp_path / "e2", damaged))
    assert (summary.skipped, summary.deleted_upstream) == (1, 0)
    assert by_id(vault)["b"].deleted_upstream_at is None


def test_a_cut_off_export_keeps_what_was_read_and_flags_nothing(new_vault, tmp_path):
    vault, _ = new_vault
    run(vault, write_export(tmp_path / "e1", chats(("a", 1.0, []), ("b", 2.0, []), ("c", 3.0, []))))
    body = json.dumps(chats(("a", 1.0, ["new"]), ("b", 2.0, []), ("c", 3.0, [])), indent=1)
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "chats.json").write_text(body[: body.index('"c"') + 3])
    (cut / "account.txt").write_text("me@example.org")
    with pytest.raises(ExportError) as info:
        run(vault, cut)
    assert "half-downloaded" in info.value.reason
    partial = info.value.summary
    assert not partial.complete and partial.export_status == "not stored"
    assert partial.stopped == {"path": info.value.path, "reason": info.value.reason}
    assert (partial.changed, partial.unchanged) == (1, 1)
    convs = by_id(vault)
    assert len(convs["a"].version_serials) == 2  # committed before the break
    assert all(c.deleted_upstream_at is None for c in convs.values())
    assert sum(c.native_id.startswith("export-") for c in convs.values()) == 1


def test_org_override_and_fallback(new_vault, tmp_path):
    vault, _ = new_vault
    folder = write_export(tmp_path / "e", chats(("a", 1.0, [])), as_zip=False)
    (folder / "account.txt").unlink()
    assert run(vault, folder).org == "toy-chat-account"
    assert run(vault, folder, org="work").org == "work"
    with vault.reader() as r:
        assert sorted(c.org for c in r.conversations() if c.native_id == "a") == [
            "toy-chat-account", "work"]


def test_choose_importer(tmp_path):
    path = write_export(tmp_path / "e", chats(("a", 1.0, [])))
    toy, other = ToyImporter(), OtherImporter()
    with open_export(path) as export:
        assert choose_importer(export, {"toy": toy}) is toy
        with pytest.raises(ExportError, match="several platforms"):
            choose_importer(export, {"toy": toy, "other": other})
        assert choose_importer(export, {"toy": toy, "other": other}, "other-chat") is other
        with pytest.raises(ExportError, match="unknown provider"):
            choose_importer(export, {"toy": toy}, "nope")
    (tmp_path / "x.json").write_text("[]")
    with open_export(tmp_path / "x.json") as export:
        with pytest.raises(ExportError, match="not a data export"):
            choose_importer(export, {"toy": toy})
