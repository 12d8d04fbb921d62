"""The Fachadministration (issue 5, item 8) through the use cases and real requests: accounts
of the own municipality are created, edited, deactivated and reactivated, passwords set; bad
input is refused in German with nothing written; nobody else reaches /admin."""

from decimal import Decimal

import pytest
from sqlalchemy import event, select

from kimdb.auth import admin
from kimdb.auth import service as auth_service
from kimdb.auth.admin import AccountRefused
from kimdb.auth.models import Role, User
from kimdb.orgs.models import Organisation
from kimdb.orgs.service import ensure_organisation
from tests.factories import PASSWORD, csrf_token, login, make_case, make_client, make_user

NEW_PASSWORD = "neues-start-passwort"
HOME_ORG = "KI Testkreis"


@pytest.fixture()
def boss(client):
    """A logged-in administrator of Kreis Testkreis, admin.a."""
    user = make_user("admin.a", role=Role.ADMIN)
    login(client, "admin.a")
    return user


def organisation_id(db, name: str = HOME_ORG) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def foreign_organisation() -> Organisation:
    """An organisation of another municipality (Stadt Anderswo)."""
    return ensure_organisation("KI Anderswo", "Stadt Anderswo", "integration_centre")


def foreign_user(username: str, role: Role = Role.CASE_MANAGER) -> User:
    return auth_service.create_user(
        username, username.title(), role, foreign_organisation(), Decimal("1.0"), PASSWORD
    )


def snapshot(db) -> list[tuple]:
    """Everything of every account, to show that a refused request wrote nothing."""
    db.session.expire_all()
    return [
        (
            u.id,
            u.username,
            u.display_name,
            u.role,
            u.organisation_id,
            u.fte,
            u.active,
            u.password_hash,
            u.session_token,
        )
        for u in db.session.scalars(select(User).order_by(User.id))
    ]


