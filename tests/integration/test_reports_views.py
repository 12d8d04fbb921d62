"""The statistics report's pages and downloads (issue 7 items 1–5) through real requests: the
county report for coordination, bad periods, foreign scopes, the state's view, the exports and
the structural findings section."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from kimdb.auth import service as auth_service
from kimdb.auth.models import Role
from kimdb.cases.rules import CaseKind
from kimdb.extensions import transaction
from kimdb.findings.models import Finding, FindingCategory
from kimdb.orgs.models import Municipality, MunicipalityKind
from kimdb.orgs.service import ensure_organisation
from kimdb.timeutil import today
from tests.factories import PASSWORD, login, make_case, make_user
from tests.integration.test_access_matrix import MATRIX, world  # noqa: F401 - fixture

YEAR = today().year


def state_user(username: str = "kfi.test"):
    """A user of the state's office (role state) in the municipality of kind state."""
    with transaction() as session:
        session.add(Municipality(name="Land Nordrhein-Westfalen", kind=MunicipalityKind.STATE))
    org = ensure_organisation("KfI Test", "Land Nordrhein-Westfalen", "municipal_office")
    user = auth_service.create_user(
        username, "Kompetenzzentrum", Role.STATE, org, Decimal("1.0"), PASSWORD
    )
    from flask import current_app

    if Role.STATE in current_app.config["TOTP_REQUIRED_ROLES"]:
        from kimdb.timeutil import now
        from tests.factories import TOTP_SECRET

        with transaction():
            user.totp_secret = TOTP_SECRET
            user.totp_enabled_at = now()
    return user


def scope_options(page: str) -> dict[str, str]:
    """Return value → label of the scope select on a report form page."""
    select = re.search(r'<select[^>]*name="scope".*?</select>', page, re.S).group(0)
    return dict(re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select))


def county_scope(http) -> str:
    """The value of the user's county ("municipality:<id>") in the report form."""
    page = http.get("/reports/").get_data(as_text=True)
    values = [v for v in scope_options(page) if v.startswith("municipality:")]
    assert values, page
    return values[0]


def finding(by, agency: str, category=FindingCategory.WAITING_TIMES, text="Lange Wartezeit"):
    with transaction() as session:
        session.add(
            Finding(
                organisation_id=by.organisation_id,
                category=category,
                agency=agency,
                description=f"{text} bei {agency} für Termine",
                observed_on=today(),
                recorded_by_id=by.id,
            )
        )


@pytest.fixture()
def county(db):
    """Kreis Testkreis: two case managers with cases, a supervisor of the KI with its county,
    and findings — six at the Ausländerbehörde, one at the Jobcenter."""
    anna = make_user("cm.anna")
    ben = make_user("cm.ben")
    for _ in range(6):
        make_case(anna)
    for _ in range(2):
        make_case(ben, CaseKind.CASE_MANAGEMENT)  # two CM cases: fewer than five
    supervisor = make_user("sv.ki", role=Role.SUPERVISOR)
    for i in range(6):  # from two case managers: their texts may be shown
        finding(
            anna if i % 2 else ben, "Ausländerbehörde Testkreis", text="Wartezeit von acht Wochen"
        )
    finding(ben, "Jobcenter Testkreis", FindingCategory.ACCESS, text="Einzelfallbericht")
    return {"anna": anna, "ben": ben, "supervisor": supervisor}


@pytest.fixture()
def supervisor(client, county):
    assert login(client, "sv.ki").status_code == 302
    return county["supervisor"]


def year_query(scope: str) -> dict[str, str]:
    return {"scope": scope, "kind": "year", "year": str(YEAR)}


def test_supervisor_builds_the_county_report(client, supervisor):
    scope = county_scope(client)
    response = client.get("/reports/view", query_string=year_query(scope))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Kreis Testkreis" in page
    assert "Zellen mit weniger als 5 Personen werden als „&lt; 5“ ausgewiesen" in page
    assert 'class="suppressed"' in page  # two cases of ben are fewer than five
    assert "<svg" in page and 'role="img"' in page
    assert "<script" not in page and "style=" not in page
    assert response.headers["Cache-Control"] == "no-store"


