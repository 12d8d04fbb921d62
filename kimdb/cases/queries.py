"""Read-side queries of cases: finding own cases, the case timeline, follow-ups due, and the
daily-entry figure (R6). Lists are filtered by access in SQL (R8)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import aliased, contains_eager

from kimdb import labels
from kimdb.auth import policy
from kimdb.auth.models import User
from kimdb.cases import rules
from kimdb.cases.models import (
    Assessment,
    AssessmentArea,
    Case,
    ClassificationChange,
    Consultation,
    ConsultationMode,
    FollowUp,
    Goal,
    GoalResponsible,
    GoalStatus,
    LegalDomain,
    LifeArea,
    MonitoringEntry,
    Need,
    Note,
    NoteKind,
    Referral,
    ReferralStatus,
    StageChange,
    case_number,
)
from kimdb.cases.rules import CaseFlag, CaseKind, ClosureReason, Stage
from kimdb.clients.models import Client, client_full_name
from kimdb.clients.rules import normalise_date, search_terms
from kimdb.consent.models import ConsentExchange
from kimdb.crypto import EncryptedText, blind_index
from kimdb.extensions import db
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs.models import Partner
from kimdb.substitution.models import CaseTransfer
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
    shape = SearchShape.of(search, limit)
    statement = _searched(query, shape, policy.case_visible(user))
    return statement.params(_search_values(user, search, inactivity_days))


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

    For a case manager who substitutes no one today (nearly every request) the statement of
    the search's shape is built once per process with bind parameters (``_own_rows_statement``)
    and only the values change: building it anew cost about 0.15 ms a search, and executing a
    new but equal statement another 0.15 ms, in which SQLAlchemy maps the result columns of
    the new statement onto those of the cached compiled one (issue 8, measured).
    """
    shape = SearchShape.of(search, limit)
    if policy.only_own_cases(user):
        statement = _own_rows_statement(shape)
    else:
        statement = _searched(_row_query(), shape, policy.case_visible(user))
    values = _search_values(user, search, inactivity_days)
    rows = db.session.connection().execute(statement, values).all()
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


MAX_NAME_TERMS = 5


class SearchShape(NamedTuple):
    """What decides the text of a case search's statement (its values are bind parameters):
    which fields of a ``CaseSearch`` are filled, how many words the name has (at most
    ``MAX_NAME_TERMS``), the flag and the limit of rows."""

    include_closed: bool
    number: bool
    name_words: int
    date_of_birth: bool
    kind: bool
    stage: bool
    flag: CaseFlag | None
    limit: int

    @classmethod
    def of(cls, search: CaseSearch, limit: int) -> SearchShape:
        """Return the shape of ``search`` with at most ``limit`` rows."""
        return cls(
            include_closed=search.include_closed,
            number=bool(search.number),
            name_words=min(len(search_terms(search.name)), MAX_NAME_TERMS),
            date_of_birth=bool(search.date_of_birth),
            kind=search.kind is not None,
            stage=search.stage is not None,
            flag=search.flag,
            limit=limit,
        )


