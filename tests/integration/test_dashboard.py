"""The supervisor dashboard (issue 5 item 2): caseloads per team against the band (R5), entry
lag and inactivity (R6), FTE over time in the trend (item 3), metadata only (R8)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import event

from kimdb.auth.models import Role, Supervision
from kimdb.caseload.rules import month_ends
from kimdb.cases import casework
from kimdb.cases import service as cases_service
from kimdb.cases.models import (
    Consultation,
    ConsultationMode,
    FollowUp,
    LegalDomain,
    LifeArea,
    NoteKind,
)
from kimdb.cases.queries import median_entry_lag
from kimdb.cases.rules import CaseKind, ClosureReason, Stage
from kimdb.orgs.models import Team
from kimdb.orgs.service import ensure_organisation
from kimdb.timeutil import LOCAL_ZONE, now, today
from tests.factories import login, make_case, make_client, make_user

CM, KB = CaseKind.CASE_MANAGEMENT, CaseKind.SHORT_COUNSELLING
ORG = "KI Testkreis"


def open_cases(user, n, cm=0):
    return [make_case(user, CM if i < cm else KB) for i in range(n)]


def make_team(db, name, organisation=ORG):
    org = ensure_organisation(organisation, "Kreis Testkreis", "integration_centre")
    team = Team(organisation=org, name=name)
    db.session.add(team)
    db.session.commit()
    return team


def join(db, user, team):
    user.team_id = team.id
    db.session.commit()


def supervise_team(db, supervisor, team):
    supervisor.supervisions.clear()
    supervisor.supervisions.append(Supervision(team_id=team.id))
    db.session.commit()


def dashboard(client, query=""):
    response = client.get("/" + query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(page, team_id=0):
    """Return the HTML of one dashboard section (team ``team_id``, 0: without team)."""
    pattern = rf'<section class="dashboard-unit" id="o\d+-t{team_id}".*?</section>'
    match = re.search(pattern, page, re.S)
    assert match, f"no section for team {team_id}"
    return match.group(0)


def row(page, user):
    """Return the HTML of ``user``'s row."""
    match = re.search(rf'<tr[^>]*data-testid="row-{user.id}".*?</tr>', page, re.S)
    assert match, f"no row for {user.username}"
    return match.group(0)


def cell(row_html, column):
    match = re.search(rf'data-col="{column}">(.*?)</td>', row_html, re.S)
    assert match, column
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def names_in_order(page):
    return re.findall(r'data-testid="row-\d+">\s*<th scope="row">([^<]+?)\s*<', page)


# -- who is shown -------------------------------------------------------------------------------


def test_supervisor_sees_each_team_of_the_organisation_with_totals(client, db):
    north, south = make_team(db, "Nord"), make_team(db, "Süd")
    anna, ben = make_user("cm.anna", fte="0.5"), make_user("cm.ben", fte="1.0")
    carla = make_user("cm.carla", fte="0.5")
    join(db, anna, north)
    join(db, ben, north)
    join(db, carla, south)
    open_cases(anna, 3)
    open_cases(ben, 2)
    open_cases(carla, 1)
    loose = make_user("cm.loose", fte="0.2")
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    page = dashboard(client)

    nord = section(page, north.id)
    assert "Cm.Anna" in nord and "Cm.Ben" in nord and "Cm.Carla" not in nord
    total = re.search(r'data-testid="unit-total">.*?</tr>', nord, re.S).group(0)
    assert cell(total, "fte") == "1,50"
    assert cell(total, "open") == "5"
    assert cell(total, "band") == "75–90"  # 50–60 × 1.5 FTE
    assert "Cm.Carla" in section(page, south.id)
    assert "Cm.Loose" in section(page, 0)  # the organisation's case managers without a team
    assert row(page, loose)
    org_total = re.search(r'data-testid="organisation-total".*?</table>', page, re.S).group(0)
    assert cell(org_total, "open") == "6"
    assert cell(org_total, "fte") == "2,20"


def test_team_supervisor_sees_only_their_team(client, db):
    north, south = make_team(db, "Nord"), make_team(db, "Süd")
    anna, carla = make_user("cm.anna"), make_user("cm.carla")
    join(db, anna, north)
    join(db, carla, south)
    make_user("cm.loose")
    lead = make_user("sv.nord", role=Role.SUPERVISOR)
    supervise_team(db, lead, north)
    login(client, "sv.nord")
    page = dashboard(client)
    assert "Cm.Anna" in page
    assert "Cm.Carla" not in page
    assert "Cm.Loose" not in page
    assert 'data-testid="organisation-total"' not in page


