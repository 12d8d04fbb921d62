"""Where the report reads from, and the grouped SQL shared by its tables (issue 8).

The report's statements run on one connection: the ``reports`` bind
(``KIMDB_REPORTS_DATABASE_URL``, a read-only PostgreSQL replica) when it is configured, else
the session's own connection on the main database. ``people_breakdown`` turns a select of
records (needs, referrals) into record counts and the people behind every cell, row, column
and the whole in one statement: the records are grouped per person, row and column first,
and the people are counted by grouping those groups again (hash aggregates, no
``count(DISTINCT)``, which sorts all its rows on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    cast,
    extract,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy import case as sql_case

from kimdb.cases.models import Case, Consultation, LegalDomain, StageChange
from kimdb.cases.queries import entry_lag_days
from kimdb.cases.rules import CaseKind, ClosureReason, Stage
from kimdb.clients.models import Client
from kimdb.extensions import db
from kimdb.orgs.models import Partner
from kimdb.reports import rules
from kimdb.reports.model import Period
from kimdb.timeutil import LOCAL_ZONE, local_date

REPORTS_BIND = "reports"
"""Bind key of the read-only report database (``config.Config``, ``SQLALCHEMY_BINDS``)."""

# PostgreSQL settings for the report's transaction (SET LOCAL: they end with it). A report is
# a few large aggregates, each run once: JIT compilation costs more than it saves (0.3-0.8 s a
# statement at 400,000 cases), and the default 4 MB work_mem spills its hash aggregates and
# sorts to disk. Measured with bench/reports.py (issue 8).
POSTGRESQL_SETTINGS = {"jit": "off", "work_mem": "64MB"}


@contextmanager
def report_connection() -> Iterator[Connection]:
    """Yield the connection the report reads from.

    With a ``reports`` bind configured (``KIMDB_REPORTS_DATABASE_URL``): a new connection on
    that engine, in one read-only transaction; on PostgreSQL at REPEATABLE READ, so all
    statements of one report see the same snapshot of the replica. The transaction is rolled
    back (nothing is written). Without the bind: the connection of ``db.session`` on the main
    database, in the session's transaction. On PostgreSQL ``POSTGRESQL_SETTINGS`` hold for the
    rest of that transaction.
    """
    engine = db.engines.get(REPORTS_BIND)
    if engine is None:
        conn = db.session.connection()
        _tune(conn)
        yield conn
        return
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        try:
            _tune(conn)
            yield conn
        finally:
            conn.rollback()


def _tune(conn: Connection) -> None:
    """Apply ``POSTGRESQL_SETTINGS`` to the current transaction of ``conn`` (PostgreSQL)."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        select(*(func.set_config(name, value, True) for name, value in POSTGRESQL_SETTINGS.items()))
    )


@dataclass
class Breakdown:
    """Counts of records by row and column key, and the distinct people behind them.

    ``cells`` maps (row key, column key) to (records, people); ``row_people`` and
    ``column_people`` the people per row and column key; ``people`` everyone; ``records`` all
    records; ``flagged`` the records for which the ``flag`` of ``people_breakdown`` held.
    """

    cells: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    row_people: dict = field(default_factory=dict)
    column_people: dict = field(default_factory=dict)
    people: int = 0
    records: int = 0
    flagged: int = 0

    def add(self, part: str, row, column, records: int, people: int, flagged: int) -> None:
        """Take one group's figures: ``part`` "cell" (its records, people and flagged records
        count into the totals too), "row", "column" or "all" (people only)."""
        if part == "cell":
            self.cells[row, column] = (records, people)
            self.records += records
            self.flagged += flagged
        elif part == "row":
            self.row_people[row] = people
        elif part == "column":
            self.column_people[column] = people
        else:
            self.people = people


def people_breakdown(
    conn: Connection,
    base: Select,
    person: ColumnElement,
    row_key: ColumnElement,
    column_key: ColumnElement,
    flag: ColumnElement[bool] | None = None,
) -> Breakdown:
    """Count the records of ``base`` (a select of records, joined and filtered) by
    ``row_key`` × ``column_key`` and the distinct ``person`` values behind each cell, row,
    column and the whole, with one statement on ``conn``.

    The records are grouped by person, row and column first (a CTE); the people of a cell
    are its groups, those of a row, a column or the whole are counted by grouping the groups
    again by person and row (column; person). ``flag`` (optional): a condition on the
    record, counted over all records (``Breakdown.flagged``). Rows returned: bounded by the
    number of key values, not of records.
    """
    per_person = (
        base.with_only_columns(
            person.label("person"),
            row_key.label("row_key"),
            column_key.label("column_key"),
            func.count().label("records"),
            (literal(0) if flag is None else func.count().filter(flag)).label("flagged"),
        )
        .group_by(person, row_key, column_key)
        .cte("per_person")
    )
    p = per_person.c
    # Distinct people per row, per column and in all without count(DISTINCT): group the
    # per-person groups again by person and key, and count those groups (hash aggregates).
    by_row = select(p.person, p.row_key).group_by(p.person, p.row_key).subquery()
    by_column = select(p.person, p.column_key).group_by(p.person, p.column_key).subquery()
    everyone = select(p.person).group_by(p.person).subquery()
    parts = union_all(
        select(
            literal("cell"),
            p.row_key,
            p.column_key,
            func.sum(p.records),
            func.count(),
            func.sum(p.flagged),
        ).group_by(p.row_key, p.column_key),
        select(literal("row"), by_row.c.row_key, null(), 0, func.count(), 0).group_by(
            by_row.c.row_key
        ),
        select(literal("column"), null(), by_column.c.column_key, 0, func.count(), 0).group_by(
            by_column.c.column_key
        ),
        select(literal("all"), null(), null(), 0, func.count(), 0).select_from(everyone),
    )
    result = Breakdown()
    for part, row, column, records, people, flagged in conn.execute(parts):
        result.add(part, row, column, int(records), int(people), int(flagged))
    return result


