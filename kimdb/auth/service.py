"""Use cases of users: authenticate (password, then the two-factor code where needed), create
users, end sessions. Passwords are hashed with Argon2id."""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from decimal import Decimal

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, or_, select, update
from sqlalchemy.orm import with_expression

from kimdb.auth import policy, totp
from kimdb.auth.models import Role, Supervision, User
from kimdb.extensions import db, transaction
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs.models import Organisation
from kimdb.rules import RuleViolation
from kimdb.timeutil import now, today

# Argon2id with argon2-cffi's default parameters (RFC 9106 low-memory profile: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the user name is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("kimdb-no-such-user")


def use_password_parameters(parameters: Parameters) -> None:
    """Hash new passwords with Argon2 ``parameters`` (``argon2.profiles``) from now on.

    For test suites only, which use ``argon2.profiles.CHEAPEST`` to stay fast; existing hashes
    keep verifying, as each hash carries its own parameters.
    """
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher.from_parameters(parameters)
    _DUMMY_HASH = _hasher.hash("kimdb-no-such-user")


MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    """A user cannot be created as asked; the message says why (English, for operators)."""


def hash_password(password: str) -> str:
    """Return the Argon2id hash of ``password``."""
    return _hasher.hash(password)


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with ``username`` and ``password``, else None.

    Takes the same time whether or not the user exists, so a failed login does not reveal it.
    Rehashes the password when the Argon2 parameters have been raised. Does not record a
    login: the caller does, with ``record_login`` or, when a second step follows
    (``kimdb.auth.totp.second_step``), with ``confirm_login_code`` or ``confirm_enrolment``.
    """
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    stored = user.password_hash if user else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        with transaction():
            user.password_hash = _hasher.hash(password)
    return user


def record_login(user: User) -> None:
    """Record that ``user`` has logged in now (``last_login_at``), without a second step."""
    with transaction():
        user.last_login_at = now()


def pending_user(user_id: object, session_token: object) -> User | None:
    """Return the user whose password was correct (``user_id``, the ``session_token`` they
    had then), if they are still active and their sessions have not been ended since (logout
    elsewhere, password set, two-factor reset); else None."""
    if not isinstance(user_id, int) or not isinstance(session_token, str):
        return None
    if not 1 <= user_id <= 2**31 - 1:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(user.session_token, session_token):
        return None
    return user


class SecondFactorRefused(RuleViolation):
    """The two-factor login cannot be changed as asked; the message says why."""


def _claim_step(user: User, step: int, **values) -> None:
    """Store ``step`` as ``user``'s last used time step together with ``values``, inside the
    caller's transaction, unless a code of this or a later step was accepted meanwhile (two
    requests with the same code at once): then raise CodeRefused (replay). The check and the
    write are one UPDATE, so the database decides between concurrent requests."""
    result = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step, **values)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        raise totp.CodeRefused(_l("Dieser Code wurde bereits verwendet."), field="code")


def confirm_login_code(user: User, code: str | None, at: float | None = None) -> None:
    """Complete the login of ``user`` (password already correct) with the one-time ``code``
    of their authenticator app, typed at Unix time ``at`` (seconds; default now).

    Stores the code's time step and the login time in one transaction. Raises
    ``totp.CodeRefused`` (field ``code``) for a malformed or wrong code and for a code used
    before (issue 6 item 7; RFC 6238 §5.2); nothing is written then.
    """
    moment = now()
    step = totp.accepted_step(
        user.totp_secret or "", code, moment.timestamp() if at is None else at, user.totp_last_step
    )
    with transaction():
        _claim_step(user, step, last_login_at=moment)


def confirm_enrolment(
    user: User, secret: str, code: str | None, *, log_in: bool, at: float | None = None
) -> None:
    """Switch on the two-factor login of ``user`` with the new base32 ``secret``, once the
    first ``code`` their app shows for it is correct (typed at Unix time ``at``, default now).

    Stores the secret (encrypted), the time of enrolment and the code's time step; with
    ``log_in`` (enrolment during the login) also the login time, in the same transaction.
    Raises ``totp.CodeRefused`` (field ``code``) for a malformed or wrong code, and
    SecondFactorRefused if the user has an authenticator app already; nothing is written then.
    Source: issue 6 item 7.
    """
    if user.totp_enabled_at is not None:
        raise SecondFactorRefused(
            _l("Die Zwei-Faktor-Anmeldung ist für dieses Konto bereits eingerichtet.")
        )
    moment = now()
    step = totp.accepted_step(secret, code, moment.timestamp() if at is None else at, None)
    with transaction():
        user.totp_secret = secret
        user.totp_enabled_at = moment
        user.totp_last_step = step
        if log_in:
            user.last_login_at = moment


def disable_second_factor(
    user: User,
    password: str | None,
    code: str | None,
    required_roles: tuple[str, ...],
    at: float | None = None,
) -> None:
    """Switch off ``user``'s voluntary two-factor login; they confirm with their ``password``
    and a current ``code`` (typed at Unix time ``at``, default now).

    Raises SecondFactorRefused when the user's role requires the second factor
    (``required_roles``, TOTP_REQUIRED_ROLES) or nothing is switched on, or when the password
    is wrong (field ``password``); ``totp.CodeRefused`` (field ``code``) for a malformed,
    wrong or used code. Nothing is written then. Source: issue 6 item 7.
    """
    if not totp.may_disable(user.role, required_roles):
        raise SecondFactorRefused(
            _l("Für Ihre Rolle ist die Zwei-Faktor-Anmeldung vorgeschrieben.")
        )
    if user.totp_enabled_at is None or not user.totp_secret:
        raise SecondFactorRefused(_l("Die Zwei-Faktor-Anmeldung ist nicht eingerichtet."))
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        raise SecondFactorRefused(_l("Das Passwort stimmt nicht."), field="password") from None
    moment = now()
    step = totp.accepted_step(
        user.totp_secret, code, moment.timestamp() if at is None else at, user.totp_last_step
    )
    with transaction():
        _claim_step(user, step, totp_secret=None, totp_enabled_at=None)


def create_user(
    username: str,
    display_name: str,
    role: Role,
    organisation: Organisation,
    fte: Decimal,
    password: str,
) -> User:
    """Create and return a user. ``fte`` in full-time equivalents, 0.10–1.00.

    Raises UserError for a taken user name, an FTE out of range or a password shorter than
    MIN_PASSWORD_LENGTH characters.
    """
    username = username.strip().lower()
    if not username:
        raise UserError("user name must not be empty")
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise UserError(f"user name {username!r} is taken")
    if not Decimal("0.1") <= fte <= Decimal("1.0"):
        raise UserError("FTE must be between 0.1 and 1.0")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    with transaction() as session:
        user = User(
            username=username,
            display_name=display_name.strip() or username,
            role=role,
            organisation=organisation,
            fte=fte,
            password_hash=hash_password(password),
        )
        if role is Role.SUPERVISOR:  # a new supervisor supervises their organisation
            user.supervisions.append(Supervision(organisation=organisation))
        session.add(user)
    return user


@functools.lru_cache(maxsize=2)
def _request_user_query(day: dt.date) -> Select:
    """The statement of ``load_user`` on ``day``, built once a day: a statement built anew for
    every request (with its two subqueries) cost about 1 ms of Python per request to build and
    to compute its cache key (issue 8, measured). Parameter: ``user_id``. The day is part of
    the statement, not a parameter, because SQLAlchemy reuses the statement's options when it
    reloads the user later in the request (after a commit)."""
    from kimdb.emergency.service import unseen_by_owner

    return (
        select(User)
        .where(User.id == bindparam("user_id"))
        .options(
            with_expression(User.unseen_emergency_access, unseen_by_owner(User.id)),
            with_expression(User.substitutes, policy.substitutes_on(User.id, day)),
        )
    )


def load_user(session_id: str) -> User | None:
    """Return the user of a Flask-Login session id (``id:session-token``), else None.

    The same statement tells whether emergency accesses to the user's cases wait for their
    acknowledgement (``User.unseen_emergency_access``; the notice on every page, issue 5 item
    7) and whether the user substitutes a colleague today (``User.substitutes``, R7), which
    saves every page of a case manager up to two queries of their own (issue 8).
    """
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or int(user_id) > 2**31 - 1:
        return None
    day = today()
    user = db.session.scalars(_request_user_query(day), {"user_id": int(user_id)}).first()
    if user is not None and user.substitutes is not None:
        policy.note_user_loaded(day)
    if user is None or not user.active or not hmac.compare_digest(user.session_token, token):
        return None  # a deactivated user is logged out at the next request
    return user


def end_sessions(user: User) -> None:
    """End every session of ``user`` (logout): the session token changes."""
    with transaction():
        user.session_token = secrets.token_hex(16)
