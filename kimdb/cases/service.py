"""Use cases of a case: open, classify, move through stages, record needs, goals and
consultations. Each function is one transaction; rule violations raise before any write."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from kimdb.auth import policy
from kimdb.auth.models import User
from kimdb.cases import rules
from kimdb.cases.models import (
    Assessment,
    Case,
    ClassificationChange,
    Consultation,
    ConsultationMode,
    Goal,
    GoalResponsible,
    GoalStatus,
    LegalDomain,
    LifeArea,
    MonitoringEntry,
    Need,
    Note,
    Referral,
    StageChange,
)
from kimdb.cases.rules import CaseKind, ClosureReason, Stage
from kimdb.clients.models import Client
from kimdb.consent.models import Consent, ConsentExchange
from kimdb.extensions import db, transaction
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation
from kimdb.timeutil import now, today


class NotAllowed(RuleViolation):
    """The user may not do this (R8); views answer 403."""


@functools.cache
def _own_case_statement() -> Select:
    """The statement of ``get_case(records=False)`` for a case manager who substitutes no one
    today (``policy.only_own_cases``; parameters ``case_id``, ``user_id``), built once per
    process: the case page and the timeline ask for it on every request, and building it
    with the access condition and its cache key cost about as much as running it (issue 8,
    measured: the case page's ``_load`` 0.69 ms with 0.25 ms of SQL)."""
    return select(Case).where(
        Case.id == bindparam("case_id", type_=Integer), policy.own_cases(bindparam("user_id"))
    )


def get_case(
    user: User,
    case_id: int,
    *,
    consent: bool = True,
    assessments: bool = True,
    records: bool = True,
) -> Case | None:
    """Return case ``case_id`` with what its pages show, if ``user`` may see it, else None.

    One statement for the case with its client, and one per collection (``selectinload``).
    ``consent`` loads the data-exchange partners of the client's consent (the case page's
    referral form), ``assessments`` the assessments with their life areas (the timeline, the
    assessment page); a page that leaves one out saves its round trips, and whatever it
    reads anyway is loaded when it is read. ``records=False`` loads the case row alone (same
    access condition): the case page and the timeline read the rest as plain rows
    (``queries.case_record``; issue 8, measured: the collections were ≈40 % of the page).
    """
    if not records and policy.only_own_cases(user):
        return db.session.scalar(_own_case_statement(), {"case_id": case_id, "user_id": user.id})
    visible = select(Case).where(Case.id == case_id, policy.case_visible(user))
    if not records:
        return db.session.scalar(visible)
    client = joinedload(Case.client)
    options = [
        selectinload(Case.needs),
        selectinload(Case.referrals).joinedload(Referral.partner),
        selectinload(Case.notes).joinedload(Note.written_by),
        selectinload(Case.follow_ups),
        selectinload(Case.monitoring_entries).joinedload(MonitoringEntry.recorded_by),
        selectinload(Case.goals),
        selectinload(Case.consultations),
        selectinload(Case.stage_changes).joinedload(StageChange.changed_by),
        selectinload(Case.classification_changes).joinedload(ClassificationChange.changed_by),
    ]
    if consent:
        options.append(
            client.joinedload(Client.consent)
            .selectinload(Consent.exchanges)
            .joinedload(ConsentExchange.partner)
        )
    else:
        options.append(client)
    if assessments:
        options.append(selectinload(Case.assessments).selectinload(Assessment.areas))
    return db.session.scalar(visible.options(*options))


def cases_of_client(user: User, client_id: int) -> list[Case]:
    """Return the cases of client ``client_id`` that ``user`` may see, newest first."""
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.client_id == client_id, policy.case_visible(user))
            .order_by(Case.opened_on.desc(), Case.id.desc())
        )
    )


@dataclass(frozen=True)
class HistoryItem:
    """One line of a case's history: when, what (German text), by whom, why (if recorded);
    ``is_stage`` tells stage changes from classification changes."""

    at: dt.datetime
    text: str
    by: str
    is_stage: bool = True
    reason: str = ""