def test_supervisor_of_another_organisation_sees_nothing_of_this_one(client, db):
    worker = make_user("cm.worker")
    open_cases(worker, 4)
    make_user("cm.elsewhere", organisation="Caritas Testkreis")
    make_user("sv.other", role=Role.SUPERVISOR, organisation="Caritas Testkreis")
    login(client, "sv.other")
    page = dashboard(client)
    assert "Cm.Worker" not in page
    assert "Cm.Elsewhere" in page
    assert f'data-testid="row-{worker.id}"' not in page


def test_supervisor_without_supervision_sees_an_empty_dashboard(client, db):
    make_user("cm.worker")
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    lead.supervisions.clear()
    db.session.commit()
    login(client, "sv.lead")
    page = dashboard(client)
    assert "Cm.Worker" not in page
    assert 'data-testid="no-supervision"' in page


def test_deactivated_user_with_open_cases_needs_a_new_owner(client, db):
    gone = make_user("cm.gone", fte="0.5")
    open_cases(gone, 3)
    idle = make_user("cm.idle")
    gone.active = idle.active = False
    db.session.commit()
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    page = dashboard(client)
    gone_row = row(page, gone)
    assert "deaktiviert" in gone_row
    assert 'data-testid="needs-new-owner-tag"' in gone_row
    assert f'href="/reassign/{gone.id}"' in gone_row
    assert "Cm.Idle" not in page  # deactivated without cases: nothing to do
    assert re.search(r'data-testid="deactivated-open">3<', page)
    total = re.search(r'data-testid="unit-total">.*?</tr>', page, re.S).group(0)
    assert "davon 3 bei deaktivierten" in total
    assert cell(total, "fte") == "0,00"  # a deactivated user holds no post any more


# -- figures ------------------------------------------------------------------------------------


def test_row_above_band_is_marked_and_figures_are_right(client, db):
    busy = make_user("cm.busy", fte="0.1")  # band 5–6
    open_cases(busy, 7, cm=2)
    calm = make_user("cm.calm", fte="0.1")
    open_cases(calm, 5)
    quiet = open_cases(calm, 1)[0]
    quiet.last_activity_on = today() - dt.timedelta(days=30)
    db.session.commit()
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    page = dashboard(client)
    busy_row, calm_row = row(page, busy), row(page, calm)
    assert "band-row-above" in busy_row
    assert 'data-testid="above-band"' in busy_row and "▲" in busy_row
    assert 'data-testid="above-band"' not in calm_row
    assert cell(busy_row, "open") == "7"
    assert cell(busy_row, "band") == "5–6"
    assert cell(busy_row, "cm_share") == "29 %"
    assert cell(calm_row, "inactive") == "1"
    assert cell(busy_row, "inactive") == "0"


def _consultation(case, user, held_ago, lag):
    held = today() - dt.timedelta(days=held_ago)
    entered = dt.datetime.combine(held + dt.timedelta(days=lag), dt.time(12), LOCAL_ZONE)
    return Consultation(
        case_id=case.id,
        held_on=held,
        duration_minutes=45,
        mode=ConsultationMode.IN_PERSON,
        entered_by_id=user.id,
        entered_at=entered,
    )


def _follow_up(case, user, due_in, done=False):
    return FollowUp(
        case_id=case.id,
        due_on=today() + dt.timedelta(days=due_in),
        text="Rückruf",
        created_by_id=user.id,
        created_at=now(),
        done_at=now() if done else None,
        done_by_id=user.id if done else None,
    )


def test_median_entry_lag_and_overdue_follow_ups(client, db):
    late = make_user("cm.late")
    case = make_case(late)
    db.session.add_all(
        [
            _consultation(case, late, 3, 0),
            _consultation(case, late, 10, 2),
            _consultation(case, late, 20, 5),
            _consultation(case, late, 40, 20),  # older than 30 days: not counted
            _follow_up(case, late, -5),
            _follow_up(case, late, -1),
            _follow_up(case, late, 0),  # due today: not overdue yet
            _follow_up(case, late, 3),
            _follow_up(case, late, -9, done=True),
        ]
    )
    db.session.commit()
    fresh = make_user("cm.fresh")
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    page = dashboard(client)
    assert median_entry_lag(late) == (2.0, 3)  # the case manager's own figure agrees
    assert cell(row(page, late), "lag") == "2"
    assert cell(row(page, late), "overdue") == "2"
    assert cell(row(page, fresh), "lag") == "–"
    assert cell(row(page, fresh), "overdue") == "0"


