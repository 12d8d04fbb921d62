"""Need-to-know (R8) in one place: who may see and work which client and case.

Lists are filtered in SQL with the conditions below, never after loading; views and services
ask these functions instead of comparing organisations themselves.

- A case manager sees own cases and, during an active substitution (R7), the absent
  colleague's cases it covers (``case_visible``, ``client_visible``).
- A supervisor supervises whole organisations or single teams (``supervises``) and sees the
  caseload figures and case metadata of those people's cases (``case_supervised``), never
  client data — except one case at a time through a running emergency access
  (``emergency_open``, issue 5 item 7).
- Administrators and the data protection officer see no client data; the DPO reads the log of
  emergency accesses of the municipality (``emergency_log_visible``).

``tests/integration/test_access_matrix.py`` checks every route against every role and relation.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BindParameter, ColumnElement, and_, event, exists, false, or_, select
from sqlalchemy.orm import Session

from kimdb.auth.models import Role, User
from kimdb.timeutil import today


def works_on_cases(user: User) -> bool:
    """True if ``user`` records clients and cases (case managers)."""
    return user.role is Role.CASE_MANAGER


def substituting(user: User, day: dt.date | None = None) -> ColumnElement[bool]:
    """SQL condition on ``Case``: ``user`` substitutes the case's owner on ``day`` (R7)."""
    from kimdb.cases.models import Case
    from kimdb.substitution.models import Substitution, substitution_cases

    day = day or today()
    if user.role is not Role.CASE_MANAGER:
        return false()
    selected = exists(
        select(substitution_cases.c.case_id)
        .where(
            substitution_cases.c.substitution_id == Substitution.id,
            substitution_cases.c.case_id == Case.id,
        )
        .correlate_except(substitution_cases)  # the case is the one of the outermost query
    )
    # A substitute moved to another organisation loses the cases even before the
    # substitution is ended (kimdb.auth.admin ends it with the move).
    covering = exists(
        select(Substitution.id).where(
            Substitution.substitute_id == user.id,
            Substitution.absent_user_id == Case.owner_id,
            *active_substitution(day),
            or_(Substitution.only_selected.is_(False), selected),
        )
    )
    return and_(Case.organisation_id == user.organisation_id, covering)


_SUBSTITUTED_KEY = "kimdb_substituted_owner_ids"  # flask.g: {(user id, day): owner ids}
_LOADED_ON_KEY = "kimdb_user_loaded_on"  # flask.g: the day ``User.substitutes`` was read for
_CHANGED_KEY = "kimdb_substitutions_written"  # flask.g: this request wrote a substitution


def active_substitution(day: dt.date) -> tuple[ColumnElement[bool], ...]:
    """SQL conditions on ``Substitution``: it has begun by ``day``, not run out, not ended
    (R7; ``kimdb.substitution.rules.is_active`` for a loaded substitution)."""
    from kimdb.substitution.models import Substitution

    return (
        Substitution.first_day <= day,
        Substitution.last_day >= day,
        Substitution.ended_at.is_(None),
    )


def substitutes_on(user_id, day: dt.date) -> ColumnElement[bool]:
    """SQL condition: the user ``user_id`` (an id or a column) substitutes someone on ``day``
    (the substitutions ``substituted_owner_ids`` reads)."""
    from kimdb.substitution.models import Substitution

    return exists(
        select(Substitution.id).where(
            Substitution.substitute_id == user_id, *active_substitution(day)
        )
    )


def note_user_loaded(day: dt.date) -> None:
    """Remember that the request's user was loaded with ``User.substitutes`` for ``day``
    (``kimdb.auth.service.load_user``)."""
    from flask import g

    g.setdefault(_LOADED_ON_KEY, day)


