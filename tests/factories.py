"""Small factory functions for test data (STYLE.md: no giant shared fixture)."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pyotp
from flask import current_app
from PIL import Image
from sqlalchemy import select

from kimdb.auth import service as auth_service
from kimdb.auth.models import Role, User
from kimdb.cases import service as cases_service
from kimdb.cases.models import Case
from kimdb.cases.rules import CaseKind
from kimdb.clients import service as clients_service
from kimdb.clients.models import Client, Gender, ResidenceStatus
from kimdb.extensions import db, transaction
from kimdb.orgs.service import ensure_organisation
from kimdb.timeutil import now

PASSWORD = "correct horse battery"
# The authenticator-app secret of every test user who has one (base32, 160 bits).
TOTP_SECRET = "KIMDBTESTSECRETKIMDBTESTSECRET23"


def png_bytes() -> bytes:
    """Return a small real PNG image (a stand-in for a scanned consent)."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 60), "white").save(buffer, format="PNG")
    return buffer.getvalue()


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def make_user(
    username: str = "cm.test",
    role: Role = Role.CASE_MANAGER,
    fte: str = "1.0",
    organisation: str = "KI Testkreis",
    totp: bool | None = None,
) -> User:
    """Create a user in ``organisation`` (created if needed) with the password PASSWORD.

    With ``totp`` (default: when the role is in TOTP_REQUIRED_ROLES) the user has set up an
    authenticator app with TOTP_SECRET, so ``login`` can complete the code step.
    """
    org = ensure_organisation(organisation, "Kreis Testkreis", "integration_centre")
    user = auth_service.create_user(username, username.title(), role, org, Decimal(fte), PASSWORD)
    if totp is None:
        totp = role in current_app.config["TOTP_REQUIRED_ROLES"]
    if totp:
        with transaction():
            user.totp_secret = TOTP_SECRET
            user.totp_enabled_at = now()
    return user


def current_code(username: str, secret: str | None = None) -> str:
    """Return the code an authenticator app shows now for ``username`` (their stored secret,
    or ``secret``), after forgetting the user's last used time step.

    A test may log the same user in twice within one 30-second step; the second login would
    get the same code and be refused as a replay. Tests are not about that here (test_totp.py
    tests the replay), so the step is reset, as if the previous code were older.
    """
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == username))
    with transaction():
        user.totp_last_step = None
    return pyotp.TOTP(secret or user.totp_secret).now()


def make_client(
    by: User, given: str = "Amina", family: str = "Haddad", partners: list[str] | None = None
) -> Client:
    """Register a client with a valid consent (PNG scan) through the service."""
    return clients_service.register_client(
        clients_service.ConsentInput(
            form_version="2026-01",
            form_language="de",
            signed_on=dt.date(2026, 1, 15),
            processing_agreed=True,
            exchange_partners=partners or [],
            scan=png_bytes(),
        ),
        clients_service.ClientInput(
            given_name=given,
            family_name=family,
            date_of_birth=dt.date(1990, 5, 17),
            gender=Gender.FEMALE,
            country_of_origin="SY",
            residence_status=ResidenceStatus.RESIDENCE_PERMIT,
            languages=["ar", "de"],
        ),
        by=by,
    )


def make_case(
    by: User, kind: CaseKind = CaseKind.SHORT_COUNSELLING, client: Client | None = None
) -> Case:
    """Open a case for ``client`` (a new one if None) owned by ``by``."""
    return cases_service.open_case(client or make_client(by), kind, by)


def login(http, username: str, password: str = PASSWORD):
    """Log in through the real form (CSRF token included); return the last response.

    A user who needs the second step gets it done too: the current code of their stored
    secret (``current_code``), or, for a required role without an app, the enrolment with the
    secret shown on the enrolment page.
    """
    response = http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(http, "/login")},
    )
    if response.status_code != 302:
        return response
    if response.location == "/login/code":
        code = current_code(username)
    elif response.location == "/login/enrol":
        page = http.get("/login/enrol").get_data(as_text=True)
        secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1)
        code = current_code(username, secret.replace(" ", ""))
    else:
        return response
    return http.post(
        response.location,
        data={"code": code, "csrf_token": csrf_token(http, response.location)},
    )


def browser_login(page, server: str, username: str) -> None:
    """Log in through the login page in a Playwright ``page`` as ``username`` (password
    PASSWORD), with the code of their authenticator app when kimdb asks for one
    (``current_code``)."""
    page.goto(f"{server}/login")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Anmelden").click()
    if page.url.endswith("/login/code"):
        page.get_by_label("Code").fill(current_code(username))
        with page.expect_navigation():
            page.get_by_role("button", name="Anmelden").click()


def csrf_token(http, url: str) -> str:
    """Return the CSRF token of the form on page ``url``."""
    page = http.get(url).get_data(as_text=True)
    match = re.search(
        r'name="(?:\w+-)?csrf_token" type="hidden" value="([^"]+)"', page
    ) or re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post_case_form(http, case_id: int, action: str, prefix: str, **fields):
    """Post a form of the case page (its fields carry ``prefix``), CSRF token included."""
    data = {f"{prefix}-{k}": v for k, v in fields.items()}
    data[f"{prefix}-csrf_token"] = csrf_token(http, f"/cases/{case_id}")
    return http.post(f"/cases/{case_id}/{action}", data=data)


def count_rows(db, model, **where) -> int:
    """Count the rows of ``model`` matching ``where`` (column=value)."""
    from sqlalchemy import func, select

    query = select(func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalar(query)


def reload_case(db, case_id: int) -> Case:
    """Return the case read afresh from the database."""
    db.session.expire_all()
    return db.session.get(Case, case_id)
