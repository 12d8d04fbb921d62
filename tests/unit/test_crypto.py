"""Field encryption (AES-256-GCM), its key settings and the rotation rules, without the app."""

import os

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from kimdb import rotation
from kimdb.crypto import (
    FORMAT_V1,
    CryptoError,
    EncryptedDate,
    EncryptedText,
    Keyring,
    generate_key,
    keyring_from_settings,
    split_keys,
)


def test_roundtrip_and_no_plaintext_in_ciphertext():
    ring = Keyring(generate_key())
    blob = ring.encrypt("Müller".encode())
    assert "Müller".encode() not in blob
    assert ring.decrypt(blob).decode() == "Müller"


def test_same_plaintext_encrypts_differently():
    ring = Keyring(generate_key())
    assert ring.encrypt(b"x") != ring.encrypt(b"x")


def test_altered_ciphertext_is_refused():
    ring = Keyring(generate_key())
    blob = bytearray(ring.encrypt(b"secret"))
    blob[-1] ^= 1
    with pytest.raises(CryptoError, match="altered"):
        ring.decrypt(bytes(blob))


def test_older_key_still_decrypts_after_a_new_one_is_added():
    old = generate_key()
    blob = Keyring(old).encrypt(b"alt")
    assert Keyring(f"{generate_key()},{old}").decrypt(blob) == b"alt"


def test_unknown_key_is_reported():
    blob = Keyring(generate_key()).encrypt(b"x")
    with pytest.raises(CryptoError, match="not configured"):
        Keyring(generate_key()).decrypt(blob)


def test_malformed_key_is_refused():
    with pytest.raises(CryptoError):
        Keyring("too-short")


# Key settings (issue 6 item 1): KIMDB_ENCRYPTION_KEYS, a key file, or the older name.


def test_keys_variable_takes_commas_or_lines_and_the_first_encrypts():
    new, old = generate_key(), generate_key()
    old_blob = Keyring(old).encrypt(b"alt")
    for text in (f"{new},{old}", f"{new}\n{old}\n", f" {new} ,\n {old} "):
        ring = keyring_from_settings(keys=text)
        assert ring.decrypt(old_blob) == b"alt"
        assert ring.encrypt(b"neu")[1:5] == Keyring(new).current_id
        assert ring.source == "KIMDB_ENCRYPTION_KEYS"


def test_older_variable_name_is_still_accepted():
    key = generate_key()
    ring = keyring_from_settings(legacy_key=key)
    assert ring.current_id == Keyring(key).current_id
    assert ring.source == "KIMDB_ENCRYPTION_KEY"


def test_key_file_with_comments_and_blank_lines(tmp_path):
    new, old = generate_key(), generate_key()
    path = tmp_path / "keys"
    path.write_text(f"# kimdb keys, newest first\n{new}  # 2026-03\n\n{old}  # 2025-01\n")
    path.chmod(0o600)
    ring = keyring_from_settings(keys_file=str(path))
    assert ring.key_ids == (Keyring(new).current_id, Keyring(old).current_id)
    assert "KIMDB_ENCRYPTION_KEYS_FILE" in ring.source


def test_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "keys"
    path.write_text(generate_key() + "\n")
    path.chmod(0o644)
    with pytest.raises(CryptoError, match=r"KIMDB_ENCRYPTION_KEYS_FILE.*chmod 600"):
        keyring_from_settings(keys_file=str(path))