def _row_query() -> Select:
    """The columns of the case list (``CaseListRow``), cases joined to their clients."""
    return select(
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


@functools.lru_cache(maxsize=1024)
def _own_rows_statement(shape: SearchShape) -> Select:
    """The statement of ``search_case_rows`` of ``shape`` over the own cases of the case
    manager in the parameter ``user_id`` (``policy.own_cases``), built once per shape. At most
    768 shapes per limit (4 flags × 2^6 filled fields × name words 0–5, most never used), all
    kept (each a few kB)."""
    return _searched(_row_query(), shape, policy.own_cases(bindparam("user_id")))


def _searched(query: Select, shape: SearchShape, visible: ColumnElement[bool]) -> Select:
    """Add the conditions of a search of ``shape``, the access condition ``visible`` (R8),
    the order and the limit to ``query``, a select over cases joined to their clients. The
    searched values are bind parameters named as in ``_search_values``."""
    query = (
        query.where(visible)
        .order_by(Case.last_activity_on.desc(), Case.id.desc())
        .limit(shape.limit)
    )
    if not shape.include_closed:
        query = query.where(Case.stage != Stage.CLOSED)
    if shape.number:
        query = query.where(Case.id == bindparam("case_id"))
    if shape.name_words:
        query = query.where(_name_condition(shape.name_words))
    if shape.date_of_birth:
        query = query.where(Client.date_of_birth_index == bindparam("date_of_birth_index"))
    if shape.kind:
        query = query.where(Case.kind == bindparam("kind"))
    if shape.stage:
        query = query.where(Case.stage == bindparam("stage"))
    if shape.flag is CaseFlag.INACTIVE:
        query = query.where(
            Case.stage != Stage.CLOSED, Case.last_activity_on <= bindparam("cutoff")
        )
    elif shape.flag is CaseFlag.FOLLOW_UP_DUE:
        query = query.where(
            exists(
                select(FollowUp.id).where(
                    FollowUp.case_id == Case.id,
                    FollowUp.done_at.is_(None),
                    FollowUp.due_on <= bindparam("today", type_=Date()),
                )
            )
        )
    elif shape.flag is CaseFlag.ABOVE_KB_LIMITS:
        needs = select(func.count(Need.id)).where(Need.case_id == Case.id).scalar_subquery()
        query = query.where(Case.kind == CaseKind.SHORT_COUNSELLING, needs > rules.KB_FOCUS_LIMIT)
    return query


def _search_values(user: User, search: CaseSearch, inactivity_days: int) -> dict:
    """Return the values of the bind parameters of ``_searched`` for ``search`` by ``user``:
    the user's id, the case id of a case number (-1 finds nothing), the blind index of each
    run of neighbouring name words (``_name_spans``), of the date of birth, kind, stage, and
    the days the flags compare with (``inactivity_days`` for "inactive")."""
    values: dict = {"user_id": user.id}
    if search.number:
        case_id = parse_case_number(search.number)
        values["case_id"] = case_id if case_id is not None else -1
    words = search_terms(search.name)[:MAX_NAME_TERMS]
    for start, end in {span for grouping in _name_spans(len(words)) for span in grouping}:
        values[f"name_{start}_{end}"] = blind_index("".join(words[start:end]))
    if search.date_of_birth:
        values["date_of_birth_index"] = blind_index(normalise_date(search.date_of_birth))
    if search.kind is not None:  # as ``SearchShape.of``: the shape and its values agree
        values["kind"] = search.kind
    if search.stage is not None:
        values["stage"] = search.stage
    if search.flag is CaseFlag.INACTIVE:
        values["cutoff"] = today() - dt.timedelta(days=inactivity_days)
    elif search.flag is CaseFlag.FOLLOW_UP_DUE:
        values["today"] = today()
    return values


def _name_spans(words: int) -> list[list[tuple[int, int]]]:
    """Return every way to join neighbouring words of a name of ``words`` words into names
    ("al hassan" → "al" + "hassan", or "alhassan"), each way as the (start, end) slices of
    the words that form its names."""
    if words <= 1:
        return [[(0, words)]] if words else [[]]
    result = []
    for rest in _name_spans(words - 1):
        shifted = [(start + 1, end + 1) for start, end in rest]
        result.append([(0, 1), *shifted])
        result.append([(0, shifted[0][1]), *shifted[1:]])
    return result


def _name_condition(words: int) -> ColumnElement[bool]:
    """SQL condition: some way of joining the ``words`` words (``_name_spans``) matches given
    or family names on their blind indexes (parameters ``name_<start>_<end>``)."""

    def matches(start: int, end: int) -> ColumnElement[bool]:
        digest = bindparam(f"name_{start}_{end}", type_=String())
        return or_(Client.family_name_index == digest, Client.given_name_index == digest)

    return or_(*(and_(*(matches(*span) for span in grouping)) for grouping in _name_spans(words)))


def entry_lag_days() -> ColumnElement[int]:
    """Return the SQL expression (PostgreSQL) of a consultation's entry lag: Berlin calendar
    days from holding it to entering it, never negative (R6; ``Consultation.entry_lag_days``)."""
    local_day = cast(func.timezone(str(LOCAL_ZONE), Consultation.entered_at), Date)
    return func.greatest(local_day - Consultation.held_on, 0)


def median_entry_lags(
    user_ids: list[int], days: int = rules.ENTRY_LAG_DAYS, day: dt.date | None = None
) -> dict[int, tuple[float | None, int]]:
    """Return, for each user in ``user_ids`` who entered consultations held in the last
    ``days`` days, (median lag in days between holding and entering, number of consultations)
    — the grouped variant of ``median_entry_lag`` (the user who entered, lag in Berlin
    calendar days, never negative; R6, FAQ Q34).

    One statement (``_entry_lags_statement``). PostgreSQL computes the lag and counts each
    user's consultations per lag (rows bounded by users × lags, not by consultations); SQLite
    has neither time zones nor a median, so the lags are computed here, one per consultation.
    """
    postgresql = db.engine.dialect.name == "postgresql"
    rows = db.session.execute(
        _entry_lags_statement(postgresql),
        {"user_ids": user_ids, "since": (day or today()) - dt.timedelta(days=days)},
    )
    counts: dict[int, dict[int, int]] = {}
    if postgresql:
        for user_id, lag_days, n in rows:
            counts.setdefault(user_id, {})[int(lag_days)] = int(n)
    else:
        for user_id, held, entered in rows:
            lag_days = max(0, (local_date(entered) - held).days)
            per_user = counts.setdefault(user_id, {})
            per_user[lag_days] = per_user.get(lag_days, 0) + 1
    return {
        user_id: (rules.median_of_counts(lags), sum(lags.values()))
        for user_id, lags in counts.items()
    }


@functools.cache
def _entry_lags_statement(postgresql: bool) -> Select:
    """The statement of ``median_entry_lags`` (parameters ``user_ids``, a list, and
    ``since``, the first day), built once per process and dialect: the supervisor dashboard
    runs it on every request, and building it cost more Python than running its SQL part
    took (issue 8, measured)."""
    recent = and_(
        Consultation.entered_by_id.in_(bindparam("user_ids", expanding=True)),
        Consultation.held_on >= bindparam("since", type_=Date),
    )
    if postgresql:
        lag = entry_lag_days()
        return (
            select(Consultation.entered_by_id, lag, func.count())
            .where(recent)
            .group_by(Consultation.entered_by_id, lag)
        )
    return select(Consultation.entered_by_id, Consultation.held_on, Consultation.entered_at).where(
        recent
    )


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


def timeline(record: CaseRecord, types: set[EventType] | None = None) -> list[TimelineEvent]:
    """Return everything recorded in a case (its ``case_record`` with assessments) in date
    order (oldest first), optionally only the event ``types`` asked for. Source: issue "Case
    work" item 10.

    Each text and label is translated once a call, not once an entry: a lazy text translates
    at every use (issue 8: 238 lookups of the translations for a timeline of 45 entries)."""
    from kimdb.cases.casework import note_threads
    from kimdb.cases.service import case_history

    users = record.colleagues
    consultation = str(_l("Beratungsgespräch"))
    minutes_in_mode = str(_l("%(minutes)s Minuten, %(mode)s"))
    interpreting = str(_l("Sprachmittlung"))
    note, corrected = str(_l("Vermerk")), str(_l("korrigiert"))
    referral, verweisberatung = str(_l("Vermittlung")), str(_l("Verweisberatung"))
    agreed, recorded = str(_l("Ziel vereinbart")), str(_l("Ziel erfasst"))
    need, monitoring = str(_l("Bedarf")), str(_l("Monitoring"))
    done, due, due_on = (
        str(_l("Wiedervorlage erledigt")),
        str(_l("Wiedervorlage fällig")),
        str(_l("fällig")),
    )
    modes, note_kinds = (
        labels.translated(labels.CONSULTATION_MODE),
        labels.translated(labels.NOTE_KIND),
    )
    referral_states, goal_states = (
        labels.translated(labels.REFERRAL_STATUS),
        labels.translated(labels.GOAL_STATUS),
    )
    life_areas = labels.translated(labels.LIFE_AREA)
    languages: dict[str, str] = {}  # code → name, looked up once
    events: list[TimelineEvent] = []
    for item in case_history(record, users):
        item_text = str(item.text)
        is_stage = not item_text.startswith(
            ("Eingestuft", "Einstufung", "Classified", "Classification")
        )
        events.append(
            TimelineEvent(
                local_date(item.at),
                item.at,
                EventType.STAGE if is_stage else EventType.CLASSIFICATION,
                item_text,
                item.reason,
                item.by,
            )
        )
    for c in record.consultations:
        detail = minutes_in_mode % {"minutes": c.duration_minutes, "mode": modes[c.mode]}
        if c.interpreter_language:
            code = c.interpreter_language
            if code not in languages:
                languages[code] = labels.language_name(code)
            detail = f"{detail} · {interpreting}: {languages[code]}"
        events.append(
            TimelineEvent(
                c.held_on,
                _moment(c.held_on),
                EventType.CONSULTATION,
                consultation,
                detail,
                users.get(c.entered_by_id, ""),
            )
        )
    for thread in note_threads(record):
        latest = thread.latest
        title = f"{note}: {note_kinds[latest.kind]}"
        if thread.earlier:
            title += f" ({corrected})"
        events.append(
            TimelineEvent(
                latest.noted_on,
                latest.written_at,
                EventType.NOTE,
                title,
                latest.text,
                users.get(latest.written_by_id, ""),
            )
        )
    for r in record.referrals:
        title = f"{referral}: {r.partner_name}"
        if r.verweisberatung:
            title += f" ({verweisberatung})"
        detail = f"{r.purpose} · {referral_states[r.status]}"
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
    for g in record.goals:
        day = g.agreed_on or local_date(g.recorded_at)
        events.append(
            TimelineEvent(
                day,
                _moment(day),
                EventType.GOAL,
                agreed if g.agreed_on else recorded,
                f"{g.text} · {goal_states[g.status]}",
                users.get(g.recorded_by_id, ""),
            )
        )
    for n in record.needs:
        events.append(
            TimelineEvent(
                local_date(n.recorded_at),
                n.recorded_at,
                EventType.NEED,
                f"{need}: {life_areas[n.life_area]}",
                n.description,
                users.get(n.recorded_by_id, ""),
            )
        )
    for f in record.follow_ups:
        if f.done_at:
            events.append(
                TimelineEvent(
                    local_date(f.done_at),
                    f.done_at,
                    EventType.FOLLOW_UP,
                    done,
                    f"{f.text} ({due_on} {labels.format_day(f.due_on)})",
                    users.get(f.done_by_id or 0, ""),
                )
            )
        else:
            events.append(
                TimelineEvent(
                    f.due_on,
                    _moment(f.due_on),
                    EventType.FOLLOW_UP,
                    due,
                    f.text,
                    users.get(f.created_by_id, ""),
                )
            )
    for m in record.monitoring_entries:
        events.append(
            TimelineEvent(
                m.entry_on,
                _moment(m.entry_on),
                EventType.MONITORING,
                monitoring,
                m.text,
                users.get(m.recorded_by_id, ""),
            )
        )
    for a in record.assessments:
        events.append(
            TimelineEvent(
                local_date(a.started_at),
                a.started_at,
                EventType.ASSESSMENT,
                str(_l("Assessment, Fassung %(n)s", n=a.version)),
                ", ".join(life_areas[area] for area in a.life_areas),
                users.get(a.started_by_id, ""),
            )
        )
    if types:
        events = [e for e in events if e.type in types]
    return sorted(events, key=lambda e: (e.day, e.order.replace(tzinfo=e.order.tzinfo or dt.UTC)))


# -- What a case holds, for its page and its timeline -----------------------------------------


@dataclass(frozen=True, slots=True)
class NeedRow:
    """A need as the case page and the timeline show it."""

    id: int
    life_area: LifeArea
    legal_domain: LegalDomain | None
    description: str
    in_focus: bool
    recorded_by_id: int
    recorded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class GoalRow:
    """A goal as the case page and the timeline show it."""

    id: int
    text: str
    responsible: GoalResponsible
    status: GoalStatus
    agreed_on: dt.date | None
    due_on: dt.date | None
    recorded_by_id: int
    recorded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ConsultationRow:
    """A consultation as the case page and the timeline show it (no summary: neither does)."""

    id: int
    held_on: dt.date
    duration_minutes: int
    mode: ConsultationMode
    interpreter_language: str | None
    entered_by_id: int
    entered_at: dt.datetime

    @property
    def entry_lag_days(self) -> int:
        """Days between the day held and the day entered (R6; ``Consultation.entry_lag_days``)."""
        return max(0, (local_date(self.entered_at) - self.held_on).days)


@dataclass(frozen=True, slots=True)
class ReferralRow:
    """A referral with its partner's name."""

    id: int
    referred_on: dt.date
    partner_name: str
    purpose: str
    outcome: str | None
    status: ReferralStatus
    passes_data: bool
    verweisberatung: bool
    recorded_by_id: int


@dataclass(frozen=True, slots=True)
class MonitoringRow:
    """A monitoring entry with the name of who recorded it."""

    id: int
    entry_on: dt.date
    text: str
    recorded_by_id: int
    recorded_by_name: str
    on_behalf_of_id: int | None


@dataclass(frozen=True, slots=True)
class NoteRow:
    """One version of a note with the name of who wrote it (``casework.note_threads``)."""

    id: int
    kind: NoteKind
    noted_on: dt.date
    text: str
    supersedes_id: int | None
    written_by_id: int
    written_by_name: str
    on_behalf_of_id: int | None
    written_at: dt.datetime


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    """A follow-up, open or done."""

    id: int
    due_on: dt.date
    text: str
    created_by_id: int
    done_at: dt.datetime | None
    done_by_id: int | None


@dataclass(frozen=True, slots=True)
class StageChangeRow:
    """A stage change with the name of who made it (``service.case_history``)."""

    from_stage: Stage | None
    to_stage: Stage
    reason: str | None
    closed_on: dt.date | None
    closure_reason: ClosureReason | None
    changed_by_name: str
    on_behalf_of_id: int | None
    changed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ClassificationChangeRow:
    """A classification (change) with the name of who made it (``service.case_history``)."""

    from_kind: CaseKind | None
    to_kind: CaseKind
    reason: str | None
    changed_by_name: str
    on_behalf_of_id: int | None
    changed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class TransferRow:
    """A change of the case's owner (takeover, reassignment) with the three names involved."""

    at: dt.datetime
    from_owner_name: str
    to_owner_name: str
    by_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class AssessmentRow:
    """An assessment version with the life areas it describes (in the order written)."""

    version: int
    started_by_id: int
    started_at: dt.datetime
    life_areas: list[LifeArea]


@dataclass(frozen=True, slots=True)
class ExchangeRow:
    """A partner of the client's consent to data exchange; ``active`` unless withdrawn."""

    partner_id: int
    partner_name: str
    active: bool


@dataclass(frozen=True, slots=True)
class PartnerRow:
    """A partner of the organisation's directory, as the referral form offers it."""

    id: int
    name: str
    legal_domain: str | None


@dataclass
class CaseRecord:
    """Everything recorded in a case that its page and its timeline show, as plain rows in the
    order of the case's relationships (``Case.needs`` …); ``colleagues`` are user id → display
    name of the case's organisation (``service.colleague_names``)."""

    client_name: str = ""
    needs: list[NeedRow] = field(default_factory=list)
    goals: list[GoalRow] = field(default_factory=list)
    consultations: list[ConsultationRow] = field(default_factory=list)
    referrals: list[ReferralRow] = field(default_factory=list)
    monitoring_entries: list[MonitoringRow] = field(default_factory=list)
    notes: list[NoteRow] = field(default_factory=list)
    follow_ups: list[FollowUpRow] = field(default_factory=list)
    stage_changes: list[StageChangeRow] = field(default_factory=list)
    classification_changes: list[ClassificationChangeRow] = field(default_factory=list)
    transfers: list[TransferRow] = field(default_factory=list)
    assessments: list[AssessmentRow] = field(default_factory=list)
    exchanges: list[ExchangeRow] = field(default_factory=list)
    partners: list[PartnerRow] = field(default_factory=list)
    colleagues: dict[int, str] = field(default_factory=dict)

    def facts(self, case: Case) -> rules.CaseFacts:
        """Return what the rules need to know of ``case`` (``Case.facts`` over these rows)."""
        return rules.facts_of(case, self.needs, self.goals, self.consultations)


# The columns every part of the record statement has; each part fills those it needs.
_SLOTS = {
    "id": Integer(),
    "day": Date(),
    "day2": Date(),
    "at": DateTime(timezone=True),
    "a": String(),
    "b": String(),
    "c": String(),
    "text": EncryptedText(),
    "text2": EncryptedText(),
    "n": Integer(),
    "by_id": Integer(),
    "for_id": Integer(),
    "by_name": String(),
    "name2": String(),
    "name3": String(),
    "flag": Boolean(),
    "flag2": Boolean(),
}


def _part(source: str, order_by: list, **slots) -> Select:
    """Return one part of the record statement: ``source`` names it, ``pos`` numbers its rows
    in ``order_by``, ``slots`` fill the columns of ``_SLOTS`` (the others are NULL)."""
    columns = [
        literal_column(f"'{source}'", String()).label("source"),
        func.row_number().over(order_by=order_by).label("pos"),
    ]
    for name, type_ in _SLOTS.items():
        value = slots.get(name)
        column = cast(null(), type_) if value is None else type_coerce(value, type_)
        columns.append(column.label(name))
    return select(*columns)


def _record_statement(assessments: bool, directory: bool):
    """Build the one statement of ``case_record`` (parameters ``case_id``, ``client_id``,
    ``organisation_id``): a UNION ALL of one part per kind of record."""
    case_id, client_id = bindparam("case_id"), bindparam("client_id")
    organisation_id = bindparam("organisation_id")
    changed_by, from_owner, to_owner = aliased(User), aliased(User), aliased(User)
    parts = [
        _part(
            "client",
            [Client.id],
            text=Client.family_name,
            text2=Client.given_name,
            at=Client.erased_at,
        ).where(Client.id == client_id),
        _part("colleague", [User.id], id=User.id, by_name=User.display_name).where(
            User.organisation_id == organisation_id
        ),
        _part(
            "need",
            [Need.id],
            id=Need.id,
            a=Need.life_area,
            b=Need.legal_domain,
            text=Need.description,
            flag=Need.in_focus,
            by_id=Need.recorded_by_id,
            at=Need.recorded_at,
        ).where(Need.case_id == case_id),
        _part(
            "goal",
            [Goal.id],
            id=Goal.id,
            text=Goal.text,
            a=Goal.responsible,
            b=Goal.status,
            day=Goal.agreed_on,
            day2=Goal.due_on,
            by_id=Goal.recorded_by_id,
            at=Goal.recorded_at,
        ).where(Goal.case_id == case_id),
        _part(
            "consultation",
            [Consultation.held_on.desc(), Consultation.id.desc()],
            id=Consultation.id,
            day=Consultation.held_on,
            n=Consultation.duration_minutes,
            a=Consultation.mode,
            c=Consultation.interpreter_language,
            by_id=Consultation.entered_by_id,
            at=Consultation.entered_at,
        ).where(Consultation.case_id == case_id),
        _part(
            "referral",
            [Referral.referred_on.desc(), Referral.id.desc()],
            id=Referral.id,
            day=Referral.referred_on,
            c=Partner.name,
            text=Referral.purpose,
            text2=Referral.outcome,
            a=Referral.status,
            flag=Referral.passes_data,
            flag2=Referral.verweisberatung,
            by_id=Referral.recorded_by_id,
        )
        .join(Partner, Partner.id == Referral.partner_id)
        .where(Referral.case_id == case_id),
        _part(
            "monitoring",
            [MonitoringEntry.entry_on.desc(), MonitoringEntry.id.desc()],
            id=MonitoringEntry.id,
            day=MonitoringEntry.entry_on,
            text=MonitoringEntry.text,
            by_id=MonitoringEntry.recorded_by_id,
            by_name=changed_by.display_name,
            for_id=MonitoringEntry.on_behalf_of_id,
        )
        .join(changed_by, changed_by.id == MonitoringEntry.recorded_by_id)
        .where(MonitoringEntry.case_id == case_id),
        _part(
            "note",
            [Note.id],
            id=Note.id,
            a=Note.kind,
            day=Note.noted_on,
            text=Note.text,
            n=Note.supersedes_id,
            by_id=Note.written_by_id,
            by_name=changed_by.display_name,
            for_id=Note.on_behalf_of_id,
            at=Note.written_at,
        )
        .join(changed_by, changed_by.id == Note.written_by_id)
        .where(Note.case_id == case_id),
        _part(
            "follow_up",
            [FollowUp.due_on, FollowUp.id],
            id=FollowUp.id,
            day=FollowUp.due_on,
            text=FollowUp.text,
            by_id=FollowUp.created_by_id,
            at=FollowUp.done_at,
            n=FollowUp.done_by_id,
        ).where(FollowUp.case_id == case_id),
        _part(
            "stage",
            [StageChange.id],
            a=StageChange.from_stage,
            b=StageChange.to_stage,
            c=StageChange.closure_reason,
            text=StageChange.reason,
            day=StageChange.closed_on,
            by_name=changed_by.display_name,
            for_id=StageChange.on_behalf_of_id,
            at=StageChange.changed_at,
        )
        .join(changed_by, changed_by.id == StageChange.changed_by_id)
        .where(StageChange.case_id == case_id),
        _part(
            "classification",
            [ClassificationChange.id],
            a=ClassificationChange.from_kind,
            b=ClassificationChange.to_kind,
            text=ClassificationChange.reason,
            by_name=changed_by.display_name,
            for_id=ClassificationChange.on_behalf_of_id,
            at=ClassificationChange.changed_at,
        )
        .join(changed_by, changed_by.id == ClassificationChange.changed_by_id)
        .where(ClassificationChange.case_id == case_id),
        _part(
            "transfer",
            [CaseTransfer.at, CaseTransfer.id],
            at=CaseTransfer.at,
            text=CaseTransfer.reason,
            by_name=changed_by.display_name,
            name2=from_owner.display_name,
            name3=to_owner.display_name,
        )
        .join(changed_by, changed_by.id == CaseTransfer.by_id)
        .join(from_owner, from_owner.id == CaseTransfer.from_owner_id)
        .join(to_owner, to_owner.id == CaseTransfer.to_owner_id)
        .where(CaseTransfer.case_id == case_id),
    ]
    if assessments:
        parts += [
            _part(
                "assessment",
                [Assessment.version],
                id=Assessment.id,
                n=Assessment.version,
                by_id=Assessment.started_by_id,
                at=Assessment.started_at,
            ).where(Assessment.case_id == case_id),
            _part(
                "assessment_area",
                [AssessmentArea.id],
                n=AssessmentArea.assessment_id,
                a=AssessmentArea.life_area,
            )
            .join(Assessment, Assessment.id == AssessmentArea.assessment_id)
            .where(Assessment.case_id == case_id),
        ]
    if directory:
        parts += [
            _part(
                "exchange",
                [ConsentExchange.id],
                n=ConsentExchange.partner_id,
                c=Partner.name,
                at=ConsentExchange.withdrawn_at,
            )
            .join(Partner, Partner.id == ConsentExchange.partner_id)
            .join(Client, Client.consent_id == ConsentExchange.consent_id)
            .where(Client.id == client_id),
            _part(
                "partner",
                [Partner.name, Partner.id],
                id=Partner.id,
                c=Partner.name,
                b=Partner.legal_domain,
            ).where(Partner.organisation_id == organisation_id),
        ]
    return union_all(*parts).order_by("source", "pos")


_record_statements: dict[tuple[bool, bool], object] = {}


def case_record(case: Case, *, assessments: bool = False, directory: bool = False) -> CaseRecord:
    """Return what ``case`` holds as its page and its timeline show it, in one statement.

    ``assessments`` adds the assessment versions (the timeline), ``directory`` the consent's
    exchange partners and the organisation's partner directory (the referral form of an open
    case). Only shown texts are read and decrypted (not a consultation's summary, not the
    client's contact data). The caller has checked access (``service.get_case``).

    Replaces ten ``selectinload`` collections of ORM objects plus the statements of the
    colleagues' names, the transfers, the consent and the partner directory: issue 8,
    measured on the statewide case page: 17 statements → 5, the loading ≈40 % of its time.
    """
    key = (assessments, directory)
    statement = _record_statements.get(key)
    if statement is None:
        statement = _record_statements[key] = _record_statement(assessments, directory)
    rows = db.session.connection().execute(
        statement,
        {
            "case_id": case.id,
            "client_id": case.client_id,
            "organisation_id": case.organisation_id,
        },
    )
    record = CaseRecord()
    areas: dict[int, list[LifeArea]] = {}
    for row in rows:
        _ADD[row.source](record, row, areas)
    return record


def _add_client(record: CaseRecord, row, areas) -> None:
    record.client_name = client_full_name(row.text, row.text2, row.at)


def _add_colleague(record: CaseRecord, row, areas) -> None:
    record.colleagues[row.id] = row.by_name


def _add_need(record: CaseRecord, row, areas) -> None:
    record.needs.append(
        NeedRow(
            row.id,
            LifeArea(row.a),
            LegalDomain(row.b) if row.b else None,
            row.text,
            row.flag,
            row.by_id,
            row.at,
        )
    )


def _add_goal(record: CaseRecord, row, areas) -> None:
    record.goals.append(
        GoalRow(
            row.id,
            row.text,
            GoalResponsible(row.a),
            GoalStatus(row.b),
            row.day,
            row.day2,
            row.by_id,
            row.at,
        )
    )


def _add_consultation(record: CaseRecord, row, areas) -> None:
    record.consultations.append(
        ConsultationRow(row.id, row.day, row.n, ConsultationMode(row.a), row.c, row.by_id, row.at)
    )


def _add_referral(record: CaseRecord, row, areas) -> None:
    record.referrals.append(
        ReferralRow(
            row.id,
            row.day,
            row.c,
            row.text,
            row.text2,
            ReferralStatus(row.a),
            row.flag,
            row.flag2,
            row.by_id,
        )
    )


def _add_monitoring(record: CaseRecord, row, areas) -> None:
    record.monitoring_entries.append(
        MonitoringRow(row.id, row.day, row.text, row.by_id, row.by_name, row.for_id)
    )


def _add_note(record: CaseRecord, row, areas) -> None:
    record.notes.append(
        NoteRow(
            row.id,
            NoteKind(row.a),
            row.day,
            row.text,
            row.n,
            row.by_id,
            row.by_name,
            row.for_id,
            row.at,
        )
    )


def _add_follow_up(record: CaseRecord, row, areas) -> None:
    record.follow_ups.append(FollowUpRow(row.id, row.day, row.text, row.by_id, row.at, row.n))


def _add_stage(record: CaseRecord, row, areas) -> None:
    record.stage_changes.append(
        StageChangeRow(
            Stage(row.a) if row.a else None,
            Stage(row.b),
            row.text,
            row.day,
            ClosureReason(row.c) if row.c else None,
            row.by_name,
            row.for_id,
            row.at,
        )
    )


def _add_classification(record: CaseRecord, row, areas) -> None:
    record.classification_changes.append(
        ClassificationChangeRow(
            CaseKind(row.a) if row.a else None,
            CaseKind(row.b),
            row.text,
            row.by_name,
            row.for_id,
            row.at,
        )
    )


def _add_transfer(record: CaseRecord, row, areas) -> None:
    record.transfers.append(TransferRow(row.at, row.name2, row.name3, row.by_name, row.text))


def _add_assessment(record: CaseRecord, row, areas) -> None:
    # Its areas' rows come after it (sorted by source): the list is filled by them.
    record.assessments.append(AssessmentRow(row.n, row.by_id, row.at, areas.setdefault(row.id, [])))


def _add_assessment_area(record: CaseRecord, row, areas) -> None:
    areas.setdefault(row.n, []).append(LifeArea(row.a))


def _add_exchange(record: CaseRecord, row, areas) -> None:
    record.exchanges.append(ExchangeRow(row.n, row.c, row.at is None))


def _add_partner(record: CaseRecord, row, areas) -> None:
    record.partners.append(PartnerRow(row.id, row.c, row.b))


_ADD = {
    "client": _add_client,
    "colleague": _add_colleague,
    "need": _add_need,
    "goal": _add_goal,
    "consultation": _add_consultation,
    "referral": _add_referral,
    "monitoring": _add_monitoring,
    "note": _add_note,
    "follow_up": _add_follow_up,
    "stage": _add_stage,
    "classification": _add_classification,
    "transfer": _add_transfer,
    "assessment": _add_assessment,
    "assessment_area": _add_assessment_area,
    "exchange": _add_exchange,
    "partner": _add_partner,
}