def test_the_dashboard_s_entry_lags_are_those_of_median_entry_lag(db):
    """The entry lags of the dashboard (``median_entry_lags``, grouped) are each person's
    ``median_entry_lag``: Berlin calendar days, an even count's median the mean of the middle
    two, only consultations of the last 30 days, none for a person without any."""
    from kimdb.caseload.service import supervised_figures

    supervisor = make_user("sv.lead", role=Role.SUPERVISOR)
    people = [make_user(f"cm.p{i}") for i in range(4)]
    case = make_case(people[0])
    for i, person in enumerate(people[:3]):
        for held_ago, lag in [(1, i), (2, 0), (3, 2 * i), (31, 9)][: 2 + i]:
            db.session.add(_consultation(case, person, held_ago, lag))
    # Entered at 23:30 Berlin time on the day held (UTC: the same day) and at 00:30 Berlin
    # time the day after (UTC: still the day held): lags 0 and 1.
    held = today() - dt.timedelta(days=4)
    for hour, day_after in ((23, 0), (0, 1)):
        entered = dt.datetime.combine(
            held + dt.timedelta(days=day_after), dt.time(hour, 30), LOCAL_ZONE
        )
        db.session.add(
            Consultation(
                case_id=case.id,
                held_on=held,
                duration_minutes=45,
                mode=ConsultationMode.IN_PERSON,
                entered_by_id=people[3].id,
                entered_at=entered.astimezone(dt.UTC),  # as kimdb stores it (SQLite: naive)
            )
        )
    db.session.commit()
    figures = {r.user_id: r for r in supervised_figures(supervisor, 30)}
    for person in people:
        assert (figures[person.id].median_lag, figures[person.id].lag_count) == (
            median_entry_lag(person)
        )
    assert [(figures[p.id].median_lag, figures[p.id].lag_count) for p in people] == [
        (0.0, 2),
        (1.0, 3),
        (2.0, 3),  # lags 2, 0, 4; the one held 31 days ago does not count
        (0.5, 2),
    ]


# -- sorting ------------------------------------------------------------------------------------


def test_sort_by_open_cases_changes_the_order(client, db):
    few, many = make_user("cm.aaa"), make_user("cm.zzz")
    open_cases(few, 1)
    open_cases(many, 3)
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    assert names_in_order(dashboard(client)) == ["Cm.Aaa", "Cm.Zzz"]
    assert names_in_order(dashboard(client, "?sort=open&dir=desc")) == ["Cm.Zzz", "Cm.Aaa"]
    assert names_in_order(dashboard(client, "?sort=open&dir=asc")) == ["Cm.Aaa", "Cm.Zzz"]
    page = dashboard(client, "?sort=open&dir=desc")
    assert 'href="/?sort=open&amp;dir=asc"' in page  # the active column toggles direction


@pytest.mark.parametrize("query", ["?sort=drop%20table", "?sort=open&dir=sideways", "?dir=desc"])
def test_bad_sort_arguments_fall_back(client, db, query):
    open_cases(make_user("cm.zzz"), 2)
    make_user("cm.aaa")
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    assert names_in_order(dashboard(client, query))[0] in {"Cm.Aaa", "Cm.Zzz"}


# -- trend and FTE over time --------------------------------------------------------------------


def trend_cells(page, testid):
    table = re.search(r'data-testid="trend-table".*?</table>', page, re.S).group(0)
    return [
        re.sub(r"<[^>]+>|▲", "", c).strip()
        for c in re.findall(rf'data-testid="{testid}">(.*?)</td>', table, re.S)
    ]


