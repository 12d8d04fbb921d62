"""Use cases of emergency access ("break the glass"): open, read, end, tell the owner, log.

One transaction per use case; a refused request writes nothing. Source: issue 5 item 7;
DESIGN.md R7, R8; GDPR Art. 5(1)(f), Art. 32.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from kimdb.auth import policy
from kimdb.auth.models import Role, User
from kimdb.cases.models import Case, Note, Referral
from kimdb.cases.rules import Stage
from kimdb.emergency import rules
from kimdb.emergency.models import EmergencyAccess
from kimdb.extensions import db, transaction
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation, page_window
from kimdb.substitution.models import Substitution, substitution_cases
from kimdb.timeutil import now, today

LOG_PAGE_SIZE = 50  # entries per page of the data protection officer's log
PAST_SHOWN = 20  # ended or expired accesses listed on the supervisor's page


class NotAllowed(RuleViolation):
    """The user may not do this (R8); views answer 403."""


class AccessNotFound(RuleViolation):
    """No such emergency access of this user (also: someone else's); views answer 404."""


class AccessOver(RuleViolation):
    """The emergency access has expired or was ended; the case is closed to the supervisor
    again. Views answer 410 (Gone)."""


def access_hours() -> int:
    """Return how many hours an emergency access runs (``KIMDB_EMERGENCY_ACCESS_HOURS``,
    default 4). Raises ValueError when the setting lies outside 1..24 hours."""
    return rules.check_hours(
        int(current_app.config.get("EMERGENCY_ACCESS_HOURS", rules.DEFAULT_HOURS))
    )


def _running(moment: dt.datetime):
    """SQL condition on EmergencyAccess: running at ``moment``."""
    return and_(EmergencyAccess.expires_at > moment, EmergencyAccess.ended_at.is_(None))


def _covering_substitute(case: Case, day: dt.date) -> User | None:
    """Return who substitutes ``case``'s owner on ``day`` for this case (R7), or None."""
    selected = exists(
        select(substitution_cases.c.case_id).where(
            substitution_cases.c.substitution_id == Substitution.id,
            substitution_cases.c.case_id == case.id,
        )
    )
    return db.session.scalar(
        select(User)
        .join(Substitution, Substitution.substitute_id == User.id)
        .where(
            Substitution.absent_user_id == case.owner_id,
            *policy.active_substitution(day),
            or_(Substitution.only_selected.is_(False), selected),
        )
        .limit(1)
    )


def _supervised_case(supervisor: User, case_number: str) -> Case | None:
    """Return the case numbered ``case_number`` if ``supervisor`` supervises its owner (R8)."""
    parsed = rules.parse_case_number(case_number)
    if parsed is None:
        return None
    year, case_id = parsed
    case = db.session.scalar(
        select(Case).where(Case.id == case_id, policy.case_supervised(supervisor))
    )
    if case is None or case.opened_on.year != year:
        return None
    return case


def open_emergency_access(
    supervisor: User, case_number: str, reason: str
) -> tuple[EmergencyAccess, bool]:
    """Open an emergency access of ``supervisor`` to the case numbered ``case_number``
    (``JJJJ-NNNNNN``) for ``reason``; it runs KIMDB_EMERGENCY_ACCESS_HOURS hours.

    Returns (access, created): a supervisor who already holds a running access to the case
    gets that one back (created False; not prolonged, no second row). Raises NotAllowed (not a
    supervisor) or EmergencyRefused (reason too short, unknown or unsupervised case, closed
    case, running substitution, limit reached) before anything is written.

    Source: issue 5 item 7; DESIGN.md R7, R8; GDPR Art. 5(1)(f), Art. 32.
    """
    if supervisor.role is not Role.SUPERVISOR or not supervisor.active:
        raise NotAllowed(_l("Nur die Koordination kann einen Notfallzugriff öffnen."))
    text = rules.check_reason(reason)
    hours = access_hours()
    with transaction() as session:
        # Serialise one supervisor's requests (PostgreSQL), so two at once cannot both pass
        # the limit of running accesses; SQLite serialises writers anyway.
        session.scalar(select(User.id).where(User.id == supervisor.id).with_for_update())
        moment = now()
        case = _supervised_case(supervisor, case_number)
        substitute = _covering_substitute(case, today()) if case is not None else None
        existing = (
            session.scalar(
                select(EmergencyAccess).where(
                    EmergencyAccess.supervisor_id == supervisor.id,
                    EmergencyAccess.case_id == case.id,
                    _running(moment),
                )
            )
            if case is not None
            else None
        )
        running_count = session.scalar(
            select(func.count(EmergencyAccess.id)).where(
                EmergencyAccess.supervisor_id == supervisor.id, _running(moment)
            )
        )
        rules.check_emergency_access(
            rules.AccessRequest(
                case_found=case is not None,
                case_open=case is not None and case.stage is not Stage.CLOSED,
                substitute_name=substitute.display_name if substitute else None,
                running_on_case=existing is not None,
                running_count=running_count,
            )
        )
        if existing is not None:
            return existing, False
        access = EmergencyAccess(
            case_id=case.id,
            supervisor_id=supervisor.id,
            owner_id=case.owner_id,
            reason=text,
            granted_at=moment,
            expires_at=rules.access_expiry(moment, hours),
        )
        session.add(access)
    return access, True


def _own_access(supervisor: User, access_id: int) -> EmergencyAccess:
    access = db.session.scalar(
        select(EmergencyAccess).where(
            EmergencyAccess.id == access_id, EmergencyAccess.supervisor_id == supervisor.id
        )
    )
    if access is None or supervisor.role is not Role.SUPERVISOR:
        raise AccessNotFound(_l("Diesen Notfallzugriff gibt es nicht."))
    return access


def state_of(access: EmergencyAccess, moment: dt.datetime | None = None) -> rules.AccessState:
    """Return whether ``access`` is running, expired or ended at ``moment`` (default now)."""
    return rules.access_state(access.expires_at, access.ended_at, moment or now())


@dataclass(frozen=True)
class EmergencyView:
    """What the supervisor reads during an emergency access: the access, the case with its
    client, needs, goals, open follow-ups and referrals, and the latest notes and
    consultations (current versions only)."""

    access: EmergencyAccess
    case: Case
    notes: list[Note]
    consultations: list
    open_follow_ups: list
    open_referrals: list[Referral]


LATEST = 5  # notes and consultations shown on the emergency page


def case_under_access(supervisor: User, access_id: int) -> EmergencyView:
    """Return the case of ``supervisor``'s running emergency access ``access_id``, read-only.

    Raises AccessNotFound (no such access of this supervisor) or AccessOver (expired or
    ended: the case is closed to the supervisor again). The case is loaded through
    ``policy.emergency_open``, so the time limit is enforced in SQL as well (R8).
    """
    access = _own_access(supervisor, access_id)
    moment = now()
    if state_of(access, moment) is not rules.AccessState.RUNNING:
        raise AccessOver(_l("Dieser Notfallzugriff ist beendet."))
    case = db.session.scalar(
        select(Case)
        .where(Case.id == access.case_id, policy.emergency_open(supervisor, moment))
        .options(
            joinedload(Case.client),
            joinedload(Case.owner),
            selectinload(Case.needs),
            selectinload(Case.goals),
            selectinload(Case.follow_ups),
            selectinload(Case.referrals).joinedload(Referral.partner),
            selectinload(Case.notes).joinedload(Note.written_by),
            selectinload(Case.consultations),
        )
    )
    if case is None:
        raise AccessOver(_l("Dieser Notfallzugriff ist beendet."))
    superseded = {n.supersedes_id for n in case.notes if n.supersedes_id}
    notes = sorted(
        (n for n in case.notes if n.id not in superseded),
        key=lambda n: (n.noted_on, n.id),
        reverse=True,
    )
    return EmergencyView(
        access=access,
        case=case,
        notes=notes[:LATEST],
        consultations=list(case.consultations[:LATEST]),
        open_follow_ups=[f for f in case.follow_ups if f.done_at is None],
        open_referrals=[r for r in case.referrals if r.status.value in ("proposed", "arranged")],
    )


def end_emergency_access(supervisor: User, access_id: int) -> EmergencyAccess:
    """End ``supervisor``'s emergency access ``access_id`` now (before its time runs out).

    An access already over stays as it is. Raises AccessNotFound for someone else's access.
    """
    access = _own_access(supervisor, access_id)
    with transaction():
        if state_of(access) is rules.AccessState.RUNNING:
            access.ended_at = now()
    return access


def running_accesses(supervisor: User) -> list[EmergencyAccess]:
    """Return ``supervisor``'s running emergency accesses, the one ending first first."""
    return list(
        db.session.scalars(
            select(EmergencyAccess)
            .where(EmergencyAccess.supervisor_id == supervisor.id, _running(now()))
            .options(joinedload(EmergencyAccess.case), joinedload(EmergencyAccess.owner))
            .order_by(EmergencyAccess.expires_at)
        )
    )


def past_accesses(supervisor: User, limit: int = PAST_SHOWN) -> list[EmergencyAccess]:
    """Return ``supervisor``'s latest expired or ended emergency accesses, newest first."""
    return list(
        db.session.scalars(
            select(EmergencyAccess)
            .where(EmergencyAccess.supervisor_id == supervisor.id, ~_running(now()))
            .options(joinedload(EmergencyAccess.case), joinedload(EmergencyAccess.owner))
            .order_by(EmergencyAccess.granted_at.desc(), EmergencyAccess.id.desc())
            .limit(limit)
        )
    )


def unseen_by_owner(owner_id) -> ColumnElement[bool]:
    """SQL condition: some emergency access to cases of the user ``owner_id`` (an id or a
    column) waits for the owner's acknowledgement (``ix_emergency_accesses_owner_seen``)."""
    return exists(
        select(EmergencyAccess.id).where(
            EmergencyAccess.owner_id == owner_id, EmergencyAccess.seen_by_owner_at.is_(None)
        )
    )


def unseen_for_owner(user: User) -> list[EmergencyAccess]:
    """Return the emergency accesses to ``user``'s cases that ``user`` has not acknowledged,
    oldest first (one indexed query: ``ix_emergency_accesses_owner_seen``). Empty for
    everyone but case managers, and without a query when the user was loaded knowing there
    are none (``User.unseen_emergency_access`` False, ``kimdb.auth.service.load_user``)."""
    if user.role is not Role.CASE_MANAGER or user.unseen_emergency_access is False:
        return []  # False: known from the user's own statement (``unseen_by_owner``)
    return list(
        db.session.scalars(
            select(EmergencyAccess)
            .where(EmergencyAccess.owner_id == user.id, EmergencyAccess.seen_by_owner_at.is_(None))
            .options(joinedload(EmergencyAccess.case), joinedload(EmergencyAccess.supervisor))
            .order_by(EmergencyAccess.granted_at, EmergencyAccess.id)
        )
    )


def acknowledge(user: User, access_id: int | None = None) -> int:
    """The case owner ``user`` takes note of emergency access ``access_id`` (None: all unseen
    ones). Returns how many were marked seen. Raises AccessNotFound for an access to someone
    else's case."""
    query = select(EmergencyAccess).where(
        EmergencyAccess.owner_id == user.id, EmergencyAccess.seen_by_owner_at.is_(None)
    )
    if access_id is not None:
        owned = db.session.scalar(
            select(EmergencyAccess.id).where(
                EmergencyAccess.id == access_id, EmergencyAccess.owner_id == user.id
            )
        )
        if owned is None:
            raise AccessNotFound(_l("Diesen Notfallzugriff gibt es nicht."))
        query = query.where(EmergencyAccess.id == access_id)
    with transaction() as session:
        moment = now()
        accesses = list(session.scalars(query))
        for access in accesses:
            access.seen_by_owner_at = moment
    return len(accesses)


@dataclass(frozen=True)
class LogPage:
    """One page of the emergency-access log: entries newest first, the page number (from 1),
    the number of pages and of entries in all."""

    entries: list[EmergencyAccess]
    page: int
    pages: int
    total: int


def log_for_dpo(
    dpo: User,
    period: tuple[dt.datetime, dt.datetime] | None = None,
    page: int = 1,
    page_size: int = LOG_PAGE_SIZE,
) -> LogPage:
    """Return page ``page`` of the emergency accesses the data protection officer ``dpo`` may
    read (their municipality, ``policy.emergency_log_visible``), newest first, optionally only
    those granted within ``period`` (UTC start inclusive, end exclusive).

    Shows who, which case number, whose case, why, when and whether the owner has seen it; no
    other client data (R8). Raises NotAllowed for anyone but the DPO. Source: issue 5 item 7;
    GDPR Art. 5(2) (accountability), Art. 39 (tasks of the DPO).
    """
    if dpo.role is not Role.DPO:
        raise NotAllowed(_l("Nur die Datenschutzbeauftragte kann das Protokoll lesen."))
    conditions = [policy.emergency_log_visible(dpo)]
    if period is not None:
        conditions += [
            EmergencyAccess.granted_at >= period[0],
            EmergencyAccess.granted_at < period[1],
        ]
    total = db.session.scalar(select(func.count(EmergencyAccess.id)).where(*conditions))
    page, pages = page_window(total, page, page_size)
    entries = list(
        db.session.scalars(
            select(EmergencyAccess)
            .where(*conditions)
            .options(
                joinedload(EmergencyAccess.case),
                joinedload(EmergencyAccess.supervisor),
                joinedload(EmergencyAccess.owner),
            )
            .order_by(EmergencyAccess.granted_at.desc(), EmergencyAccess.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    )
    return LogPage(entries=entries, page=page, pages=pages, total=total)
