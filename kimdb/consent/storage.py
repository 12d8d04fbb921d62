"""Encrypted file storage of consent scans (``KIMDB_STORAGE_DIR``).

Files are named by a random key and hold AES-GCM ciphertext only; the database keeps the key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from kimdb.crypto import keyring


class ScanStorage:
    """Stores and reads encrypted scans below ``root`` (a directory path)."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("malformed storage key")
        return self.root / "scans" / key[:2] / key

    def put(self, data: bytes) -> str:
        """Encrypt and write ``data``; return the new storage key (written atomically)."""
        key = secrets.token_hex(16)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(keyring().encrypt(data))
        os.replace(tmp, path)
        return key

    def get(self, key: str) -> bytes:
        """Return the decrypted content stored under ``key``; raise FileNotFoundError if gone."""
        return keyring().decrypt(self._path(key).read_bytes())

    def delete(self, key: str) -> None:
        """Remove the file under ``key`` if it exists."""
        self._path(key).unlink(missing_ok=True)

    def raw(self, key: str) -> bytes:
        """Return the stored ciphertext as it lies on disk (for checks and tests)."""
        return self._path(key).read_bytes()
