"""Organisation structure (issue 5, item 1): the municipalities of NRW from the Landtag answer,
and the administrator's pages for organisations and teams of their municipality. Bad input is
refused in German with HTTP 422, what was typed is kept and nothing is written."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kimdb.auth import admin
from kimdb.auth.models import Role, Supervision, User
from kimdb.orgs import service as orgs
from kimdb.orgs.models import Municipality, MunicipalityKind, Organisation, OrganisationKind, Team
from kimdb.orgs.service import ensure_organisation
from tests.factories import csrf_token, login, make_user

HOME_ORG = "KI Testkreis"


@pytest.fixture()
def boss(client):
    """A logged-in administrator of Kreis Testkreis, admin.a."""
    user = make_user("admin.a", role=Role.ADMIN)
    login(client, "admin.a")
    return user


def snapshot(db) -> list:
    """Every organisation, team and supervision, to show that a refusal wrote nothing."""
    db.session.expire_all()
    return [
        db.session.execute(
            select(Organisation.id, Organisation.name, Organisation.kind).order_by(Organisation.id)
        ).all(),
        db.session.execute(
            select(Team.id, Team.name, Team.organisation_id).order_by(Team.id)
        ).all(),
        db.session.execute(select(User.id, User.team_id).order_by(User.id)).all(),
    ]


def refused_page(response, message: str) -> str:
    """Assert a 422 with ``message`` on the page and an error summary; return the page."""
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page
    assert 'class="error-summary"' in page
    assert message in page
    return page


def home_organisation(db) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == HOME_ORG))


def make_team(name: str, organisation: Organisation) -> Team:
    return orgs.create_team(organisation.municipality_id, organisation, name)


def post_organisation(http, name: str, kind: str = "welfare"):
    data = {
        "organisation-name": name,
        "organisation-kind": kind,
        "organisation-csrf_token": csrf_token(http, "/admin/organisations"),
    }
    return http.post("/admin/organisations", data=data)


def post_team(http, organisation_id: int, name: str):
    token = csrf_token(http, f"/admin/organisations/{organisation_id}")
    data = {"team-name": name, "team-csrf_token": token}
    return http.post(f"/admin/organisations/{organisation_id}/teams", data=data)


def post_rename(http, team: Team, name: str):
    token = csrf_token(http, f"/admin/organisations/{team.organisation_id}")
    data = {f"team-{team.id}-name": name, f"team-{team.id}-csrf_token": token}
    return http.post(f"/admin/teams/{team.id}", data=data)


def post_delete(http, team: Team):
    token = csrf_token(http, f"/admin/organisations/{team.organisation_id}")
    return http.post(f"/admin/teams/{team.id}/delete", data={"delete-csrf_token": token})


# -- the municipalities of NRW ------------------------------------------------------------------
def test_the_list_holds_54_municipalities_with_713_posts():
    entries = orgs.municipalities_from_csv()
    assert len(entries) == 54
    assert len({e.name for e in entries}) == 54
    assert sum(e.cm_posts_2022 for e in entries) == Decimal(713)
    kinds = [e.kind for e in entries]
    assert kinds.count(MunicipalityKind.COUNTY) == 31  # 30 Kreise and the Städteregion Aachen
    assert kinds.count(MunicipalityKind.CITY) == 23  # 22 kreisfreie Städte and Aachen


def test_names_have_no_footnote_marks_or_split_hyphens():
    names = {e.name for e in orgs.municipalities_from_csv()}
    for name in names:
        assert "*" not in name and "- " not in name and name == name.strip(), name
    for name in (
        "Kreis Siegen-Wittgenstein",
        "Städteregion Aachen",
        "Aachen",
        "Kreis Minden-Lübbecke",
        "Mülheim an der Ruhr",
        "Rhein-Kreis Neuss",
        "Kreis Warendorf",
        "Köln",
    ):
        assert name in names


def test_the_kind_of_each_municipality_follows_its_name():
    by_name = {e.name: e for e in orgs.municipalities_from_csv()}
    for entry in by_name.values():
        assert orgs.municipality_kind(entry.name) is entry.kind, entry.name
    assert by_name["Hochsauerlandkreis"].kind is MunicipalityKind.COUNTY
    assert by_name["Märkischer Kreis"].kind is MunicipalityKind.COUNTY
    assert by_name["Städteregion Aachen"].kind is MunicipalityKind.COUNTY
    assert by_name["Bielefeld"].kind is MunicipalityKind.CITY
    assert by_name["Städteregion Aachen"].cm_posts_2022 == 12
    assert by_name["Kreis Warendorf"].cm_posts_2022 == 14


def test_seeding_is_idempotent_and_keeps_existing_municipalities(db):
    ensure_organisation(HOME_ORG, "Kreis Warendorf", "integration_centre")
    first = orgs.seed_municipalities()
    assert (first.added, first.present, first.total) == (53, 1, 54)
    again = orgs.seed_municipalities()
    assert (again.added, again.present) == (0, 54)
    assert db.session.scalar(select(func.count(Municipality.id))) == 54
    warendorf = db.session.scalar(
        select(Municipality).where(Municipality.name == "Kreis Warendorf")
    )
    assert [o.name for o in warendorf.organisations] == [HOME_ORG]


# -- organisations ------------------------------------------------------------------------------
def test_admin_sees_the_organisations_with_teams_and_people(client, db, boss):
    home = home_organisation(db)
    nord = make_team("Team Nord", home)
    make_team("Team Süd", home)
    awo = ensure_organisation("AWO Testkreis", "Kreis Testkreis", "welfare")
    anna = make_user("cm.anna")
    admin.update_user_account(
        boss,
        anna,
        username="cm.anna",
        display_name="Anna",
        role=Role.CASE_MANAGER,
        organisation_id=home.id,
        team_id=nord.id,
    )
    ensure_organisation("KI Anderswo", "Stadt Anderswo", "integration_centre")
    page = client.get("/admin/organisations").get_data(as_text=True)
    assert 'data-testid="organisations-table"' in page
    assert "Team Nord (1)" in page
    assert "Team Süd (0)" in page
    assert "Freie Wohlfahrtspflege" in page
    assert f'href="/admin/organisations/{awo.id}"' in page
    assert "KI Anderswo" not in page
    assert 'href="/admin/organisations"' in client.get("/admin/users").get_data(as_text=True)


def test_overview_reads_in_four_queries(db):
    from sqlalchemy import event

    make_user("admin.a", role=Role.ADMIN)
    home = home_organisation(db)
    for name in ("A", "B", "C"):
        make_team(name, home)
    ensure_organisation("AWO Testkreis", "Kreis Testkreis", "welfare")
    municipality_id = home.municipality_id
    db.session.expire_all()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        rows = orgs.organisation_overview(municipality_id)
        [(r.organisation.name, [t.team.name for t in r.teams]) for r in rows]
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 4, statements


def test_admin_creates_an_organisation_in_their_municipality(client, db, boss):
    response = post_organisation(client, "  Caritas   Testkreis ", "welfare")
    created = db.session.scalar(
        select(Organisation).where(Organisation.name == "Caritas Testkreis")
    )
    assert response.status_code == 302
    assert response.location == f"/admin/organisations/{created.id}"
    assert created.kind is OrganisationKind.WELFARE
    assert created.municipality_id == boss.organisation.municipality_id
    assert "Die Organisation „Caritas Testkreis“ ist angelegt." in client.get(
        response.location
    ).get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("ki testkreis", "welfare", "gibt es schon eine Organisation dieses Namens"),
        ("   ", "welfare", "Bitte den Namen der Organisation angeben."),
        ("x" * 201, "welfare", "Der Name darf höchstens 200 Zeichen haben."),
        ("Neue Stelle", "bank", "Bitte eine der angebotenen Arten wählen."),
    ],
)
def test_bad_organisation_is_refused_and_nothing_written(client, db, boss, name, kind, message):
    before = snapshot(db)
    page = refused_page(post_organisation(client, name, kind), message)
    assert snapshot(db) == before
    if name.strip():
        assert f'value="{name}"' in page  # what was typed is kept


def test_an_organisation_of_the_same_name_in_another_municipality_is_fine(client, db, boss):
    ensure_organisation("AWO", "Stadt Anderswo", "welfare")
    assert post_organisation(client, "AWO").status_code == 302


# -- teams --------------------------------------------------------------------------------------
def test_admin_creates_renames_and_deletes_a_team(client, db, boss):
    home = home_organisation(db)
    response = post_team(client, home.id, " Team  Nord ")
    assert response.status_code == 302
    assert response.location == f"/admin/organisations/{home.id}"
    team = db.session.scalar(select(Team))
    assert (team.name, team.organisation_id) == ("Team Nord", home.id)
    assert "Das Team „Team Nord“ ist angelegt." in client.get(response.location).get_data(
        as_text=True
    )
    assert post_rename(client, team, "Team Nordwest").status_code == 302
    db.session.expire_all()
    assert db.session.get(Team, team.id).name == "Team Nordwest"
    assert post_delete(client, team).status_code == 302
    assert db.session.scalar(select(func.count(Team.id))) == 0


def test_renaming_a_team_keeps_its_own_name_in_another_case(client, db, boss):
    team = make_team("Team Nord", home_organisation(db))
    assert post_rename(client, team, "TEAM NORD").status_code == 302


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("team nord", "Diese Organisation hat schon ein Team dieses Namens."),
        ("", "Bitte den Namen des Teams angeben."),
        ("t" * 121, "Der Name darf höchstens 120 Zeichen haben."),
    ],
)
def test_bad_team_name_is_refused_and_nothing_written(client, db, boss, name, message):
    home = home_organisation(db)
    make_team("Team Nord", home)
    other = make_team("Team Süd", home)
    before = snapshot(db)
    page = refused_page(post_team(client, home.id, name), message)
    if name:
        assert f'value="{name}"' in page
    page = refused_page(post_rename(client, other, name), message)
    if name:
        assert f'value="{name}"' in page
    assert snapshot(db) == before


def test_the_same_team_name_in_another_organisation_is_fine(client, db, boss):
    make_team("Team Nord", home_organisation(db))
    awo = ensure_organisation("AWO Testkreis", "Kreis Testkreis", "welfare")
    assert post_team(client, awo.id, "Team Nord").status_code == 302


def test_a_team_with_members_is_not_deleted(client, db, boss):
    home = home_organisation(db)
    team = make_team("Team Nord", home)
    anna = make_user("cm.anna")
    anna.team_id = team.id
    db.session.commit()
    before = snapshot(db)
    refused_page(post_delete(client, team), "Ihm gehören noch 1 Person(en) an.")
    assert snapshot(db) == before


def test_a_team_a_supervisor_is_responsible_for_is_not_deleted(client, db, boss):
    home = home_organisation(db)
    team = make_team("Team Nord", home)
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    lead.supervisions.append(Supervision(team_id=team.id))
    db.session.commit()
    before = snapshot(db)
    refused_page(post_delete(client, team), "Es wird noch von 1 Koordination(en) betreut.")
    assert snapshot(db) == before


def test_organisations_and_teams_of_another_municipality_are_not_found(client, db, boss):
    foreign = ensure_organisation("KI Anderswo", "Stadt Anderswo", "integration_centre")
    team = make_team("Team Fremd", foreign)
    before = snapshot(db)
    assert client.get(f"/admin/organisations/{foreign.id}").status_code == 404
    token = csrf_token(client, "/admin/organisations")
    for path in (
        f"/admin/organisations/{foreign.id}/teams",
        f"/admin/teams/{team.id}",
        f"/admin/teams/{team.id}/delete",
    ):
        data = {
            "team-name": "X",
            "team-csrf_token": token,
            f"team-{team.id}-name": "X",
            f"team-{team.id}-csrf_token": token,
            "delete-csrf_token": token,
        }
        assert client.post(path, data=data).status_code == 404, path
    assert client.get("/admin/organisations/999999").status_code == 404
    assert snapshot(db) == before


def test_use_cases_refuse_an_organisation_of_another_municipality(db):
    boss = make_user("admin.a", role=Role.ADMIN)
    foreign = ensure_organisation("KI Anderswo", "Stadt Anderswo", "integration_centre")
    mine = boss.organisation.municipality_id
    with pytest.raises(orgs.OrganisationRefused):
        orgs.create_team(mine, foreign, "Team X")
    team = make_team("Team Fremd", foreign)
    for call in (lambda: orgs.rename_team(mine, team, "Y"), lambda: orgs.delete_team(mine, team)):
        with pytest.raises(orgs.OrganisationRefused):
            call()
    assert orgs.organisation_in(mine, foreign.id) is None
    assert orgs.team_in(mine, team.id) is None


@pytest.mark.parametrize("role", [Role.CASE_MANAGER, Role.SUPERVISOR, Role.DPO])
def test_only_admins_reach_the_organisation_pages(client, db, role):
    home = ensure_organisation(HOME_ORG, "Kreis Testkreis", "integration_centre")
    team = make_team("Team Nord", home)
    make_user("someone", role=role)
    login(client, "someone")
    before = snapshot(db)
    token = csrf_token(client, "/emergency/log" if role is Role.DPO else "/")
    data = {"organisation-csrf_token": token, "team-csrf_token": token, "delete-csrf_token": token}
    for method, path in (
        ("GET", "/admin/organisations"),
        ("POST", "/admin/organisations"),
        ("GET", f"/admin/organisations/{home.id}"),
        ("POST", f"/admin/organisations/{home.id}/teams"),
        ("POST", f"/admin/teams/{team.id}"),
        ("POST", f"/admin/teams/{team.id}/delete"),
    ):
        response = client.get(path) if method == "GET" else client.post(path, data=data)
        assert response.status_code == 403, (method, path)
    assert snapshot(db) == before


def test_organisation_forms_without_csrf_token_are_refused(client, db, boss):
    home = home_organisation(db)
    team = make_team("Team Nord", home)
    before = snapshot(db)
    for path, data in (
        ("/admin/organisations", {"organisation-name": "Neu", "organisation-kind": "welfare"}),
        (f"/admin/organisations/{home.id}/teams", {"team-name": "Neu"}),
        (f"/admin/teams/{team.id}", {f"team-{team.id}-name": "Neu"}),
        (f"/admin/teams/{team.id}/delete", {}),
    ):
        assert client.post(path, data=data).status_code == 400, path
    assert snapshot(db) == before
