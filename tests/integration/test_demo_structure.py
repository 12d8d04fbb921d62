"""The demo installation shows the organisation structure of issue 5: two teams, supervisors
of an organisation, of one team and of another organisation, FTE changes, a running
substitution and a case manager who has left."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from kimdb.auth import policy
from kimdb.auth.models import Role, User
from kimdb.orgs.models import Team
from kimdb.substitution.models import Substitution
from kimdb.timeutil import today


def _user(db, username):
    return db.session.scalar(select(User).where(User.username == username))


def test_demo_has_two_teams_and_supervisors_of_different_reach(data_app, db):
    assert data_app.test_cli_runner().invoke(args=["kimdb", "demo"]).exit_code == 0
    teams = db.session.scalars(select(Team.name)).all()
    assert len(teams) == 2

    def supervised(username):
        return set(
            db.session.scalars(
                select(User.username).where(
                    policy.supervises(_user(db, username)), User.role == Role.CASE_MANAGER
                )
            )
        )

    whole_ki = supervised("supervisor")
    south = supervised("tl.sued")
    caritas = supervised("sv.caritas")
    assert {"cm.above", "cm.yilmaz", "cm.left"} <= whole_ki
    assert south < whole_ki and "cm.yilmaz" in south and "cm.above" not in south
    assert "cm.wessels" in caritas and not caritas & whole_ki
    assert _user(db, "dsb").role is Role.DPO
    from kimdb.orgs.models import Municipality, MunicipalityKind

    seeded = select(Municipality).where(Municipality.kind != MunicipalityKind.STATE)
    assert len(db.session.scalars(seeded).all()) == 54  # seeded with the demo


def test_demo_staff_changes_show_on_the_dashboard_data(data_app, db):
    assert data_app.test_cli_runner().invoke(args=["kimdb", "demo"]).exit_code == 0
    assert not _user(db, "cm.left").active
    running = db.session.scalar(
        select(Substitution).where(
            Substitution.first_day <= today(), Substitution.last_day >= today()
        )
    )
    assert running.absent_user.username == "cm.below"
    changed = [
        u
        for u in db.session.scalars(select(User).where(User.role == Role.CASE_MANAGER))
        if len({p.fte for p in u.fte_periods}) > 1
    ]
    assert changed, "some demo case managers changed their FTE"
    for user in changed:
        first = user.fte_periods[0]
        assert user.fte_on(first.valid_from) == Decimal("1.00") > user.fte


def test_demo_has_an_emergency_access_the_owner_has_not_seen(data_app, db):
    from kimdb.emergency.models import EmergencyAccess

    assert data_app.test_cli_runner().invoke(args=["kimdb", "demo"]).exit_code == 0
    access = db.session.scalar(select(EmergencyAccess))
    assert access.owner.username == "cm.yilmaz" and access.supervisor.username == "tl.sued"
    assert access.case.owner_id == access.owner_id and access.seen_by_owner_at is None


def test_demo_shows_retention_and_a_withdrawn_consent(data_app, db):
    from kimdb.clients.models import Client

    runner = data_app.test_cli_runner()
    assert runner.invoke(args=["kimdb", "demo"]).exit_code == 0
    due = runner.invoke(args=["kimdb", "purge", "--dry-run"])
    assert "clients would erase: 6" in due.output
    erased = db.session.scalars(select(Client).where(Client.erased_at.is_not(None))).all()
    assert len(erased) == 1 and erased[0].family_name is None
    assert erased[0].consent.withdrawn_at is not None
    assert "chain intact" in runner.invoke(args=["kimdb", "audit", "verify"]).output
