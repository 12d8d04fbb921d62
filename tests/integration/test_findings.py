"""Structural findings (Systemmanagement, FAQ KIM NRW Q32) through the service and real requests:
recorded from a case without a link to it, aggregated for coordination of the municipality."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select

from kimdb.auth import service as auth_service
from kimdb.auth.models import Role, User
from kimdb.findings import service
from kimdb.findings.models import Finding, FindingCategory
from kimdb.orgs.service import ensure_organisation
from kimdb.timeutil import today
from tests.factories import PASSWORD, csrf_token, login, make_case, make_user

TESTKREIS = "KI Testkreis"
CARITAS = "Caritas Testkreis"  # another organisation in the same county


@pytest.fixture()
def anna(client):
    user = make_user("cm.anna")
    login(client, "cm.anna")
    return user


def user_elsewhere(username: str, role: Role):
    """A user of an organisation in another municipality."""
    org = ensure_organisation("KI Anderswo", "Stadt Anderswo", "integration_centre")
    return auth_service.create_user(username, username.title(), role, org, Decimal("1.0"), PASSWORD)


def count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Finding))


def form_data(client, url="/findings/new", **changes):
    data = {
        "category": "waiting_times",
        "agency": "Ausländerbehörde Kreis Warendorf",
        "description": "Termine zur Verlängerung von Titeln erst nach zehn Wochen.",
        "observed_on": today().isoformat(),
        "csrf_token": csrf_token(client, url),
    }
    data.update(changes)
    return data


def record(
    user,
    category=FindingCategory.WAITING_TIMES,
    agency="Jobcenter Kreis Warendorf",
    description="Weiterbewilligung dauert acht Wochen.",
    observed_on=None,
):
    return service.record_finding(user, category, agency, description, observed_on or today())


# -- recording ---------------------------------------------------------------------------


def test_finding_is_recorded_from_a_case_and_returns_to_it(client, db, anna):
    case = make_case(anna)
    url = f"/findings/new?back=/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Strukturelle Erkenntnis erfassen" in page
    assert f'value="{today().isoformat()}"' in page  # observed today unless changed
    response = client.post(url, data=form_data(client, url))
    assert response.status_code == 302
    assert response.location.endswith(f"/cases/{case.id}")
    finding = db.session.scalar(select(Finding))
    assert finding.category is FindingCategory.WAITING_TIMES
    assert finding.agency == "Ausländerbehörde Kreis Warendorf"
    assert finding.organisation_id == anna.organisation_id
    assert finding.recorded_by_id == anna.id
    listing = client.get("/findings/").get_data(as_text=True)
    assert "Termine zur Verlängerung von Titeln erst nach zehn Wochen." in listing


@pytest.mark.parametrize("back", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_back_must_be_a_local_path(client, db, anna, back):
    url = "/findings/new"
    response = client.post(url, query_string={"back": back}, data=form_data(client, url))
    assert response.status_code == 302
    assert response.location.endswith("/findings/")
    assert count(db) == 1


def test_missing_category_is_refused_and_input_kept(client, db, anna):
    response = client.post("/findings/new", data=form_data(client, category=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte prüfen Sie Ihre Eingaben" in page
    assert "Bitte eine Kategorie wählen." in page
    assert 'value="Ausländerbehörde Kreis Warendorf"' in page
    assert "Termine zur Verlängerung von Titeln erst nach zehn Wochen.</textarea>" in page
    assert count(db) == 0


def test_email_address_in_the_description_is_refused_and_input_kept(client, db, anna):
    text = "Rückfragen an beratung@example.org bleiben seit Wochen unbeantwortet."
    response = client.post("/findings/new", data=form_data(client, description=text))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (
        "Bitte keine personenbezogenen Daten (Namen, Geburtsdaten, Telefonnummern, "
        "E-Mail-Adressen, Fallnummern) in die Beschreibung schreiben." in page
    )
    assert f"{text}</textarea>" in page
    assert count(db) == 0


def test_case_number_in_the_description_is_refused(client, db, anna):
    response = client.post(
        "/findings/new", data=form_data(client, description="Wie im Fall 2026-000123 gesehen.")
    )
    assert response.status_code == 422
    assert "Bitte keine personenbezogenen Daten" in response.get_data(as_text=True)
    assert count(db) == 0


def test_future_observation_date_is_refused_and_input_kept(client, db, anna):
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = client.post("/findings/new", data=form_data(client, observed_on=tomorrow))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Das Datum darf nicht in der Zukunft liegen." in page
    assert f'value="{tomorrow}"' in page
    assert 'value="Ausländerbehörde Kreis Warendorf"' in page
    assert count(db) == 0


def test_too_short_description_is_refused(client, db, anna):
    response = client.post("/findings/new", data=form_data(client, description="kurz"))
    assert response.status_code == 422
    assert "zwischen 10 und 1000 Zeichen" in response.get_data(as_text=True)
    assert count(db) == 0


def test_post_without_csrf_token_is_refused(client, db, anna):
    data = form_data(client)
    del data["csrf_token"]
    response = client.post("/findings/new", data=data)
    assert response.status_code == 400
    assert "Formular abgelaufen" in response.get_data(as_text=True)
    assert count(db) == 0


def test_service_refuses_users_who_are_not_case_managers(db):
    supervisor = make_user("sv.paula", Role.SUPERVISOR)
    with pytest.raises(service.NotAllowed):
        record(supervisor)
    assert count(db) == 0


def test_known_agency_keeps_its_spelling_and_is_suggested(client, db, anna):
    colleague = make_user("cm.ben", organisation=CARITAS)
    record(colleague, agency="Jobcenter Kreis Warendorf")
    record(user_elsewhere("cm.fremd", Role.CASE_MANAGER), agency="Sozialamt Anderswo")
    finding = record(anna, agency="  jobcenter   kreis WARENDORF ")
    assert finding.agency == "Jobcenter Kreis Warendorf"
    page = client.get("/findings/new").get_data(as_text=True)
    assert '<option value="Jobcenter Kreis Warendorf">' in page
    assert "Sozialamt Anderswo" not in page


def test_case_manager_lists_only_own_findings(client, db, anna):
    record(anna, description="Eigene Beobachtung zur Wartezeit.")
    record(make_user("cm.ben"), description="Beobachtung einer Kollegin.")
    page = client.get("/findings/").get_data(as_text=True)
    assert "Eigene Beobachtung zur Wartezeit." in page
    assert "Beobachtung einer Kollegin." not in page


# -- coordination ------------------------------------------------------------------------


@pytest.fixture()
def county_findings(db):
    """Findings of two organisations in Kreis Testkreis and one elsewhere."""
    anna = make_user("cm.anna")
    ben = make_user("cm.ben", organisation=CARITAS)
    record(anna, agency="Jobcenter Kreis Warendorf", description="Weiterbewilligung dauert lang.")
    record(ben, agency="Jobcenter Kreis Warendorf", description="Keine Sprachmittlung im Termin.")
    record(
        ben,
        FindingCategory.MISSING_SERVICE,
        "Kinderärzte Beckum",
        "Keine Praxis nimmt neue Kinder auf.",
    )
    record(
        anna,
        agency="Familienkasse",
        description="Alte Beobachtung außerhalb des Zeitraums.",
        observed_on=today() - dt.timedelta(days=500),
    )
    record(
        user_elsewhere("cm.fremd", Role.CASE_MANAGER),
        agency="Sozialamt Anderswo",
        description="Beobachtung aus einer anderen Stadt.",
    )


def test_supervisor_sees_counts_per_category_and_agency_and_the_descriptions(
    client, db, county_findings
):
    make_user("sv.paula", Role.SUPERVISOR)
    login(client, "sv.paula")
    response = client.get("/findings/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<td>Jobcenter Kreis Warendorf</td><td class="num">2</td>' in page
    assert '<td>Kinderärzte Beckum</td><td class="num">1</td>' in page
    assert 'data-testid="total-waiting_times"><strong>2</strong>' in page
    assert 'data-testid="findings-total">3</td>' in page
    assert "Keine Sprachmittlung im Termin." in page
    assert "Keine Praxis nimmt neue Kinder auf." in page
    # The default period is the last twelve months; nothing of another municipality.
    assert "Alte Beobachtung" not in page
    assert "Sozialamt Anderswo" not in page
    # Anonymous: neither the authors nor their organisations are shown.
    for name in ("Cm.Anna", "Cm.Ben", CARITAS):
        assert name not in page


def test_supervisor_chooses_the_period(client, db, county_findings):
    make_user("sv.paula", Role.SUPERVISOR)
    login(client, "sv.paula")
    start = (today() - dt.timedelta(days=600)).isoformat()
    page = client.get(f"/findings/?date_from={start}&date_to=").get_data(as_text=True)
    assert "Alte Beobachtung außerhalb des Zeitraums." in page
    assert 'data-testid="findings-total">4</td>' in page


def test_period_ending_before_it_begins_is_refused(client, db, county_findings):
    make_user("sv.paula", Role.SUPERVISOR)
    login(client, "sv.paula")
    start, end = today().isoformat(), (today() - dt.timedelta(days=7)).isoformat()
    response = client.get(f"/findings/?date_from={start}&date_to={end}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Das Ende des Zeitraums liegt vor seinem Anfang." in page
    assert f'value="{start}"' in page and f'value="{end}"' in page


def test_supervisor_of_another_municipality_sees_none_of_them(client, db, county_findings):
    user_elsewhere("sv.fremd", Role.SUPERVISOR)
    login(client, "sv.fremd")
    page = client.get("/findings/").get_data(as_text=True)
    assert "Sozialamt Anderswo" in page
    assert "Jobcenter Kreis Warendorf" not in page
    assert "Keine Sprachmittlung im Termin." not in page


def test_aggregate_is_for_supervisors_only(db, county_findings):
    anna = db.session.scalar(select(User).where(User.username == "cm.anna"))
    with pytest.raises(service.NotAllowed):
        service.aggregate(anna)


def test_admin_gets_403(client, db):
    make_user("admin.max", Role.ADMIN)
    login(client, "admin.max")
    assert client.get("/findings/").status_code == 403
    assert client.get("/findings/new").status_code == 403


def test_supervisor_cannot_record_findings(client, db):
    make_user("sv.paula", Role.SUPERVISOR)
    login(client, "sv.paula")
    assert client.get("/findings/new").status_code == 403


def test_navigation_links_to_findings_for_case_managers_and_supervisors(client, db, anna):
    assert 'href="/findings/"' in client.get("/").get_data(as_text=True)


# -- no link to a case or a client -------------------------------------------------------


def test_findings_table_refers_to_no_case_and_no_client(db):
    table = Finding.__table__
    referred = {fk.column.table.name for fk in table.foreign_keys}
    assert referred == {"organisations", "users"}
    columns = {c.name for c in table.columns}
    assert not any("case" in c or "client" in c or "household" in c for c in columns)
    # The migrated schema agrees with the model.
    inspector = inspect(db.engine)
    assert {c["name"] for c in inspector.get_columns("findings")} == columns
    assert {fk["referred_table"] for fk in inspector.get_foreign_keys("findings")} == {
        "organisations",
        "users",
    }


def test_only_the_newest_descriptions_are_listed_but_all_are_counted(
    client, db, county_findings, monkeypatch
):
    monkeypatch.setattr(service, "DESCRIPTIONS_PER_CATEGORY", 1)
    make_user("sv.paula", Role.SUPERVISOR)
    login(client, "sv.paula")
    page = client.get("/findings/").get_data(as_text=True)
    assert 'data-testid="total-waiting_times"><strong>2</strong>' in page
    assert "Die 1 neuesten Beschreibungen; 1 ältere sind mitgezählt" in page


def test_demo_findings_are_added_for_the_given_case_managers(db):
    import random

    from kimdb.findings.demo import add_demo_findings

    users = [make_user("cm.anna"), make_user("cm.ben", organisation=CARITAS)]
    added = add_demo_findings(random.Random(7), users, today())
    db.session.commit()
    assert added == count(db) >= 20
    observed = db.session.scalars(select(Finding.observed_on)).all()
    assert max(observed) <= today()
    assert {f.recorded_by_id for f in db.session.scalars(select(Finding))} <= {u.id for u in users}
