"""The main flow in a real Chromium (Playwright): log in, register a client with a consent scan,
open a KB case, add a need, record two consultations, switch to CM, reach planning, and see the
caseload warning of a case manager above the band."""

from __future__ import annotations

import datetime as dt

import pytest

from kimdb.cases.rules import CaseKind
from kimdb.timeutil import today
from tests.factories import PASSWORD, make_case, make_user, png_bytes

pytestmark = pytest.mark.browser


def test_main_flow_from_login_to_planning_and_caseload_warning(server, page, db, tmp_path):
    from playwright.sync_api import expect

    user = make_user("cm.flow", fte="0.1")  # guideline band 5–6 open cases
    for _ in range(6):
        make_case(user, CaseKind.SHORT_COUNSELLING)
    scan = tmp_path / "einwilligung.png"
    scan.write_bytes(png_bytes())

    # Log in
    page.goto(f"{server}/login")
    page.get_by_label("Benutzername").fill("cm.flow")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", name="Meine Fallzahl")).to_be_visible()
    expect(page.get_by_test_id("caseload-warning")).to_have_count(0)  # 6 open: within

    # Register a client together with the consent scan
    page.get_by_role("link", name="Neu aufnehmen").click()
    page.get_by_label("Einwilligungserklärung (Version und Sprache)").select_option("2026-01/de")
    page.get_by_label("Unterschrieben am").fill(today().isoformat())
    page.get_by_label("Die Klientin / der Klient willigt").check()
    page.get_by_label("Weitere Stellen für den Datenaustausch").fill("Jobcenter Kreis Warendorf")
    page.get_by_label("Scan der unterschriebenen Einwilligung").set_input_files(str(scan))
    page.get_by_label("Vorname").fill("Yusuf")
    page.get_by_label("Familienname").fill("Darwish")
    page.get_by_label("Geburtsdatum").fill("1985-07-01")
    page.get_by_label("Geschlecht").select_option("male")
    page.get_by_label("Herkunftsland").select_option("SY")
    page.get_by_label("Arabisch").check()
    page.get_by_label("Aufenthaltsstatus").select_option("residence_permit")
    page.get_by_role("button", name="Einwilligung und Klient:in speichern").click()
    expect(page.get_by_role("heading", name="Darwish, Yusuf")).to_be_visible()
    expect(page.get_by_test_id("consent")).to_contain_text("Jobcenter Kreis Warendorf")

    # The stored scan opens again
    with page.expect_popup() as popup:
        page.get_by_role("link", name="Scan der Einwilligung öffnen").click()
    assert popup.value.url.endswith("/consent-scan")
    popup.value.close()

    # Open a KB case
    page.get_by_label("Kurzberatung").check()
    page.get_by_role("button", name="Fall eröffnen").click()
    expect(page.get_by_test_id("case-kind")).to_have_text("Kurzberatung")

    # Add a need in focus
    need = page.locator("#need form")
    need.get_by_label("Handlungsfeld").select_option("work")
    need.get_by_label("Kurzbeschreibung").fill("Anerkennung des Berufsabschlusses")
    need.get_by_label("Im Fokus").check()
    need.get_by_role("button", name="Bedarf speichern").click()
    expect(page.get_by_test_id("needs-table")).to_contain_text("Anerkennung des Berufsabschlusses")

    # Record two consultations (the second one a day late)
    for held, minutes in ((today() - dt.timedelta(days=1), "45"), (today(), "30")):
        if page.locator("#consultation details").get_attribute("open") is None:
            page.locator("#consultation summary").click()
        form = page.locator("#consultation form")
        form.get_by_label("Datum des Gesprächs").fill(held.isoformat())
        form.get_by_label("Dauer in Minuten").fill(minutes)
        form.get_by_role("button", name="Gespräch speichern").click()
    expect(page.get_by_test_id("consultation-count")).to_have_text("2")
    expect(page.get_by_test_id("consultations-table")).to_contain_text("nachgetragen")

    # The Kurzberatung moves from intake to counselling
    page.locator("#stage form").get_by_label("Nächste Phase").select_option(label="Beratung")
    page.locator("#stage form").get_by_role("button", name="Phase wechseln").click()
    expect(page.get_by_test_id("case-stage")).to_have_text("Beratung")

    # Switch to Case Management: with a need recorded the case enters the assessment
    reclassify = page.locator("#reclassify form")
    reclassify.get_by_label("Case Management").check()
    reclassify.get_by_label("Begründung").fill("Mehrere Rechtskreise betroffen")
    reclassify.get_by_role("button", name="Einstufung ändern").click()
    expect(page.get_by_test_id("case-kind")).to_have_text("Case Management")
    expect(page.get_by_test_id("case-stage")).to_have_text("Assessment")

    # Planning is refused without an agreed goal, and reached with one
    page.locator("#stage form").get_by_role("button", name="Phase wechseln").click()
    expect(page.locator(".error-summary")).to_contain_text("vereinbartes Ziel")
    page.locator("#goal summary").click()
    goal = page.locator("#goal form")
    goal.get_by_label("Ziel").fill("Unterlagen zur Anerkennung sind eingereicht")
    goal.get_by_label("Vereinbart am").fill(today().isoformat())
    goal.get_by_role("button", name="Ziel speichern").click()
    page.locator("#stage form").get_by_role("button", name="Phase wechseln").click()
    expect(page.get_by_test_id("case-stage")).to_have_text("Hilfeplanung")
    expect(page.get_by_test_id("history-table")).to_contain_text("Assessment → Hilfeplanung")

    # Seven open cases at 0.1 FTE: above the band, the start page warns
    page.get_by_role("link", name="Startseite").click()
    expect(page.get_by_test_id("open-cases")).to_have_text("7")
    expect(page.get_by_test_id("caseload-warning")).to_contain_text("über der Empfehlung")
    page.screenshot(path=str(tmp_path / "caseload.png"), full_page=True)
