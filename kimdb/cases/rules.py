"""The rules of a case: classification (R3) and stages (R4).

Plain functions over plain values: no Flask request, no database session. Sources: DESIGN.md
R3/R4; FAQ KIM NRW (23.04.2026) Q32 (the methods intake, assessment, planning, linking,
monitoring, re-assessment; Kurzberatung: at most two needs in focus, at least two consultations).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l

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
    reason that says why (not "goals achieved"). Source: DESIGN.md R3/R4; FAQ KIM NRW Q32.
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
