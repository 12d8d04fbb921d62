"""Accounts in the organisation structure (issue 5, items 1 and 8): team, the data protection
role, what a supervisor supervises, and deactivation ending the person's substitutions. Bad
input is refused in German with HTTP 422 and nothing written."""

import datetime as dt

import pytest
from sqlalchemy import select

from kimdb.auth import admin, policy
from kimdb.auth.admin import AccountRefused
from kimdb.auth.models import Role, Supervision, User
from kimdb.cases.models import Case
from kimdb.orgs import service as orgs
from kimdb.orgs.models import Organisation
from kimdb.orgs.service import ensure_organisation
from kimdb.substitution import service as substitution
from kimdb.substitution.models import Substitution
from kimdb.timeutil import today
from tests.factories import csrf_token, login, make_case, make_user

D = dt.timedelta
HOME_ORG = "KI Testkreis"
NEW_PASSWORD = "neues-start-passwort"


@pytest.fixture()
def boss(client):
    """A logged-in administrator of Kreis Testkreis, admin.a."""
    user = make_user("admin.a", role=Role.ADMIN)
    login(client, "admin.a")
    return user


@pytest.fixture()
def structure(db):
    """KI Testkreis with Team Nord and Team Süd, AWO Testkreis with Team AWO, and an
    organisation of another municipality with a team."""
    home = ensure_organisation(HOME_ORG, "Kreis Testkreis", "integration_centre")
    awo = ensure_organisation("AWO Testkreis", "Kreis Testkreis", "welfare")
    foreign = ensure_organisation("KI Anderswo", "Stadt Anderswo", "integration_centre")
    teams = {
        name: orgs.create_team(org.municipality_id, org, name)
        for name, org in (
            ("Team Nord", home),
            ("Team Süd", home),
            ("Team AWO", awo),
            ("Team Fremd", foreign),
        )
    }
    return {"home": home, "awo": awo, "foreign": foreign, **teams}


def snapshot(db) -> list:
    """Every account with team and supervisions, to show that a refusal wrote nothing."""
    db.session.expire_all()
    return [
        db.session.execute(
            select(User.id, User.username, User.role, User.organisation_id, User.team_id).order_by(
                User.id
            )
        ).all(),
        db.session.execute(
            select(
                Supervision.supervisor_id, Supervision.organisation_id, Supervision.team_id
            ).order_by(Supervision.id)
        ).all(),
    ]