def colleague_names(organisation_id: int) -> dict[int, str]:
    """Return user id → display name of the users of organisation ``organisation_id`` (who
    wrote what in a case; one statement of two columns)."""
    rows = db.session.execute(
        select(User.id, User.display_name).where(User.organisation_id == organisation_id)
    )
    return {user_id: name for user_id, name in rows}


def case_history(record, names: dict[int, str]) -> list[HistoryItem]:
    """Return the classification and stage changes and owner changes of a case, oldest
    first (R3, R4, R7); entries of a substitute say so. ``record``: the case's
    ``queries.CaseRecord``; ``names``: user id → display name of the case's organisation
    (``colleague_names``, or the record's ``colleagues``)."""
    from kimdb import labels

    items = [
        HistoryItem(
            at=c.changed_at,
            text=(
                _l("Eingestuft als %(kind)s", kind=labels.CASE_KIND[c.to_kind])
                if c.from_kind is None
                else _l(
                    "Einstufung geändert: %(old)s → %(new)s (%(reason)s)",
                    old=labels.CASE_KIND[c.from_kind],
                    new=labels.CASE_KIND[c.to_kind],
                    reason=c.reason or "",
                )
            ),
            by=written_by(c.changed_by_name, c.on_behalf_of_id, names),
            is_stage=False,
            reason=c.reason or "",
        )
        for c in record.classification_changes
    ]
    items += [
        HistoryItem(
            at=s.changed_at,
            text=(
                _l("Phase: %(stage)s", stage=labels.STAGE[s.to_stage])
                if s.from_stage is None
                else _l(
                    "Wiedereröffnet: %(old)s → %(new)s",
                    old=labels.STAGE[s.from_stage],
                    new=labels.STAGE[s.to_stage],
                )
                if s.from_stage is Stage.CLOSED
                else _l(
                    "Abgeschlossen am %(day)s: %(reason)s",
                    day=labels.format_day(s.closed_on),
                    reason=labels.CLOSURE_REASON[s.closure_reason],
                )
                if s.to_stage is Stage.CLOSED and s.closure_reason
                else _l(
                    "Phase: %(old)s → %(new)s",
                    old=labels.STAGE[s.from_stage],
                    new=labels.STAGE[s.to_stage],
                )
            ),
            by=written_by(s.changed_by_name, s.on_behalf_of_id, names),
            reason=s.reason or "",
        )
        for s in record.stage_changes
    ]
    items += [
        HistoryItem(
            at=t.at,
            text=_l(
                "Fall übergeben: %(old)s → %(new)s",
                old=t.from_owner_name,
                new=t.to_owner_name,
            ),
            by=t.by_name,
            is_stage=True,
            reason=t.reason,
        )
        for t in record.transfers
    ]
    return sorted(items, key=lambda i: i.at)


def written_by(name: str, on_behalf_of_id: int | None, names: dict[int, str]) -> str:
    """Return who wrote a record, "X (in Vertretung für Y)" for a substitute's entry (R7);
    ``name``: the writer's display name."""
    if on_behalf_of_id is None:
        return name
    return str(
        _l(
            "%(name)s (in Vertretung für %(owner)s)",
            name=name,
            owner=names.get(on_behalf_of_id, "?"),
        )
    )


def on_behalf_of(case: Case, by: User) -> int | None:
    """Return the owner's id when ``by`` writes into someone else's case (a substitute, R7)."""
    return case.owner_id if by.id != case.owner_id else None


def touch(case: Case, day: dt.date | None = None) -> None:
    """Mark the case row as written (optimistic lock) and move its last activity forward to
    ``day`` (never back)."""
    case.updated_at = now()
    if day is not None and (case.last_activity_on is None or day > case.last_activity_on):
        case.last_activity_on = day


class CaseAlreadyOpen(RuleViolation):
    """The client already has an open case (one person, one open case; R5)."""


def open_case_of(client_id: int) -> Case | None:
    """Return the open case of client ``client_id``, if any (there is at most one)."""
    return db.session.scalar(
        select(Case).where(Case.client_id == client_id, Case.stage != Stage.CLOSED)
    )


