"""Server-side SVG charts of the report (issue 7 item 4): one horizontal bar per row of a table,
readable without JavaScript, styled by classes in the page (the CSP forbids inline styles) and
by presentation attributes in the PDF (fpdf2 draws the same SVG).

Every text that goes into the markup is escaped here, so the result may be marked safe in a
template. Each chart carries ``role="img"``, an ``aria-label`` and a ``<title>``; the page
shows the same figures as a table beside it. A suppressed cell gets no bar, only its "< N"
mark, so the picture reveals no more than the table (issue 7 item 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from kimdb.caseload.chart import coordinate as _num
from kimdb.caseload.chart import nice_scale, shorten
from kimdb.caseload.chart import svg_escape as _x
from kimdb.reports.model import Cell, Table

LABEL_WIDTH = 190  # px of the name column
ROW_HEIGHT = 26  # px per bar
MAX_LABEL_CHARS = 28
MAX_BARS = 16  # a table with more rows is shown as a table only
BAR_FILL = "#0b3d66"
MUTED_FILL = "#505a5f"
GRID_STROKE = "#d8dadb"
TEXT_FILL = "#0b0c0c"
# The PDF draws the SVG with its own font of this name (exports.py); the page styles the text.
FONT_FAMILY = "DejaVu"


@dataclass(frozen=True)
class Bar:
    """One bar: its label, the value (None when suppressed) and the text shown beside it."""

    label: str
    value: float | None
    text: str


def _short(label: str) -> str:
    return shorten(label, MAX_LABEL_CHARS)


def number_text(value: int | float) -> str:
    """Format a figure the German way: whole numbers plain, others with at most one decimal
    and a decimal comma (54.25 → "54,3"); no thousands separator (short labels)."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}".replace(".", ",")


def cell_text(cell: Cell, min_cell: int) -> str:
    """Return what a cell shows: "< N" when suppressed, "–" for no value, else the number."""
    if cell.suppressed:
        return f"< {min_cell}"
    if cell.value is None:
        return "–"
    return number_text(cell.value)


def bars_of(table: Table, min_cell: int) -> list[Bar]:
    """Return one bar per row of ``table``: its row total, or its only column's cell; empty
    when the table has neither (several columns and no totals) or too many rows to draw."""
    if not table.rows or len(table.rows) > MAX_BARS:
        return []
    if len(table.row_totals) == len(table.rows):
        cells = table.row_totals
    elif len(table.columns) == 1:
        cells = [row[1][0] if row[1] else Cell(None) for row in table.rows]
    else:
        return []
    return [
        Bar(
            label,
            None if cell.suppressed or cell.value is None else float(cell.value),
            cell_text(cell, min_cell),
        )
        for (label, _cells), cell in zip(table.rows, cells, strict=True)
    ]


def table_chart(table: Table, min_cell: int, width: int = 560) -> str | None:
    """Return an SVG bar chart of ``table`` (see ``bars_of``), or None when it has nothing to
    draw. Suppressed rows show their "< N" mark without a bar."""
    bars = bars_of(table, min_cell)
    if not bars or all(b.value is None for b in bars):
        return None
    return bar_chart(bars, table.title, width)


def bar_chart(bars: list[Bar], title: str, width: int = 560) -> str:
    """Return an SVG of one horizontal bar per ``bars`` entry on a common scale starting at 0;
    ``title`` names the chart for assistive technology. Negative values are drawn as 0."""
    top = 8
    plot_x0 = LABEL_WIDTH + 10
    plot_w = width - plot_x0 - 48
    bottom = top + len(bars) * ROW_HEIGHT
    height = bottom + 24
    axis_max, step = nice_scale(max([b.value or 0 for b in bars] + [1]))

    def x(value: float) -> float:
        return plot_x0 + plot_w * max(min(float(value), axis_max), 0) / axis_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-report" '
        f'viewBox="0 0 {width} {_num(height)}" width="{width}" height="{_num(height)}" '
        f'role="img" aria-label="{_x(title)}" font-family="{FONT_FAMILY}">',
        f"<title>{_x(title)}</title>",
    ]
    tick = 0.0
    while tick <= axis_max + 1e-9:
        parts.append(
            f'<line class="chart-grid" x1="{_num(x(tick))}" y1="{top}" x2="{_num(x(tick))}" '
            f'y2="{_num(bottom)}" stroke="{GRID_STROKE}" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="chart-tick" x="{_num(x(tick))}" y="{_num(bottom + 16)}" '
            f'text-anchor="middle" font-size="11" fill="{MUTED_FILL}">{number_text(tick)}</text>'
        )
        tick += step
    for index, bar in enumerate(bars):
        y = top + index * ROW_HEIGHT
        parts += [
            '<g class="chart-row">',
            f"<title>{_x(bar.label)}: {_x(bar.text)}</title>",
            f'<text class="chart-label" x="{LABEL_WIDTH}" y="{_num(y + 17)}" '
            f'text-anchor="end" font-size="12" fill="{TEXT_FILL}">{_x(_short(bar.label))}</text>',
        ]
        end = plot_x0
        if bar.value is not None and bar.value > 0:
            end = x(bar.value)
            parts.append(
                f'<rect class="chart-bar" x="{_num(plot_x0)}" y="{_num(y + 6)}" '
                f'width="{_num(max(end - plot_x0, 1))}" height="{ROW_HEIGHT - 12}" '
                f'fill="{BAR_FILL}"/>'
            )
        kind = "chart-value chart-suppressed" if bar.value is None else "chart-value"
        parts += [
            f'<text class="{kind}" x="{_num(end + 5)}" y="{_num(y + 17)}" font-size="12" '
            f'fill="{TEXT_FILL}">{_x(bar.text)}</text>',
            "</g>",
        ]
    parts.append(
        f'<line class="chart-axis" x1="{_num(plot_x0)}" y1="{top}" x2="{_num(plot_x0)}" '
        f'y2="{_num(bottom)}" stroke="{TEXT_FILL}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
