"""The layout's navigation and user box are rendered once per role, name, language and site
root (``kimdb.views.site_navigation``, issue 8): each user still sees their own role's
navigation, their current name, the chosen language, and a logout form with the request's own
CSRF token."""

from __future__ import annotations

import re

from kimdb.auth.models import Role
from kimdb.extensions import db
from kimdb.views import CSRF_SLOT
from tests.factories import login, make_user

LOGOUT_TOKEN = re.compile(
    r'action="/logout" class="inline">\s*<input type="hidden" name="csrf_token" value="([^"]+)"'
)


def _named(user, name: str):
    user.display_name = name
    db.session.commit()
    return user


def _nav(html: str) -> str:
    return html[html.index("<nav") : html.index("</header>")]


def test_each_role_sees_its_own_navigation_and_name(client, app):
    _named(make_user("cm.anna"), "Anna Aksoy")
    _named(make_user("sv.berta", role=Role.SUPERVISOR), "Berta Brandt")
    login(client, "cm.anna")
    nav = _nav(client.get("/consent-forms/").get_data(as_text=True))
    assert "Fälle suchen" in nav and "Notfallzugriff" not in nav
    assert "Anna Aksoy · KIM-Case Manager:in" in nav
    client.post("/logout", data={"csrf_token": LOGOUT_TOKEN.search(nav).group(1)})

    login(client, "sv.berta")
    nav = _nav(client.get("/consent-forms/").get_data(as_text=True))
    assert "Notfallzugriff" in nav and "Fälle suchen" not in nav
    assert "Berta Brandt · Koordination / Teamleitung" in nav


def test_a_new_name_and_another_language_show_at_once(client, app):
    anna = _named(make_user("cm.anna"), "Anna Aksoy")
    login(client, "cm.anna")
    client.get("/consent-forms/")  # memorised as "Anna Aksoy", German
    anna.display_name = "Anna Aksoy-Berg"
    db.session.commit()
    page = client.get("/consent-forms/").get_data(as_text=True)
    assert "Anna Aksoy-Berg · KIM-Case Manager:in" in _nav(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/language", data={"locale": "en", "csrf_token": token})
    nav = _nav(client.get("/consent-forms/").get_data(as_text=True))
    assert "Search cases" in nav and "Fälle suchen" not in nav
    assert "Anna Aksoy-Berg" in nav


def test_the_logout_form_carries_the_requests_token_and_works(client, app):
    make_user("cm.anna")
    login(client, "cm.anna")
    page = client.get("/consent-forms/").get_data(as_text=True)
    assert CSRF_SLOT not in page
    token = LOGOUT_TOKEN.search(page).group(1)
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/consent-forms/").status_code == 302  # logged out: to the login page


def test_the_navigation_is_memorised_per_app_without_the_token(client, app):
    # The memo is what makes the layout cheap; it holds the slot, never a token (issue 8).
    app.extensions.pop("kimdb_navigation", None)
    make_user("cm.anna")
    login(client, "cm.anna")
    client.get("/consent-forms/")
    memo = app.extensions["kimdb_navigation"]
    assert len(memo) == 1
    (html,) = memo.values()
    assert CSRF_SLOT in html and 'value="<!--csrf-->"' in html
