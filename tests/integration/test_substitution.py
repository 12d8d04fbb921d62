"""Substitution, takeover and reassignment through real requests (R7, R8)."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from kimdb.auth.models import Role
from kimdb.cases.models import Case, Need
from kimdb.cases.rules import CaseKind
from kimdb.substitution import service
from kimdb.substitution.models import CaseTransfer, Substitution
from kimdb.timeutil import today
from tests.factories import csrf_token, login, make_case, make_user, post_case_form

KB = CaseKind.SHORT_COUNSELLING
D = dt.timedelta


@pytest.fixture()
def team(db):
    """Supervisor, absent owner with a case, substitute — one organisation."""
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    owner = make_user("cm.owner")
    substitute = make_user("cm.sub")
    case = make_case(owner, KB)
    return lead, owner, substitute, case


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def set_form(client, absent_id, substitute_id, first, last, **extra):
    data = {
        "csrf_token": csrf_token(client, "/substitutions/"),
        "absent_id": absent_id,
        "substitute_id": substitute_id,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        **extra,
    }
    return client.post("/substitutions/", data=data)


def test_supervisor_sets_a_substitution_and_the_substitute_works_the_case(client, db, team):
    lead, owner, substitute, case = team
    login(client, "sv.lead")
    response = set_form(client, owner.id, substitute.id, today(), today() + D(days=14))
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "cm.sub")
    assert f"/cases/{case.id}" in client.get("/").get_data(as_text=True)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "als Vertretung für Cm.Owner" in page
    post_case_form(client, case.id, "needs", "need", life_area="work", description="Arbeit")
    need = db.session.scalar(select(Need))
    assert need.recorded_by_id == substitute.id and need.on_behalf_of_id == owner.id


def test_outside_the_period_access_ends_by_itself(client, db, team):
    lead, owner, substitute, case = team
    service.set_substitution(lead, owner, substitute, today() + D(days=1), today() + D(days=5))
    login(client, "cm.sub")
    assert client.get(f"/cases/{case.id}").status_code == 404
    sub = db.session.scalar(select(Substitution))
    sub.first_day = today() - D(days=5)
    sub.last_day = today() - D(days=1)
    db.session.commit()
    assert client.get(f"/cases/{case.id}").status_code == 404


def test_substitution_limited_to_selected_cases(client, db, team):
    lead, owner, substitute, case = team
    other = make_case(owner, KB)
    service.set_substitution(lead, owner, substitute, today(), today() + D(days=3), [case])
    login(client, "cm.sub")
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert client.get(f"/cases/{other.id}").status_code == 404


@pytest.mark.parametrize(
    ("shift", "message"),
    [
        ("overlap", "schon eine Vertretung"),
        ("backwards", "vor dem ersten Tag"),
        ("absent_substitute", "selbst abwesend"),
    ],
)
def test_bad_substitutions_are_refused_and_nothing_written(client, db, team, shift, message):
    lead, owner, substitute, case = team
    third = make_user("cm.third")
    if shift == "overlap":
        service.set_substitution(lead, owner, third, today(), today() + D(days=10))
        args = (today() + D(days=5), today() + D(days=12))
    elif shift == "absent_substitute":
        service.set_substitution(lead, substitute, third, today(), today() + D(days=10))
        args = (today() + D(days=2), today() + D(days=4))
    else:
        args = (today() + D(days=5), today() + D(days=2))
    before = count(db, Substitution)
    login(client, "sv.lead")
    response = set_form(client, owner.id, substitute.id, *args)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(db, Substitution) == before


def test_substitution_without_csrf_is_refused(client, db, team):
    lead, owner, substitute, case = team
    login(client, "sv.lead")
    response = client.post(
        "/substitutions/", data={"absent_id": owner.id, "substitute_id": substitute.id}
    )
    assert response.status_code == 400
    assert count(db, Substitution) == 0


def test_case_manager_sets_only_their_own_absence(client, db, team):
    lead, owner, substitute, case = team
    login(client, "cm.sub")
    response = set_form(client, owner.id, make_user("cm.x").id, today(), today() + D(days=2))
    assert response.status_code == 422  # the absent person offered is only oneself
    assert count(db, Substitution) == 0


def test_takeover_moves_the_case_and_the_former_owner_loses_it(client, db, team):
    lead, owner, substitute, case = team
    service.set_substitution(lead, owner, substitute, today(), today() + D(days=3))
    login(client, "cm.sub")
    token = csrf_token(client, f"/cases/{case.id}/takeover")
    response = client.post(
        f"/cases/{case.id}/takeover", data={"csrf_token": token, "reason": "Stelle gewechselt"}
    )
    assert response.status_code == 302
    history = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Fall übergeben: Cm.Owner → Cm.Sub" in history and "Stelle gewechselt" in history
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "cm.owner")
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert client.get(f"/clients/{case.client_id}").status_code == 404


def test_takeover_without_reason_is_refused(client, db, team):
    lead, owner, substitute, case = team
    service.set_substitution(lead, owner, substitute, today(), today() + D(days=3))
    login(client, "cm.sub")
    token = csrf_token(client, f"/cases/{case.id}/takeover")
    response = client.post(f"/cases/{case.id}/takeover", data={"csrf_token": token, "reason": ""})
    assert response.status_code == 422
    assert "Bitte den Grund der Übergabe angeben." in response.get_data(as_text=True)
    assert count(db, CaseTransfer) == 0


def reassign(client, owner_id, case_ids, receiver_id, reason="Ausscheiden", confirm=True):
    token = csrf_token(client, f"/reassign/{owner_id}")
    data = {"csrf_token": token, "case_ids": case_ids, "receiver_id": receiver_id, "reason": reason}
    if confirm:
        data["confirm"] = "1"
    return client.post(f"/reassign/{owner_id}", data=data)


def test_supervisor_reassigns_cases_in_one_step_with_a_preview(client, db, team):
    lead, owner, substitute, case = team
    second = make_case(owner, KB)
    login(client, "sv.lead")
    preview = reassign(client, owner.id, [case.id, second.id], substitute.id, confirm=False)
    assert 'data-testid="reassign-preview"' in preview.get_data(as_text=True)
    assert "Vorher 0, nachher 2 offene Fälle" in preview.get_data(as_text=True)
    assert count(db, CaseTransfer) == 0
    done = reassign(client, owner.id, [case.id, second.id], substitute.id)
    assert done.status_code == 302
    owners = set(db.session.scalars(select(Case.owner_id)).all())
    assert owners == {substitute.id} and count(db, CaseTransfer) == 2


def test_reassignment_warns_when_the_receiver_would_rise_above_the_band(client, db, team):
    lead, owner, substitute, case = team
    small = make_user("cm.small", fte="0.1")
    for _ in range(6):
        make_case(small, KB)
    login(client, "sv.lead")
    page = reassign(client, owner.id, [case.id], small.id, confirm=False).get_data(as_text=True)
    assert "über der Empfehlung" in page


def test_reassignment_to_a_deactivated_user_is_refused(client, db, team):
    lead, owner, substitute, case = team
    substitute.active = False
    db.session.commit()
    login(client, "sv.lead")
    response = reassign(client, owner.id, [case.id], substitute.id)
    assert response.status_code == 422
    assert "deaktivierte" in response.get_data(as_text=True)
    assert count(db, CaseTransfer) == 0


def test_reassignment_to_another_organisation_is_refused(client, db, team):
    lead, owner, substitute, case = team
    stranger = make_user("cm.stranger", organisation="Caritas Testkreis")
    login(client, "sv.lead")
    response = reassign(client, owner.id, [case.id], stranger.id)
    assert response.status_code == 422
    assert "Keine gültige Auswahl" in response.get_data(as_text=True)
    assert db.session.get(Case, case.id).owner_id == owner.id
    assert count(db, CaseTransfer) == 0


def test_case_managers_cannot_reassign(client, db, team):
    lead, owner, substitute, case = team
    login(client, "cm.sub")
    assert client.get(f"/reassign/{owner.id}").status_code == 403


def test_takeover_needs_a_running_substitution(db, team):
    lead, owner, substitute, case = team
    with pytest.raises(service.NotAllowed):
        service.take_over(case, substitute, "ohne Vertretung")
    assert db.session.get(Case, case.id).owner_id == owner.id
