"""Cases and what is recorded in them: classification history, stages, needs, goals,
consultations."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kimdb.auth.models import User
from kimdb.cases.rules import CaseFacts, CaseKind, ClosureReason, Stage, facts_of
from kimdb.clients.models import Client
from kimdb.crypto import EncryptedText
from kimdb.extensions import db, enum_column
from kimdb.orgs.models import Partner
from kimdb.timeutil import local_date


class LifeArea(StrEnum):
    """Handlungsfelder / Lebenslagen (DESIGN.md §2)."""

    RESIDENCE_LAW = "residence_law"
    ORIENTATION = "orientation"
    LANGUAGE = "language"
    EDUCATION = "education"
    WORK = "work"
    HOUSING = "housing"
    HEALTH = "health"
    FINANCES = "finances"
    FAMILY = "family"
    PARTICIPATION = "participation"


class LegalDomain(StrEnum):
    """Rechtskreise and programmes (DESIGN.md §2)."""

    SGB_II = "sgb_ii"
    SGB_III = "sgb_iii"
    SGB_VIII = "sgb_viii"
    SGB_XII = "sgb_xii"
    ASYLBLG = "asylblg"
    AUFENTHG = "aufenthg"
    STAG = "stag"
    MBE = "mbe"
    JMD = "jmd"


class GoalStatus(StrEnum):
    """Where an agreed goal stands."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    PARTLY = "partly"
    NOT_ACHIEVED = "not_achieved"
    DROPPED = "dropped"


class GoalResponsible(StrEnum):
    """Who is responsible for reaching a goal (Zielvereinbarung)."""

    CLIENT = "client"
    CASE_MANAGER = "case_manager"
    PARTNER = "partner"


class ReferralStatus(StrEnum):
    """Where a referral (Linking) stands."""

    PROPOSED = "proposed"
    ARRANGED = "arranged"
    TAKEN_UP = "taken_up"
    ENDED = "ended"
    FAILED = "failed"


class NoteKind(StrEnum):
    """The type of a note (Vermerk)."""

    CONSULTATION = "consultation"
    PHONE_CALL = "phone_call"
    DOCUMENT = "document"
    INTERNAL = "internal"


class ConsultationMode(StrEnum):
    """How a consultation took place."""

    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"
    OUTREACH = "outreach"  # aufsuchend


def case_number(opened_on: dt.date, case_id: int) -> str:
    """The case number shown to users for a case opened on ``opened_on`` with id ``case_id``
    (``2026-000123``); for query rows that are not Case objects, see ``Case.number``."""
    return f"{opened_on.year}-{case_id:06d}"


