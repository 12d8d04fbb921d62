"""The shape of a report, shared by the figures (``service``) and their presentation (HTML, CSV,
XLSX, PDF). Plain data: no database, no Flask. Source: issue 7 items 1, 2, 4.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class ScopeKind(StrEnum):
    """How wide a report reaches (issue 7 item 1)."""

    TEAM = "team"
    ORGANISATION = "organisation"
    MUNICIPALITY = "municipality"  # county or county-free city
    STATE = "state"  # all of NRW


@dataclass(frozen=True)
class Scope:
    """What a report covers: ``kind`` and the id of the team, organisation or municipality
    (None for the state); ``label`` is the German name shown on every page and export."""

    kind: ScopeKind
    id: int | None
    label: str


@dataclass(frozen=True)
class Period:
    """The days a report covers, ``start`` to ``end`` inclusive; ``label`` e.g. "2026",
    "1. Halbjahr 2026", "3. Quartal 2026" or "01.02.2026–30.04.2026"."""

    start: dt.date
    end: dt.date
    label: str


@dataclass(frozen=True)
class Cell:
    """One figure. ``value`` is None when suppressed (shown as "< MIN"); ``persons`` says the
    figure counts people (cases, clients, consultations of people), so small values are
    suppressed; sums of minutes or averages carry ``persons`` False and the person count they
    rest on in ``basis`` (suppressed when that basis is small)."""

    value: int | float | None
    suppressed: bool = False
    persons: bool = True
    basis: int | None = None


@dataclass
class Table:
    """A table of the report: rows × columns of Cells, with optional row and column totals.

    ``key`` is stable (file and sheet names: "cases_by_kind"); ``title``, ``row_header``,
    ``columns`` and row labels are German display texts. ``row_totals`` holds one total Cell per
    row (or is empty), ``column_totals`` one per column plus, last, the grand total (or is
    empty). ``unit`` e.g. "Fälle", "Personen", "Minuten"; ``note`` explains the table.
    """

    key: str
    title: str
    row_header: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]
    row_totals: list[Cell] = field(default_factory=list)
    column_totals: list[Cell] = field(default_factory=list)
    unit: str = ""
    note: str = ""


@dataclass(frozen=True)
class Figure:
    """A headline figure (e.g. "offene Fälle je VZÄ am Periodenende": 54.2) with its unit and an
    optional comparison text (e.g. "Empfehlung 50–60")."""

    key: str
    label: str
    value: Cell
    unit: str = ""
    comparison: str = ""


@dataclass
class Report:
    """A whole report: scope, period, when it was made, the suppression threshold
    (``KIMDB_STATS_MIN_CELL``), headline figures and tables in display order.
    ``facts_as_of``: when part of the figures come from the nightly facts of the state
    (``kimdb.reports.facts``), the moment of their snapshot (the "Datenstand"); else None
    (everything read live at ``created_at``)."""

    scope: Scope
    period: Period
    created_at: dt.datetime
    min_cell: int
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    facts_as_of: dt.datetime | None = None

    def table(self, key: str) -> Table:
        """Return the table ``key``; raise KeyError if the report has none of that name."""
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)
