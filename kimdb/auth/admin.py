"""Fachadministration: user accounts of the administrator's municipality (issue 5, item 8).

An administrator creates, edits, deactivates and reactivates the accounts of every organisation
of their own municipality (Kreis or kreisfreie Stadt), and sets initial passwords. The rules are
the small functions at the top, over plain values (no Flask, no session); the use cases below
load, call the rules and write in one transaction each.

Decisions documented here:
- User names are unique regardless of case: they are stored in lower case (the login lowers
  what is typed, ``kimdb.auth.service.authenticate``), letters a–z, digits and ``. _ - @``.
- An administrator can neither deactivate nor demote themself, so a municipality always keeps
  the administrator who is acting; other administrators can be changed.
- A person who still owns open cases keeps role and organisation until a supervisor has
  reassigned the cases: otherwise the cases would drop out of their organisation's caseload
  table (``kimdb.caseload.service.organisation_caseloads`` lists case managers of the
  organisation). Deactivating them is allowed: the table keeps listing them, tagged
  "deaktiviert", while they hold open cases.
- Setting a password or deactivating an account ends every session of the account (a new
  session token, as ``kimdb.auth.service.end_sessions``), so a reactivated account does not
  revive an old cookie either.
- Administrators see no client data (R8): per account only the number of open cases.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from kimdb.auth.models import Role, Supervision, User
from kimdb.auth.service import MIN_PASSWORD_LENGTH, hash_password
from kimdb.cases.models import Case
from kimdb.cases.rules import Stage
from kimdb.extensions import db, transaction
from kimdb.orgs.models import Organisation
from kimdb.rules import RuleViolation

USERNAME_MAX = 80  # characters, the column's length
DISPLAY_NAME_MAX = 120  # characters, the column's length
PASSWORD_MAX = 200  # characters; Argon2 hashes any length, this bounds the work per request
FTE_MIN = Decimal("0.10")
FTE_MAX = Decimal("1.00")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]*")
_FTE = re.compile(r"\d{1,3}(?:[.,]\d+)?")
_TAKEN = _l("Dieser Benutzername ist bereits vergeben.")


class AccountRefused(RuleViolation):
    """A user account cannot be created or changed as asked; the message says why."""


# -- rules ------------------------------------------------------------------------------------
def clean_username(username: str | None) -> str:
    """Return ``username`` trimmed and in lower case; raise AccountRefused (field ``username``)
    if it is empty, longer than 80 characters or holds other characters than a–z, 0–9 and
    ``. _ - @``."""
    name = (username or "").strip().lower()
    if not name:
        raise AccountRefused(_l("Bitte einen Benutzernamen angeben."), field="username")
    if len(name) > USERNAME_MAX:
        raise AccountRefused(
            _l("Der Benutzername darf höchstens %(max)d Zeichen haben.", max=USERNAME_MAX),
            field="username",
        )
    if not _USERNAME.fullmatch(name):
        raise AccountRefused(
            _l(
                "Der Benutzername darf nur Buchstaben a–z, Ziffern und . _ - @ enthalten "
                "(keine Umlaute, keine Leerzeichen)."
            ),
            field="username",
        )
    return name


def check_username_free(holder_id: int | None, account_id: int | None = None) -> None:
    """Raise AccountRefused (field ``username``) if the user name is held by another account.

    ``holder_id`` is the id of the account holding the name (None if nobody does);
    ``account_id`` the account being edited (None when creating one).
    """
    if holder_id is not None and holder_id != account_id:
        raise AccountRefused(_TAKEN, field="username")


def clean_display_name(display_name: str | None) -> str:
    """Return the name shown in kimdb, inner spaces collapsed; raise AccountRefused (field
    ``display_name``) if it is empty or longer than 120 characters."""
    name = " ".join((display_name or "").split())
    if not name:
        raise AccountRefused(_l("Bitte den Namen angeben."), field="display_name")
    if len(name) > DISPLAY_NAME_MAX:
        raise AccountRefused(
            _l("Der Name darf höchstens %(max)d Zeichen haben.", max=DISPLAY_NAME_MAX),
            field="display_name",
        )
    return name


def parse_role(value: Role | str | None) -> Role:
    """Return the role named by ``value`` (a ``Role`` or its code); raise AccountRefused (field
    ``role``) for anything else."""
    try:
        return Role(value)
    except ValueError:
        raise AccountRefused(
            _l("Bitte eine der angebotenen Rollen wählen."), field="role"
        ) from None


def parse_fte(text: str | None) -> Decimal:
    """Return the full-time equivalent typed as ``text``: German decimal comma or point
    ("0,5", "0.75", "1"). Raise AccountRefused (field ``fte``) if it is not such a number or
    not a valid FTE (see ``check_fte``)."""
    value = (text or "").strip()
    if not _FTE.fullmatch(value):
        raise AccountRefused(
            _l("Bitte den Stellenumfang als Zahl angeben, z. B. 0,5 oder 1,0."), field="fte"
        )
    fte = Decimal(value.replace(",", "."))
    check_fte(fte)
    return fte


def check_fte(fte: Decimal | None) -> None:
    """Raise AccountRefused (field ``fte``) unless ``fte`` lies within 0.10–1.00 full-time
    equivalents with at most two decimals (the ``users.fte`` column, DESIGN.md §2 "VZÄ")."""
    if fte is None or not fte.is_finite() or not FTE_MIN <= fte <= FTE_MAX:
        raise AccountRefused(
            _l("Der Stellenumfang muss zwischen 0,10 und 1,00 VZÄ liegen (z. B. 0,5)."),
            field="fte",
        )
    if fte != fte.quantize(Decimal("0.01")):
        raise AccountRefused(
            _l("Bitte den Stellenumfang mit höchstens zwei Nachkommastellen angeben."),
            field="fte",
        )


def check_password(password: str | None, field: str = "password") -> None:
    """Raise AccountRefused (at ``field``) if ``password`` is shorter than
    MIN_PASSWORD_LENGTH or longer than PASSWORD_MAX characters."""
    length = len(password or "")
    if length < MIN_PASSWORD_LENGTH:
        raise AccountRefused(
            _l(
                "Das Passwort muss mindestens %(min)d Zeichen lang sein.",
                min=MIN_PASSWORD_LENGTH,
            ),
            field=field,
        )
    if length > PASSWORD_MAX:
        raise AccountRefused(
            _l("Das Passwort darf höchstens %(max)d Zeichen lang sein.", max=PASSWORD_MAX),
            field=field,
        )


def check_in_municipality(
    organisation_municipality_id: int | None, admin_municipality_id: int
) -> None:
    """Raise AccountRefused (field ``organisation_id``) unless the chosen organisation exists
    (``organisation_municipality_id`` is not None) and lies in the administrator's
    municipality."""
    if organisation_municipality_id != admin_municipality_id:
        raise AccountRefused(
            _l("Bitte eine Organisation Ihres Kreises bzw. Ihrer Stadt wählen."),
            field="organisation_id",
        )


def check_not_self_demotion(admin_id: int, account_id: int, role: Role) -> None:
    """Raise AccountRefused (field ``role``) if an administrator takes their own admin role."""
    if admin_id == account_id and role is not Role.ADMIN:
        raise AccountRefused(
            _l(
                "Sie können sich nicht selbst die Rolle Fachadministration entziehen. "
                "Bitten Sie eine andere Person der Fachadministration darum."
            ),
            field="role",
        )


def check_not_self_deactivation(admin_id: int, account_id: int) -> None:
    """Raise AccountRefused (for the whole form) if an administrator deactivates themself."""
    if admin_id == account_id:
        raise AccountRefused(
            _l(
                "Sie können Ihr eigenes Konto nicht deaktivieren. "
                "Bitten Sie eine andere Person der Fachadministration darum."
            )
        )


def check_open_cases_keep_their_place(
    open_cases: int,
    role: Role,
    new_role: Role,
    organisation_id: int,
    new_organisation_id: int,
) -> None:
    """Raise AccountRefused if a person with ``open_cases`` open cases would leave the case
    manager role or their organisation: the cases would drop out of the organisation's
    caseload table (R5, R7). A supervisor reassigns them first."""
    if open_cases == 0:
        return
    if role is Role.CASE_MANAGER and new_role is not Role.CASE_MANAGER:
        raise AccountRefused(
            _l(
                "Offene Fälle dieser Person: %(num)d. Die Rolle kann erst geändert werden, "
                "wenn die Koordination alle neu zugewiesen hat.",
                num=open_cases,
            ),
            field="role",
        )
    if organisation_id != new_organisation_id:
        raise AccountRefused(
            _l(
                "Offene Fälle dieser Person: %(num)d. Die Organisation kann erst gewechselt "
                "werden, wenn die Koordination alle neu zugewiesen hat.",
                num=open_cases,
            ),
            field="organisation_id",
        )


# -- reading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountRow:
    """One line of the administrator's user list: the account and its open cases (a count)."""

    user: User
    open_cases: int


