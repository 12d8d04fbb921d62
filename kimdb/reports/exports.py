"""The report as files (issue 7 item 4): every table as CSV in the German Excel dialect, the
whole report as an XLSX workbook and as a PDF with its charts.

Plain functions over a ``model.Report``: no database, no request. A suppressed cell is written
as the text "< N" everywhere, never its value (issue 7 item 2); numbers stay numbers where the
format has them (XLSX), and carry a decimal comma where it is text (CSV, PDF).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from flask_babel import LazyString
from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from kimdb.i18n import lazy_gettext as _l
from kimdb.reports import charts
from kimdb.reports.model import Cell, Report, Table
from kimdb.timeutil import LOCAL_ZONE

FONT_PATH = (
    Path(__file__).parent.parent / "privacy" / "fonts" / "DejaVuSans.ttf"
)  # as the Art. 15 PDF
SHEET_NAME_MAX = 31  # Excel's limit on a sheet name
COVER_SHEET = "Deckblatt"
TOTAL_LABEL = _l("Summe")

# fpdf2 notes every SVG element it does not draw (here: <title>, for screen readers only).
logging.getLogger("fpdf.svg").setLevel(logging.ERROR)


def suppression_rule(min_cell: int) -> str:
    """Return the German sentence that explains the suppression (cover of every export)."""
    return str(
        _l(
            "Zellen mit weniger als %(n)s Personen werden als „< %(n)s“ ausgewiesen. Damit sich "
            "keine solche Zahl aus Summen zurückrechnen lässt, sind auch einzelne größere Zellen "
            "so ausgewiesen: „< %(n)s“ heißt „unterdrückt“.",
            n=min_cell,
        )
    )


def created_text(report: Report) -> str:
    """Return the creation time of ``report`` as dd.mm.yyyy HH:MM in local time."""
    moment = report.created_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LOCAL_ZONE).strftime("%d.%m.%Y %H:%M")


def cut_off_text(report: Report) -> str | None:
    """Return the cut-off ("Datenstand") of the figures of ``report`` that come from the
    nightly facts of the state (``Report.facts_as_of``), e.g. "23.11.2026, 02:00 Uhr" in
    local time; None when the whole report was read live."""
    moment = report.facts_as_of
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(LOCAL_ZONE)
    return str(_l("%(day)s, %(time)s Uhr", day=f"{local:%d.%m.%Y}", time=f"{local:%H:%M}"))


def cut_off_note() -> str:
    """What the cut-off applies to (shown beside ``cut_off_text``): the figures from the
    nightly facts, and which ones stay live even then (the FTE of the case managers, so also
    the cases per FTE, and the withdrawn consents: ``service.build_report``)."""
    return str(
        _l(
            "Beruht auf der nächtlichen Auswertung zu diesem Zeitpunkt; spätere Eingaben "
            "zählen ab der nächsten Auswertung. Ausgenommen sind Stellen (VZÄ, auch in "
            "„Fälle je VZÄ“) und widerrufene Einwilligungen: aktueller Stand."
        )
    )


def cell_text(cell: Cell, min_cell: int) -> str:
    """Return a cell as German text: "< N" when suppressed, "–" when empty, "12" or "54,2"."""
    return charts.cell_text(cell, min_cell)


def _header(table: Table) -> list[str]:
    header = [table.row_header, *table.columns]
    if table.row_totals:
        header.append(str(TOTAL_LABEL))
    return header


def _rows(table: Table) -> list[tuple[str, list[Cell]]]:
    """The table's body and, when it has column totals, a last "Summe" row (the grand total
    under the row totals' column)."""
    rows = [
        (label, [*cells, *([table.row_totals[i]] if table.row_totals else [])])
        for i, (label, cells) in enumerate(table.rows)
    ]
    if table.column_totals:
        width = len(table.columns) + (1 if table.row_totals else 0)
        totals = list(table.column_totals[:width])
        totals += [Cell(None)] * (width - len(totals))
        rows.append((str(TOTAL_LABEL), totals))
    return rows


