"""The records of processing, generated from the models' own tables and columns (issue 6
item 8, GDPR Art. 30). Plain functions over ``sqlalchemy.MetaData``: no request, no session."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, MetaData

from kimdb.crypto import EncryptedDate, EncryptedText
from kimdb.records.catalogue import CATEGORY_LABELS, FILES, TABLES, Category


class NotDescribed(Exception):
    """A table or column of the models has no entry in ``kimdb.records.catalogue``."""


@dataclass(frozen=True)
class ColumnRecord:
    """One column: name, category, whether it is encrypted at rest, its SQL type name."""

    name: str
    category: Category
    encrypted: bool
    sql_type: str

    @property
    def category_label(self) -> str:
        """The German name of the category."""
        return str(CATEGORY_LABELS[self.category])


@dataclass(frozen=True)
class TableDescription:
    """One table as the records page shows it (texts in the UI language, retention filled in)."""

    name: str
    title: str
    purpose: str
    subjects: str
    legal_basis: str
    retention: str
    audience: str
    audience_rules: tuple[str, ...]
    columns: tuple[ColumnRecord, ...]


def is_encrypted(column: Column) -> bool:
    """True if ``column`` is stored as ciphertext (EncryptedText, EncryptedDate)."""
    return isinstance(column.type, EncryptedText | EncryptedDate)


def missing_entries(metadata: MetaData) -> list[str]:
    """Return "table" or "table.column" for every table and column without a catalogue entry,
    and for catalogue entries that name no existing table or column."""
    missing = []
    for table in metadata.sorted_tables:
        record = TABLES.get(table.name)
        if record is None:
            missing.append(table.name)
            continue
        names = {c.name for c in table.columns}
        missing += [f"{table.name}.{c}" for c in sorted(names - record.columns.keys())]
        missing += [f"{table.name}.{c} (gone)" for c in sorted(record.columns.keys() - names)]
    tables = {t.name for t in metadata.sorted_tables}
    missing += [f"{name} (gone)" for name in sorted(TABLES.keys() - tables)]
    return missing


def describe(metadata: MetaData, retention_days: int) -> list[TableDescription]:
    """Return every table of ``metadata`` with its catalogue entry, in the catalogue's order
    (client data first, then staff, log and structure).

    ``retention_days`` is ``KIMDB_RETENTION_DAYS``, filled into the retention texts. Raises
    NotDescribed naming every table or column that has no entry, so the page never shows a
    partial list.
    """
    missing = missing_entries(metadata)
    if missing:
        raise NotDescribed(", ".join(missing))
    order = list(TABLES)
    result = []
    for table in sorted(metadata.sorted_tables, key=lambda t: order.index(t.name)):
        record = TABLES[table.name]
        result.append(
            TableDescription(
                name=table.name,
                title=str(record.title),
                purpose=str(record.purpose),
                subjects=str(record.subjects),
                legal_basis=str(record.legal_basis),
                retention=str(record.retention) % {"days": retention_days},
                audience=str(record.audience.text),
                audience_rules=record.audience.rules,
                columns=tuple(
                    ColumnRecord(
                        name=column.name,
                        category=record.columns[column.name],
                        encrypted=is_encrypted(column),
                        sql_type=_type_name(column),
                    )
                    for column in table.columns
                ),
            )
        )
    return result


def describe_files(retention_days: int) -> list[dict[str, str]]:
    """Return the stores outside the database (scans) as plain dicts for page and JSON."""
    return [
        {
            "title": str(f.title),
            "where": f.where,
            "purpose": str(f.purpose),
            "retention": str(f.retention) % {"days": retention_days},
        }
        for f in FILES
    ]


def as_json(tables: list[TableDescription], files: list[dict[str, str]]) -> dict:
    """Return the records as a JSON-ready dict (the download ``/records.json``)."""
    return {
        "tables": [
            {
                "name": t.name,
                "title": t.title,
                "purpose": t.purpose,
                "data_subjects": t.subjects,
                "legal_basis": t.legal_basis,
                "retention": t.retention,
                "who_can_see": t.audience,
                "access_rules": list(t.audience_rules),
                "columns": [
                    {
                        "name": c.name,
                        "category": c.category.value,
                        "category_label": c.category_label,
                        "encrypted": c.encrypted,
                        "type": c.sql_type,
                    }
                    for c in t.columns
                ],
            }
            for t in tables
        ],
        "files": files,
    }


def _type_name(column: Column) -> str:
    return type(column.type).__name__
