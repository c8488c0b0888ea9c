"""A conformance suite every importer's tests can reuse (pytest, no fixtures of its own).

Subclass :class:`ImporterConformance` in a test module, set ``importer_class`` and implement
:meth:`~ImporterConformance.make_export` (build a small export in ``tmp_path``, return its
path)::

    class TestChatGPTConformance(ImporterConformance):
        importer_class = ChatGPTImporter

        def make_export(self, tmp_path):
            ...

It checks the parts of the contract (:mod:`collectors.importing`) that hold for every
platform: detection, stable ids and bytes across reads, safe file names, the provider slug,
no credential files, and renderers that never raise, on good and on hostile input.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from vault import ConversationSnapshot

from .export_source import open_export
from .importing import Skipped

CREDENTIAL_NAMES = (".credentials.json", "oauth_creds.json", "auth.json", "cookies", "cookies.sqlite")


def _read_all(importer, path: Path) -> list:
    with open_export(path) as export:
        out = []
        for found in importer.read(export):
            if isinstance(found, ConversationSnapshot):
                files = {}
                for f in found.files:
                    files[f.name] = f.data if f.data is not None else Path(f.path).read_bytes()
                out.append((found, files))
            else:
                out.append((found, None))
        return out


class ImporterConformance:
    """Mixin of pytest tests; see the module docstring."""

    importer_class: type

    def make_export(self, tmp_path: Path) -> Path:
        raise NotImplementedError

    @pytest.fixture
    def export_path(self, tmp_path):
        return self.make_export(tmp_path)

    def test_detects_its_own_export(self, export_path):
        with open_export(export_path) as export:
            assert self.importer_class().detect(export)

    def test_reads_stable_ids_and_bytes(self, export_path):
        importer = self.importer_class()
        first = _read_all(importer, export_path)
        second = _read_all(importer, export_path)
        snaps = [(s.native_id, files) for s, files in first if files is not None]
        assert snaps, "the sample export yields no conversation"
        assert snaps == [(s.native_id, files) for s, files in second if files is not None]
        ids = [i for i, _ in snaps]
        assert len(ids) == len(set(ids)), "native ids repeat within one export"

    def test_snapshots_are_well_formed(self, export_path):
        importer = self.importer_class()
        for found, files in _read_all(importer, export_path):
            if isinstance(found, Skipped):
                assert found.where and found.reason
                continue
            assert isinstance(found, ConversationSnapshot)
            assert found.provider == importer.provider
            assert isinstance(found.native_id, str) and found.native_id
            assert isinstance(found.title, str)
            for name in files:
                parts = PurePosixPath(name).parts
                assert name and not name.startswith("/") and "\0" not in name
                assert ".." not in parts and name == "/".join(parts), name
                assert parts[-1] not in CREDENTIAL_NAMES
            for t in (found.created_at, found.updated_at):
                assert t is None or isinstance(t, float)

    def test_renders_every_snapshot(self, export_path):
        importer = self.importer_class()
        for found, files in _read_all(importer, export_path):
            if files is None:
                continue
            meta = {"title": found.title, "native_id": found.native_id,
                    "provider": found.provider, "attributes": dict(found.attributes)}
            text = importer.render_markdown(files, meta)
            assert isinstance(text, str) and text.strip()

    @pytest.mark.parametrize("garbage", [
        b"", b"\x00\xff\xfe", b"[", b"{}", b"[]", b"null", b'{"mapping": 5}', b'[{"a": []}]',
        b"[" * 5000 + b"]" * 5000, os.urandom(512)])
    def test_render_never_raises_on_garbage(self, export_path, garbage):
        importer = self.importer_class()
        for found, files in _read_all(importer, export_path)[:1]:
            if files is None:
                continue
            broken = {name: garbage for name in files}
            for meta in ({}, {"title": None, "attributes": "x"}):
                assert isinstance(importer.render_markdown(broken, meta), str)
            half = {name: data[: len(data) // 2] for name, data in files.items()}
            assert isinstance(importer.render_markdown(half, {}), str)
