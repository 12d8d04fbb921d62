"""Substitution in a real Chromium: a supervisor sees a case manager above the band, sets a
substitution, the substitute works a case under the banner and takes it over; the former owner
no longer sees it (R7)."""

from __future__ import annotations

import datetime as dt

import pytest

from kimdb.auth.models import Role
from kimdb.cases.rules import CaseKind
from kimdb.timeutil import today
from tests.factories import browser_login, make_case, make_user

pytestmark = pytest.mark.browser


def login(page, server, username):
    browser_login(page, server, username)


def logout(page):
    page.get_by_role("button", name="Abmelden").click()


def test_supervisor_sets_substitution_substitute_takes_over(server, page, db):
    from playwright.sync_api import expect

    make_user("sv.lead", role=Role.SUPERVISOR)
    owner = make_user("cm.busy", fte="0.1")
    make_user("cm.helper")
    cases = [make_case(owner, CaseKind.SHORT_COUNSELLING) for _ in range(7)]

    login(page, server, "sv.lead")
    row = page.get_by_test_id("team-table").get_by_role("row", name="Cm.Busy")
    expect(row).to_contain_text("oberhalb der Empfehlung")
    page.get_by_role("link", name="Vertretungen").click()
    form = page.locator("form", has=page.get_by_label("Vertretung", exact=True))
    page.get_by_label("Abwesend").select_option(label="Cm.Busy")
    page.get_by_label("Vertretung", exact=True).select_option(label="Cm.Helper")
    page.get_by_label("Erster Tag").fill(today().isoformat())
    page.get_by_label("Letzter Tag").fill((today() + dt.timedelta(days=7)).isoformat())
    form.get_by_role("button", name="Vertretung speichern").click()
    expect(page.get_by_test_id("substitutions-table")).to_contain_text("Cm.Helper")
    logout(page)

    login(page, server, "cm.helper")
    page.get_by_test_id("substituted-cases").get_by_role("link", name=cases[0].number).click()
    expect(page.get_by_test_id("substitute-banner")).to_contain_text("als Vertretung für Cm.Busy")
    page.get_by_text("Vermerk schreiben").click()
    note_form = page.locator("form", has=page.get_by_role("button", name="Vermerk speichern"))
    note_form.get_by_label("Datum").fill(today().isoformat())
    note_form.get_by_label("Vermerk", exact=True).fill("Telefonat in Vertretung geführt")
    note_form.get_by_role("button", name="Vermerk speichern").click()
    note = page.get_by_test_id("note").filter(has_text="Telefonat in Vertretung geführt")
    expect(note).to_contain_text("Cm.Helper (in Vertretung)")
    expect(page.get_by_test_id("substitute-banner")).to_be_visible()
    page.get_by_role("link", name="Fall dauerhaft übernehmen").click()
    page.get_by_label("Grund der Übernahme").fill("Kollege hat die Stelle gewechselt")
    page.get_by_role("button", name="Fall übernehmen").click()
    expect(page.get_by_test_id("substitute-banner")).to_have_count(0)
    expect(page.get_by_test_id("history-table")).to_contain_text(
        "Fall übergeben: Cm.Busy → Cm.Helper"
    )
    case_url = page.url
    logout(page)

    login(page, server, "cm.busy")
    expect(page.get_by_test_id("open-cases")).to_have_text("6")
    page.goto(case_url)
    expect(page.get_by_role("heading", name="Nicht gefunden")).to_be_visible()
