"""Rules of emergency access ("break the glass"): when a supervisor may open one case of an
absent colleague, for how long, and how often. Plain functions over plain values; no Flask.

Source: issue 5 item 7 (emergency access); DESIGN.md R7 (substitution comes first), R8
(need-to-know: a supervisor reads no case contents by default); GDPR Art. 5(1)(f) and Art. 32
(integrity and confidentiality: access only when needed, limited in time, recorded).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation
from kimdb.timeutil import LOCAL_ZONE

MIN_REASON_LENGTH = 20  # characters after trimming: a sentence, not "dringend"
MAX_REASON_LENGTH = 1000  # characters
MAX_RUNNING_PER_SUPERVISOR = 3  # running emergency accesses one supervisor may hold at once
DEFAULT_HOURS = 4  # hours an access runs unless KIMDB_EMERGENCY_ACCESS_HOURS says otherwise
MAX_HOURS = 24  # an emergency is a matter of hours, not days

_CASE_NUMBER = re.compile(r"^\s*(\d{4})\s*-\s*(\d{1,9})\s*$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class EmergencyRefused(RuleViolation):
    """An emergency access cannot be opened as asked (German message, field of the form)."""


# The same sentence for an unknown case number and a case outside the supervisor's scope, so
# that the refusal does not tell whether a case exists elsewhere (no existence oracle).
NOT_FOUND = _l(
    "Unter dieser Fallnummer gibt es keinen Fall in Ihrem Verantwortungsbereich. "
    "Bitte prüfen Sie die Nummer (Form JJJJ-NNNNNN)."
)


class AccessState(StrEnum):
    """Where an emergency access stands at a moment."""

    RUNNING = "running"
    EXPIRED = "expired"  # its time ran out
    ENDED = "ended"  # the supervisor ended it early


@dataclass(frozen=True)
class AccessRequest:
    """What the rules need to know about a supervisor's request for one case.

    ``case_found``: the number names a case whose owner the supervisor supervises (R8).
    ``case_open``: the case is not closed. ``substitute_name``: who substitutes the owner on
    this case today (R7), or None. ``running_on_case``: the supervisor already holds a running
    access to this case. ``running_count``: how many running accesses the supervisor holds
    (all cases).
    """

    case_found: bool
    case_open: bool = True
    substitute_name: str | None = None
    running_on_case: bool = False
    running_count: int = 0


def parse_case_number(text: str | None) -> tuple[int, int] | None:
    """Return (year, case id) of a case number as users see it (``2026-000123``), or None.

    The id part must be positive; spaces around the parts are forgiven.
    """
    match = _CASE_NUMBER.match(text or "")
    if not match:
        return None
    year, case_id = int(match.group(1)), int(match.group(2))
    if case_id < 1 or case_id > 2**31 - 1:
        return None
    return year, case_id


def check_reason(reason: str | None) -> str:
    """Return the trimmed ``reason``; raise EmergencyRefused (field ``reason``) when it is
    missing, shorter than MIN_REASON_LENGTH or longer than MAX_REASON_LENGTH characters.

    The reason is what the case owner and the data protection officer read afterwards, so it
    must say why the access is needed now (issue 5 item 7; GDPR Art. 5(2), accountability).
    """
    text = (reason or "").strip()
    if not text:
        raise EmergencyRefused(
            _l("Bitte begründen Sie, warum Sie jetzt auf den Fall zugreifen müssen."),
            field="reason",
        )
    if len(text) < MIN_REASON_LENGTH:
        raise EmergencyRefused(
            _l(
                "Die Begründung ist zu kurz: bitte mindestens %(n)s Zeichen, damit die "
                "Fallverantwortliche und die Datenschutzbeauftragte sie nachvollziehen können.",
                n=MIN_REASON_LENGTH,
            ),
            field="reason",
        )
    if len(text) > MAX_REASON_LENGTH:
        raise EmergencyRefused(
            _l("Die Begründung ist zu lang (höchstens %(n)s Zeichen).", n=MAX_REASON_LENGTH),
            field="reason",
        )
    return text


def check_emergency_access(request: AccessRequest) -> None:
    """Raise EmergencyRefused unless the supervisor may open (or continue) the access.

    Order matters: a case outside the supervisor's scope is refused with the same message as
    an unknown number (NOT_FOUND) before anything else about it is said. A request for a case
    the supervisor already holds a running access to passes (the caller continues that
    access, it does not start a second one), even at the limit of MAX_RUNNING_PER_SUPERVISOR.

    Raises EmergencyRefused: not found / not supervised, case closed, a substitution covers
    the case (R7: the substitute acts), limit of running accesses reached.
    """
    if not request.case_found:
        raise EmergencyRefused(NOT_FOUND, field="case_number")
    if not request.case_open:
        raise EmergencyRefused(
            _l("Der Fall ist abgeschlossen. Ein Notfallzugriff ist nur auf offene Fälle möglich."),
            field="case_number",
        )
    if request.substitute_name:
        raise EmergencyRefused(
            _l(
                "Für diesen Fall gibt es eine laufende Vertretung: %(name)s. Bitte wenden Sie "
                "sich an die Vertretung; sie kann den Fall bearbeiten.",
                name=request.substitute_name,
            ),
            field="case_number",
        )
    if request.running_on_case:
        return
    if request.running_count >= MAX_RUNNING_PER_SUPERVISOR:
        raise EmergencyRefused(
            _l(
                "Sie haben bereits %(n)s laufende Notfallzugriffe. Bitte beenden Sie einen, "
                "bevor Sie einen weiteren Fall öffnen.",
                n=MAX_RUNNING_PER_SUPERVISOR,
            ),
            field="case_number",
        )


def check_hours(hours: int) -> int:
    """Return ``hours`` (the duration of an access, whole hours) if it lies in 1..MAX_HOURS;
    raise ValueError otherwise (a misconfigured KIMDB_EMERGENCY_ACCESS_HOURS)."""
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_HOURS:
        raise ValueError(
            f"KIMDB_EMERGENCY_ACCESS_HOURS must be a whole number of hours from 1 to {MAX_HOURS}"
        )
    return hours


def access_expiry(granted_at: dt.datetime, hours: int) -> dt.datetime:
    """Return when an access granted at ``granted_at`` (timezone-aware) ends: ``hours`` later.

    Raises ValueError for a naive ``granted_at`` or hours outside 1..MAX_HOURS.
    """
    if granted_at.tzinfo is None:
        raise ValueError("granted_at must be timezone-aware")
    return granted_at + dt.timedelta(hours=check_hours(hours))


def _aware(moment: dt.datetime) -> dt.datetime:
    """Read a naive value as UTC (SQLite returns stored UTC moments without a zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def access_state(
    expires_at: dt.datetime, ended_at: dt.datetime | None, moment: dt.datetime
) -> AccessState:
    """Return whether an access is running, expired or ended early at ``moment``."""
    if ended_at is not None and _aware(ended_at) <= _aware(moment):
        return AccessState.ENDED
    if _aware(expires_at) <= _aware(moment):
        return AccessState.EXPIRED
    return AccessState.RUNNING


def month_bounds(text: str | None) -> tuple[dt.datetime, dt.datetime] | None:
    """Return the start and end (exclusive, UTC) of calendar month ``YYYY-MM`` in Europe/Berlin,
    or None when ``text`` is not such a month."""
    match = _MONTH.match((text or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 2000 <= year <= 2999):
        return None
    start = dt.datetime(year, month, 1, tzinfo=LOCAL_ZONE)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=LOCAL_ZONE)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)