def _open_case():
    """A SQL condition on ``Case``: the case is open (not closed, R5)."""
    return Case.stage != Stage.CLOSED


def _open_case_counts():
    """A subquery: open cases per owner (``owner_id``, ``open_cases``); counts only (R8)."""
    return (
        select(Case.owner_id, func.count(Case.id).label("open_cases"))
        .where(_open_case())
        .group_by(Case.owner_id)
        .subquery()
    )


def _municipality_id(admin: User) -> int:
    return admin.organisation.municipality_id


def users_of(admin: User) -> list[AccountRow]:
    """Return the accounts of every organisation in ``admin``'s municipality with their number
    of open cases, sorted by organisation and name. One query (open cases grouped by owner)."""
    counts = _open_case_counts()
    rows = db.session.execute(
        select(User, func.coalesce(counts.c.open_cases, 0))
        .join(User.organisation)
        .outerjoin(counts, counts.c.owner_id == User.id)
        .where(Organisation.municipality_id == _municipality_id(admin))
        .options(contains_eager(User.organisation))
        .order_by(Organisation.name, User.display_name, User.id)
    ).all()
    return [AccountRow(user=u, open_cases=int(n)) for u, n in rows]


def open_case_count(user: User) -> int:
    """Return how many open cases ``user`` owns (a count only, R8)."""
    return db.session.scalar(
        select(func.count(Case.id)).where(Case.owner_id == user.id, _open_case())
    )


