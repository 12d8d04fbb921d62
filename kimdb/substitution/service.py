"""Use cases of substitution, takeover and reassignment (R7). One transaction each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from kimdb.auth import policy
from kimdb.auth.models import Role, User
from kimdb.caseload.rules import Caseload
from kimdb.caseload.service import caseload_of
from kimdb.cases.models import Case
from kimdb.cases.rules import CaseKind, Stage
from kimdb.cases.service import touch
from kimdb.extensions import db, transaction
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation
from kimdb.substitution import rules
from kimdb.substitution.models import CaseTransfer, Substitution, TransferKind
from kimdb.timeutil import now, today


class NotAllowed(RuleViolation):
    """The user may not do this (R7, R8); views answer 403."""


def _may_manage(by: User, absent: User) -> bool:
    """Supervisors set substitutions for the people they supervise; a case manager for own
    absence (R7; ``kimdb.auth.policy.may_supervise``)."""
    if by.role is Role.SUPERVISOR:
        return policy.may_supervise(by, absent)
    return by.role is Role.CASE_MANAGER and by.id == absent.id


def colleagues(user: User) -> list[User]:
    """Return the active case managers ``user`` may pick in substitution forms, by name: for a
    supervisor those they supervise, for a case manager those of their organisation."""
    query = select(User).where(User.role == Role.CASE_MANAGER, User.active.is_(True))
    if user.role is Role.SUPERVISOR:
        query = query.where(policy.supervises(user))
    else:
        query = query.where(User.organisation_id == user.organisation_id)
    return list(db.session.scalars(query.order_by(User.display_name)))


def colleague(user: User, other_id: int | None) -> User | None:
    """Return the user ``other_id`` if ``user`` may name them in a substitution or reassignment
    form (a supervised person for supervisors, one of the organisation for case managers)."""
    other = db.session.get(User, other_id) if other_id else None
    if other is None:
        return None
    if user.role is Role.SUPERVISOR:
        return other if policy.may_supervise(user, other) else None
    return other if other.organisation_id == user.organisation_id else None


def _periods(query) -> list[tuple[dt.date, dt.date]]:
    return [(s.first_day, s.last_day) for s in db.session.scalars(query)]


def set_substitution(
    by: User,
    absent: User,
    substitute: User,
    first_day: dt.date,
    last_day: dt.date,
    cases: list[Case] | None = None,
) -> Substitution:
    """Let ``substitute`` work ``absent``'s cases (or only ``cases``) from ``first_day`` to
    ``last_day``. Raises NotAllowed or SubstitutionRefused (overlap, self, absent substitute,
    bad period, other organisation). Source: R7, FAQ KIM NRW Q34."""
    if not _may_manage(by, absent):
        raise NotAllowed(_l("Sie dürfen diese Vertretung nicht festlegen."))
    if (
        substitute.organisation_id != absent.organisation_id
        or substitute.role is not Role.CASE_MANAGER
        or not substitute.active
    ):
        raise rules.SubstitutionRefused(
            _l("Bitte eine aktive Case Manager:in derselben Organisation wählen."),
            field="substitute_id",
        )
    open_subs = select(Substitution).where(Substitution.ended_at.is_(None))
    rules.check_substitution(
        absent.id,
        substitute.id,
        first_day,
        last_day,
        today(),
        _periods(open_subs.where(Substitution.absent_user_id == absent.id)),
        _periods(open_subs.where(Substitution.absent_user_id == substitute.id)),
    )
    if cases and any(c.owner_id != absent.id for c in cases):
        raise rules.SubstitutionRefused(
            _l("Es können nur Fälle der abwesenden Person gewählt werden."), field="case_ids"
        )
    with transaction() as session:
        substitution = Substitution(
            absent_user_id=absent.id,
            substitute_id=substitute.id,
            first_day=first_day,
            last_day=last_day,
            only_selected=bool(cases),
            set_by_id=by.id,
            cases=list(cases or []),
        )
        session.add(substitution)
    return substitution


def end_substitution(by: User, substitution: Substitution) -> None:
    """End a substitution now (the absent user is back early); access ends at once."""
    if not _may_manage(by, substitution.absent_user):
        raise NotAllowed(_l("Sie dürfen diese Vertretung nicht beenden."))
    with transaction():
        substitution.ended_at = now()


def substitutions_for(user: User) -> list[Substitution]:
    """Return the current and coming substitutions ``user`` may manage or is part of."""
    query = select(Substitution).where(
        Substitution.ended_at.is_(None), Substitution.last_day >= today()
    )
    if user.role is Role.SUPERVISOR:
        absent_ids = select(User.id).where(policy.supervises(user))
        query = query.where(Substitution.absent_user_id.in_(absent_ids))
    else:
        query = query.where(
            (Substitution.absent_user_id == user.id) | (Substitution.substitute_id == user.id)
        )
    return list(db.session.scalars(query.order_by(Substitution.first_day)))


def acting_for(user: User, case: Case) -> User | None:
    """Return the owner ``user`` substitutes on ``case`` today, or None for the owner (R7)."""
    return case.owner if case.owner_id != user.id else None


def take_over(case: Case, by: User, reason: str) -> CaseTransfer:
    """The substitute takes ``case`` over for good (Vorgangsübernahme); the former owner loses
    access. Raises NotAllowed unless ``by`` substitutes the owner on this case today."""
    from kimdb.auth.policy import substituting

    covered = db.session.scalar(select(Case.id).where(Case.id == case.id, substituting(by)))
    if case.owner_id == by.id or by.role is not Role.CASE_MANAGER or covered is None:
        raise NotAllowed(_l("Nur die Vertretung kann diesen Fall übernehmen."))
    rules.check_receiver(by.active, True, by.organisation_id == case.organisation_id, False, reason)
    return _move([case], by, by, reason, TransferKind.TAKEOVER)[0]


@dataclass(frozen=True)
class ReassignmentPreview:
    """The receiver's caseload before and after a reassignment, and whether to warn."""

    before: Caseload
    after: Caseload
    above_band: bool