def reload_user(db, username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def new_account(db, **overrides) -> dict:
    data = {
        "username": "CM.Neu",
        "display_name": "  Nina   Neu ",
        "role": "case_manager",
        "organisation_id": str(organisation_id(db)),
        "fte": "0,5",
        "active": "y",
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_new(http, data: dict, token: bool = True):
    if token:
        data = {**data, "csrf_token": csrf_token(http, "/admin/users/new")}
    return http.post("/admin/users/new", data=data)


def account_of(user: User, **overrides) -> dict:
    """The account form as the edit page shows it (no FTE: it changes with a date)."""
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


def post_edit(http, user_id: int, data: dict, token: bool = True):
    if token:
        data = {**data, "csrf_token": csrf_token(http, f"/admin/users/{user_id}")}
    return http.post(f"/admin/users/{user_id}", data=data)


def post_password(http, user_id: int, password: str, confirm: str | None = None, token=True):
    data = {"password-password": password, "password-password_confirm": confirm or password}
    if token:
        data["password-csrf_token"] = csrf_token(http, f"/admin/users/{user_id}")
    return http.post(f"/admin/users/{user_id}/password", data=data)


def post_status(http, user_id: int, action: str, token: bool = True):
    data = {}
    if token:
        data["status-csrf_token"] = csrf_token(http, f"/admin/users/{user_id}")
    return http.post(f"/admin/users/{user_id}/{action}", data=data)


def logged_in_as(app, username: str, password: str = PASSWORD):
    """A second browser, logged in as ``username``."""
    http = app.test_client()
    assert login(http, username, password).status_code == 302
    return http


def is_logged_in(http) -> bool:
    return http.get("/").status_code == 200


def refused_page(response, message: str) -> str:
    """Assert a 422 with ``message`` at its field and in the error summary; return the page."""
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page
    assert 'class="error-summary"' in page
    assert page.count(message) >= 2, f"{message!r} not at the field and in the summary"
    return page


# -- the list ---------------------------------------------------------------------------------
def test_admin_lists_accounts_of_every_organisation_of_the_municipality(client, db, boss):
    make_user("cm.anna")
    make_user("cm.awo", organisation="AWO Testkreis")
    foreign_user("cm.fremd")
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'data-testid="users-table"' in page
    assert "cm.anna" in page
    assert "cm.awo" in page
    assert "AWO Testkreis" in page
    assert "cm.fremd" not in page


def test_list_shows_open_cases_as_a_number_and_no_client_data(client, db, boss):
    anna = make_user("cm.anna")
    person = make_client(anna, given="Zubeida", family="Quraishi")
    make_case(anna, client=person)
    make_case(anna)
    page = client.get("/admin/users").get_data(as_text=True)
    assert '<td class="num">2</td>' in page
    assert "Zubeida" not in page
    assert "Quraishi" not in page
    assert "/clients/" not in page
    assert "/cases/" not in page


def test_deactivated_user_with_open_cases_shows_a_hint_with_the_number(client, db, boss):
    anna = make_user("cm.anna")
    for _ in range(3):
        make_case(anna)
    admin.deactivate(boss, anna)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "deaktiviert" in page
    assert "Noch 3 offene Fälle: brauchen eine neue Zuständigkeit" in page
    account = client.get(f"/admin/users/{anna.id}").get_data(as_text=True)
    assert 'data-testid="reassign-hint"' in account
    assert "Zubeida" not in account


def test_users_of_reads_accounts_teams_fte_and_open_cases_in_two_queries(db):
    boss = make_user("admin.a", role=Role.ADMIN)
    for name in ("cm.anna", "cm.bert", "cm.cara"):
        make_case(make_user(name))
    db.session.expire_all()
    boss = db.session.get(User, boss.id)
    boss.organisation  # noqa: B018 - loaded before counting
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        rows = admin.users_of(boss)
        names = [(r.user.username, r.user.organisation.name, r.open_cases) for r in rows]
        [(r.user.team, r.user.fte) for r in rows]
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 2
    assert ("cm.anna", HOME_ORG, 1) in names
    assert ("admin.a", HOME_ORG, 0) in names


def test_admin_start_page_links_to_the_user_administration(client, db, boss):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/admin/users"' in page
    assert "Die Fachadministration sieht keine Daten von Klient:innen." in page
    assert "Benutzerverwaltung" in page


def test_only_admins_see_the_navigation_link(client, db):
    make_user("cm.anna")
    login(client, "cm.anna")
    assert "Benutzerverwaltung" not in client.get("/").get_data(as_text=True)


# -- create -----------------------------------------------------------------------------------
def test_admin_creates_an_account_with_a_german_fte(app, client, db, boss):
    response = post_new(client, new_account(db))
    assert response.status_code == 302
    assert response.location == "/admin/users"
    user = reload_user(db, "cm.neu")
    assert user.display_name == "Nina Neu"
    assert user.role is Role.CASE_MANAGER
    assert user.fte == Decimal("0.50")
    assert user.active
    assert user.organisation.name == HOME_ORG
    assert "Das Konto „cm.neu“ ist angelegt." in client.get("/admin/users").get_data(as_text=True)
    assert is_logged_in(logged_in_as(app, "CM.NEU", NEW_PASSWORD))


def test_admin_creates_an_account_in_another_organisation_of_the_municipality(client, db, boss):
    awo = ensure_organisation("AWO Testkreis", "Kreis Testkreis", "welfare")
    response = post_new(
        client,
        new_account(
            db, organisation_id=str(awo.id), role="supervisor", supervised=f"organisation:{awo.id}"
        ),
    )
    assert response.status_code == 302
    user = reload_user(db, "cm.neu")
    assert user.organisation_id == awo.id
    assert user.role is Role.SUPERVISOR
    assert [s.organisation_id for s in user.supervisions] == [awo.id]


def test_an_account_created_inactive_cannot_log_in(app, client, db, boss):
    assert post_new(client, new_account(db, active=None)).status_code == 302
    assert reload_user(db, "cm.neu").active is False
    assert login(app.test_client(), "cm.neu", NEW_PASSWORD).status_code == 422


def test_new_account_form_offers_only_organisations_of_the_municipality(client, db, boss):
    foreign_organisation()
    ensure_organisation("AWO Testkreis", "Kreis Testkreis", "welfare")
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert "AWO Testkreis" in page
    assert "KI Anderswo" not in page
    assert "Konto anlegen" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"username": "CM.Anna"}, "Dieser Benutzername ist bereits vergeben."),
        ({"username": "anna müller"}, "Der Benutzername darf nur Buchstaben a–z"),
        ({"username": ""}, "Bitte einen Benutzernamen angeben."),
        ({"display_name": " "}, "Bitte den Namen angeben."),
        ({"fte": "1,5"}, "Der Stellenumfang muss zwischen 0,10 und 1,00 VZÄ liegen"),
        ({"fte": "0"}, "Der Stellenumfang muss zwischen 0,10 und 1,00 VZÄ liegen"),
        ({"fte": "halb"}, "Bitte den Stellenumfang als Zahl angeben"),
        ({"fte": None}, "Bitte den Stellenumfang angeben"),
        (
            {"password": "neun-zei9", "password_confirm": "neun-zei9"},
            "Das Passwort muss mindestens 10 Zeichen lang sein.",
        ),
        ({"password_confirm": "etwas-anderes-1"}, "Die beiden Passwörter stimmen nicht überein."),
        ({"role": "superuser"}, "Bitte eine der angebotenen Rollen wählen."),
        ({"role": None}, "Bitte eine der angebotenen Rollen wählen."),
    ],
)
def test_bad_new_account_is_refused_in_german_and_nothing_written(
    client, db, boss, overrides, message
):
    make_user("cm.anna")
    before = snapshot(db)
    response = post_new(client, new_account(db, **overrides))
    page = refused_page(response, message)
    assert snapshot(db) == before
    assert NEW_PASSWORD not in page  # passwords are never echoed
    if overrides.get("fte"):
        assert f'value="{overrides["fte"]}"' in page  # the input is kept
    if "display_name" not in overrides:
        assert 'value="  Nina   Neu "' in page or 'value="Nina Neu"' in page


