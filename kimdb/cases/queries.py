"""Read-side queries of cases: finding own cases, the case timeline, follow-ups due, and the
daily-entry figure (R6). Lists are filtered by access in SQL (R8)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import ColumnElement, Date, Select, and_, cast, exists, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from kimdb import labels
from kimdb.auth import policy
from kimdb.auth.models import User
from kimdb.cases import rules
from kimdb.cases.models import Case, Consultation, FollowUp, Need, case_number
from kimdb.cases.rules import CaseFlag, CaseKind, Stage
from kimdb.clients.models import Client, client_full_name
from kimdb.clients.rules import normalise_date, search_terms
from kimdb.crypto import blind_index
from kimdb.extensions import db
from kimdb.labels import lazy_gettext as _l
from kimdb.timeutil import LOCAL_ZONE, local_date, today


@dataclass(frozen=True)
class CaseSearch:
    """What the user searches for; empty fields do not filter."""

    number: str = ""
    name: str = ""
    date_of_birth: dt.date | None = None
    kind: CaseKind | None = None
    stage: Stage | None = None
    flag: CaseFlag | None = None
    include_closed: bool = False


def parse_case_number(text: str) -> int | None:
    """Return the case id in a case number like ``2026-000123`` (or a bare id), else None."""
    digits = text.strip().rpartition("-")[2]
    return int(digits) if digits.isdigit() else None


def search_cases(user: User, search: CaseSearch, inactivity_days: int, limit: int = 200) -> Select:
    """Return a query of ``user``'s cases matching ``search``, newest activity first.

    Names and dates of birth are matched exactly on their blind indexes (normalised: case,
    umlauts and diacritics folded), never on decrypted text. Source: issue "Case work" item 11.
    """
    query = (
        select(Case)
        .join(Case.client)
        .options(contains_eager(Case.client))  # the join above, not a second one
    )
    return _searched(query, user, search, inactivity_days, limit)


class CaseListRow(NamedTuple):
    """One row of the case search's result list: what the list shows, no more.

    A named tuple, not a frozen dataclass: built 200 times per list, a frozen dataclass took
    3.4 µs per row (``object.__setattr__`` per field), the tuple 0.6 µs (issue 8, measured).
    """

    id: int
    number: str
    client_name: str  # "Family, Given", or the marker of erased data (``client_full_name``)
    date_of_birth: dt.date | None
    kind: CaseKind
    stage: Stage
    last_activity_on: dt.date


def search_case_rows(
    user: User, search: CaseSearch, inactivity_days: int, limit: int = 200
) -> list[CaseListRow]:
    """Return the rows of ``search_cases`` (same cases, same order) as CaseListRow.

    One statement of the nine columns the list needs instead of whole cases and clients: a
    list of 200 cases no longer decrypts the clients' contact data nor builds 400 ORM objects
    (issue 8: the case list's time, profiled). It runs on the session's connection (Core:
    no ORM result processing and no autoflush, which a read of cases and clients does not
    need), fetches all rows at once (not one ``fetchone`` per row) and unpacks each row as
    a tuple: reading a result row's columns by name cost about 1.3 µs each, 2 ms for a
    list of 200 (issue 8, measured).
    """
    query = select(
        Case.id,
        Case.opened_on,
        Case.kind,
        Case.stage,
        Case.last_activity_on,
        Client.family_name,
        Client.given_name,
        Client.erased_at,
        Client.date_of_birth,
    ).join(Case.client)
    statement = _searched(query, user, search, inactivity_days, limit)
    rows = db.session.connection().execute(statement).all()
    return [
        CaseListRow(
            case_id,
            case_number(opened_on, case_id),
            client_full_name(family_name, given_name, erased_at),
            date_of_birth,
            kind,
            stage,
            last_activity_on,
        )
        for (
            case_id,
            opened_on,
            kind,
            stage,
            last_activity_on,
            family_name,
            given_name,
            erased_at,
            date_of_birth,
        ) in rows
    ]


def _searched(
    query: Select, user: User, search: CaseSearch, inactivity_days: int, limit: int
) -> Select:
    """Add the conditions of ``search`` and of access (R8), the order and ``limit`` to
    ``query``, a select over cases joined to their clients."""
    query = (
        query.where(policy.case_visible(user))
        .order_by(Case.last_activity_on.desc(), Case.id.desc())
        .limit(limit)
    )
    if not search.include_closed:
        query = query.where(Case.stage != Stage.CLOSED)
    if search.number:
        case_id = parse_case_number(search.number)
        query = query.where(Case.id == (case_id if case_id is not None else -1))
    terms = search_terms(search.name)
    if terms:
        query = query.where(_name_condition(terms))
    if search.date_of_birth:
        query = query.where(
            Client.date_of_birth_index == blind_index(normalise_date(search.date_of_birth))
        )
    if search.kind:
        query = query.where(Case.kind == search.kind)
    if search.stage:
        query = query.where(Case.stage == search.stage)
    if search.flag is CaseFlag.INACTIVE:
        cutoff = today() - dt.timedelta(days=inactivity_days)
        query = query.where(Case.stage != Stage.CLOSED, Case.last_activity_on <= cutoff)
    elif search.flag is CaseFlag.FOLLOW_UP_DUE:
        query = query.where(
            exists(
                select(FollowUp.id).where(
                    FollowUp.case_id == Case.id,
                    FollowUp.done_at.is_(None),
                    FollowUp.due_on <= today(),
                )
            )
        )
    elif search.flag is CaseFlag.ABOVE_KB_LIMITS:
        needs = select(func.count(Need.id)).where(Need.case_id == Case.id).scalar_subquery()
        query = query.where(Case.kind == CaseKind.SHORT_COUNSELLING, needs > rules.KB_FOCUS_LIMIT)
    return query


MAX_NAME_TERMS = 5


def _groupings(terms: list[str]) -> list[list[str]]:
    """Return every way to join neighbouring words into names ("al hassan" → "alhassan")."""
    if len(terms) <= 1:
        return [terms]
    result = []
    for rest in _groupings(terms[1:]):
        result.append([terms[0], *rest])
        result.append([terms[0] + rest[0], *rest[1:]])
    return result


def _name_condition(terms: list[str]):
    """SQL condition: some grouping of the words matches given or family names (blind index)."""

    def matches(name: str):
        digest = blind_index(name)
        return or_(Client.family_name_index == digest, Client.given_name_index == digest)

    return or_(
        *(and_(*(matches(n) for n in grouping)) for grouping in _groupings(terms[:MAX_NAME_TERMS]))
    )


@dataclass(frozen=True)
class DueFollowUp:
    """A follow-up that is due today or overdue, with its case."""

    follow_up: FollowUp
    case: Case
    state: rules.FollowUpState


def due_follow_ups(user: User) -> list[DueFollowUp]:
    """Return ``user``'s open follow-ups due today or earlier, oldest first (one query)."""
    day = today()
    rows = db.session.execute(
        select(FollowUp, Case)
        .join(Case, FollowUp.case_id == Case.id)
        .where(
            policy.case_visible(user),
            Case.stage != Stage.CLOSED,
            FollowUp.done_at.is_(None),
            FollowUp.due_on <= day,
        )
        .options(joinedload(Case.client))
        .order_by(FollowUp.due_on, FollowUp.id)
    ).all()
    return [DueFollowUp(f, c, rules.follow_up_state(f.due_on, False, day)) for f, c in rows]


def entry_lag_days() -> ColumnElement[int]:
    """Return the SQL expression (PostgreSQL) of a consultation's entry lag: Berlin calendar
    days from holding it to entering it, never negative (R6; ``Consultation.entry_lag_days``)."""
    local_day = cast(func.timezone(str(LOCAL_ZONE), Consultation.entered_at), Date)
    return func.greatest(local_day - Consultation.held_on, 0)


def median_entry_lags(
    user_ids: Select | list[int], days: int = rules.ENTRY_LAG_DAYS, day: dt.date | None = None
) -> dict[int, tuple[float | None, int]]:
    """Return, for each user in ``user_ids`` (a subquery or a list of ids) who entered
    consultations held in the last ``days`` days, (median lag in days between holding and
    entering, number of consultations) — the grouped variant of
    ``median_entry_lag`` (the user who entered, lag in Berlin calendar days, never negative;
    R6, FAQ Q34).

    One statement. PostgreSQL computes the lag and counts each user's consultations per lag
    (rows bounded by users × lags, not by consultations); SQLite has neither time zones nor a
    median, so the lags are computed here, one per consultation.
    """
    since = (day or today()) - dt.timedelta(days=days)
    recent = and_(Consultation.entered_by_id.in_(user_ids), Consultation.held_on >= since)
    counts: dict[int, dict[int, int]] = {}
    if db.engine.dialect.name == "postgresql":
        lag = entry_lag_days()
        rows = db.session.execute(
            select(Consultation.entered_by_id, lag, func.count())
            .where(recent)
            .group_by(Consultation.entered_by_id, lag)
        )
        for user_id, lag_days, n in rows:
            counts.setdefault(user_id, {})[int(lag_days)] = int(n)
    else:
        rows = db.session.execute(
            select(Consultation.entered_by_id, Consultation.held_on, Consultation.entered_at).where(
                recent
            )
        )
        for user_id, held, entered in rows:
            lag_days = max(0, (local_date(entered) - held).days)
            per_user = counts.setdefault(user_id, {})
            per_user[lag_days] = per_user.get(lag_days, 0) + 1
    return {
        user_id: (rules.median_of_counts(lags), sum(lags.values()))
        for user_id, lags in counts.items()
    }


def median_entry_lag(user: User, days: int = rules.ENTRY_LAG_DAYS) -> tuple[float | None, int]:
    """Return the median lag in days between holding and entering ``user``'s consultations
    held in the last ``days`` days, and how many consultations that covers (R6, FAQ Q34);
    (None, 0) without any (``median_entry_lags`` for one user)."""
    return median_entry_lags([user.id], days).get(user.id, (None, 0))


# -- Timeline -------------------------------------------------------------------------------


class EventType(StrEnum):
    """Kinds of timeline entries (filterable)."""

    STAGE = "stage"
    CLASSIFICATION = "classification"
    CONSULTATION = "consultation"
    NOTE = "note"
    REFERRAL = "referral"
    GOAL = "goal"
    FOLLOW_UP = "follow_up"
    MONITORING = "monitoring"
    ASSESSMENT = "assessment"
    NEED = "need"


EVENT_LABELS = {
    EventType.STAGE: _l("Phasen"),
    EventType.CLASSIFICATION: _l("Einstufung"),
    EventType.CONSULTATION: _l("Gespräche"),
    EventType.NOTE: _l("Vermerke"),
    EventType.REFERRAL: _l("Vermittlungen"),
    EventType.GOAL: _l("Ziele"),
    EventType.FOLLOW_UP: _l("Wiedervorlagen"),
    EventType.MONITORING: _l("Monitoring"),
    EventType.ASSESSMENT: _l("Assessment"),
    EventType.NEED: _l("Bedarfe"),
}


@dataclass(frozen=True)
class TimelineEvent:
    """One entry of the case timeline: day, type, title, detail text, who."""

    day: dt.date
    order: dt.datetime
    type: EventType
    title: str
    detail: str
    by: str


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), dt.UTC)


