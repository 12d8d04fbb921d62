"""Clients (Klient:innen): the people counselled. Personal fields are encrypted at rest."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kimdb.auth.models import User
from kimdb.clients.phonetics import phonetic_key
from kimdb.clients.rules import normalise_date, normalise_name
from kimdb.consent.models import Consent
from kimdb.crypto import EncryptedDate, EncryptedText, blind_index
from kimdb.extensions import db, enum_column
from kimdb.orgs.models import Organisation


class Gender(StrEnum):
    """Gender as recorded on registration (Personenstandsgesetz categories plus no answer)."""

    FEMALE = "female"
    MALE = "male"
    DIVERSE = "diverse"
    NOT_STATED = "not_stated"


class ResidenceStatus(StrEnum):
    """Residence status (Aufenthaltsstatus), coarse categories for counselling and statistics."""

    GERMAN = "german"
    EU = "eu"
    SETTLEMENT = "settlement"  # Niederlassungserlaubnis / Daueraufenthalt-EU
    RESIDENCE_PERMIT = "residence_permit"  # Aufenthaltserlaubnis
    TEMPORARY_PROTECTION = "temporary_protection"  # § 24 AufenthG
    ASYLUM_PENDING = "asylum_pending"  # Aufenthaltsgestattung
    TOLERATED = "tolerated"  # Duldung
    OTHER = "other"
    UNKNOWN = "unknown"


class Client(db.Model):
    """One person counselled. Exists only with its consent (R1): ``consent_id`` is NOT NULL.

    Names, date of birth and contact data are AES-GCM ciphertext in the database
    (``kimdb.crypto``); gender, country (ISO 3166 alpha-2), languages (ISO 639-1 codes,
    comma-separated) and residence status are category codes for counting.
    """

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), unique=True, nullable=False)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # None only after erasure (consent withdrawn, retention, R2): ``erased_at`` is set then.
    given_name: Mapped[str | None] = mapped_column(EncryptedText)
    family_name: Mapped[str | None] = mapped_column(EncryptedText)
    date_of_birth: Mapped[dt.date | None] = mapped_column(EncryptedDate)
    gender: Mapped[Gender] = mapped_column(enum_column(Gender, "gender", 20))
    country_of_origin: Mapped[str] = mapped_column(String(2))
    languages: Mapped[str] = mapped_column(String(200), default="")
    residence_status: Mapped[ResidenceStatus] = mapped_column(
        enum_column(ResidenceStatus, "residence_status", 30)
    )
    # Blind indexes (keyed HMAC of the normalised value) for exact search without decrypting.
    family_name_index: Mapped[str | None] = mapped_column(String(64), index=True)
    given_name_index: Mapped[str | None] = mapped_column(String(64), index=True)
    date_of_birth_index: Mapped[str | None] = mapped_column(String(64), index=True)
    # Keyed hashes of the Kölner Phonetik codes of the names (duplicate check, issue 6 item 2).
    family_name_phonetic: Mapped[str | None] = mapped_column(String(64), index=True)
    given_name_phonetic: Mapped[str | None] = mapped_column(String(64), index=True)
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The year of birth in plain figures, for age groups in the statistics (issue 7), which
    # are computed in SQL; it stays after erasure as part of the anonymous remainder.
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    email: Mapped[str | None] = mapped_column(EncryptedText)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    registered_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    consent: Mapped[Consent] = relationship()
    organisation: Mapped[Organisation] = relationship()
    registered_by: Mapped[User] = relationship()

    def refresh_search_index(self) -> None:
        """Recompute the blind indexes from the (decrypted) name and date of birth.

        Exact indexes: keyed hash of the normalised name and of the ISO date. Phonetic indexes:
        keyed hash of ``"phon:"`` + the Kölner Phonetik code of each name (issue 6 item 2,
        ``kimdb.clients.phonetics``). A missing value (erased, R2) or a name without a code
        gets no index (None). Raises CryptoError if the blind-index key is not configured.
        """

        def hashed(text: str | None) -> str | None:
            return None if text is None else blind_index(text)

        def name_index(name: str | None) -> str | None:
            return None if name is None else blind_index(normalise_name(name))

        self.family_name_index = name_index(self.family_name)
        self.given_name_index = name_index(self.given_name)
        self.date_of_birth_index = hashed(
            None if self.date_of_birth is None else normalise_date(self.date_of_birth)
        )
        if self.date_of_birth is not None:  # kept when the date itself is erased
            self.birth_year = self.date_of_birth.year
        self.family_name_phonetic = hashed(phonetic_key(self.family_name))
        self.given_name_phonetic = hashed(phonetic_key(self.given_name))

    @property
    def full_name(self) -> str:
        """Family name, given name — the order case managers file by; for an erased client
        the German marker "[Daten gelöscht]" (R2), so pages of their cases still render."""
        return client_full_name(self.family_name, self.given_name, self.erased_at)

    @property
    def is_erased(self) -> bool:
        """True once the personal data were erased (withdrawal or retention, R2)."""
        return self.erased_at is not None

    @property
    def language_codes(self) -> list[str]:
        """The languages as a list of ISO 639-1 codes."""
        return [c for c in self.languages.split(",") if c]


def client_full_name(
    family_name: str | None, given_name: str | None, erased_at: dt.datetime | None
) -> str:
    """Return "Family, Given" — the order case managers file by — or, for a client whose data
    were erased (``erased_at`` set, or no family name), the marker "[Daten gelöscht]" in the
    UI language (R2). ``Client.full_name``, for query rows that are not Client objects."""
    if erased_at is not None or family_name is None:
        from flask_babel import gettext

        return gettext("[Daten gelöscht]")
    return f"{family_name}, {given_name}"