def test_password_with_exactly_nine_characters_is_refused(client, db, boss):
    before = snapshot(db)
    nine = "x" * 9
    page = refused_page(
        post_new(client, new_account(db, password=nine, password_confirm=nine)),
        "Das Passwort muss mindestens 10 Zeichen lang sein.",
    )
    assert nine not in page
    assert snapshot(db) == before


def test_organisation_of_another_municipality_is_refused(client, db, boss):
    other = foreign_organisation()
    before = snapshot(db)
    response = post_new(client, new_account(db, organisation_id=str(other.id)))
    refused_page(response, "Bitte eine Organisation Ihres Kreises bzw. Ihrer Stadt wählen.")
    assert snapshot(db) == before
    for bogus in ("999999", "99999999999", "-1", "abc", ""):
        response = post_new(client, new_account(db, organisation_id=bogus))
        assert response.status_code == 422
    assert snapshot(db) == before


def test_use_case_refuses_a_taken_name_whatever_its_case(db):
    boss = make_user("admin.a", role=Role.ADMIN)
    make_user("cm.anna")
    with pytest.raises(AccountRefused) as caught:
        admin.create_user_account(
            boss,
            username=" CM.ANNA ",
            display_name="Anna Zwei",
            role=Role.CASE_MANAGER,
            organisation_id=boss.organisation_id,
            fte=Decimal("1"),
            password=NEW_PASSWORD,
        )
    assert caught.value.field == "username"


# -- edit -------------------------------------------------------------------------------------
def test_admin_edits_an_account(client, db, boss):
    bert = make_user("cm.bert", fte="0.5")
    awo = ensure_organisation("AWO Testkreis", "Kreis Testkreis", "welfare")
    data = account_of(
        bert,
        username="Bert.Berger",
        display_name="Bert Berger",
        role="supervisor",
        organisation_id=str(awo.id),
        supervised=[f"organisation:{awo.id}"],
        fte="0,75",  # not a field of the edit form: ignored
    )
    response = post_edit(client, bert.id, data)
    assert response.status_code == 302
    user = reload_user(db, "bert.berger")
    assert (user.display_name, user.role, user.organisation_id, user.fte) == (
        "Bert Berger",
        Role.SUPERVISOR,
        awo.id,
        Decimal("0.50"),
    )