def month_index_of(day: ColumnElement) -> ColumnElement[int]:
    """SQL of ``kimdb.reports.rules.month_index``: year × 12 + month − 1 of the date ``day``
    (SQLite and PostgreSQL)."""
    return cast(extract("year", day), Integer) * 12 + cast(extract("month", day), Integer) - 1


def entry_lag_counts(
    conn: Connection, restrict: Callable[[Select], Select], by_month: bool = False
) -> dict[tuple[int | None, int], int]:
    """Count the consultations that ``restrict`` (adds joins and conditions to a select from
    ``Consultation``) keeps, per entry lag in days (R6: Berlin calendar days from holding to
    entering, never negative; ``kimdb.cases.rules.median_lag_days``) and, with ``by_month``,
    per month held (``rules.month_index``; else None). One statement, rows bounded by the
    number of days, not of consultations. PostgreSQL computes the lag in SQL (``timezone``);
    SQLite groups by day held and hour entered (a DST change falls on a full hour) and the lag
    is computed here.
    """
    counts: dict[tuple[int | None, int], int] = {}
    if conn.dialect.name == "postgresql":
        lag = entry_lag_days()
        month = month_index_of(Consultation.held_on) if by_month else null()
        keys = (month, lag) if by_month else (lag,)
        for month_key, lag_days, n in conn.execute(
            restrict(select(month, lag, func.count())).group_by(*keys)
        ):
            key = (int(month_key) if by_month else None, int(lag_days))
            counts[key] = counts.get(key, 0) + int(n)
        return counts
    hour = func.strftime("%Y-%m-%d %H:00:00", Consultation.entered_at)
    for held_on, entered, n in conn.execute(
        restrict(select(Consultation.held_on, hour, func.count())).group_by(
            Consultation.held_on, hour
        )
    ):
        day = local_date(dt.datetime.fromisoformat(entered))
        key = (
            held_on.year * 12 + held_on.month - 1 if by_month else None,
            max(0, (day - held_on).days),
        )
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def referral_domain() -> ColumnElement[str | None]:
    """SQL of a referral's legal domain: its partner's, when that is one of ``LegalDomain``;
    else None ("ohne Rechtskreis")."""
    known = [d.value for d in LegalDomain]
    return sql_case((Partner.legal_domain.in_(known), Partner.legal_domain), else_=None)


def open_at(day: dt.date) -> ColumnElement[bool]:
    """SQL condition on ``Case``: open at the end of ``day`` (``kimdb.caseload.rules.open_on``)."""
    return and_(Case.opened_on <= day, or_(Case.closed_on.is_(None), Case.closed_on > day))


def cutoff(day: dt.date) -> dt.datetime:
    """The first moment after ``day`` in Berlin, as UTC (stage history is kept as moments)."""
    following = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=LOCAL_ZONE)
    return following.astimezone(dt.UTC)


def open_stage_counts(conn: Connection, in_scope: ColumnElement[bool], day: dt.date) -> list:
    """The cases in scope (``in_scope``, a condition on ``Case``) open at the end of ``day``,
    counted per stage then and kind: (stage value, kind, count) rows. The stage of a case is
    its last change before the end of ``day`` other than the closure (intake without one),
    looked up per open case (index on stage_changes.case_id) instead of grouping the whole
    history. One statement."""
    last_stage = (
        select(StageChange.to_stage)
        .where(
            StageChange.case_id == Case.id,
            StageChange.changed_at < cutoff(day),
            StageChange.to_stage != Stage.CLOSED,
        )
        .order_by(StageChange.id.desc())
        .limit(1)
        .correlate(Case)
        .scalar_subquery()
    )
    open_cases = (
        select(Case.kind.label("kind"), last_stage.label("stage"))
        .where(in_scope, open_at(day))
        .subquery()
    )
    stage_then = func.coalesce(open_cases.c.stage, Stage.INTAKE.value)
    return [
        tuple(row)
        for row in conn.execute(
            select(stage_then, open_cases.c.kind, func.count()).group_by(
                stage_then, open_cases.c.kind
            )
        )
    ]