def safe_name(text: str) -> str:
    """Return ``text`` as a file-name part: ASCII letters, digits and "-" only."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower() or "bericht"


def filename(report: Report, extension: str, table: Table | None = None) -> str:
    """Return the download name, e.g. "kim-bericht_kreis-warendorf_2026_cases_by_kind.csv"."""
    parts = ["kim-bericht", safe_name(report.scope.label), safe_name(report.period.label)]
    if table is not None:
        parts.append(safe_name(table.key))
    return "_".join(parts) + "." + extension


# -- Spreadsheet cells ------------------------------------------------------------------------

#: A text starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?\d[\d.,]*")


def spreadsheet_text(value):
    """Return ``value`` for a CSV field so that a spreadsheet program shows it as text: a
    string starting with ``= + - @``, a tab or a carriage return (a name such as
    ``=HYPERLINK(…)`` an administrator typed for an organisation) gets a leading ``'``; a
    number written as text ("-3", "+1,5") and every other value stay as they are; a lazy
    translated text becomes its plain text first. Source: OWASP, "CSV Injection"."""
    if isinstance(value, LazyString):  # a translated text: its words, as plain text
        value = str(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _append(sheet, values: list) -> None:
    """Append ``values`` as a row of ``sheet``, every string as text: openpyxl stores a string
    that starts with "=" as a formula, which Excel would run (OWASP, "CSV Injection")."""
    sheet.append(values)
    for cell in sheet[sheet.max_row] if values else ():
        if cell.data_type == "f":
            cell.data_type = "s"


# -- CSV --------------------------------------------------------------------------------------


def to_csv(report: Report, table: Table) -> bytes:
    """Return ``table`` as CSV in the German Excel dialect: UTF-8 with BOM, ";" between fields,
    CRLF line ends, decimal comma, suppressed cells as "< N"; first the header row, then the
    rows and the totals. Above the header: title, scope, period, the cut-off of the state's
    nightly facts when they were used (``cut_off_text``) and the suppression rule, so a file
    read alone still says what it counts. Source: issue 7 item 4."""
    buffer = io.StringIO()
    rows = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def write(values: list) -> None:
        rows.writerow([spreadsheet_text(value) for value in values])

    write([table.title])
    write([f"{report.scope.label} · {report.period.label}"])
    if report.facts_as_of:
        write([f"{_l('Datenstand')}: {cut_off_text(report)} – {cut_off_note()}"])
    write([suppression_rule(report.min_cell)])
    write([])
    write(_header(table))
    for label, cells in _rows(table):
        write([label, *(cell_text(c, report.min_cell) for c in cells)])
    if table.note:
        write([])
        write([table.note])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


# -- XLSX -------------------------------------------------------------------------------------


def sheet_names(tables: list[Table]) -> list[str]:
    """Return one sheet name per table: its title cut to 31 characters, without the characters
    Excel refuses (``[]:*?/\\``; a colon is dropped, the others become spaces), unique (a
    "(2)" suffix where two would be equal) and never the cover's name."""
    names: list[str] = []
    taken = {COVER_SHEET.lower()}
    for table in tables:
        # "Klient:innen" → "Klientinnen"; the other refused characters become spaces.
        base = re.sub(r"[\[\]*?/\\]", " ", table.title.replace(":", "")).strip() or table.key
        name = base[:SHEET_NAME_MAX].strip()
        number = 2
        while name.lower() in taken:
            suffix = f" ({number})"
            name = base[: SHEET_NAME_MAX - len(suffix)].strip() + suffix
            number += 1
        taken.add(name.lower())
        names.append(name)
    return names


def _xlsx_value(cell: Cell, min_cell: int):
    if cell.suppressed:
        return f"< {min_cell}"
    return cell.value


