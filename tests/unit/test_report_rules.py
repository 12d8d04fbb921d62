"""The report's rules without the app: periods, age and country groups, small-cell suppression
(issue 7 items 1 and 2), including a reader who tries to recover suppressed cells."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from kimdb.reports import rules
from kimdb.reports.model import Cell, Table
from kimdb.reports.rules import PeriodRefused, count_table, parse_period, suppress

# -- periods -----------------------------------------------------------------------------------


def test_year_half_quarter_and_range_periods():
    year = parse_period("year", 2025)
    assert (year.start, year.end, year.label) == (
        dt.date(2025, 1, 1),
        dt.date(2025, 12, 31),
        "2025",
    )
    half = parse_period("half", 2024, 2)
    assert (half.start, half.end) == (dt.date(2024, 7, 1), dt.date(2024, 12, 31))
    assert half.label == "2. Halbjahr 2024"
    quarter = parse_period("quarter", 2024, 1)
    assert (quarter.start, quarter.end) == (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert quarter.label == "1. Quartal 2024"
    span = parse_period("range", date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 4, 30))
    assert span.label == "01.02.2026–30.04.2026"
    one_month = parse_period("range", date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 2, 28))
    assert (one_month.start, one_month.end) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))


@pytest.mark.parametrize(
    ("date_from", "date_to", "field"),
    [
        (dt.date(2026, 2, 2), dt.date(2026, 2, 28), "date_from"),  # a day later: differencing
        (dt.date(2026, 2, 1), dt.date(2026, 2, 27), "date_to"),
        (dt.date(2020, 1, 1), dt.date(2026, 12, 31), "date_to"),  # more than 60 months
    ],
)
def test_a_range_is_made_of_whole_months_and_at_most_five_years(date_from, date_to, field):
    with pytest.raises(PeriodRefused) as refused:
        parse_period("range", date_from=date_from, date_to=date_to)
    assert refused.value.field == field


def test_a_period_ending_before_it_starts_is_refused_in_german():
    with pytest.raises(PeriodRefused) as refused:
        parse_period("range", date_from=dt.date(2026, 5, 1), date_to=dt.date(2026, 4, 30))
    assert refused.value.field == "date_to"
    assert "endet vor seinem Beginn" in str(refused.value.message)


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        (("year", None), "year", "Jahr angeben"),
        (("year", 1999), "year", "zwischen 2000 und 2100"),
        (("year", 2101), "year", "zwischen 2000 und 2100"),
        (("half", 2025, None), "number", "Halbjahr angeben"),
        (("half", 2025, 3), "number", "1 oder 2"),
        (("quarter", 2025, 0), "number", "zwischen 1 und 4"),
        (("quarter", 2025, 5), "number", "zwischen 1 und 4"),
        (("month", 2025), "kind", "Art des Zeitraums"),
        (("range", None, None, None, dt.date(2025, 1, 1)), "date_from", "Anfangsdatum"),
        (("range", None, None, dt.date(2025, 1, 1), None), "date_to", "Enddatum"),
        (("range", None, None, dt.date(1990, 1, 1), dt.date(2025, 1, 1)), "date_from", "Datum"),
    ],
)
def test_incomplete_or_impossible_periods_name_the_field(args, field, words):
    with pytest.raises(PeriodRefused) as refused:
        parse_period(*args)
    assert refused.value.field == field
    assert words in str(refused.value.message)


def test_month_ends_within_a_period_include_its_last_day():
    assert rules.month_ends_within(parse_period("quarter", 2025, 1)) == [
        dt.date(2025, 1, 31),
        dt.date(2025, 2, 28),
        dt.date(2025, 3, 31),
    ]
    span = parse_period("range", date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 2, 28))
    assert rules.month_ends_within(span) == [dt.date(2025, 1, 31), dt.date(2025, 2, 28)]


# -- age and country groups --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_year", "group"),
    [
        (2008, "under_18"),  # 17 in 2025
        (2007, "18_26"),
        (1999, "18_26"),  # 26
        (1998, "27_44"),
        (1981, "27_44"),
        (1980, "45_64"),
        (1961, "45_64"),
        (1960, "65_plus"),
        (None, "unknown"),
        (2030, "unknown"),
    ],
)
def test_age_groups_use_the_age_reached_in_the_year(birth_year, group):
    assert rules.age_group(birth_year, dt.date(2025, 12, 31)) == group


@pytest.mark.parametrize(
    ("code", "group"),
    [
        ("SY", "SY"),
        ("ua", "UA"),
        ("TR", "TR"),
        ("RO", "eu"),
        ("PL", "eu"),
        ("DE", "de"),
        ("ER", "third"),
        ("RU", "third"),
        ("", "unknown"),
        (None, "unknown"),
        ("XX", "unknown"),
        ("1A", "unknown"),
    ],
)
def test_country_groups(code, group):
    assert rules.country_group(code) == group


# -- suppression -------------------------------------------------------------------------------


def _values(table: Table) -> list[list[float | None]]:
    return [[c.value for c in cells] for _, cells in table.rows]


def test_a_table_without_small_cells_is_unchanged():
    table = count_table("t", "T", "Zeile", ["a", "b"], [("x", [5, 0]), ("y", [7, 12])])
    published = suppress(table, 5)
    assert _values(published) == [[5, 0], [7, 12]]
    assert [c.value for c in published.column_totals] == [12, 12, 24]
    assert not any(c.suppressed for _, cells in published.rows for c in cells)


def test_small_cells_are_suppressed_with_a_partner_in_row_and_column_and_zeros_stay():
    table = count_table("t", "T", "Zeile", ["a", "b", "c"], [("x", [3, 20, 0]), ("y", [10, 30, 0])])
    published = suppress(table, 5)
    values = _values(published)
    assert values[0][0] is None  # primary: 3 persons
    assert values[0][2] == 0 and values[1][2] == 0  # zeros are visible
    # Row x and column a each need a second suppressed cell: the smallest others are 20 and 10,
    # and then 30 closes the rectangle.
    assert values == [[None, None, 0], [None, None, 0]]
    assert [c.value for c in published.row_totals] == [23, 40]
    assert [c.value for c in published.column_totals] == [13, 50, 0, 63]


def test_a_total_below_the_threshold_is_suppressed_itself():
    table = count_table("t", "T", "Zeile", ["a", "b"], [("x", [2, 0]), ("y", [0, 9])])
    published = suppress(table, 5)
    assert published.rows[0][1][0].suppressed
    assert published.row_totals[0].suppressed  # 2 persons in row x
    assert published.column_totals[0].suppressed  # 2 persons in column a
    assert _recoverable(table, published, 5) == []


def test_minutes_resting_on_few_persons_are_suppressed_and_counted_cells_are_not_small():
    table = Table(
        "consultations",
        "Beratungen",
        "Form",
        ["Gespräche", "Minuten"],
        [
            ("persönlich", [Cell(12), Cell(600, persons=False, basis=12)]),
            ("Telefon", [Cell(3), Cell(90, persons=False, basis=3)]),
            ("Video", [Cell(0), Cell(0, persons=False, basis=0)]),
        ],
        column_totals=[Cell(15), Cell(690, persons=False, basis=15)],
    )
    published = suppress(table, 5)
    assert published.rows[1][1][0].suppressed and published.rows[1][1][1].suppressed
    assert published.rows[2][1][1].value == 0  # no consultations, nothing to hide
    # Each column has its total: the 12 and the 600 go too, or 3 = 15 − 12.
    assert published.rows[0][1][0].suppressed and published.rows[0][1][1].suppressed
    assert published.rows[1][1][1].basis is None
    assert _recoverable(table, published, 5) == []


def test_suppress_cell_hides_a_share_of_few_persons():
    assert rules.suppress_cell(Cell(0.5, persons=False, basis=4), 5).suppressed
    assert rules.suppress_cell(Cell(0.5, persons=False, basis=5), 5).value == 0.5
    assert rules.suppress_cell(Cell(3), 5).value is None


def test_a_block_of_ones_cannot_be_recovered_from_its_totals():
    # 2×2 ones: a reader who knows each hidden count is 1..4 and that rows add to 2 would find
    # all four — suppression must hide more.
    table = count_table(
        "t", "T", "Zeile", ["a", "b", "c"], [("x", [1, 1, 9]), ("y", [1, 1, 8]), ("z", [6, 7, 9])]
    )
    published = suppress(table, 5)
    assert _recoverable(table, published, 5) == []


# -- the reader who tries to recover suppressed values ------------------------------------------


def _recoverable(truth: Table, published: Table, min_cell: int) -> list[tuple[int, int]]:
    """Return the suppressed entries of ``published`` whose true value a reader can compute.

    The reader knows every published cell and total, that rows and columns add up to their
    totals, that a suppressed value is a whole number ≥ 1 (zeros are shown) and at most the
    largest true value of the table (more than a real reader knows). Suppressed entries look
    alike, so the reader does not know which are below ``min_cell``. For each suppressed entry a
    depth-first search looks for any solution of all equations in which that entry has another
    value.
    """
    n_rows, n_cols = len(truth.rows), len(truth.columns)
    true: dict[tuple[int, int], float] = {}
    shown: dict[tuple[int, int], Cell] = {}
    for i in range(n_rows):
        for j in range(n_cols):
            true[i, j] = truth.rows[i][1][j].value
            shown[i, j] = published.rows[i][1][j]
    for i, cell in enumerate(truth.row_totals):
        true[i, n_cols], shown[i, n_cols] = cell.value, published.row_totals[i]
    for j, cell in enumerate(truth.column_totals):
        true[n_rows, j], shown[n_rows, j] = cell.value, published.column_totals[j]
    unknown = sorted(p for p, c in shown.items() if c.suppressed)
    ceiling = max(v for v in true.values())
    bounds = {}
    for p in unknown:
        bounds[p] = (1, max(ceiling, min_cell))
    equations = []  # (positions, total position)
    for i in range(n_rows + 1):
        if (i, n_cols) in shown:
            equations.append(([(i, j) for j in range(n_cols) if (i, j) in shown], (i, n_cols)))
    for j in range(n_cols + 1):
        if (n_rows, j) in shown:
            equations.append(([(i, j) for i in range(n_rows) if (i, j) in shown], (n_rows, j)))

    def propagate(domains):
        """Tighten the bounds of the unknowns by every equation until stable; None if empty."""
        domains = dict(domains)
        changed = True
        while changed:
            changed = False
            for parts, total in equations:
                terms = [(p, 1) for p in parts] + [(total, -1)]
                for p, sign in terms:
                    if p not in domains:
                        continue
                    low = high = 0  # the other terms
                    for q, s in terms:
                        if q == p:
                            continue
                        lo, hi = domains[q] if q in domains else (shown[q].value,) * 2
                        low += min(s * lo, s * hi)
                        high += max(s * lo, s * hi)
                    # sign * x + others = 0  →  x in [-high, -low] * sign
                    new_lo, new_hi = sorted((-high * sign, -low * sign))
                    lo, hi = domains[p]
                    lo, hi = max(lo, new_lo), min(hi, new_hi)
                    if lo > hi:
                        return None
                    if (lo, hi) != domains[p]:
                        domains[p] = (lo, hi)
                        changed = True
        return domains

    def solve(domains):
        domains = propagate(domains)
        if domains is None:
            return False
        open_ = [p for p, (lo, hi) in domains.items() if lo < hi]
        if not open_:
            return True
        p = min(open_, key=lambda q: domains[q][1] - domains[q][0])
        lo, hi = domains[p]
        return any(solve({**domains, p: (v, v)}) for v in range(lo, hi + 1))

    found = []
    for target in unknown:
        lo, hi = bounds[target]
        other = any(
            solve({**bounds, target: (v, v)}) for v in range(lo, hi + 1) if v != true[target]
        )
        if not other:
            found.append(target)
    return found


def _random_table(rnd: random.Random) -> Table:
    n_rows, n_cols = rnd.randint(1, 4), rnd.randint(1, 4)
    pool = [0, 0, 1, 1, 2, 3, 4, 5, 6, 8, 12, 20]
    rows = [(f"r{i}", [rnd.choice(pool) for _ in range(n_cols)]) for i in range(n_rows)]
    return count_table("t", "T", "Zeile", [f"c{j}" for j in range(n_cols)], rows)


@pytest.mark.parametrize("seed", range(8))
def test_no_suppressed_cell_of_random_tables_can_be_recovered(seed):
    rnd = random.Random(seed)
    for _ in range(150):
        table = _random_table(rnd)
        published = suppress(table, 5)
        hidden = [c for _, cells in published.rows for c in cells if c.suppressed]
        small = [
            c for _, cells in table.rows for c in cells if c.value is not None and 0 < c.value < 5
        ]
        assert len(hidden) >= len(small)  # every small cell is hidden (and perhaps more)
        for (_, cells), (_, true_cells) in zip(published.rows, table.rows, strict=True):
            for cell, true_cell in zip(cells, true_cells, strict=True):
                if 0 < true_cell.value < 5:
                    assert cell.suppressed
                if true_cell.value == 0:
                    assert cell.value == 0
        assert _recoverable(table, published, 5) == [], (table, published)


def test_the_reader_finds_a_cell_that_is_only_suppressed_alone():
    # The test's reader must be able to fail: primary suppression alone is recoverable.
    table = count_table("t", "T", "Zeile", ["a", "b"], [("x", [3, 20]), ("y", [10, 30])])
    alone = Table(
        table.key,
        table.title,
        table.row_header,
        table.columns,
        [("x", [Cell(None, suppressed=True), Cell(20)]), ("y", [Cell(10), Cell(30)])],
        row_totals=table.row_totals,
        column_totals=table.column_totals,
    )
    assert _recoverable(table, alone, 5) == [(0, 0)]


def test_balanced_cases_table_hides_two_entries_of_every_column_it_touches():
    # CM: 100 open at the start + 3 new = 10 closed + 93 open at the end (a known equation).
    table = rules.count_table(
        "cases_by_kind",
        "Fälle nach Art",
        "Fälle",
        ["CM", "KB"],
        [("start", [100, 10]), ("new", [3, 40]), ("closed", [10, 20]), ("end", [93, 30])],
    )
    table.column_totals = []
    plain = rules.suppress(table, 5)
    assert sum(cells[0].suppressed for _, cells in plain.rows) == 1  # what the review found
    balanced = rules.suppress_balanced(table, 5)
    assert balanced.rows[1][1][0].suppressed  # the 3 new CM cases
    width = len(table.columns) + 1
    grid = [
        cells + [total]
        for (_, cells), total in zip(balanced.rows, balanced.row_totals, strict=True)
    ]
    for j in range(width):  # no column balance with a single unknown
        assert sum(row[j].suppressed for row in grid) != 1
    for row in grid:  # no row with a single unknown against its total
        assert sum(cell.suppressed for cell in row) != 1
