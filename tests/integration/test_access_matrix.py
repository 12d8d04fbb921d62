"""The access matrix (issue 5 contract; DESIGN.md R7, R8): every route of kimdb × every role and
relation to one case, with the status each must get.

One world: a case that a former owner handed over (reassignment), worked by its owner, with a
running and an expired substitution, a colleague of another team, supervisors of the
organisation, of the other team only and of another organisation, an administrator, a data
protection officer and an anonymous visitor. Every request is made without a form body: a
refusal (302 to the login, 403, 404) must come before the form is read, and a permitted write
answers with its form errors (422) or, where the view expects a valid form, 400 — nothing is
written. CSRF is switched off for the matrix so that authorisation is what answers.

``test_every_route_has_an_entry`` fails when a route is added without a row here.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kimdb.auth.models import Role
from kimdb.cases import casework
from kimdb.cases import service as cases_service
from kimdb.cases.models import LifeArea, NoteKind
from kimdb.cases.rules import CaseKind
from kimdb.emergency.models import EmergencyAccess
from kimdb.extensions import transaction
from kimdb.households import service as households_service
from kimdb.orgs import service as orgs_service
from kimdb.orgs.models import Team
from kimdb.substitution import service as substitution_service
from kimdb.substitution.models import Substitution
from kimdb.timeutil import now, today
from tests.factories import login, make_client, make_user

RELATIONS = (
    "anonymous",
    "owner",  # owns the case
    "colleague",  # case manager of the same organisation, other team
    "substitute",  # substitutes the owner today
    "substitute_expired",  # substituted the owner last month
    "former_owner",  # owned the case until it was reassigned
    "supervisor",  # supervises the whole organisation
    "team_leader_other",  # supervises only the colleague's team
    "supervisor_other_org",  # supervises another organisation
    "admin",
    "dpo",
    "state",  # the state's statistics office: aggregates only (issue 7 item 5)
)
USERNAMES = {
    "owner": "cm.owner",
    "colleague": "cm.colleague",
    "substitute": "cm.sub",
    "substitute_expired": "cm.subold",
    "former_owner": "cm.former",
    "supervisor": "sv.org",
    "team_leader_other": "tl.south",
    "supervisor_other_org": "sv.caritas",
    "admin": "admin.kreis",
    "dpo": "dpo.kreis",
    "state": "kfi.land",
}


def expect(default: int, **by_relation: int) -> dict[str, int]:
    """Return the expected status per relation: ``default`` unless named; the state's
    statistics office gets 403 unless named (it reaches only reports, its account and the
    published consent forms)."""
    unknown = set(by_relation) - set(RELATIONS)
    assert not unknown, unknown
    return {r: by_relation.get(r, 403 if r == "state" else default) for r in RELATIONS}


SUPERVISORS = ("supervisor", "team_leader_other", "supervisor_other_org")
CASE_MANAGERS = ("owner", "colleague", "substitute", "substitute_expired", "former_owner")

# Profiles shared by many routes.
LOGIN = 302  # anonymous: redirected to the login page
CASE_READ = expect(
    404,
    anonymous=LOGIN,
    owner=200,
    substitute=200,
    **dict.fromkeys(
        ("supervisor", "team_leader_other", "supervisor_other_org", "admin", "dpo"), 403
    ),
)


def case_write(status: int) -> dict[str, int]:
    """A write on the case: the owner and the substitute reach the form check (``status``)."""
    return {**CASE_READ, "owner": status, "substitute": status}


CASE_MANAGERS_ONLY_GET = expect(
    200,
    anonymous=LOGIN,
    **dict.fromkeys(
        ("supervisor", "team_leader_other", "supervisor_other_org", "admin", "dpo"), 403
    ),
)
ADMIN_ONLY = expect(403, anonymous=LOGIN, admin=200)
EVERYONE_LOGGED_IN = expect(200, anonymous=LOGIN, state=200)

# (endpoint, method) -> (path with {placeholders} from the world, expected status per relation)
MATRIX: dict[tuple[str, str], tuple[str, dict[str, int]]] = {
    # -- auth -------------------------------------------------------------------------------
    ("auth.login", "GET"): ("/login", expect(302, anonymous=200, state=302)),
    ("auth.login", "POST"): ("/login", expect(302, anonymous=422, state=302)),
    ("auth.language", "POST"): ("/language", expect(302, state=302)),
    ("auth.logout", "POST"): ("/logout", expect(302, state=302)),
    # -- start page, consent forms ---------------------------------------------------------------
    ("caseload.start", "GET"): ("/", expect(200, anonymous=LOGIN, dpo=302, state=302)),
    ("consent.index", "GET"): ("/consent-forms/", EVERYONE_LOGGED_IN),
    ("consent.show", "GET"): ("/consent-forms/2026-01/de", EVERYONE_LOGGED_IN),
    # -- clients ----------------------------------------------------------------------------
    ("clients.index", "GET"): ("/clients/", CASE_MANAGERS_ONLY_GET),
    ("clients.new", "GET"): ("/clients/new", CASE_MANAGERS_ONLY_GET),
    ("clients.new", "POST"): (
        "/clients/new",
        {
            **CASE_MANAGERS_ONLY_GET,
            **dict.fromkeys(
                ("owner", "colleague", "substitute", "substitute_expired", "former_owner"), 422
            ),
        },
    ),
    ("clients.show", "GET"): ("/clients/{client}", CASE_READ),
    ("clients.consent_scan", "GET"): ("/clients/{client}/consent-scan", CASE_READ),
    # -- cases ------------------------------------------------------------------------------
    ("cases.index", "GET"): ("/cases/", CASE_MANAGERS_ONLY_GET),
    ("cases.open_case", "POST"): ("/cases/open/{client}", case_write(422)),
    ("cases.show", "GET"): ("/cases/{case}", CASE_READ),
    ("cases.plan", "GET"): ("/cases/{case}/plan", CASE_READ),
    ("cases.timeline", "GET"): ("/cases/{case}/timeline", CASE_READ),
    ("cases.assessment", "GET"): ("/cases/{case}/assessment", CASE_READ),
    # An empty assessment is refused (422) once the access check has let the user through.
    ("cases.assessment", "POST"): ("/cases/{case}/assessment", case_write(422)),
    ("cases.change_stage", "POST"): ("/cases/{case}/stage", case_write(422)),
    ("cases.close", "POST"): ("/cases/{case}/close", case_write(422)),
    ("cases.reopen", "POST"): ("/cases/{case}/reopen", case_write(422)),
    ("cases.reclassify", "POST"): ("/cases/{case}/classification", case_write(422)),
    ("cases.add_need", "POST"): ("/cases/{case}/needs", case_write(422)),
    ("cases.add_goal", "POST"): ("/cases/{case}/goals", case_write(422)),
    ("cases.add_consultation", "POST"): ("/cases/{case}/consultations", case_write(422)),
    ("cases.add_referral", "POST"): ("/cases/{case}/referrals", case_write(422)),
    ("cases.add_monitoring", "POST"): ("/cases/{case}/monitoring", case_write(422)),
    ("cases.add_note", "POST"): ("/cases/{case}/notes", case_write(422)),
    ("cases.add_follow_up", "POST"): ("/cases/{case}/follow-ups", case_write(422)),
    ("cases.update_goal", "POST"): ("/cases/{case}/goals/{goal}", case_write(422)),
    ("cases.need_focus", "POST"): ("/cases/{case}/needs/{need}/focus", case_write(302)),
    ("cases.update_referral", "POST"): ("/cases/{case}/referrals/{referral}", case_write(422)),
    ("cases.correct_note", "POST"): ("/cases/{case}/notes/{note}/correction", case_write(422)),
    ("cases.complete_follow_up", "POST"): (
        "/cases/{case}/follow-ups/{follow_up}/done",
        case_write(302),  # a button: marks the follow-up done
    ),
    # -- households -------------------------------------------------------------------------
    ("households.show", "GET"): ("/households/{household}", CASE_READ),
    ("households.create", "POST"): ("/households/new/{client}", case_write(422)),
    ("households.add_member", "POST"): ("/households/{household}/members", case_write(422)),
    ("households.remove_member", "POST"): (
        "/households/{household}/members/{client}/remove",
        case_write(422),
    ),
    # -- partners, findings -----------------------------------------------------------------
    ("orgs.partners", "GET"): (
        "/partners/",
        expect(200, anonymous=LOGIN, supervisor_other_org=200, admin=403, dpo=403),
    ),
    ("orgs.partners", "POST"): (
        "/partners/",
        expect(
            422,
            anonymous=LOGIN,
            **dict.fromkeys(
                ("supervisor", "team_leader_other", "supervisor_other_org", "admin", "dpo"), 403
            ),
        ),
    ),
    ("orgs.edit_partner", "GET"): (
        "/partners/{partner}/edit",
        expect(
            200,
            anonymous=LOGIN,
            **dict.fromkeys(SUPERVISORS + ("admin", "dpo"), 403),
        ),
    ),
    ("orgs.edit_partner", "POST"): (
        "/partners/{partner}/edit",
        expect(
            422,
            anonymous=LOGIN,
            **dict.fromkeys(SUPERVISORS + ("admin", "dpo"), 403),
        ),
    ),
    ("findings.index", "GET"): ("/findings/", expect(200, anonymous=LOGIN, admin=403, dpo=403)),
    ("findings.new", "GET"): ("/findings/new", CASE_MANAGERS_ONLY_GET),
    ("findings.new", "POST"): (
        "/findings/new",
        {
            **CASE_MANAGERS_ONLY_GET,
            **dict.fromkeys(
                ("owner", "colleague", "substitute", "substitute_expired", "former_owner"), 422
            ),
        },
    ),
    # -- substitution, takeover, reassignment ----------------------------------------------
    ("substitution.substitutions", "GET"): (
        "/substitutions/",
        expect(200, anonymous=LOGIN, admin=403, dpo=403),
    ),
    ("substitution.substitutions", "POST"): (
        "/substitutions/",
        expect(422, anonymous=LOGIN, admin=403, dpo=403),
    ),
    ("substitution.end", "POST"): (
        "/substitutions/{substitution}/end",
        expect(403, anonymous=LOGIN, owner=302, supervisor=302),
    ),
    ("substitution.takeover", "GET"): ("/cases/{case}/takeover", {**CASE_READ, "owner": 404}),
    ("substitution.takeover", "POST"): (
        "/cases/{case}/takeover",
        {**CASE_READ, "owner": 404, "substitute": 422},
    ),
    ("substitution.reassign", "GET"): (
        "/reassign/{owner}",
        expect(
            404,
            anonymous=LOGIN,
            supervisor=200,
            **dict.fromkeys(
                (
                    "owner",
                    "colleague",
                    "substitute",
                    "substitute_expired",
                    "former_owner",
                    "admin",
                    "dpo",
                ),
                403,
            ),
        ),
    ),
    ("substitution.reassign", "POST"): (
        "/reassign/{owner}",
        expect(
            404,
            anonymous=LOGIN,
            supervisor=422,
            **dict.fromkeys(
                (
                    "owner",
                    "colleague",
                    "substitute",
                    "substitute_expired",
                    "former_owner",
                    "admin",
                    "dpo",
                ),
                403,
            ),
        ),
    ),
    # -- emergency access (issue 5 item 7) ---------------------------------------------------
    ("emergency.index", "GET"): (
        "/emergency/",
        expect(403, anonymous=LOGIN, **dict.fromkeys(SUPERVISORS, 200)),
    ),
    ("emergency.index", "POST"): (
        "/emergency/",
        expect(403, anonymous=LOGIN, **dict.fromkeys(SUPERVISORS, 422)),
    ),
    ("emergency.show", "GET"): (
        "/emergency/{emergency}",
        expect(
            403, anonymous=LOGIN, supervisor=200, team_leader_other=404, supervisor_other_org=404
        ),
    ),
    ("emergency.log", "GET"): ("/emergency/log", expect(403, anonymous=LOGIN, dpo=200)),
    ("emergency.seen", "POST"): (
        "/emergency/notices/{emergency}/seen",
        expect(
            403,
            anonymous=LOGIN,
            owner=302,
            **dict.fromkeys(("colleague", "substitute", "substitute_expired", "former_owner"), 404),
        ),
    ),
    ("emergency.seen_all", "POST"): (
        "/emergency/notices/seen",
        expect(403, anonymous=LOGIN, **dict.fromkeys(CASE_MANAGERS, 302)),
    ),
    # Ends the access: after everything else that uses it (see test_access_matrix).
    ("emergency.end", "POST"): (
        "/emergency/{emergency}/end",
        expect(
            403, anonymous=LOGIN, supervisor=302, team_leader_other=404, supervisor_other_org=404
        ),
    ),
    # -- two-factor login, own account (issue 6 item 7) ---------------------------------------
    # Without a "password correct" marker the code steps send everyone on (login or start).
    ("auth.login_code", "GET"): ("/login/code", expect(302, state=302)),
    ("auth.login_code", "POST"): ("/login/code", expect(302, state=302)),
    ("auth.login_enrol", "GET"): ("/login/enrol", expect(302, state=302)),
    ("auth.login_enrol", "POST"): ("/login/enrol", expect(302, state=302)),
    ("auth.account", "GET"): ("/account", EVERYONE_LOGGED_IN),
    # Supervisors, admin and DPO have an app already (required): sent back to /account.
    ("auth.account_enrol", "GET"): (
        "/account/two-factor",
        expect(302, state=302, **dict.fromkeys(CASE_MANAGERS, 200)),
    ),
    ("auth.account_enrol", "POST"): (
        "/account/two-factor",
        expect(302, state=302, **dict.fromkeys(CASE_MANAGERS, 422)),
    ),
    ("auth.account_disable", "POST"): (
        "/account/two-factor/disable",
        expect(403, anonymous=LOGIN, **dict.fromkeys(CASE_MANAGERS, 302)),
    ),
    # -- data protection (issue 6) ------------------------------------------------------------
    ("audit.index", "GET"): ("/audit/", expect(403, anonymous=LOGIN, dpo=200)),
    ("records.index", "GET"): ("/records", expect(403, anonymous=LOGIN, admin=200, dpo=200)),
    ("records.download", "GET"): (
        "/records.json",
        expect(403, anonymous=LOGIN, admin=200, dpo=200),
    ),
    ("privacy.withdrawal", "GET"): ("/clients/{client}/withdrawal", CASE_READ),
    ("privacy.withdrawal", "POST"): ("/clients/{client}/withdrawal", case_write(422)),
    # Redirects to the client page while the consent stands.
    ("privacy.withdrawn", "GET"): ("/clients/{client}/withdrawal/done", case_write(302)),
    ("privacy.export_json", "GET"): ("/clients/{client}/export.json", CASE_READ),
    ("privacy.export_pdf", "GET"): ("/clients/{client}/export.pdf", CASE_READ),
    # Withdraws the exchange scope: after the other requests (see test_access_matrix).
    ("privacy.withdraw_exchange", "POST"): (
        "/clients/{client}/exchanges/{exchange}/withdraw",
        case_write(302),
    ),
    # -- statistics (issue 7): supervisors and the state; without a scope the form says so ----
    ("reports.index", "GET"): (
        "/reports/",
        expect(403, anonymous=LOGIN, state=200, **dict.fromkeys(SUPERVISORS, 200)),
    ),
    ("reports.view", "GET"): (
        "/reports/view",
        expect(403, anonymous=LOGIN, state=422, **dict.fromkeys(SUPERVISORS, 422)),
    ),
    ("reports.export_csv", "GET"): (
        "/reports/export.csv",
        expect(403, anonymous=LOGIN, state=422, **dict.fromkeys(SUPERVISORS, 422)),
    ),
    ("reports.export_xlsx", "GET"): (
        "/reports/export.xlsx",
        expect(403, anonymous=LOGIN, state=422, **dict.fromkeys(SUPERVISORS, 422)),
    ),
    ("reports.export_pdf", "GET"): (
        "/reports/export.pdf",
        expect(403, anonymous=LOGIN, state=422, **dict.fromkeys(SUPERVISORS, 422)),
    ),
    # -- administration ---------------------------------------------------------------------
    ("admin.users", "GET"): ("/admin/users", ADMIN_ONLY),
    ("admin.new_user", "GET"): ("/admin/users/new", ADMIN_ONLY),
    ("admin.new_user", "POST"): ("/admin/users/new", expect(403, anonymous=LOGIN, admin=422)),
    ("admin.edit_user", "GET"): ("/admin/users/{owner}", ADMIN_ONLY),
    ("admin.edit_user", "POST"): ("/admin/users/{owner}", expect(403, anonymous=LOGIN, admin=422)),
    ("admin.set_password", "POST"): (
        "/admin/users/{owner}/password",
        expect(403, anonymous=LOGIN, admin=422),
    ),
    ("admin.change_fte", "POST"): (
        "/admin/users/{owner}/fte",
        expect(403, anonymous=LOGIN, admin=422),
    ),
    ("admin.organisations", "GET"): ("/admin/organisations", ADMIN_ONLY),
    ("admin.organisations", "POST"): (
        "/admin/organisations",
        expect(403, anonymous=LOGIN, admin=422),
    ),
    ("admin.organisation", "GET"): ("/admin/organisations/{organisation}", ADMIN_ONLY),
    ("admin.new_team", "POST"): (
        "/admin/organisations/{organisation}/teams",
        expect(403, anonymous=LOGIN, admin=422),
    ),
    ("admin.rename_team", "POST"): ("/admin/teams/{team}", expect(403, anonymous=LOGIN, admin=422)),
    # The team has members: deleting it is refused.
    ("admin.delete_team", "POST"): (
        "/admin/teams/{team}/delete",
        expect(403, anonymous=LOGIN, admin=422),
    ),
    ("admin.reset_second_factor", "POST"): (
        "/admin/users/{owner}/totp/reset",
        expect(403, anonymous=LOGIN, admin=302),
    ),
    ("admin.deactivate", "POST"): (
        "/admin/users/{owner}/deactivate",
        expect(403, anonymous=LOGIN, admin=302),
    ),
    ("admin.reactivate", "POST"): (
        "/admin/users/{owner}/reactivate",
        expect(403, anonymous=LOGIN, admin=302),
    ),
}
SKIPPED = {"static"}


def test_every_route_has_an_entry(app):
    """A new route without a row in MATRIX fails here (and a row without a route too)."""
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - MATRIX.keys() == set(), "routes missing in the access matrix"
    assert MATRIX.keys() - routes == set(), "matrix rows without a route"


@pytest.fixture()
def world(db):
    """Build the world of the module docstring; return the ids the paths need."""
    former = make_user("cm.former")
    owner = make_user("cm.owner")
    substitute = make_user("cm.sub")
    expired = make_user("cm.subold")
    colleague = make_user("cm.colleague")
    supervisor = make_user("sv.org", role=Role.SUPERVISOR)
    team_leader = make_user("tl.south", role=Role.SUPERVISOR)
    make_user("sv.caritas", role=Role.SUPERVISOR, organisation="Caritas Testkreis")
    make_user("admin.kreis", role=Role.ADMIN)
    make_user("dpo.kreis", role=Role.DPO)
    make_user("kfi.land", role=Role.STATE, organisation="Kompetenzzentrum für Integration")
    with transaction() as session:
        north = Team(name="Nord", organisation_id=owner.organisation_id)
        south = Team(name="Süd", organisation_id=owner.organisation_id)
        session.add_all([north, south])
        for user in (former, owner, substitute, expired):
            user.team = north
        colleague.team = south
        team_leader.supervisions[0].organisation_id = None
        team_leader.supervisions[0].team = south

    partner = orgs_service.add_partner(
        owner.organisation_id, "Jobcenter Test", "authority", None, None
    )
    client = make_client(former, partners=[partner.name])
    case = cases_service.open_case(client, CaseKind.CASE_MANAGEMENT, former)
    need = cases_service.add_need(case, LifeArea.WORK, None, "Arbeit suchen", True, former)
    goal = cases_service.add_goal(case, "Bewerbungen schreiben", today(), former)
    referral = casework.record_referral(case, partner.id, today(), "Beratung", False, former)
    note = casework.write_note(case, NoteKind.INTERNAL, today(), "Erstgespräch geführt", former)
    follow_up = casework.add_follow_up(case, today() + dt.timedelta(days=7), "Nachfragen", former)
    household = households_service.create_household(client, "Familie Test", former)
    substitution_service.reassign(supervisor, [case], owner, "Zuständigkeit gewechselt")
    running = substitution_service.set_substitution(
        owner, owner, substitute, today(), today() + dt.timedelta(days=5)
    )
    with transaction() as session:
        session.add(
            Substitution(
                absent_user_id=owner.id,
                substitute_id=expired.id,
                first_day=today() - dt.timedelta(days=40),
                last_day=today() - dt.timedelta(days=30),
                set_by_id=owner.id,
            )
        )
    with transaction() as session:  # written directly: the running substitution would refuse it
        emergency = EmergencyAccess(
            case_id=case.id,
            supervisor_id=supervisor.id,
            owner_id=owner.id,
            reason="Klientin steht ohne Termin vor der Tür, Case Manager krank",
            granted_at=now(),
            expires_at=now() + dt.timedelta(hours=4),
        )
        session.add(emergency)
    return {
        "emergency": emergency.id,
        "exchange": client.consent.exchanges[0].id,
        "client": client.id,
        "case": case.id,
        "need": need.id,
        "goal": goal.id,
        "referral": referral.id,
        "note": note.id,
        "follow_up": follow_up.id,
        "household": household.id,
        "partner": partner.id,
        "substitution": running.id,
        "owner": owner.id,
        "organisation": owner.organisation_id,
        "team": north.id,
    }


@pytest.mark.parametrize("relation", RELATIONS)
def test_access_matrix(app, client, world, relation, monkeypatch):
    """Every route answers ``relation`` with the status of the matrix."""
    if relation != "anonymous":
        assert login(client, USERNAMES[relation]).status_code == 302
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    wrong = []
    # Requests that end something run last: the others need the session and the access.
    last = [
        ("privacy.withdraw_exchange", "POST"),
        ("emergency.end", "POST"),
        ("auth.logout", "POST"),
    ]
    for (endpoint, method), (path, expected) in sorted(
        MATRIX.items(), key=lambda item: last.index(item[0]) if item[0] in last else -1
    ):
        url = path.format(**world)
        response = client.open(url, method=method)
        if response.status_code != expected[relation]:
            got, want = response.status_code, expected[relation]
            wrong.append(f"{method} {url} ({endpoint}): {got}, expected {want}")
    assert not wrong, f"{relation}:\n" + "\n".join(wrong)
