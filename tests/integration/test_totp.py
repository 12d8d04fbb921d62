"""Two-factor login, idle session expiry and login rate limits through real requests
(issue 6 item 7)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select, text

from kimdb.auth.models import Role, User
from kimdb.demo import DEMO_TOTP_SECRETS
from kimdb.extensions import transaction
from tests.factories import (
    PASSWORD,
    TOTP_SECRET,
    csrf_token,
    current_code,
    login,
    make_user,
)


def password_step(http, username: str, password: str = PASSWORD, next_path: str = ""):
    """Post only the password form; return the response."""
    return http.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": next_path,
            "csrf_token": csrf_token(http, "/login"),
        },
    )


def post_code(http, code: str, url: str = "/login/code"):
    return http.post(url, data={"code": code, "csrf_token": csrf_token(http, url)})


def reload_user(db, username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def wrong_code_for(secret: str) -> str:
    """A code that belongs to none of the accepted steps now."""
    valid = {pyotp.TOTP(secret).at(time.time() + 30 * k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def secret_on(page: str) -> str:
    return re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


# -- enrolment at the first login -----------------------------------------------------------
def test_required_role_without_app_sets_one_up_with_qr_code_and_first_code(client, db):
    make_user("sv.new", role=Role.SUPERVISOR, totp=False)
    response = password_step(client, "sv.new")
    assert response.location == "/login/enrol"
    page = client.get("/login/enrol").get_data(as_text=True)
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', page)
    assert "<script" not in page
    secret = secret_on(page)
    # the secret stays the same while the enrolment is not confirmed
    assert secret_on(client.get("/login/enrol").get_data(as_text=True)) == secret

    wrong = post_code(client, wrong_code_for(secret), "/login/enrol")
    assert wrong.status_code == 422
    assert "Der Code stimmt nicht." in wrong.get_data(as_text=True)
    assert reload_user(db, "sv.new").totp_secret is None
    assert client.get("/").status_code == 302  # not logged in

    right = post_code(client, pyotp.TOTP(secret).now(), "/login/enrol")
    assert right.status_code == 302 and right.location == "/"
    assert client.get("/").status_code == 200
    user = reload_user(db, "sv.new")
    assert user.totp_secret == secret and user.totp_enabled_at is not None
    assert user.last_login_at is not None and user.totp_last_step is not None
    raw = db.session.execute(text("SELECT totp_secret FROM users WHERE username = 'sv.new'"))
    assert secret.encode() not in bytes(raw.scalar_one())  # encrypted at rest


def test_malformed_enrolment_code_keeps_the_page_with_a_german_message(client, db):
    make_user("sv.new", role=Role.SUPERVISOR, totp=False)
    password_step(client, "sv.new")
    for typed, message in (("", "6-stelligen Code"), ("12ab56", "6-stelligen Code")):
        response = post_code(client, typed, "/login/enrol")
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert message in page and 'data-testid="totp-qr"' in page
        if typed:
            assert f'value="{typed}"' in page  # what was typed is kept


# -- the code step ---------------------------------------------------------------------------
def test_enrolled_user_logs_in_with_the_current_code(client, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    assert password_step(client, "sv.anna").location == "/login/code"
    response = post_code(client, current_code("sv.anna"))
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/").status_code == 200
    user = reload_user(db, "sv.anna")
    assert user.last_login_at is not None
    assert int(time.time() // 30) - user.totp_last_step in (0, 1)  # the step of the code


def test_wrong_code_is_refused_in_german_and_does_not_log_in(client, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    password_step(client, "sv.anna")
    response = post_code(client, wrong_code_for(TOTP_SECRET))
    assert response.status_code == 422
    assert "Der Code stimmt nicht." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert reload_user(db, "sv.anna").last_login_at is None


def test_replayed_code_is_refused(client, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    password_step(client, "sv.anna")
    code = current_code("sv.anna")
    assert post_code(client, code).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    password_step(client, "sv.anna")
    replay = post_code(client, code)
    assert replay.status_code == 422
    assert "Dieser Code wurde bereits verwendet." in replay.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_the_password_alone_gives_access_to_no_page(client, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    password_step(client, "sv.anna")
    for path in ("/", "/account", "/clients/", "/consent-forms/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.startswith("/login"), path


def test_password_marker_expires_after_five_minutes(client, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    password_step(client, "sv.anna")
    with client.session_transaction() as session:
        marker = session["pending_login"]
        session["pending_login"] = {**marker, "at": marker["at"] - 5 * 60 - 1}
    response = client.get("/login/code")
    assert response.status_code == 302 and response.location == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "Die Anmeldung ist abgelaufen." in page
    # the code alone does nothing now
    token = csrf_token(client, "/login")
    late = client.post("/login/code", data={"code": current_code("sv.anna"), "csrf_token": token})
    assert late.location == "/login"
    assert client.get("/").status_code == 302


def test_code_step_without_password_goes_to_the_login(client, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    assert client.get("/login/code").location == "/login"
    assert client.get("/login/enrol").location == "/login"


def test_next_page_is_kept_through_the_code_step(client, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    password_step(client, "sv.anna", next_path="/substitutions")
    assert post_code(client, current_code("sv.anna")).location == "/substitutions"


def test_case_manager_logs_in_with_the_password_alone(client, db):
    make_user("cm.anna")
    assert password_step(client, "cm.anna").location == "/"


def test_case_managers_can_be_required_to_use_two_factor(app, client, db, monkeypatch):
    monkeypatch.setitem(
        app.config, "TOTP_REQUIRED_ROLES", (*app.config["TOTP_REQUIRED_ROLES"], "case_manager")
    )
    make_user("cm.anna", totp=False)
    assert password_step(client, "cm.anna").location == "/login/enrol"


# -- voluntary enrolment, disabling, admin reset -----------------------------------------------
def test_case_manager_sets_up_an_app_and_switches_it_off_again(client, db):
    make_user("cm.anna")
    login(client, "cm.anna")
    account = client.get("/account").get_data(as_text=True)
    assert "Nicht eingerichtet" in account
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = secret_on(page)
    wrong = post_code(client, wrong_code_for(secret), "/account/two-factor")
    assert wrong.status_code == 422
    assert reload_user(db, "cm.anna").totp_enabled_at is None
    done = post_code(client, pyotp.TOTP(secret).now(), "/account/two-factor")
    assert done.location == "/account"
    assert "Eingerichtet seit" in client.get("/account").get_data(as_text=True)

    # from now on the login asks for the code
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert password_step(client, "cm.anna").location == "/login/code"
    assert post_code(client, current_code("cm.anna")).location == "/"

    # switching off needs the password and a fresh code
    next_code = pyotp.TOTP(secret).at(time.time() + 30)  # the login used the current step
    token = csrf_token(client, "/account")
    refused = client.post(
        "/account/two-factor/disable",
        data={"password": "falsch-falsch", "code": next_code, "csrf_token": token},
    )
    assert refused.status_code == 422
    assert "Das Passwort stimmt nicht." in refused.get_data(as_text=True)
    assert reload_user(db, "cm.anna").totp_enabled_at is not None
    empty = client.post("/account/two-factor/disable", data={"csrf_token": token})
    assert empty.status_code == 422
    assert "Bitte das Passwort eingeben." in empty.get_data(as_text=True)
    off = client.post(
        "/account/two-factor/disable",
        data={"password": PASSWORD, "code": next_code, "csrf_token": token},
    )
    assert off.location == "/account"
    user = reload_user(db, "cm.anna")
    assert user.totp_enabled_at is None and user.totp_secret is None
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert password_step(client, "cm.anna").location == "/"


def test_required_role_cannot_switch_two_factor_off(client, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    login(client, "sv.anna")
    page = client.get("/account").get_data(as_text=True)
    assert "vorgeschrieben" in page and "/account/two-factor/disable" not in page
    response = client.post(
        "/account/two-factor/disable",
        data={
            "password": PASSWORD,
            "code": pyotp.TOTP(TOTP_SECRET).at(time.time() + 30),
            "csrf_token": csrf_token(client, "/account"),
        },
    )
    assert response.status_code == 403
    assert reload_user(db, "sv.anna").totp_enabled_at is not None


def test_admin_reset_ends_sessions_and_asks_for_a_new_app(app, client, db):
    target = make_user("sv.lost", role=Role.SUPERVISOR)
    make_user("admin.kreis", role=Role.ADMIN)
    lost_phone = app.test_client()
    login(lost_phone, "sv.lost")
    assert lost_phone.get("/").status_code == 200

    login(client, "admin.kreis")
    page = client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert "Zwei-Faktor-Anmeldung zurücksetzen" in page
    token = csrf_token(client, f"/admin/users/{target.id}")
    response = client.post(f"/admin/users/{target.id}/totp/reset", data={"totp-csrf_token": token})
    assert response.location == f"/admin/users/{target.id}"
    assert "ist zurückgesetzt" in client.get(response.location).get_data(as_text=True)

    user = reload_user(db, "sv.lost")
    assert user.totp_secret is None and user.totp_enabled_at is None
    assert lost_phone.get("/").status_code == 302  # the running session has ended
    assert password_step(lost_phone, "sv.lost").location == "/login/enrol"


def test_reset_needs_the_csrf_token(client, db):
    target = make_user("sv.lost", role=Role.SUPERVISOR)
    make_user("admin.kreis", role=Role.ADMIN)
    login(client, "admin.kreis")
    assert client.post(f"/admin/users/{target.id}/totp/reset").status_code == 400
    assert reload_user(db, "sv.lost").totp_enabled_at is not None


def test_pending_code_step_ends_when_the_admin_resets(client, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    password_step(client, "sv.anna")
    token = csrf_token(client, "/login/code")
    user = reload_user(db, "sv.anna")
    with transaction():
        user.session_token = "changed-elsewhere"
    late = client.post("/login/code", data={"code": current_code("sv.anna"), "csrf_token": token})
    assert late.location == "/login"
    assert client.get("/").status_code == 302


# -- idle expiry, headers -----------------------------------------------------------------------
def test_session_ends_after_the_idle_minutes(app, client, db):
    make_user("cm.anna")
    login(client, "cm.anna")
    minutes = app.config["SESSION_IDLE_MINUTES"]
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - minutes * 60 - 5
    response = client.get("/")
    assert response.status_code == 302 and response.location == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert f"Sie wurden nach {minutes} Minuten ohne Aktivität abgemeldet." in page
    assert client.get("/").status_code == 302


def test_activity_keeps_the_session_and_refreshes_last_seen_once_a_minute(app, client, db):
    make_user("cm.anna")
    login(client, "cm.anna")
    minutes = app.config["SESSION_IDLE_MINUTES"]
    earlier = time.time() - minutes * 60 + 30
    with client.session_transaction() as session:
        session["seen_at"] = earlier
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        refreshed = session["seen_at"]
    assert refreshed > earlier + 60
    again = client.get("/")
    assert again.status_code == 200
    assert "Set-Cookie" not in again.headers  # nothing changed: the cookie is not sent again
    with client.session_transaction() as session:
        assert session["seen_at"] == refreshed  # not rewritten within the minute


def test_idle_minutes_come_from_the_setting(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 5)
    make_user("cm.anna")
    login(client, "cm.anna")
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 6 * 60
    assert client.get("/").status_code == 302
    assert "nach 5 Minuten" in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/login", "/login/code", "/login/enrol", "/account/two-factor"])
def test_csp_has_no_unsafe_inline(client, db, path):
    make_user("sv.new", role=Role.SUPERVISOR, totp=False)
    make_user("cm.anna")
    if path.startswith("/login/"):
        password_step(client, "sv.new")
    elif path.startswith("/account"):
        login(client, "cm.anna")
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert " style=" not in response.get_data(as_text=True)


def test_account_link_in_the_header(client, db):
    make_user("cm.anna")
    login(client, "cm.anna")
    assert 'href="/account"' in client.get("/").get_data(as_text=True)


# -- rate limits ---------------------------------------------------------------------------------
@pytest.fixture()
def limited(app, db):
    """An app with the rate limiter on (it is off in testing): 5 login posts per minute per
    address, 4 per hour per account."""
    from kimdb import create_app
    from kimdb.extensions import limiter

    limited_app = create_app(
        "testing",
        RATELIMIT_ENABLED=True,
        RATELIMIT_LOGIN="5 per minute",
        RATELIMIT_LOGIN_ACCOUNT="4 per hour",
    )
    limiter.reset()
    try:
        yield limited_app
    finally:
        limiter.enabled = False  # the limiter is one object for every app of the process
        limiter.reset()


def test_wrong_codes_from_one_address_hit_the_rate_limit(limited, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    make_user("sv.bert", role=Role.SUPERVISOR)
    http = limited.test_client()
    statuses = []
    for username in ("sv.anna", "sv.bert"):  # 3 codes each: below the limit per account
        password_step(http, username)
        statuses += [post_code(http, wrong_code_for(TOTP_SECRET)).status_code for _ in range(3)]
    assert statuses == [422] * 5 + [429]
    assert "Zu viele Versuche" in post_code(http, "123456").get_data(as_text=True)


def test_wrong_codes_for_one_account_from_many_addresses_hit_the_rate_limit(limited, db):
    make_user("sv.anna", role=Role.SUPERVISOR)
    statuses = []
    for address, attempts in (("192.0.2.1", 2), ("192.0.2.2", 2), ("192.0.2.3", 1)):
        http = limited.test_client()
        http.environ_base["REMOTE_ADDR"] = address
        password_step(http, "sv.anna")
        for _ in range(attempts):
            statuses.append(post_code(http, wrong_code_for(TOTP_SECRET)).status_code)
    assert statuses == [422] * 4 + [429]


def test_logins_are_still_counted_when_redis_is_down(app, db):
    """KIMDB_RATELIMIT_STORAGE_URL names a Redis that does not answer: the login page keeps
    working and the limit is counted in the worker's memory (no 500 for everyone)."""
    from kimdb import create_app
    from kimdb.extensions import limiter

    down = create_app(
        "testing",
        RATELIMIT_ENABLED=True,
        RATELIMIT_LOGIN="3 per minute",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",  # nothing listens on port 1
    )
    try:
        http = down.test_client()
        statuses = [password_step(http, "nobody", "wrong").status_code for _ in range(4)]
    finally:
        limiter.enabled = False  # no reset: it would ask the Redis that is not there
    assert statuses == [422, 422, 422, 429]


