"""Who may report on what (issue 7 items 1 and 5; R8): a team leader only on their teams, so
that no organisation or county report next to it gives other teams' figures by difference."""

from __future__ import annotations

from kimdb.auth.models import Role
from kimdb.extensions import transaction
from kimdb.orgs.models import Team
from kimdb.reports import service
from kimdb.reports.model import ScopeKind
from tests.factories import make_user


def test_a_team_leader_reports_on_the_team_only_a_head_on_everything_of_the_organisation(db):
    head = make_user("sv.head", role=Role.SUPERVISOR)
    leader = make_user("tl.nord", role=Role.SUPERVISOR)
    with transaction() as session:
        north = Team(name="Nord", organisation_id=leader.organisation_id)
        session.add(north)
        leader.supervisions[0].organisation_id = None
        leader.supervisions[0].team = north

    assert {s.kind for s in service.scopes_for(leader)} == {ScopeKind.TEAM}
    head_kinds = [s.kind for s in service.scopes_for(head)]
    assert head_kinds[:2] == [ScopeKind.MUNICIPALITY, ScopeKind.ORGANISATION]
    assert ScopeKind.TEAM in head_kinds
