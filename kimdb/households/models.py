"""A household (Bedarfsgemeinschaft) groups clients; membership is ``Client.household_id``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kimdb.auth.models import User
from kimdb.crypto import EncryptedText
from kimdb.extensions import db
from kimdb.orgs.models import Organisation


class Household(db.Model):
    """A Bedarfsgemeinschaft of clients of one organisation (FAQ KIM NRW Q33).

    ``label`` (e.g. "Familie Haddad") names people, so it is encrypted like every personal field.
    """

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    label: Mapped[str] = mapped_column(EncryptedText)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User] = relationship()
