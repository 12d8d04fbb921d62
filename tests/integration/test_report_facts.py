"""The state report from the nightly facts (issue 8) equals the live report for the same data,
on SQLite and PostgreSQL; stale facts, a period not of whole months, a cap below the minimum
cell and a period the facts do not cover fall back to live; the CLI refresh; the page's
cut-off."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from kimdb.cases.models import (
    Consultation,
    ConsultationMode,
    LegalDomain,
    LifeArea,
    Need,
    Referral,
    ReferralStatus,
    StageChange,
)
from kimdb.cases.rules import CaseKind, ClosureReason, Stage
from kimdb.extensions import transaction
from kimdb.orgs.models import Partner, PartnerKind
from kimdb.orgs.service import ensure_organisation
from kimdb.reports import facts, rules
from kimdb.reports.model import Period, Scope, ScopeKind
from kimdb.reports.models import ReportFact, ReportFactRefresh
from kimdb.reports.service import build_report
from kimdb.timeutil import now
from tests.factories import login, make_case, make_client, make_user
from tests.integration.test_reports_views import state_user

STATE = Scope(ScopeKind.STATE, None, "Nordrhein-Westfalen")
UTC = dt.UTC
d = dt.date

MODES = list(ConsultationMode)
LANGUAGES = ["ar", "uk", None, "tr", "ar", "fa"]
AREAS = list(LifeArea)
DOMAINS = [*LegalDomain, None]
STATUSES = list(ReferralStatus)

# (opened, closed or None): across month and year boundaries, one closed on the last day of a
# month, one on the first, one closed before it was opened (a data error the report honours).
CASES = [
    (d(2024, 3, 10), None),
    (d(2024, 6, 1), d(2024, 12, 31)),
    (d(2024, 11, 30), d(2025, 1, 1)),
    (d(2024, 12, 31), None),
    (d(2025, 1, 1), d(2025, 3, 31)),
    (d(2025, 1, 15), None),
    (d(2025, 2, 28), d(2025, 7, 1)),
    (d(2025, 3, 1), None),
    (d(2025, 4, 12), d(2025, 6, 30)),
    (d(2025, 5, 5), None),
    (d(2025, 6, 30), d(2025, 9, 30)),
    (d(2025, 7, 1), None),
    (d(2025, 8, 20), d(2025, 2, 3)),  # closed before opened
    (d(2025, 9, 9), None),
    (d(2025, 10, 31), None),
    (d(2025, 12, 1), None),
]


def _dated(case, opened, closed):
    with transaction():
        case.opened_on = opened
        for change in case.stage_changes:
            change.changed_at = dt.datetime.combine(opened, dt.time(9), tzinfo=UTC)
        if closed is not None:
            case.closed_on, case.closure_reason = closed, ClosureReason.GOALS_ACHIEVED
            case.stage = Stage.CLOSED


@pytest.fixture()
def varied(db):
    """Sixteen cases of fifteen clients in two organisations (one client has two cases), with
    needs, referrals and consultations spread over 2024 and 2025: many small cells (suppressed)
    and a few large ones (more people than the cap)."""
    cm = make_user("cm.a")
    other = make_user("cm.b", organisation="KI Anderswo")
    org_b = ensure_organisation("KI Anderswo", "Kreis Anderswo", "integration_centre")
    with transaction():
        other.organisation_id = org_b.id
    partners = [
        Partner(
            organisation_id=cm.organisation_id,
            name=name,
            kind=PartnerKind.AUTHORITY,
            legal_domain=domain,
        )
        for name, domain in (
            ("Jobcenter", LegalDomain.SGB_II.value),
            ("Jugendamt", LegalDomain.SGB_VIII.value),
            ("Sportverein", None),
            ("Sonstige", "other"),
        )
    ]
    with transaction() as session:
        session.add_all(partners)
    cases = []
    twice = None
    for index, (opened, closed) in enumerate(CASES):
        # Index 4 is the second case of the client of index 1 (cm.a's): in the other
        # organisation, as when a person moves to another county.
        owner = cm if index % 3 and index != 4 else other
        client = twice if index == 4 else make_client(owner, given=f"Person{index}")
        kind = CaseKind.CASE_MANAGEMENT if index % 2 else CaseKind.SHORT_COUNSELLING
        case = make_case(owner, kind, client)
        _dated(case, opened, closed)
        if index == 1:
            twice = client  # closed in 2024: opens a second case in 2025 (index 4)
        cases.append((case, owner))
    moment = now()
    with transaction() as session:
        for index, (case, owner) in enumerate(cases):
            opened, closed = CASES[index]
            last = closed if closed and closed > opened else d(2025, 12, 31)
            if index % 3 != 2:  # a later stage, reached 40 days after the opening
                session.add(
                    StageChange(
                        case_id=case.id,
                        from_stage=Stage.INTAKE,
                        to_stage=Stage.ASSESSMENT if index % 2 else Stage.COUNSELLING,
                        changed_by_id=owner.id,
                        changed_at=dt.datetime.combine(
                            opened + dt.timedelta(days=40), dt.time(22, 30), tzinfo=UTC
                        ),
                    )
                )
            for n in range(index % 4 + 1):
                session.add(
                    Need(
                        case_id=case.id,
                        life_area=AREAS[(index + n) % len(AREAS)],
                        legal_domain=DOMAINS[(index * 2 + n) % len(DOMAINS)],
                        description="Bedarf",
                        in_focus=False,
                        recorded_by_id=owner.id,
                        recorded_at=moment,
                    )
                )
            span = max((last - opened).days, 1)
            for n in range(index % 5 + 3):
                held = opened + dt.timedelta(days=(n * 37 + index * 11) % span)
                interpreted = (index + n) % 3 == 0
                entered = dt.datetime.combine(held, dt.time(8 + n % 14), tzinfo=UTC)
                session.add(
                    Consultation(
                        case_id=case.id,
                        held_on=held,
                        duration_minutes=15 + 15 * ((index + n) % 6),
                        mode=MODES[(index + n) % len(MODES)] if index % 4 else MODES[0],
                        interpreter_used=interpreted,
                        interpreter_language=LANGUAGES[(index + n) % len(LANGUAGES)]
                        if interpreted
                        else None,
                        entered_by_id=owner.id,
                        entered_at=entered + dt.timedelta(days=(index * n) % 9),
                    )
                )
            for n in range(index % 3):
                session.add(
                    Referral(
                        case_id=case.id,
                        partner_id=partners[(index + n) % len(partners)].id,
                        referred_on=opened + dt.timedelta(days=(n * 45 + index) % span),
                        purpose="Vermittlung",
                        status=STATUSES[(index + n) % len(STATUSES)],
                        verweisberatung=(index + n) % 4 == 0,
                        recorded_by_id=owner.id,
                        recorded_at=moment,
                        updated_at=moment,
                    )
                )
    return {"cm": cm, "other": other}


PERIODS = [
    rules.parse_period("year", 2025),
    rules.parse_period("year", 2024),  # starts before the first data (March 2024)
    rules.parse_period("year", 2023),  # nothing at all
    rules.parse_period("quarter", 2025, 1),
    rules.parse_period("quarter", 2025, 3),
    rules.parse_period("half", 2025, 2),
    rules.parse_period("range", date_from=d(2024, 11, 1), date_to=d(2025, 4, 30)),
]
FREE_RANGE = PERIODS[-1]


def _same_but_cut_off(report):
    return dataclasses.replace(report, created_at=None, facts_as_of=None)


@pytest.mark.parametrize(
    ("min_cell", "cap"),
    # cap == min_cell is how the nightly refresh runs (KIMDB_STATS_MIN_CELL); a larger cap
    # (min_cell lowered after the refresh) must give the same report too.
    [(1, 1), (2, 2), (3, 3), (5, 5), (1, 5), (3, 5)],
)
def test_the_facts_give_the_live_report_for_years_quarters_and_halves(varied, min_cell, cap):
    live = {p: build_report(STATE, p, min_cell) for p in PERIODS}
    assert all(r.facts_as_of is None for r in live.values())
    facts.refresh(cap=cap)
    for period in PERIODS:
        from_facts = build_report(STATE, period, min_cell)
        assert (from_facts.facts_as_of is not None) == (period != FREE_RANGE), period
        assert _same_but_cut_off(from_facts) == _same_but_cut_off(live[period]), period


def _add_consultation(user, held_on):
    """One more consultation of 30 minutes, held on ``held_on``, in the first case that has any."""
    with transaction() as session:
        case_id = session.scalar(select(func.min(Consultation.case_id)))
        session.add(
            Consultation(
                case_id=case_id,
                held_on=held_on,
                duration_minutes=30,
                mode=MODES[0],
                entered_by_id=user.id,
                entered_at=now(),
            )
        )


def test_a_free_range_is_live_new_data_show_without_a_refresh(varied):
    facts.refresh(cap=5)
    before = build_report(STATE, FREE_RANGE, 1)
    assert before.facts_as_of is None
    _add_consultation(varied["cm"], d(2025, 2, 3))
    after = build_report(STATE, FREE_RANGE, 1)
    assert after.table("consultations").column_totals[0].value == (
        before.table("consultations").column_totals[0].value + 1
    )


def test_the_data_are_varied_enough_to_mean_something(varied):
    report = build_report(STATE, PERIODS[0], 2)
    needs = report.table("needs")
    assert needs.column_totals[-1].value > 10
    assert any(c.suppressed for _label, cells in needs.rows for c in cells)
    consultations = report.table("consultations")
    assert consultations.column_totals[0].value > 30
    assert report.table("interpreters").rows
    assert report.table("referrals").column_totals[-1].value > 5
    stages = build_report(STATE, PERIODS[0], 1).table("open_by_stage")
    assert sum(1 for _label, cells in stages.rows if any(c.value for c in cells)) >= 2


def test_a_later_change_shows_only_after_the_next_refresh(varied):
    period = PERIODS[0]
    facts.refresh(cap=5)
    before = build_report(STATE, period, 2)
    _add_consultation(varied["cm"], d(2025, 6, 2))
    stale = build_report(STATE, period, 2)
    assert stale.table("consultations") == before.table("consultations")
    facts.refresh(cap=5)
    fresh = build_report(STATE, period, 2)
    assert fresh.table("consultations").column_totals[0].value == (
        before.table("consultations").column_totals[0].value + 1
    )


def test_stale_facts_are_ignored(varied):
    facts.refresh(cap=5)
    with transaction() as session:
        refresh = session.scalar(select(ReportFactRefresh))
        refresh.refreshed_at = now() - rules.FACTS_MAX_AGE - dt.timedelta(minutes=1)
    assert build_report(STATE, PERIODS[0], 5).facts_as_of is None


def test_a_cap_below_the_minimum_cell_is_ignored(varied):
    facts.refresh(cap=3)
    assert build_report(STATE, PERIODS[0], 3).facts_as_of is not None
    assert build_report(STATE, PERIODS[0], 5).facts_as_of is None


def test_a_period_not_of_whole_months_or_after_the_facts_is_live(varied):
    facts.refresh(cap=5)
    part = Period(d(2025, 1, 15), d(2025, 3, 31), "15.01.–31.03.2025")
    assert build_report(STATE, part, 5).facts_as_of is None
    after = rules.parse_period("year", now().year + 1)
    assert build_report(STATE, after, 5).facts_as_of is None


def test_other_scopes_never_read_the_facts(varied):
    facts.refresh(cap=5)
    org = varied["cm"].organisation
    scope = Scope(ScopeKind.ORGANISATION, org.id, org.name)
    assert build_report(scope, PERIODS[0], 2).facts_as_of is None


def test_a_refresh_replaces_the_old_facts(varied, db):
    facts.refresh(cap=5)
    first = db.session.scalar(select(func.count()).select_from(ReportFact))
    facts.refresh(cap=5)
    assert db.session.scalar(select(func.count()).select_from(ReportFact)) == first
    assert db.session.scalar(select(func.count()).select_from(ReportFactRefresh)) == 1


def test_the_refresh_command(app, varied, db):
    result = app.test_cli_runner().invoke(args=["kimdb", "refresh-report-facts"])
    assert result.exit_code == 0, result.output
    assert "report facts refreshed" in result.output
    refresh = db.session.scalar(select(ReportFactRefresh))
    assert refresh.cap == app.config["STATS_MIN_CELL"]
    assert refresh.first_month == d(2024, 3, 1)
    assert refresh.last_month == d(now().year, 12, 1)


def test_the_page_and_the_exports_show_the_cut_off(client, varied):
    state_user()
    assert login(client, "kfi.test").status_code == 302
    query = {"scope": "state", "kind": "year", "year": "2025"}
    page = client.get("/reports/view", query_string=query).get_data(as_text=True)
    assert "Datenstand" not in page
    facts.refresh(cap=5)
    page = client.get("/reports/view", query_string=query).get_data(as_text=True)
    assert "Datenstand" in page
    assert "Uhr" in page
    # what stays live even then is named (FTE, withdrawn consents)
    assert "Stellen (VZÄ" in page
    assert "widerrufene Einwilligungen: aktueller Stand" in page
    csv = client.get("/reports/export.csv", query_string=query | {"table": "needs"})
    assert "Datenstand" in csv.get_data(as_text=True)
    assert "aktueller Stand" in csv.get_data(as_text=True)
    pdf = client.get("/reports/export.pdf", query_string=query)
    assert pdf.status_code == 200


def test_years_halves_and_quarters_have_whole_period_facts_and_ranges_no_facts(varied, db):
    facts.refresh(cap=5)
    conn = db.session.connection()
    assert facts.usable(conn, FREE_RANGE, 5) is None
    for period in PERIODS[:-1]:
        refresh = facts.usable(conn, period, 5)
        assert refresh is not None
        whole = facts.read(conn, refresh, period).has_period()
        assert whole == (period.start.year >= 2024)


def _fact_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(ReportFact))


def test_the_report_reads_only_the_facts_of_the_refresh_it_chose(varied, db):
    live = build_report(STATE, PERIODS[0], 2)
    facts.refresh(cap=5)
    # As if a second refresh had written its facts beside the first one's.
    with transaction() as session:
        old = session.scalar(select(ReportFactRefresh))
        new = ReportFactRefresh(
            refreshed_at=old.refreshed_at,
            cap=old.cap,
            first_month=old.first_month,
            last_month=old.last_month,
            seconds=old.seconds,
        )
        session.add(new)
        session.flush()
        columns = [c.key for c in ReportFact.__table__.columns if c.key not in ("id", "refresh_id")]
        for fact in session.scalars(select(ReportFact)).all():
            session.add(ReportFact(refresh_id=new.id, **{c: getattr(fact, c) for c in columns}))
    report = build_report(STATE, PERIODS[0], 2)
    assert report.facts_as_of is not None
    assert _same_but_cut_off(report) == _same_but_cut_off(live)


def test_two_refreshes_in_sequence_leave_one_set_of_facts(varied, db):
    facts.refresh(cap=5)
    first = _fact_count(db)
    facts.refresh(cap=5)
    assert _fact_count(db) == first
    refreshes = db.session.scalars(select(ReportFactRefresh)).all()
    assert len(refreshes) == 1
    assert (
        db.session.scalar(select(func.count()).where(ReportFact.refresh_id != refreshes[0].id)) == 0
    )


def test_two_refreshes_at_once_leave_one_set_of_facts(varied, data_app, db, monkeypatch):
    """The first refresh is held up after reading; the second starts meanwhile. It must wait
    for the first (PostgreSQL: the table lock; SQLite: BEGIN IMMEDIATE) and then replace its
    facts instead of adding its own beside them."""
    import threading
    import time as time_module

    facts.refresh(cap=5)
    single = _fact_count(db)
    with transaction() as session:
        session.execute(ReportFact.__table__.delete())
        session.execute(ReportFactRefresh.__table__.delete())
    read_all = threading.Event()
    original = facts._lag_facts

    def slow_lag_facts(conn):
        result = original(conn)
        if not read_all.is_set():
            read_all.set()
            time_module.sleep(1.5)
        return result

    monkeypatch.setattr(facts, "_lag_facts", slow_lag_facts)
    errors: list[BaseException] = []

    def run():
        try:
            with data_app.app_context():
                facts.refresh(cap=5)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    first = threading.Thread(target=run)
    first.start()
    assert read_all.wait(30)
    second = threading.Thread(target=run)
    second.start()
    first.join(60)
    second.join(60)
    assert not errors
    db.session.rollback()
    assert _fact_count(db) == single
    assert db.session.scalar(select(func.count()).select_from(ReportFactRefresh)) == 1


def test_on_sqlite_the_refresh_reads_in_one_transaction(varied, db, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("pysqlite's missing BEGIN before SELECTs")
    seen = []
    original = facts._lag_facts

    def watching(conn):
        seen.append(conn.connection.dbapi_connection.in_transaction)
        return original(conn)

    monkeypatch.setattr(facts, "_lag_facts", watching)
    facts.refresh(cap=5)
    assert seen == [True]


def test_a_date_before_the_first_year_does_not_stop_the_refresh(varied, db):
    with transaction() as session:
        consultation = session.scalar(select(Consultation).order_by(Consultation.id).limit(1))
        consultation.held_on = d(1999, 12, 31)
    summary = facts.refresh(cap=5)
    assert summary.first_month == d(rules.FIRST_YEAR, 1, 1)
    assert build_report(STATE, PERIODS[0], 2).facts_as_of is not None


def test_the_purge_deletes_facts_older_than_their_maximum_age(varied, db):
    from kimdb.privacy.service import purge

    facts.refresh(cap=5)
    rows = _fact_count(db)
    assert purge(now().date(), 1095).report_facts == 0
    assert _fact_count(db) == rows
    with transaction() as session:
        refresh = session.scalar(select(ReportFactRefresh))
        refresh.refreshed_at = now() - rules.FACTS_MAX_AGE - dt.timedelta(minutes=1)
    dry = purge(now().date(), 1095, dry_run=True)
    assert dry.report_facts == rows
    assert _fact_count(db) == rows
    report = purge(now().date(), 1095)
    assert report.report_facts == rows
    assert any("stale report facts deleted" in line for line in report.lines())
    assert _fact_count(db) == 0
    assert db.session.scalar(select(func.count()).select_from(ReportFactRefresh)) == 0