def open_case(client: Client, kind: CaseKind, by: User) -> Case:
    """Open a case of ``kind`` for ``client``, owned by ``by``; return it.

    The first classification and the intake stage are recorded as history (R3, R4).
    Raises NotAllowed unless ``by`` works on cases, CaseAlreadyOpen if the client has an open
    case (also when two requests race: the database holds one open case per client), and
    RuleViolation for a client whose data were erased (R2).
    """
    if not policy.works_on_cases(by):
        raise NotAllowed("only case managers open cases")
    moment, day = now(), today()
    already_open = CaseAlreadyOpen(
        _l("Für diese Person gibt es bereits einen offenen Fall. Bitte dort weiterarbeiten."),
        field="kind",
    )
    if open_case_of(client.id) is not None:
        raise already_open
    if client.erased_at is not None:  # consent withdrawn or retention ended (R2)
        raise RuleViolation(
            _l("Die Daten dieser Person sind gelöscht; für sie kann kein Fall eröffnet werden."),
            field="kind",
        )
    try:
        with transaction() as session:
            _check_not_erased(client, lock=True)
            case = Case(
                client_id=client.id,
                owner_id=by.id,
                organisation_id=by.organisation_id,
                kind=kind,
                stage=Stage.INTAKE,
                opened_on=day,
                last_activity_on=day,
            )
            case.classification_changes.append(
                ClassificationChange(
                    to_kind=kind,
                    changed_by_id=by.id,
                    on_behalf_of_id=on_behalf_of(case, by),
                    changed_at=moment,
                )
            )
            case.stage_changes.append(
                StageChange(
                    to_stage=Stage.INTAKE,
                    changed_by_id=by.id,
                    on_behalf_of_id=on_behalf_of(case, by),
                    changed_at=moment,
                )
            )
            session.add(case)
    except IntegrityError as exc:  # a second request opened one in the meantime
        raise already_open from exc
    return case


def change_stage(case: Case, target: Stage, by: User) -> None:
    """Move ``case`` to ``target`` after the rules allow it; raise TransitionRefused if not (R4)."""
    rules.check_transition(case.facts(), target)
    with transaction():
        case.stage_changes.append(
            StageChange(
                from_stage=case.stage,
                to_stage=target,
                changed_by_id=by.id,
                on_behalf_of_id=on_behalf_of(case, by),
                changed_at=now(),
            )
        )
        case.stage = target
        touch(case, today())


def close_case(
    case: Case,
    closed_on: dt.date | None,
    reason: ClosureReason | None,
    reason_text: str,
    by: User,
) -> None:
    """Close ``case`` on ``closed_on`` for ``reason``.

    Raises ClosureRefused if the rules do not allow it (R3, R4).
    """
    rules.check_closure(case.facts(), closed_on, reason, reason_text, today())
    with transaction():
        case.stage_changes.append(
            StageChange(
                from_stage=case.stage,
                to_stage=Stage.CLOSED,
                closed_on=closed_on,
                closure_reason=reason,
                reason=reason_text.strip() or None,
                changed_by_id=by.id,
                on_behalf_of_id=on_behalf_of(case, by),
                changed_at=now(),
            )
        )
        case.stage = Stage.CLOSED
        case.closed_on = closed_on
        case.closure_reason = reason
        case.closure_text = reason_text.strip() or None
        touch(case, today())


def reopen_case(case: Case, reason: str, by: User, reopen_days: int) -> None:
    """Reopen a closed case within ``reopen_days`` days of its closure, with a reason.

    The case returns to the stage it was closed from; the reopening is kept as a stage change
    with its reason. Raises ReopenRefused (too late, no reason, not closed) and RuleViolation
    when the client's consent was withdrawn or their data erased (R2).
    """
    rules.check_reopen(
        case.stage, case.closed_on, reason, today(), reopen_days, case.closure_reason
    )
    _check_not_erased(case.client)
    if open_case_of(case.client_id) is not None:
        raise CaseAlreadyOpen(
            _l("Für diese Person gibt es inzwischen einen anderen offenen Fall."), field="reason"
        )
    closing = next((c for c in reversed(case.stage_changes) if c.to_stage is Stage.CLOSED), None)
    target = rules.stage_after_reopen(case.kind, closing.from_stage if closing else None)
    try:
        _write_reopening(case, target, reason, by)
    except IntegrityError as exc:  # another case of the person was opened in the meantime
        raise CaseAlreadyOpen(
            _l("Für diese Person gibt es inzwischen einen anderen offenen Fall."), field="reason"
        ) from exc


