"""Key rotation: re-encrypt every encrypted column and every consent scan to the newest key.

Issue 6 item 1; DESIGN.md §4; GDPR Art. 32 (keys must be replaceable without losing data).
The encrypted columns are found in the SQLAlchemy metadata (every column of type EncryptedText
or EncryptedDate), so a new encrypted column is rotated without a change here. Each ciphertext
begins with a format byte and its key's id (kimdb.crypto), so everything below reads that
header in SQL or from the first bytes of a file and never needs to decrypt to decide.

The steps, each usable without Flask (an Engine, a MetaData, a ScanStorage and a Keyring):
``take_census`` counts which keys the ciphertexts use; ``refusal`` says why a rotation must
not start (a ciphertext under a key that is not configured); ``rotate`` re-encrypts in
batches, one transaction per batch, ordered by primary key, skipping what is already under the
newest key, so an interrupted run simply continues when started again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import (
    Column,
    Engine,
    LargeBinary,
    MetaData,
    and_,
    bindparam,
    case,
    column,
    func,
    literal,
    or_,
    select,
    table,
    type_coerce,
    update,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import TableClause

from kimdb.consent.storage import ScanStorage
from kimdb.crypto import (
    FORMAT_V1,
    HEADER_BYTES,
    KEY_ID_BYTES,
    EncryptedDate,
    EncryptedText,
    Keyring,
    key_id_hex,
)

ENCRYPTED_TYPES = (EncryptedText, EncryptedDate)


class RotationError(Exception):
    """Rotation cannot run: an encrypted table has no single-column primary key."""


class RotationRefused(Exception):
    """Rotation did not start because some ciphertext uses a key that is not configured.

    Nothing was changed. ``message`` says how many rows and files, and what to do.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class EncryptedTable:
    """A table with encrypted columns: its primary key and the names of those columns."""

    name: str
    primary_key: str
    columns: tuple[str, ...]
    schema: str | None = None

    def raw(self) -> TableClause:
        """Return a lightweight table whose encrypted columns read and write raw bytes."""
        return table(
            self.name,
            column(self.primary_key),
            *(column(name, LargeBinary) for name in self.columns),
            schema=self.schema,
        )


def is_encrypted(col: Column) -> bool:
    """Return whether ``col`` holds ciphertext (its type is EncryptedText or EncryptedDate)."""
    return isinstance(col.type, ENCRYPTED_TYPES)


def encrypted_tables(metadata: MetaData) -> list[EncryptedTable]:
    """Return every table of ``metadata`` with encrypted columns, in dependency order.

    Raises RotationError for such a table without a single-column primary key (the batches
    are ordered and resumed by it).
    """
    found = []
    for tbl in metadata.sorted_tables:
        names = tuple(c.name for c in tbl.columns if is_encrypted(c))
        if not names:
            continue
        pk = list(tbl.primary_key.columns)
        if len(pk) != 1:
            raise RotationError(f"table {tbl.name} has encrypted columns but no single-column key")
        found.append(EncryptedTable(tbl.name, pk[0].name, names, tbl.schema))
    return found


def header_of(value: ColumnElement, dialect: str) -> ColumnElement:
    """Return SQL for the first HEADER_BYTES (format byte and key id) of a binary column.

    ``dialect`` is the SQLAlchemy dialect name; PostgreSQL gets the standard ``substring``,
    SQLite its ``substr`` (both count bytes of a blob from 1).
    """
    fn = func.substring if dialect == "postgresql" else func.substr
    return type_coerce(fn(value, 1, HEADER_BYTES), LargeBinary)


@dataclass
class TableCensus:
    """The ciphertexts of one table: rows holding any, rows needing rotation, rows unreadable."""

    name: str
    rows: int = 0
    rows_to_rotate: int = 0
    rows_unknown_key: int = 0