def test_the_form_offers_the_scopes_of_the_user(client, supervisor):
    page = client.get("/reports/").get_data(as_text=True)
    options = scope_options(page)
    assert any(label.strip() == "Kreis Testkreis" for label in options.values())
    assert "state" not in options


def test_a_period_ending_before_it_starts_is_refused_and_the_input_kept(client, supervisor):
    scope = county_scope(client)
    query = {"scope": scope, "kind": "range", "date_from": "2026-03-31", "date_to": "2026-03-01"}
    response = client.get("/reports/view", query_string=query)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Der Zeitraum endet vor seinem Beginn" in page
    assert 'value="2026-03-31"' in page and 'value="2026-03-01"' in page
    assert re.search(rf'<option selected value="{scope}"|<option value="{scope}" selected', page)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"year": "zwanzig"}, "year", "Bitte eine ganze Zahl angeben."),
        ({"kind": "quarter"}, "number", "Bitte das Quartal angeben."),
        ({"kind": "range", "date_from": "32.13.2026"}, "date_from", "gültiges Datum"),
        ({"scope": ""}, "scope", "Bitte einen Bereich wählen."),
    ],
)
def test_bad_input_gets_a_message_at_its_field(client, supervisor, changes, field, message):
    query = {**year_query(county_scope(client)), **changes}
    response = client.get("/reports/view", query_string=query)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(rf'id="{field}-error">(.*?)</p>', page, re.S)
    assert error and message in error.group(1), page


def test_an_empty_period_is_a_report_of_zeros(client, supervisor):
    scope = county_scope(client)
    response = client.get("/reports/view", query_string={**year_query(scope), "year": "2001"})
    assert response.status_code == 200
    assert "2001" in response.get_data(as_text=True)


def test_a_scope_the_user_may_not_see_is_forbidden(client, supervisor, db):
    elsewhere = ensure_organisation("KI Anderswo", "Stadt Anderswo", "integration_centre")
    for scope in (f"municipality:{elsewhere.municipality_id}", f"organisation:{elsewhere.id}"):
        assert client.get("/reports/view", query_string=year_query(scope)).status_code == 403
        assert client.get("/reports/export.xlsx", query_string=year_query(scope)).status_code == 403
    assert client.get("/reports/view", query_string=year_query("state")).status_code == 403


@pytest.mark.parametrize("role", [Role.CASE_MANAGER, Role.ADMIN, Role.DPO])
def test_other_roles_get_no_report(client, db, role):
    make_user("someone", role=role)
    login(client, "someone")
    for path in (
        "/reports/",
        "/reports/view",
        "/reports/export.csv",
        "/reports/export.xlsx",
        "/reports/export.pdf",
    ):
        assert client.get(path).status_code == 403, path


def test_anonymous_is_sent_to_the_login(client, db):
    response = client.get("/reports/")
    assert response.status_code == 302 and "/login" in response.location


def test_csv_download_of_one_table(client, supervisor):
    query = year_query(county_scope(client))
    page = client.get("/reports/view", query_string=query).get_data(as_text=True)
    key = re.search(r'data-testid="table-([\w-]+)"', page).group(1)
    response = client.get("/reports/export.csv", query_string={**query, "table": key})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(b"\xef\xbb\xbf") and b";" in response.data
    assert b"\r\n" in response.data
    missing = client.get("/reports/export.csv", query_string={**query, "table": "nichts"})
    assert missing.status_code == 404


