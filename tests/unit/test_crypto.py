"""Field encryption (AES-256-GCM) without the app."""

import pytest

from kimdb.crypto import CryptoError, Keyring, generate_key


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
