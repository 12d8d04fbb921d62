"""Bulk writing of generated rows: COPY on PostgreSQL (psycopg 3), batched inserts on SQLite.

Rows arrive as plain Python values with plaintext in the encrypted columns. On SQLite they go
through ``table.insert()`` (executemany in chunks), so every column type processes its value
as in normal operation, the encrypted ones included. COPY bypasses SQLAlchemy's types: the
writer calls each column type's ``process_bind_param`` itself (for ``EncryptedText`` and
``EncryptedDate``: the keyring's AES-GCM with format byte and key id), so the bytes have the
same format as those the ORM writes, and turns enum members into their values.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path

from sqlalchemy import Connection, Table, text
from sqlalchemy.types import TypeDecorator

from kimdb.consent.storage import ScanStorage
from kimdb.crypto import keyring

SQLITE_CHUNK = 5000


class BulkWriter:
    """Writes rows into the tables of ``metadata`` over the SQLAlchemy ``connection``.

    ``seconds`` and ``rows`` add up, per table, the time spent writing (encryption included)
    and the rows written, for the summary.

    On PostgreSQL, when the connection's role is a superuser, the foreign-key triggers are
    switched off for this session while loading (``session_replication_role = replica``):
    checking each row's references costs four times the COPY itself (321,493 consultations:
    17 s with, 3.7 s without). ``verify_references`` then checks every foreign key of the
    written tables in one anti-join each; ``finish`` switches the triggers back on. CHECK
    constraints and unique indexes are enforced all the time.
    """

    def __init__(self, connection: Connection, tables: dict[str, Table]) -> None:
        self.connection = connection
        self.tables = tables
        self.postgresql = connection.dialect.name == "postgresql"
        self.seconds: dict[str, float] = defaultdict(float)
        self.rows: dict[str, int] = defaultdict(int)
        self._processors: dict[tuple[str, tuple[str, ...]], list] = {}
        self.triggers_off = False
        if self.postgresql and connection.scalar(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ):
            connection.execute(text("SET session_replication_role = replica"))
            self.triggers_off = True

    def finish(self) -> None:
        """Switch the foreign-key triggers back on (the connection returns to the pool)."""
        if self.triggers_off:
            self.connection.execute(text("RESET session_replication_role"))
            self.triggers_off = False

    def verify_references(self, names: Sequence[str]) -> list[str]:
        """Return the foreign keys of the tables ``names`` that point at a missing row, as
        "table.column → table: n rows" (empty when all hold). Only needed when the triggers
        were off; otherwise the database checked every row already and this returns []."""
        if not self.postgresql or not self.triggers_off:
            return []
        problems = []
        for name in names:
            table = self.tables[name]
            for key in table.foreign_keys:
                child, parent = key.parent, key.column
                dangling = self.connection.scalar(
                    text(
                        f"SELECT count(*) FROM {table.name} c WHERE c.{child.name} IS NOT NULL "  # noqa: S608
                        f"AND NOT EXISTS (SELECT 1 FROM {parent.table.name} p "
                        f"WHERE p.{parent.name} = c.{child.name})"
                    )
                )
                if dangling:
                    problems.append(
                        f"{table.name}.{child.name} → {parent.table.name}: {dangling} rows"
                    )
        return problems

    def write(self, name: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """Write ``rows`` (tuples in ``columns`` order) into table ``name``.

        Raises KeyError for an unknown table or column (before anything is written).
        """
        if not rows:
            return
        started = time.perf_counter()
        table = self.tables[name]
        for column in columns:
            table.c[column]  # noqa: B018 - raises KeyError for a column that does not exist
        if self.postgresql:
            self._copy(table, tuple(columns), rows)
        else:
            insert = table.insert()
            for start in range(0, len(rows), SQLITE_CHUNK):
                self.connection.execute(
                    insert,
                    [
                        dict(zip(columns, row, strict=True))
                        for row in rows[start : start + SQLITE_CHUNK]
                    ],
                )
        self.seconds[name] += time.perf_counter() - started
        self.rows[name] += len(rows)

    def _bind_processors(self, table: Table, columns: tuple[str, ...]) -> list:
        """Return (position, function) for each column whose type changes the value on the
        way into the database (kimdb's encrypted types); cached per table and columns."""
        key = (table.name, columns)
        if key not in self._processors:
            dialect = self.connection.dialect
            found = []
            for position, column in enumerate(columns):
                column_type = table.c[column].type
                if isinstance(column_type, TypeDecorator):
                    found.append((position, _bound(column_type.process_bind_param, dialect)))
            self._processors[key] = found
        return self._processors[key]

    def _copy(self, table: Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """COPY ``rows`` into ``table`` through the raw psycopg 3 connection."""
        processors = self._bind_processors(table, columns)
        if not self.connection.in_transaction():
            # COPY runs on the driver's cursor, which SQLAlchemy does not see: begin the
            # transaction here, so that the caller's commit() ends it.
            self.connection.begin()
        cursor = self.connection.connection.driver_connection.cursor()
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for row in rows:
                if processors:
                    row = list(row)
                    for position, process in processors:
                        row[position] = process(row[position])
                copy.write_row(row)
        cursor.close()

    def reset_sequences(self) -> None:
        """PostgreSQL: set every id sequence after the largest id (ids were written
        explicitly); SQLite needs nothing (rowid follows the largest id)."""
        if not self.postgresql:
            return
        for table in self.tables.values():
            if "id" not in table.c:
                continue
            self.connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                    f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table.name}"
                )
            )

    def analyze(self) -> None:
        """Refresh the planner statistics (``ANALYZE``) after the bulk load; on PostgreSQL
        also ``VACUUM`` (outside a transaction, as it must run), which sets the visibility map
        of the freshly written pages: without it an index-only scan reads every heap row
        until autovacuum comes by (and a server with autovacuum off, as a test machine may
        have, never does), so the pages would be measured slower than a running installation
        serves them (issue 8; PostgreSQL manual, "Populating a Database", "Routine
        Vacuuming")."""
        if not self.postgresql:
            self.connection.execute(text("ANALYZE"))
            return
        self.connection.commit()
        engine = self.connection.engine
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))


