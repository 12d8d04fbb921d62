"""Rules of the supervisor dashboard on plain values: FTE over time (issue 5 item 3), the
trend's counting rule, totals and sorting (R5), sections per team, and the SVG charts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from kimdb.caseload import chart
from kimdb.caseload.rules import (
    Band,
    CaseManagerFigures,
    Scope,
    fte_on,
    group_sections,
    month_ends,
    open_on,
    parse_dashboard_sort,
    sort_figures,
    trend,
    unit_total,
)

D = dt.date
PERIODS = ((D(2025, 1, 1), Decimal("1.0")), (D(2025, 7, 1), Decimal("0.5")))


def figures(user_id, name, open_cases=0, fte="1.0", **kw):
    fte = Decimal(fte)
    defaults = dict(
        active=True,
        organisation_id=1,
        team_id=None,
        fte_periods=((D(2020, 1, 1), fte),),
        open_cm=0,
        inactive=0,
        overdue=0,
    )
    defaults.update(kw)
    return CaseManagerFigures(
        user_id=user_id, name=name, fte=fte, open_cases=open_cases, **defaults
    )


# -- FTE over time --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "fte"),
    [
        (D(2024, 6, 1), "1.0"),  # before the first period: the first period's FTE
        (D(2025, 1, 1), "1.0"),
        (D(2025, 6, 30), "1.0"),  # between: the earlier period still holds
        (D(2025, 7, 1), "0.5"),  # on the day of the change: the new FTE
        (D(2026, 3, 1), "0.5"),
    ],
)
def test_fte_on_takes_the_period_valid_on_the_day(day, fte):
    assert fte_on(PERIODS, day) == Decimal(fte)


def test_fte_on_without_periods_is_refused():
    with pytest.raises(ValueError):
        fte_on((), D(2025, 1, 1))


# -- the trend ------------------------------------------------------------------------------------


def test_month_ends_are_the_last_twelve_with_today_last():
    days = month_ends(D(2026, 5, 14))
    assert len(days) == 12
    assert days[0] == D(2025, 6, 30)
    assert days[-2:] == [D(2026, 4, 30), D(2026, 5, 14)]
    assert D(2026, 2, 28) in days


def test_month_ends_across_a_leap_february():
    assert D(2024, 2, 29) in month_ends(D(2024, 3, 10))


@pytest.mark.parametrize(
    ("opened", "closed", "is_open"),
    [
        (D(2026, 1, 31), None, True),  # opened on the day
        (D(2026, 2, 1), None, False),  # opened after
        (D(2025, 12, 1), D(2026, 1, 31), False),  # closed on the day: no longer open
        (D(2025, 12, 1), D(2026, 2, 1), True),  # closed later
    ],
)
def test_a_case_is_open_at_the_end_of_a_day(opened, closed, is_open):
    assert open_on(opened, closed, D(2026, 1, 31)) is is_open


def test_trend_sums_owners_and_uses_the_fte_valid_on_each_day():
    days = [D(2025, 5, 31), D(2025, 6, 30), D(2025, 7, 31)]
    anna = figures(1, "Anna", fte="0.5", fte_periods=PERIODS)
    ben = figures(2, "Ben", fte="0.5")
    points = trend([anna, ben], {1: [10, 20, 30], 2: [5, 5, 5], 99: [100, 100, 100]}, days)
    assert [p.open_cases for p in points] == [15, 25, 35]
    assert [p.fte for p in points] == [Decimal("1.5"), Decimal("1.5"), Decimal("1.0")]
    assert (points[-1].lower, points[-1].upper) == (50, 60)
    assert points[0].band is Band.BELOW


def test_trend_leaves_out_the_post_of_a_deactivated_user_but_counts_their_cases():
    gone = figures(1, "Gone", fte="1.0", active=False)
    points = trend([gone], {1: [7]}, [D(2026, 1, 31)])
    assert points[0].open_cases == 7
    assert points[0].fte == 0
    assert points[0].band is Band.ABOVE


# -- totals, sorting, sections --------------------------------------------------------------------


def test_team_total_sums_fte_and_cases_against_the_summed_band():
    rows = [
        figures(1, "Anna", 28, fte="0.5", open_cm=10, inactive=2, overdue=1),
        figures(2, "Ben", 70, fte="1.0", open_cm=20, overdue=3),
        figures(3, "Gone", 4, fte="0.5", active=False),
    ]
    total = unit_total(rows)
    assert total.fte == Decimal("1.5")  # the deactivated post does not count
    assert total.open_cases == 102
    assert (total.lower, total.upper) == (75, 90)
    assert total.band is Band.ABOVE
    assert (total.inactive, total.overdue, total.deactivated_open) == (2, 4, 4)
    assert total.caseload.cm_share == Decimal(30) / Decimal(102)


def test_empty_team_total_is_zero():
    total = unit_total([])
    assert (total.open_cases, total.lower, total.upper) == (0, 0, 0)
    assert total.caseload.cm_share is None


ROWS = [
    figures(1, "Berta", 30, fte="0.5", median_lag=1.0),  # 25–30: within
    figures(2, "anton", 61, fte="1.0", median_lag=None),  # 50–60: above
    figures(3, "Cem", 10, fte="0.5", median_lag=4.5),  # below
]


def names(rows):
    return [r.name for r in rows]


def test_rows_sort_by_name_ignoring_case_by_default():
    assert names(sort_figures(ROWS, "name")) == ["anton", "Berta", "Cem"]


def test_rows_sort_by_open_cases_both_ways():
    assert names(sort_figures(ROWS, "open")) == ["Cem", "Berta", "anton"]
    assert names(sort_figures(ROWS, "open", descending=True)) == ["anton", "Berta", "Cem"]


def test_rows_sort_by_standing_puts_above_last_or_first():
    assert names(sort_figures(ROWS, "standing", descending=True)) == ["anton", "Berta", "Cem"]


def test_rows_without_a_value_sort_last_in_both_directions():
    assert names(sort_figures(ROWS, "lag")) == ["Berta", "Cem", "anton"]
    assert names(sort_figures(ROWS, "lag", descending=True)) == ["Cem", "Berta", "anton"]


@pytest.mark.parametrize(
    ("sort", "direction", "expected"),
    [
        ("open", "desc", ("open", True)),
        ("open", "asc", ("open", False)),
        ("open", None, ("open", False)),
        ("drop table", "desc", ("name", False)),
        (None, None, ("name", False)),
    ],
)
def test_sort_arguments_are_checked(sort, direction, expected):
    assert parse_dashboard_sort(sort, direction) == expected


def test_whole_organisation_gets_a_section_per_team_and_one_without_team():
    scope = Scope(1, "KI Testkreis", True, ((10, "Nord"), (11, "Süd"), (12, "Leer")))
    rows = [
        figures(1, "Anna", 5, team_id=10),
        figures(2, "Ben", 9, team_id=11),
        figures(3, "Cem", 1, team_id=None),
        figures(4, "Other", 50, organisation_id=2, team_id=20),
    ]
    (group,) = group_sections([scope], rows)
    assert [s.team_name for s in group.sections] == ["Nord", "Süd", None]
    assert [names(s.rows) for s in group.sections] == [["Anna"], ["Ben"], ["Cem"]]
    assert group.total.open_cases == 15  # the other organisation's row is not included


def test_team_supervision_shows_that_team_only_and_not_twice():
    rows = [figures(1, "Anna", 5, team_id=10), figures(2, "Ben", 9, team_id=11)]
    only_team = group_sections([Scope(1, "KI", False, ((10, "Nord"),))], rows)
    assert [names(s.rows) for s in only_team[0].sections] == [["Anna"]]
    both = group_sections(
        [Scope(1, "KI", False, ((10, "Nord"),)), Scope(1, "KI", True, ((10, "Nord"), (11, "Süd")))],
        rows,
    )
    assert len(both) == 1 and [s.team_name for s in both[0].sections] == ["Nord", "Süd"]


def test_sorting_applies_within_each_section():
    scope = Scope(1, "KI", True, ((10, "Nord"), (11, "Süd")))
    rows = [
        figures(1, "Anna", 5, team_id=10),
        figures(2, "Ben", 9, team_id=10),
        figures(3, "Cem", 50, team_id=11),
    ]
    (group,) = group_sections([scope], rows, "open", True)
    assert [names(s.rows) for s in group.sections] == [["Ben", "Anna"], ["Cem"]]


# -- SVG charts -----------------------------------------------------------------------------------


def test_caseload_chart_draws_a_bar_and_a_band_per_person():
    bars = [chart.Bar("Anna", 28, 25, 30), chart.Bar("Ben", 70, 50, 60), chart.Bar("Cem", 0, 5, 6)]
    svg = chart.caseload_bars(bars, "Offene Fälle")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="chart-row"') == 3
    assert len(re.findall(r'<rect class="chart-band"', svg)) == 3
    assert len(re.findall(r'<rect class="chart-bar( chart-bar-above)?"', svg)) == 3
    assert svg.count("chart-bar-above") == 1  # only Ben
    assert "▲ 70" in svg  # above the band is marked in text, not by colour alone
    assert 'role="img"' in svg and 'aria-label="Offene Fälle"' in svg
    assert "<title>Offene Fälle</title>" in svg


def test_band_range_spans_lower_to_upper_on_the_scale():
    svg = chart.caseload_bars([chart.Bar("Anna", 10, 50, 60)], "t")
    band = re.search(r'<rect class="chart-band" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    bar = re.search(r'<rect class="chart-bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    band_x, band_w = float(band.group(1)), float(band.group(2))
    bar_x, bar_w = float(bar.group(1)), float(bar.group(2))
    per_case = bar_w / 10
    assert band_x == pytest.approx(bar_x + 50 * per_case, abs=0.2)
    assert band_w == pytest.approx(10 * per_case, abs=0.2)


def test_chart_escapes_names_and_titles():
    svg = chart.caseload_bars(
        [chart.Bar('<script>alert("x")</script>', 3, 5, 6, description="a & b")], 'Team "<b>"'
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "a &amp; b" in svg
    assert "<b>" not in svg


def test_trend_chart_has_a_column_per_month_with_its_band():
    points = [
        chart.Bar(f"M{i}", 40 + i * 3, 50 if i < 6 else 25, 60 if i < 6 else 30) for i in range(12)
    ]
    svg = chart.trend_chart(points, "Verlauf")
    assert svg.count('class="chart-column"') == 12
    assert svg.count('<rect class="chart-band"') == 12
    assert svg.count("chart-bar-above") == 6  # from the change on, 55+ cases are above 30
    heights = [float(h) for h in re.findall(r'<rect class="chart-band"[^>]*height="([\d.]+)"', svg)]
    assert heights[0] > heights[-1]  # the band narrows when the FTE halves


def test_nice_scale_gives_round_ticks():
    assert chart.nice_scale(61) == (80, 20)
    assert chart.nice_scale(9) == (10, 2)
    assert chart.nice_scale(0) == (1, 1)
