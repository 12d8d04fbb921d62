"""Encrypted file storage of consent scans (``KIMDB_STORAGE_DIR``).

Files are named by a random key and hold AES-GCM ciphertext only; the database keeps the key.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from kimdb.crypto import HEADER_BYTES, keyring


class ScanStorage:
    """Stores and reads encrypted scans below ``root`` (a directory path)."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def path_of(self, key: str) -> Path:
        """Return the file of the storage key ``key`` (``scans/<first 2 characters>/<key>``);
        raise ValueError for a key that is not alphanumeric (no path tricks)."""
        if not key.isalnum():
            raise ValueError("malformed storage key")
        return self.root / "scans" / key[:2] / key

    def put(self, data: bytes) -> str:
        """Encrypt and write ``data``; return the new storage key (written atomically)."""
        key = secrets.token_hex(16)
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(keyring().encrypt(data))
        os.replace(tmp, path)
        return key

    def get(self, key: str) -> bytes:
        """Return the decrypted content stored under ``key``; raise FileNotFoundError if gone."""
        return keyring().decrypt(self.path_of(key).read_bytes())

    def delete(self, key: str) -> None:
        """Remove the file under ``key`` if it exists."""
        self.path_of(key).unlink(missing_ok=True)

    def raw(self, key: str) -> bytes:
        """Return the stored ciphertext as it lies on disk (for checks and tests)."""
        return self.path_of(key).read_bytes()

    def encrypted_files(self) -> Iterator[Path]:
        """Yield the path of every stored file below ``root``, in a stable order.

        Also the files of storages nested in it (e.g. ``pending/``, scans held during a
        registration), so that rotation finds every ciphertext in ``KIMDB_STORAGE_DIR``.
        Temporary files of an interrupted write (names with a dot) are left out.
        """
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            here = Path(folder)
            if here.parent.name != "scans":
                continue
            for name in sorted(files):
                if name.isalnum():
                    yield here / name

    @staticmethod
    def header(path: Path) -> bytes:
        """Return the first bytes of the file at ``path`` (format byte and key id).

        Reads only those bytes, so checking every file's key costs little. Raises
        FileNotFoundError if the file is gone.
        """
        with path.open("rb") as file:
            return file.read(HEADER_BYTES)

    @staticmethod
    def replace_file(path: Path, blob: bytes) -> bool:
        """Replace the stored file at ``path`` with the ciphertext ``blob``, atomically.

        The new content goes to a temporary file in the same directory, is flushed to disk,
        and then takes the old file's place with ``os.replace``: a crash leaves the old or the
        new file, never half of one. Returns False, writing nothing, if the file is gone (e.g.
        erased by a consent withdrawal meanwhile): a scan that was erased stays erased.
        Source: issue 6 item 1 (rotation loses nothing).
        """
        if not path.exists():
            return False
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with tmp.open("wb") as file:
                file.write(blob)
                file.flush()
                os.fsync(file.fileno())
            if not path.exists():
                return False
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return True