def test_fte_change_with_past_effective_date_changes_the_band_from_then_on(client, db):
    worker = make_user("cm.worker", fte="1.0")
    worker.fte_periods[0].valid_from = dt.date(2020, 1, 1)
    days = month_ends(today())
    change = days[6].replace(day=1)  # the FTE halves in the 7th month shown
    worker.set_fte(Decimal("0.5"), change)
    db.session.commit()
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    page = dashboard(client)
    bands = trend_cells(page, "trend-band")
    assert len(bands) == 12
    assert bands[:6] == ["50–60"] * 6
    assert bands[6:] == ["25–30"] * 6
    assert cell(row(page, worker), "fte") == "0,50"


def test_trend_counts_cases_open_at_each_month_end(client, db):
    worker = make_user("cm.worker", fte="0.1")
    days = month_ends(today())
    old, recent, closed = open_cases(worker, 3)
    old.opened_on = days[0] - dt.timedelta(days=10)
    recent.opened_on = days[9]  # open from the 10th month end on
    closed.opened_on = days[0] - dt.timedelta(days=10)
    db.session.commit()
    close(db, closed, days[3])
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    counts = trend_cells(dashboard(client), "trend-open")
    # closed on the 4th month end: counted on the first three only
    assert counts == ["2", "2", "2", "1", "1", "1", "1", "1", "1", "2", "2", "2"]


def close(db, case, day):
    """Close ``case`` on ``day`` directly (the service needs two consultations for a KB)."""
    case.stage = Stage.CLOSED
    case.closed_on = day
    case.closure_reason = ClosureReason.MOVED_AWAY
    db.session.commit()


def test_dashboard_renders_charts_with_a_bar_per_person(client, db):
    for name in ("cm.anna", "cm.ben"):
        open_cases(make_user(name, fte="0.1"), 2)
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    page = dashboard(client)
    chart = re.search(r'data-testid="caseload-chart".*?</figure>', page, re.S).group(0)
    assert chart.count('class="chart-row"') == 2
    assert 'role="img"' in chart
    assert "<title>Cm.Anna: 2 offene Fälle, Empfehlung 5–6</title>" in chart
    trend = re.search(r'data-testid="trend-chart".*?</figure>', page, re.S).group(0)
    assert trend.count('class="chart-column"') == 12


# -- need-to-know (R8) -------------------------------------------------------------------------


def test_no_client_data_note_texts_or_need_descriptions_on_the_dashboard(client, db):
    worker = make_user("cm.worker")
    person = make_client(worker, given="Zebulon", family="Quastenflosser")
    case = make_case(worker, CM, client=person)
    casework.write_note(case, NoteKind.INTERNAL, today(), "Geheimvermerk Wohnungslosigkeit", worker)
    cases_service.add_need(
        case, LifeArea.HOUSING, LegalDomain.SGB_II, "Bedarfstext Mietschulden", True, worker
    )
    casework.add_follow_up(case, today(), "Wiedervorlagetext Jobcenter", worker)
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    page = dashboard(client)
    assert "Cm.Worker" in page
    for secret in (
        "Zebulon",
        "Quastenflosser",
        "Geheimvermerk",
        "Bedarfstext",
        "Wiedervorlagetext",
        case.number,
    ):
        assert secret not in page


# -- few statements, whatever the number of people ---------------------------------------------


def test_dashboard_statement_count_does_not_grow_with_people(app, client, db):
    from kimdb.extensions import db as database

    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")

    def statements():
        with app.app_context():
            engine = database.engine
        count = []
        listener = lambda *args: count.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            dashboard(client)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(count)

    for name in ("cm.a", "cm.b"):
        open_cases(make_user(name), 1)
    few = statements()
    for name in ("cm.c", "cm.d", "cm.e", "cm.f"):
        user = make_user(name)
        open_cases(user, 2)
    assert statements() == few
    assert few <= 8  # login user, supervisions (+teams), figures, FTE periods, lags, trend


def test_figures_are_read_only_for_supervised_people(db):
    from kimdb.caseload.service import supervised_figures

    north, south = make_team(db, "Nord"), make_team(db, "Süd")
    anna, carla = make_user("cm.anna"), make_user("cm.carla")
    join(db, anna, north)
    join(db, carla, south)
    make_user("cm.elsewhere", organisation="Caritas Testkreis")
    lead = make_user("sv.nord", role=Role.SUPERVISOR)
    supervise_team(db, lead, north)
    assert [r.name for r in supervised_figures(lead, 30)] == ["Cm.Anna"]
