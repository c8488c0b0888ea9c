"""Known-answer tests: data written by format version 1 must stay readable forever.

The files under tests/data/kat/ were written once by make_kat.py and are never regenerated.
"""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from vault import keys as K
from vault import manifest as M
from vault.blob import BlobCipher
from vault.vault import Vault

KAT = Path(__file__).resolve().parents[1] / "data" / "kat"
VECTORS = json.loads((KAT / "vectors.json").read_text())


@pytest.fixture
def kat_vault(tmp_path):
    dst = tmp_path / "vault-v1"
    shutil.copytree(KAT / "vault-v1", dst)  # LMDB wants its lock file beside the data
    return dst


@pytest.mark.parametrize("how", ["passphrase", "recovery_key"])
def test_v1_vault_opens_and_every_file_reads_back(kat_vault, how):
    vault = Vault.open(kat_vault, **{how: VECTORS[how]})
    seen = {}
    with vault.reader() as rd:
        for c in rd.conversations():
            seen[c.native_id] = c
            want = VECTORS["conversations"][c.native_id]
            assert (c.provider, c.org, c.title) == (want["provider"], want["org"], want["title"])
            versions = [rd.version(s) for s in c.version_serials]
            assert [v.name for v in versions] == [w["name"] for w in want["versions"]]
            for v, w in zip(versions, want["versions"]):
                assert {f.name for f in v.files} == set(w["files"])
                for f in v.files:
                    data = rd.read_file(f)
                    assert len(data) == w["files"][f.name]["size"]
                    assert hashlib.sha256(data).hexdigest() == w["files"][f.name]["sha256"]
    assert set(seen) == set(VECTORS["conversations"])
    assert vault.check(read_data=True).ok


def test_v1_key_slot_vector():
    v = VECTORS["slot"]
    master = K.open_slot(bytes.fromhex(v["file"]), v["passphrase"].encode(), bytes.fromhex(v["vault_id"]))
    assert master.hex() == v["master"]


def test_v1_subkey_derivation_vector():
    v = VECTORS["subkeys"]
    sub = K.Subkeys.derive(bytes.fromhex(v["master"]), bytes.fromhex(v["vault_id"]))
    assert (sub.blob.hex(), sub.chunk_id.hex(), sub.index.hex(), sub.index_mac.hex(),
            sub.chunker_seed) == (v["blob"], v["chunk_id"], v["index"], v["index_mac"],
                                  v["chunker_seed"])


def test_v1_blob_vector():
    v = VECTORS["blob"]
    plain = BlobCipher(bytes.fromhex(v["key"])).open(v["type"], bytes.fromhex(v["id"]),
                                                     bytes.fromhex(v["sealed"]))
    assert plain.hex() == v["plaintext"]


def test_v1_manifest_vector_decodes_and_reencodes_identically():
    raw = bytes.fromhex(VECTORS["manifest"]["hex"])
    meta, files = M.decode(raw)
    assert files[0].name == "a/b.jsonl" and files[0].size == 5
    assert files[0].sha256 == hashlib.sha256(b"hello").digest()
    assert M.encode(meta, files) == raw


def test_v1_vault_covers_every_compression_kind(kat_vault):
    """The pinned vault holds stored, zstd and zstd-with-dictionary blobs, so all three stay readable."""
    from vault.pack import read_header
    vault = Vault.open(kat_vault, passphrase=VECTORS["passphrase"])
    kinds = set()
    for p in (kat_vault / "packs").rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            kinds |= {data[e.offset + 1] for e in read_header(p, bytes.fromhex(p.name), BlobCipher(vault.keys.blob))}
    assert kinds == {0, 1, 2}


def test_v1_vault_takes_new_versions_on_top(kat_vault):
    """Writing to a v1 vault reads its older manifests (zstd-dictionary compressed) back."""
    from vault import ConversationSnapshot, RawFile
    vault = Vault.open(kat_vault, passphrase=VECTORS["passphrase"])
    with vault.reader() as rd:
        conv = next(c for c in rd.conversations() if c.native_id == "kat-3")
        files = {f.name: rd.read_file(f) for f in rd.version(conv.version_serials[-1]).files}
    grown = {name: data + b'{"appended":true}\n' for name, data in files.items()}
    with vault.writer() as w:
        r = w.store(ConversationSnapshot("codex", "kat-3", "Known answer three",
                                         tuple(RawFile(n, data=d) for n, d in grown.items()),
                                         org="kat-host"))
    assert r.status == "changed" and r.bytes_stored < 2000  # resumed: only the tail is new
    with vault.reader() as rd:
        conv = next(c for c in rd.conversations() if c.native_id == "kat-3")
        latest = rd.version(conv.version_serials[-1])
        assert {f.name: rd.read_file(f) for f in latest.files} == grown
    assert vault.check(read_data=True).ok