@dataclass
class KeyCensus:
    """Which keys the stored ciphertexts use (counted by their headers, nothing decrypted).

    ``values``: header (format byte + key id) → number of encrypted values in the database;
    ``files``: header → number of scan files; ``tables``: per-table row counts;
    ``files_unknown_key``: scan files whose key is not configured.
    """

    values: Counter = field(default_factory=Counter)
    files: Counter = field(default_factory=Counter)
    tables: list[TableCensus] = field(default_factory=list)
    files_to_rotate: int = 0
    files_unknown_key: int = 0

    @property
    def rows_to_rotate(self) -> int:
        """Rows with at least one value not under the newest key."""
        return sum(t.rows_to_rotate for t in self.tables)

    @property
    def rows_unknown_key(self) -> int:
        """Rows with at least one value under a key that is not configured."""
        return sum(t.rows_unknown_key for t in self.tables)

    def uses(self, key_id: bytes) -> tuple[int, int]:
        """Return (values, files) encrypted with the key of id ``key_id``."""
        header = FORMAT_V1 + key_id
        return self.values[header], self.files[header]


def _table_census(conn, enc: EncryptedTable, ring: Keyring, dialect: str) -> TableCensus:
    raw = enc.raw()
    cols = [raw.c[name] for name in enc.columns]
    headers = [header_of(c, dialect) for c in cols]
    current = literal(ring.current_header, LargeBinary)
    known = list(ring.known_headers)

    def count_where(*conditions) -> ColumnElement:
        return func.coalesce(func.sum(case((or_(*conditions), 1), else_=0)), 0)

    row = conn.execute(
        select(
            count_where(*(c.is_not(None) for c in cols)),
            count_where(*(h != current for h in headers)),
            count_where(
                *(and_(c.is_not(None), h.not_in(known)) for c, h in zip(cols, headers, strict=True))
            ),
        ).select_from(raw)
    ).one()
    return TableCensus(enc.name, int(row[0]), int(row[1]), int(row[2]))


def take_census(
    engine: Engine, metadata: MetaData, storage: ScanStorage, ring: Keyring
) -> KeyCensus:
    """Count, for every key, the database values and scan files encrypted with it.

    Reads the key ids in SQL (one grouped query per encrypted column, one count per table) and
    the first bytes of each scan file; decrypts nothing and writes nothing.
    """
    census = KeyCensus()
    dialect = engine.dialect.name
    with engine.connect() as conn:
        for enc in encrypted_tables(metadata):
            raw = enc.raw()
            for name in enc.columns:
                header = header_of(raw.c[name], dialect).label("header")
                for value, count in conn.execute(
                    select(header, func.count())
                    .select_from(raw)
                    .where(raw.c[name].is_not(None))
                    .group_by(header)
                ):
                    census.values[bytes(value)] += count
            census.tables.append(_table_census(conn, enc, ring, dialect))
    known = set(ring.known_headers)
    for path in storage.encrypted_files():
        try:
            header = storage.header(path)
        except FileNotFoundError:  # erased meanwhile
            continue
        census.files[header] += 1
        if header != ring.current_header:
            census.files_to_rotate += 1
        if header not in known:
            census.files_unknown_key += 1
    return census


def unknown_key_ids(census: KeyCensus, ring: Keyring) -> list[str]:
    """Return the ids (hex) of keys used by stored ciphertexts but not configured in ``ring``."""
    known = set(ring.known_headers)
    headers = {h for h in list(census.values) + list(census.files) if h not in known}
    return sorted(
        key_id_hex(h[1 : 1 + KEY_ID_BYTES]) if h[:1] == FORMAT_V1 else f"format {h[:1].hex()}"
        for h in headers
    )


