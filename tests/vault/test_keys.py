import os

import pytest

from vault import BadCredentials, UnsupportedFormat
from vault import keys as K

VID = bytes(range(16))


def test_recovery_key_text_round_trips_ignoring_case_spaces_and_dashes():
    key = os.urandom(32)
    text = K.format_recovery_key(key)
    assert text.startswith("AIFS-")
    assert K.parse_recovery_key(text) == key
    assert K.parse_recovery_key(text.lower().replace("-", " ")) == key


def test_recovery_key_typo_is_caught_by_checksum():
    text = K.format_recovery_key(os.urandom(32))
    i = 10
    typo = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]
    with pytest.raises(BadCredentials, match="typo|base32"):
        K.parse_recovery_key(typo)


def test_passphrase_slot_opens_only_with_the_right_passphrase():
    master = K.new_master()
    slot = K.seal_slot(K.KIND_PASSPHRASE, b"pw", master, VID, K.KdfParams(1, 1024, 1))
    assert len(slot) == K.SLOT_SIZE
    assert K.open_slot(slot, b"pw", VID) == master
    with pytest.raises(BadCredentials):
        K.open_slot(slot, b"pW", VID)


def test_slot_is_bound_to_its_vault_and_its_kdf_parameters():
    master = K.new_master()
    slot = K.seal_slot(K.KIND_PASSPHRASE, b"pw", master, VID, K.KdfParams(1, 1024, 1))
    with pytest.raises(BadCredentials):
        K.open_slot(slot, b"pw", bytes(16))  # moved to another vault
    weaker = bytearray(slot)
    weaker[12] ^= 1  # m_cost edited
    with pytest.raises(BadCredentials):
        K.open_slot(bytes(weaker), b"pw", VID)


def test_recovery_slot_uses_no_slow_kdf_and_opens_with_the_key():
    master, rk = K.new_master(), K.new_recovery_key()
    slot = K.seal_slot(K.KIND_RECOVERY, rk, master, VID)
    assert K.slot_kind(slot) == K.KIND_RECOVERY
    assert K.open_slot(slot, rk, VID) == master


def test_foreign_file_is_not_a_slot():
    with pytest.raises(UnsupportedFormat):
        K.slot_kind(b"x" * K.SLOT_SIZE)


def test_subkeys_are_distinct_and_deterministic():
    master = bytes(64)
    a, b = K.Subkeys.derive(master, VID), K.Subkeys.derive(master, VID)
    assert a == b
    assert len({a.blob, a.chunk_id, a.index, a.index_mac}) == 4
    assert 0 < a.chunker_seed < 2 ** 62
