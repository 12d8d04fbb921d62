"""Emergency access to one case, time-limited and recorded (issue 5 item 7; DESIGN.md R8)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kimdb.auth.models import User
from kimdb.crypto import EncryptedText
from kimdb.extensions import db


class EmergencyAccess(db.Model):
    """A supervisor's reasoned, time-limited read access to one case ("break the glass").

    ``owner_id`` is the case's owner at the moment of access: they are told at their next
    login (``seen_by_owner_at``). ``ended_at`` is set when the supervisor ends it early.
    The data protection officer reads the list of all emergency accesses.
    """

    __tablename__ = "emergency_accesses"
    __table_args__ = (
        Index("ix_emergency_accesses_supervisor_until", "supervisor_id", "expires_at"),
        Index("ix_emergency_accesses_owner_seen", "owner_id", "seen_by_owner_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(EncryptedText)
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    seen_by_owner_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    case = relationship("Case")
    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id])
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