def count_if(condition) -> ColumnElement[int]:
    """``count(*) FILTER (WHERE condition)``: the rows for which ``condition`` holds (SQLite
    3.30 and PostgreSQL)."""
    return func.count().filter(condition)


def active_in(period: Period) -> ColumnElement[bool]:
    """The case was open on at least one day of ``period``."""
    return and_(
        Case.opened_on <= period.end,
        or_(Case.closed_on.is_(None), Case.closed_on >= period.start),
    )


@dataclass
class CaseCounts:
    """Case counts of one pass over the cases (``case_counts``): per kind the four measures
    of "Fälle nach Art" (open the day before the start, new, closed, open at the end), closed
    cases per (closure reason, kind), and the open cases on each day of
    ``rules.month_ends_within`` (all kinds)."""

    by_kind: dict[CaseKind, list[int]]
    reasons: list[tuple[ClosureReason, CaseKind, int]]
    open_on_days: list[int]


def case_counts(
    conn: Connection, in_scope: ColumnElement[bool], period: Period, days: list[dt.date]
) -> CaseCounts:
    """One statement over the cases in scope for "Fälle nach Art", the closure reasons and the
    caseload figures, grouped by kind and (for cases closed in the period) closure reason.

    A case closed in the period counts for the closure reasons even if its opening date lies
    after the period (a data error the other measures leave out by ``opened_on``)."""
    before = period.start - dt.timedelta(days=1)
    closed_in = Case.closed_on.between(period.start, period.end)
    opened_by_end = Case.opened_on <= period.end
    reason = sql_case((closed_in, Case.closure_reason), else_=None)
    result = conn.execute(
        select(
            Case.kind,
            reason,
            count_if(closed_in),
            count_if(and_(opened_by_end, open_at(before))),
            count_if(Case.opened_on.between(period.start, period.end)),
            count_if(and_(opened_by_end, closed_in)),
            count_if(open_at(period.end)),
            *(count_if(open_at(day)) for day in days),
        )
        .where(in_scope, or_(opened_by_end, closed_in))
        .group_by(Case.kind, reason)
    ).all()
    by_kind: dict[CaseKind, list[int]] = {}
    reasons = []
    open_on_days = [0] * len(days)
    for kind, closure_reason, closed_any, *measures in result:
        sums = by_kind.setdefault(kind, [0, 0, 0, 0])
        for index in range(4):
            sums[index] += int(measures[index])
        for index, n in enumerate(measures[4:]):
            open_on_days[index] += int(n)
        if closure_reason is not None:
            reasons.append((closure_reason, kind, int(closed_any)))
    return CaseCounts(by_kind, reasons, open_on_days)


@dataclass
class ClientCounts:
    """The people of a period by age group and gender, by country-of-origin group and by
    residence status (``client_counts``); keys as in ``rules.AGE_GROUPS``,
    ``rules.COUNTRY_GROUPS``, ``Gender`` and ``ResidenceStatus`` (None: not given)."""

    ages: dict[tuple, int] = field(default_factory=dict)
    countries: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)


def client_counts(conn: Connection, in_scope: ColumnElement[bool], period: Period) -> ClientCounts:
    """One statement: the people with a case in scope open in ``period``, grouped by age group
    (age reached in the year of the period's end), gender, country group and residence status
    (rows bounded by the number of key values), summed per table here."""
    people = select(Case.client_id).where(in_scope, active_in(period)).distinct().subquery()
    year = period.end.year
    age = literal(year) - Client.birth_year
    whens = []
    for key, _name, low, high in rules.AGE_GROUPS:
        condition = age >= low if high is None else and_(age >= low, age <= high)
        whens.append(
            (and_(Client.birth_year.is_not(None), Client.birth_year <= year, condition), key)
        )
    age_key = sql_case(*whens, else_=rules.AGE_UNKNOWN[0])
    whens = [(Client.country_of_origin == code, code) for code in rules.OWN_GROUP_COUNTRIES]
    whens += [
        (Client.country_of_origin.in_(sorted(rules.EU_COUNTRIES)), "eu"),
        (Client.country_of_origin == "DE", "de"),
        (
            or_(Client.country_of_origin.is_(None), Client.country_of_origin.in_(["", "XX", "ZZ"])),
            "unknown",
        ),
    ]
    country_key = sql_case(*whens, else_="third")
    ages: dict[tuple, int] = {}
    countries: dict = {}
    statuses: dict = {}
    for age_group, gender, country, status, n in conn.execute(
        select(age_key, Client.gender, country_key, Client.residence_status, func.count())
        .select_from(Client)
        .join(people, people.c.client_id == Client.id)
        .group_by(age_key, Client.gender, country_key, Client.residence_status)
    ):
        ages[age_group, gender] = ages.get((age_group, gender), 0) + int(n)
        countries[country] = countries.get(country, 0) + int(n)
        statuses[status] = statuses.get(status, 0) + int(n)

    return ClientCounts(ages, countries, statuses)
