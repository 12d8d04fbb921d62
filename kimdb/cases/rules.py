"""The rules of a case: classification (R3) and stages (R4).

Plain functions over plain values: no Flask request, no database session. Sources: DESIGN.md
R3/R4; FAQ KIM NRW (23.04.2026) Q32 (the methods intake, assessment, planning, linking,
monitoring, re-assessment; Kurzberatung: at most two needs in focus, at least two consultations).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation


class CaseKind(StrEnum):
    """KIM-Case Management (CM) or KIM-Kurzberatung (KB), decided by the case manager (Q32)."""

    CASE_MANAGEMENT = "case_management"
    SHORT_COUNSELLING = "short_counselling"


class Stage(StrEnum):
    """The stages of a case (R4)."""

    INTAKE = "intake"
    ASSESSMENT = "assessment"
    PLANNING = "planning"
    LINKING = "linking"
    MONITORING = "monitoring"
    EVALUATION = "evaluation"
    COUNSELLING = "counselling"
    CLOSED = "closed"


class ClosureReason(StrEnum):
    """Why a case was closed."""

    GOALS_ACHIEVED = "goals_achieved"
    REFERRED = "referred"  # to another case management (SGB II, III, VIII; JMD, MBE)
    MOVED_AWAY = "moved_away"
    CONTACT_BROKE_OFF = "contact_broke_off"
    CLIENT_ENDED = "client_ended"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    OTHER = "other"


CM_PATH: tuple[Stage, ...] = (
    Stage.INTAKE,
    Stage.ASSESSMENT,
    Stage.PLANNING,
    Stage.LINKING,
    Stage.MONITORING,
    Stage.EVALUATION,
    Stage.CLOSED,
)
KB_PATH: tuple[Stage, ...] = (Stage.INTAKE, Stage.COUNSELLING, Stage.CLOSED)
KB_FOCUS_LIMIT = 2  # Q32: "in der Regel maximal zwei Bedarfe im Fokus"
KB_MIN_CONSULTATIONS = 2  # Q32: "Der Mindeststandard umfasst zwei Beratungsgespräche"
# Reasons that say why a KB case ends before its two consultations (R3).
EARLY_KB_CLOSURE_REASONS = frozenset(ClosureReason) - {ClosureReason.GOALS_ACHIEVED}


class TransitionRefused(RuleViolation):
    """A case may not enter the stage asked for; the message names what is missing."""


class ClosureRefused(RuleViolation):
    """A case may not be closed with the date and reason given."""


class FocusLimitReached(RuleViolation):
    """A KB case already holds its two needs in focus."""


class ReclassificationRefused(RuleViolation):
    """A case cannot change its classification as asked."""


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know of a case; counts are of recorded items."""

    kind: CaseKind
    stage: Stage
    needs: int = 0
    focus_needs: int = 0
    agreed_goals: int = 0
    consultations: int = 0
    opened_on: dt.date | None = None


def facts_of(case, needs, goals, consultations) -> CaseFacts:
    """Return the CaseFacts of ``case`` (its kind, stage, opening day) with its ``needs``
    (each with ``in_focus``), ``goals`` (each with ``agreed_on``) and ``consultations``: ORM
    objects or the rows of ``queries.case_record`` alike."""
    return CaseFacts(
        kind=case.kind,
        stage=case.stage,
        needs=len(needs),
        focus_needs=sum(1 for n in needs if n.in_focus),
        agreed_goals=sum(1 for g in goals if g.agreed_on is not None),
        consultations=len(consultations),
        opened_on=case.opened_on,
    )


def path(kind: CaseKind) -> tuple[Stage, ...]:
    """Return the ordered stages of a case of ``kind``."""
    return CM_PATH if kind is CaseKind.CASE_MANAGEMENT else KB_PATH