def _bound(process: Callable, dialect) -> Callable:
    """Return ``process(value, dialect)`` as a function of the value only; enum members
    become their value (COPY writes what it is given)."""

    def run(value):
        if isinstance(value, Enum):
            value = value.value
        return process(value, dialect)

    return run


class ScanWriter:
    """Stores the encrypted consent scans of generated clients in ``KIMDB_STORAGE_DIR``.

    The same layout and ciphertext format as ``ScanStorage.put`` (the keyring's current key),
    under a key the generator draws from its seeded generator, so a run is repeatable. The
    scan is encrypted once and every client's file is a hard link to that ciphertext: 400,000
    files cost a directory entry each instead of a 4 KiB block and a write (47 µs instead of
    110 µs a file here). The stand-in scan is the same for everyone, so the shared ciphertext
    tells nothing; rotation and erasure replace or remove one path at a time, as for any file.
    Where hard links are not possible, each file is written.
    """

    def __init__(self, root: str, data: bytes) -> None:
        self.storage = ScanStorage(root)
        self.data = data
        self.files = 0
        self.seconds = 0.0
        self._folders: set[Path] = set()
        self._original: Path | None = None

    def store(self, key: str) -> None:
        """Store the encrypted scan under ``key`` (32 hex digits)."""
        started = time.perf_counter()
        path = self.storage.path_of(key)
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        try:
            if self._original is None:
                raise FileNotFoundError
            path.unlink(missing_ok=True)  # a file of an earlier run with the same seed
            os.link(self._original, path)
        except OSError:
            path.write_bytes(keyring().encrypt(self.data))
            self._original = path
        self.files += 1
        self.seconds += time.perf_counter() - started
