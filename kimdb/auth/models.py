"""Users of kimdb: case managers, supervisors and administrators."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Numeric,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from kimdb.crypto import EncryptedText
from kimdb.extensions import db, enum_column
from kimdb.orgs.models import Organisation, Team
from kimdb.timeutil import today


class Role(StrEnum):
    """What a user does in kimdb (DESIGN.md §1)."""

    CASE_MANAGER = "case_manager"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    DPO = "dpo"  # Datenschutzbeauftragte:r: reads the logs of emergency access
    STATE = "state"  # Land NRW (ministry, Kompetenzzentrum für Integration): statewide figures


class User(UserMixin, db.Model):
    """A person who logs in, employed by one organisation and perhaps in one of its teams.

    The full-time equivalent (FTE, 0.10–1.00) of the post changes over time: ``fte_periods``
    hold each value with the day it takes effect; ``fte`` is the one valid today.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role", 20))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Part of every session id; a new value (logout, password change) ends all sessions.
    session_token: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # Two-factor login (TOTP, RFC 6238; issue 6 item 7): the shared secret (encrypted), when it
    # was confirmed, and the last time step used (a code is accepted once only).
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    # Loaded with the user of a request (``kimdb.auth.service.load_user``): whether emergency
    # accesses to the user's cases wait for their acknowledgement (issue 5 item 7), so that a
    # page needs no query of its own for the notice when none do; None when not loaded.
    unseen_emergency_access: Mapped[bool | None] = query_expression()
    # Loaded with the user of a request too: whether they substitute a colleague today (R7),
    # so that a case manager who substitutes no one needs no query of substitutions per page
    # (``kimdb.auth.policy.substituted_owner_ids``); None when not loaded.
    substitutes: Mapped[bool | None] = query_expression()

    organisation: Mapped[Organisation] = relationship()
    team: Mapped[Team | None] = relationship()
    fte_periods: Mapped[list[FtePeriod]] = relationship(
        back_populates="user",
        order_by="FtePeriod.valid_from",
        cascade="all, delete-orphan",
        foreign_keys="FtePeriod.user_id",
    )
    supervisions: Mapped[list[Supervision]] = relationship(
        back_populates="supervisor",
        cascade="all, delete-orphan",
        foreign_keys="Supervision.supervisor_id",
    )

    def fte_on(self, day: dt.date) -> Decimal:
        """Return the FTE valid on ``day`` (see ``kimdb.caseload.rules.fte_on``)."""
        from kimdb.caseload.rules import fte_on

        # Sorted here too: a period appended in this session is not in order yet.
        return fte_on(sorted((p.valid_from, p.fte) for p in self.fte_periods), day)

    @property
    def fte(self) -> Decimal:
        """The FTE valid today (full-time equivalents)."""
        return self.fte_on(today())

    @fte.setter
    def fte(self, value: Decimal) -> None:
        """Let ``value`` take effect today (replacing a change already recorded for today)."""
        self.set_fte(Decimal(value), today())

    def set_fte(self, value: Decimal, valid_from: dt.date) -> None:
        """Record that the FTE is ``value`` from ``valid_from`` on; an entry for the same day is
        replaced. Checks belong to the caller (``kimdb.auth.admin.check_fte``)."""
        for period in self.fte_periods:
            if period.valid_from == valid_from:
                period.fte = value
                return
        self.fte_periods.append(FtePeriod(fte=value, valid_from=valid_from))

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated users cannot log in
        """True while the account is enabled."""
        return self.active

    def get_id(self) -> str:
        """Return the session id for Flask-Login: the user id and the current session token.

        Logging out rotates the token, which ends every session of the user, also a copied
        cookie (sessions are signed cookies, so they cannot be revoked one by one).
        """
        return f"{self.id}:{self.session_token}"


class FtePeriod(db.Model):
    """``user``'s FTE from ``valid_from`` until the next period begins (issue 5 item 3)."""

    __tablename__ = "fte_periods"
    __table_args__ = (
        CheckConstraint("fte >= 0.1 AND fte <= 1.0", name="fte_range"),
        UniqueConstraint("user_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    fte: Mapped[Decimal] = mapped_column(Numeric(3, 2))
    valid_from: Mapped[dt.date] = mapped_column(Date)

    user: Mapped[User] = relationship(back_populates="fte_periods", foreign_keys=[user_id])


class Supervision(db.Model):
    """A supervisor supervises a whole organisation or one team of it (issue 5 item 1).

    Exactly one of ``organisation_id`` and ``team_id`` is set.
    """

    __tablename__ = "supervisions"
    __table_args__ = (
        CheckConstraint(
            "(organisation_id IS NULL) <> (team_id IS NULL)", name="organisation_or_team"
        ),
        UniqueConstraint("supervisor_id", "organisation_id", "team_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))

    supervisor: Mapped[User] = relationship(
        back_populates="supervisions", foreign_keys=[supervisor_id]
    )
    organisation: Mapped[Organisation | None] = relationship()
    team: Mapped[Team | None] = relationship()
