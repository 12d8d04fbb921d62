"""Caseload figures (R5) read with SQL aggregates: one statement per figure set.

The supervisor dashboard (issue 5 item 2) reads everything with a handful of statements,
whatever the number of case managers (``supervisor_dashboard``): the supervisions with their
teams, the case managers with their FTE periods, one grouped row per case manager with all
figures and the 12-month trend, and the consultations' entry lags.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from sqlalchemy import Date, Integer, Select, Subquery, and_, bindparam, func, or_, select, true
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from kimdb.auth import policy
from kimdb.auth.models import FtePeriod, Role, Supervision, User
from kimdb.caseload import rules
from kimdb.caseload.rules import (
    Caseload,
    CaseManagerFigures,
    OrganisationGroup,
    Scope,
    TrendPoint,
)
from kimdb.cases.models import Case, Consultation, FollowUp, case_number
from kimdb.cases.queries import entry_lag_days, median_entry_lag, median_entry_lags
from kimdb.cases.rules import ENTRY_LAG_DAYS, CaseKind, FollowUpState, Stage, follow_up_state
from kimdb.clients.models import Client, client_full_name
from kimdb.extensions import db
from kimdb.orgs.models import Organisation, Team
from kimdb.timeutil import today

SORT_KEYS = {
    "number": (Case.id,),
    "kind": (Case.kind, Case.id),
    "stage": (Case.stage, Case.id),
    "opened": (Case.opened_on, Case.id),
    "last_consultation": (Case.last_consultation_on, Case.id),
    "inactive": (Case.last_activity_on, Case.id),
}


def _open():
    return Case.stage != Stage.CLOSED


def caseload_of(user: User) -> Caseload:
    """Return ``user``'s open cases and open CM cases against their FTE (R5, FAQ Q33)."""
    total, cm = db.session.execute(
        select(
            func.count(Case.id),
            func.coalesce(
                func.sum(sql_case((Case.kind == CaseKind.CASE_MANAGEMENT, 1), else_=0)), 0
            ),
        ).where(Case.owner_id == user.id, _open())
    ).one()
    return Caseload(fte=user.fte, open_cases=total, open_cm=int(cm))


@dataclass(frozen=True, slots=True)
class OpenCaseRow:
    """One line of the own open cases list: what the list shows, no more."""

    id: int
    number: str
    client_name: str  # "Family, Given", or the marker of erased data (``client_full_name``)
    kind: CaseKind
    stage: Stage
    opened_on: dt.date
    last_consultation_on: dt.date | None
    days_inactive: int


@dataclass(frozen=True, slots=True)
class DueRow:
    """One follow-up due today or overdue, as the start page lists it: no more."""

    case_id: int
    number: str
    client_name: str  # as ``OpenCaseRow.client_name``
    due_on: dt.date
    text: str
    state: FollowUpState


