"""Login, logout, CSRF and cookie flags through real requests."""

from kimdb.auth.models import Role
from tests.factories import PASSWORD, csrf_token, login, make_user


def test_login_and_logout(client):
    make_user("cm.anna")
    response = login(client, "cm.anna")
    assert response.status_code == 302
    assert "Meine Fallzahl" in client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/")
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/").status_code == 302  # back to the login


def test_wrong_password_gives_german_message_without_hint(client):
    make_user("cm.anna")
    wrong_password = login(client, "cm.anna", "falsch-falsch")
    unknown_user = login(client, "niemand", PASSWORD)
    for response in (wrong_password, unknown_user):
        assert response.status_code == 422
        assert "Benutzername oder Passwort ist falsch." in response.get_data(as_text=True)
    # the two pages say exactly the same thing
    assert wrong_password.get_data(as_text=True).count("falsch") == unknown_user.get_data(
        as_text=True
    ).count("falsch")


def test_login_keeps_the_typed_user_name(client):
    make_user("cm.anna")
    page = login(client, "cm.anna", "falsch-falsch").get_data(as_text=True)
    assert 'value="cm.anna"' in page
    assert "falsch-falsch" not in page  # the password is never echoed


def test_empty_login_form_names_both_fields(client):
    token = csrf_token(client, "/login")
    page = client.post("/login", data={"csrf_token": token}).get_data(as_text=True)
    assert "Bitte den Benutzernamen eingeben." in page
    assert "Bitte das Passwort eingeben." in page


def test_post_without_csrf_token_is_refused(client):
    make_user("cm.anna")
    response = client.post("/login", data={"username": "cm.anna", "password": PASSWORD})
    assert response.status_code == 400
    assert "Sicherheitsprüfung" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in


def test_deactivated_user_cannot_log_in(client, db):
    user = make_user("cm.gone")
    user.active = False
    db.session.commit()
    assert login(client, "cm.gone").status_code == 422


def test_session_cookie_is_httponly_and_samesite(client):
    make_user("cm.anna")
    response = login(client, "cm.anna")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_config_marks_cookies_secure(monkeypatch):
    from config import Config

    monkeypatch.delenv("KIMDB_SECURE_COOKIES", raising=False)
    assert Config().SESSION_COOKIE_SECURE is True


def test_open_redirect_after_login_is_refused(client):
    make_user("cm.anna")
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={
            "username": "cm.anna",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": token,
        },
    )
    assert response.location == "/"


def test_pages_send_security_headers(client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_admin_sees_users_but_no_client_pages(client):
    make_user("admin.a", role=Role.ADMIN)
    login(client, "admin.a")
    assert "Benutzer:innen der Organisation" in client.get("/").get_data(as_text=True)
    assert client.get("/clients/").status_code == 403
    assert client.get("/clients/new").status_code == 403


def test_english_locale_can_be_chosen(client):
    make_user("cm.anna")
    login(client, "cm.anna")
    token = csrf_token(client, "/")
    client.post("/language", data={"locale": "en", "csrf_token": token})
    page = client.get("/").get_data(as_text=True)
    assert "My caseload" in page
    assert 'lang="en"' in page
