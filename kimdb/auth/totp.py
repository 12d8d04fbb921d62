"""Rules of the two-factor login with time-based one-time passwords (TOTP, RFC 6238).

Plain functions over plain values (no Flask, no session): which login needs a second step,
whether a typed code is well-formed, which 30-second time step it belongs to, and whether it
was used before; also when a login waiting for its code, or an idle session, has expired.
Source: issue 6 item 7; GDPR Art. 32 (security of processing).

Parameters are those every authenticator app uses: HMAC-SHA1, 6 digits, 30-second steps;
a code of the step before or after the current one is accepted too (``VALID_WINDOW``), for
clocks that are a little off. Each accepted code records its step; a code whose step is not
newer than the last recorded one is refused (a code can be used once only).
"""

from __future__ import annotations

import base64
import hmac
import io
import re
from enum import StrEnum

import pyotp
import qrcode
import qrcode.image.svg

from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation

ISSUER = "kimdb"
DIGITS = 6
STEP_SECONDS = 30
VALID_WINDOW = 1  # steps before and after the current one that are accepted as well
PENDING_SECONDS = 5 * 60  # how long a correct password waits for its code

_CODE = re.compile(r"[0-9]{6}")  # ASCII digits only: a regex \d also takes e.g. fullwidth ones


class CodeRefused(RuleViolation):
    """A one-time code is malformed, wrong, or was used before; the message says which."""


class SecondStep(StrEnum):
    """What a user must do after a correct password."""

    NONE = "none"  # logged in at once
    CODE = "code"  # enter the code of their authenticator app
    ENROL = "enrol"  # set up an authenticator app first (their role requires it)


def second_step(
    role: str, enabled: bool, required_roles: tuple[str, ...] | list[str]
) -> SecondStep:
    """Return what a user with ``role`` must do after the password.

    ``enabled``: the user has confirmed an authenticator app (``User.totp_enabled_at`` set);
    ``required_roles``: the role names of ``TOTP_REQUIRED_ROLES`` (KIMDB_TOTP_REQUIRED_ROLES,
    KIMDB_TOTP_CASE_MANAGERS). Source: issue 6 item 7 (required for supervisors, admins and
    dpo, configurable for case managers; voluntary otherwise).
    """
    if enabled:
        return SecondStep.CODE
    if str(role) in {str(r) for r in required_roles}:
        return SecondStep.ENROL
    return SecondStep.NONE


def may_disable(role: str, required_roles: tuple[str, ...] | list[str]) -> bool:
    """True if a user with ``role`` may switch the two-factor login off (their role does not
    require it; issue 6 item 7)."""
    return str(role) not in {str(r) for r in required_roles}


def clean_code(text: str | None) -> str:
    """Return the 6-digit code in ``text`` (spaces and hyphens, as apps show them, removed).

    Raises CodeRefused (field ``code``) unless exactly six digits remain.
    """
    code = re.sub(r"[\s-]", "", text or "")
    if not _CODE.fullmatch(code):
        raise CodeRefused(
            _l("Bitte geben Sie den 6-stelligen Code aus Ihrer Authenticator-App ein."),
            field="code",
        )
    return code


def time_step(at: float) -> int:
    """Return the RFC 6238 time step (counter) of Unix time ``at`` (seconds): 30-second steps
    counted from 1970-01-01 00:00 UTC."""
    return int(at // STEP_SECONDS)


def code_at_step(secret: str, step: int) -> str:
    """Return the 6-digit code of base32 ``secret`` for time step ``step``."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def accepted_step(secret: str, text: str | None, at: float, last_step: int | None) -> int:
    """Check the code typed as ``text`` at Unix time ``at`` (seconds) against ``secret``;
    return the time step it belongs to, to be stored as the user's ``totp_last_step``.

    A code of the current step or of ``VALID_WINDOW`` steps before or after it is accepted.
    Raises CodeRefused (field ``code``) for a malformed code, a wrong code ("Der Code stimmt
    nicht."), or a code whose step is not newer than ``last_step`` (replay: "Dieser Code
    wurde bereits verwendet."). Source: RFC 6238 §5.2 (one-time use); issue 6 item 7.
    """
    code = clean_code(text)
    current = time_step(at)
    for step in range(current + VALID_WINDOW, current - VALID_WINDOW - 1, -1):
        if hmac.compare_digest(code_at_step(secret, step), code):
            if last_step is not None and step <= last_step:
                raise CodeRefused(_l("Dieser Code wurde bereits verwendet."), field="code")
            return step
    raise CodeRefused(_l("Der Code stimmt nicht."), field="code")


def new_secret() -> str:
    """Return a new random base32 secret of 160 bits (32 characters; RFC 4226 §4)."""
    return pyotp.random_base32()


def grouped(secret: str) -> str:
    """Return ``secret`` in groups of four characters, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, username: str) -> str:
    """Return the ``otpauth://`` URI an authenticator app reads from the QR code (issuer
    ``kimdb``, account ``username``)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def qr_svg_data_uri(data: str) -> str:
    """Return ``data`` as a QR code in an SVG ``data:`` URI, for an ``<img src>`` (the CSP
    allows ``img-src data:``; no script or inline style is needed)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def pending_expired(started: float | None, at: float) -> bool:
    """True if a correct password given at Unix time ``started`` (seconds) is too old, at
    ``at``, to be completed by a code (``PENDING_SECONDS``, 5 minutes), or if none was given."""
    return started is None or not 0 <= at - started <= PENDING_SECONDS


def idle_expired(last_seen: float | None, at: float, idle_minutes: int) -> bool:
    """True if a session last used at Unix time ``last_seen`` (seconds) has been idle longer
    than ``idle_minutes`` (KIMDB_SESSION_IDLE_MINUTES) at ``at``, or was never marked as used.
    Source: issue 6 item 7."""
    return last_seen is None or at - last_seen > idle_minutes * 60
