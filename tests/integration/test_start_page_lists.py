"""The start page reads the open cases and their due follow-ups in one statement (issue 8):
the lists it shows stay those of the separate queries."""

import datetime as dt
import re

from kimdb.cases.models import FollowUp
from kimdb.cases.rules import CaseKind
from kimdb.substitution.models import Substitution
from kimdb.timeutil import now, today
from tests.factories import login, make_case, make_user

KB = CaseKind.SHORT_COUNSELLING


def add_follow_up(db, case, user, days, text):
    """A follow-up due ``days`` from today (past ones too: the form refuses those)."""
    db.session.add(
        FollowUp(
            case_id=case.id,
            due_on=today() + dt.timedelta(days=days),
            text=text,
            created_by_id=user.id,
            created_at=now(),
        )
    )
    db.session.commit()


def section(page: str, testid: str) -> str:
    return page.split(f'data-testid="{testid}"', 1)[1].split("</section>", 1)[0]


def test_a_case_with_two_due_follow_ups_is_listed_once_and_the_follow_ups_oldest_first(client, db):
    anna = make_user("cm.anna")
    first, second = make_case(anna, KB), make_case(anna, KB)
    add_follow_up(db, second, anna, -1, "Zweiter Fall gestern")
    add_follow_up(db, first, anna, 0, "Erster Fall heute")
    add_follow_up(db, first, anna, -5, "Erster Fall vor fünf Tagen")
    add_follow_up(db, first, anna, 3, "Erster Fall in drei Tagen")
    login(client, "cm.anna")
    page = client.get("/?sort=number").get_data(as_text=True)
    due = section(page, "due-follow-ups")
    texts = re.findall(r"<td>(\w+ Fall [^<]+)</td>", due)
    assert texts == ["Erster Fall vor fünf Tagen", "Zweiter Fall gestern", "Erster Fall heute"]
    listed = section(page, "open-cases-table")
    assert listed.count(f">{first.number}<") == 1 and listed.count(f">{second.number}<") == 1
    assert listed.index(first.number) < listed.index(second.number)
    assert 'data-testid="open-cases">2<' in page


def test_a_substitute_sees_the_due_follow_ups_of_the_cases_they_substitute_for(client, db):
    owner, substitute = make_user("cm.owner"), make_user("cm.sub")
    absent_case, own_case = make_case(owner, KB), make_case(substitute, KB)
    add_follow_up(db, absent_case, owner, -2, "Vertretung: Jobcenter anrufen")
    add_follow_up(db, own_case, substitute, 0, "Eigener Fall: Termin")
    db.session.add(
        Substitution(
            absent_user_id=owner.id,
            substitute_id=substitute.id,
            first_day=today(),
            last_day=today() + dt.timedelta(days=7),
            set_by_id=owner.id,
        )
    )
    db.session.commit()
    login(client, "cm.sub")
    due = section(client.get("/").get_data(as_text=True), "due-follow-ups")
    assert due.index("Vertretung: Jobcenter anrufen") < due.index("Eigener Fall: Termin")
    assert absent_case.number in due and own_case.number in due


def test_the_fte_read_with_the_open_cases_is_the_rule_s_fte_of_today(db):
    """``fte_on_column`` (SQL, read with the start page's open cases) gives what
    ``rules.fte_on`` gives for the same periods: the period begun last, or before the first
    period the first one; a change today counts today."""
    from decimal import Decimal

    from sqlalchemy import delete

    from kimdb.auth.models import FtePeriod
    from kimdb.caseload import rules
    from kimdb.caseload.service import caseload_of_rows, own_cases

    anna = make_user("cm.anna", fte="0.5")
    make_case(anna, KB)
    day = today()
    week = dt.timedelta(days=7)
    for periods in [
        [(day - week, "0.75")],
        [(day - 2 * week, "0.50"), (day - week, "0.80"), (day + week, "1.00")],
        [(day, "0.60"), (day - week, "0.30")],
        [(day + week, "0.90"), (day + 2 * week, "0.40")],  # only future periods
    ]:
        db.session.execute(delete(FtePeriod).where(FtePeriod.user_id == anna.id))
        for first, fte in periods:
            db.session.add(FtePeriod(user_id=anna.id, valid_from=first, fte=Decimal(fte)))
        db.session.commit()
        own = own_cases(anna)
        expected = rules.fte_on(sorted((f, Decimal(v)) for f, v in periods), day)
        assert own.fte == expected
        assert caseload_of_rows(anna, own.rows, own.fte) == caseload_of_rows(anna, own.rows)


