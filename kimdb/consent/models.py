"""The signed consent (Einwilligungserklärung): the legal basis of every client record (R1, Q34)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kimdb.auth.models import User
from kimdb.extensions import db
from kimdb.orgs.models import Partner


class Consent(db.Model):
    """One signed consent form: version, language, date signed, scopes, the encrypted scan.

    ``processing_agreed`` is the scope "processing in kimdb"; a consent without it is refused by
    the database (it would not be a legal basis). The scan lives encrypted in the file storage
    under ``scan_key``; only its media type and size are kept here.
    """

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint("processing_agreed", name="processing_agreed"),
        CheckConstraint("scan_size > 0", name="scan_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_version: Mapped[str] = mapped_column(String(20))
    form_language: Mapped[str] = mapped_column(String(8))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    processing_agreed: Mapped[bool]
    scan_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # None: erased
    scan_media_type: Mapped[str] = mapped_column(String(40))
    scan_size: Mapped[int] = mapped_column(Integer)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    # Full withdrawal (R2): who recorded it and when; the client's personal data are erased.
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    exchanges: Mapped[list[ConsentExchange]] = relationship(
        back_populates="consent", order_by="ConsentExchange.id", cascade="all, delete-orphan"
    )


class ConsentExchange(db.Model):
    """The scope "exchange of data with a named partner agency"; withdrawable on its own (R2).

    The agency is an entry of the organisation's partner directory, so that a referral can check
    the scope by partner (issue "Case work" item 3).
    """

    __tablename__ = "consent_exchanges"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    consent: Mapped[Consent] = relationship(back_populates="exchanges")
    partner: Mapped[Partner] = relationship()

    @property
    def partner_name(self) -> str:
        """The name of the partner agency in the organisation's directory."""
        return self.partner.name

    @property
    def active(self) -> bool:
        """True while this exchange scope is not withdrawn (R2)."""
        return self.withdrawn_at is None
