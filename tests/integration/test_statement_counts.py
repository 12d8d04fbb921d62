"""The daily pages issue a number of SQL statements that does not grow with the data (issue 8
items 3 and 5): each page is requested in a small world and in the same world with many more
rows, and both requests must issue the same number of statements (no N+1)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from kimdb.auth.models import Role
from kimdb.cases import casework
from kimdb.cases import service as cases_service
from kimdb.cases.models import ConsultationMode, FollowUp, LifeArea, NoteKind
from kimdb.cases.rules import CaseKind
from kimdb.extensions import db as database
from kimdb.orgs import service as orgs_service
from kimdb.orgs.models import Partner, PartnerKind
from kimdb.timeutil import now, today
from tests.factories import login, make_case, make_client, make_user

CM, KB = CaseKind.CASE_MANAGEMENT, CaseKind.SHORT_COUNSELLING
ORG = "KI Testkreis"


@contextmanager
def recorded_statements(app):
    """Collect the SQL text of every statement ``app``'s engine sends while the block runs."""
    with app.app_context():
        engine = database.engine
    statements: list[str] = []

    def note(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def page_statements(app, client, url: str) -> list[str]:
    """Request ``url`` (it must answer 200) and return the statements the request issued."""
    client.get(url)  # warm up: caches of the first request (e.g. the consent forms) are not data
    with recorded_statements(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return statements


def assert_same_count(small: list[str], large: list[str]) -> None:
    """Fail with both statement lists when their lengths differ."""
    assert len(small) == len(large), (
        "\n--- small world:\n" + "\n".join(small) + ("\n--- large world:\n" + "\n".join(large))
    )


def add_open_cases(user, n: int) -> list:
    """Open ``n`` cases for ``user`` (a third CM), each with a consultation; the first with a
    due follow-up."""
    cases = []
    for i in range(n):
        case = make_case(user, CM if i % 3 == 0 else KB)
        cases_service.record_consultation(
            case, today(), 45, ConsultationMode.IN_PERSON, None, "", by=user
        )
        if i == 0:  # one due follow-up (the form refuses past days; overdue ones are listed)
            database.session.add(
                FollowUp(
                    case_id=case.id,
                    due_on=today(),
                    text=f"Anruf {i}",
                    created_by_id=user.id,
                    created_at=now(),
                )
            )
            database.session.commit()
        cases.append(case)
    return cases


def fill_case(case, user, n: int, start: int = 0) -> None:
    """Record ``n`` consultations, notes, needs, goals and referrals (numbered from ``start``)
    in ``case``."""
    partner = database.session.scalar(select(Partner)) or orgs_service.add_partner(
        case.organisation_id, "Jobcenter Test", PartnerKind.AUTHORITY, "sgb_ii", None
    )
    for i in range(start, start + n):
        cases_service.record_consultation(
            case, today(), 30, ConsultationMode.PHONE, None, "", by=user
        )
        casework.write_note(case, NoteKind.INTERNAL, today(), f"Vermerk {i}", by=user)
        area = list(LifeArea)[i % len(LifeArea)]
        cases_service.add_need(case, area, None, f"Bedarf {i}", False, by=user)
        cases_service.add_goal(case, f"Ziel {i}", None, by=user)
        casework.record_referral(case, partner.id, today(), f"Zweck {i}", False, by=user)


# -- case manager pages ---------------------------------------------------------------------------
def test_case_manager_start_page_issues_the_same_statements_for_2_and_25_open_cases(
    app, client, db, anna
):
    add_open_cases(anna, 2)
    small = page_statements(app, client, "/")
    add_open_cases(anna, 23)
    large = page_statements(app, client, "/")
    assert client.get("/").get_data(as_text=True).count("/cases/") >= 25
    assert_same_count(small, large)


@pytest.mark.parametrize(
    "query", ["include_closed=y", "name=haddad", "kind=case_management", "flag=inactive"]
)
def test_case_search_issues_the_same_statements_for_few_and_many_matches(
    app, client, db, anna, query
):
    add_open_cases(anna, 2)
    small = page_statements(app, client, f"/cases/?{query}")
    add_open_cases(anna, 15)
    large = page_statements(app, client, f"/cases/?{query}")
    assert_same_count(small, large)


def test_case_search_reads_only_the_columns_its_list_shows(app, client, db, anna):
    """The list shows names and dates of birth: contact data are neither read nor decrypted."""
    add_open_cases(anna, 2)
    statements = page_statements(app, client, "/cases/?include_closed=y")
    search = [s for s in statements if "clients.family_name" in s]
    assert len(search) == 1, statements
    assert "clients.phone" not in search[0] and "clients.email" not in search[0]


def test_start_page_reads_only_the_columns_its_lists_show(app, client, db, anna):
    """The open cases show names only: contact data are neither read nor decrypted."""
    add_open_cases(anna, 2)
    statements = page_statements(app, client, "/")
    own = [s for s in statements if "clients.family_name" in s and "cases.last_activity_on" in s]
    assert own, statements
    assert not any("clients.phone" in s for s in own)


def test_client_list_issues_the_same_statements_for_1_and_15_clients(app, client, db, anna):
    make_client(anna)
    small = page_statements(app, client, "/clients/")
    for i in range(14):
        make_case(anna, KB, make_client(anna, given=f"Nour{i}"))
    large = page_statements(app, client, "/clients/")
    assert_same_count(small, large)


@pytest.mark.parametrize("page", ["", "/timeline"])
def test_case_page_issues_the_same_statements_for_2_and_20_records(app, client, db, anna, page):
    case = make_case(anna, CM)
    fill_case(case, anna, 2)
    small = page_statements(app, client, f"/cases/{case.id}{page}")
    fill_case(case, anna, 18, start=2)
    large = page_statements(app, client, f"/cases/{case.id}{page}")
    assert client.get(f"/cases/{case.id}{page}").get_data(as_text=True).count("Vermerk 19") >= 1
    assert_same_count(small, large)


# -- supervisor dashboard -------------------------------------------------------------------------
def test_supervisor_dashboard_issues_the_same_statements_for_2_and_8_case_managers(app, client, db):
    supervisor = make_user("sv.test", Role.SUPERVISOR)
    for n in range(2):
        add_open_cases(make_user(f"cm.{n}"), 2)
    login(client, "sv.test")
    small = page_statements(app, client, "/")
    for n in range(2, 8):
        add_open_cases(make_user(f"cm.{n}"), 2)
    large = page_statements(app, client, "/")
    assert client.get("/").get_data(as_text=True).count("Cm.7") >= 1
    assert supervisor.supervisions
    assert_same_count(small, large)


# -- the client list grows with years of case work: it is paged ------------------------------------
def test_client_list_is_paged_newest_first(db, anna):
    from kimdb.clients.service import client_page

    names = [make_client(anna, given=f"Nour{i}").id for i in range(5)]
    first, last = client_page(anna, 1, page_size=2), client_page(anna, 9, page_size=2)
    assert (first.total, first.pages, first.page) == (5, 3, 1)
    assert [c.id for c in first.clients] == names[::-1][:2]
    assert (last.page, [c.id for c in last.clients]) == (3, names[:1])


def test_client_list_page_shows_a_link_to_older_clients(client, db, anna):
    for i in range(51):
        make_client(anna, given=f"Nour{i}")
    page = client.get("/clients/").get_data(as_text=True)
    assert page.count("/clients/") - page.count('href="/clients/new"') >= 50
    assert "Nour50" in page and "Nour0<" not in page and 'rel="next"' in page
    older = client.get("/clients/?page=2").get_data(as_text=True)
    assert "Nour0<" in older and 'rel="prev"' in older
