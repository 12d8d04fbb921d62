"""Emergency access ("break the glass") through real requests (issue 5 item 7; R7, R8)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from kimdb.auth import service as auth_service
from kimdb.auth.models import Role
from kimdb.cases import casework
from kimdb.cases import service as cases_service
from kimdb.cases.models import ConsultationMode, LifeArea, NoteKind
from kimdb.cases.rules import CaseKind, ClosureReason
from kimdb.emergency import service
from kimdb.emergency.models import EmergencyAccess
from kimdb.orgs.service import ensure_organisation
from kimdb.substitution import service as substitution_service
from kimdb.timeutil import now, today
from tests.factories import PASSWORD, count_rows, csrf_token, login, make_case, make_user

REASON = "Klientin ruft an: Räumung morgen früh, Frau Owner ist krank und nicht erreichbar"
NEED_TEXT = "Mietschulden, Räumungsklage zugestellt"
NOTE_TEXT = "Termin beim Wohnungsamt vereinbart, Unterlagen liegen vor"


@pytest.fixture()
def team(db):
    """A supervisor and an absent case manager with one case (client Amina Haddad) that holds
    a need, a note, a consultation with interpreter and a follow-up — one organisation."""
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    owner = make_user("cm.owner")
    case = make_case(owner, CaseKind.CASE_MANAGEMENT)
    cases_service.add_need(case, LifeArea.HOUSING, None, NEED_TEXT, True, owner)
    casework.write_note(case, NoteKind.PHONE_CALL, today(), NOTE_TEXT, owner)
    cases_service.record_consultation(
        case, today(), 45, ConsultationMode.IN_PERSON, "ar", "Erstgespräch", owner
    )
    casework.add_follow_up(case, today() + dt.timedelta(days=2), "Mietvertrag prüfen", owner)
    return lead, owner, case


def token(client) -> str:
    """A CSRF token of the session, from a page every role may open."""
    return csrf_token(client, "/consent-forms/")


def logout(client):
    client.post("/logout", data={"csrf_token": token(client)})


def request_access(client, number, reason=REASON):
    return client.post(
        "/emergency/",
        data={
            "csrf_token": csrf_token(client, "/emergency/"),
            "case_number": number,
            "reason": reason,
        },
    )


def only_access(db) -> EmergencyAccess:
    db.session.expire_all()
    return db.session.scalar(select(EmergencyAccess))


def test_supervisor_opens_a_case_with_a_reason_and_reads_it(client, db, team):
    lead, owner, case = team
    login(client, "sv.lead")
    response = request_access(client, case.number)
    access = only_access(db)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/emergency/{access.id}")
    assert access.reason == REASON and access.owner_id == owner.id
    expected_hours = dt.timedelta(hours=4)
    assert abs((access.expires_at - access.granted_at) - expected_hours) < dt.timedelta(seconds=1)
    page = client.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Haddad, Amina" in text and "17.05.1990" in text
    assert NEED_TEXT in text and NOTE_TEXT in text and "Mietvertrag prüfen" in text
    assert "Arabisch" in text  # language / interpreter
    assert "Notfallzugriff – protokolliert, endet um" in text
    # read-only: no form writes into the case; the only one of the page ends the access
    actions = set(re.findall(r'<form method="post" action="([^"]+)"', text))
    assert actions == {f"/emergency/{access.id}/end", "/logout", "/language"}
    assert "/substitutions/" in text


def test_bad_reason_is_refused_keeps_the_input_and_writes_nothing(client, db, team):
    lead, owner, case = team
    login(client, "sv.lead")
    response = request_access(client, case.number, reason="eilig, bitte")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Die Begründung ist zu kurz" in text
    assert "eilig, bitte" in text and case.number in text
    assert count_rows(db, EmergencyAccess) == 0
    assert "Haddad" not in text


@pytest.mark.parametrize("number", ["other", "unknown", "wrong-year", "garbage"])
def test_cases_outside_the_scope_are_refused_like_unknown_numbers(client, db, team, number):
    lead, owner, case = team
    stranger = make_user("cm.awo", organisation="AWO Testkreis")
    foreign = make_case(stranger)
    typed = {
        "other": foreign.number,
        "unknown": f"{today().year}-{foreign.id + 100:06d}",
        "wrong-year": f"{today().year - 1}-{case.id:06d}",
        "garbage": "Haddad",
    }[number]
    login(client, "sv.lead")
    response = request_access(client, typed)
    assert response.status_code == 422
    assert "keinen Fall in Ihrem Verantwortungsbereich" in response.get_data(as_text=True)
    assert count_rows(db, EmergencyAccess) == 0


def test_supervisor_of_another_organisation_is_refused_and_nothing_written(client, db, team):
    lead, owner, case = team
    make_user("sv.awo", role=Role.SUPERVISOR, organisation="AWO Testkreis")
    login(client, "sv.awo")
    response = request_access(client, case.number)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "keinen Fall in Ihrem Verantwortungsbereich" in text
    assert "Haddad" not in text
    assert count_rows(db, EmergencyAccess) == 0


def test_a_closed_case_cannot_be_opened(client, db, team):
    lead, owner, case = team
    cases_service.close_case(
        case, today(), ClosureReason.CONTACT_BROKE_OFF, "Kontakt seit Wochen abgebrochen", owner
    )
    login(client, "sv.lead")
    response = request_access(client, case.number)
    assert response.status_code == 422
    assert "abgeschlossen" in response.get_data(as_text=True)
    assert count_rows(db, EmergencyAccess) == 0


def test_a_running_substitution_sends_the_supervisor_to_the_substitute(client, db, team):
    lead, owner, case = team
    substitute = make_user("cm.sub")
    substitution_service.set_substitution(
        lead, owner, substitute, today(), today() + dt.timedelta(days=3)
    )
    login(client, "sv.lead")
    response = request_access(client, case.number)
    assert response.status_code == 422
    assert "laufende Vertretung: Cm.Sub" in response.get_data(as_text=True)
    assert count_rows(db, EmergencyAccess) == 0


def test_asking_again_continues_the_running_access(client, db, team):
    lead, owner, case = team
    login(client, "sv.lead")
    first = request_access(client, case.number)
    second = request_access(client, case.number)
    assert second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert count_rows(db, EmergencyAccess) == 1


def test_a_supervisor_holds_at_most_three_accesses(client, db, team):
    lead, owner, case = team
    others = [make_case(owner) for _ in range(3)]
    for other in others[:2]:
        service.open_emergency_access(lead, other.number, REASON)
    login(client, "sv.lead")
    assert request_access(client, case.number).status_code == 302
    response = request_access(client, others[2].number)
    assert response.status_code == 422
    assert "bereits 3 laufende Notfallzugriffe" in response.get_data(as_text=True)
    assert count_rows(db, EmergencyAccess) == 3


@pytest.mark.parametrize("username", ["cm.other", "admin.a", "dpo.a"])
def test_only_supervisors_can_open_an_emergency_access(client, db, team, username):
    lead, owner, case = team
    role = {"cm.other": Role.CASE_MANAGER, "admin.a": Role.ADMIN, "dpo.a": Role.DPO}[username]
    make_user(username, role=role)
    login(client, username)
    assert client.get("/emergency/").status_code == 403
    response = client.post(
        "/emergency/",
        data={
            "csrf_token": token(client),
            "case_number": case.number,
            "reason": REASON,
        },
    )
    assert response.status_code == 403
    assert count_rows(db, EmergencyAccess) == 0


def test_after_expiry_the_case_is_closed_to_the_supervisor_again(client, db, team):
    lead, owner, case = team
    access, _ = service.open_emergency_access(lead, case.number, REASON)
    login(client, "sv.lead")
    assert "Haddad" in client.get(f"/emergency/{access.id}").get_data(as_text=True)
    stored = only_access(db)
    stored.expires_at = now() - dt.timedelta(minutes=1)
    db.session.commit()
    response = client.get(f"/emergency/{access.id}")
    text = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "Notfallzugriff beendet" in text
    assert "Haddad" not in text and NEED_TEXT not in text
    index = client.get("/emergency/").get_data(as_text=True)
    assert "Frühere Notfallzugriffe" in index and case.number in index


def test_ending_early_closes_the_case_at_once(client, db, team):
    lead, owner, case = team
    access, _ = service.open_emergency_access(lead, case.number, REASON)
    login(client, "sv.lead")
    response = client.post(
        f"/emergency/{access.id}/end",
        data={"csrf_token": csrf_token(client, f"/emergency/{access.id}")},
    )
    assert response.status_code == 302
    assert only_access(db).ended_at is not None
    assert client.get(f"/emergency/{access.id}").status_code == 410


def test_another_supervisors_access_is_not_found(client, db, team):
    lead, owner, case = team
    access, _ = service.open_emergency_access(lead, case.number, REASON)
    make_user("sv.second", role=Role.SUPERVISOR)
    login(client, "sv.second")
    response = client.get(f"/emergency/{access.id}")
    assert response.status_code == 404
    assert "Haddad" not in response.get_data(as_text=True)
    ending = client.post(
        f"/emergency/{access.id}/end", data={"csrf_token": csrf_token(client, "/emergency/")}
    )
    assert ending.status_code == 404
    assert only_access(db).ended_at is None


def test_owner_sees_the_notice_on_every_page_until_acknowledged(client, db, team):
    lead, owner, case = team
    access, _ = service.open_emergency_access(lead, case.number, REASON)
    login(client, "cm.owner")
    for url in ("/", "/clients/", f"/cases/{case.id}"):
        text = client.get(url).get_data(as_text=True)
        assert "Notfallzugriff auf Ihre Fälle" in text, url
        assert REASON in text and "Sv.Lead" in text and case.number in text
    response = client.post(
        f"/emergency/notices/{access.id}/seen",
        data={"csrf_token": csrf_token(client, "/"), "next": "/clients/"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/clients/")
    assert only_access(db).seen_by_owner_at is not None
    assert "Notfallzugriff auf Ihre Fälle" not in client.get("/").get_data(as_text=True)


def test_owner_notice_costs_no_query_of_its_own_while_nothing_waits(app, client, db, team):
    """The user's own statement says whether accesses wait (issue 8); only then are they read."""
    from sqlalchemy import event

    lead, owner, case = team
    login(client, "cm.owner")
    sent = []

    def note(_conn, _cursor, statement, *_args):
        sent.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get("/clients/").status_code == 200
        assert not any(s.lstrip().startswith("SELECT emergency_accesses") for s in sent), sent
        service.open_emergency_access(lead, case.number, REASON)
        sent.clear()
        text = client.get("/clients/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert "Notfallzugriff auf Ihre Fälle" in text and REASON in text
    assert any(s.lstrip().startswith("SELECT emergency_accesses") for s in sent), sent


def test_only_the_owner_can_acknowledge(client, db, team):
    lead, owner, case = team
    access, _ = service.open_emergency_access(lead, case.number, REASON)
    make_user("cm.other")
    login(client, "cm.other")
    assert "Notfallzugriff auf Ihre Fälle" not in client.get("/").get_data(as_text=True)
    response = client.post(
        f"/emergency/notices/{access.id}/seen", data={"csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 404
    assert only_access(db).seen_by_owner_at is None


def test_owner_acknowledges_all_notices_at_once(client, db, team):
    lead, owner, case = team
    second = make_case(owner)
    service.open_emergency_access(lead, case.number, REASON)
    service.open_emergency_access(lead, second.number, REASON)
    login(client, "cm.owner")
    response = client.post("/emergency/notices/seen", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert count_rows(db, EmergencyAccess, seen_by_owner_at=None) == 0
    assert "Notfallzugriff auf Ihre Fälle" not in client.get("/").get_data(as_text=True)


def test_dpo_reads_the_log_of_the_municipality_and_nobody_else_does(client, db, team):
    lead, owner, case = team
    service.open_emergency_access(lead, case.number, REASON)
    make_user("dpo.kreis", role=Role.DPO, organisation="Kreisverwaltung Testkreis")
    elsewhere = ensure_organisation("Stadt Anderswo", "Stadt Anderswo", "municipal_office")
    auth_service.create_user(
        "dpo.anderswo", "Dpo Anderswo", Role.DPO, elsewhere, Decimal(1), PASSWORD
    )
    login(client, "dpo.kreis")
    response = client.get("/emergency/log")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert REASON in text and case.number in text and "Sv.Lead" in text and "Cm.Owner" in text
    assert "noch nicht" in text  # the owner has not seen it yet
    assert "Haddad" not in text and NEED_TEXT not in text  # no other client data
    month = today().strftime("%Y-%m")
    assert REASON in client.get(f"/emergency/log?month={month}").get_data(as_text=True)
    assert REASON not in client.get("/emergency/log?month=2001-01").get_data(as_text=True)
    assert client.get("/emergency/log?month=Januar").status_code == 422
    logout(client)
    login(client, "dpo.anderswo")
    assert REASON not in client.get("/emergency/log").get_data(as_text=True)
    logout(client)
    for username in ("sv.lead", "cm.owner"):
        login(client, username)
        assert client.get("/emergency/log").status_code == 403
        logout(client)


def test_dpo_log_is_paged_newest_first(client, db, team):
    lead, owner, case = team
    cases = [case] + [make_case(owner) for _ in range(2)]
    for c in cases:
        access, _ = service.open_emergency_access(lead, c.number, REASON)
        service.end_emergency_access(lead, access.id)
    dpo = make_user("dpo.kreis", role=Role.DPO)
    page = service.log_for_dpo(dpo, page=1, page_size=2)
    assert page.total == 3 and page.pages == 2
    assert [a.case_id for a in page.entries] == [cases[2].id, cases[1].id]
    assert [a.case_id for a in service.log_for_dpo(dpo, page=2, page_size=2).entries] == [case.id]


def test_supervisors_normal_pages_still_show_no_client_data(client, db, team):
    lead, owner, case = team
    service.open_emergency_access(lead, case.number, REASON)
    login(client, "sv.lead")
    for url in ("/", "/emergency/", f"/reassign/{owner.id}", "/substitutions/"):
        text = client.get(url).get_data(as_text=True)
        assert "Haddad" not in text and NEED_TEXT not in text, url
    refused = client.get(f"/cases/{case.id}")
    assert refused.status_code in (403, 404)
    assert "Haddad" not in refused.get_data(as_text=True)


def test_request_without_csrf_is_refused(client, db, team):
    lead, owner, case = team
    login(client, "sv.lead")
    response = client.post("/emergency/", data={"case_number": case.number, "reason": REASON})
    assert response.status_code == 400
    assert count_rows(db, EmergencyAccess) == 0
