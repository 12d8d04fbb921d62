"""What every benchmark script needs first: kimdb on the import path and a throw-away instance
(database, storage, keys) in the ``KIMDB_*`` variables. Not part of kimdb itself."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def configure_environment(
    database_url: str | None,
    tmp: Path,
    key: str | None = None,
    *,
    blind_index_key: str | None = None,
    secret_key: str | None = None,
) -> None:
    """Point kimdb at a throw-away instance: ``database_url`` (an empty PostgreSQL database) or
    SQLite in ``tmp``, storage in ``tmp``, ``key`` as the encryption key (a new one if None),
    ``blind_index_key`` as the blind-index key and ``secret_key`` as the session key (new ones
    if None: pass the keys of an earlier run to reuse its database); any other key variable of
    the calling shell is removed."""
    from kimdb.crypto import generate_key

    for name in ("KIMDB_ENCRYPTION_KEY", "KIMDB_ENCRYPTION_KEYS_FILE"):
        os.environ.pop(name, None)
    os.environ.update(
        KIMDB_CONFIG="development",
        KIMDB_SECRET_KEY=secret_key or secrets.token_urlsafe(32),
        KIMDB_ENCRYPTION_KEYS=key or generate_key(),
        KIMDB_BLIND_INDEX_KEY=blind_index_key or generate_key(),
        KIMDB_DATABASE_URL=database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
        KIMDB_STORAGE_DIR=str(tmp / "storage"),
    )


def encryption_key(path: Path | None) -> str | None:
    """Return the encryption key stored in ``path``, or a new one written there (mode 600);
    None without a path (a random key: a re-run on the same database cannot decrypt it)."""
    if path is None:
        return None
    if path.exists():
        return path.read_text().strip()
    from kimdb.crypto import generate_key

    key = generate_key()
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key