def reload_user(db, username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def scopes_of(user: User) -> set[tuple]:
    return {(s.organisation_id, s.team_id) for s in user.supervisions}


def new_account(organisation: Organisation, **overrides) -> dict:
    data = {
        "username": "neu",
        "display_name": "Nina Neu",
        "role": "case_manager",
        "organisation_id": str(organisation.id),
        "team_id": "",
        "fte": "1,0",
        "active": "y",
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_new(http, data: dict):
    return http.post(
        "/admin/users/new", data={**data, "csrf_token": csrf_token(http, "/admin/users/new")}
    )


def account_of(user: User, **overrides) -> dict:
    data = {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "organisation_id": str(user.organisation_id),
        "team_id": str(user.team_id or ""),
        "supervised": [
            f"organisation:{s.organisation_id}" if s.organisation_id else f"team:{s.team_id}"
            for s in user.supervisions
        ],
    }
    data.update(overrides)
    return data


def post_edit(http, user_id: int, data: dict):
    token = csrf_token(http, f"/admin/users/{user_id}")
    return http.post(f"/admin/users/{user_id}", data={**data, "csrf_token": token})


def refused_page(response, message: str) -> str:
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page
    assert 'class="error-summary"' in page
    assert page.count(message) >= 2, f"{message!r} not at the field and in the summary"
    return page


# -- team -----------------------------------------------------------------------------------
def test_admin_creates_an_account_in_a_team(client, db, boss, structure):
    nord = structure["Team Nord"]
    response = post_new(client, new_account(structure["home"], team_id=str(nord.id)))
    assert response.status_code == 302
    assert reload_user(db, "neu").team_id == nord.id
    assert "Team Nord" in client.get("/admin/users").get_data(as_text=True)


def test_form_offers_the_teams_of_the_municipality_and_no_team(client, db, boss, structure):
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert "– kein Team –" in page
    assert "KI Testkreis · Team Nord" in page
    assert "AWO Testkreis · Team AWO" in page
    assert "Team Fremd" not in page


@pytest.mark.parametrize("team", ["Team AWO", "Team Fremd"])
def test_a_team_of_another_organisation_is_refused(client, db, boss, structure, team):
    before = snapshot(db)
    response = post_new(client, new_account(structure["home"], team_id=str(structure[team].id)))
    refused_page(response, "Bitte ein Team der gewählten Organisation wählen")
    anna = make_user("cm.anna")
    before = snapshot(db)
    response = post_edit(client, anna.id, account_of(anna, team_id=str(structure[team].id)))
    refused_page(response, "Bitte ein Team der gewählten Organisation wählen")
    assert snapshot(db) == before


def test_admin_moves_a_person_between_teams_and_out_of_them(client, db, boss, structure):
    anna = make_user("cm.anna")
    make_case(anna)  # open cases do not keep a person in a team
    south = structure["Team Süd"]
    assert post_edit(client, anna.id, account_of(anna, team_id=str(south.id))).status_code == 302
    assert reload_user(db, "cm.anna").team_id == south.id
    page = client.get(f"/admin/users/{anna.id}").get_data(as_text=True)
    assert f'selected value="{south.id}"' in page or f'value="{south.id}" selected' in page
    anna = reload_user(db, "cm.anna")
    assert post_edit(client, anna.id, account_of(anna, team_id="")).status_code == 302
    assert reload_user(db, "cm.anna").team_id is None


# -- roles ----------------------------------------------------------------------------------
def test_admin_creates_a_data_protection_account(client, db, boss, structure):
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="dpo"' in page and "Datenschutz" in page
    response = post_new(client, new_account(structure["home"], username="dsb", role="dpo"))
    assert response.status_code == 302
    dpo = reload_user(db, "dsb")
    assert dpo.role is Role.DPO
    assert dpo.supervisions == []
    assert "Datenschutz" in client.get("/admin/users").get_data(as_text=True)


# -- supervision ----------------------------------------------------------------------------
def test_admin_creates_a_supervisor_of_teams_and_an_organisation(client, db, boss, structure):
    nord, awo = structure["Team Nord"], structure["awo"]
    data = new_account(
        structure["home"],
        username="sv.neu",
        role="supervisor",
        supervised=[f"team:{nord.id}", f"organisation:{awo.id}"],
    )
    assert post_new(client, data).status_code == 302
    lead = reload_user(db, "sv.neu")
    assert scopes_of(lead) == {(None, nord.id), (awo.id, None)}
    member = make_user("cm.nord")
    outsider = make_user("cm.other")
    member.team_id = nord.id
    db.session.commit()
    supervised = db.session.scalars(select(User.username).where(policy.supervises(lead))).all()
    assert "cm.nord" in supervised
    assert outsider.username not in supervised


def test_supervisions_are_replaced_on_save(client, db, boss, structure):
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    assert scopes_of(lead) == {(structure["home"].id, None)}
    south, awo_team = structure["Team Süd"], structure["Team AWO"]
    data = account_of(lead, supervised=[f"team:{south.id}", f"team:{awo_team.id}"])
    assert post_edit(client, lead.id, data).status_code == 302
    lead = reload_user(db, "sv.lead")
    assert scopes_of(lead) == {(None, south.id), (None, awo_team.id)}
    page = client.get(f"/admin/users/{lead.id}").get_data(as_text=True)
    assert f'value="team:{south.id}"' in page
    assert page.count("checked") == 2
    data = account_of(lead, supervised=[f"team:{south.id}", f"organisation:{structure['home'].id}"])
    assert post_edit(client, lead.id, data).status_code == 302
    assert scopes_of(reload_user(db, "sv.lead")) == {(None, south.id), (structure["home"].id, None)}


OUTSIDE = "Bitte nur Organisationen und Teams Ihres Kreises bzw. Ihrer Stadt wählen."


@pytest.mark.parametrize(
    ("supervised", "message"),
    [
        ([], "Bitte mindestens eine Organisation oder ein Team wählen"),
        (["team:{foreign_team}"], OUTSIDE),
        (["organisation:{foreign}"], OUTSIDE),
        (["organisation:{home}", "team:{foreign_team}"], OUTSIDE),
        (["team:999999"], OUTSIDE),
        (["team:abc"], OUTSIDE),
        (["organisation:99999999999"], OUTSIDE),
        (["{home}"], OUTSIDE),
    ],
)
def test_bad_supervision_is_refused_and_nothing_written(
    client, db, boss, structure, supervised, message
):
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    ids = {
        "home": structure["home"].id,
        "foreign": structure["foreign"].id,
        "foreign_team": structure["Team Fremd"].id,
    }
    values = [v.format(**ids) for v in supervised]
    before = snapshot(db)
    refused_page(post_edit(client, lead.id, account_of(lead, supervised=values)), message)
    response = post_new(
        client, new_account(structure["home"], role="supervisor", supervised=values)
    )
    refused_page(response, message)
    assert snapshot(db) == before


def test_a_supervisor_who_becomes_a_case_manager_loses_their_supervisions(
    client, db, boss, structure
):
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    data = account_of(lead, role="case_manager", supervised=[f"team:{structure['Team Nord'].id}"])
    assert post_edit(client, lead.id, data).status_code == 302
    lead = reload_user(db, "sv.lead")
    assert lead.role is Role.CASE_MANAGER
    assert lead.supervisions == []


def test_use_case_without_a_choice_keeps_or_gives_the_own_organisation(db, structure):
    boss = make_user("admin.a", role=Role.ADMIN)
    anna = make_user("cm.anna")
    fields = {
        "username": "cm.anna",
        "display_name": "Anna",
        "organisation_id": anna.organisation_id,
    }
    admin.update_user_account(boss, anna, role=Role.SUPERVISOR, **fields)
    assert scopes_of(anna) == {(anna.organisation_id, None)}
    nord = structure["Team Nord"]
    admin.update_user_account(
        boss, anna, role=Role.SUPERVISOR, supervised=[f"team:{nord.id}"], **fields
    )
    admin.update_user_account(boss, anna, role=Role.SUPERVISOR, **fields)
    assert scopes_of(anna) == {(None, nord.id)}


def test_use_case_refuses_a_team_of_another_organisation(db, structure):
    boss = make_user("admin.a", role=Role.ADMIN)
    with pytest.raises(AccountRefused) as caught:
        admin.create_user_account(
            boss,
            username="neu",
            display_name="Neu",
            role=Role.CASE_MANAGER,
            organisation_id=structure["home"].id,
            team_id=structure["Team AWO"].id,
            fte=None,
            password=NEW_PASSWORD,
        )
    assert caught.value.field == "team_id"
    assert db.session.scalar(select(User).where(User.username == "neu")) is None


# -- deactivation ends substitutions by the person ------------------------------------------
def post_deactivate(http, user_id: int):
    token = csrf_token(http, f"/admin/users/{user_id}")
    return http.post(f"/admin/users/{user_id}/deactivate", data={"status-csrf_token": token})


def test_deactivation_ends_running_and_future_substitutions_by_the_person(client, db, boss):
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    owner = make_user("cm.owner")
    sub = make_user("cm.sub")
    other = make_user("cm.other")
    case = make_case(sub)
    running = substitution.set_substitution(lead, owner, sub, today() - D(days=2), today() + D(3))
    future = substitution.set_substitution(lead, other, sub, today() + D(10), today() + D(20))
    past = Substitution(
        absent_user_id=other.id,
        substitute_id=sub.id,
        first_day=today() - D(30),
        last_day=today() - D(20),
        set_by_id=lead.id,
    )
    own_absence = substitution.set_substitution(lead, sub, owner, today() + D(25), today() + D(30))
    db.session.add(past)
    db.session.commit()
    ids = {"running": running.id, "future": future.id, "past": past.id, "own": own_absence.id}

    response = post_deactivate(client, sub.id)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert (
        "Das Konto „cm.sub“ ist deaktiviert. 2 Vertretungen durch diese Person sind damit beendet."
        in page
    )
    db.session.expire_all()
    ended = {name: db.session.get(Substitution, i).ended_at is not None for name, i in ids.items()}
    assert ended == {"running": True, "future": True, "past": False, "own": False}
    assert db.session.get(Case, case.id).owner_id == sub.id  # open cases stay with them
    assert 'data-testid="reassign-hint"' in page


def test_deactivation_without_substitutions_says_nothing_about_them(client, db, boss):
    anna = make_user("cm.anna")
    response = post_deactivate(client, anna.id)
    page = client.get(response.location).get_data(as_text=True)
    assert "Das Konto „cm.anna“ ist deaktiviert." in page
    assert "Vertretung" not in page.split("ist deaktiviert.")[1].split("</")[0]


def test_a_refused_deactivation_ends_no_substitution(client, db, boss):
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    owner = make_user("cm.owner")
    sub = make_user("cm.sub")
    running = substitution.set_substitution(lead, owner, sub, today(), today() + D(3))
    stranger_boss = make_user("admin.b", role=Role.ADMIN)
    foreign = ensure_organisation("KI Anderswo", "Stadt Anderswo", "integration_centre")
    stranger_boss.organisation_id = foreign.id
    db.session.commit()
    with pytest.raises(AccountRefused):
        admin.deactivate(stranger_boss, sub)
    db.session.expire_all()
    assert db.session.get(Substitution, running.id).ended_at is None
    assert db.session.get(User, sub.id).active


def test_a_reactivated_substitute_does_not_get_the_ended_substitution_back(db):
    boss = make_user("admin.a", role=Role.ADMIN)
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    owner = make_user("cm.owner")
    sub = make_user("cm.sub")
    case = make_case(owner)
    substitution.set_substitution(lead, owner, sub, today(), today() + D(3))
    assert admin.deactivate(boss, sub) == 1
    admin.reactivate(boss, sub)
    visible = db.session.scalars(select(Case.id).where(policy.case_visible(sub))).all()
    assert case.id not in visible
