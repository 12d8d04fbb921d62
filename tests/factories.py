"""Small factory functions for test data (STYLE.md: no giant shared fixture)."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

from PIL import Image

from kimdb.auth import service as auth_service
from kimdb.auth.models import Role, User
from kimdb.cases import service as cases_service
from kimdb.cases.models import Case
from kimdb.cases.rules import CaseKind
from kimdb.clients import service as clients_service
from kimdb.clients.models import Client, Gender, ResidenceStatus
from kimdb.orgs.service import ensure_organisation

PASSWORD = "correct horse battery"


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
) -> User:
    """Create a user in ``organisation`` (created if needed) with the password PASSWORD."""
    org = ensure_organisation(organisation, "Kreis Testkreis", "integration_centre")
    return auth_service.create_user(username, username.title(), role, org, Decimal(fte), PASSWORD)


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
    """Log in through the real form (CSRF token included); return the response."""
    return http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(http, "/login")},
    )


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