def substituted_owner_ids(user: User, day: dt.date | None = None) -> tuple[int, ...]:
    """Return the ids of the colleagues ``user`` substitutes on ``day`` (default today, R7):
    substitutions that have begun, not ended and not run out, sorted; empty for everyone but
    case managers.

    One statement, cached in ``flask.g`` (the application context: one request, or one
    command), keyed by user and day; a flush that writes a substitution and any rollback
    empty the cache, so a request that starts or ends a substitution reads it again.
    Which of those colleagues' cases are covered (organisation, selected cases) is decided by
    ``substituting``; this list only narrows the owners.

    No statement at all when the user of the request was loaded knowing that they substitute
    no one on ``day`` (``User.substitutes`` False, ``kimdb.auth.service.load_user``) and
    the request has written no substitution since (issue 8: one statement less per page).
    """
    from flask import g, has_app_context

    from kimdb.extensions import db
    from kimdb.substitution.models import Substitution

    if user.role is not Role.CASE_MANAGER:
        return ()
    day = day or today()
    cache = g.setdefault(_SUBSTITUTED_KEY, {}) if has_app_context() else {}
    key = (user.id, day)
    if (
        key not in cache
        and user.substitutes is False
        and has_app_context()
        and g.get(_LOADED_ON_KEY) == day
        and not g.get(_CHANGED_KEY)
    ):
        cache[key] = ()
    if key not in cache:
        cache[key] = tuple(
            sorted(
                set(
                    db.session.scalars(
                        select(Substitution.absent_user_id).where(
                            Substitution.substitute_id == user.id, *active_substitution(day)
                        )
                    )
                )
            )
        )
    return cache[key]


@event.listens_for(Session, "after_rollback")
def forget_substitutions(_session: Session | None = None) -> None:
    """Empty the cache of ``substituted_owner_ids`` in ``flask.g``: after a rollback, and after a
    flush that wrote a substitution (``_substitutions_flushed``)."""
    from flask import g, has_app_context

    if has_app_context():
        g.pop(_SUBSTITUTED_KEY, None)


@event.listens_for(Session, "after_flush")
def _substitutions_flushed(session: Session, _context) -> None:
    from flask import g, has_app_context

    from kimdb.substitution.models import Substitution

    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, Substitution) for obj in changed):
        forget_substitutions()
        if has_app_context():
            g.setdefault(_CHANGED_KEY, True)  # ``User.substitutes`` may be out of date


def case_visible(user: User) -> ColumnElement[bool]:
    """Return a SQL condition on ``Case`` that holds for the cases ``user`` may open (R8):
    own cases, and cases of absent colleagues during a substitution (R7, ``substituting``).

    Reads the colleagues ``user`` substitutes today first (``substituted_owner_ids``, one
    cached statement): without any, the condition is the owner alone, and with some it names
    their ids, so PostgreSQL reads the cases through the owner index instead of expecting
    every case of the organisation (issue 8 item 3).
    """
    from kimdb.cases.models import Case

    if user.role is not Role.CASE_MANAGER:
        return false()
    owners = substituted_owner_ids(user)
    if not owners:
        return own_cases(user.id)
    return or_(own_cases(user.id), and_(Case.owner_id.in_(owners), substituting(user)))


def own_cases(user_id: int | BindParameter[int]) -> ColumnElement[bool]:
    """Return the SQL condition on ``Case`` of the cases the case manager ``user_id`` owns
    (a user id, or a bind parameter of one for a statement built once): all a case manager
    may open who substitutes no one today (R8, ``only_own_cases``)."""
    from kimdb.cases.models import Case

    return Case.owner_id == user_id


def only_own_cases(user: User) -> bool:
    """True if ``case_visible(user)`` is ``own_cases(user.id)``: ``user`` is a case manager
    who substitutes no one today (R7, R8)."""
    return user.role is Role.CASE_MANAGER and not substituted_owner_ids(user)


def client_visible(user: User) -> ColumnElement[bool]:
    """Return a SQL condition on ``Client`` for the clients ``user`` may see (R8).

    A case manager sees the clients of the cases they may open, and a client they registered
    as long as no case of the client exists yet (between registration and opening a case). A
    former owner loses the client with the case (takeover, R7).
    """
    from kimdb.cases.models import Case
    from kimdb.clients.models import Client

    if user.role is not Role.CASE_MANAGER:
        return false()
    visible_case = exists(select(Case.id).where(Case.client_id == Client.id, case_visible(user)))
    no_case_yet = and_(
        Client.registered_by_id == user.id,
        ~exists(select(Case.id).where(Case.client_id == Client.id)),
    )
    return or_(visible_case, no_case_yet)


# -- supervision (issue 5 items 1, 2, 6) -------------------------------------------------------
def _scopes(supervisor_id: int | BindParameter[int]) -> ColumnElement[bool]:
    """SQL condition on ``Supervision``: a supervision of the user ``supervisor_id`` (an id,
    or a bind parameter for a statement built once)."""
    from kimdb.auth.models import Supervision

    return Supervision.supervisor_id == supervisor_id


