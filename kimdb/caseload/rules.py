"""The caseload guideline: 50–60 open cases per full-time post (R5).

Source: FAQ KIM NRW (23.04.2026) Q33 — "je KIM-Case Management-Stelle (VZÄ) eine Fallzahl von
50 - 60", counted as open (not closed) cases, reduced pro rata for part-time posts; about one
third of the cases are expected to be Case Management.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

LOWER_PER_FTE = 50
UPPER_PER_FTE = 60
NEAR_UPPER_SHARE = Decimal("0.9")  # within 10 % of the upper bound: a notice
EXPECTED_CM_SHARE = Decimal(1) / Decimal(3)


class Band(StrEnum):
    """Where a caseload stands against the guideline."""

    BELOW = "below"
    WITHIN = "within"
    ABOVE = "above"


def fte_on(periods: Sequence[tuple[dt.date, Decimal]], day: dt.date) -> Decimal:
    """Return the FTE valid on ``day`` from ``periods`` of (first day, FTE), sorted by day.

    A period lasts until the next one begins. Before the first recorded period its FTE applies
    (a user's first FTE is recorded when the account is created, after the history it covers).
    Raises ValueError for no periods at all.
    """
    if not periods:
        raise ValueError("a user has at least one FTE period")
    index = bisect_right([first for first, _ in periods], day) - 1
    return Decimal(periods[max(index, 0)][1])


def guideline_band(fte: Decimal) -> tuple[Decimal, Decimal]:
    """Return (lower, upper) open cases for ``fte`` full-time equivalents (0.5 → 25, 30)."""
    fte = Decimal(fte)
    return LOWER_PER_FTE * fte, UPPER_PER_FTE * fte


def caseload_band(open_cases: int, fte: Decimal) -> Band:
    """Return whether ``open_cases`` are below, within or above the band for ``fte``."""
    lower, upper = guideline_band(fte)
    if open_cases < lower:
        return Band.BELOW
    if open_cases > upper:
        return Band.ABOVE
    return Band.WITHIN


class AgainstBand:
    """``open_cases`` against the band of ``fte`` (R5): its bounds and where they stand. Mixed
    into the frozen dataclasses that carry those two fields (Caseload, TrendPoint).

    Each figure is worked out once per object (``cached_property``): a dashboard shows every
    bound and standing two or three times (issue 8, profiled: 150 bands per request).
    """

    fte: Decimal
    open_cases: int

    @cached_property
    def lower(self) -> Decimal:
        """Lower bound of the band (open cases)."""
        return guideline_band(self.fte)[0]

    @cached_property
    def upper(self) -> Decimal:
        """Upper bound of the band (open cases)."""
        return guideline_band(self.fte)[1]

    @cached_property
    def band(self) -> Band:
        """Below, within or above the band."""
        return caseload_band(self.open_cases, self.fte)


@dataclass(frozen=True)
class Caseload(AgainstBand):
    """One case manager's open cases against the guideline.

    ``fte`` in full-time equivalents; ``open_cases`` and ``open_cm`` count open cases (all,
    and those classified Case Management).
    """

    fte: Decimal
    open_cases: int
    open_cm: int

    @property
    def near_upper(self) -> bool:
        """True within the band but at 90 % or more of its upper bound (a notice, not a warning)."""
        return self.band is Band.WITHIN and self.open_cases >= NEAR_UPPER_SHARE * self.upper

    @property
    def cm_share(self) -> Decimal | None:
        """Share of CM among the open cases (0–1), or None without open cases."""
        if not self.open_cases:
            return None
        return Decimal(self.open_cm) / Decimal(self.open_cases)

    @property
    def per_fte(self) -> Decimal:
        """Open cases per 1.0 FTE, for comparison across part-time posts."""
        return Decimal(self.open_cases) / Decimal(self.fte)


# -- Supervisor dashboard (issue 5 item 2; FTE over time, item 3) ------------------------------
#
# Plain values only: the service reads the figures with grouped queries and hands them here for
# totals, sorting, grouping into sections and the 12-month trend.


@dataclass(frozen=True)
class CaseManagerFigures:
    """One case manager's row on the supervisor dashboard (R5, R6; metadata only, R8).

    ``fte`` is the FTE valid today; ``fte_periods`` the whole history as (first day, FTE),
    sorted. ``open_cases``/``open_cm`` count open cases, ``inactive`` open cases without
    activity for the configured number of days or more, ``overdue`` open follow-ups of open
    cases due before today. ``median_lag`` is the median days between holding and entering the
    consultations the user entered in the last 30 days (None without any), ``lag_count`` how
    many consultations that covers.
    """

    user_id: int
    name: str
    active: bool
    organisation_id: int
    team_id: int | None
    fte: Decimal
    fte_periods: tuple[tuple[dt.date, Decimal], ...]
    open_cases: int
    open_cm: int
    inactive: int
    overdue: int
    median_lag: float | None = None
    lag_count: int = 0

    @cached_property
    def caseload(self) -> Caseload:
        """Open cases against the band for the FTE valid today (R5, FAQ Q33); made once."""
        return Caseload(fte=self.fte, open_cases=self.open_cases, open_cm=self.open_cm)

    @property
    def band(self) -> Band:
        """Below, within or above the band 50×FTE–60×FTE."""
        return self.caseload.band

    @property
    def needs_new_owner(self) -> bool:
        """True for a deactivated user who still holds open cases (they need reassigning, R7)."""
        return not self.active and self.open_cases > 0


@dataclass(frozen=True)
class UnitTotal:
    """Summed figures of a team or organisation against its summed band (R5).

    ``fte`` sums the FTE valid today of the *active* case managers only: a deactivated user
    holds no post any more, but their open cases still count (``open_cases``) until they are
    reassigned; ``deactivated_open`` says how many of them that is.
    """

    fte: Decimal
    open_cases: int
    open_cm: int
    inactive: int
    overdue: int
    deactivated_open: int
    people: int

    @cached_property
    def caseload(self) -> Caseload:
        """The summed caseload (band = 50–60 × summed FTE); made once."""
        return Caseload(fte=self.fte, open_cases=self.open_cases, open_cm=self.open_cm)

    @property
    def lower(self) -> Decimal:
        """Lower bound of the summed band (open cases)."""
        return self.caseload.lower

    @property
    def upper(self) -> Decimal:
        """Upper bound of the summed band (open cases)."""
        return self.caseload.upper

    @property
    def band(self) -> Band:
        """Where the unit stands against its summed band."""
        return self.caseload.band


def unit_total(rows: Sequence[CaseManagerFigures]) -> UnitTotal:
    """Return the totals of ``rows`` against the band of their summed FTE (see ``UnitTotal``)."""
    return UnitTotal(
        fte=sum((r.fte for r in rows if r.active), Decimal(0)),
        open_cases=sum(r.open_cases for r in rows),
        open_cm=sum(r.open_cm for r in rows),
        inactive=sum(r.inactive for r in rows),
        overdue=sum(r.overdue for r in rows),
        deactivated_open=sum(r.open_cases for r in rows if not r.active),
        people=len(rows),
    )


_BAND_RANK = {Band.BELOW: 0, Band.WITHIN: 1, Band.ABOVE: 2}

# Sort keys of the dashboard (query argument ``sort``) → value of a row. ``None`` values (no
# CM share without cases, no entry lag without consultations) sort last in both directions.
DASHBOARD_SORT_KEYS: dict[str, object] = {
    "name": lambda r: r.name.casefold(),
    "fte": lambda r: r.fte,
    "open": lambda r: r.open_cases,
    "band": lambda r: (r.caseload.upper, r.caseload.lower),
    "standing": lambda r: (_BAND_RANK[r.band], Decimal(r.open_cases) / Decimal(r.fte or 1)),
    "cm_share": lambda r: r.caseload.cm_share,
    "inactive": lambda r: r.inactive,
    "lag": lambda r: r.median_lag,
    "overdue": lambda r: r.overdue,
}
DEFAULT_DASHBOARD_SORT = "name"


def parse_dashboard_sort(sort: str | None, direction: str | None) -> tuple[str, bool]:
    """Return (sort key, descending) from query arguments; unknown keys fall back to the name,
    ascending, so a hand-edited URL still shows the page."""
    if sort not in DASHBOARD_SORT_KEYS:
        return DEFAULT_DASHBOARD_SORT, False
    return sort, direction == "desc"


def sort_figures(
    rows: Sequence[CaseManagerFigures], key: str, descending: bool = False
) -> list[CaseManagerFigures]:
    """Return ``rows`` sorted by the dashboard column ``key`` (a DASHBOARD_SORT_KEYS key);
    ties by name; rows without a value for the column last, whatever the direction."""
    value_of = DASHBOARD_SORT_KEYS.get(key, DASHBOARD_SORT_KEYS[DEFAULT_DASHBOARD_SORT])
    by_name = sorted(rows, key=lambda r: (r.name.casefold(), r.user_id))
    present = [r for r in by_name if value_of(r) is not None]
    missing = [r for r in by_name if value_of(r) is None]
    return sorted(present, key=value_of, reverse=descending) + missing


@dataclass(frozen=True)
class Scope:
    """One supervision as plain values: a whole organisation, or one team of it.

    ``teams`` holds (id, name) of every team of the organisation for a whole organisation,
    else of the one supervised team.
    """

    organisation_id: int
    organisation_name: str
    whole: bool
    teams: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Section:
    """The rows of one team (``team_id`` None: the organisation's case managers without a
    team), with their totals."""

    organisation_id: int
    team_id: int | None
    team_name: str | None
    rows: list[CaseManagerFigures]
    total: UnitTotal

    @property
    def key(self) -> str:
        """A stable id for anchors: ``o<organisation>-t<team or 0>``."""
        return f"o{self.organisation_id}-t{self.team_id or 0}"


@dataclass(frozen=True)
class OrganisationGroup:
    """The sections of one supervised organisation; ``whole`` if the supervisor supervises
    all of it (then ``total`` is the organisation total), else only some of its teams."""

    organisation_id: int
    organisation_name: str
    whole: bool
    sections: list[Section]
    total: UnitTotal


def group_sections(
    scopes: Sequence[Scope],
    rows: Sequence[CaseManagerFigures],
    sort: str = DEFAULT_DASHBOARD_SORT,
    descending: bool = False,
) -> list[OrganisationGroup]:
    """Arrange ``rows`` into one group per supervised organisation, one section per team.

    A whole organisation gets a section for each of its teams that has rows, and one for its
    case managers without a team if there are any; a supervised team gets its section even when
    empty. A team of an organisation that is also supervised as a whole is not shown twice.
    Rows are sorted within each section (``sort_figures``). Groups come in organisation name
    order, teams by name, the section without a team last.
    """
    by_org: dict[int, list[Scope]] = {}
    for scope in scopes:
        by_org.setdefault(scope.organisation_id, []).append(scope)
    groups = []
    for org_id, org_scopes in by_org.items():
        whole = any(s.whole for s in org_scopes)
        org_rows = [r for r in rows if r.organisation_id == org_id]
        if whole:
            teams = next(s.teams for s in org_scopes if s.whole)
            team_ids = {team_id for team_id, _ in teams}
            sections = [
                _section(org_id, team_id, name, [r for r in org_rows if r.team_id == team_id])
                for team_id, name in teams
            ]
            sections = [s for s in sections if s.rows]
            loose = [r for r in org_rows if r.team_id not in team_ids]
            if loose:
                sections.append(_section(org_id, None, None, loose))
            group_rows = org_rows
        else:
            teams = sorted({t for s in org_scopes for t in s.teams}, key=lambda t: t[1].casefold())
            sections = [
                _section(org_id, team_id, name, [r for r in org_rows if r.team_id == team_id])
                for team_id, name in teams
            ]
            group_rows = [r for s in sections for r in s.rows]
        sections = [replace(s, rows=sort_figures(s.rows, sort, descending)) for s in sections]
        groups.append(
            OrganisationGroup(
                org_id, org_scopes[0].organisation_name, whole, sections, unit_total(group_rows)
            )
        )
    return sorted(groups, key=lambda g: (g.organisation_name.casefold(), g.organisation_id))


def _section(
    org_id: int, team_id: int | None, name: str | None, rows: list[CaseManagerFigures]
) -> Section:
    return Section(org_id, team_id, name, rows, unit_total(rows))


# -- The 12-month trend ------------------------------------------------------------------------


def month_ends(day: dt.date, months: int = 12) -> list[dt.date]:
    """Return the last ``months`` month ends up to ``day``, oldest first; the current month is
    represented by ``day`` itself (e.g. 14 May 2026 → 30 Jun 2025, …, 30 Apr 2026, 14 May 2026).
    """
    ends = [day]
    first_of_month = day.replace(day=1)
    for _ in range(months - 1):
        end = first_of_month - dt.timedelta(days=1)
        ends.append(end)
        first_of_month = end.replace(day=1)
    return list(reversed(ends))


def open_on(opened_on: dt.date, closed_on: dt.date | None, day: dt.date) -> bool:
    """True if a case opened on ``opened_on`` and closed on ``closed_on`` (None: still open) is
    open at the end of ``day``: opened on or before it and not closed by then (R5). A case
    closed on ``day`` no longer counts on that day."""
    return opened_on <= day and (closed_on is None or closed_on > day)


@dataclass(frozen=True)
class TrendPoint(AgainstBand):
    """Open cases of a unit at the end of ``day`` against its summed band on that day (the band
    from the FTE valid on that day, ``fte_on``)."""

    day: dt.date
    open_cases: int
    fte: Decimal


def trend(
    rows: Sequence[CaseManagerFigures],
    counts: dict[int, Sequence[int]],
    days: Sequence[dt.date],
) -> list[TrendPoint]:
    """Return the unit's trend over ``days``: at each day the open cases of its ``rows`` (from
    ``counts``: user id → open cases at each of ``days``) against the summed band of the FTE
    each active row had on that day (``fte_on`` over its periods).

    Cases count for their *current* owner's unit: ownership history (takeovers, R7) is not
    replayed, so a case that changed team counts for its new team in past months too. A
    deactivated user's post counts for no month (the date of deactivation is not recorded).
    """
    points = []
    for index, day in enumerate(days):
        open_cases = sum(counts.get(r.user_id, [0] * len(days))[index] for r in rows)
        fte = sum(
            (fte_on(r.fte_periods, day) if r.fte_periods else r.fte for r in rows if r.active),
            Decimal(0),
        )
        points.append(TrendPoint(day=day, open_cases=int(open_cases), fte=fte))
    return points