def next_stages(kind: CaseKind, stage: Stage) -> list[Stage]:
    """Return the stages a case of ``kind`` in ``stage`` may move to, closure excluded.

    The next stage on the path; from monitoring also back to assessment (re-assessment).
    Closing is its own use case (``check_closure``), possible from every open stage.
    """
    stages = path(kind)
    if stage not in stages or stage is Stage.CLOSED:
        return []
    following = stages[stages.index(stage) + 1]
    targets = [] if following is Stage.CLOSED else [following]
    if stage is Stage.MONITORING:
        targets.append(Stage.ASSESSMENT)
    return targets


def missing_for(facts: CaseFacts, target: Stage) -> str | None:
    """Return what ``facts`` lack to enter ``target`` (a German sentence), or None if nothing.

    Guards (R4): assessment needs at least one need; planning at least one agreed goal.
    """
    if target is Stage.ASSESSMENT and facts.needs < 1:
        return _l("Für das Assessment muss mindestens ein Bedarf erfasst sein.")
    if target is Stage.PLANNING and facts.agreed_goals < 1:
        return _l("Für die Hilfeplanung muss mindestens ein vereinbartes Ziel erfasst sein.")
    return None


def check_transition(facts: CaseFacts, target: Stage) -> None:
    """Raise TransitionRefused unless a case with ``facts`` may enter ``target`` now.

    Closure is refused here: it needs a date and a reason (see ``check_closure``).
    Source: DESIGN.md R4; FAQ KIM NRW Q32.
    """
    if facts.stage is Stage.CLOSED:
        raise TransitionRefused(_l("Der Fall ist abgeschlossen."), field="target")
    if target is Stage.CLOSED:
        raise TransitionRefused(
            _l("Zum Abschließen bitte Abschlussdatum und Abschlussgrund angeben."), field="target"
        )
    if target not in next_stages(facts.kind, facts.stage):
        raise TransitionRefused(
            _l("Von dieser Phase aus ist dieser Schritt nicht möglich."), field="target"
        )
    missing = missing_for(facts, target)
    if missing:
        raise TransitionRefused(missing, field="target")


def check_closure(
    facts: CaseFacts,
    closed_on: dt.date | None,
    reason: ClosureReason | None,
    reason_text: str,
    today: dt.date,
) -> None:
    """Raise ClosureRefused unless the case may be closed on ``closed_on`` for ``reason``.

    A closure needs a date (not in the future, not before the case was opened) and a reason;
    "other" needs a text. A KB case with fewer than two consultations can only be closed with a
    reason that says why (not "goals achieved"); a CM case is closed as "goals achieved" only
    with an agreed goal. Source: DESIGN.md R3/R4; FAQ KIM NRW Q32.
    """
    if facts.stage is Stage.CLOSED:
        raise ClosureRefused(_l("Der Fall ist bereits abgeschlossen."))
    if closed_on is None:
        raise ClosureRefused(_l("Bitte ein Abschlussdatum angeben."), field="closed_on")
    if closed_on > today:
        raise ClosureRefused(
            _l("Das Abschlussdatum darf nicht in der Zukunft liegen."), field="closed_on"
        )
    if facts.opened_on and closed_on < facts.opened_on:
        raise ClosureRefused(
            _l("Das Abschlussdatum liegt vor der Eröffnung des Falls."), field="closed_on"
        )
    if reason is None:
        raise ClosureRefused(_l("Bitte einen Abschlussgrund wählen."), field="reason")
    if reason is ClosureReason.OTHER and not reason_text.strip():
        raise ClosureRefused(
            _l("Bei „Sonstiger Grund“ bitte den Grund beschreiben."), field="reason_text"
        )
    if (
        facts.kind is CaseKind.CASE_MANAGEMENT
        and reason is ClosureReason.GOALS_ACHIEVED
        and facts.agreed_goals < 1
    ):
        raise ClosureRefused(
            _l(
                "„Ziele erreicht“ setzt mindestens ein vereinbartes Ziel voraus. Bitte das Ziel "
                "erfassen oder einen anderen Abschlussgrund wählen."
            ),
            field="reason",
        )
    if (
        facts.kind is CaseKind.SHORT_COUNSELLING
        and facts.consultations < KB_MIN_CONSULTATIONS
        and reason not in EARLY_KB_CLOSURE_REASONS
    ):
        raise ClosureRefused(
            _l(
                "Eine Kurzberatung umfasst mindestens zwei Beratungsgespräche. Vorher kann sie "
                "nur mit einem Grund abgeschlossen werden, der das erklärt (z. B. Kontakt "
                "abgebrochen)."
            ),
            field="reason",
        )