def test_account_page_shows_the_stored_values(client, db, boss):
    bert = make_user("cm.bert", fte="0.5")
    page = client.get(f"/admin/users/{bert.id}").get_data(as_text=True)
    assert 'value="cm.bert"' in page
    assert 'name="fte"' not in page  # the FTE changes with a date only
    assert '<td class="num">0,50</td>' in page  # the FTE history
    assert 'value="case_manager" selected' in page or 'selected value="case_manager"' in page
    assert "Neues Passwort setzen" in page
    assert "Konto deaktivieren" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"username": "ADMIN.A"}, "Dieser Benutzername ist bereits vergeben."),
        ({"display_name": ""}, "Bitte den Namen angeben."),
        ({"role": "root"}, "Bitte eine der angebotenen Rollen wählen."),
        ({"role": "supervisor"}, "Bitte mindestens eine Organisation oder ein Team wählen"),
        ({"team_id": "abc"}, "Bitte ein Team der gewählten Organisation wählen"),
        ({"team_id": "999999"}, "Bitte ein Team der gewählten Organisation wählen"),
    ],
)
def test_bad_edit_is_refused_in_german_and_nothing_written(client, db, boss, overrides, message):
    bert = make_user("cm.bert")
    before = snapshot(db)
    refused_page(post_edit(client, bert.id, account_of(bert, **overrides)), message)
    assert snapshot(db) == before


def test_edit_into_an_organisation_of_another_municipality_is_refused(client, db, boss):
    bert = make_user("cm.bert")
    other = foreign_organisation()
    before = snapshot(db)
    response = post_edit(client, bert.id, account_of(bert, organisation_id=str(other.id)))
    refused_page(response, "Bitte eine Organisation Ihres Kreises bzw. Ihrer Stadt wählen.")
    assert snapshot(db) == before


@pytest.mark.parametrize("role", ["case_manager", "supervisor"])
def test_admin_cannot_demote_themself(client, db, boss, role):
    before = snapshot(db)
    response = post_edit(client, boss.id, account_of(boss, role=role))
    refused_page(response, "Sie können sich nicht selbst die Rolle Fachadministration entziehen.")
    assert snapshot(db) == before


def test_admin_can_demote_another_admin_and_edit_themself(client, db, boss):
    other = make_user("admin.b", role=Role.ADMIN)
    org = f"organisation:{other.organisation_id}"
    response = post_edit(client, other.id, account_of(other, role="supervisor", supervised=org))
    assert response.status_code == 302
    assert reload_user(db, "admin.b").role is Role.SUPERVISOR
    response = post_edit(client, boss.id, account_of(boss, display_name="Ada Admin"))
    assert response.status_code == 302
    assert reload_user(db, "admin.a").display_name == "Ada Admin"


def test_case_manager_with_open_cases_keeps_role_and_organisation(client, db, boss):
    anna = make_user("cm.anna")
    make_case(anna)
    awo = ensure_organisation("AWO Testkreis", "Kreis Testkreis", "welfare")
    before = snapshot(db)
    refused_page(
        post_edit(client, anna.id, account_of(anna, role="supervisor")),
        "Offene Fälle dieser Person: 1. Die Rolle kann erst geändert werden",
    )
    refused_page(
        post_edit(client, anna.id, account_of(anna, organisation_id=str(awo.id))),
        "Die Organisation kann erst gewechselt werden",
    )
    assert snapshot(db) == before
    assert post_edit(client, anna.id, account_of(anna, display_name="Anna A.")).status_code == 302


# -- password ---------------------------------------------------------------------------------
def test_setting_a_password_ends_the_users_sessions(app, client, db, boss):
    make_user("cm.anna")
    anna_browser = logged_in_as(app, "cm.anna")
    anna = reload_user(db, "cm.anna")
    response = post_password(client, anna.id, NEW_PASSWORD)
    assert response.status_code == 302
    assert not is_logged_in(anna_browser)
    assert login(app.test_client(), "cm.anna", PASSWORD).status_code == 422
    assert is_logged_in(logged_in_as(app, "cm.anna", NEW_PASSWORD))
    assert is_logged_in(client)  # the administrator stays logged in