class Case(db.Model):
    """The counselling of one client by one case manager (a Fall).

    ``last_activity_on`` and ``last_consultation_on`` are kept up to date by the service layer
    so that caseload lists need no aggregate over all consultations.
    """

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(
            "(stage = 'closed') = (closed_on IS NOT NULL AND closure_reason IS NOT NULL)",
            name="closed_has_date_and_reason",
        ),
        Index("ix_cases_owner_stage", "owner_id", "stage"),
        # A caseload: the open cases of one owner (start page, dashboard figures; issue 8).
        Index(
            "ix_cases_open_owner",
            "owner_id",
            postgresql_include=["kind", "last_activity_on"],
            sqlite_where=text("stage <> 'closed'"),
            postgresql_where=text("stage <> 'closed'"),
        ),
        # A person has at most one open case at a time (R5: one person, one case).
        Index(
            "uq_cases_open_client",
            "client_id",
            unique=True,
            sqlite_where=text("stage <> 'closed'"),
            postgresql_where=text("stage <> 'closed'"),
        ),
        # The cases of an organisation; the statistics report reads only this index (issue 8).
        Index(
            "ix_cases_organisation_report",
            "organisation_id",
            postgresql_include=[
                "id",
                "client_id",
                "kind",
                "opened_on",
                "closed_on",
                "closure_reason",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[CaseKind] = mapped_column(enum_column(CaseKind, "case_kind"))
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, "stage"))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    closure_reason: Mapped[ClosureReason | None] = mapped_column(
        enum_column(ClosureReason, "closure_reason")
    )
    closure_text: Mapped[str | None] = mapped_column(EncryptedText)
    last_activity_on: Mapped[dt.date] = mapped_column(Date)
    last_consultation_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Every use case that writes into a case updates the case row: two users writing the same
    # case at once cannot both pass a rule checked on the old state (optimistic locking).
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version_id: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    client: Mapped[Client] = relationship()
    owner: Mapped[User] = relationship()
    needs: Mapped[list[Need]] = relationship(back_populates="case", order_by="Need.id")
    goals: Mapped[list[Goal]] = relationship(back_populates="case", order_by="Goal.id")
    consultations: Mapped[list[Consultation]] = relationship(
        back_populates="case", order_by="(Consultation.held_on.desc(), Consultation.id.desc())"
    )
    stage_changes: Mapped[list[StageChange]] = relationship(
        back_populates="case", order_by="StageChange.id"
    )
    classification_changes: Mapped[list[ClassificationChange]] = relationship(
        back_populates="case", order_by="ClassificationChange.id"
    )
    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="case", order_by="Assessment.version"
    )
    referrals: Mapped[list[Referral]] = relationship(
        back_populates="case", order_by="(Referral.referred_on.desc(), Referral.id.desc())"
    )
    monitoring_entries: Mapped[list[MonitoringEntry]] = relationship(
        back_populates="case",
        order_by="(MonitoringEntry.entry_on.desc(), MonitoringEntry.id.desc())",
    )
    notes: Mapped[list[Note]] = relationship(back_populates="case", order_by="Note.id")
    follow_ups: Mapped[list[FollowUp]] = relationship(
        back_populates="case", order_by="(FollowUp.due_on, FollowUp.id)"
    )

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def number(self) -> str:
        """The case number shown to users: year opened and id, e.g. ``2026-000123``."""
        return case_number(self.opened_on, self.id)

    @property
    def is_open(self) -> bool:
        """True until the case is closed (R5: open cases count towards the caseload)."""
        return self.stage is not Stage.CLOSED

    def facts(self) -> CaseFacts:
        """Return what the rules need to know of this case (loads needs, goals, consultations)."""
        return facts_of(self, self.needs, self.goals, self.consultations)


class ClassificationChange(db.Model):
    """One classification of a case: the first one on opening, then every change (R3)."""

    __tablename__ = "classification_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_kind: Mapped[CaseKind | None] = mapped_column(enum_column(CaseKind, "from_kind"))
    to_kind: Mapped[CaseKind] = mapped_column(enum_column(CaseKind, "to_kind"))
    reason: Mapped[str | None] = mapped_column(EncryptedText)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by a substitute: the owner on whose behalf (R7).
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="classification_changes")
    changed_by: Mapped[User] = relationship(foreign_keys=[changed_by_id])