# -- demo ---------------------------------------------------------------------------------------
def _demo_user(db, username: str) -> User:
    """A supervisor ``username`` with the published demo secret of that name (if any)."""
    make_user(username, role=Role.SUPERVISOR, totp=False)
    user = reload_user(db, username)
    with transaction():
        user.totp_secret = DEMO_TOTP_SECRETS.get(username, TOTP_SECRET)
        user.totp_enabled_at = user.created_at
    return user


def test_demo_code_prints_the_current_code_of_a_demo_user(data_app, db, monkeypatch):
    _demo_user(db, "supervisor")
    monkeypatch.setenv("KIMDB_CONFIG", "development")
    result = data_app.test_cli_runner().invoke(args=["kimdb", "demo-code", "supervisor"])
    assert result.exit_code == 0, result.output
    valid = {pyotp.TOTP(DEMO_TOTP_SECRETS["supervisor"]).at(time.time() + k) for k in (-30, 0)}
    assert result.output.split()[0] in valid


def test_demo_code_refuses_outside_development_and_for_other_users(data_app, db, monkeypatch):
    supervisor = _demo_user(db, "supervisor")
    _demo_user(db, "sv.real")
    runner = data_app.test_cli_runner()
    monkeypatch.setenv("KIMDB_CONFIG", "production")
    result = runner.invoke(args=["kimdb", "demo-code", "supervisor"])
    assert result.exit_code == 1 and "development" in result.output
    monkeypatch.setenv("KIMDB_CONFIG", "development")
    result = runner.invoke(args=["kimdb", "demo-code", "sv.real"])
    assert result.exit_code == 1 and "not a demo user" in result.output
    # a demo user name whose secret is not the published one (set up anew by its owner)
    with transaction():
        supervisor.totp_secret = TOTP_SECRET
    result = runner.invoke(args=["kimdb", "demo-code", "supervisor"])
    assert result.exit_code == 1
    assert not re.search(r"^\d{6}$", result.output, re.M)