def timeline(case: Case, types: set[EventType] | None = None) -> list[TimelineEvent]:
    """Return everything recorded in ``case`` in date order (oldest first), optionally only the
    event ``types`` asked for. Source: issue "Case work" item 10."""
    from kimdb.cases.casework import note_threads
    from kimdb.cases.service import case_history, colleague_names

    users = colleague_names(case.organisation_id)
    events: list[TimelineEvent] = []
    for item in case_history(case, users):
        is_stage = not str(item.text).startswith(
            ("Eingestuft", "Einstufung", "Classified", "Classification")
        )
        events.append(
            TimelineEvent(
                local_date(item.at),
                item.at,
                EventType.STAGE if is_stage else EventType.CLASSIFICATION,
                str(item.text),
                item.reason,
                item.by,
            )
        )
    for c in case.consultations:
        mode = labels.CONSULTATION_MODE[c.mode]
        detail = _l("%(minutes)s Minuten, %(mode)s", minutes=c.duration_minutes, mode=mode)
        if c.interpreter_language:
            detail = (
                f"{detail} · {_l('Sprachmittlung')}: {labels.language_name(c.interpreter_language)}"
            )
        events.append(
            TimelineEvent(
                c.held_on,
                _moment(c.held_on),
                EventType.CONSULTATION,
                str(_l("Beratungsgespräch")),
                str(detail),
                users.get(c.entered_by_id, ""),
            )
        )
    for thread in note_threads(case):
        note = thread.latest
        title = f"{_l('Vermerk')}: {labels.NOTE_KIND[note.kind]}"
        if thread.earlier:
            title += f" ({_l('korrigiert')})"
        events.append(
            TimelineEvent(
                note.noted_on,
                note.written_at,
                EventType.NOTE,
                title,
                note.text,
                users.get(note.written_by_id, ""),
            )
        )
    for r in case.referrals:
        title = f"{_l('Vermittlung')}: {r.partner.name}"
        if r.verweisberatung:
            title += f" ({_l('Verweisberatung')})"
        detail = f"{r.purpose} · {labels.REFERRAL_STATUS[r.status]}"
        if r.outcome:
            detail += f" · {r.outcome}"
        events.append(
            TimelineEvent(
                r.referred_on,
                _moment(r.referred_on),
                EventType.REFERRAL,
                title,
                detail,
                users.get(r.recorded_by_id, ""),
            )
        )
    for g in case.goals:
        day = g.agreed_on or local_date(g.recorded_at)
        title = str(_l("Ziel vereinbart") if g.agreed_on else _l("Ziel erfasst"))
        events.append(
            TimelineEvent(
                day,
                _moment(day),
                EventType.GOAL,
                title,
                f"{g.text} · {labels.GOAL_STATUS[g.status]}",
                users.get(g.recorded_by_id, ""),
            )
        )
    for n in case.needs:
        events.append(
            TimelineEvent(
                local_date(n.recorded_at),
                n.recorded_at,
                EventType.NEED,
                f"{_l('Bedarf')}: {labels.LIFE_AREA[n.life_area]}",
                n.description,
                users.get(n.recorded_by_id, ""),
            )
        )
    for f in case.follow_ups:
        if f.done_at:
            events.append(
                TimelineEvent(
                    local_date(f.done_at),
                    f.done_at,
                    EventType.FOLLOW_UP,
                    str(_l("Wiedervorlage erledigt")),
                    f"{f.text} ({_l('fällig')} {labels.format_day(f.due_on)})",
                    users.get(f.done_by_id or 0, ""),
                )
            )
        else:
            events.append(
                TimelineEvent(
                    f.due_on,
                    _moment(f.due_on),
                    EventType.FOLLOW_UP,
                    str(_l("Wiedervorlage fällig")),
                    f.text,
                    users.get(f.created_by_id, ""),
                )
            )
    for m in case.monitoring_entries:
        events.append(
            TimelineEvent(
                m.entry_on,
                _moment(m.entry_on),
                EventType.MONITORING,
                str(_l("Monitoring")),
                m.text,
                users.get(m.recorded_by_id, ""),
            )
        )
    for a in case.assessments:
        events.append(
            TimelineEvent(
                local_date(a.started_at),
                a.started_at,
                EventType.ASSESSMENT,
                str(_l("Assessment, Fassung %(n)s", n=a.version)),
                ", ".join(str(labels.LIFE_AREA[x.life_area]) for x in a.areas),
                users.get(a.started_by_id, ""),
            )
        )
    if types:
        events = [e for e in events if e.type in types]
    return sorted(events, key=lambda e: (e.day, e.order.replace(tzinfo=e.order.tzinfo or dt.UTC)))
