"""The rules of the state report's nightly facts without the app (issue 8): which periods may
read them, the union of capped id sets, and the published basis."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from kimdb.reports import rules
from kimdb.reports.model import Cell, Period, Table

UTC = dt.UTC
AT = dt.datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
REFRESHED = dt.datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
DECEMBER = dt.date(2026, 12, 1)


def _usable(period, min_cell=5, at=AT, refreshed_at=REFRESHED, cap=5, last_month=DECEMBER):
    return rules.facts_usable(period, min_cell, at, refreshed_at, cap, last_month)


@pytest.mark.parametrize(
    ("kind", "year", "number"),
    [("year", 2025, None), ("half", 2026, 2), ("quarter", 2024, 1), ("quarter", 2026, 4)],
)
def test_years_halves_and_quarters_may_read_the_facts(kind, year, number):
    period = rules.parse_period(kind, year, number)
    assert rules.standard_period(period)
    assert _usable(period)


def test_a_free_range_never_reads_the_facts_even_of_whole_months():
    assert not _usable(Period(dt.date(2025, 1, 15), dt.date(2025, 3, 31), "x"))
    whole_months = rules.parse_period(
        "range", date_from=dt.date(2024, 11, 1), date_to=dt.date(2025, 4, 30)
    )
    assert not rules.standard_period(whole_months)
    assert not _usable(whole_months)
    assert not _usable(Period(dt.date(2024, 2, 1), dt.date(2024, 2, 29), "x"))  # one month
    assert not _usable(Period(dt.date(2025, 2, 1), dt.date(2025, 4, 30), "x"))  # not a quarter
    # the same days as a quarter, asked for as a range: the same figures, so the facts serve
    assert _usable(Period(dt.date(2025, 4, 1), dt.date(2025, 6, 30), "01.04.–30.06.2025"))


def test_a_period_ending_after_the_last_month_of_the_facts_is_not_covered():
    assert _usable(rules.parse_period("year", 2026))
    assert not _usable(rules.parse_period("quarter", 2027, 1))
    assert not _usable(rules.parse_period("year", 2026), last_month=dt.date(2026, 11, 1))


def test_facts_older_than_the_limit_are_not_used():
    assert dt.timedelta(hours=36) == rules.FACTS_MAX_AGE
    year = rules.parse_period("year", 2025)
    assert _usable(year, at=REFRESHED + rules.FACTS_MAX_AGE)
    assert not _usable(year, at=REFRESHED + rules.FACTS_MAX_AGE + dt.timedelta(seconds=1))
    assert not _usable(year, at=REFRESHED - dt.timedelta(minutes=1))  # from the future
    naive = REFRESHED.replace(tzinfo=None)  # as SQLite returns it: UTC
    assert _usable(year, refreshed_at=naive)


def test_a_cap_below_the_minimum_cell_is_not_used():
    year = rules.parse_period("year", 2025)
    assert _usable(year, min_cell=5, cap=5)
    assert _usable(year, min_cell=3, cap=5)
    assert not _usable(year, min_cell=6, cap=5)


def test_month_index_round_trips():
    for day in (dt.date(2000, 1, 31), dt.date(2025, 12, 1), dt.date(2026, 7, 15)):
        assert rules.month_of_index(rules.month_index(day)) == day.replace(day=1)
    assert rules.month_index(dt.date(2026, 1, 1)) - rules.month_index(dt.date(2025, 12, 1)) == 1


def test_capped_ids_keep_the_smallest_distinct_ids():
    assert rules.capped_ids([9, 3, 3, 7, 1, 8], 3) == [1, 3, 7]
    assert rules.capped_ids([4, 4], 5) == [4]


@pytest.mark.parametrize("seed", range(200))
def test_the_union_of_capped_month_sets_gives_the_people_up_to_the_cap(seed):
    rnd = random.Random(seed)
    cap = rnd.randint(1, 6)
    people = range(1, rnd.randint(2, 15))
    months = [
        [rnd.choice(people) for _ in range(rnd.randint(0, 8))] for _ in range(rnd.randint(1, 12))
    ]
    everyone = {p for month in months for p in month}
    union = {p for month in months for p in rules.capped_ids(month, cap)}
    assert rules.facts_people(len(union), cap) == min(len(everyone), cap)


def test_the_published_basis_is_capped_at_the_minimum_cell_and_decides_alike():
    table = Table(
        "consultations",
        "Gespräche",
        "Form",
        ["Gespräche", "Minuten"],
        [("persönlich", [Cell(40, persons=False, basis=12), Cell(900, persons=False, basis=3)])],
        column_totals=[Cell(40, persons=False, basis=0), Cell(900, persons=False, basis=None)],
    )
    capped = rules.cap_basis(table, 5)
    assert [c.basis for c in capped.rows[0][1]] == [5, 3]
    assert [c.basis for c in capped.column_totals] == [0, None]
    for before, after in zip(table.rows[0][1], capped.rows[0][1], strict=True):
        assert rules.primary_suppressed(before, 5) == rules.primary_suppressed(after, 5)


def test_the_standard_periods_of_a_year_are_the_year_its_halves_and_quarters():
    periods = rules.standard_periods(2025)
    assert [p.label for p in periods] == [
        "2025",
        "1. Halbjahr 2025",
        "2. Halbjahr 2025",
        "1. Quartal 2025",
        "2. Quartal 2025",
        "3. Quartal 2025",
        "4. Quartal 2025",
    ]
