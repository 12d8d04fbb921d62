"""A structural finding: category, affected agency or service, description — no client link."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kimdb.auth.models import User
from kimdb.crypto import EncryptedText
from kimdb.extensions import db, enum_column
from kimdb.orgs.models import Organisation


class FindingCategory(StrEnum):
    """What kind of gap or barrier a finding describes."""

    ACCESS = "access"  # Zugang / Erreichbarkeit
    WAITING_TIMES = "waiting_times"
    LANGUAGE_BARRIER = "language_barrier"  # fehlende Sprachmittlung
    MISSING_SERVICE = "missing_service"
    RESPONSIBILITY = "responsibility"  # ungeklärte Zuständigkeit, Schnittstellen
    PROCEDURES = "procedures"  # Verfahren, Formulare, Digitalisierung
    DISCRIMINATION = "discrimination"
    COOPERATION = "cooperation"  # Kooperation, Informationsfluss
    OTHER = "other"


class Finding(db.Model):
    """A gap or barrier in the local service system (Systemmanagement, FAQ KIM NRW Q32).

    Recorded by a case manager while working a case, but deliberately without any reference to
    the case or the client: coordination sees findings aggregated per category and agency.
    ``description`` is free text and therefore encrypted at rest like every free text.
    """

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_org_observed", "organisation_id", "observed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    category: Mapped[FindingCategory] = mapped_column(
        enum_column(FindingCategory, "finding_category", 30)
    )
    agency: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(EncryptedText)
    observed_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    organisation: Mapped[Organisation] = relationship()
    recorded_by: Mapped[User] = relationship()