def test_xlsx_download_has_the_cover_and_every_table(client, supervisor):
    query = year_query(county_scope(client))
    page = client.get("/reports/view", query_string=query).get_data(as_text=True)
    tables = re.findall(r'data-testid="table-([\w-]+)"', page)
    response = client.get("/reports/export.xlsx", query_string=query)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[0] == "Deckblatt"
    assert len(book.sheetnames) == 1 + len(tables)
    cover = [v for row in book["Deckblatt"].iter_rows(values_only=True) for v in row]
    assert "Kreis Testkreis" in cover and str(YEAR) in cover


def test_pdf_download(client, supervisor):
    response = client.get("/reports/export.pdf", query_string=year_query(county_scope(client)))
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"


def test_bad_input_on_an_export_answers_with_the_form(client, supervisor):
    query = {**year_query(county_scope(client)), "year": "1800"}
    response = client.get("/reports/export.xlsx", query_string=query)
    assert response.status_code == 422
    assert "text/html" in response.content_type


def test_findings_show_counts_and_only_descriptions_of_large_cells(client, supervisor):
    query = year_query(county_scope(client))
    page = client.get("/reports/view", query_string=query).get_data(as_text=True)
    section = re.search(r'data-testid="table-findings".*?</section>', page, re.S).group(0)
    assert "Ausländerbehörde Testkreis" in section and "Jobcenter Testkreis" in section
    assert re.search(r"Ausländerbehörde Testkreis</th>\s*<td[^>]*>6<", section)
    assert re.search(r"Jobcenter Testkreis</th>\s*<td[^>]*>1<", section)  # not persons
    assert "Wartezeit von acht Wochen" in page
    assert "Einzelfallbericht" not in page  # a single finding's text is withheld
    assert 'data-testid="findings-withheld"' in page


def test_texts_of_a_cell_written_by_one_case_manager_alone_are_withheld(client, supervisor, db):
    from sqlalchemy import select

    from kimdb.auth.models import User

    anna = db.session.scalar(select(User).where(User.username == "cm.anna"))
    for _ in range(5):
        finding(anna, "Sozialamt Testkreis", text="Nur Annas eigene Fallgeschichte")
    page = client.get("/reports/view", query_string=year_query(county_scope(client)))
    text = page.get_data(as_text=True)
    assert re.search(r"Sozialamt Testkreis</th>\s*<td[^>]*>5<", text)
    assert "Nur Annas eigene Fallgeschichte" not in text


def test_state_user_sees_the_state_scope_and_starts_at_the_report(client, county):
    state_user()
    assert login(client, "kfi.test").status_code == 302
    start = client.get("/")
    assert start.status_code == 302 and start.location.endswith("/reports/")
    page = client.get("/reports/").get_data(as_text=True)
    assert "state" in scope_options(page)
    assert "Statistik" in page
    response = client.get("/reports/view", query_string=year_query("state"))
    assert response.status_code == 200
    assert "Ausländerbehörde Testkreis" in response.get_data(as_text=True)
    assert client.get("/cases/").status_code == 403
    assert client.get("/clients/").status_code == 403
    assert client.get("/findings/").status_code == 403


# Routes a state user may use besides the report: logging in and out, the own account, the
# language, the published consent forms, and the start page (a redirect to the report).
STATE_ALLOWED = ("auth.", "consent.", "reports.")


def test_state_user_gets_no_page_but_the_report(app, client, request, monkeypatch):
    """Every route of the access matrix other than the report answers 403 or 404 for the
    state: never a case list, a client or a caseload (issue 7 item 5)."""
    ids = request.getfixturevalue("world")  # the access matrix's world
    state_user()
    assert login(client, "kfi.test").status_code == 302
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    wrong = []
    for (endpoint, method), (path, _expected) in sorted(MATRIX.items()):
        if endpoint.startswith(STATE_ALLOWED) or endpoint == "caseload.start":
            continue
        url = path.format(**ids)
        status = client.open(url, method=method).status_code
        if status not in (403, 404):
            wrong.append(f"{method} {url} ({endpoint}): {status}")
    assert not wrong, "\n".join(wrong)
    assert client.get("/").location.endswith("/reports/")
