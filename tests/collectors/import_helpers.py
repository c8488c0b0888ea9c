"""Helpers shared by the importer tests (``test_*_import.py``): reading what an importer
yields from an export, with the bytes of each snapshot's files; building zip exports; checking
that an importer leaves other platforms' exports alone."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Iterable

import pytest

from collectors.export_source import ExportError, open_export
from collectors.importing import Skipped
from tests.conftest import need_fixtures
from vault import ConversationSnapshot, RawFile


def data_of(raw: RawFile) -> bytes:
    """The bytes of a raw file, whether held in memory or streamed from a path."""
    return raw.data if raw.data is not None else Path(raw.path).read_bytes()


def files_of(snap: ConversationSnapshot) -> dict[str, bytes]:
    """A snapshot's files: stored name → bytes."""
    return {f.name: data_of(f) for f in snap.files}


def snaps(items: Iterable[Any]) -> list[ConversationSnapshot]:
    """The snapshots among what an importer yielded (its :class:`Skipped` left out)."""
    return [i for i in items if not isinstance(i, Skipped)]


def export_facts(importer, path: Path) -> tuple[bool, bool, str | None]:
    """``(detect, is_full, account)`` of ``importer`` for the export at ``path``."""
    with open_export(path) as export:
        return importer.detect(export), importer.is_full(export), importer.account(export)


def read_items(importer, path: Path) -> list:
    """Everything ``importer.read`` yields for the export at ``path``, in order."""
    with open_export(path) as export:
        return list(importer.read(export))


def read_by_id(importer, path: Path) -> tuple[dict[str, tuple[ConversationSnapshot,
                                                              dict[str, bytes]]],
                                              dict[str, str]]:
    """``({native_id: (snapshot, its files)}, {where: reason of each Skipped})`` for the
    export at ``path``. Files are read while the export is open (a zip's large members are
    temporary files that go when it closes)."""
    with open_export(path) as export:
        items = list(importer.read(export))
        found = {s.native_id: (s, files_of(s)) for s in snaps(items)}
        skipped = {s.where: s.reason for s in items if isinstance(s, Skipped)}
    return found, skipped


def assert_reads_are_stable(importer, path: Path) -> None:
    """Two reads of the export at ``path`` give the same conversations: ids, file bytes and
    titles, in the same order."""
    first, _ = read_by_id(importer, path)
    second, _ = read_by_id(importer, path)
    assert {k: v[1] for k, v in first.items()} == {k: v[1] for k, v in second.items()}
    assert [s.title for s, _ in first.values()] == [s.title for s, _ in second.values()]


def render_snapshot(importer, snap: ConversationSnapshot, *, attributes: bool = False) -> str:
    """``importer.render_markdown`` of a snapshot, with ``title`` and ``native_id`` (and its
    ``attributes`` when asked) as the version's meta."""
    meta: dict[str, Any] = {"title": snap.title, "native_id": snap.native_id}
    if attributes:
        meta["attributes"] = dict(snap.attributes)
    return importer.render_markdown(files_of(snap), meta)


def read_error(importer, path: Path) -> ExportError:
    """The :class:`ExportError` reading the export at ``path`` raises (the test fails if it
    raises none)."""
    with open_export(path) as export, pytest.raises(ExportError) as info:
        list(importer.read(export))
    return info.value


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    """Zip (deflated) every file under ``folder`` into ``target``, named ``prefix`` + its
    path relative to ``folder``, in sorted order. Returns ``target``."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def zip_members(target: Path, members: dict[str, bytes], prefix: str = "") -> Path:
    """Write a zip (deflated) holding ``members`` (name → bytes), each named ``prefix`` +
    its name, in the order given. Returns ``target``."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(prefix + name, data)
    return target


def fixture_files(platforms: Iterable[str]) -> list[Path]:
    """Every file of the shared fixtures of ``platforms`` (their folder names), platform by
    platform, each in sorted order. Skips the test when the fixtures are absent."""
    root = need_fixtures()
    return [p for d in platforms for p in sorted((root / d).rglob("*")) if p.is_file()]


def assert_claims_none(importer, paths: Iterable[Path]) -> None:
    """``importer.detect`` is False for each of ``paths`` opened as an export."""
    for path in paths:
        with open_export(path) as export:
            assert not importer.detect(export), path


def read_until_error(importer, path: Path) -> tuple[list, ExportError]:
    """What reading the export at ``path`` yields before it raises :class:`ExportError`, and
    that error (the test fails if it raises none)."""
    got: list = []
    with open_export(path) as export, pytest.raises(ExportError) as info:
        for item in importer.read(export):
            got.append(item)
    return got, info.value


def assert_cut_off_is_an_error(importer, path: Path, data: bytes) -> None:
    """Write the first half of ``data`` (a whole export file) to ``path``: the importer still
    claims it, and reading it raises an :class:`ExportError` that names ``path`` and says the
    file ends early."""
    path.write_bytes(data[: len(data) // 2])
    with open_export(path) as export:
        assert importer.detect(export)
    error = read_error(importer, path)
    assert "ends early" in error.reason and error.path == str(path)