def fte_on_column(user_id, day: dt.date):
    """The FTE of user ``user_id`` valid on ``day`` as an SQL expression: what
    ``rules.fte_on`` gives for the user's FTE periods (the period begun last on or before
    ``day``; before the first period, the first one's FTE); NULL for a user without periods."""
    begun = (
        select(FtePeriod.fte)
        .where(FtePeriod.user_id == user_id, FtePeriod.valid_from <= day)
        .order_by(FtePeriod.valid_from.desc())
        .limit(1)
        .scalar_subquery()
    )
    first = (
        select(FtePeriod.fte)
        .where(FtePeriod.user_id == user_id)
        .order_by(FtePeriod.valid_from)
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(begun, first)


@dataclass(frozen=True)
class OwnCases:
    """What the case manager's start page reads about ``user``'s own work (``own_cases``)."""

    rows: list[OpenCaseRow]  # the open cases, in the order asked for
    due: list[DueRow]  # follow-ups due today or earlier, oldest first
    fte: Decimal | None  # the FTE valid today; None without open cases (``caseload_of_rows``)
    median_lag: float | None  # median entry lag in days (R6), None without consultations
    lag_count: int  # consultations held in the last ``ENTRY_LAG_DAYS`` days the median covers


def own_cases(user: User, sort: str = "inactive", descending: bool = False) -> OwnCases:
    """Return ``user``'s open cases with the client's name, sorted by ``sort`` (a SORT_KEYS
    key), the follow-ups due today or earlier that ``user`` sees (``due_follow_ups``),
    ``user``'s FTE valid today (``fte_on_column``) and the median entry lag of the
    consultations ``user`` entered (``queries.median_entry_lag``, R6, FAQ Q34).

    ``inactive`` sorts by the day of last activity, so ascending puts the longest silent first.
    One statement of the columns the page shows (``_own_cases_statement``; no ORM objects, no
    contact data decrypted): the open cases joined to their due follow-ups, a case with two
    due follow-ups in two adjacent rows (every sort ends with the case id); on PostgreSQL with
    the entry lag joined to every row (``entry_lag_figures``). Statements of their own only
    where that statement cannot say it: a substitute also sees the follow-ups of the cases
    they substitute for (``due_follow_ups``); SQLite has neither time zones nor a median, and
    a user without open cases gets no row to carry the lag (``queries.median_entry_lag``).
    Issue 8, measured: three statements less on the start page (the due list, the FTE, the
    entry lag).
    """
    day = today()
    with_lag = db.engine.dialect.name == "postgresql"
    result = db.session.execute(
        _own_cases_statement(sort if sort in SORT_KEYS else "inactive", descending, with_lag),
        {
            "user_id": user.id,
            "today": day,
            "lag_since": day - dt.timedelta(days=ENTRY_LAG_DAYS),
        },
    )
    rows: list[OpenCaseRow] = []
    due: list[tuple[dt.date, int, DueRow]] = []
    for r in result:
        if not rows or rows[-1].id != r.id:
            rows.append(
                OpenCaseRow(
                    id=r.id,
                    number=case_number(r.opened_on, r.id),
                    client_name=client_full_name(r.family_name, r.given_name, r.erased_at),
                    kind=r.kind,
                    stage=r.stage,
                    opened_on=r.opened_on,
                    last_consultation_on=r.last_consultation_on,
                    days_inactive=(day - r.last_activity_on).days,
                )
            )
        if r.follow_up_id is not None:
            row = rows[-1]
            state = follow_up_state(r.due_on, False, day)
            due_row = DueRow(row.id, row.number, row.client_name, r.due_on, r.text, state)
            due.append((r.due_on, r.follow_up_id, due_row))
    if policy.substituted_owner_ids(user):
        due_rows = due_follow_ups(user)
    else:
        due_rows = [d for _, _, d in sorted(due, key=lambda d: (d[0], d[1]))]
    if not rows:
        return OwnCases(rows, due_rows, None, *median_entry_lag(user))
    if with_lag:
        lag = (None if r.median_lag is None else float(r.median_lag)), r.lag_count
    else:
        lag = median_entry_lag(user)
    return OwnCases(rows, due_rows, Decimal(r.fte), *lag)


@cache
def _own_cases_statement(sort: str, descending: bool, with_lag: bool) -> Select:
    """Return the statement of ``own_cases`` for ``sort`` (a SORT_KEYS key) and
    ``descending``, with the entry lag's columns ``median_lag`` and ``lag_count`` if
    ``with_lag`` (PostgreSQL); parameters ``user_id``, ``today`` and ``lag_since`` (the first
    day of the entry lag). Built once per process and variant: building it took a sixth of
    ``own_cases``' time (issue 8, profiled).
    """
    user_id = bindparam("user_id", type_=Integer)
    day = bindparam("today", type_=Date)
    order = [c.desc() if descending else c.asc() for c in SORT_KEYS[sort]]
    statement = (
        select(
            Case.id,
            Case.kind,
            Case.stage,
            Case.opened_on,
            Case.last_consultation_on,
            Case.last_activity_on,
            Client.family_name,
            Client.given_name,
            Client.erased_at,
            FollowUp.id.label("follow_up_id"),
            FollowUp.due_on,
            FollowUp.text,
            fte_on_column(user_id, day).label("fte"),
        )
        .join(Case.client)
        .outerjoin(
            FollowUp,
            and_(FollowUp.case_id == Case.id, FollowUp.done_at.is_(None), FollowUp.due_on <= day),
        )
        .where(Case.owner_id == user_id, _open())
        .order_by(*order, FollowUp.due_on, FollowUp.id)
    )
    if with_lag:
        lag = entry_lag_figures(user_id, bindparam("lag_since", type_=Date))
        statement = statement.join(lag, true()).add_columns(lag.c.median_lag, lag.c.lag_count)
    return statement


def entry_lag_figures(user_id, since) -> Subquery:
    """Return a subquery of one row (PostgreSQL): ``median_lag``, the median entry lag in
    days of the consultations user ``user_id`` entered that were held on ``since`` or later
    (NULL without any), and ``lag_count``, how many they are: what
    ``queries.median_entry_lag`` gives for them (``queries.entry_lag_days``: Berlin calendar
    days, never negative; R6, FAQ Q34), the median as ``percentile_cont(0.5)``, which for an
    even count is the mean of the middle two, as ``rules.median_lag_days``
    (tests/integration/test_start_page_lists.py ties them).
    """
    lag = entry_lag_days()
    return (
        select(
            func.percentile_cont(0.5).within_group(lag).label("median_lag"),
            func.count().label("lag_count"),
        )
        .where(Consultation.entered_by_id == user_id, Consultation.held_on >= since)
        .subquery("entry_lag")
    )


def inactive_count(rows: list[OpenCaseRow], days: int) -> int:
    """Return how many of ``rows`` have had no activity for ``days`` days or more (R6)."""
    return sum(1 for r in rows if r.days_inactive >= days)


def caseload_of_rows(user: User, rows: list[OpenCaseRow], fte: Decimal | None = None) -> Caseload:
    """Return ``user``'s caseload (as ``caseload_of``) counted from ``rows``, all of the
    user's open cases (``own_cases``): no count of its own (issue 8, measured: one
    statement of 0.4 ms less on the start page).

    ``fte``: the user's FTE valid today if the caller has it (``own_cases`` reads it
    with the open cases); else ``User.fte`` (only a user without open cases).
    """
    if fte is None:
        fte = user.fte
    cm = sum(1 for r in rows if r.kind is CaseKind.CASE_MANAGEMENT)
    return Caseload(fte=fte, open_cases=len(rows), open_cm=cm)


def due_follow_ups(user: User) -> list[DueRow]:
    """Return ``user``'s open follow-ups of open cases due today or earlier, oldest first
    (the cases ``user`` may open, R8: own ones and those of a substitution).

    One statement of the seven columns the list shows: no follow-up, case or client objects,
    no contact data decrypted (issue 8,
    measured: 1.0 of the start page's 5.5 ms of SQL and 6 % of its function calls). Needed
    by a substitute only; ``own_cases`` reads everyone else's with their cases.
    """
    day = today()
    rows = db.session.execute(
        select(
            FollowUp.due_on,
            FollowUp.text,
            Case.id,
            Case.opened_on,
            Client.family_name,
            Client.given_name,
            Client.erased_at,
        )
        .join(Case, FollowUp.case_id == Case.id)
        .join(Case.client)
        .where(
            policy.case_visible(user),
            _open(),
            FollowUp.done_at.is_(None),
            FollowUp.due_on <= day,
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    )
    return [
        DueRow(
            case_id=r.id,
            number=case_number(r.opened_on, r.id),
            client_name=client_full_name(r.family_name, r.given_name, r.erased_at),
            due_on=r.due_on,
            text=r.text,
            state=follow_up_state(r.due_on, False, day),
        )
        for r in rows
    ]


# -- Supervisor dashboard (issue 5 items 2 and 3) ----------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    """Everything the supervisor's start page shows: metadata and figures only (R8).

    ``groups`` hold the sections (one per team) of each supervised organisation, rows sorted
    by ``sort``/``descending``; ``trends`` map a section key to its 12-month trend over
    ``days`` (month ends, the last one today).
    """

    groups: list[OrganisationGroup]
    trends: dict[str, list[TrendPoint]]
    days: list[dt.date]
    sort: str
    descending: bool
    inactivity_days: int

    @property
    def needing_new_owner(self) -> list[CaseManagerFigures]:
        """Deactivated users who still hold open cases (R7: a supervisor reassigns them)."""
        return [r for g in self.groups for s in g.sections for r in s.rows if r.needs_new_owner]

    @property
    def deactivated_open(self) -> int:
        """Open cases held by deactivated users, over all sections."""
        return sum(r.open_cases for r in self.needing_new_owner)


def supervisor_dashboard(
    supervisor: User,
    inactivity_days: int,
    sort: str = rules.DEFAULT_DASHBOARD_SORT,
    descending: bool = False,
) -> Dashboard:
    """Return the dashboard of ``supervisor``: a section per supervised team (and per
    supervised organisation's case managers without a team), each with its case managers'
    caseloads against the band 50–60 × FTE (R5, FAQ Q33), CM share, open cases without
    activity for ``inactivity_days`` days or more and median entry lag (R6, FAQ Q17/Q34),
    overdue follow-ups, totals, and the 12-month trend against the band of the FTE valid on
    each day (issue 5 item 3).

    Who is shown is decided by ``kimdb.auth.policy.supervises`` (R8); only counts and dates are
    read, no client data, note texts or need descriptions. Four statements, however many case
    managers: supervisions, people with their FTE periods, case figures with the trend, entry
    lags (issue 8, measured: seven before, 2 to 3 ms of the dashboard's p95).
    """
    day = today()
    scopes = supervision_scopes(supervisor)
    days = rules.month_ends(day)
    rows, counts = _figures(supervisor, inactivity_days, day, days)
    groups = rules.group_sections(scopes, rows, sort, descending)
    trends = {
        section.key: rules.trend(section.rows, counts, days)
        for group in groups
        for section in group.sections
    }
    return Dashboard(groups, trends, days, sort, descending, inactivity_days)


def supervision_scopes(supervisor: User) -> list[Scope]:
    """Return ``supervisor``'s supervisions as plain ``Scope`` values, in the order of the
    supervisions, a whole organisation's teams by name.

    One Core statement (``_scopes_statement``): each supervision joined to its organisation
    (directly, or through the supervised team) and to its teams (all of a whole organisation,
    or the one supervised), one row per team (issue 8: two ORM statements before).
    """
    rows = db.session.execute(_scopes_statement(), {"supervisor_id": supervisor.id})
    scopes: dict[int, tuple[int, str, bool, list[tuple[int, str]]]] = {}
    for r in rows:
        scope = scopes.setdefault(r.id, (r.organisation_id, r.name, bool(r.whole), []))
        if r.team_id is not None:
            scope[3].append((r.team_id, r.team_name))
    return [Scope(o, name, whole, tuple(teams)) for o, name, whole, teams in scopes.values()]


@cache
def _scopes_statement() -> Select:
    """The statement of ``supervision_scopes`` (parameter ``supervisor_id``), built once per
    process: building it and its cache key for every dashboard cost more Python than the
    database took to run it (issue 8, measured: 4.2 ms with 1.3 ms of SQL on a slow run)."""
    team = aliased(Team)
    organisation_id = func.coalesce(Supervision.organisation_id, Team.organisation_id)
    return (
        select(
            Supervision.id,
            Supervision.organisation_id.is_not(None).label("whole"),
            Organisation.id.label("organisation_id"),
            Organisation.name,
            team.id.label("team_id"),
            team.name.label("team_name"),
        )
        .outerjoin(Team, Team.id == Supervision.team_id)
        .join(Organisation, Organisation.id == organisation_id)
        .outerjoin(
            team,
            or_(
                team.organisation_id == Supervision.organisation_id,  # a whole organisation
                team.id == Supervision.team_id,  # one team of it
            ),
        )
        .where(Supervision.supervisor_id == bindparam("supervisor_id", type_=Integer))
        .order_by(Supervision.id, team.name, team.id)
    )


def supervised_figures(
    supervisor: User, inactivity_days: int, day: dt.date | None = None
) -> list[CaseManagerFigures]:
    """Return a row of figures for every case manager ``supervisor`` supervises who is active
    or still holds open cases (three statements: people with their FTE periods, case
    figures, entry lags).

    Open cases, CM cases, cases without activity for ``inactivity_days`` days and overdue
    follow-ups (open, due before ``day``, of an open case; ``kimdb.cases.rules.
    follow_up_state``) come from one grouped statement over the people's cases.
    """
    return _figures(supervisor, inactivity_days, day or today(), [])[0]


@dataclass(frozen=True, slots=True)
class _Person:
    """A supervised case manager as the people statement reads them."""

    name: str
    active: bool
    organisation_id: int
    team_id: int | None
    fte_periods: list[tuple[dt.date, Decimal]]


def _figures(
    supervisor: User, inactivity_days: int, day: dt.date, days: list[dt.date]
) -> tuple[list[CaseManagerFigures], dict[int, list[int]]]:
    """Return the rows of ``supervised_figures`` and, for ``days``, owner id → open cases at
    the end of each day (empty without ``days``); three statements."""
    people = _supervised_people(supervisor)
    figures = _case_figures(list(people), inactivity_days, day, days)
    lags = median_entry_lags(list(people), day=day)
    rows = []
    for user_id, person in people.items():
        open_count, cm, inactive, overdue, _counts = figures.get(user_id, _NO_CASES)
        if not person.active and not open_count:
            continue  # deactivated and without open cases: nothing to reassign (R7)
        periods = tuple(person.fte_periods)
        median, count = lags.get(user_id, (None, 0))
        rows.append(
            CaseManagerFigures(
                user_id=user_id,
                name=person.name,
                active=person.active,
                organisation_id=person.organisation_id,
                team_id=person.team_id,
                fte=rules.fte_on(periods, day),
                fte_periods=periods,
                open_cases=open_count,
                open_cm=cm,
                inactive=inactive,
                overdue=overdue,
                median_lag=median,
                lag_count=count,
            )
        )
    return rows, {owner_id: f[4] for owner_id, f in figures.items()}


_NO_CASES = (0, 0, 0, 0, [])


def _supervised_people(supervisor: User) -> dict[int, _Person]:
    """Return user id → the case managers ``supervisor`` supervises (``policy.supervises``)
    with their FTE periods sorted by day: one statement (``_people_statement``), users joined
    to their periods. Nobody for a user who is not a supervisor."""
    if supervisor.role is not Role.SUPERVISOR:
        return {}
    rows = db.session.execute(_people_statement(), {"supervisor_id": supervisor.id})
    people: dict[int, _Person] = {}
    for r in rows:
        person = people.get(r.id)
        if person is None:
            person = people[r.id] = _Person(
                r.display_name, r.active, r.organisation_id, r.team_id, []
            )
        if r.valid_from is not None:
            person.fte_periods.append((r.valid_from, r.fte))
    return people


@cache
def _people_statement() -> Select:
    """The statement of ``_supervised_people`` (parameter ``supervisor_id``), built once per
    process, like ``_scopes_statement`` (issue 8)."""
    return (
        select(
            User.id,
            User.display_name,
            User.active,
            User.organisation_id,
            User.team_id,
            FtePeriod.valid_from,
            FtePeriod.fte,
        )
        .outerjoin(FtePeriod, FtePeriod.user_id == User.id)
        .where(
            policy.supervised_by(bindparam("supervisor_id", type_=Integer)),
            User.role == Role.CASE_MANAGER,
        )
        .order_by(User.id, FtePeriod.valid_from)
    )


def _case_figures(
    owner_ids: list[int], inactivity_days: int, day: dt.date, days: list[dt.date]
) -> dict[int, tuple[int, int, int, int, list[int]]]:
    """Return owner id → (open cases, open CM cases, open cases without activity for
    ``inactivity_days`` days, overdue follow-ups of open cases, open cases at the end of
    each of ``days``) for the cases of ``owner_ids``: one grouped statement
    (``_case_figures_statement``).
    """
    values = {f"day_{i}": d for i, d in enumerate(days)}
    result = db.session.execute(
        _case_figures_statement(len(days)),
        {
            "owner_ids": owner_ids,
            "today": day,
            "cutoff": day - dt.timedelta(days=inactivity_days),
            **values,
        },
    )
    return {
        owner_id: (
            int(n or 0),
            int(cm or 0),
            int(inactive or 0),
            int(overdue or 0),
            [int(c or 0) for c in counts],
        )
        for owner_id, n, cm, inactive, overdue, *counts in result
    }


@cache
def _case_figures_statement(months: int) -> Select:
    """Return the statement of ``_case_figures`` for ``months`` days (parameters
    ``owner_ids``, ``today``, ``cutoff`` and ``day_0`` … ``day_<months - 1>``, oldest first),
    built once per process: building its 15 conditional sums took about as long as running
    it (issue 8, profiled: 0.6 of the dashboard's 1.5 ms in building SQL expressions).

    The ids are a list, not a subquery: the planner then knows how few owners there are and
    reads their cases through the owner index instead of scanning every case of the state
    (issue 8 item 3). A case is read if it is open, or open on one of the days
    (``rules.open_on``: opened by the day and not closed by then).
    """
    today_, cutoff = bindparam("today", type_=Date), bindparam("cutoff", type_=Date)
    days = [bindparam(f"day_{i}", type_=Date) for i in range(months)]
    is_open = _open()
    # Overdue follow-ups counted per open case through the (case, due day) index: a join of
    # the follow-ups made PostgreSQL read every follow-up of the state (issue 8 item 3).
    overdue_of_case = (
        select(func.count(FollowUp.id))
        .where(FollowUp.case_id == Case.id, FollowUp.done_at.is_(None), FollowUp.due_on < today_)
        .scalar_subquery()
    )

    def count(condition):
        return func.sum(sql_case((condition, 1), else_=0))

    def open_on(d):
        return and_(Case.opened_on <= d, or_(Case.closed_on.is_(None), Case.closed_on > d))

    wanted = is_open
    if days:
        wanted = or_(
            is_open,
            and_(
                Case.opened_on <= days[-1],
                or_(Case.closed_on.is_(None), Case.closed_on > days[0]),
            ),
        )
    return (
        select(
            Case.owner_id,
            count(is_open),
            count(and_(is_open, Case.kind == CaseKind.CASE_MANAGEMENT)),
            count(and_(is_open, Case.last_activity_on <= cutoff)),
            func.sum(sql_case((is_open, overdue_of_case), else_=0)),
            *(count(open_on(d)) for d in days),
        )
        .where(Case.owner_id.in_(bindparam("owner_ids", expanding=True)), wanted)
        .group_by(Case.owner_id)
    )
