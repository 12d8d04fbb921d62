"""Data protection in a real Chromium (issue 6): a case manager registers a client although a
colleague's client with a similar name and the same birthday exists (the held consent scan is
used again), downloads the Art. 15 export as JSON and PDF, withdraws one exchange scope and then
the whole consent (the first try without the tick erases nothing); the data protection officer
finds registration, export and withdrawal in the audit log by client id, without any name."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from kimdb.auth.models import Role
from kimdb.cases.rules import CaseKind
from kimdb.clients import service as clients_service
from kimdb.clients.models import Gender, ResidenceStatus
from kimdb.timeutil import today
from tests.factories import browser_login, make_case, make_user, png_bytes

pytestmark = pytest.mark.browser

NAMES = ("Al-Hassan", "Mohammed", "Alhasan", "Muhammad")


def register_colleagues_client(colleague):
    """The colleague's client "Muhammad Alhasan", born 14.03.1988, with an open case."""
    client = clients_service.register_client(
        clients_service.ConsentInput(
            form_version="2026-01",
            form_language="de",
            signed_on=dt.date(2026, 1, 15),
            processing_agreed=True,
            exchange_partners=[],
            scan=png_bytes(),
        ),
        clients_service.ClientInput(
            given_name="Muhammad",
            family_name="Alhasan",
            date_of_birth=dt.date(1988, 3, 14),
            gender=Gender.MALE,
            country_of_origin="SY",
            residence_status=ResidenceStatus.RESIDENCE_PERMIT,
            languages=["ar"],
        ),
        by=colleague,
    )
    return make_case(colleague, CaseKind.SHORT_COUNSELLING, client=client)