def test_admin_setting_own_password_is_logged_out_everywhere(app, client, db, boss):
    response = post_password(client, boss.id, NEW_PASSWORD)
    assert response.status_code == 302
    assert not is_logged_in(client)
    assert is_logged_in(logged_in_as(app, "admin.a", NEW_PASSWORD))


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("zu-kurz", "zu-kurz", "Das Passwort muss mindestens 10 Zeichen lang sein."),
        ("", "", "Das Passwort muss mindestens 10 Zeichen lang sein."),
        (NEW_PASSWORD, "etwas-anderes-1", "Die beiden Passwörter stimmen nicht überein."),
    ],
)
def test_bad_password_is_refused_and_sessions_stay(
    app, client, db, boss, password, confirm, message
):
    make_user("cm.anna")
    anna_browser = logged_in_as(app, "cm.anna")
    anna = reload_user(db, "cm.anna")
    before = snapshot(db)
    page = refused_page(post_password(client, anna.id, password, confirm), message)
    assert snapshot(db) == before
    assert NEW_PASSWORD not in page
    assert is_logged_in(anna_browser)


# -- deactivate and reactivate ----------------------------------------------------------------
def test_deactivated_user_cannot_log_in_and_their_session_ends(app, client, db, boss):
    make_user("cm.anna")
    anna_browser = logged_in_as(app, "cm.anna")
    anna = reload_user(db, "cm.anna")
    response = post_status(client, anna.id, "deactivate")
    assert response.status_code == 302
    assert reload_user(db, "cm.anna").active is False
    assert anna_browser.get("/").status_code == 302  # logged out at the next request
    assert anna_browser.get("/").location.startswith("/login")
    assert login(app.test_client(), "cm.anna").status_code == 422
    page = client.get(f"/admin/users/{anna.id}").get_data(as_text=True)
    assert "Das Konto „cm.anna“ ist deaktiviert." in page
    assert "Konto wieder aktivieren" in page


def test_deactivated_case_manager_stays_on_the_supervisor_table(app, client, db, boss):
    anna = make_user("cm.anna")
    make_case(anna)
    make_user("lead", role=Role.SUPERVISOR)
    post_status(client, anna.id, "deactivate")
    page = logged_in_as(app, "lead").get("/").get_data(as_text=True)
    assert "Cm.Anna" in page
    assert "deaktiviert" in page


def test_admin_cannot_deactivate_themself(client, db, boss):
    before = snapshot(db)
    response = post_status(client, boss.id, "deactivate")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="error-summary"' in page
    assert "Sie können Ihr eigenes Konto nicht deaktivieren." in page
    assert snapshot(db) == before
    assert is_logged_in(client)


def test_reactivated_user_logs_in_again_but_old_sessions_stay_ended(app, client, db, boss):
    make_user("cm.anna")
    anna_browser = logged_in_as(app, "cm.anna")
    anna = reload_user(db, "cm.anna")
    post_status(client, anna.id, "deactivate")
    assert post_status(client, anna.id, "reactivate").status_code == 302
    assert reload_user(db, "cm.anna").active is True
    assert not is_logged_in(anna_browser)  # a copied cookie is not revived
    assert is_logged_in(logged_in_as(app, "cm.anna"))


# -- CSRF -------------------------------------------------------------------------------------
def test_every_form_without_csrf_token_is_refused_and_nothing_written(client, db, boss):
    bert = make_user("cm.bert")
    before = snapshot(db)
    responses = [
        post_new(client, new_account(db), token=False),
        post_edit(client, bert.id, account_of(bert, display_name="Neu"), token=False),
        post_password(client, bert.id, NEW_PASSWORD, token=False),
        post_status(client, bert.id, "deactivate", token=False),
        post_status(client, bert.id, "reactivate", token=False),
    ]
    for response in responses:
        assert response.status_code == 400
        assert "Sicherheitsprüfung" in response.get_data(as_text=True)
    assert snapshot(db) == before


