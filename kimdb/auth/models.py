"""Users of kimdb: case managers, supervisors and administrators."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kimdb.extensions import db, enum_column
from kimdb.orgs.models import Organisation


class Role(StrEnum):
    """What a user does in kimdb (DESIGN.md §1)."""

    CASE_MANAGER = "case_manager"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class User(UserMixin, db.Model):
    """A person who logs in. ``fte`` is the full-time equivalent of the post (0.10–1.00)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("fte >= 0.1 AND fte <= 1.0", name="fte_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role", 20))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    fte: Mapped[Decimal] = mapped_column(Numeric(3, 2), default=Decimal("1.00"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Part of every session id; a new value (logout, password change) ends all sessions.
    session_token: Mapped[str] = mapped_column(String(32), default="", server_default="")

    organisation: Mapped[Organisation] = relationship()

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
