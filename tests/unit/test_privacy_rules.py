"""What erasure of a client does (issue 6 items 4, 5; R2), derived from the schema, without Flask
or a database."""

import datetime as dt

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

import kimdb
from kimdb.crypto import EncryptedDate, EncryptedText
from kimdb.extensions import db
from kimdb.privacy import rules
from kimdb.privacy.rules import PrivacyRefused

kimdb._register_models()
METADATA = db.metadata


def erased(metadata=METADATA) -> set[tuple[str, str]]:
    return {(c.table, c.column) for c in rules.erased_columns(metadata)}


def test_every_encrypted_column_is_erased_deleted_or_kept_with_a_reason():
    assert rules.unaccounted_encrypted_columns(METADATA) == []
    scope = {t.name for t in rules.client_scope(METADATA)}
    for table in METADATA.sorted_tables:
        for column in table.columns:
            if not rules.is_encrypted(column):
                continue
            key = (table.name, column.name)
            assert (
                key in erased()
                or table.name in rules.DELETED_TABLES
                or (table.name not in scope and rules.KEPT_ENCRYPTED[key].strip())
            ), key


def test_personal_fields_and_free_texts_of_client_and_cases_are_erased():
    expected = {
        ("clients", "given_name"),
        ("clients", "family_name"),
        ("clients", "date_of_birth"),
        ("clients", "phone"),
        ("clients", "email"),
        ("cases", "closure_text"),
        ("classification_changes", "reason"),
        ("stage_changes", "reason"),
        ("needs", "description"),
        ("goals", "text"),
        ("consultations", "summary"),
        ("assessment_areas", "situation"),
        ("assessment_areas", "resources"),
        ("referrals", "purpose"),
        ("referrals", "outcome"),
        ("monitoring_entries", "text"),
        ("case_transfers", "reason"),
        ("emergency_accesses", "reason"),
    }
    assert expected <= erased()


def test_notes_and_follow_ups_belong_to_the_client_and_are_deleted_whole():
    scope = {t.name for t in rules.client_scope(METADATA)}
    assert {"notes", "follow_ups"} <= scope
    assert not any(table in rules.DELETED_TABLES for table, _ in erased())


def test_findings_and_households_are_outside_the_client_scope():
    scope = {t.name for t in rules.client_scope(METADATA)}
    assert "findings" not in scope and "households" not in scope and "users" not in scope


def test_the_scope_lists_parents_before_children():
    order = [t.name for t in rules.client_scope(METADATA)]
    assert order[0] == "clients"
    assert order.index("cases") < order.index("assessments") < order.index("assessment_areas")


def _toy_metadata() -> MetaData:
    metadata = MetaData()
    Table(
        "clients", metadata, Column("id", Integer, primary_key=True), Column("name", EncryptedText)
    )
    Table(
        "cases",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("client_id", ForeignKey("clients.id")),
    )
    return metadata


def test_a_new_encrypted_column_below_a_case_is_erased_without_anyone_listing_it():
    metadata = _toy_metadata()
    Table(
        "diary",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("case_id", ForeignKey("cases.id")),
        Column("entry", EncryptedText),
        Column("day", EncryptedDate, nullable=False),
    )
    assert {("diary", "entry"), ("diary", "day")} <= erased(metadata)
    assert rules.ErasedColumn("diary", "day", False) in rules.erased_columns(metadata)


def test_a_new_encrypted_column_outside_the_scope_must_be_listed():
    metadata = _toy_metadata()
    Table(
        "letters",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("body", EncryptedText),
        Column("title", String(20)),
    )
    assert rules.unaccounted_encrypted_columns(metadata) == [("letters", "body")]


def test_retention_cutoff_is_the_last_day_closed_more_than_the_period_ago():
    cutoff = rules.retention_cutoff(dt.date(2026, 6, 10), 10)
    assert cutoff == dt.date(2026, 5, 30)  # closed 31.05. is exactly 10 days ago: kept
    with pytest.raises(PrivacyRefused):
        rules.retention_cutoff(dt.date(2026, 6, 10), -1)


def test_a_withdrawn_consent_or_exchange_cannot_be_withdrawn_again():
    rules.check_not_withdrawn(None)
    rules.check_exchange_not_withdrawn(None)
    moment = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with pytest.raises(PrivacyRefused, match="bereits widerrufen"):
        rules.check_not_withdrawn(moment)
    with pytest.raises(PrivacyRefused, match="bereits widerrufen") as caught:
        rules.check_exchange_not_withdrawn(moment)
    assert caught.value.field == "exchange_id"


@pytest.mark.parametrize(
    "declared, ok",
    [
        (dt.date(2026, 2, 1), True),
        (dt.date(2026, 1, 15), True),
        (dt.date(2026, 1, 14), False),
        (dt.date(2026, 3, 2), False),
        (None, False),
    ],
)
def test_withdrawal_is_declared_between_signing_and_today(declared, ok):
    check = lambda: rules.check_declared_on(declared, dt.date(2026, 1, 15), dt.date(2026, 3, 1))  # noqa: E731
    if ok:
        check()
    else:
        with pytest.raises(PrivacyRefused) as caught:
            check()
        assert caught.value.field == "declared_on"
