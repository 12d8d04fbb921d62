"""Use cases of users: authenticate, create users. Passwords are hashed with Argon2id."""

from __future__ import annotations

import hmac
import secrets
from decimal import Decimal

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from kimdb.auth.models import Role, Supervision, User
from kimdb.extensions import db, transaction
from kimdb.orgs.models import Organisation
from kimdb.timeutil import now

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
    Rehashes the password when the Argon2 parameters have been raised.
    """
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    stored = user.password_hash if user else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    with transaction():
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.last_login_at = now()
    return user


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


def load_user(session_id: str) -> User | None:
    """Return the user of a Flask-Login session id (``id:session-token``), else None."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or int(user_id) > 2**31 - 1:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not hmac.compare_digest(user.session_token, token):
        return None  # a deactivated user is logged out at the next request
    return user


def end_sessions(user: User) -> None:
    """End every session of ``user`` (logout): the session token changes."""
    with transaction():
        user.session_token = secrets.token_hex(16)
