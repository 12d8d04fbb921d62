"""What erasure of a client does, as data (issue 6 items 4 and 5; DESIGN.md R2; GDPR Art. 17).

Plain functions over SQLAlchemy metadata and plain values; no Flask, no session. The list of
free texts to erase is *derived* from the schema: every encrypted column (``EncryptedText``,
``EncryptedDate``) of the client and of every table that belongs to a client through foreign
keys (cases, and everything below a case) is erased. Encrypted columns elsewhere must be named
in ``KEPT_ENCRYPTED`` with the reason they stay, so that a new column cannot be forgotten
(``tests/unit/test_privacy_rules.py``).

What stays is the anonymous remainder (``KEPT_FIELDS``): it still counts in statistics
(FDE NRW), but names nobody.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import MetaData, Table

from kimdb.crypto import EncryptedDate, EncryptedText
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation

ROOT_TABLE = "clients"

# Rows deleted as a whole: a note or a follow-up is nothing but its text; an empty row would
# only say "something was written on that day". Source: DESIGN.md R2 ("notes ... are erased").
DELETED_TABLES: dict[str, str] = {
    "notes": "Vermerke bestehen nur aus ihrem Text; sie werden ganz gelöscht (R2).",
    "follow_ups": "Wiedervorlagen bestehen nur aus ihrem Text; sie werden ganz gelöscht.",
}

# Encrypted columns outside the client's scope, and why erasing a client leaves them alone.
KEPT_ENCRYPTED: dict[tuple[str, str], str] = {
    ("households", "label"): (
        "Bezeichnung der Bedarfsgemeinschaft: die Person wird ausgetragen; ist sie das letzte "
        "Mitglied, wird die Bedarfsgemeinschaft samt Bezeichnung gelöscht, sonst gehört die "
        "Bezeichnung zu den übrigen Mitgliedern."
    ),
    ("findings", "description"): (
        "Befunde des Systemmanagements sind mit keiner Person verknüpft (FAQ Frage 32)."
    ),
    ("users", "totp_secret"): "Zugangsdaten der Mitarbeitenden, keine Daten der Klient:in.",
}

# Plain (unencrypted) fields of the client that are personal and cleared on erasure, with the
# value they get (the columns are NOT NULL or indexes that must not match any more).
CLEARED_CLIENT_FIELDS: dict[str, object] = {
    "family_name_index": None,
    "given_name_index": None,
    "date_of_birth_index": None,
    "family_name_phonetic": None,
    "given_name_phonetic": None,
    "languages": "",
    "residence_status": "unknown",
    "household_id": None,
}

# The anonymous remainder: what stays after erasure, and why (issue 6 item 4).
KEPT_FIELDS: dict[str, str] = {
    "clients.gender, clients.country_of_origin, clients.birth_year": (
        "Geschlecht, Herkunftsland und Geburtsjahr zählen in der Statistik (FDE NRW, "
        "Altersgruppen); ohne Namen, Geburtsdatum und Kontaktdaten benennen sie niemanden, und "
        "kleine Zellen werden in Berichten unterdrückt."
    ),
    "clients.organisation_id, clients.registered_at, clients.registered_by_id": (
        "Welche Organisation wann eine Person aufgenommen hat (Fallzahlen)."
    ),
    "consents (Fassung, Sprache, Datum, Umfang, Widerruf)": (
        "Nachweis, dass auf Grundlage einer Einwilligung verarbeitet wurde und wann sie "
        "widerrufen wurde (Art. 7 Abs. 1 DSGVO); der Scan wird gelöscht."
    ),
    "cases (Art, Phase, Daten, Abschlussgrund, Zuständigkeit)": (
        "Fallzahlen je VZÄ, CM-Anteil und Laufzeiten (R5, Statistik)."
    ),
    "stage_changes, classification_changes (ohne Begründungen)": (
        "Verlauf der Phasen und Einstufungen mit Datum für die Statistik."
    ),
    "needs (Handlungsfeld, Rechtskreis, Fokus)": "Bedarfe je Handlungsfeld für die Statistik.",
    "goals (Status, Termine, Zuständigkeit)": "Zielerreichung für die Statistik.",
    "consultations (Datum, Dauer, Form, Dolmetschung)": "Beratungsaufwand (R6).",
    "referrals (Stelle, Status, Verweisberatung)": "Vermittlungen je Partnerart.",
    "assessments, monitoring_entries, case_transfers, emergency_accesses (ohne Texte)": (
        "Daten und Beteiligte der Arbeitsschritte, ohne Inhalt."
    ),
}

ERASED_MARKER = ""  # what a NOT NULL free text holds after erasure (encrypted like any text)


class PrivacyRefused(RuleViolation):
    """A withdrawal or erasure cannot be done as asked; nothing was written."""


@dataclass(frozen=True)
class ScopeTable:
    """A table that belongs to a client: rows reach ``parent`` through ``fk_column``."""

    name: str
    parent: str | None  # None for the root table (clients)
    fk_column: str | None
    parent_column: str | None


@dataclass(frozen=True)
class ErasedColumn:
    """One encrypted column erased for a client: set to NULL if ``nullable`` else ''."""

    table: str
    column: str
    nullable: bool


def is_encrypted(column) -> bool:
    """True if ``column`` (a SQLAlchemy Column) stores ciphertext of personal data."""
    return isinstance(column.type, EncryptedText | EncryptedDate)


def client_scope(metadata: MetaData) -> list[ScopeTable]:
    """Return the tables that belong to a client, parents before children.

    The root is ``clients``; a table belongs to the scope when one of its foreign keys points
    at a table of the scope (cases → clients; notes → cases; assessment_areas → assessments).
    Self-references (notes.supersedes_id) and tables that only point at users are not
    followed.
    """
    scope = [ScopeTable(ROOT_TABLE, None, None, None)]
    names = {ROOT_TABLE}
    changed = True
    while changed:
        changed = False
        for table in metadata.sorted_tables:
            if table.name in names:
                continue
            link = _link_into(table, names)
            if link is not None:
                fk_column, parent, parent_column = link
                scope.append(ScopeTable(table.name, parent, fk_column, parent_column))
                names.add(table.name)
                changed = True
    return scope


def _link_into(table: Table, names: set[str]) -> tuple[str, str, str] | None:
    for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
        target = fk.column.table.name
        if target in names and target != table.name:
            return fk.parent.name, target, fk.column.name
    return None


def erased_columns(metadata: MetaData) -> list[ErasedColumn]:
    """Return every encrypted column in the client's scope whose rows are kept (not deleted).

    Source: issue 6 item 4 ("personal data, notes, free texts ... are erased").
    """
    result = []
    for entry in client_scope(metadata):
        if entry.name in DELETED_TABLES:
            continue
        table = metadata.tables[entry.name]
        for column in table.columns:
            if is_encrypted(column):
                result.append(ErasedColumn(table.name, column.name, bool(column.nullable)))
    return result


def unaccounted_encrypted_columns(metadata: MetaData) -> list[tuple[str, str]]:
    """Return encrypted columns that are neither erased, deleted with their row, nor kept
    with a reason in ``KEPT_ENCRYPTED`` (must be empty; checked by a unit test)."""
    scope = {t.name for t in client_scope(metadata)}
    missing = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not is_encrypted(column) or table.name in scope:
                continue
            if (table.name, column.name) not in KEPT_ENCRYPTED:
                missing.append((table.name, column.name))
    return missing


def retention_cutoff(today: dt.date, retention_days: int) -> dt.date:
    """Return the last closure day whose data are due for erasure on ``today``.

    A case closed on the cutoff day or before has been closed more than ``retention_days``
    days. Raises PrivacyRefused for a negative period. Source: issue 6 item 5
    (``KIMDB_RETENTION_DAYS``, default 3 × 365 days).
    """
    if retention_days < 0:
        raise PrivacyRefused(_l("Die Aufbewahrungsfrist darf nicht negativ sein."))
    return today - dt.timedelta(days=retention_days + 1)


def check_not_withdrawn(withdrawn_at: dt.datetime | None) -> None:
    """Raise PrivacyRefused if the consent (or exchange scope) is already withdrawn (R2)."""
    if withdrawn_at is not None:
        raise PrivacyRefused(_l("Die Einwilligung wurde bereits widerrufen."))


def check_exchange_not_withdrawn(withdrawn_at: dt.datetime | None) -> None:
    """Raise PrivacyRefused if the exchange scope is already withdrawn (R2)."""
    if withdrawn_at is not None:
        raise PrivacyRefused(
            _l("Der Datenaustausch mit dieser Stelle wurde bereits widerrufen."),
            field="exchange_id",
        )


def check_declared_on(declared_on: dt.date | None, signed_on: dt.date, today: dt.date) -> None:
    """Raise PrivacyRefused unless the withdrawal was declared between signing and today."""
    if declared_on is None:
        raise PrivacyRefused(
            _l("Bitte das Datum angeben, an dem der Widerruf erklärt wurde."), field="declared_on"
        )
    if declared_on > today:
        raise PrivacyRefused(_l("Das Datum darf nicht in der Zukunft liegen."), field="declared_on")
    if declared_on < signed_on:
        raise PrivacyRefused(
            _l("Der Widerruf kann nicht vor der Unterschrift der Einwilligung liegen."),
            field="declared_on",
        )