def check_focus_need(kind: CaseKind, focus_needs: int) -> None:
    """Raise FocusLimitReached if a case of ``kind`` with ``focus_needs`` may not take another.

    A KB case holds at most two needs in focus; a third asks for CM (R3, FAQ KIM NRW Q32).
    """
    if kind is CaseKind.SHORT_COUNSELLING and focus_needs >= KB_FOCUS_LIMIT:
        raise FocusLimitReached(
            _l(
                "Eine Kurzberatung hat höchstens zwei Bedarfe im Fokus. Bei einem dritten "
                "Bedarf bitte den Fall als Case Management einstufen."
            ),
            field="in_focus",
        )


def stage_after_reclassification(facts: CaseFacts, new_kind: CaseKind) -> Stage:
    """Return the stage a case with ``facts`` is in after it changes to ``new_kind``.

    KB → CM: from counselling to assessment if a need is recorded, else intake.
    CM → KB: intake stays intake; every later stage becomes counselling.
    """
    if facts.stage is Stage.INTAKE:
        return Stage.INTAKE
    if new_kind is CaseKind.CASE_MANAGEMENT:
        return Stage.ASSESSMENT if facts.needs else Stage.INTAKE
    return Stage.COUNSELLING


def check_reclassification(facts: CaseFacts, new_kind: CaseKind, reason: str) -> None:
    """Raise ReclassificationRefused unless the case may change to ``new_kind`` for ``reason``.

    Every change is kept with a reason (R3); a closed case keeps its kind; a case with more
    than two needs in focus cannot become KB (FAQ KIM NRW Q32).
    """
    if facts.stage is Stage.CLOSED:
        raise ReclassificationRefused(_l("Ein abgeschlossener Fall wird nicht mehr umgestuft."))
    if new_kind is facts.kind:
        raise ReclassificationRefused(_l("Der Fall ist bereits so eingestuft."), field="kind")
    if not reason.strip():
        raise ReclassificationRefused(
            _l("Bitte begründen Sie die Änderung der Einstufung."), field="reason"
        )
    if new_kind is CaseKind.SHORT_COUNSELLING and facts.focus_needs > KB_FOCUS_LIMIT:
        raise ReclassificationRefused(
            _l(
                "Der Fall hat mehr als zwei Bedarfe im Fokus und kann keine Kurzberatung sein. "
                "Bitte zuerst Bedarfe aus dem Fokus nehmen."
            ),
            field="kind",
        )


# -- Reopening (issue "Case work" item 4) ---------------------------------------------------

REOPEN_DAYS_DEFAULT = 90


class ReopenRefused(RuleViolation):
    """A closed case cannot be reopened (too late, no reason, or not closed)."""


def check_reopen(
    stage: Stage,
    closed_on: dt.date | None,
    reason: str,
    today: dt.date,
    reopen_days: int,
    closure_reason: ClosureReason | None = None,
) -> None:
    """Raise ReopenRefused unless a closed case may be reopened today with ``reason``.

    Within ``reopen_days`` days (``KIMDB_REOPEN_DAYS``) after the closure date a case can be
    reopened with a reason; later the client gets a new case. A case closed because the
    consent was withdrawn is never reopened: there is no legal basis left (FAQ KIM NRW Q34).
    """
    if stage is not Stage.CLOSED or closed_on is None:
        raise ReopenRefused(_l("Nur ein abgeschlossener Fall kann wieder eröffnet werden."))
    if closure_reason is ClosureReason.CONSENT_WITHDRAWN:
        raise ReopenRefused(
            _l(
                "Die Einwilligung wurde widerrufen; ohne neue Einwilligung darf der Fall nicht "
                "weitergeführt werden. Bitte die Person mit neuer Einwilligung neu aufnehmen."
            )
        )
    if (today - closed_on).days > reopen_days:
        raise ReopenRefused(
            _l(
                "Der Fall ist seit mehr als %(days)s Tagen abgeschlossen. Bitte einen neuen Fall "
                "eröffnen.",
                days=reopen_days,
            )
        )
    if not reason.strip():
        raise ReopenRefused(_l("Bitte begründen Sie die Wiedereröffnung."), field="reason")