def test_register_export_withdraw_and_dpo_audit(server, page, db, tmp_path):
    from playwright.sync_api import expect

    make_user("cm.flow")
    colleague = make_user("cm.kollegin")
    colleagues_case = register_colleagues_client(colleague)
    make_user("dpo.kreis", role=Role.DPO)
    scan = tmp_path / "einwilligung.png"
    scan.write_bytes(png_bytes())

    # 1. Register "Mohammed Al-Hassan" with consent; a possible duplicate is shown first
    browser_login(page, server, "cm.flow")
    expect(page.get_by_role("heading", name="Meine Fallzahl")).to_be_visible()
    page.get_by_role("link", name="Neu aufnehmen").click()
    page.get_by_label("Einwilligungserklärung (Version und Sprache)").select_option("2026-01/de")
    page.get_by_label("Unterschrieben am").fill(today().isoformat())
    page.get_by_label("Die Klientin / der Klient willigt").check()
    page.get_by_label("Weitere Stellen für den Datenaustausch").fill("Jobcenter Kreis Warendorf")
    page.get_by_label("Scan der unterschriebenen Einwilligung").set_input_files(str(scan))
    page.get_by_label("Vorname").fill("Mohammed")
    page.get_by_label("Familienname").fill("Al-Hassan")
    page.get_by_label("Geburtsdatum").fill("1988-03-14")
    page.get_by_label("Geschlecht").select_option("male")
    page.get_by_label("Herkunftsland").select_option("SY")
    page.get_by_label("Arabisch").check()
    page.get_by_label("Aufenthaltsstatus").select_option("residence_permit")
    with page.expect_response(re.compile(r"/clients/new$")) as first_try:
        page.get_by_role("button", name="Einwilligung und Klient:in speichern").click()
    assert first_try.value.status == 409
    duplicates = page.get_by_test_id("duplicates")
    expect(duplicates).to_contain_text("Mögliche Doppelerfassung")
    # Not the case manager's client: no name, but the colleague and the case to ask about
    expect(duplicates).to_contain_text("eine Person mit gleichem Geburtsdatum und ähnlichem Namen")
    expect(duplicates).to_contain_text(f"Fall {colleagues_case.number}")
    expect(duplicates).to_contain_text("betreut von Cm.Kollegin (KI Testkreis)")
    expect(duplicates).not_to_contain_text("Alhasan")
    expect(page.get_by_text("Nichts wurde gespeichert.")).to_be_visible()
    # The scan is held: the page says so, and it is not chosen again
    expect(page.get_by_text("Der zuvor hochgeladene Scan")).to_be_visible()
    expect(page.get_by_label("Familienname")).to_have_value("Al-Hassan")
    page.get_by_label("Es ist eine andere Person – trotzdem aufnehmen").check()
    page.get_by_role("button", name="Einwilligung und Klient:in speichern").click()
    expect(page.get_by_role("heading", name="Al-Hassan, Mohammed")).to_be_visible()
    expect(page.get_by_test_id("consent")).to_contain_text("Jobcenter Kreis Warendorf")
    expect(page.get_by_role("link", name="Scan der Einwilligung öffnen")).to_be_visible()
    match = re.search(r"/clients/(\d+)$", page.url)
    assert match, page.url
    client_id = match.group(1)
    assert int(client_id) != colleagues_case.client_id

    # 2. Art. 15 export as JSON and as PDF
    privacy = page.get_by_test_id("privacy")
    with page.expect_download() as download:
        privacy.get_by_role("link", name="Auskunft als JSON").click()
    assert download.value.suggested_filename == f"auskunft-{client_id}.json"
    exported = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert exported["person"]["family_name"] == "Al-Hassan"
    assert exported["person"]["given_name"] == "Mohammed"
    assert exported["person"]["id"] == int(client_id)
    with page.expect_download() as download:
        privacy.get_by_role("link", name="Auskunft als PDF").click()
    assert download.value.path().read_bytes().startswith(b"%PDF")

    # Withdraw the exchange with one body only; the consent itself stays
    privacy.get_by_role("button", name="Austausch widerrufen").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Der Datenaustausch mit Jobcenter Kreis Warendorf ist widerrufen."
    )
    expect(page.get_by_test_id("consent")).to_contain_text("Jobcenter Kreis Warendorf (widerrufen)")
    expect(page.get_by_role("heading", name="Al-Hassan, Mohammed")).to_be_visible()

    # 3. Withdraw the whole consent: the page lists what is erased; without the tick nothing is
    page.get_by_role("link", name="Widerruf erfassen …").click()
    expect(page.get_by_role("heading", name="Widerruf der Einwilligung")).to_contain_text(
        "Al-Hassan, Mohammed"
    )
    erased = page.get_by_test_id("erased")
    expect(erased).to_contain_text("Vor- und Familienname, Geburtsdatum")
    expect(erased).to_contain_text("der Scan der Einwilligung")
    expect(page.get_by_test_id("kept")).to_contain_text("Geschlecht, Herkunftsland und Geburtsjahr")
    expect(page.get_by_label("Widerruf erklärt am")).to_have_value(today().isoformat())
    submit = page.get_by_role("button", name="Einwilligung widerrufen und Daten löschen")
    with page.expect_response(re.compile(r"/withdrawal$")) as unconfirmed:
        submit.click()
    assert unconfirmed.value.status == 422
    expect(page.get_by_text("Bitte bestätigen Sie die Löschung.").first).to_be_visible()
    expect(page.get_by_role("heading", name="Widerruf der Einwilligung")).to_contain_text(
        "Al-Hassan, Mohammed"
    )
    page.get_by_label("Löschung bestätigen").check()
    submit.click()
    expect(page.get_by_role("heading", name="Widerruf erfasst")).to_be_visible()
    expect(page.get_by_test_id("withdrawn")).to_contain_text("sind gelöscht")

    page.get_by_role("link", name="Klient:innen", exact=True).click()
    expect(page.get_by_role("heading", name="Meine Klient:innen")).to_be_visible()
    expect(page.get_by_text("Al-Hassan")).to_have_count(0)
    page.goto(f"{server}/clients/{client_id}")
    expect(page.get_by_role("heading", name="[Daten gelöscht]")).to_be_visible()
    expect(page.get_by_test_id("erased-notice")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Al-Hassan")
    expect(page.get_by_role("link", name="Widerruf erfassen …")).to_have_count(0)
    page.get_by_role("button", name="Abmelden").click()

    # 4. The data protection officer searches the audit log by the client's id
    browser_login(page, server, "dpo.kreis")
    page.get_by_role("link", name="Audit-Protokoll").click()
    search = page.get_by_test_id("audit-search")
    search.get_by_label("Klient:in (ID)").fill(client_id)
    search.get_by_role("button", name="Suchen").click()
    log = page.get_by_test_id("audit-log")
    expect(log).to_be_visible()
    for label in (
        "Klient:in registriert",
        "Auskunft (Art. 15) als JSON erstellt",
        "Auskunft (Art. 15) als PDF erstellt",
        "Datenaustausch mit einer Stelle widerrufen",
        "Einwilligung widerrufen, Daten gelöscht",
    ):
        expect(log.get_by_role("row").filter(has_text=label)).to_have_count(1)
    expect(log.get_by_role("row").filter(has_text="Klient:in registriert")).to_contain_text(
        "Cm.Flow"
    )
    # Only this client's entries (the colleague's client is another id)
    for cell in log.locator("tbody tr td:nth-child(4)").all_inner_texts():
        assert cell.strip() == client_id
    body = page.locator("body").inner_text()
    for name in NAMES:
        assert name not in body