def _check_not_erased(client: Client, lock: bool = False) -> None:
    """Raise RuleViolation if ``client``'s data were erased or the consent withdrawn (R2): no
    case may be opened or reopened for them. With ``lock`` the client row is locked first
    (PostgreSQL), so a purge or withdrawal running at the same moment is waited for."""
    if lock:
        db.session.execute(select(Client.id).where(Client.id == client.id).with_for_update())
        db.session.refresh(client, ["erased_at"])
    if client.erased_at is not None or client.consent.withdrawn_at is not None:
        raise RuleViolation(
            _l("Die Einwilligung ist widerrufen oder die Daten sind gelöscht; kein Fall möglich."),
            field="reason",
        )


def _write_reopening(case: Case, target: Stage, reason: str, by: User) -> None:
    with transaction():
        _check_not_erased(case.client, lock=True)
        case.stage_changes.append(
            StageChange(
                from_stage=Stage.CLOSED,
                to_stage=target,
                reason=reason.strip(),
                changed_by_id=by.id,
                on_behalf_of_id=on_behalf_of(case, by),
                changed_at=now(),
            )
        )
        case.stage = target
        case.closed_on = None
        case.closure_reason = None
        case.closure_text = None
        touch(case, today())


def reclassify(case: Case, new_kind: CaseKind, reason: str, by: User) -> None:
    """Change the classification of ``case`` to ``new_kind`` with ``reason`` (R3).

    The stage follows ``rules.stage_after_reclassification``; both changes are kept as history.
    Raises ReclassificationRefused.
    """
    facts = case.facts()
    rules.check_reclassification(facts, new_kind, reason)
    new_stage = rules.stage_after_reclassification(facts, new_kind)
    moment = now()
    with transaction():
        case.classification_changes.append(
            ClassificationChange(
                from_kind=case.kind,
                to_kind=new_kind,
                reason=reason.strip(),
                changed_by_id=by.id,
                on_behalf_of_id=on_behalf_of(case, by),
                changed_at=moment,
            )
        )
        if new_stage is not case.stage:
            case.stage_changes.append(
                StageChange(
                    from_stage=case.stage,
                    to_stage=new_stage,
                    changed_by_id=by.id,
                    on_behalf_of_id=on_behalf_of(case, by),
                    changed_at=moment,
                )
            )
            case.stage = new_stage
        case.kind = new_kind
        touch(case, today())


def require_open(case: Case) -> None:
    """Raise RuleViolation if ``case`` is closed: nothing more is recorded in it."""
    if not case.is_open:
        raise RuleViolation(_l("Der Fall ist abgeschlossen; es kann nichts mehr erfasst werden."))


def add_need(
    case: Case,
    life_area: LifeArea,
    legal_domain: LegalDomain | None,
    description: str,
    in_focus: bool,
    by: User,
) -> Need:
    """Record a need in ``case``; raise FocusLimitReached for a third focus need in KB (R3)."""
    require_open(case)
    if in_focus:
        rules.check_focus_need(case.kind, case.facts().focus_needs)
    with transaction():
        need = Need(
            life_area=life_area,
            legal_domain=legal_domain,
            description=description.strip(),
            in_focus=in_focus,
            recorded_by_id=by.id,
            on_behalf_of_id=on_behalf_of(case, by),
            recorded_at=now(),
        )
        case.needs.append(need)
        touch(case, today())
    return need