def test_the_entry_lag_read_with_the_open_cases_is_the_rule_s_median(db):
    """``entry_lag_figures`` (SQL on PostgreSQL, read with the start page's open cases) gives
    what ``queries.median_entry_lag`` and ``rules.median_lag_days`` give: Berlin calendar
    days, never negative, only the consultations the user entered in the last 30 days, an
    even count's median the mean of the middle two; a user without open cases (no row to carry
    it) and SQLite read it apart."""
    from sqlalchemy import delete

    from kimdb.caseload.service import own_cases
    from kimdb.cases import rules as case_rules
    from kimdb.cases.models import Consultation, ConsultationMode
    from kimdb.cases.queries import median_entry_lag
    from kimdb.timeutil import LOCAL_ZONE, local_date

    anna, bert = make_user("cm.anna"), make_user("cm.bert")
    case = make_case(anna, KB)
    make_case(bert, KB)
    day = today()

    def held(days_ago, entered_local, by=anna):
        """A consultation held ``days_ago`` days before today, entered at ``entered_local``
        (days after holding it, Berlin hour and minute)."""
        lag_days, hour, minute = entered_local
        held_on = day - dt.timedelta(days=days_ago)
        entered = dt.datetime.combine(
            held_on + dt.timedelta(days=lag_days), dt.time(hour, minute), LOCAL_ZONE
        )
        return Consultation(
            case_id=case.id,
            held_on=held_on,
            duration_minutes=30,
            mode=ConsultationMode.IN_PERSON,
            entered_by_id=by.id,
            entered_at=entered.astimezone(dt.UTC),
        )

    for consultations in [
        [],
        [held(1, (0, 9, 0))],
        [held(2, (0, 23, 59)), held(3, (1, 0, 1))],  # 0 and 1 (Berlin midnight): 0.5
        [held(5, (2, 8, 0)), held(10, (0, 12, 0)), held(30, (7, 0, 30)), held(4, (-1, 12, 0))],
        [held(31, (0, 10, 0)), held(3, (4, 10, 0), by=bert), held(6, (3, 1, 0))],
        [held(d, (d % 4, 11, 0)) for d in range(12)],
    ]:
        db.session.execute(delete(Consultation))
        db.session.add_all(consultations)
        db.session.commit()
        since = day - dt.timedelta(days=case_rules.ENTRY_LAG_DAYS)
        lags = [
            max(0, (local_date(c.entered_at) - c.held_on).days)
            for c in consultations
            if c.entered_by_id == anna.id and c.held_on >= since
        ]
        expected = (case_rules.median_lag_days(lags), len(lags))
        own = own_cases(anna)
        assert (own.median_lag, own.lag_count) == expected == median_entry_lag(anna)
        assert own.rows  # the lag came with the open cases
    clara = make_user("cm.clara")  # no open case: no row to carry the lag
    db.session.add(held(2, (1, 9, 0), by=clara))
    db.session.commit()
    own = own_cases(clara)
    assert own.rows == [] and (own.median_lag, own.lag_count) == (1.0, 1)


# The loop of templates/caseload/case_manager.html before issue 8's change, kept as the reference.
START_PAGE_LOOP = """\
{% set inactive_tag = _("inaktiv") %}
{%- set case_url, kind_names, kinds, stages = url_builder('cases.show'), names['kind'], \
names['kind_short'], names['stage'] %}
{%- for c in rows %}
      <tr{% if c.days_inactive >= inactivity_days %} class="row-inactive"{% endif %}>
        <td><a href="{{ case_url(case_id=c.id) }}">{{ c.number }}</a></td>
        <td>{{ c.client_name }}</td>
        <td><abbr title="{{ kind_names[c.kind] }}">{{ kinds[c.kind] }}</abbr></td>
        <td>{{ stages[c.stage] }}</td>
        <td>{{ c.opened_on|date }}</td>
        <td>{{ c.last_consultation_on|date or '–' }}</td>
        <td class="num">{{ c.days_inactive }}{% if c.days_inactive >= inactivity_days %} \
<span class="tag tag-warn">{{ inactive_tag }}</span>{% endif %}</td>
      </tr>
    {% endfor %}"""


def test_the_open_case_rows_are_the_html_the_template_loop_rendered(app):
    from flask import render_template_string, session

    from kimdb import labels
    from kimdb.caseload.service import OpenCaseRow
    from kimdb.caseload.views import open_case_rows
    from kimdb.cases.rules import Stage

    names = ["Müller, Anna", '<script>alert("x")</script>, O\'Brien & Co', "[Daten gelöscht]"]
    rows = [
        OpenCaseRow(
            id=7 + i,
            number=f"2026-{7 + i:06d}",
            client_name=names[i % 3],
            kind=list(CaseKind)[i % 2],
            stage=stage,
            opened_on=dt.date(2026, 1, 1 + i % 3),
            last_consultation_on=None if i % 4 == 0 else dt.date(2026, 2, 1 + i % 2),
            days_inactive=[0, 29, 30, 61][i % 4],
        )
        for i, stage in enumerate([s for s in Stage if s is not Stage.CLOSED] * 2)
    ]
    for language in ("de", "en"):
        with app.test_request_context("/", base_url="http://localhost/kimdb"):
            session["locale"] = language
            names = labels.row_labels()
            expected = render_template_string(
                START_PAGE_LOOP, rows=rows, inactivity_days=30, names=names
            )
            assert str(open_case_rows(rows, 30, names)) == expected
            assert "&lt;script&gt;" in expected and "/kimdb/cases/7" in expected