def preview_reassignment(receiver: User, cases: list[Case]) -> ReassignmentPreview:
    """Return the receiver's caseload before and after taking the open ``cases`` (Q33 band)."""
    moving = [c for c in cases if c.stage is not Stage.CLOSED]
    before = caseload_of(receiver)
    after, warn = rules.caseload_after(
        before, len(moving), sum(1 for c in moving if c.kind is CaseKind.CASE_MANAGEMENT)
    )
    return ReassignmentPreview(before, after, warn)


def reassign(by: User, cases: list[Case], receiver: User, reason: str) -> list[CaseTransfer]:
    """A supervisor moves ``cases`` to ``receiver`` for good, all in one transaction (R7).

    Raises NotAllowed (``by`` does not supervise the cases' owners) or TransferRefused
    (receiver deactivated, of another organisation, not a case manager, already the owner).
    """
    ids = {c.id for c in cases}
    supervised = db.session.scalar(
        select(func.count(Case.id)).where(Case.id.in_(ids), policy.case_supervised(by))
    )
    if by.role is not Role.SUPERVISOR or supervised != len(ids):
        raise NotAllowed(_l("Sie dürfen diese Fälle nicht neu zuweisen."))
    if not cases:
        raise rules.TransferRefused(_l("Bitte mindestens einen Fall wählen."), field="case_ids")
    for case in cases:
        rules.check_receiver(
            receiver.active,
            receiver.role is Role.CASE_MANAGER,
            receiver.organisation_id == case.organisation_id,
            receiver.id == case.owner_id,
            reason,
        )
    return _move(cases, receiver, by, reason, TransferKind.REASSIGNMENT)


def _move(cases, receiver: User, by: User, reason: str, kind: TransferKind):
    moment = now()
    transfers = []
    with transaction() as session:
        for case in cases:
            transfer = CaseTransfer(
                case_id=case.id,
                from_owner_id=case.owner_id,
                to_owner_id=receiver.id,
                kind=kind,
                reason=reason.strip(),
                by_id=by.id,
                at=moment,
            )
            session.add(transfer)
            transfers.append(transfer)
            case.owner_id = receiver.id
            touch(case)  # optimistic lock: a concurrent write loses
    return transfers


def transfers_of(case: Case) -> list[CaseTransfer]:
    """Return the ownership changes of ``case``, oldest first."""
    return list(
        db.session.scalars(
            select(CaseTransfer).where(CaseTransfer.case_id == case.id).order_by(CaseTransfer.at)
        )
    )


def open_cases_of(owner_id: int, by: User) -> list[Case]:
    """Return the open cases of ``owner_id`` that ``by`` may list: their own, or those of a
    person they supervise (metadata only: no client data, R8)."""
    allowed = Case.owner_id == by.id if by.role is Role.CASE_MANAGER else policy.case_supervised(by)
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.owner_id == owner_id, allowed, Case.stage != Stage.CLOSED)
            .order_by(Case.opened_on)
        )
    )


def count_substituted(user: User) -> int:
    """Return how many cases ``user`` works as substitute today."""
    from kimdb.auth.policy import substituting

    return db.session.scalar(
        select(func.count(Case.id)).where(Case.stage != Stage.CLOSED, substituting(user))
    )


def substituted_cases(user: User) -> list[Case]:
    """Return the open cases ``user`` works as substitute today (for the start page); without
    a statement for a user who substitutes no one today (``policy.substituted_owner_ids``,
    known from loading the user; issue 8, measured: 1.1 ms of the start page's 5.5 ms of SQL).
    """
    from sqlalchemy.orm import joinedload

    from kimdb.auth.policy import substituting

    if not policy.substituted_owner_ids(user):
        return []
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.stage != Stage.CLOSED, substituting(user))
            .options(joinedload(Case.client), joinedload(Case.owner))
            .order_by(Case.last_activity_on)
        )
    )
