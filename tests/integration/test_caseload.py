"""The start page: own caseload against the guideline (R5, FAQ KIM NRW Q33), sortable list."""

import datetime as dt

import pytest

from kimdb.auth.models import Role
from kimdb.cases.rules import CaseKind
from kimdb.timeutil import today
from tests.factories import login, make_case, make_user

CM, KB = CaseKind.CASE_MANAGEMENT, CaseKind.SHORT_COUNSELLING


def open_cases(user, n, cm=0):
    for i in range(n):
        make_case(user, CM if i < cm else KB)


def test_caseload_above_band_shows_a_warning(client, db):
    user = make_user("cm.small", fte="0.1")  # band 5–6
    open_cases(user, 7, cm=2)
    login(client, "cm.small")
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="caseload-warning"' in page
    assert "über der Empfehlung von höchstens 6 Fällen bei 0,10 VZÄ" in page
    assert "29 %" in page  # 2 of 7 are CM


def test_caseload_near_upper_bound_shows_a_notice(client, db):
    user = make_user("cm.near", fte="0.2")  # band 10–12, notice from 10.8
    open_cases(user, 11)
    login(client, "cm.near")
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="caseload-notice"' in page
    assert 'data-testid="caseload-warning"' not in page


def test_caseload_below_band_says_so(client, db):
    user = make_user("cm.few", fte="1.0")
    open_cases(user, 3)
    login(client, "cm.few")
    page = client.get("/").get_data(as_text=True)
    assert "unter der Empfehlung von 50–60 Fällen" in page
    assert 'data-testid="caseload-warning"' not in page


def test_closed_cases_do_not_count(client, db):
    from kimdb.cases import service
    from kimdb.cases.rules import ClosureReason

    user = make_user("cm.small", fte="0.1")
    open_cases(user, 7)
    case = make_case(user, KB)
    service.close_case(case, today(), ClosureReason.MOVED_AWAY, "", user)
    login(client, "cm.small")
    page = client.get("/").get_data(as_text=True)
    assert '<span class="figure-value" data-testid="open-cases">7</span>' in page


def test_other_users_cases_do_not_count(client, db):
    make_user("cm.me", fte="0.1")
    open_cases(make_user("cm.busy", fte="0.1"), 9)
    login(client, "cm.me")
    page = client.get("/").get_data(as_text=True)
    assert '<span class="figure-value" data-testid="open-cases">0</span>' in page
    assert "Sie haben keine offenen Fälle." in page


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_open_cases_sort_by_days_without_activity(client, db, direction):
    user = make_user("cm.sort")
    quiet = make_case(user, KB)
    busy = make_case(user, KB)
    quiet.last_activity_on = today() - dt.timedelta(days=45)
    db.session.commit()
    login(client, "cm.sort")
    page = client.get(f"/?sort=inactive&dir={direction}").get_data(as_text=True)
    first, second = (quiet, busy) if direction == "asc" else (busy, quiet)
    assert page.index(f'/cases/{first.id}"') < page.index(f'/cases/{second.id}"')
    assert "inaktiv" in page  # 45 days without activity is flagged


def test_unknown_sort_key_falls_back(client, db):
    make_user("cm.sort")
    login(client, "cm.sort")
    assert client.get("/?sort=drop%20table").status_code == 200


def test_supervisor_sees_caseloads_but_no_client_names(client, db):
    worker = make_user("cm.worker", fte="0.1")
    open_cases(worker, 8)
    make_user("sv.lead", role=Role.SUPERVISOR)
    login(client, "sv.lead")
    page = client.get("/").get_data(as_text=True)
    assert "Cm.Worker" in page
    assert "oberhalb der Empfehlung" in page
    assert "Haddad" not in page
    assert client.get("/clients/").status_code == 403