def refusal(census: KeyCensus, ring: Keyring) -> str | None:
    """Return why a rotation must not start, or None if every ciphertext can be decrypted.

    A rotation with a missing old key must refuse before touching anything (issue 6,
    contract): it names how many rows (per table) and scan files use an unknown key.
    """
    if not census.rows_unknown_key and not census.files_unknown_key:
        return None
    tables = ", ".join(
        f"{t.name}: {t.rows_unknown_key}" for t in census.tables if t.rows_unknown_key
    )
    parts = []
    if census.rows_unknown_key:
        parts.append(f"{census.rows_unknown_key} rows ({tables})")
    if census.files_unknown_key:
        parts.append(f"{census.files_unknown_key} scan files")
    ids = ", ".join(unknown_key_ids(census, ring))
    return (
        f"rotate-keys refused, nothing was changed: {' and '.join(parts)} are encrypted with a "
        f"key that is not configured in {ring.source} (key id {ids}). "
        "Add that old key after the newest one and run rotate-keys again."
    )


def removable_keys(census: KeyCensus, ring: Keyring) -> list[tuple[int, bytes]]:
    """Return (position from 1, key id) of each older configured key no ciphertext uses.

    Such a key can be removed from the configuration (after the key backup holds the newest
    key). The newest key is never listed.
    """
    return [
        (n, kid)
        for n, kid in enumerate(ring.key_ids, start=1)
        if kid != ring.current_id and census.uses(kid) == (0, 0)
    ]


def describe_census(census: KeyCensus, ring: Keyring) -> list[str]:
    """Return the lines of ``rotate-keys --check``: each key's use and what can be removed."""
    lines = [f"keys in {ring.source} (newest first):"]
    for n, kid in enumerate(ring.key_ids, start=1):
        values, files = census.uses(kid)
        role = "newest, encrypts" if kid == ring.current_id else "older"
        lines.append(f"  {n}. {key_id_hex(kid)} ({role}): {values} values, {files} scan files")
    unknown = unknown_key_ids(census, ring)
    if unknown:
        lines.append(
            f"NOT configured but used: {', '.join(unknown)} by {census.rows_unknown_key} rows and "
            f"{census.files_unknown_key} scan files"
        )
    if census.rows_to_rotate or census.files_to_rotate:
        lines.append(
            f"{census.rows_to_rotate} rows and {census.files_to_rotate} scan files are not under "
            "the newest key yet: run flask kimdb rotate-keys"
        )
    else:
        lines.append("every ciphertext uses the newest key")
    for n, kid in removable_keys(census, ring):
        lines.append(
            f"key {n} ({key_id_hex(kid)}) is no longer used and can be removed from "
            f"{ring.source} (keep it in the key backup until the database backups made "
            "before today have expired)"
        )
    return lines


@dataclass(frozen=True)
class Progress:
    """Reported after each committed batch: ``what`` (table name or ``scan files``), counts."""

    what: str
    done: int
    total: int


@dataclass
class RotationResult:
    """What a rotation did; ``seconds`` of wall time for the rows and for the files."""

    rows_reencrypted: int = 0
    rows_skipped: int = 0
    files_reencrypted: int = 0
    files_skipped: int = 0
    files_gone: int = 0
    row_seconds: float = 0.0
    file_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        """Total wall time in seconds."""
        return self.row_seconds + self.file_seconds

    @property
    def rows_per_second(self) -> float:
        """Rows re-encrypted per second of the database phase (0 if none)."""
        return self.rows_reencrypted / self.row_seconds if self.row_seconds else 0.0

    def summary(self) -> str:
        """Return the one-paragraph summary the command prints."""
        return (
            f"re-encrypted {self.rows_reencrypted} rows ({self.rows_skipped} skipped, already "
            f"under the newest key) and {self.files_reencrypted} scan files "
            f"({self.files_skipped} skipped, {self.files_gone} erased meanwhile) in "
            f"{self.seconds:.1f} s, {self.rows_per_second:.0f} rows/s"
        )


