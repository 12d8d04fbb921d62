"""Server-side SVG charts of the supervisor dashboard (issue 5 item 2): readable without
JavaScript, styled by classes (the CSP forbids inline styles), built from plain numbers.

Every text that goes into the markup is escaped here, so the result may be marked safe in a
template. Each chart carries ``role="img"``, an ``aria-label`` and a ``<title>``; the page
shows the same figures as a table for screen readers and copying.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

LABEL_WIDTH = 170  # px of the name column of the bar chart
ROW_HEIGHT = 30  # px per person
MAX_LABEL_CHARS = 24


@dataclass(frozen=True)
class Bar:
    """One value against a band: a person's open cases, or a unit's open cases at a day.

    ``value``, ``lower`` and ``upper`` in open cases (the band 50–60 × FTE, R5); ``label`` is
    shown beside or under the bar, ``description`` (default: the label) is its tooltip.
    """

    label: str
    value: float
    lower: float
    upper: float
    description: str = ""

    @property
    def above(self) -> bool:
        """True if the value lies above the band (never without a band, upper bound 0)."""
        return self.upper > 0 and self.value > self.upper


@dataclass(frozen=True)
class Legend:
    """Texts of the legend: what the bars and the shaded band mean, and the marker of bars
    above the band (shown in the chart, so colour is not the only cue)."""

    bar: str
    band: str
    above: str


def svg_escape(text: object) -> str:
    """``text`` escaped for SVG markup (element text and attribute values)."""
    return escape(str(text), quote=True)


def coordinate(value: float) -> str:
    """A coordinate with at most one decimal (short markup)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def shorten(label: str, limit: int = MAX_LABEL_CHARS) -> str:
    """``label`` cut to ``limit`` characters with "…" (a chart's label column is narrow)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


# Short names for the many f-strings below (also used by kimdb.reports.charts).
_x, _num, _short = svg_escape, coordinate, shorten


def nice_scale(maximum: float, ticks: int = 5) -> tuple[float, float]:
    """Return (axis maximum, tick step) for values up to ``maximum``: a step of 1, 2, 2.5 or
    5 × 10ⁿ giving about ``ticks`` ticks, the axis maximum a multiple of it (at least 1)."""
    maximum = max(float(maximum), 1.0)
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if step < 1:
        step = 1.0
    return math.ceil(maximum / step) * step, step


def _open(width: float, height: float, title: str, css_class: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" width="{_num(width)}" '
        f'height="{_num(height)}" role="img" aria-label="{_x(title)}">',
        f"<title>{_x(title)}</title>",
    ]


def _legend(legend: Legend | None, y: float, x0: float) -> list[str]:
    if legend is None:
        return []
    parts = [
        f'<rect class="chart-band" x="{_num(x0)}" y="{_num(y - 9)}" width="18" height="12" '
        'fill="#cce5d6"/>',
        f'<text class="chart-legend" x="{_num(x0 + 24)}" y="{_num(y)}">{_x(legend.band)}</text>',
    ]
    x1 = x0 + 34 + 7 * len(legend.band)
    parts += [
        f'<rect class="chart-bar" x="{_num(x1)}" y="{_num(y - 7)}" width="18" height="8" '
        'fill="#0b3d66"/>',
        f'<text class="chart-legend" x="{_num(x1 + 24)}" y="{_num(y)}">{_x(legend.bar)}</text>',
    ]
    x2 = x1 + 34 + 7 * len(legend.bar)
    parts += [
        f'<rect class="chart-bar chart-bar-above" x="{_num(x2)}" y="{_num(y - 7)}" width="18" '
        'height="8" fill="#b3261e"/>',
        f'<text class="chart-legend" x="{_num(x2 + 24)}" y="{_num(y)}">▲ {_x(legend.above)}</text>',
    ]
    return parts


def _band(left: float, right: float, y: float) -> str:
    return (
        f'<rect class="chart-band" x="{_num(left)}" y="{_num(y + 3)}" '
        f'width="{_num(max(right - left, 1))}" height="{ROW_HEIGHT - 6}" fill="#cce5d6"/>'
    )


def caseload_bars(
    bars: Sequence[Bar], title: str, legend: Legend | None = None, width: int = 560
) -> str:
    """Return an SVG of one horizontal bar per person: open cases as a bar, the band
    lower–upper as a shaded range behind it (none for an upper bound of 0: no post); bars above
    the band get their own class and a ▲ before the value. ``title`` names the chart for
    assistive technology.
    """
    top = 34 if legend else 8
    plot_x0 = LABEL_WIDTH + 10
    plot_w = width - plot_x0 - 56
    height = top + len(bars) * ROW_HEIGHT + 26
    axis_max, step = nice_scale(max([b.upper for b in bars] + [b.value for b in bars] + [1]))

    def x(value: float) -> float:
        return plot_x0 + plot_w * min(float(value), axis_max) / axis_max

    parts = _open(width, height, title, "chart-caseload")
    parts += _legend(legend, 18, 0)
    bottom = top + len(bars) * ROW_HEIGHT
    tick = 0.0
    while tick <= axis_max + 1e-9:
        parts.append(
            f'<line class="chart-grid" x1="{_num(x(tick))}" y1="{_num(top)}" '
            f'x2="{_num(x(tick))}" y2="{_num(bottom)}" stroke="#d8dadb"/>'
        )
        parts.append(
            f'<text class="chart-tick" x="{_num(x(tick))}" y="{_num(bottom + 16)}" '
            f'text-anchor="middle">{_num(tick)}</text>'
        )
        tick += step
    for index, bar in enumerate(bars):
        y = top + index * ROW_HEIGHT
        kind = "chart-bar chart-bar-above" if bar.above else "chart-bar"
        fill = "#b3261e" if bar.above else "#0b3d66"
        value_text = ("▲ " if bar.above else "") + _num(bar.value)
        parts += [
            '<g class="chart-row">',
            f"<title>{_x(bar.description or bar.label)}</title>",
            f'<text class="chart-label" x="{LABEL_WIDTH}" y="{_num(y + 19)}" '
            f'text-anchor="end">{_x(_short(bar.label))}</text>',
            _band(x(bar.lower), x(bar.upper), y) if bar.upper > 0 else "",
            f'<rect class="{kind}" x="{_num(plot_x0)}" y="{_num(y + 9)}" '
            f'width="{_num(x(bar.value) - plot_x0)}" height="{ROW_HEIGHT - 18}" fill="{fill}"/>',
            f'<text class="chart-value" x="{_num(x(bar.value) + 5)}" y="{_num(y + 19)}">'
            f"{_x(value_text)}</text>",
            "</g>",
        ]
    parts.append(
        f'<line class="chart-axis" x1="{_num(plot_x0)}" y1="{_num(top)}" x2="{_num(plot_x0)}" '
        f'y2="{_num(bottom)}" stroke="#0b0c0c"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def trend_chart(
    points: Sequence[Bar], title: str, legend: Legend | None = None, width: int = 560
) -> str:
    """Return an SVG of a unit's open cases over time: one vertical bar per point (e.g. month
    end) against the band valid on that day, drawn as a shaded step per column; bars above
    the band get their own class and a ▲ over the value.
    """
    top = 40 if legend else 16
    left, right, bottom_space, plot_h = 44, 8, 30, 180
    plot_w = width - left - right
    height = top + plot_h + bottom_space
    axis_max, step = nice_scale(max([p.upper for p in points] + [p.value for p in points] + [1]))
    column = plot_w / max(len(points), 1)
    baseline = top + plot_h

    def y(value: float) -> float:
        return baseline - plot_h * min(float(value), axis_max) / axis_max

    parts = _open(width, height, title, "chart-trend")
    parts += _legend(legend, 18, 0)
    tick = 0.0
    while tick <= axis_max + 1e-9:
        parts.append(
            f'<line class="chart-grid" x1="{left}" y1="{_num(y(tick))}" x2="{_num(width - right)}" '
            f'y2="{_num(y(tick))}" stroke="#d8dadb"/>'
        )
        parts.append(
            f'<text class="chart-tick" x="{left - 6}" y="{_num(y(tick) + 4)}" '
            f'text-anchor="end">{_num(tick)}</text>'
        )
        tick += step
    for index, point in enumerate(points):
        x0 = left + index * column
        bar_w = column * 0.5
        kind = "chart-bar chart-bar-above" if point.above else "chart-bar"
        fill = "#b3261e" if point.above else "#0b3d66"
        value_text = ("▲ " if point.above else "") + _num(point.value)
        parts += [
            '<g class="chart-column">',
            f"<title>{_x(point.description or point.label)}</title>",
            f'<rect class="chart-band" x="{_num(x0)}" y="{_num(y(point.upper))}" '
            f'width="{_num(column)}" height="{_num(max(y(point.lower) - y(point.upper), 1))}" '
            'fill="#cce5d6"/>',
            f'<rect class="{kind}" x="{_num(x0 + (column - bar_w) / 2)}" '
            f'y="{_num(y(point.value))}" width="{_num(bar_w)}" '
            f'height="{_num(baseline - y(point.value))}" fill="{fill}"/>',
            f'<text class="chart-value" x="{_num(x0 + column / 2)}" '
            f'y="{_num(y(point.value) - 4)}" text-anchor="middle">{_x(value_text)}</text>',
            f'<text class="chart-tick" x="{_num(x0 + column / 2)}" y="{_num(baseline + 18)}" '
            f'text-anchor="middle">{_x(point.label)}</text>',
            "</g>",
        ]
    parts.append(
        f'<line class="chart-axis" x1="{left}" y1="{_num(baseline)}" x2="{_num(width - right)}" '
        f'y2="{_num(baseline)}" stroke="#0b0c0c"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