def managed_user(admin: User, user_id: int) -> User | None:
    """Return the account ``user_id`` if it belongs to ``admin``'s municipality, else None."""
    user = db.session.get(User, user_id)
    if user is None or user.organisation.municipality_id != _municipality_id(admin):
        return None
    return user


def organisations_of(admin: User) -> list[Organisation]:
    """Return the organisations of ``admin``'s municipality, sorted by name."""
    return list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.municipality_id == _municipality_id(admin))
            .order_by(Organisation.name)
        )
    )


def _organisation_in_municipality(admin: User, organisation_id: int | None) -> Organisation:
    known = organisation_id is not None and 0 < organisation_id < 2**31
    organisation = db.session.get(Organisation, organisation_id) if known else None
    check_in_municipality(
        organisation.municipality_id if organisation else None, _municipality_id(admin)
    )
    return organisation


def _check_manages(admin: User, user: User) -> None:
    check_in_municipality(user.organisation.municipality_id, _municipality_id(admin))


def _holder_of(username: str) -> int | None:
    return db.session.scalar(select(User.id).where(User.username == username))


def _new_session_token() -> str:
    # The same as kimdb.auth.service.end_sessions, but inside the caller's transaction.
    return secrets.token_hex(16)


# -- use cases --------------------------------------------------------------------------------
def create_user_account(
    admin: User,
    *,
    username: str,
    display_name: str,
    role: Role | str,
    organisation_id: int | None,
    fte: Decimal | None,
    password: str,
    active: bool = True,
) -> User:
    """Create and return an account in an organisation of ``admin``'s municipality.

    ``fte`` in full-time equivalents (0.10–1.00); ``password`` the initial password (at least
    MIN_PASSWORD_LENGTH characters). Raises AccountRefused for a user name that is malformed or
    taken (case-insensitive), an unknown role, an organisation outside the municipality, an
    FTE out of range or a short password; nothing is written then.
    """
    username = clean_username(username)
    check_username_free(_holder_of(username))
    display_name = clean_display_name(display_name)
    role = parse_role(role)
    organisation = _organisation_in_municipality(admin, organisation_id)
    check_fte(fte)
    check_password(password)
    password_hash = hash_password(password)
    try:
        with transaction() as session:
            user = User(
                username=username,
                display_name=display_name,
                role=role,
                organisation=organisation,
                fte=fte,
                active=active,
                password_hash=password_hash,
                session_token=_new_session_token(),
            )
            if role is Role.SUPERVISOR:  # supervises their organisation until told otherwise
                user.supervisions.append(Supervision(organisation=organisation))
            session.add(user)
            session.flush()
    except IntegrityError as exc:  # the same name taken at the same moment
        raise AccountRefused(_TAKEN, field="username") from exc
    return user


