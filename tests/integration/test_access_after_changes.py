"""Access ends when the relation behind it ends (R7, R8): a substitute moved to another
organisation, an emergency access whose supervision was removed, a deactivated supervisor."""

from __future__ import annotations

import datetime as dt

import pytest

from kimdb.auth import admin
from kimdb.auth.models import Role
from kimdb.cases import service as cases_service
from kimdb.cases.rules import CaseKind
from kimdb.emergency import service as emergency_service
from kimdb.extensions import transaction
from kimdb.orgs.models import Team
from kimdb.orgs.service import ensure_organisation
from kimdb.substitution import service as substitution_service
from kimdb.substitution.models import Substitution
from kimdb.timeutil import today
from tests.factories import csrf_token, login, make_case, make_user

REASON = "Klientin braucht heute Hilfe, Case Manager unerwartet krank"


def test_a_substitute_moved_to_another_organisation_loses_the_cases_at_once(db):
    owner, substitute = make_user("cm.owner"), make_user("cm.sub")
    office = make_user("admin.kreis", role=Role.ADMIN)
    case = make_case(owner)
    substitution_service.set_substitution(
        owner, owner, substitute, today(), today() + dt.timedelta(days=5)
    )
    assert cases_service.get_case(substitute, case.id) is not None
    caritas = ensure_organisation("Caritas Testkreis", "Kreis Testkreis", "welfare")

    admin.update_user_account(
        office,
        substitute,
        username="cm.sub",
        display_name="Cm.Sub",
        role=Role.CASE_MANAGER,
        organisation_id=caritas.id,
    )

    assert cases_service.get_case(substitute, case.id) is None
    assert db.session.get(Substitution, 1).ended_at is not None


def test_the_policy_alone_stops_a_substitute_of_another_organisation(db):
    owner, substitute = make_user("cm.owner"), make_user("cm.sub")
    case = make_case(owner)
    substitution_service.set_substitution(
        owner, owner, substitute, today(), today() + dt.timedelta(days=5)
    )
    caritas = ensure_organisation("Caritas Testkreis", "Kreis Testkreis", "welfare")
    with transaction():  # moved behind the admin's back (e.g. a database import)
        substitute.organisation_id = caritas.id
    assert cases_service.get_case(substitute, case.id) is None


def _emergency(db):
    lead = make_user("sv.lead", role=Role.SUPERVISOR)
    owner = make_user("cm.owner")
    case = make_case(owner, CaseKind.CASE_MANAGEMENT)
    access, _ = emergency_service.open_emergency_access(lead, case.number, REASON)
    return lead, owner, access


def test_an_emergency_access_ends_when_the_supervision_is_removed(db):
    lead, owner, access = _emergency(db)
    assert emergency_service.case_under_access(lead, access.id).case.id == access.case_id
    with transaction() as session:
        other = Team(name="Andere", organisation_id=owner.organisation_id)
        session.add(other)
        lead.supervisions[0].organisation_id = None
        lead.supervisions[0].team = other
    with pytest.raises(emergency_service.AccessOver):
        emergency_service.case_under_access(lead, access.id)


def test_deactivating_a_supervisor_ends_their_emergency_accesses(db):
    lead, owner, access = _emergency(db)
    office = make_user("admin.kreis", role=Role.ADMIN)
    admin.deactivate(office, lead)
    admin.reactivate(office, lead)
    db.session.refresh(access)
    assert access.ended_at is not None


def test_a_team_leader_can_reassign_to_a_case_manager_of_another_team(client, db):
    owner, receiver = make_user("cm.owner"), make_user("cm.receiver")
    lead = make_user("tl.nord", role=Role.SUPERVISOR)
    case = make_case(owner)
    with transaction() as session:
        north = Team(name="Nord", organisation_id=owner.organisation_id)
        south = Team(name="Süd", organisation_id=owner.organisation_id)
        session.add_all([north, south])
        owner.team, receiver.team = north, south
        lead.supervisions[0].organisation_id = None
        lead.supervisions[0].team = north
    login(client, "tl.nord")
    response = client.post(
        f"/reassign/{owner.id}",
        data={
            "csrf_token": csrf_token(client, f"/reassign/{owner.id}"),
            "case_ids": [case.id],
            "receiver_id": receiver.id,
            "reason": "Team Süd übernimmt den Stadtteil",
            "confirm": "1",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert cases_service.get_case(receiver, case.id) is not None