class StageChange(db.Model):
    """One stage transition of a case, with who made it and when (R4)."""

    __tablename__ = "stage_changes"
    # A case's stage history in order; the report reads the last stage of a case from the
    # index alone (issue 8).
    __table_args__ = (
        Index(
            "ix_stage_changes_case_last",
            "case_id",
            "id",
            postgresql_include=["to_stage", "changed_at"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    from_stage: Mapped[Stage | None] = mapped_column(enum_column(Stage, "from_stage"))
    to_stage: Mapped[Stage] = mapped_column(enum_column(Stage, "to_stage"))
    reason: Mapped[str | None] = mapped_column(EncryptedText)  # why reopened; closure text
    # A closure keeps its date and reason here too, so a reopened case still shows it.
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    closure_reason: Mapped[ClosureReason | None] = mapped_column(
        enum_column(ClosureReason, "stage_closure_reason")
    )
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by a substitute: the owner on whose behalf (R7).
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="stage_changes")
    changed_by: Mapped[User] = relationship(foreign_keys=[changed_by_id])


class Need(db.Model):
    """A need (Bedarf) in a life area, possibly in a legal domain; ``in_focus`` for R3."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    life_area: Mapped[LifeArea] = mapped_column(enum_column(LifeArea, "life_area"))
    legal_domain: Mapped[LegalDomain | None] = mapped_column(
        enum_column(LegalDomain, "legal_domain")
    )
    description: Mapped[str] = mapped_column(EncryptedText)
    in_focus: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by a substitute: the owner on whose behalf (R7).
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="needs")


class Goal(db.Model):
    """A goal of the plan (Zielvereinbarung); agreed when ``agreed_on`` is set."""

    __tablename__ = "goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    text: Mapped[str] = mapped_column(EncryptedText)
    agreed_on: Mapped[dt.date | None] = mapped_column(Date)
    responsible: Mapped[GoalResponsible] = mapped_column(
        enum_column(GoalResponsible, "goal_responsible"), default=GoalResponsible.CLIENT
    )
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[GoalStatus] = mapped_column(enum_column(GoalStatus, "goal_status"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by a substitute: the owner on whose behalf (R7).
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="goals")


class Consultation(db.Model):
    """One counselling session (Beratungsgespräch). ``entered_at`` is set by kimdb (R6)."""

    __tablename__ = "consultations"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 1 AND 600", name="duration_range"),
        Index("ix_consultations_case_held", "case_id", "held_on"),
        # Entry lag of a case manager's recent consultations (start page, dashboard; issue 8).
        Index(
            "ix_consultations_entered_by_held",
            "entered_by_id",
            "held_on",
            postgresql_include=["entered_at"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    mode: Mapped[ConsultationMode] = mapped_column(
        enum_column(ConsultationMode, "consultation_mode")
    )
    interpreter_used: Mapped[bool] = mapped_column(default=False)
    interpreter_language: Mapped[str | None] = mapped_column(String(8))
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by a substitute: the owner on whose behalf (R7).
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    summary: Mapped[str | None] = mapped_column(EncryptedText)

    case: Mapped[Case] = relationship(back_populates="consultations")
    entered_by: Mapped[User] = relationship(foreign_keys=[entered_by_id])

    @property
    def entry_lag_days(self) -> int:
        """Days between the day held and the day entered (R6: should be 0)."""
        return max(0, (local_date(self.entered_at) - self.held_on).days)


class Assessment(db.Model):
    """One dated version of the structured assessment (Bestandsaufnahme) of a case.

    A re-assessment starts a new version; earlier versions stay readable (never overwritten).
    """

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by a substitute: the owner on whose behalf (R7).
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="assessments")
    started_by: Mapped[User] = relationship(foreign_keys=[started_by_id])
    areas: Mapped[list[AssessmentArea]] = relationship(
        back_populates="assessment", order_by="AssessmentArea.id", cascade="all, delete-orphan"
    )


class AssessmentArea(db.Model):
    """The situation and resources in one life area within an assessment version."""

    __tablename__ = "assessment_areas"
    __table_args__ = (UniqueConstraint("assessment_id", "life_area"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    life_area: Mapped[LifeArea] = mapped_column(enum_column(LifeArea, "life_area"))
    situation: Mapped[str | None] = mapped_column(EncryptedText)
    resources: Mapped[str | None] = mapped_column(EncryptedText)

    assessment: Mapped[Assessment] = relationship(back_populates="areas")


class Referral(db.Model):
    """A referral to a partner's service (Leistungssteuerung / Linking, FAQ KIM NRW Q32).

    ``verweisberatung`` is set when the partner's legal domain has its own case management
    (SGB II, III, VIII); ``passes_data`` when data of the client go to the partner, which needs
    the consent's exchange scope for that partner.
    """

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    referred_on: Mapped[dt.date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(EncryptedText)
    status: Mapped[ReferralStatus] = mapped_column(enum_column(ReferralStatus, "referral_status"))
    outcome: Mapped[str | None] = mapped_column(EncryptedText)
    passes_data: Mapped[bool] = mapped_column(default=False)
    verweisberatung: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by a substitute: the owner on whose behalf (R7).
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="referrals")
    partner: Mapped[Partner] = relationship()


class MonitoringEntry(db.Model):
    """An entry of the ongoing monitoring of a case."""

    __tablename__ = "monitoring_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    entry_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(EncryptedText)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by a substitute: the owner on whose behalf (R7).
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="monitoring_entries")
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])


class Note(db.Model):
    """A dated, authored note (Vermerk). Never changed or deleted: a correction is a new row
    whose ``supersedes_id`` points at the version it corrects (DESIGN.md §2)."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[NoteKind] = mapped_column(enum_column(NoteKind, "note_kind"))
    noted_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(EncryptedText)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("notes.id"), unique=True)
    written_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by a substitute: the owner on whose behalf (R7).
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    written_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="notes")
    written_by: Mapped[User] = relationship(foreign_keys=[written_by_id])
    supersedes: Mapped[Note | None] = relationship(remote_side="Note.id")


class FollowUp(db.Model):
    """A follow-up (Wiedervorlage): a due date with a short text; done ones stay in the timeline."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_case_due", "case_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(EncryptedText)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by a substitute: the owner on whose behalf (R7).
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship(back_populates="follow_ups")
