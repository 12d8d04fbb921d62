"""Use cases of clients: register a client together with the signed consent (R1)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import Select, and_, func, or_, select, union
from sqlalchemy.orm import joinedload

from kimdb.auth import policy
from kimdb.auth.models import User
from kimdb.clients.models import Client, Gender, ResidenceStatus
from kimdb.clients.phonetics import phonetic_key
from kimdb.clients.rules import normalise_date, normalise_name
from kimdb.consent import rules as consent_rules
from kimdb.consent.models import Consent, ConsentExchange
from kimdb.consent.storage import ScanStorage
from kimdb.crypto import CryptoError, blind_index
from kimdb.extensions import db, transaction
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs.models import Organisation
from kimdb.orgs.service import find_or_add_partner, partners_of
from kimdb.rules import RuleViolation, page_window
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


def register_client(
    consent: ConsentInput, person: ClientInput, by: User, *, check_duplicates: bool = False
) -> Client:
    """Store a consent and its client in one transaction and return the client.

    The exchange scope names partners of the organisation's directory (``exchange_partner_ids``)
    and new agencies (``exchange_partners``, added to the directory). The scan is checked by its
    content (PDF, JPEG, PNG) and size (``KIMDB_MAX_UPLOAD_MB``),
    the signing date must not be in the future, and "processing in kimdb" must be agreed.
    Raises ConsentRefused before anything is written; if the database write fails, the
    encrypted scan already written to the storage is removed again. Source: R1, FAQ Q34.

    With ``check_duplicates`` (the registration form, until the case manager confirms "another
    person"), raises DuplicateSuspected, writing nothing, if ``possible_duplicates`` finds a
    client of the organisation who may be the same person (issue 6 item 2).
    """
    consent_rules.check_processing_agreed(consent.processing_agreed)
    consent_rules.check_signed_on(consent.signed_on, today())
    consent_rules.check_scan_size(len(consent.scan), current_app.config["MAX_UPLOAD_MB"])
    media_type = consent_rules.scan_type(consent.scan)
    if check_duplicates:
        matches = possible_duplicates(person, by)
        if matches:
            raise DuplicateSuspected(matches)

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


# -- duplicate check on registration (issue 6 item 2) ----------------------------------------
class DuplicateSuspected(RuleViolation):
    """The person to be registered may already be a client of the organisation.

    ``matches`` is the list of PossibleDuplicate the form shows; nothing was written.
    """

    def __init__(self, matches: list[PossibleDuplicate]) -> None:
        super().__init__(
            _l(
                "Diese Person ist möglicherweise schon aufgenommen. Bitte prüfen Sie die "
                "Hinweise unten, bevor Sie speichern."
            )
        )
        self.matches = matches


@dataclass(frozen=True)
class PossibleDuplicate:
    """A client who may be the person being registered.

    ``same_name``: the normalised names are equal (else they only sound alike, Kölner
    Phonetik). ``name`` ("Family, Given") is set only if the user may see the client (R8,
    ``policy.client_visible``); ``case_number`` is the client's newest case (an open one first)
    or None; ``case_manager`` is that case's owner, or whoever registered the client if no case
    exists; ``organisation`` is the client's organisation.
    """

    client_id: int
    same_name: bool
    visible: bool
    name: str | None
    case_number: str | None
    case_manager: str
    organisation: str


MAX_DUPLICATES_SHOWN = 20


def possible_duplicates(person: ClientInput, by: User) -> list[PossibleDuplicate]:
    """Return the clients of ``by``'s organisation who may be ``person``, oldest first.

    A client matches with the same date of birth and (a) the same normalised family and given
    name, or (b) family and given names that both sound alike (equal Kölner Phonetik codes),
    also with given and family name swapped. Only the blind and phonetic indexes are compared
    (keyed hashes): no row is decrypted to search; names are decrypted only for the matches the
    user may see. Erased clients (R2) never match. At most MAX_DUPLICATES_SHOWN are returned.
    Source: issue 6 item 2; DESIGN.md §4, R8.
    """
    from kimdb.cases.models import Case, case_number

    def hashed(text: str | None) -> str | None:
        return None if text is None else blind_index(text)

    family = blind_index(normalise_name(person.family_name))
    given = blind_index(normalise_name(person.given_name))
    same_names = or_(
        and_(Client.family_name_index == family, Client.given_name_index == given),
        and_(Client.family_name_index == given, Client.given_name_index == family),
    )
    alike = [same_names]
    family_sound = hashed(phonetic_key(person.family_name))
    given_sound = hashed(phonetic_key(person.given_name))
    if family_sound and given_sound:
        alike += [
            and_(
                Client.family_name_phonetic == family_sound,
                Client.given_name_phonetic == given_sound,
            ),
            and_(
                Client.family_name_phonetic == given_sound,
                Client.given_name_phonetic == family_sound,
            ),
        ]
    registrant = User.__table__.alias("registrant")
    rows = db.session.execute(
        select(
            Client.id, same_names.label("same_name"), registrant.c.display_name, Organisation.name
        )
        .join(registrant, registrant.c.id == Client.registered_by_id)
        .join(Organisation, Organisation.id == Client.organisation_id)
        .where(
            Client.organisation_id == by.organisation_id,
            Client.erased_at.is_(None),
            Client.date_of_birth_index == blind_index(normalise_date(person.date_of_birth)),
            or_(*alike),
        )
        .order_by(Client.id)
        .limit(MAX_DUPLICATES_SHOWN)
    ).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    visible = set(
        db.session.scalars(
            select(Client.id).where(Client.id.in_(ids), policy.client_visible(by))
        ).all()
    )
    names = {
        row.id: f"{row.family_name}, {row.given_name}"
        for row in db.session.execute(
            select(Client.id, Client.family_name, Client.given_name).where(Client.id.in_(visible))
        )
    }
    newest_case: dict[int, tuple[str, str]] = {}
    cases = db.session.execute(
        select(Case.client_id, Case.id, Case.opened_on, Case.closed_on, User.display_name)
        .join(User, User.id == Case.owner_id)
        .where(Case.client_id.in_(ids))
        .order_by(Case.closed_on.is_not(None), Case.opened_on.desc(), Case.id.desc())
    )
    for case in cases:
        number = case_number(case.opened_on, case.id)
        newest_case.setdefault(case.client_id, (number, case.display_name))
    return [
        PossibleDuplicate(
            client_id=row.id,
            same_name=bool(row.same_name),
            visible=row.id in visible,
            name=names.get(row.id),
            case_number=newest_case.get(row.id, (None, None))[0],
            case_manager=newest_case.get(row.id, (None, row.display_name))[1],
            organisation=row.name,
        )
        for row in rows
    ]


# -- scans held for the confirmation round --------------------------------------------------
def held_scans() -> ScanStorage:
    """Return the storage of scans held while a registration waits for confirmation.

    ``KIMDB_STORAGE_DIR/pending``: encrypted like every scan, apart from the stored consents'
    scans, and emptied of files older than ``KIMDB_SESSION_IDLE_MINUTES`` (``hold_scan``).
    """
    return ScanStorage(str(Path(current_app.config["STORAGE_DIR"]) / "pending"))


def hold_scan(data: bytes) -> str:
    """Encrypt and keep ``data`` (a checked consent scan) for the next round of the form;
    return its key for the session. Files held longer than the idle-session time are removed
    first: the session naming them has expired, and a scan of a person not registered must not
    stay (GDPR Art. 5(1)(e))."""
    expire_held_scans()
    return held_scans().put(data)


def expire_held_scans() -> int:
    """Remove held scans (and leftovers of interrupted writes) older than the idle-session
    time, ``KIMDB_SESSION_IDLE_MINUTES``; return how many. Also run by ``flask kimdb purge``,
    so an abandoned registration's scan does not stay (GDPR Art. 5(1)(e))."""
    files = held_scans()
    limit = time.time() - 60 * current_app.config.get("SESSION_IDLE_MINUTES", 30)
    removed = 0
    for path in (files.root / "scans").glob("*/*"):
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                removed += 1
        except OSError:
            continue
    return removed


def held_scan(key: str) -> bytes | None:
    """Return the held scan under ``key``, or None if it is gone (expired) or unreadable."""
    try:
        return held_scans().get(key)
    except (FileNotFoundError, ValueError, CryptoError):
        return None


def release_scan(key: str) -> None:
    """Remove the held scan under ``key`` (registered, or the form was started afresh)."""
    held_scans().delete(key)


def visible_clients(user: User) -> Select:
    """Return a query of the clients ``user`` may see, newest registration first (R8).

    Erased clients (consent withdrawn or retention over, R2) are not listed.
    """
    from kimdb.cases.models import Case

    # The same clients as ``policy.client_visible``, written as a set of ids (clients of the
    # cases ``user`` may open, united with the clients ``user`` registered that ``policy``
    # lets them see): PostgreSQL then reads them through the cases' owner index and the
    # registrar index instead of testing every client of the state (issue 8 item 3).
    of_cases = select(Case.client_id).where(policy.case_visible(user))
    registered = select(Client.id).where(
        Client.registered_by_id == user.id, policy.client_visible(user)
    )
    return (
        select(Client)
        .where(Client.id.in_(union(of_cases, registered)), Client.erased_at.is_(None))
        .order_by(Client.registered_at.desc(), Client.id.desc())
    )


CLIENT_PAGE_SIZE = 50


@dataclass(frozen=True)
class ClientPage:
    """One page of a case manager's client list, newest registration first."""

    clients: list[Client]
    page: int
    pages: int
    total: int


def client_page(user: User, page: int = 1, page_size: int = CLIENT_PAGE_SIZE) -> ClientPage:
    """Return page ``page`` (1-based, clamped to the pages there are) of the clients ``user``
    may see (``visible_clients``), ``page_size`` a page. Two statements (count and page),
    however many clients five years of case work have left in the list (issue 8 item 5)."""
    query = visible_clients(user)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page, pages = page_window(total, page, page_size)
    clients = db.session.scalars(query.limit(page_size).offset((page - 1) * page_size)).all()
    return ClientPage(clients=list(clients), page=page, pages=pages, total=total)


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
