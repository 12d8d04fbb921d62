"""The pre-aggregated facts of the statewide report: refresh and read (issue 8).

Even hand-written grouped counts over 3.9 million consultations take 1.46 s, so the state
report cannot be under 1 s live. For the STATE scope and a year, half or quarter, its four
largest parts come from facts per calendar month instead (``models.ReportFact``), the stages,
cases and clients from facts per month end and per whole period; every other scope, every
free from–to range, and the FTE and withdrawals of the state report stay live.

What is stored, per month and per group (a cell, a row, a column, the whole):

- events — consultations by held_on (per mode: count, minutes; with an interpreter per
  language), referrals by referred_on (per legal domain × status, Verweisberatung flagged),
  the entry lag by held_on (count per lag in days): the record counts, which add up over the
  months, and at most ``cap`` distinct client ids (the smallest), whose union over the months
  of a period gives min(people, ``cap``) exactly (``rules.facts_people``). A cell's people only
  ever meet ``min_cell`` (``rules.primary_suppressed``), so ``cap`` ≥ ``min_cell`` suffices.
- whole periods — for every year, half and quarter covered, the case counts ("Fälle nach
  Art", closure reasons, open cases at the month ends) and the people by age group, gender,
  country group and residence status: exact person counts, which no sum of months gives; a
  free from–to range reads no facts at all.
- stages — the open cases at the end of the day before each month's first day by stage
  and kind (counts only; "Offene Fälle am Periodenende nach Phase" of a period ending then).
- needs — "all needs of the cases active in the period": for a month-aligned period these
  are the needs of the cases open at the end of the day before its start (a stock, stored per
  month start, "needs_open") and of the cases opened within it (a flow per opening month,
  "needs_opened"). The two sets of cases are disjoint: records add, people are the union of
  the capped id sets.

``refresh`` replaces all facts in one transaction (readers see the old or the new facts,
never half); ``usable`` says whether a report may read them (``rules.facts_usable``: fresh
within ``rules.FACTS_MAX_AGE``, ``cap`` ≥ ``min_cell``, the period covered); ``read`` sums
them over a period in one statement.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy import case as sql_case

from kimdb.cases.models import Case, Consultation, Need, Referral
from kimdb.extensions import db
from kimdb.orgs.models import Partner
from kimdb.reports import rules
from kimdb.reports.model import Period
from kimdb.reports.models import ReportFact, ReportFactRefresh
from kimdb.reports.queries import (
    POSTGRESQL_SETTINGS,
    Breakdown,
    CaseCounts,
    ClientCounts,
    case_counts,
    client_counts,
    entry_lag_counts,
    month_index_of,
    open_at,
    open_stage_counts,
    referral_domain,
)
from kimdb.timeutil import local_date, now

NEEDS = "needs"
"""The measure under which ``read`` returns the stock and flow of needs together."""

_ALL_PARTS = ("cell", "row", "column", "all")


# -- Refresh -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshSummary:
    """What ``refresh`` wrote: fact rows, the months covered, the cap and the seconds taken."""

    rows: int
    first_month: dt.date
    last_month: dt.date
    cap: int
    seconds: float


def refresh(cap: int) -> RefreshSummary:
    """Recompute every fact of the state report from the main database and replace the old
    ones, in one transaction that reads one snapshot of the data.

    ``cap``: client ids kept per group and month (the current ``KIMDB_STATS_MIN_CELL``; the
    report uses the facts only while ``cap`` ≥ its ``min_cell``). The months covered run from
    the first month holding a case, consultation or referral (before it there is nothing to
    count; not before January ``rules.FIRST_YEAR``, the first a report can ask for) to
    December of the current year: the stock of needs and the stages are stored for each of
    their first days, the whole-period figures for every year, half and quarter of those
    years. Meant for a nightly cron (``flask kimdb refresh-report-facts``); about 2.5 minutes
    at state scale.

    Two refreshes at once run one after the other: on PostgreSQL the first statement locks
    ``report_fact_refreshes`` (EXCLUSIVE: reports still read it, a second refresh waits), and
    only then does the REPEATABLE READ snapshot begin (at the first SELECT), so the second one
    sees and replaces the first one's facts. On SQLite the refresh is one ``BEGIN IMMEDIATE``
    transaction: one snapshot, and it holds SQLite's write lock from its start, so every other
    write (a second refresh too) waits up to the busy timeout (5 s) and then fails; readers
    are not held up (seconds at county scale; run it at night). Every fact row carries its
    refresh (``ReportFact.refresh_id``) and ``read`` sums only those of the refresh ``usable``
    chose. Raises ValueError for a cap below 1.
    """
    if cap < 1:
        raise ValueError("cap must be at least 1")
    started = time.perf_counter()
    engine = db.engine
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # Before any SELECT: the snapshot starts after the lock is granted.
            conn.exec_driver_sql("LOCK TABLE report_fact_refreshes IN EXCLUSIVE MODE")
            conn.execute(
                select(*(func.set_config(k, v, True) for k, v in POSTGRESQL_SETTINGS.items()))
            )
        elif conn.dialect.name == "sqlite":
            # pysqlite sends no BEGIN before a SELECT: without this, every statement would
            # read its own state of the data.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        refreshed_at = now()
        first, last = _months_covered(conn)
        rows: list[dict] = []
        rows += _group_facts(conn, "consultations", _consultations(), ("cell", "all"), cap)
        rows += _group_facts(conn, "interpreters", _interpreters(), ("cell", "all"), cap)
        rows += _group_facts(conn, "referrals", _referrals(), _ALL_PARTS, cap)
        rows += _group_facts(conn, "needs_opened", _needs_opened(), _ALL_PARTS, cap)
        for index in range(first, last + 1):
            rows += _group_facts(conn, "needs_open", _needs_open(index), _ALL_PARTS, cap)
        for index in range(first, last + 2):  # the end of every month covered
            rows += _stage_facts(conn, index)
        for year in range(first // 12, last // 12 + 1):
            for period in rules.standard_periods(year):
                rows += _period_facts(conn, period)
        rows += _lag_facts(conn)
        refresh_id = conn.execute(
            insert(ReportFactRefresh).values(
                refreshed_at=refreshed_at,
                cap=cap,
                first_month=rules.month_of_index(first),
                last_month=rules.month_of_index(last),
                seconds=0.0,
            )
        ).inserted_primary_key[0]
        conn.execute(delete(ReportFact).where(ReportFact.refresh_id != refresh_id))
        conn.execute(delete(ReportFactRefresh).where(ReportFactRefresh.id != refresh_id))
        for row in rows:
            row["refresh_id"] = refresh_id
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(ReportFact), rows[start : start + 10_000])
        seconds = time.perf_counter() - started
        conn.execute(
            update(ReportFactRefresh)
            .where(ReportFactRefresh.id == refresh_id)
            .values(seconds=seconds)
        )
    return RefreshSummary(
        len(rows), rules.month_of_index(first), rules.month_of_index(last), cap, seconds
    )


def purge_stale(moment: dt.datetime, dry_run: bool = False) -> int:
    """Delete the facts (and their refresh) taken more than ``rules.FACTS_MAX_AGE`` before
    ``moment``: no report reads them any more, and they pair client ids with special
    categories, so they must not outlive a stopped nightly refresh. Return the number of fact
    rows deleted (or to delete, ``dry_run``). Run by ``flask kimdb purge``."""
    stale = select(ReportFactRefresh.id).where(
        ReportFactRefresh.refreshed_at < moment - rules.FACTS_MAX_AGE
    )
    with db.engine.begin() as conn:
        rows = conn.scalar(
            select(func.count()).select_from(ReportFact).where(ReportFact.refresh_id.in_(stale))
        )
        if not dry_run:
            conn.execute(delete(ReportFact).where(ReportFact.refresh_id.in_(stale)))
            conn.execute(delete(ReportFactRefresh).where(ReportFactRefresh.id.in_(stale)))
    return int(rows or 0)


def _months_covered(conn: Connection) -> tuple[int, int]:
    """First and last month (``rules.month_index``) the facts cover: from the earliest case
    opening, consultation or referral (January of this year when there is none), but not
    before January ``rules.FIRST_YEAR`` (a report cannot ask for earlier periods, and
    ``rules.standard_periods`` refuses their years), to December of this year (Berlin)."""
    this_year = local_date(now()).year
    earliest = [
        conn.scalar(select(func.min(column)))
        for column in (Case.opened_on, Consultation.held_on, Referral.referred_on)
    ]
    days = [d for d in earliest if d is not None]
    first = rules.month_index(min(days)) if days else this_year * 12
    first = max(first, rules.FIRST_YEAR * 12)
    return min(first, this_year * 12), this_year * 12 + 11


def _records(
    month: ColumnElement[int],
    row_key: ColumnElement,
    *,
    column_key: ColumnElement | None = None,
    minutes: ColumnElement[int] | None = None,
    flag: ColumnElement[int] | None = None,
    closed_month: ColumnElement[int] | None = None,
) -> Select:
    """One row per record in the columns ``_group_facts`` reads: month (``rules.month_index``),
    closed_month, person (the case's client), row_key, column_key, minutes, flag; a column the
    measure lacks is NULL (minutes and flag 0). The caller joins the case and filters."""
    return select(
        month.label("month"),
        (null() if closed_month is None else closed_month).label("closed_month"),
        Case.client_id.label("person"),
        row_key.label("row_key"),
        (null() if column_key is None else column_key).label("column_key"),
        (literal(0) if minutes is None else minutes).label("minutes"),
        (literal(0) if flag is None else flag).label("flag"),
    )


def _consultations() -> Select:
    return _records(
        month_index_of(Consultation.held_on),
        Consultation.mode,
        minutes=Consultation.duration_minutes,
    ).join(Case, Consultation.case_id == Case.id)


def _interpreters() -> Select:
    return (
        _records(month_index_of(Consultation.held_on), Consultation.interpreter_language)
        .join(Case, Consultation.case_id == Case.id)
        .where(Consultation.interpreter_used.is_(True))
    )


def _referrals() -> Select:
    return (
        _records(
            month_index_of(Referral.referred_on),
            referral_domain(),
            column_key=Referral.status,
            flag=sql_case((Referral.verweisberatung.is_(True), 1), else_=0),
        )
        .join(Case, Referral.case_id == Case.id)
        .join(Partner, Referral.partner_id == Partner.id)
    )


def _needs_opened() -> Select:
    """The needs of the cases opened in each month; ``closed_month`` the month of a closure
    dated before the opening month (then the case counts only for periods starting by then,
    as ``queries.active_in`` has it)."""
    opened, closed = month_index_of(Case.opened_on), month_index_of(Case.closed_on)
    return _records(
        opened,
        Need.life_area,
        column_key=Need.legal_domain,
        closed_month=sql_case(
            (and_(Case.closed_on.is_not(None), closed < opened), closed), else_=None
        ),
    ).join(Case, Need.case_id == Case.id)


def _needs_open(index: int) -> Select:
    """The needs of the cases open at the end of the day before the first day of month
    ``index`` (opened before it, not closed before it)."""
    first = rules.month_of_index(index)
    return (
        _records(literal(index, Integer), Need.life_area, column_key=Need.legal_domain)
        .join(Case, Need.case_id == Case.id)
        .where(open_at(first - dt.timedelta(days=1)))
    )


def _group_facts(
    conn: Connection, measure: str, source: Select, parts: tuple[str, ...], cap: int
) -> list[dict]:
    """Fact rows of ``measure`` from ``source`` (one row per record with the columns month,
    closed_month, person, row_key, column_key, minutes, flag): the record counts per month and
    cell, and for each of ``parts`` the at most ``cap`` smallest client ids per month and
    group. Two statements; the records are grouped per person and group first (a CTE)."""
    s = source.subquery("records")
    per_person = (
        select(
            s.c.month,
            s.c.closed_month,
            s.c.person,
            s.c.row_key,
            s.c.column_key,
            func.count().label("records"),
            func.coalesce(func.sum(s.c.minutes), 0).label("minutes"),
            func.coalesce(func.sum(s.c.flag), 0).label("flagged"),
        )
        .group_by(s.c.month, s.c.closed_month, s.c.person, s.c.row_key, s.c.column_key)
        .cte("per_person")
    )
    p = per_person.c
    rows = []
    cells = select(
        p.month,
        p.closed_month,
        p.row_key,
        p.column_key,
        func.sum(p.records),
        func.sum(p.minutes),
        func.sum(p.flagged),
    ).group_by(p.month, p.closed_month, p.row_key, p.column_key)
    for month, closed_month, row_key, column_key, records, minutes, flagged in conn.execute(cells):
        rows.append(
            _fact(measure, "cell", month, closed_month, row_key, column_key)
            | {"records": int(records), "minutes": int(minutes), "flagged": int(flagged)}
        )
    selects = []
    for part in parts:
        keys = {
            "cell": [p.row_key, p.column_key],
            "row": [p.row_key],
            "column": [p.column_key],
            "all": [],
        }[part]
        groups = [p.month, p.closed_month, *keys]
        ranked = (
            select(
                *groups,
                p.person,
                func.row_number().over(partition_by=groups, order_by=p.person).label("rank"),
            )
            .group_by(*groups, p.person)
            .subquery()
        )
        r = ranked.c
        selects.append(
            select(
                literal(part),
                r.month,
                r.closed_month,
                r.row_key if p.row_key in keys else null(),
                r.column_key if p.column_key in keys else null(),
                r.person,
            ).where(r.rank <= cap)
        )
    for part, month, closed_month, row_key, column_key, person in conn.execute(union_all(*selects)):
        rows.append(
            _fact(measure, part, month, closed_month, row_key, column_key)
            | {"client_id": int(person)}
        )
    return rows


def _key(value) -> str | None:
    """A group key as stored: the value of a StrEnum member, a string, or None."""
    return None if value is None else str(getattr(value, "value", value))


def _fact(measure, part, month, closed_month, row_key, column_key) -> dict:
    return {
        "month": rules.month_of_index(int(month)),
        "measure": measure,
        "part": part,
        "row_key": _key(row_key),
        "column_key": _key(column_key),
        "closed_month": None if closed_month is None else rules.month_of_index(int(closed_month)),
        "records": 0,
        "minutes": 0,
        "flagged": 0,
        "client_id": None,
        "period_end": None,
    }


def _stage_facts(conn: Connection, index: int) -> list[dict]:
    """The cases open at the end of the day before the first day of month ``index``, per stage
    then (row_key) and kind (column_key): "Offene Fälle am Periodenende nach Phase" of a
    period ending that day (``queries.open_stage_counts``)."""
    day = rules.month_of_index(index) - dt.timedelta(days=1)
    return [
        _fact("stages", "cell", index, None, stage, kind) | {"records": int(n)}
        for stage, kind, n in open_stage_counts(conn, true(), day)
    ]


def _period_facts(conn: Connection, period: Period) -> list[dict]:
    """The facts of one year, half or quarter as a whole (``month`` its first day,
    ``period_end`` its last): the case counts of "Fälle nach Art", the closure reasons and the
    open cases on each month end (``queries.case_counts``), and the people by age group ×
    gender, country group and residence status (``queries.client_counts``: exact person
    counts, which no sum over months gives). A "period" row marks the period as present."""

    def fact(measure, row, column, n) -> dict:
        return _fact(measure, "cell", rules.month_index(period.start), None, row, column) | {
            "records": int(n),
            "period_end": period.end,
        }

    days = rules.month_ends_within(period)
    counts = case_counts(conn, true(), period, days)
    people = client_counts(conn, true(), period)
    rows = [fact("period", None, None, 1)]
    rows += [
        fact("cases_by_kind", kind, str(i), n)
        for kind, values in counts.by_kind.items()
        for i, n in enumerate(values)
    ]
    rows += [fact("closure_reasons", reason, kind, n) for reason, kind, n in counts.reasons]
    rows += [fact("open_on_days", str(i), None, n) for i, n in enumerate(counts.open_on_days)]
    rows += [fact("clients_age", age, gender, n) for (age, gender), n in people.ages.items()]
    rows += [fact("clients_country", key, None, n) for key, n in people.countries.items()]
    rows += [fact("clients_status", key, None, n) for key, n in people.statuses.items()]
    return rows


def _lag_facts(conn: Connection) -> list[dict]:
    """Consultations per month held and entry lag in days (row_key: the lag)."""
    counts = entry_lag_counts(conn, lambda query: query, by_month=True)
    return [
        _fact("lag", "cell", month, None, str(lag), None) | {"records": n}
        for (month, lag), n in sorted(counts.items())
    ]


# -- Read --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refresh:
    """The refresh the facts come from (``models.ReportFactRefresh``; ``id`` its row)."""

    id: int
    refreshed_at: dt.datetime
    cap: int
    first_month: dt.date
    last_month: dt.date


def usable(conn: Connection, period: Period, min_cell: int) -> Refresh | None:
    """Return the refresh whose facts the state report over ``period`` at ``min_cell`` may
    read (``rules.facts_usable``), or None (no facts, too old, cap too small, or the period
    not covered): then the report is computed live. One statement."""
    row = conn.execute(
        select(
            ReportFactRefresh.id,
            ReportFactRefresh.refreshed_at,
            ReportFactRefresh.cap,
            ReportFactRefresh.first_month,
            ReportFactRefresh.last_month,
        )
        .order_by(ReportFactRefresh.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    refresh_id, refreshed_at, cap, first_month, last_month = row
    if refreshed_at.tzinfo is None:  # SQLite keeps UTC moments without their zone
        refreshed_at = refreshed_at.replace(tzinfo=dt.UTC)
    refresh_row = Refresh(refresh_id, refreshed_at, cap, first_month, last_month)
    if not rules.facts_usable(
        period,
        min_cell,
        now(),
        refresh_row.refreshed_at,
        refresh_row.cap,
        refresh_row.last_month,
    ):
        return None
    return refresh_row


@dataclass
class Facts:
    """The facts summed over a period: per (measure, part, row key, column key) the records,
    minutes, flagged records and people (min(people, ``cap``), ``rules.facts_people``)."""

    refresh: Refresh
    groups: dict[tuple, tuple[int, int, int, int]] = field(default_factory=dict)

    def get(self, measure: str, part: str, row=None, column=None) -> tuple[int, int, int, int]:
        """(records, minutes, flagged, people) of one group; zeros when it has no facts."""
        return self.groups.get((measure, part, _key(row), _key(column)), (0, 0, 0, 0))

    def cells(self, measure: str) -> dict[tuple, tuple[int, int, int, int]]:
        """The cells of ``measure``: (row key, column key) → (records, minutes, flagged,
        people); keys as stored (strings or None)."""
        return {
            (row, column): values
            for (m, part, row, column), values in self.groups.items()
            if m == measure and part == "cell"
        }

    def has_period(self) -> bool:
        """True if the period read is a year, half or quarter with facts of its own
        (``_period_facts``): then the case counts and the people come from them too."""
        return ("period", "cell", None, None) in self.groups

    def case_counts(self, days: int) -> CaseCounts:
        """``queries.case_counts`` of the period from its facts (``has_period``); ``days``:
        the number of days of ``rules.month_ends_within``."""
        by_kind: dict = {}
        for (kind, index), values in self.cells("cases_by_kind").items():
            by_kind.setdefault(kind, [0, 0, 0, 0])[int(index)] = values[0]
        reasons = [(r, k, v[0]) for (r, k), v in self.cells("closure_reasons").items()]
        open_on_days = [0] * days
        for (index, _c), values in self.cells("open_on_days").items():
            open_on_days[int(index)] = values[0]
        return CaseCounts(by_kind, reasons, open_on_days)

    def client_counts(self) -> ClientCounts:
        """``queries.client_counts`` of the period from its facts (``has_period``)."""
        return ClientCounts(
            {key: v[0] for key, v in self.cells("clients_age").items()},
            {row: v[0] for (row, _c), v in self.cells("clients_country").items()},
            {row: v[0] for (row, _c), v in self.cells("clients_status").items()},
        )

    def breakdown(self, measure: str) -> Breakdown:
        """``measure`` as a ``queries.Breakdown`` (what ``people_breakdown`` gives live), with
        people capped at ``cap``. String keys match the StrEnum members of the live one."""
        result = Breakdown()
        for (m, part, row, column), (records, _minutes, flagged, people) in self.groups.items():
            if m == measure:
                result.add(part, row, column, records, people, flagged)
        return result


def read(conn: Connection, refresh_row: Refresh, period: Period) -> Facts:
    """Sum the facts of ``refresh_row`` (only those: a row of another refresh never adds in)
    over ``period`` (a year, half or quarter covered: ``usable``) in one statement: the events
    and the needs of the cases opened in its months, plus the stock of needs at its start
    (stock and flow of needs together as ``NEEDS``), the stages of the cases open at its end
    and its whole-period cases and clients. People are the distinct ids of a group over the
    months, capped (``rules.facts_people``)."""
    f = ReportFact
    measure = sql_case((f.measure.in_(["needs_open", "needs_opened"]), NEEDS), else_=f.measure)
    in_period = and_(
        f.measure.not_in(["needs_open", "stages"]),
        f.month.between(period.start, period.end),
        or_(f.closed_month.is_(None), f.closed_month >= period.start),
    )
    stock = or_(
        and_(f.measure == "needs_open", f.month == period.start),
        and_(f.measure == "stages", f.month == period.end + dt.timedelta(days=1)),
    )
    whole = and_(f.month == period.start, f.period_end == period.end)
    query = (
        select(
            measure,
            f.part,
            f.row_key,
            f.column_key,
            func.sum(f.records),
            func.sum(f.minutes),
            func.sum(f.flagged),
            func.count(f.client_id.distinct()),
        )
        .where(
            f.refresh_id == refresh_row.id,
            or_(and_(f.period_end.is_(None), or_(in_period, stock)), whole),
        )
        .group_by(measure, f.part, f.row_key, f.column_key)
    )
    facts = Facts(refresh_row)
    for m, part, row, column, records, minutes, flagged, ids in conn.execute(query):
        facts.groups[m, part, row, column] = (
            int(records or 0),
            int(minutes or 0),
            int(flagged or 0),
            rules.facts_people(int(ids), refresh_row.cap),
        )
    return facts