# -- who reaches /admin -----------------------------------------------------------------------
def admin_routes(user_id: int, organisation_id: int = 7, team_id: int = 7):
    """Every route under /admin, with its method: (method, path)."""
    return [
        ("GET", "/admin/users"),
        ("GET", "/admin/users/new"),
        ("POST", "/admin/users/new"),
        ("GET", f"/admin/users/{user_id}"),
        ("POST", f"/admin/users/{user_id}"),
        ("POST", f"/admin/users/{user_id}/fte"),
        ("POST", f"/admin/users/{user_id}/password"),
        ("POST", f"/admin/users/{user_id}/deactivate"),
        ("POST", f"/admin/users/{user_id}/reactivate"),
        ("POST", f"/admin/users/{user_id}/totp/reset"),
        ("GET", "/admin/organisations"),
        ("POST", "/admin/organisations"),
        ("GET", f"/admin/organisations/{organisation_id}"),
        ("POST", f"/admin/organisations/{organisation_id}/teams"),
        ("POST", f"/admin/teams/{team_id}"),
        ("POST", f"/admin/teams/{team_id}/delete"),
    ]


def test_every_admin_route_is_listed_here(app):
    rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/admin")}
    listed = {
        path.replace("users/7", "users/<id:user_id>")
        .replace("organisations/7", "organisations/<id:organisation_id>")
        .replace("teams/7", "teams/<id:team_id>")
        for _, path in admin_routes(7)
    }
    assert rules == listed


@pytest.mark.parametrize("role", [Role.CASE_MANAGER, Role.SUPERVISOR])
def test_non_admins_get_403_on_every_admin_route(client, db, role):
    target = make_user("cm.bert")
    make_user("someone", role=role)
    login(client, "someone")
    before = snapshot(db)
    token = csrf_token(client, "/")
    for method, path in admin_routes(target.id):
        data = {"csrf_token": token, "status-csrf_token": token, "password-csrf_token": token}
        response = client.get(path) if method == "GET" else client.post(path, data=data)
        assert response.status_code == 403, (method, path)
    assert snapshot(db) == before


def test_anonymous_visitors_are_sent_to_the_login(client, db):
    target = make_user("cm.bert")
    for method, path in admin_routes(target.id):
        if method == "GET":
            response = client.get(path)
            assert response.status_code == 302, path
            assert response.location.startswith("/login")


def test_admin_of_another_municipality_gets_404_for_a_user(app, client, db, boss):
    stranger = foreign_user("admin.fremd", role=Role.ADMIN)
    bert = make_user("cm.bert")
    http = logged_in_as(app, "admin.fremd")
    token = csrf_token(http, "/admin/users")
    before = snapshot(db)
    for method, path in admin_routes(bert.id)[3:]:
        if "/users/" not in path:
            continue  # organisations and teams: tests/integration/test_organisations.py
        data = {"csrf_token": token, "status-csrf_token": token, "password-csrf_token": token}
        response = http.get(path) if method == "GET" else http.post(path, data=data)
        assert response.status_code == 404, (method, path)
    assert snapshot(db) == before
    assert "cm.bert" not in http.get("/admin/users").get_data(as_text=True)
    assert client.get(f"/admin/users/{stranger.id}").status_code == 404


def test_unknown_account_id_is_404(client, db, boss):
    assert client.get("/admin/users/999999").status_code == 404
    assert client.get("/admin/users/0").status_code == 404
    assert client.get(f"/admin/users/{2**31}").status_code == 404


def test_use_cases_refuse_an_account_of_another_municipality(db):
    boss = make_user("admin.a", role=Role.ADMIN)
    stranger = foreign_user("cm.fremd")
    for call in (admin.deactivate, admin.reactivate):
        with pytest.raises(AccountRefused):
            call(boss, stranger)
    with pytest.raises(AccountRefused):
        admin.set_password(boss, stranger, NEW_PASSWORD)
    assert admin.managed_user(boss, stranger.id) is None