def _rotate_batch(
    engine: Engine, enc: EncryptedTable, ring: Keyring, after, batch_size: int
) -> tuple[int, object]:
    """Re-encrypt up to ``batch_size`` rows of ``enc`` with key > ``after``, in one transaction.

    Returns (rows re-encrypted, last key seen; None when no row is left). Each UPDATE also
    requires the old ciphertext, so a value the application changed meanwhile (already under
    the newest key) is not overwritten with a stale one.
    """
    raw = enc.raw()
    pk = raw.c[enc.primary_key]
    cols = [raw.c[name] for name in enc.columns]
    current = literal(ring.current_header, LargeBinary)
    dialect = engine.dialect.name
    query = (
        select(pk, *cols)
        .where(or_(*(header_of(c, dialect) != current for c in cols)))
        .order_by(pk)
        .limit(batch_size)
    )
    if after is not None:
        query = query.where(pk > after)
    with engine.begin() as conn:
        rows = conn.execute(query).all()
        if not rows:
            return 0, None
        groups: dict[tuple[str, ...], list[dict]] = {}
        for row in rows:
            params = {"_pk": row[0]}
            changed = []
            for name, value in zip(enc.columns, row[1:], strict=True):
                if value is None or ring.is_current(value):
                    continue
                changed.append(name)
                params[f"_old_{name}"] = bytes(value)
                params[f"_new_{name}"] = ring.reencrypt(bytes(value))
            groups.setdefault(tuple(changed), []).append(params)
        for changed, params in groups.items():
            statement = (
                update(raw)
                .where(pk == bindparam("_pk"))
                .where(*(raw.c[n] == bindparam(f"_old_{n}", type_=LargeBinary) for n in changed))
                .values({n: bindparam(f"_new_{n}", type_=LargeBinary) for n in changed})
            )
            conn.execute(statement, params)
    return len(rows), rows[-1][0]


def rotate(
    engine: Engine,
    metadata: MetaData,
    storage: ScanStorage,
    ring: Keyring,
    batch_size: int = 500,
    on_progress: Callable[[Progress], None] | None = None,
) -> RotationResult:
    """Re-encrypt every encrypted value and every scan file to the newest key of ``ring``.

    First checks that every ciphertext's key is configured and raises RotationRefused, having
    changed nothing, if not. Then, table by table, re-encrypts rows in batches of
    ``batch_size`` (one transaction each, ordered by primary key); rows already under the
    newest key are skipped, so an interrupted run continues where it stopped. Then every file
    of ``storage`` (ScanStorage.encrypted_files, nested storages included) is replaced
    atomically, one by one. ``on_progress`` is called after each committed batch. Raises
    CryptoError if a ciphertext turns out altered (its batch is
    rolled back). Source: issue 6 item 1.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    census = take_census(engine, metadata, storage, ring)
    reason = refusal(census, ring)
    if reason:
        raise RotationRefused(reason)
    result = RotationResult()
    started = time.perf_counter()
    for enc, tc in zip(encrypted_tables(metadata), census.tables, strict=True):
        done, after = 0, None
        while True:
            count, after = _rotate_batch(engine, enc, ring, after, batch_size)
            if not count:
                break
            done += count
            if on_progress:
                on_progress(Progress(enc.name, done, max(done, tc.rows_to_rotate)))
        result.rows_reencrypted += done
        result.rows_skipped += max(tc.rows - done, 0)
    result.row_seconds = time.perf_counter() - started

    started = time.perf_counter()
    total = census.files_to_rotate
    for path in storage.encrypted_files():
        try:
            if storage.header(path) == ring.current_header:
                result.files_skipped += 1
                continue
            blob = ring.reencrypt(path.read_bytes())
        except FileNotFoundError:
            result.files_gone += 1
            continue
        if not storage.replace_file(path, blob):
            result.files_gone += 1
            continue
        result.files_reencrypted += 1
        if on_progress and result.files_reencrypted % batch_size == 0:
            on_progress(Progress("scan files", result.files_reencrypted, total))
    if on_progress and result.files_reencrypted % batch_size:
        on_progress(Progress("scan files", result.files_reencrypted, total))
    result.file_seconds = time.perf_counter() - started
    return result