def update_user_account(
    admin: User,
    user: User,
    *,
    username: str,
    display_name: str,
    role: Role | str,
    organisation_id: int | None,
    fte: Decimal | None,
) -> User:
    """Change an account of ``admin``'s municipality: user name, name, role, organisation, FTE.

    Raises AccountRefused as ``create_user_account`` does, and when an administrator would
    take their own admin role, or a person with open cases would change role or
    organisation before the cases are reassigned; nothing is written then.
    """
    _check_manages(admin, user)
    username = clean_username(username)
    check_username_free(_holder_of(username), user.id)
    display_name = clean_display_name(display_name)
    role = parse_role(role)
    check_not_self_demotion(admin.id, user.id, role)
    organisation = _organisation_in_municipality(admin, organisation_id)
    check_fte(fte)
    check_open_cases_keep_their_place(
        open_case_count(user), user.role, role, user.organisation_id, organisation.id
    )
    try:
        with transaction():
            user.username = username
            user.display_name = display_name
            user.role = role
            user.organisation = organisation
            user.fte = fte
            if role is Role.SUPERVISOR and not user.supervisions:
                user.supervisions.append(Supervision(organisation=organisation))
    except IntegrityError as exc:
        raise AccountRefused(_TAKEN, field="username") from exc
    return user


def set_password(admin: User, user: User, password: str) -> None:
    """Give ``user`` a new initial password and end all their sessions (also ``admin``'s own
    when they set their own password). Raises AccountRefused for a password shorter than
    MIN_PASSWORD_LENGTH characters (field ``password``)."""
    _check_manages(admin, user)
    check_password(password)
    password_hash = hash_password(password)
    with transaction():
        user.password_hash = password_hash
        user.session_token = _new_session_token()


def deactivate(admin: User, user: User) -> None:
    """Deactivate ``user``: they cannot log in, and their sessions end at the next request.

    Their open cases stay with them and show on the supervisor's caseload table until
    reassigned. Raises AccountRefused if ``admin`` deactivates themself.
    """
    _check_manages(admin, user)
    check_not_self_deactivation(admin.id, user.id)
    with transaction():
        user.active = False
        user.session_token = _new_session_token()


def reactivate(admin: User, user: User) -> None:
    """Let ``user`` log in again (with the password they had)."""
    _check_manages(admin, user)
    with transaction():
        user.active = True
