"""Substitutions and case transfers (R7; FAQ KIM NRW Q34)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, Table, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kimdb.auth.models import User
from kimdb.crypto import EncryptedText
from kimdb.extensions import db, enum_column

substitution_cases = Table(
    "substitution_cases",
    db.metadata,
    Column("substitution_id", ForeignKey("substitutions.id"), primary_key=True),
    Column("case_id", ForeignKey("cases.id"), primary_key=True),
)


class Substitution(db.Model):
    """A substitute works the absent user's cases from ``first_day`` to ``last_day`` (inclusive).

    With ``only_selected`` the substitution covers just the cases in ``cases``. ``ended_at`` ends
    it early. Every record written by the substitute is marked as written on behalf of the owner.
    """

    __tablename__ = "substitutions"
    __table_args__ = (Index("ix_substitutions_substitute_days", "substitute_id", "last_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    absent_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    substitute_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    only_selected: Mapped[bool] = mapped_column(default=False)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    absent_user: Mapped[User] = relationship(foreign_keys=[absent_user_id])
    substitute: Mapped[User] = relationship(foreign_keys=[substitute_id])
    set_by: Mapped[User] = relationship(foreign_keys=[set_by_id])
    cases = relationship("Case", secondary=substitution_cases)


class TransferKind(StrEnum):
    """How a case got its new owner."""

    TAKEOVER = "takeover"  # Vorgangsübernahme by the substitute
    REASSIGNMENT = "reassignment"  # by a supervisor


class CaseTransfer(db.Model):
    """A change of a case's owner for good, with reason and who did it (R7)."""

    __tablename__ = "case_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    to_owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[TransferKind] = mapped_column(enum_column(TransferKind, "transfer_kind", 20))
    reason: Mapped[str] = mapped_column(EncryptedText)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    from_owner: Mapped[User] = relationship(foreign_keys=[from_owner_id])
    to_owner: Mapped[User] = relationship(foreign_keys=[to_owner_id])
    by: Mapped[User] = relationship(foreign_keys=[by_id])