def add_goal(
    case: Case,
    text: str,
    agreed_on: dt.date | None,
    by: User,
    responsible: GoalResponsible = GoalResponsible.CLIENT,
    due_on: dt.date | None = None,
) -> Goal:
    """Record a goal in ``case``; agreed when ``agreed_on`` is given (needed for planning, R4).

    ``responsible`` says who works towards it (client, case manager, partner); ``due_on`` by
    when. Raises RuleViolation for an agreement date in the future or a due date before it.
    """
    require_open(case)
    _check_agreed_on(agreed_on)
    if due_on and agreed_on and due_on < agreed_on:
        raise RuleViolation(_l("Das Zieldatum liegt vor dem Vereinbarungsdatum."), field="due_on")
    with transaction():
        goal = Goal(
            text=text.strip(),
            agreed_on=agreed_on,
            responsible=responsible,
            due_on=due_on,
            status=GoalStatus.OPEN,
            recorded_by_id=by.id,
            on_behalf_of_id=on_behalf_of(case, by),
            recorded_at=now(),
        )
        case.goals.append(goal)
        touch(case, today())
    return goal


def _check_agreed_on(agreed_on: dt.date | None) -> None:
    if agreed_on and agreed_on > today():
        raise RuleViolation(
            _l("Das Vereinbarungsdatum darf nicht in der Zukunft liegen."), field="agreed_on"
        )


def update_goal(
    case: Case, goal_id: int, status: GoalStatus, agreed_on: dt.date | None, by: User
) -> Goal:
    """Set the status of goal ``goal_id`` of ``case``; record its agreement date if it had none.

    An agreement date once recorded is kept (it is the basis of the planning stage, R4).
    Raises RuleViolation for a closed case, an unknown goal or a date in the future.
    """
    require_open(case)
    goal = next((g for g in case.goals if g.id == goal_id), None)
    if goal is None:
        raise RuleViolation(_l("Dieses Ziel gehört nicht zu diesem Fall."))
    _check_agreed_on(agreed_on)
    with transaction():
        goal.status = status
        if goal.agreed_on is None and agreed_on is not None:
            goal.agreed_on = agreed_on
        touch(case, today())
    return goal


def set_need_focus(case: Case, need_id: int, in_focus: bool, by: User) -> Need:
    """Put need ``need_id`` of ``case`` into focus or take it out (R3: at most two in KB).

    Raises FocusLimitReached for a third focus need in KB, RuleViolation for a closed case or
    an unknown need.
    """
    require_open(case)
    need = next((n for n in case.needs if n.id == need_id), None)
    if need is None:
        raise RuleViolation(_l("Dieser Bedarf gehört nicht zu diesem Fall."))
    if in_focus and not need.in_focus:
        rules.check_focus_need(case.kind, case.facts().focus_needs)
    with transaction():
        need.in_focus = in_focus
        touch(case, today())
    return need


def record_consultation(
    case: Case,
    held_on: dt.date,
    duration_minutes: int,
    mode: ConsultationMode,
    interpreter_language: str | None,
    summary: str | None,
    by: User,
) -> Consultation:
    """Record a consultation held on ``held_on`` lasting ``duration_minutes`` minutes.

    The time of entry is set now (R6: the lag to ``held_on`` is shown). Raises RuleViolation
    for a date in the future or before the case was opened.
    """
    require_open(case)
    if held_on > today():
        raise RuleViolation(
            _l("Ein Gespräch kann nicht in der Zukunft stattgefunden haben."), field="held_on"
        )
    if held_on < case.opened_on - dt.timedelta(days=30):
        raise RuleViolation(
            _l("Das Gespräch liegt mehr als 30 Tage vor der Eröffnung des Falls."),
            field="held_on",
        )
    with transaction():
        consultation = Consultation(
            held_on=held_on,
            duration_minutes=duration_minutes,
            mode=mode,
            interpreter_used=bool(interpreter_language),
            interpreter_language=interpreter_language or None,
            summary=(summary or "").strip() or None,
            entered_by_id=by.id,
            on_behalf_of_id=on_behalf_of(case, by),
            entered_at=now(),
        )
        case.consultations.append(consultation)
        touch(case, held_on)
        if case.last_consultation_on is None or held_on > case.last_consultation_on:
            case.last_consultation_on = held_on
    return consultation
