"""Field and file encryption (AES-256-GCM from ``cryptography``).

Every ciphertext starts with a format byte and the 4-byte id of the key that made it, so that
several keys can be held at once and rotated (DESIGN.md §4). Keys come from the environment
(``KIMDB_ENCRYPTION_KEY``), never from the database.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12
KEY_ID_BYTES = 4


class CryptoError(Exception):
    """A key is missing or malformed, or a ciphertext cannot be decrypted."""


def generate_key() -> str:
    """Return a new random 256-bit key, urlsafe base64, for ``KIMDB_ENCRYPTION_KEY``."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def _decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("KIMDB_ENCRYPTION_KEY is not valid base64") from exc
    if len(key) != 32:
        raise CryptoError("KIMDB_ENCRYPTION_KEY must encode exactly 32 bytes (AES-256)")
    return key


class Keyring:
    """Holds the encryption keys; the first one encrypts, every one decrypts.

    ``keys`` is a comma-separated list of urlsafe-base64 32-byte keys, newest first.
    Raises CryptoError for a malformed key.
    """

    def __init__(self, keys: str) -> None:
        decoded = [_decode_key(k) for k in keys.split(",") if k.strip()]
        if not decoded:
            raise CryptoError("no encryption key given")
        self._by_id = {self.key_id(k): AESGCM(k) for k in decoded}
        self._current_id = self.key_id(decoded[0])

    @staticmethod
    def key_id(key: bytes) -> bytes:
        """Return the 4-byte id of ``key`` (a prefix of its SHA-256; reveals nothing usable)."""
        return hashlib.sha256(b"kimdb-key-id:" + key).digest()[:KEY_ID_BYTES]

    def encrypt(self, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` with the current key; return format byte, key id, nonce, ct."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._by_id[self._current_id].encrypt(nonce, plaintext, FORMAT_V1)
        return FORMAT_V1 + self._current_id + nonce + sealed

    def decrypt(self, blob: bytes) -> bytes:
        """Return the plaintext of ``blob``.

        Raises CryptoError if its key is not configured or the ciphertext was altered.
        """
        if not blob or blob[:1] != FORMAT_V1:
            raise CryptoError("unknown ciphertext format")
        key_id = blob[1 : 1 + KEY_ID_BYTES]
        nonce = blob[1 + KEY_ID_BYTES : 1 + KEY_ID_BYTES + NONCE_BYTES]
        aead = self._by_id.get(key_id)
        if aead is None:
            raise CryptoError("ciphertext was made with a key that is not configured")
        try:
            return aead.decrypt(nonce, blob[1 + KEY_ID_BYTES + NONCE_BYTES :], FORMAT_V1)
        except InvalidTag as exc:
            raise CryptoError("ciphertext was altered or the key is wrong") from exc


_keyring: Keyring | None = None


def configure(keys: str) -> Keyring:
    """Install the process-wide keyring from ``keys`` (see Keyring) and return it."""
    global _keyring
    _keyring = Keyring(keys)
    return _keyring


def keyring() -> Keyring:
    """Return the configured keyring; raise CryptoError if ``configure`` was not called."""
    if _keyring is None:
        raise CryptoError("encryption is not configured (KIMDB_ENCRYPTION_KEY)")
    return _keyring


class EncryptedText(TypeDecorator):
    """A text column stored as AES-GCM ciphertext; Python sees ``str`` (or None)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Encrypt a ``str`` on its way into the database (None stays NULL)."""
        if value is None:
            return None
        return keyring().encrypt(value.encode("utf-8"))

    def process_result_value(self, value, dialect):
        """Decrypt a stored value back to ``str``; raises CryptoError for an unknown key."""
        if value is None:
            return None
        return keyring().decrypt(bytes(value)).decode("utf-8")


class EncryptedDate(TypeDecorator):
    """A date column stored as AES-GCM ciphertext of its ISO form; Python sees ``date``."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Encrypt a ``date`` (as ISO text) on its way into the database."""
        if value is None:
            return None
        return keyring().encrypt(value.isoformat().encode("ascii"))

    def process_result_value(self, value, dialect):
        """Decrypt a stored value back to a ``date``."""
        if value is None:
            return None
        return dt.date.fromisoformat(keyring().decrypt(bytes(value)).decode("ascii"))


_index_key: bytes | None = None


def configure_blind_index(key: str) -> None:
    """Install the process-wide HMAC key of the blind indexes (``KIMDB_BLIND_INDEX_KEY``).

    The key is urlsafe base64 of at least 32 bytes and is separate from the encryption keys:
    it never rotates with them, or every index would have to be rebuilt. Raises CryptoError.
    """
    global _index_key
    try:
        raw = base64.urlsafe_b64decode(key.strip().encode("ascii"))
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("KIMDB_BLIND_INDEX_KEY is not valid base64") from exc
    if len(raw) < 32:
        raise CryptoError("KIMDB_BLIND_INDEX_KEY must encode at least 32 bytes")
    _index_key = raw


def blind_index(normalised: str) -> str:
    """Return the keyed hash (HMAC-SHA256, hex) of an already normalised value.

    Used to find clients by name or date of birth without decrypting the table. Raises
    CryptoError if ``configure_blind_index`` was not called.
    """
    if _index_key is None:
        raise CryptoError("blind index is not configured (KIMDB_BLIND_INDEX_KEY)")
    return hmac.new(_index_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()
