"""Use cases of clients: register a client together with the signed consent (R1)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from kimdb.auth import policy
from kimdb.auth.models import User
from kimdb.clients.models import Client, Gender, ResidenceStatus
from kimdb.consent import rules as consent_rules
from kimdb.consent.models import Consent, ConsentExchange
from kimdb.consent.storage import ScanStorage
from kimdb.extensions import db, transaction
from kimdb.orgs.service import find_or_add_partner, partners_of
from kimdb.timeutil import today


@dataclass(frozen=True)
class ConsentInput:
    """The consent as entered: form version and language, date signed, scopes, the scan."""

    form_version: str
    form_language: str
    signed_on: dt.date
    processing_agreed: bool
    exchange_partners: list[str]
    scan: bytes
    exchange_partner_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ClientInput:
    """The client's personal data as entered."""

    given_name: str
    family_name: str
    date_of_birth: dt.date
    gender: Gender
    country_of_origin: str
    residence_status: ResidenceStatus
    languages: list[str] = field(default_factory=list)
    phone: str | None = None
    email: str | None = None


def storage() -> ScanStorage:
    """Return the scan storage of the running app (``KIMDB_STORAGE_DIR``)."""
    return ScanStorage(current_app.config["STORAGE_DIR"])


def register_client(consent: ConsentInput, person: ClientInput, by: User) -> Client:
    """Store a consent and its client in one transaction and return the client.

    The exchange scope names partners of the organisation's directory (``exchange_partner_ids``)
    and new agencies (``exchange_partners``, added to the directory). The scan is checked by its
    content (PDF, JPEG, PNG) and size (``KIMDB_MAX_UPLOAD_MB``),
    the signing date must not be in the future, and "processing in kimdb" must be agreed.
    Raises ConsentRefused before anything is written; if the database write fails, the
    encrypted scan already written to the storage is removed again. Source: R1, FAQ Q34.
    """
    consent_rules.check_processing_agreed(consent.processing_agreed)
    consent_rules.check_signed_on(consent.signed_on, today())
    consent_rules.check_scan_size(len(consent.scan), current_app.config["MAX_UPLOAD_MB"])
    media_type = consent_rules.scan_type(consent.scan)

    files = storage()
    scan_key = files.put(consent.scan)
    try:
        with transaction() as session:
            record = Consent(
                form_version=consent.form_version,
                form_language=consent.form_language,
                signed_on=consent.signed_on,
                processing_agreed=True,
                scan_key=scan_key,
                scan_media_type=media_type.value,
                scan_size=len(consent.scan),
                recorded_by_id=by.id,
            )
            partners = {p.id: p for p in partners_of(by.organisation_id)}
            chosen = [partners[i] for i in consent.exchange_partner_ids if i in partners]
            chosen += [
                find_or_add_partner(by.organisation_id, n) for n in consent.exchange_partners
            ]
            for partner in {p.id: p for p in chosen}.values():
                record.exchanges.append(ConsentExchange(partner=partner))
            client = Client(
                consent=record,
                organisation_id=by.organisation_id,
                given_name=person.given_name.strip(),
                family_name=person.family_name.strip(),
                date_of_birth=person.date_of_birth,
                gender=person.gender,
                country_of_origin=person.country_of_origin,
                languages=",".join(person.languages),
                residence_status=person.residence_status,
                phone=(person.phone or "").strip() or None,
                email=(person.email or "").strip() or None,
                registered_by_id=by.id,
            )
            client.refresh_search_index()
            session.add(client)
    except BaseException:
        files.delete(scan_key)
        raise
    return client


def visible_clients(user: User) -> Select:
    """Return a query of the clients ``user`` may see, newest registration first (R8)."""
    return (
        select(Client)
        .where(policy.client_visible(user))
        .order_by(Client.registered_at.desc(), Client.id.desc())
    )


def get_client(user: User, client_id: int) -> Client | None:
    """Return the client ``client_id`` if ``user`` may see it, else None (R8)."""
    return db.session.scalar(
        select(Client)
        .where(Client.id == client_id, policy.client_visible(user))
        .options(
            joinedload(Client.consent)
            .selectinload(Consent.exchanges)
            .joinedload(ConsentExchange.partner)
        )
    )


def read_scan(consent: Consent) -> bytes:
    """Return the decrypted scan of ``consent``."""
    return storage().get(consent.scan_key)