def to_xlsx(report: Report) -> bytes:
    """Return the report as an XLSX workbook: a cover sheet "Deckblatt" (scope, period,
    creation date, suppression rule, list of tables), then one sheet per table with a bold
    header, numbers as numbers, suppressed cells as the text "< N", the totals in bold and
    fitting column widths. Source: issue 7 item 4."""
    book = Workbook()
    cover = book.active
    cover.title = COVER_SHEET
    bold = Font(bold=True)
    _append(cover, [str(_l("KIM-Bericht"))])
    cover["A1"].font = Font(bold=True, size=14)
    for label, value in (
        (_l("Bereich"), report.scope.label),
        (_l("Zeitraum"), report.period.label),
        (_l("Von"), report.period.start),
        (_l("Bis"), report.period.end),
        (_l("Erstellt am"), created_text(report)),
        *(
            [(_l("Datenstand"), f"{cut_off_text(report)} – {cut_off_note()}")]
            if report.facts_as_of
            else []
        ),
        (_l("Geheimhaltung"), suppression_rule(report.min_cell)),
    ):
        _append(cover, [str(label), value])
        cover.cell(row=cover.max_row, column=1).font = bold
    for row in cover.iter_rows(min_row=4, max_row=5, min_col=2, max_col=2):
        row[0].number_format = "DD.MM.YYYY"
    _append(cover, [])
    _append(cover, [str(_l("Kennzahlen"))])
    cover.cell(row=cover.max_row, column=1).font = bold
    for figure in report.figures:
        _append(
            cover,
            [
                figure.label,
                _xlsx_value(figure.value, report.min_cell),
                figure.unit,
                figure.comparison,
            ],
        )
    _append(cover, [])
    _append(cover, [str(_l("Tabellen"))])
    cover.cell(row=cover.max_row, column=1).font = bold
    names = sheet_names(report.tables)
    for table, name in zip(report.tables, names, strict=True):
        _append(cover, [name, table.title])
    cover.column_dimensions["A"].width = 34
    cover.column_dimensions["B"].width = 60
    cover["B7"].alignment = Alignment(wrap_text=True, vertical="top")

    for table, name in zip(report.tables, names, strict=True):
        sheet = book.create_sheet(name)
        _append(sheet, [table.title])
        sheet["A1"].font = Font(bold=True, size=12)
        _append(sheet, [f"{report.scope.label} · {report.period.label}"])
        _append(sheet, [])
        _append(sheet, _header(table))
        header_row = sheet.max_row
        for cell in sheet[header_row]:
            cell.font = bold
        body = _rows(table)
        for index, (label, cells) in enumerate(body):
            _append(sheet, [label, *(_xlsx_value(c, report.min_cell) for c in cells)])
            is_total = table.column_totals and index == len(body) - 1
            if is_total:
                for cell in sheet[sheet.max_row]:
                    cell.font = bold
            for cell in sheet[sheet.max_row][1:]:
                cell.alignment = Alignment(horizontal="right")
                if isinstance(cell.value, float):
                    cell.number_format = "0.0"
        if table.note:
            _append(sheet, [])
            _append(sheet, [table.note])
        _append(sheet, [])
        _append(sheet, [suppression_rule(report.min_cell)])
        widths = [len(str(h)) for h in _header(table)]
        for label, cells in body:
            widths[0] = max(widths[0], len(label))
            for i, cell in enumerate(cells, start=1):
                widths[i] = max(widths[i], len(cell_text(cell, report.min_cell)))
        for i, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- PDF --------------------------------------------------------------------------------------


