"""The rules of structural findings (FAQ KIM NRW Q32) on plain values: no Flask app, no database."""

import datetime as dt

import pytest

from kimdb.findings import rules
from kimdb.findings.demo import DEMO_FINDINGS
from kimdb.findings.models import FindingCategory

TODAY = dt.date(2026, 11, 22)
GOOD = {
    "category": FindingCategory.WAITING_TIMES,
    "agency": "Ausländerbehörde Kreis Warendorf",
    "description": "Termine zur Verlängerung erst nach zehn Wochen.",
    "observed_on": TODAY,
}


def check(**changes):
    values = {**GOOD, **changes}
    rules.check_finding(
        values["category"], values["agency"], values["description"], values["observed_on"], TODAY
    )


def refusal(**changes) -> rules.FindingRefused:
    with pytest.raises(rules.FindingRefused) as caught:
        check(**changes)
    return caught.value


def test_a_complete_finding_without_client_data_is_accepted():
    check()
    check(observed_on=TODAY - dt.timedelta(days=400), agency="KI", description="x" * 1000)


def test_category_must_be_chosen():
    error = refusal(category=None)
    assert error.field == "category" and "Kategorie" in error.message


@pytest.mark.parametrize("agency", ["", "   ", "A", "x" * 201])
def test_agency_needs_two_to_two_hundred_characters(agency):
    assert refusal(agency=agency).field == "agency"


def test_agency_must_not_carry_contact_data():
    error = refusal(agency="Jobcenter, Tel. 02581 123456")
    assert error.field == "agency"
    assert "ohne Namen, Telefonnummern oder E-Mail-Adressen" in error.message


@pytest.mark.parametrize("description", ["", "   ", "zu kurz", "x" * 1001])
def test_description_needs_ten_to_thousand_characters(description):
    assert refusal(description=description).field == "description"


def test_description_with_an_email_address_is_refused_with_the_german_message():
    error = refusal(description="Rückfrage an klientin@example.org blieb unbeantwortet.")
    assert error.field == "description"
    assert str(error) == (
        "Bitte keine personenbezogenen Daten (Namen, Geburtsdaten, Telefonnummern, "
        "E-Mail-Adressen, Fallnummern) in die Beschreibung schreiben."
    )


def test_observed_date_is_required():
    assert refusal(observed_on=None).field == "observed_on"


def test_observed_date_must_not_lie_in_the_future():
    error = refusal(observed_on=TODAY + dt.timedelta(days=1))
    assert error.field == "observed_on" and "Zukunft" in error.message


@pytest.mark.parametrize(
    "text",
    [
        "Bitte an a.b@web.de schreiben",
        "Rückruf unter 02382 123456",
        "Mobil 0170-1234567",
        "Tel. +49 2581 1234",
        "(02382) 12345",
        "Aktenzeichen 123456",
        "Telefon 12 34 56",
        "geboren am 17.05.1990",
        "geb. 17.5.90",
        "seit 1990-05-17",
        "geb. 17. Mai 1990",
        "siehe Fall 2026-000123",
    ],
)
def test_client_data_looks_personal(text):
    assert rules.looks_personal(text)


@pytest.mark.parametrize(
    "text",
    [
        "Wartezeit 6 Wochen",
        "Wartezeit 10 - 12 Wochen für drei Familien",
        "Seit 2024/2025 keine Kurse mehr",
        "Sprachkurse 2023-2025 ausgefallen",
        "Miete 450 - 600 Euro über der Angemessenheitsgrenze",
        "Öffnungszeiten nur 8-12 Uhr",
        "Schutz nach § 24 AufenthG",
        "Keine Praxis in 59227 Ahlen",
        "Kursstart erst 01.2026",
        "Termine erst ab März 2027",
        "Gebühr 1.500 Euro",
    ],
)
def test_figures_of_the_service_system_are_not_personal(text):
    assert not rules.looks_personal(text)


def test_agency_spelling_already_in_use_is_kept():
    known = ["Jobcenter Kreis Warendorf", "Familienkasse"]
    assert rules.canonical_agency("  jobcenter   KREIS warendorf ", known) == known[0]
    assert rules.canonical_agency("Wohnungsamt  Ahlen", known) == "Wohnungsamt Ahlen"


def test_period_must_not_end_before_it_begins():
    rules.check_period(TODAY, TODAY)
    rules.check_period(None, TODAY)
    with pytest.raises(rules.FindingRefused) as caught:
        rules.check_period(TODAY, TODAY - dt.timedelta(days=1))
    assert caught.value.field == "date_to"


def test_demo_findings_pass_the_rules():
    for category, agency, description in DEMO_FINDINGS:
        rules.check_finding(category, agency, description, TODAY, TODAY)
    assert len(DEMO_FINDINGS) >= 20