def stage_after_reopen(kind: CaseKind, stage_before_closure: Stage | None) -> Stage:
    """Return the stage a reopened case returns to: the one it was closed from, if on its path."""
    if stage_before_closure in path(kind) and stage_before_closure is not Stage.CLOSED:
        return stage_before_closure
    return Stage.COUNSELLING if kind is CaseKind.SHORT_COUNSELLING else Stage.ASSESSMENT


class CaseFlag(StrEnum):
    """Flags a case list can be filtered by; worked out from the records, not stored."""

    INACTIVE = "inactive"  # no activity for KIMDB_INACTIVITY_DAYS days (R6)
    FOLLOW_UP_DUE = "follow_up_due"  # an open follow-up due today or earlier
    ABOVE_KB_LIMITS = "above_kb_limits"  # see exceeds_kb_limits


def exceeds_kb_limits(facts: CaseFacts) -> bool:
    """True for a KB case beyond what a Kurzberatung holds: more than two needs recorded.

    A Kurzberatung has "in der Regel maximal zwei Bedarfe im Fokus" (FAQ KIM NRW Q32); more
    recorded needs suggest reclassifying the case as CM.
    """
    return facts.kind is CaseKind.SHORT_COUNSELLING and (
        facts.needs > KB_FOCUS_LIMIT or facts.focus_needs > KB_FOCUS_LIMIT
    )


# -- Linking: referrals -------------------------------------------------------------------

# Legal domains with their own case management: a referral there is Verweisberatung (Q32).
OWN_CASE_MANAGEMENT_DOMAINS = frozenset({"sgb_ii", "sgb_iii", "sgb_viii"})


class ReferralRefused(RuleViolation):
    """A referral cannot be recorded or changed as asked."""


def is_verweisberatung(legal_domain: str | None) -> bool:
    """True if a referral into ``legal_domain`` is Verweisberatung (SGB II, III, VIII; Q32)."""
    return legal_domain in OWN_CASE_MANAGEMENT_DOMAINS


def check_referral_consent(
    passes_data: bool, partner_id: int, exchange_partner_ids: set[int]
) -> None:
    """Raise ReferralRefused if data go to a partner without the consent's exchange scope.

    ``exchange_partner_ids`` are the partners the client's consent allows exchange with (not
    withdrawn). Source: DESIGN.md R1/R2 (scopes), FAQ KIM NRW Q34.
    """
    if passes_data and partner_id not in exchange_partner_ids:
        raise ReferralRefused(
            _l(
                "Für diese Stelle liegt keine Einwilligung zum Datenaustausch vor. Die Vermittlung "
                "ist nur ohne Weitergabe von Daten möglich, oder die Person willigt schriftlich "
                "in den Austausch ein."
            ),
            field="passes_data",
        )


def check_referral_date(referred_on: dt.date, opened_on: dt.date, today: dt.date) -> None:
    """Raise ReferralRefused for a referral dated in the future or before the case was opened."""
    if referred_on > today:
        raise ReferralRefused(
            _l("Das Datum darf nicht in der Zukunft liegen."), field="referred_on"
        )
    if referred_on < opened_on:
        raise ReferralRefused(
            _l("Das Datum liegt vor der Eröffnung des Falls."), field="referred_on"
        )


# -- Notes (Vermerke) ---------------------------------------------------------------------


class NoteRefused(RuleViolation):
    """A note or its correction cannot be recorded."""