class _Document(FPDF):
    """An A4 page with the DejaVu Sans font, a running footer "KIM-Bericht · scope · page"."""

    def __init__(self, report: Report) -> None:
        super().__init__(format="A4")
        self.report = report
        self.add_font(charts.FONT_FAMILY, "", str(FONT_PATH))
        self.set_font(charts.FONT_FAMILY, size=10)
        self.set_title(f"KIM-Bericht {report.scope.label} {report.period.label}")
        self.set_auto_page_break(auto=True, margin=15)
        self.alias_nb_pages()

    def footer(self) -> None:  # noqa: D102 - FPDF hook
        self.set_y(-12)
        self.set_font(charts.FONT_FAMILY, size=8)
        self.cell(
            0,
            8,
            f"KIM-Bericht · {self.report.scope.label} · {self.report.period.label} · "
            f"Seite {self.page_no()}/{{nb}}",
            align="C",
        )
        self.set_font(charts.FONT_FAMILY, size=10)

    def heading(self, text: str, size: int = 13) -> None:
        self.ln(3)
        self.set_font(charts.FONT_FAMILY, size=size)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font(charts.FONT_FAMILY, size=10)

    def para(self, text: str, size: int = 10) -> None:
        self.set_font(charts.FONT_FAMILY, size=size)
        self.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font(charts.FONT_FAMILY, size=10)

    def table_of(self, table: Table, min_cell: int) -> None:
        header = _header(table)
        columns = len(header) - 1
        font_size = 9 if columns <= 5 else 7
        first = 60 if columns <= 5 else 45
        self.set_font(charts.FONT_FAMILY, size=font_size)
        widths = (first, *([(self.epw - first) / max(columns, 1)] * columns))
        body = _rows(table)
        rows = [
            header,
            *([label, *(cell_text(c, min_cell) for c in cells)] for label, cells in body),
        ]
        with self.table(
            col_widths=widths,
            text_align=("LEFT", *(["RIGHT"] * columns)),
            line_height=font_size * 0.5,
            first_row_as_headings=True,
            headings_style=FontFace(emphasis="", fill_color=(225, 230, 235)),
            repeat_headings=1,
        ) as grid:
            for values in rows:
                row = grid.row()
                for value in values:
                    row.cell(str(value))
        self.set_font(charts.FONT_FAMILY, size=10)


def to_pdf(
    report: Report,
    compress: bool = True,
    descriptions: Sequence[tuple[str, str]] = (),
) -> bytes:
    """Return the whole report as a PDF: cover (scope, period, date, suppression rule), the
    headline figures, then every table with its totals, note and, where one can be drawn, its
    bar chart (the same SVG as on the page), and last the findings' ``descriptions`` as
    (heading, text) pairs, if any. ``compress`` False leaves the page streams
    readable (tests). Source: issue 7 item 4."""
    pdf = _Document(report)
    pdf.set_compression(compress)
    pdf.add_page()
    pdf.heading(str(_l("KIM-Bericht")), size=16)
    pdf.para(f"{_l('Bereich')}: {report.scope.label}")
    pdf.para(
        f"{_l('Zeitraum')}: {report.period.label} "
        f"({report.period.start:%d.%m.%Y}–{report.period.end:%d.%m.%Y})"
    )
    pdf.para(f"{_l('Erstellt am')}: {created_text(report)}")
    if report.facts_as_of:
        pdf.para(f"{_l('Datenstand')}: {cut_off_text(report)} – {cut_off_note()}")
    pdf.ln(2)
    pdf.para(suppression_rule(report.min_cell), size=9)
    if report.figures:
        pdf.heading(str(_l("Kennzahlen")))
        for figure in report.figures:
            value = cell_text(figure.value, report.min_cell)
            line = f"{figure.label}: {value}{' ' + figure.unit if figure.unit else ''}"
            if figure.comparison:
                line += f" ({figure.comparison})"
            pdf.para(line)
    for table in report.tables:
        pdf.heading(table.title + (f" ({table.unit})" if table.unit else ""))
        pdf.table_of(table, report.min_cell)
        if table.note:
            pdf.para(table.note, size=8)
        svg = charts.table_chart(table, report.min_cell)
        if svg:
            height = 160 * (svg_height(svg) / 560)
            if pdf.get_y() + height + 4 > pdf.page_break_trigger:
                pdf.add_page()
            pdf.ln(2)
            pdf.image(io.BytesIO(svg.encode("utf-8")), x=pdf.l_margin, w=160)
    if descriptions:
        pdf.heading(str(_l("Beschreibungen der strukturellen Erkenntnisse")))
        for heading, text in descriptions:
            pdf.para(heading, size=9)
            pdf.para(text)
            pdf.ln(1)
    return bytes(pdf.output())


def svg_height(svg: str) -> float:
    """Return the height (px) an SVG of ``charts`` declares (0 if none)."""
    match = re.search(r'height="([\d.]+)"', svg)
    return float(match.group(1)) if match else 0.0
