"""Where case-management posts sit: municipalities (Kreise, kreisfreie Städte) and organisations."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kimdb.extensions import db, enum_column


class MunicipalityKind(StrEnum):
    """A county (Kreis) or a county-free city (kreisfreie Stadt); ``STATE`` holds the state's
    own offices (ministry, Kompetenzzentrum für Integration), which run no case management."""

    COUNTY = "county"
    CITY = "city"
    STATE = "state"


class OrganisationKind(StrEnum):
    """Where a post sits (DESIGN.md §1)."""

    INTEGRATION_CENTRE = "integration_centre"  # Kommunales Integrationszentrum
    MUNICIPAL_OFFICE = "municipal_office"
    TOWN = "town"  # kreisangehörige Kommune
    WELFARE = "welfare"  # Freie Wohlfahrtspflege


class Municipality(db.Model):
    """A county or county-free city of NRW that runs KIM."""

    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[MunicipalityKind] = mapped_column(
        enum_column(MunicipalityKind, "municipality_kind", 20)
    )

    organisations: Mapped[list[Organisation]] = relationship(back_populates="municipality")


class Organisation(db.Model):
    """An employer of case managers within one municipality."""

    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("municipality_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(
        enum_column(OrganisationKind, "organisation_kind", 30)
    )
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)

    municipality: Mapped[Municipality] = relationship(back_populates="organisations")
    teams: Mapped[list[Team]] = relationship(back_populates="organisation", order_by="Team.name")


class Team(db.Model):
    """A team within an organisation (e.g. "Team Nord"); case managers may belong to one."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))

    organisation: Mapped[Organisation] = relationship(back_populates="teams")


class PartnerKind(StrEnum):
    """What kind of service or agency a partner is."""

    AUTHORITY = "authority"  # Behörde (Ausländerbehörde, Jobcenter, Jugendamt, ...)
    COUNSELLING = "counselling"  # Beratungsstelle (MBE, JMD, Schuldnerberatung, ...)
    EDUCATION = "education"  # Schule, Kita, Integrationskurs-, Bildungsträger
    HEALTH = "health"
    HOUSING = "housing"
    LABOUR = "labour"  # Arbeitgeber, Kammern, Anerkennungsstellen
    COMMUNITY = "community"  # Verein, Ehrenamt, Migrantenorganisation
    OTHER = "other"


class Partner(db.Model):
    """A service or agency in the organisation-wide partner directory (Linking, FAQ KIM NRW Q32).

    ``legal_domain`` holds a ``kimdb.cases.models.LegalDomain`` value or None; referrals into
    SGB II, III or VIII are Verweisberatung. ``contact`` is the agency's business contact.
    """

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PartnerKind] = mapped_column(enum_column(PartnerKind, "partner_kind", 20))
    legal_domain: Mapped[str | None] = mapped_column(String(20))
    contact: Mapped[str | None] = mapped_column(String(300))

    organisation: Mapped[Organisation] = relationship()
