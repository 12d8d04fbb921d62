"""The KIM method in a real Chromium: a full CM case from intake to closure, a KB case closed
after two consultations, and a refused early KB closure (issue "Case work")."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kimdb.cases.rules import CaseKind
from kimdb.orgs.models import Partner, PartnerKind
from kimdb.orgs.service import add_partner
from kimdb.timeutil import today
from tests.factories import make_case, make_client, make_user

pytestmark = pytest.mark.browser


def change_stage(page, label: str) -> None:
    form = page.locator("#stage form")
    form.get_by_label("Nächste Phase").select_option(label=label)
    form.get_by_role("button", name="Phase wechseln").click()


def open_details(page, section: str) -> None:
    details = page.locator(f"#{section} > details.add")
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def record_consultation(page, held: dt.date, minutes: str = "45") -> None:
    open_details(page, "consultation")
    form = page.locator("#consultation form")
    form.get_by_label("Datum des Gesprächs").fill(held.isoformat())
    form.get_by_label("Dauer in Minuten").fill(minutes)
    form.get_by_role("button", name="Gespräch speichern").click()


def test_full_cm_case_from_intake_to_closure(server, page, login_as, db):
    from playwright.sync_api import expect

    user = make_user("cm.full")
    person = make_client(
        user, given="Dilan", family="Sheikho", partners=["Jobcenter Kreis Warendorf"]
    )
    add_partner(
        user.organisation_id, "Jugendamt Kreis Warendorf", PartnerKind.AUTHORITY, "sgb_viii", None
    )
    case = make_case(user, CaseKind.CASE_MANAGEMENT, client=person)
    jobcenter = db.session.scalar(
        select(Partner).where(Partner.name == "Jobcenter Kreis Warendorf")
    )
    jobcenter.legal_domain = "sgb_ii"
    db.session.commit()
    login_as("cm.full")
    page.goto(f"{server}/cases/{case.id}")
    stage = page.get_by_test_id("case-stage")

    # Intake: a first consultation and a need, then the assessment
    record_consultation(page, today())
    open_details(page, "need")
    need = page.locator("#need form")
    need.get_by_label("Handlungsfeld").select_option(label="Ausbildung / Arbeit")
    need.get_by_label("Rechtskreis (optional)").select_option(label="SGB II")
    need.get_by_label("Kurzbeschreibung").fill("Anerkennung des Berufsabschlusses")
    need.get_by_label("Im Fokus").check()
    need.get_by_role("button", name="Bedarf speichern").click()
    change_stage(page, "Assessment")
    expect(stage).to_have_text("Assessment")

    # Structured assessment per life area
    page.get_by_role("link", name="Assessment", exact=True).click()
    page.locator("#work_situation").fill("Abschluss als Elektrikerin, nicht anerkannt")
    page.locator("#work_resources").fill("Fünf Jahre Berufserfahrung")
    page.get_by_role("button", name="Assessment speichern").click()
    expect(page.get_by_text("Assessment gespeichert (Fassung 1).")).to_be_visible()
    page.get_by_role("link", name="Zurück zum Fall").click()

    # Goal agreement, then planning; the plan prints the agreed goal
    open_details(page, "goal")
    goal = page.locator("#goal form")
    goal.get_by_label("Ziel", exact=True).fill("Antrag auf Anerkennung ist gestellt")
    goal.get_by_label("Verantwortlich").select_option(label="Klient:in")
    goal.get_by_label("Vereinbart am").fill(today().isoformat())
    goal.get_by_role("button", name="Ziel speichern").click()
    change_stage(page, "Hilfeplanung")
    expect(stage).to_have_text("Hilfeplanung")
    page.get_by_role("link", name="Zielvereinbarung drucken").click()
    expect(page.get_by_test_id("plan")).to_contain_text("Antrag auf Anerkennung ist gestellt")
    page.go_back()

    # Linking: a referral without consent scope is refused, one with it is Verweisberatung
    change_stage(page, "Leistungssteuerung (Linking)")
    open_details(page, "referral")
    referral = page.locator("#referral form")
    referral.get_by_label("Stelle / Angebot").select_option(
        label="Jugendamt Kreis Warendorf (SGB VIII)"
    )
    referral.get_by_label("Zweck").fill("Kitaplatz")
    referral.get_by_label("Daten der Person werden an die Stelle weitergegeben").check()
    referral.get_by_role("button", name="Vermittlung speichern").click()
    expect(page.locator(".error-summary")).to_contain_text("keine Einwilligung zum Datenaustausch")
    referral = page.locator("#referral form")
    referral.get_by_label("Stelle / Angebot").select_option(
        label="Jobcenter Kreis Warendorf (SGB II)"
    )
    referral.get_by_label("Zweck").fill("Antrag auf Bürgergeld")
    referral.get_by_role("button", name="Vermittlung speichern").click()
    expect(page.get_by_test_id("referrals-table")).to_contain_text("Verweisberatung")

    # Monitoring, then a re-assessment back to the assessment, and on again
    change_stage(page, "Monitoring")
    open_details(page, "monitoring")
    monitoring = page.locator("#monitoring form")
    monitoring.get_by_label("Beobachtung").fill("Antrag gestellt, Bescheid steht aus")
    monitoring.get_by_role("button", name="Eintrag speichern").click()
    expect(page.get_by_test_id("monitoring-list")).to_contain_text("Bescheid steht aus")
    change_stage(page, "Assessment")
    expect(stage).to_have_text("Assessment")
    expect(page.get_by_test_id("history-table")).to_contain_text("Monitoring → Assessment")
    for label in ("Hilfeplanung", "Leistungssteuerung (Linking)", "Monitoring", "Evaluation"):
        change_stage(page, label)
        expect(stage).to_have_text(label)

    # Evaluation: goal attainment, then closure
    goals = page.get_by_test_id("goals-table")
    goals.get_by_label("Stand").select_option(label="erreicht")
    goals.get_by_role("button", name="Ziel aktualisieren").click()
    expect(page.get_by_test_id("goals-table").get_by_label("Stand")).to_have_value("achieved")
    open_details(page, "close")
    close = page.locator("#close form")
    close.get_by_label("Abgeschlossen am").fill(today().isoformat())
    close.get_by_label("Abschlussgrund").select_option(label="Ziele erreicht")
    close.get_by_role("button", name="Fall abschließen").click()
    expect(stage).to_have_text("Abgeschlossen")
    expect(page.get_by_test_id("case-closure")).to_contain_text("Ziele erreicht")

    # The timeline holds the whole case in date order
    page.get_by_role("link", name="Vollständige Zeitleiste").click()
    timeline = page.get_by_test_id("timeline")
    for text in (
        "Vermittlung: Jobcenter Kreis Warendorf",
        "Monitoring",
        "Ziel vereinbart",
        "Abgeschlossen",
    ):
        expect(timeline).to_contain_text(text)


def test_kb_case_closed_after_two_consultations(server, page, login_as, db):
    from playwright.sync_api import expect

    user = make_user("cm.kb")
    case = make_case(user, CaseKind.SHORT_COUNSELLING)
    login_as("cm.kb")
    page.goto(f"{server}/cases/{case.id}")
    record_consultation(page, today() - dt.timedelta(days=7))
    record_consultation(page, today())
    expect(page.get_by_test_id("consultation-count")).to_have_text("2")
    open_details(page, "close")
    close = page.locator("#close form")
    close.get_by_label("Abgeschlossen am").fill(today().isoformat())
    close.get_by_label("Abschlussgrund").select_option(label="Ziele erreicht")
    close.get_by_role("button", name="Fall abschließen").click()
    expect(page.get_by_test_id("case-stage")).to_have_text("Abgeschlossen")


def test_early_kb_closure_is_refused(server, page, login_as, db):
    from playwright.sync_api import expect

    user = make_user("cm.early")
    case = make_case(user, CaseKind.SHORT_COUNSELLING)
    login_as("cm.early")
    page.goto(f"{server}/cases/{case.id}")
    record_consultation(page, today())
    open_details(page, "close")
    close = page.locator("#close form")
    close.get_by_label("Abgeschlossen am").fill(today().isoformat())
    close.get_by_label("Abschlussgrund").select_option(label="Ziele erreicht")
    close.get_by_role("button", name="Fall abschließen").click()
    expect(page.locator(".error-summary")).to_contain_text("mindestens zwei Beratungsgespräche")
    expect(page.get_by_test_id("case-stage")).to_have_text("Erstberatung (Intake)")
    # The reason that says why is accepted
    close = page.locator("#close form")
    close.get_by_label("Abschlussgrund").select_option(label="Kontakt abgebrochen")
    close.get_by_role("button", name="Fall abschließen").click()
    expect(page.get_by_test_id("case-stage")).to_have_text("Abgeschlossen")
