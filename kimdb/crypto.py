"""Field and file encryption (AES-256-GCM from ``cryptography``).

Every ciphertext starts with a format byte and the 4-byte id of the key that made it, so that
several keys can be held at once and rotated (DESIGN.md §4; issue 6 item 1). Keys come from the
environment (``KIMDB_ENCRYPTION_KEYS``, a key file named by ``KIMDB_ENCRYPTION_KEYS_FILE``, or
the older ``KIMDB_ENCRYPTION_KEY``), never from the database.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12
KEY_ID_BYTES = 4
# Format byte and key id: what rotation and its checks read without decrypting.
HEADER_BYTES = 1 + KEY_ID_BYTES

KEYS_VARIABLE = "KIMDB_ENCRYPTION_KEYS"
KEYS_FILE_VARIABLE = "KIMDB_ENCRYPTION_KEYS_FILE"
LEGACY_KEY_VARIABLE = "KIMDB_ENCRYPTION_KEY"


class CryptoError(Exception):
    """A key is missing or malformed, or a ciphertext cannot be decrypted."""


def generate_key() -> str:
    """Return a new random 256-bit key, urlsafe base64, for ``KIMDB_ENCRYPTION_KEYS``."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def _decode_key(text: str, where: str = LEGACY_KEY_VARIABLE) -> bytes:
    """Return the 32 raw bytes of one urlsafe-base64 key; ``where`` names it in the error."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError) as exc:
        raise CryptoError(f"{where} is not valid urlsafe base64") from exc
    if len(key) != 32:
        raise CryptoError(f"{where} must encode exactly 32 bytes (AES-256), not {len(key)}")
    return key


def split_keys(text: str) -> list[str]:
    """Return the keys in ``text``: separated by commas or line breaks, newest first.

    Blank entries and ``#`` comments (to the end of a line) are left out, so a key file can say
    when each key was made. Does not check the keys (see Keyring).
    """
    keys = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        keys.extend(part.strip() for part in line.split(",") if part.strip())
    return keys


def key_id_hex(key_id: bytes) -> str:
    """Return a 4-byte key id as 8 hex digits, the form shown to operators."""
    return key_id.hex()


class Keyring:
    """Holds the encryption keys; the first one encrypts, every one decrypts.

    ``keys`` is either text (keys separated by commas or line breaks, see ``split_keys``) or a
    list of keys, each urlsafe base64 of 32 bytes, newest first. ``source`` names where they
    came from in error messages (e.g. ``KIMDB_ENCRYPTION_KEYS``). Raises CryptoError for no key,
    a malformed key (naming its position), or two keys with the same id.
    """

    def __init__(self, keys: str | Iterable[str], source: str = LEGACY_KEY_VARIABLE) -> None:
        texts = split_keys(keys) if isinstance(keys, str) else [k for k in keys if k.strip()]
        if not texts:
            raise CryptoError(f"no encryption key given in {source}")
        decoded = [
            _decode_key(k, source if len(texts) == 1 else f"key {n} of {source}")
            for n, k in enumerate(texts, start=1)
        ]
        self._by_id: dict[bytes, AESGCM] = {}
        self._order: list[bytes] = []
        for n, key in enumerate(decoded, start=1):
            kid = self.key_id(key)
            if kid in self._by_id:
                raise CryptoError(f"key {n} of {source} is listed twice")
            self._by_id[kid] = AESGCM(key)
            self._order.append(kid)
        self._current_id = self._order[0]
        self.source = source

    @staticmethod
    def key_id(key: bytes) -> bytes:
        """Return the 4-byte id of ``key`` (a prefix of its SHA-256; reveals nothing usable)."""
        return hashlib.sha256(b"kimdb-key-id:" + key).digest()[:KEY_ID_BYTES]

    @property
    def current_id(self) -> bytes:
        """The 4-byte id of the newest key, the one that encrypts."""
        return self._current_id

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """The 4-byte ids of all configured keys, newest first."""
        return tuple(self._order)

    @property
    def current_header(self) -> bytes:
        """Format byte and id of the newest key: how every up-to-date ciphertext begins."""
        return FORMAT_V1 + self._current_id

    @property
    def known_headers(self) -> tuple[bytes, ...]:
        """Format byte and key id of every configured key: the ciphertexts it can decrypt."""
        return tuple(FORMAT_V1 + kid for kid in self._order)

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

    def is_current(self, blob: bytes) -> bool:
        """Return whether ``blob`` (or its first HEADER_BYTES) was made with the newest key."""
        return bytes(blob[:HEADER_BYTES]) == self.current_header

    def reencrypt(self, blob: bytes) -> bytes:
        """Return ``blob`` encrypted afresh with the newest key (same plaintext).

        Raises CryptoError like ``decrypt``. Source: issue 6 item 1 (rotation).
        """
        return self.encrypt(self.decrypt(blob))


def read_key_file(path: str) -> str:
    """Return the text of the key file ``path`` (``KIMDB_ENCRYPTION_KEYS_FILE``).

    Raises CryptoError naming the variable if the file is missing or unreadable, or if its
    permissions let the group or others read or write it (the keys protect special-category
    data, GDPR Art. 9 and 32: ``chmod 600`` it, owned by the user kimdb runs as).
    """
    file = Path(path)
    try:
        mode = file.stat().st_mode
        if not stat.S_ISREG(mode):
            raise CryptoError(f"{KEYS_FILE_VARIABLE}: {path} is not a file")
        if os.name == "posix" and mode & 0o077:
            raise CryptoError(
                f"{KEYS_FILE_VARIABLE}: {path} is accessible to group or others "
                f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
            )
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CryptoError(
            f"{KEYS_FILE_VARIABLE}: cannot read {path} ({exc.strerror or exc})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise CryptoError(f"{KEYS_FILE_VARIABLE}: {path} is not a text file") from exc


def keyring_from_settings(
    keys: str | None = None, keys_file: str | None = None, legacy_key: str | None = None
) -> Keyring:
    """Build the keyring from exactly one of the three key settings.

    ``keys``: ``KIMDB_ENCRYPTION_KEYS`` (comma- or newline-separated, newest first);
    ``keys_file``: ``KIMDB_ENCRYPTION_KEYS_FILE`` (path of a file, one key per line, ``#``
    comments); ``legacy_key``: ``KIMDB_ENCRYPTION_KEY`` (the older name, same format as
    ``keys``). Raises CryptoError naming the variable when none or more than one is set, when
    the file cannot be used, or when a key is malformed. Source: issue 6 item 1.
    """
    given = [
        (name, value)
        for name, value in (
            (KEYS_VARIABLE, keys),
            (KEYS_FILE_VARIABLE, keys_file),
            (LEGACY_KEY_VARIABLE, legacy_key),
        )
        if value and value.strip()
    ]
    if not given:
        raise CryptoError(
            f"missing encryption keys: set {KEYS_VARIABLE} or {KEYS_FILE_VARIABLE} "
            "(see README.md, Key rotation)"
        )
    if len(given) > 1:
        raise CryptoError(
            "set only one of " + ", ".join(name for name, _ in given) + " (the encryption keys)"
        )
    name, value = given[0]
    if name == KEYS_FILE_VARIABLE:
        path = value.strip()
        return Keyring(split_keys(read_key_file(path)), source=f"{KEYS_FILE_VARIABLE} ({path})")
    return Keyring(value, source=name)


_keyring: Keyring | None = None


def configure(keys: str | Keyring) -> Keyring:
    """Install the process-wide keyring (a Keyring, or key text as for Keyring) and return it."""
    global _keyring
    _keyring = keys if isinstance(keys, Keyring) else Keyring(keys)
    return _keyring


def keyring() -> Keyring:
    """Return the configured keyring; raise CryptoError if ``configure`` was not called."""
    if _keyring is None:
        raise CryptoError(f"encryption is not configured ({KEYS_VARIABLE})")
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