def check_note_correction(is_latest_version: bool, old_text: str, new_text: str) -> None:
    """Raise NoteRefused unless ``new_text`` may correct a note version with ``old_text``.

    Only the latest version is corrected, and only by a text that differs; the old version stays
    (notes are never silently changed, DESIGN.md §2).
    """
    if not is_latest_version:
        raise NoteRefused(
            _l("Dieser Vermerk wurde bereits korrigiert. Bitte die neueste Fassung korrigieren.")
        )
    if " ".join(new_text.split()) == " ".join(old_text.split()):
        raise NoteRefused(_l("Die Korrektur ist mit dem bisherigen Text identisch."), field="text")


# -- Follow-ups (Wiedervorlagen) ----------------------------------------------------------


class FollowUpState(StrEnum):
    """Where a follow-up stands on a given day."""

    OVERDUE = "overdue"
    DUE_TODAY = "due_today"
    UPCOMING = "upcoming"
    DONE = "done"


def follow_up_state(due_on: dt.date, done: bool, today: dt.date) -> FollowUpState:
    """Return whether a follow-up due on ``due_on`` is done, overdue, due today or upcoming."""
    if done:
        return FollowUpState.DONE
    if due_on < today:
        return FollowUpState.OVERDUE
    if due_on == today:
        return FollowUpState.DUE_TODAY
    return FollowUpState.UPCOMING


def check_follow_up_due(due_on: dt.date, today: dt.date) -> None:
    """Raise RuleViolation for a new follow-up due in the past (it would be overdue at once)."""
    if due_on < today:
        raise RuleViolation(
            _l("Eine Wiedervorlage kann nicht in der Vergangenheit fällig sein."), field="due_on"
        )


# -- Assessment versions ------------------------------------------------------------------


def needs_new_assessment_version(
    latest_started_at: dt.datetime | None, assessment_entered_at: dt.datetime | None
) -> bool:
    """True if saving the assessment must start a new version instead of updating the latest.

    A new version starts with the first assessment and with every re-assessment, i.e. when the
    case entered the assessment stage after the latest version was started; so earlier
    assessments stay readable (issue "Case work" item 1).
    """
    if latest_started_at is None:
        return True
    return assessment_entered_at is not None and assessment_entered_at > latest_started_at


def check_assessment_written(texts: list[tuple[str, str | None, str | None]]) -> None:
    """Raise RuleViolation unless at least one life area has a situation or a resources text.

    ``texts``: (life area code, situation, resources) per life area in the form's order;
    blank or whitespace-only texts count as empty. Saving an assessment with nothing in it
    would add an empty dated version to the case's history (the first save and every save
    after a re-assessment start one). The message goes to the first life area's situation.
    Source: FAQ KIM NRW Q32 (Assessment per life area); issue "Case work" item 1.
    """
    if any(
        (situation or "").strip() or (resources or "").strip() for _, situation, resources in texts
    ):
        return
    raise RuleViolation(
        _l(
            "Bitte beschreiben Sie für mindestens ein Handlungsfeld die Situation oder die "
            "Ressourcen."
        ),
        field=f"{texts[0][0]}_situation" if texts else None,
    )


# -- Daily entry (R6) ---------------------------------------------------------------------


ENTRY_LAG_DAYS = 30  # the entry lag covers consultations held in the last 30 days (R6)


def median_lag_days(lags: list[int]) -> float | None:
    """Return the median of entry lags in days (R6: consultations entered the same day)."""
    if not lags:
        return None
    ordered = sorted(lags)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def median_of_counts(counts: dict[int, int]) -> float | None:
    """Return ``median_lag_days`` of lags given as lag in days → how many consultations (the
    counts a grouped query returns), without expanding them; None if there are none (R6)."""
    total = sum(counts.values())
    if not total:
        return None
    ordered = sorted(counts.items())

    def nth(index: int) -> int:
        seen = 0
        for value, n in ordered:
            seen += n
            if index < seen:
                return value
        raise IndexError(index)

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2
