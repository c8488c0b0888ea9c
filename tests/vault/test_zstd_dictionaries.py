"""Two vaults in one process, each with its own zstd dictionary under the same dictionary id.

Regression (found by the crash trials, tests/reliability/crash_harness.py, which read many
vaults in one process): zstd contexts were cached per thread by dictionary *id* alone. Every
vault numbers its dictionaries from 1, so after one vault's dictionary 1 had been used, a
second vault's dictionary 1 got the first one's context: its blobs were *written* compressed
with the other vault's dictionary (unreadable anywhere else: data loss) and *read* with it
("blob does not decompress: Data corruption detected").
"""

from __future__ import annotations

import os
import random
import threading

from tests.conftest import TEST_PASSPHRASE
from vault.blob import DATA, BlobCipher, make_dictionary, train_dictionary
from vault.keys import KdfParams
from vault.model import ConversationSnapshot, RawFile
from vault.vault import Vault
from vault.writer import DICT_SAMPLE_BYTES


def _words(seed: int, vocabulary: int = 3000) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
            for _ in range(vocabulary)]


def _text(rng: random.Random, words: list[bytes], n: int) -> bytes:
    out, size = [], 0
    while size < n:
        w = rng.choice(words)
        out.append(w)
        size += len(w) + 1
    return b" ".join(out)[:n]


def _dictionary(seed: int) -> tuple[object, list[bytes]]:
    """A trained dictionary with id 1 and sample texts in its own vocabulary."""
    words, rng = _words(seed), random.Random(seed)
    samples = [_text(rng, words, 2000) for _ in range(400)]
    return make_dictionary(train_dictionary(samples, dict_id=1, size=16 * 1024)), samples


def _open_elsewhere(cipher: BlobCipher, blob_id: bytes, sealed: bytes, n: int) -> bytes | Exception:
    """Open a blob on a new thread (fresh per-thread zstd contexts)."""
    out: list = []

    def run() -> None:
        try:
            out.append(cipher.open(DATA, blob_id, sealed, n))
        except Exception as e:  # noqa: BLE001 - handed to the test
            out.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out[0]


def test_same_dictionary_id_different_dictionaries_one_thread():
    dict_a, samples_a = _dictionary(1)
    dict_b, samples_b = _dictionary(2)
    assert dict_a.dict_id() == dict_b.dict_id() == 1
    assert dict_a.as_bytes() != dict_b.as_bytes()
    key = os.urandom(32)
    cipher_a = BlobCipher(key, dictionaries=lambda i: dict_a)
    cipher_b = BlobCipher(key, dictionaries=lambda i: dict_b)
    text_a, text_b = samples_a[0] * 3, samples_b[0] * 3
    ida, idb = b"a" * 32, b"b" * 32

    sealed_a = cipher_a.seal(DATA, ida, text_a, zdict=dict_a)
    sealed_b = cipher_b.seal(DATA, idb, text_b, zdict=dict_b)  # same thread, same id 1
    assert sealed_b[1] == 2  # compressed with a dictionary

    # Read side, same thread: each vault's blob with its own dictionary.
    assert cipher_a.open(DATA, ida, sealed_a, len(text_a)) == text_a
    assert cipher_b.open(DATA, idb, sealed_b, len(text_b)) == text_b
    # Write side: B's blob was compressed with B's dictionary, so a thread that has only
    # ever seen B's dictionary (another process, in effect) reads it.
    assert _open_elsewhere(cipher_b, idb, sealed_b, len(text_b)) == text_b


def _session(rng: random.Random, words: list[bytes], n: int) -> bytes:
    lines = []
    while sum(map(len, lines)) < n:
        lines.append(b'{"type":"user","text":"' + _text(rng, words, rng.randint(500, 4000)) + b'"}\n')
    return b"".join(lines)


def test_two_vaults_with_dictionaries_in_one_process(tmp_path):
    """The crash trials' case end to end: each vault trains its dictionary 1 while writing,
    then both are read back in the same process, one after the other."""
    kdf = KdfParams(t_cost=1, m_cost_kib=1024, parallelism=1)
    stored = {}
    for name, seed in (("a", 11), ("b", 22)):
        vault, _ = Vault.create(tmp_path / name, TEST_PASSPHRASE, kdf)
        rng, words = random.Random(seed), _words(seed)
        files = {}
        # First session: enough new data to train the vault's dictionary 1 (closing waits
        # for the training and stores it); second session: written with that dictionary.
        for count in (DICT_SAMPLE_BYTES // 400_000 + 2, 6):
            batch = {f"s{len(files) + i}.jsonl": _session(rng, words, 400_000)
                     for i in range(count)}
            with vault.writer() as w:
                for fname, data in batch.items():
                    w.store(ConversationSnapshot("test", fname, fname,
                                                 (RawFile(fname, data=data),), org="o"))
            files.update(batch)
        with vault.reader() as r:
            assert r._read_generation() >= 2
        stored[name] = (vault, files)
    for name in ("a", "b", "a"):
        vault, files = stored[name]
        with vault.reader() as r:
            got = {}
            for conv in r.conversations():
                for f in r.version(conv.version_serials[-1]).files:
                    got[f.name] = r.read_file(f)
        assert got == files, f"vault {name} does not read back"
    # Every blob of b is readable where only b's dictionary was ever loaded.
    vault_b, _ = stored["b"]
    out: list = []
    t = threading.Thread(target=lambda: out.append(vault_b.check(read_data=True)))
    t.start()
    t.join()
    assert out[0].ok, out[0].problems
    assert out[0].stats["blobs_read"] > 0