def supervises(user: User) -> ColumnElement[bool]:
    """SQL condition on ``User``: ``user`` supervises them (their organisation or their team is
    among ``user``'s supervisions). False for everyone but supervisors."""
    if user.role is not Role.SUPERVISOR:
        return false()
    return supervised_by(user.id)


def supervised_by(supervisor_id: int | BindParameter[int]) -> ColumnElement[bool]:
    """SQL condition on ``User``: their organisation or their team is among the supervisions
    of the user ``supervisor_id`` (an id, or a bind parameter for a statement built once).
    ``supervises`` with the role check; this is its condition alone."""
    from kimdb.auth.models import Supervision

    organisations = select(Supervision.organisation_id).where(
        _scopes(supervisor_id), Supervision.organisation_id.is_not(None)
    )
    teams = select(Supervision.team_id).where(
        _scopes(supervisor_id), Supervision.team_id.is_not(None)
    )
    return or_(User.organisation_id.in_(organisations), User.team_id.in_(teams))


def case_supervised(user: User) -> ColumnElement[bool]:
    """SQL condition on ``Case``: ``user`` may see the case's metadata (kind, stage, dates,
    owner; never client data, note texts or need descriptions, R8) as its owner's supervisor."""
    from kimdb.cases.models import Case

    if user.role is not Role.SUPERVISOR:
        return false()
    return Case.owner_id.in_(select(User.id).where(supervises(user)))


def may_supervise(user: User, other: User) -> bool:
    """True if ``user`` is a supervisor of ``other`` (see ``supervises``)."""
    from kimdb.extensions import db

    if user.role is not Role.SUPERVISOR:
        return False
    return (
        db.session.scalar(select(User.id).where(User.id == other.id, supervises(user))) is not None
    )


def supervised_organisation_ids(user: User) -> list[int]:
    """Return the ids of the organisations ``user`` supervises whole or in part (a team)."""
    from kimdb.auth.models import Supervision
    from kimdb.extensions import db
    from kimdb.orgs.models import Team

    if user.role is not Role.SUPERVISOR:
        return []
    whole = select(Supervision.organisation_id).where(
        _scopes(user.id), Supervision.organisation_id.is_not(None)
    )
    partly = (
        select(Team.organisation_id)
        .join(Supervision, Supervision.team_id == Team.id)
        .where(_scopes(user.id))
    )
    return sorted(set(db.session.scalars(whole.union(partly)).all()))


def emergency_open(user: User, moment: dt.datetime | None = None) -> ColumnElement[bool]:
    """SQL condition on ``Case``: ``user`` holds a running emergency access to it (item 7)."""
    from kimdb.cases.models import Case
    from kimdb.emergency.models import EmergencyAccess
    from kimdb.timeutil import now

    if user.role is not Role.SUPERVISOR:
        return false()
    moment = moment or now()
    running = exists(
        select(EmergencyAccess.id).where(
            EmergencyAccess.case_id == Case.id,
            EmergencyAccess.supervisor_id == user.id,
            EmergencyAccess.expires_at > moment,
            EmergencyAccess.ended_at.is_(None),
        )
    )
    # Still the owner's supervisor: a supervision removed or a case reassigned out of scope
    # ends the access at once, not when its time runs out.
    return and_(running, case_supervised(user))


# -- emergency access (issue 5 item 7) ---------------------------------------------------------
def emergency_log_visible(user: User) -> ColumnElement[bool]:
    """SQL condition on ``EmergencyAccess``: ``user`` may read this entry of the emergency-access
    log. The data protection officer (DPO) reads the accesses to cases of organisations in their
    own municipality (Kreis or kreisfreie Stadt); nobody else reads the log (GDPR Art. 38, 39)."""
    from kimdb.cases.models import Case
    from kimdb.emergency.models import EmergencyAccess
    from kimdb.orgs.models import Organisation

    if user.role is not Role.DPO:
        return false()
    municipality = select(Organisation.municipality_id).where(
        Organisation.id == user.organisation_id
    )
    organisations = select(Organisation.id).where(
        Organisation.municipality_id == municipality.scalar_subquery()
    )
    cases = select(Case.id).where(Case.organisation_id.in_(organisations))
    return EmergencyAccess.case_id.in_(cases)
