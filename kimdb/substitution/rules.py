"""Rules of substitution and case transfer (R7; FAQ KIM NRW Q34: Vertretungsregelungen und
Vorgangsübernahmen). Plain functions over plain values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from kimdb.caseload.rules import Band, Caseload
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation


class SubstitutionRefused(RuleViolation):
    """A substitution cannot be set as asked."""


class TransferRefused(RuleViolation):
    """A case cannot be taken over or reassigned as asked."""


def periods_overlap(a: tuple[dt.date, dt.date], b: tuple[dt.date, dt.date]) -> bool:
    """True if the inclusive day ranges ``a`` and ``b`` share at least one day."""
    return a[0] <= b[1] and b[0] <= a[1]


def is_active(first_day: dt.date, last_day: dt.date, ended: bool, day: dt.date) -> bool:
    """True if a substitution from ``first_day`` to ``last_day`` applies on ``day``."""
    return not ended and first_day <= day <= last_day


def check_substitution(
    absent_id: int,
    substitute_id: int,
    first_day: dt.date,
    last_day: dt.date,
    today: dt.date,
    absent_periods: list[tuple[dt.date, dt.date]],
    substitute_absences: list[tuple[dt.date, dt.date]],
) -> None:
    """Raise SubstitutionRefused unless the substitution may be set.

    ``absent_periods`` are the absent user's other substitutions (no two may overlap, so it is
    always clear who substitutes); ``substitute_absences`` are periods in which the substitute is
    absent themself. The period may not end before it starts or lie entirely in the past.
    """
    if substitute_id == absent_id:
        raise SubstitutionRefused(_l("Niemand kann sich selbst vertreten."), field="substitute_id")
    if last_day < first_day:
        raise SubstitutionRefused(_l("Der letzte Tag liegt vor dem ersten Tag."), field="last_day")
    if last_day < today:
        raise SubstitutionRefused(_l("Der Zeitraum liegt in der Vergangenheit."), field="last_day")
    period = (first_day, last_day)
    if any(periods_overlap(period, other) for other in absent_periods):
        raise SubstitutionRefused(
            _l("Für diesen Zeitraum gibt es schon eine Vertretung dieser Person."),
            field="first_day",
        )
    if any(periods_overlap(period, other) for other in substitute_absences):
        raise SubstitutionRefused(
            _l("Die Vertretung ist in diesem Zeitraum selbst abwesend."), field="substitute_id"
        )


def check_receiver(
    receiver_active: bool,
    receiver_is_case_manager: bool,
    same_organisation: bool,
    receiver_is_owner: bool,
    reason: str,
) -> None:
    """Raise TransferRefused unless a case may move to the receiver for ``reason`` (R7)."""
    if not reason.strip():
        raise TransferRefused(_l("Bitte den Grund der Übergabe angeben."), field="reason")
    if not receiver_active:
        raise TransferRefused(
            _l("An deaktivierte Benutzer:innen können keine Fälle übergeben werden."),
            field="receiver_id",
        )
    if not receiver_is_case_manager:
        raise TransferRefused(
            _l("Fälle können nur an KIM-Case Manager:innen übergeben werden."),
            field="receiver_id",
        )
    if not same_organisation:
        raise TransferRefused(
            _l("Fälle können nur innerhalb der Organisation übergeben werden."),
            field="receiver_id",
        )
    if receiver_is_owner:
        raise TransferRefused(_l("Der Fall gehört bereits dieser Person."), field="receiver_id")


def caseload_after(before: Caseload, moved: int, moved_cm: int) -> tuple[Caseload, bool]:
    """Return the receiver's caseload after taking ``moved`` open cases (``moved_cm`` of them
    CM), and whether it would rise above the band (a warning, not a refusal; FAQ KIM NRW Q33)."""
    after = Caseload(
        fte=Decimal(before.fte),
        open_cases=before.open_cases + moved,
        open_cm=before.open_cm + moved_cm,
    )
    return after, after.band is Band.ABOVE and moved > 0
