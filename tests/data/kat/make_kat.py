"""Writes the known-answer vault and vectors in this folder. Run ONCE per format version;
the output is committed and later versions of aifs must keep reading it unchanged.

    python tests/data/kat/make_kat.py   (refuses to overwrite)
"""

import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from vault import ConversationSnapshot, RawFile  # noqa: E402
from vault import keys as K  # noqa: E402
from vault import manifest as M  # noqa: E402
from vault.blob import DATA, BlobCipher  # noqa: E402
from vault import writer as W  # noqa: E402
from vault.vault import Vault  # noqa: E402

PASSPHRASE = "aifs known-answer vault v1"


def main() -> None:
    out = HERE / "vault-v1"
    if out.exists():
        sys.exit(f"{out} exists; known-answer data is never regenerated")
    vault, recovery = Vault.create(out, PASSPHRASE, K.KdfParams(1, 1024, 1))
    W.DICT_SAMPLE_BYTES = 256 << 10  # train the zstd dictionary on this small vault too
    import random
    r = random.Random(7)
    words = [bytes(r.choices(range(97, 123), k=r.randint(2, 9))) for _ in range(400)]
    big = b"".join(b'{"type":"user","n":%d,"text":"%s"}\n' % (i, b" ".join(r.choices(words, k=12)))
                   for i in range(12000))
    filler = (RawFile("filler.jsonl", data=b"".join(
        b'{"type":"assistant","text":"%s"}\n' % b" ".join(r.choices(words, k=20)) for _ in range(6000))),)
    convs = {}
    with vault.writer() as w:
        w.store(ConversationSnapshot("claude-code", "kat-1", "Known answer one",
                                     (RawFile("kat-1.jsonl", data=big),
                                      RawFile("subagents/agent-x.jsonl", data=b'{"a":1}\n')),
                                     org="kat-host"))
        w.store(ConversationSnapshot("codex", "kat-2", "Known answer two",
                                     (RawFile("rollout.jsonl", data=b'{"type":"session_meta"}\n'),),
                                     org="kat-host"))
        w.store(ConversationSnapshot("codex", "kat-3", "Known answer three", filler, org="kat-host"))
    # closing the session waited for the dictionary training and stored the dictionary
    with vault.writer() as w:
        w.store(ConversationSnapshot("claude-code", "kat-1", "Known answer one, grown",
                                     (RawFile("kat-1.jsonl", data=big + b'{"grown":true}\n'),
                                      RawFile("subagents/agent-x.jsonl", data=b'{"a":1}\n')),
                                     org="kat-host"))
    with vault.reader() as rd:
        with rd.index.env.begin() as txn:
            assert txn.get(b"zdict:current", db=rd.index.db["meta"]), "no dictionary trained"
        for c in rd.conversations():
            convs[c.native_id] = {
                "provider": c.provider, "org": c.org, "title": c.title,
                "versions": [{"name": v.name, "files": {f.name: {"size": f.size, "sha256": f.sha256.hex()}
                                                        for f in v.files}}
                             for v in map(rd.version, c.version_serials)]}
    # Single-structure vectors.
    master = bytes(range(64))
    vid = bytes(range(100, 116))
    slot = K.seal_slot(K.KIND_PASSPHRASE, b"slot passphrase", master, vid, K.KdfParams(1, 1024, 1))
    sub = K.Subkeys.derive(master, vid)
    sealed = BlobCipher(sub.blob).seal(DATA, b"\x11" * 32, b"blob plaintext " * 20)
    entry = M.make_entry("a/b.jsonl", 5, hashlib.sha256(b"hello").digest(), 123, [(b"\x22" * 32, 5)])
    manifest = M.encode({"serial": 1, "conversation_serial": 1, "name": "2026-01-01T00-00-00Z",
                         "captured_at": 1767225600.0, "title": "t"}, [entry])
    vectors = {
        "passphrase": PASSPHRASE, "recovery_key": recovery, "conversations": convs,
        "slot": {"vault_id": vid.hex(), "passphrase": "slot passphrase", "file": slot.hex(),
                 "master": master.hex()},
        "subkeys": {"master": master.hex(), "vault_id": vid.hex(), "blob": sub.blob.hex(),
                    "chunk_id": sub.chunk_id.hex(), "index": sub.index.hex(),
                    "index_mac": sub.index_mac.hex(), "chunker_seed": sub.chunker_seed},
        "blob": {"key": sub.blob.hex(), "type": DATA, "id": "11" * 32, "sealed": sealed.hex(),
                 "plaintext": (b"blob plaintext " * 20).hex()},
        "manifest": {"hex": manifest.hex()},
    }
    (HERE / "vectors.json").write_text(json.dumps(vectors, indent=2) + "\n")


if __name__ == "__main__":
    main()
