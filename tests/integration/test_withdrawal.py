"""Consent withdrawal (issue 6 item 4; R2) through real requests: what stays in the raw tables
and the raw file storage, the confirmation page, refusals, and withdrawing one exchange scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select, text

from kimdb.audit.models import AuditEntry
from kimdb.cases import casework
from kimdb.cases import service as cases_service
from kimdb.cases.models import (
    Case,
    ConsultationMode,
    FollowUp,
    Goal,
    LifeArea,
    Need,
    Note,
    NoteKind,
    Referral,
    StageChange,
)
from kimdb.cases.rules import CaseKind, ClosureReason, Stage
from kimdb.clients.models import Client
from kimdb.consent.models import Consent, ConsentExchange
from kimdb.crypto import CryptoError, keyring
from kimdb.households import service as households_service
from kimdb.households.models import Household
from kimdb.orgs.models import Partner
from kimdb.privacy import rules as privacy_rules
from kimdb.timeutil import today
from tests.factories import count_rows as count
from tests.factories import csrf_token, login, make_client, make_user, post_case_form

JOBCENTER = "Jobcenter Kreis Warendorf"
SECRETS = (
    "Haddad",
    "Amina",
    "0170 5551234",
    "amina@example.org",
    "Wohnung zu klein für fünf Personen",
    "Sprachkurs B1 abschließen",
    "Vermieter droht mit Kündigung",
    "Hat Ressourcen in der Familie",
    "Unterlagen an Jobcenter",
    "Monitoring: Kurs läuft gut",
    "Vermerk über das Telefonat",
    "Korrigierter Vermerk",
    "Frist Widerspruch prüfen",
    "Mehr Bedarfe als gedacht",
    "Gespräch mit Dolmetscherin",
    "Familie Haddad",
)


@dataclass
class RichCase:
    """A client with a case that holds one of every kind of record."""

    client: Client
    case: Case
    scan_key: str
    partner: Partner


def build_rich_case(owner, given="Amina", family="Haddad") -> RichCase:
    """Register a client (with an exchange scope, phone and email) and fill a CM case."""
    from kimdb.extensions import db

    person = make_client(owner, given=given, family=family, partners=[JOBCENTER])
    person.phone, person.email = "0170 5551234", "amina@example.org"
    db.session.commit()
    case = cases_service.open_case(person, CaseKind.SHORT_COUNSELLING, owner)
    cases_service.reclassify(case, CaseKind.CASE_MANAGEMENT, "Mehr Bedarfe als gedacht", owner)
    cases_service.add_need(
        case, LifeArea.HOUSING, None, "Wohnung zu klein für fünf Personen", False, owner
    )
    cases_service.add_need(case, LifeArea.LANGUAGE, None, "Sprachkurs B1 abschließen", True, owner)
    cases_service.change_stage(case, Stage.ASSESSMENT, owner)
    casework.save_assessment(
        case,
        {LifeArea.HOUSING: ("Vermieter droht mit Kündigung", "Hat Ressourcen in der Familie")},
        owner,
    )
    cases_service.add_goal(case, "Sprachkurs B1 abschließen", today(), owner)
    cases_service.record_consultation(
        case, today(), 45, ConsultationMode.IN_PERSON, "ar", "Gespräch mit Dolmetscherin", owner
    )
    partner = db.session.scalar(select(Partner).where(Partner.name == JOBCENTER))
    casework.record_referral(case, partner.id, today(), "Unterlagen an Jobcenter", True, owner)
    casework.record_monitoring(case, today(), "Monitoring: Kurs läuft gut", owner)
    note = casework.write_note(
        case, NoteKind.PHONE_CALL, today(), "Vermerk über das Telefonat", owner
    )
    casework.correct_note(case, note.id, "Korrigierter Vermerk", owner)
    casework.add_follow_up(case, today() + dt.timedelta(days=3), "Frist Widerspruch prüfen", owner)
    households_service.create_household(person, "Familie Haddad", owner)
    db.session.expire_all()
    return RichCase(
        db.session.get(Client, person.id),
        db.session.get(Case, case.id),
        person.consent.scan_key,
        partner,
    )


def raw_rows(db, table: str) -> list[dict]:
    """Every row of ``table`` as stored (ciphertext as bytes), read without the ORM."""
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {table}"))]  # noqa: S608


def plaintext(value) -> str | None:
    """The text a stored value holds: ciphertext decrypted with the keyring, else as is."""
    if isinstance(value, bytes | memoryview):
        try:
            return keyring().decrypt(bytes(value)).decode("utf-8")
        except CryptoError:
            return bytes(value).decode("latin-1")
    return None if value is None else str(value)


def storage_files() -> set[str]:
    root = Path(current_app.config["STORAGE_DIR"])
    return {p.name for p in root.rglob("*") if p.is_file()}


def withdraw(http, client_id: int, **fields):
    data = {
        "csrf_token": csrf_token(http, f"/clients/{client_id}/withdrawal"),
        "declared_on": today().isoformat(),
        "confirm": "y",
        **fields,
    }
    return http.post(f"/clients/{client_id}/withdrawal", data=data)


SCOPE_TABLES = [
    t.name for t in privacy_rules.client_scope(__import__("kimdb").extensions.db.metadata)
]


@pytest.fixture()
def rich(db, anna):
    return build_rich_case(anna)


def test_withdrawal_leaves_only_the_anonymous_remainder(client, db, anna, rich):
    counts_before = {m: count(db, m) for m in (Case, StageChange, Need, Goal, Referral)}
    assert rich.scan_key in storage_files()
    response = withdraw(client, rich.client.id)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clients/{rich.client.id}/withdrawal/done")
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Widerruf erfasst" in done

    # No stored value of the client, the consent or any case table holds a secret any more.
    for table in [*SCOPE_TABLES, "consents", "consent_exchanges", "households"]:
        for row in raw_rows(db, table):
            for column, value in row.items():
                stored = plaintext(value)
                for secret in SECRETS:
                    assert secret not in (stored or ""), (table, column)
    person = raw_rows(db, "clients")[0]
    for column in (
        "given_name",
        "family_name",
        "date_of_birth",
        "phone",
        "email",
        "family_name_index",
        "given_name_index",
        "date_of_birth_index",
        "family_name_phonetic",
        "given_name_phonetic",
        "household_id",
    ):
        assert person[column] is None, column
    assert person["languages"] == "" and person["residence_status"] == "unknown"
    assert person["erased_at"] is not None
    assert person["gender"] == "female" and person["country_of_origin"] == "SY"
    for table, column in [
        ("needs", "description"),
        ("goals", "text"),
        ("referrals", "purpose"),
        ("monitoring_entries", "text"),
    ]:
        assert {plaintext(r[column]) for r in raw_rows(db, table)} == {""}, table
    # The scan: forgotten in the database, gone from the storage.
    consent = raw_rows(db, "consents")[0]
    assert consent["scan_key"] is None and consent["withdrawn_at"] is not None
    assert consent["withdrawn_by_id"] == anna.id
    assert rich.scan_key not in storage_files()
    # Notes and follow-ups are gone; the counts of the anonymous remainder are not.
    assert count(db, Note) == 0 and count(db, FollowUp) == 0
    assert count(db, Household) == 0  # the client was its only member
    assert count(db, Need) == counts_before[Need] and count(db, Goal) == counts_before[Goal]
    assert count(db, Referral) == counts_before[Referral]
    assert count(db, StageChange) == counts_before[StageChange] + 1
    db.session.expire_all()
    case = db.session.get(Case, rich.case.id)
    assert case.stage is Stage.CLOSED and case.closure_reason is ClosureReason.CONSENT_WITHDRAWN
    assert case.closed_on == today() and case.kind is CaseKind.CASE_MANAGEMENT
    assert [n.life_area for n in case.needs] == [LifeArea.HOUSING, LifeArea.LANGUAGE]
    # The withdrawal is in the audit log: who and when, no erased content.
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "write:privacy.withdrawal")
    )
    assert entry.user_id == anna.id and entry.client_id == rich.client.id
    assert not any(s in entry.detail for s in SECRETS)


def test_erased_client_leaves_lists_and_their_pages_still_render(client, db, anna, rich):
    other = make_client(anna, given="Olena", family="Kovalenko")
    assert withdraw(client, rich.client.id).status_code == 302
    listing = client.get("/clients/").get_data(as_text=True)
    assert "Kovalenko" in listing and f'/clients/{rich.client.id}"' not in listing
    assert other.id
    page = client.get(f"/cases/{rich.case.id}")
    assert page.status_code == 200 and "[Daten gelöscht]" in page.get_data(as_text=True)
    found = client.get("/cases/?include_closed=y").get_data(as_text=True)
    assert "[Daten gelöscht]" in found and rich.case.number in found  # the case search's list
    person = client.get(f"/clients/{rich.client.id}")
    body = person.get_data(as_text=True)
    assert person.status_code == 200 and "[Daten gelöscht]" in body
    assert "consent-scan" not in body and "Fall eröffnen</button>" not in body
    opened = client.post(
        f"/cases/open/{rich.client.id}",
        data={"csrf_token": csrf_token(client, "/clients/"), "kind": "short_counselling"},
    )
    assert opened.status_code == 422
    assert count(db, Case, client_id=rich.client.id) == 1  # only the closed one


def test_second_withdrawal_is_refused_and_changes_nothing(client, db, anna, rich):
    assert withdraw(client, rich.client.id).status_code == 302
    before = {t: raw_rows(db, t) for t in ("clients", "consents", "cases", "stage_changes")}
    response = withdraw(client, rich.client.id)
    assert response.status_code == 422
    assert "Die Einwilligung wurde bereits widerrufen." in response.get_data(as_text=True)
    after = {t: raw_rows(db, t) for t in before}
    assert after == before


def test_a_failing_erasure_leaves_the_consent_and_the_log_as_they_were(db, anna, rich, monkeypatch):
    """Withdrawal, its audit entry and the erasure are one transaction: if the erasure fails,
    the consent is not marked withdrawn (a retry would be refused) and nothing is logged."""
    from kimdb.privacy import service as privacy_service

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(privacy_service, "_erase_in_session", broken)
    entries_before = db.session.scalar(select(func.count(AuditEntry.id)))
    with pytest.raises(RuntimeError):
        privacy_service.withdraw_consent(rich.client, anna)
    db.session.rollback()
    assert db.session.get(Consent, rich.client.consent_id).withdrawn_at is None
    assert db.session.scalar(select(func.count(AuditEntry.id))) == entries_before


def test_without_the_confirmation_nothing_is_erased_and_the_date_is_kept(client, db, anna, rich):
    response = withdraw(client, rich.client.id, confirm="", declared_on="03.02.2026")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte bestätigen Sie die Löschung." in page
    assert 'value="2026-02-03"' in page or 'value="03.02.2026"' in page
    db.session.expire_all()
    person = db.session.get(Client, rich.client.id)
    assert person.family_name == "Haddad" and person.erased_at is None
    assert person.consent.withdrawn_at is None and count(db, Note) == 2
    assert rich.scan_key in storage_files()


@pytest.mark.parametrize(
    "declared, message",
    [("2999-01-01", "Zukunft"), ("2026-01-01", "vor der Unterschrift"), ("", "Datum angeben")],
)
def test_withdrawal_with_a_bad_date_is_refused(client, db, anna, rich, declared, message):
    response = withdraw(client, rich.client.id, declared_on=declared)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Client, rich.client.id).erased_at is None


def test_confirmation_page_lists_what_is_erased_and_what_stays(client, db, anna, rich):
    page = client.get(f"/clients/{rich.client.id}/withdrawal").get_data(as_text=True)
    assert "2 Vermerke" in page  # the note and its correction
    assert "die Beschreibungen von 2 Bedarfen" in page
    assert "die Texte von 1 Zielen" in page
    assert "der Scan der Einwilligung" in page
    assert f"Der offene Fall {rich.case.number} wird" in page
    assert "Bleibt anonym erhalten" in page and "1 Fälle" in page
    assert 'name="confirm"' in page and 'name="declared_on"' in page


def test_other_case_manager_gets_404_and_erases_nothing(client, db, anna, rich):
    make_user("cm.bert")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "cm.bert")
    assert client.get(f"/clients/{rich.client.id}/withdrawal").status_code == 404
    response = client.post(
        f"/clients/{rich.client.id}/withdrawal",
        data={
            "csrf_token": csrf_token(client, "/"),
            "declared_on": today().isoformat(),
            "confirm": "y",
        },
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Client, rich.client.id).erased_at is None


def test_household_label_stays_while_other_members_remain(client, db, anna, rich):
    sibling = make_client(anna, given="Omar", family="Haddad")
    household = db.session.scalar(select(Household))
    households_service.add_member(household, sibling, anna)
    assert withdraw(client, rich.client.id).status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, household.id).label == "Familie Haddad"
    assert db.session.get(Client, sibling.id).household_id == household.id
    assert db.session.get(Client, rich.client.id).household_id is None


# -- one exchange scope -----------------------------------------------------------------------


def withdraw_exchange(http, client_id: int, exchange_id: int):
    return http.post(
        f"/clients/{client_id}/exchanges/{exchange_id}/withdraw",
        data={"csrf_token": csrf_token(http, f"/clients/{client_id}")},
    )


def test_withdrawn_exchange_stops_referrals_passing_data_to_that_partner(client, db, anna):
    person = make_client(anna, partners=[JOBCENTER])
    case = cases_service.open_case(person, CaseKind.CASE_MANAGEMENT, anna)
    exchange = db.session.scalar(select(ConsentExchange))
    page = client.get(f"/clients/{person.id}").get_data(as_text=True)
    assert f"/clients/{person.id}/exchanges/{exchange.id}/withdraw" in page
    response = withdraw_exchange(client, person.id, exchange.id)
    assert response.status_code == 302
    assert "widerrufen" in client.get(f"/clients/{person.id}").get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(ConsentExchange, exchange.id)
    assert stored.withdrawn_at is not None and stored.withdrawn_by_id == anna.id
    response = post_case_form(
        client,
        case.id,
        "referrals",
        "referral",
        partner_id=str(exchange.partner_id),
        referred_on=today().isoformat(),
        purpose="Antrag Bürgergeld",
        passes_data="y",
    )
    assert response.status_code == 422
    assert "keine Einwilligung zum Datenaustausch" in response.get_data(as_text=True)
    assert count(db, Referral) == 0
    # The rest of the consent is untouched.
    consent = db.session.get(Consent, person.consent_id)
    assert consent.withdrawn_at is None and consent.scan_key is not None
    assert db.session.get(Client, person.id).family_name == "Haddad"


def test_withdrawing_an_exchange_twice_is_refused_with_a_message(client, db, anna):
    person = make_client(anna, partners=[JOBCENTER])
    exchange = db.session.scalar(select(ConsentExchange))
    assert withdraw_exchange(client, person.id, exchange.id).status_code == 302
    db.session.expire_all()
    first = db.session.get(ConsentExchange, exchange.id).withdrawn_at
    response = withdraw_exchange(client, person.id, exchange.id)
    assert response.status_code == 422
    assert "bereits widerrufen" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ConsentExchange, exchange.id).withdrawn_at == first


def test_exchange_of_another_client_or_without_token_is_refused(client, db, anna):
    person = make_client(anna, partners=[JOBCENTER])
    other = make_client(anna, given="Olena", family="Kovalenko")
    exchange = db.session.scalar(select(ConsentExchange))
    assert withdraw_exchange(client, other.id, exchange.id).status_code == 404
    response = client.post(f"/clients/{person.id}/exchanges/{exchange.id}/withdraw")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(ConsentExchange, exchange.id).withdrawn_at is None