def test_missing_key_file_names_the_variable(tmp_path):
    with pytest.raises(CryptoError, match=r"KIMDB_ENCRYPTION_KEYS_FILE: cannot read"):
        keyring_from_settings(keys_file=str(tmp_path / "nowhere"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_key_file_names_the_variable(tmp_path):
    path = tmp_path / "keys"
    path.write_text(generate_key())
    path.chmod(0o000)
    with pytest.raises(CryptoError, match=r"KIMDB_ENCRYPTION_KEYS_FILE: cannot read"):
        keyring_from_settings(keys_file=str(path))


def test_empty_key_file_is_refused(tmp_path):
    path = tmp_path / "keys"
    path.write_text("# no key yet\n\n")
    path.chmod(0o600)
    with pytest.raises(CryptoError, match=r"no encryption key given in KIMDB_ENCRYPTION_KEYS_FILE"):
        keyring_from_settings(keys_file=str(path))


def test_no_key_setting_names_the_variables():
    with pytest.raises(CryptoError, match=r"KIMDB_ENCRYPTION_KEYS or KIMDB_ENCRYPTION_KEYS_FILE"):
        keyring_from_settings(None, "", "  ")


def test_two_key_settings_at_once_are_refused():
    with pytest.raises(
        CryptoError, match=r"only one of KIMDB_ENCRYPTION_KEYS, KIMDB_ENCRYPTION_KEY"
    ):
        keyring_from_settings(keys=generate_key(), legacy_key=generate_key())


def test_malformed_second_key_is_named_by_its_position():
    with pytest.raises(CryptoError, match=r"key 2 of KIMDB_ENCRYPTION_KEYS .*32 bytes"):
        keyring_from_settings(keys=f"{generate_key()},{generate_key()[:20]}")
    with pytest.raises(CryptoError, match=r"key 1 of KIMDB_ENCRYPTION_KEYS is not valid"):
        keyring_from_settings(keys=f"not base64!,{generate_key()}")


def test_a_key_listed_twice_is_refused():
    key = generate_key()
    with pytest.raises(CryptoError, match="key 2 .* listed twice"):
        keyring_from_settings(keys=f"{key},{key}")


def test_split_keys_drops_comments_and_blanks():
    assert split_keys("a, b\n# c\n\nd # e\n") == ["a", "b", "d"]


def test_reencrypt_moves_a_ciphertext_to_the_newest_key():
    new, old = generate_key(), generate_key()
    blob = Keyring(old).encrypt(b"Haddad")
    ring = Keyring(f"{new},{old}")
    assert not ring.is_current(blob)
    moved = ring.reencrypt(blob)
    assert ring.is_current(moved) and Keyring(new).decrypt(moved) == b"Haddad"


# Rotation rules without the app (kimdb.rotation).


def test_encrypted_tables_are_found_from_the_column_types():
    metadata = MetaData()
    Table(
        "people",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", EncryptedText),
        Column("born", EncryptedDate),
        Column("x", String),
    )
    Table("plain", metadata, Column("id", Integer, primary_key=True), Column("x", String))
    found = rotation.encrypted_tables(metadata)
    assert [(t.name, t.primary_key, t.columns) for t in found] == [
        ("people", "id", ("name", "born"))
    ]


def test_encrypted_table_without_a_single_key_cannot_be_rotated():
    metadata = MetaData()
    Table(
        "pairs",
        metadata,
        Column("a", Integer, primary_key=True),
        Column("b", Integer, primary_key=True),
        Column("text", EncryptedText),
    )
    with pytest.raises(rotation.RotationError, match="pairs"):
        rotation.encrypted_tables(metadata)


def _census(ring, values, files, unknown_rows=0, unknown_files=0):
    census = rotation.KeyCensus()
    for key_id, n in values.items():
        census.values[FORMAT_V1 + key_id] = n
    for key_id, n in files.items():
        census.files[FORMAT_V1 + key_id] = n
    census.tables.append(rotation.TableCensus("clients", sum(values.values()), 0, unknown_rows))
    census.files_unknown_key = unknown_files
    return census


def test_refusal_names_rows_and_files_under_an_unknown_key():
    missing = Keyring(generate_key()).current_id
    ring = Keyring(generate_key())
    census = _census(ring, {missing: 3}, {missing: 1}, unknown_rows=3, unknown_files=1)
    message = rotation.refusal(census, ring)
    assert "3 rows (clients: 3)" in message and "1 scan files" in message
    assert missing.hex() in message and "nothing was changed" in message
    assert rotation.refusal(_census(ring, {ring.current_id: 3}, {}), ring) is None


def test_old_key_is_removable_only_when_no_ciphertext_uses_it():
    new, old = generate_key(), generate_key()
    ring = Keyring(f"{new},{old}")
    old_id = Keyring(old).current_id
    assert rotation.removable_keys(_census(ring, {old_id: 1}, {}), ring) == []
    assert rotation.removable_keys(_census(ring, {}, {old_id: 1}), ring) == []
    assert rotation.removable_keys(_census(ring, {ring.current_id: 5}, {}), ring) == [(2, old_id)]
