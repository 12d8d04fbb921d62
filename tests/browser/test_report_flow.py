"""The statistics report in a real Chromium (issue 7): coordination opens "Statistik", chooses
the year and the county, reads the tables with a suppressed cell "< 5" and downloads the XLSX
workbook."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kimdb.auth.models import Role
from kimdb.cases.rules import CaseKind
from kimdb.timeutil import today
from tests.factories import browser_login, make_case, make_user

pytestmark = pytest.mark.browser


def test_supervisor_builds_and_downloads_the_county_report(server, page, db, tmp_path):
    from playwright.sync_api import expect

    anna = make_user("cm.anna")
    for _ in range(6):
        make_case(anna)
    make_case(anna, CaseKind.CASE_MANAGEMENT)  # one CM case: fewer than five, suppressed
    make_user("sv.ki", role=Role.SUPERVISOR)

    browser_login(page, server, "sv.ki")
    page.get_by_role("link", name="Statistik").click()
    expect(page.get_by_role("heading", name="Statistik: KIM-Bericht")).to_be_visible()
    page.get_by_label("Bereich").select_option(label="Kreis Testkreis")
    page.get_by_role("radio", name="Jahr", exact=True).check()
    page.get_by_role("spinbutton", name="Jahr").fill(str(today().year))
    page.get_by_role("button", name="Bericht anzeigen").click()

    expect(page.get_by_role("heading", name="KIM-Bericht: Kreis Testkreis")).to_be_visible()
    expect(page.get_by_test_id("suppression-rule")).to_contain_text("weniger als 5 Personen")
    expect(page.locator("table.report-data").first).to_be_visible()
    suppressed = page.locator("abbr.suppressed").first
    expect(suppressed).to_have_text("< 5")
    expect(suppressed).to_have_attribute(
        "title",
        "Weniger als 5 Personen – oder unterdrückt, "
        "damit sich eine kleine Zahl nicht aus Summen "
        "zurückrechnen lässt.",
    )
    expect(page.locator("svg.chart-report").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_test_id("download-xlsx").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert book.sheetnames[0] == "Deckblatt"
    assert len(book.sheetnames) > 1
