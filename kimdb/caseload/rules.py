"""The caseload guideline: 50–60 open cases per full-time post (R5).

Source: FAQ KIM NRW (23.04.2026) Q33 — "je KIM-Case Management-Stelle (VZÄ) eine Fallzahl von
50 - 60", counted as open (not closed) cases, reduced pro rata for part-time posts; about one
third of the cases are expected to be Case Management.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

LOWER_PER_FTE = 50
UPPER_PER_FTE = 60
NEAR_UPPER_SHARE = Decimal("0.9")  # within 10 % of the upper bound: a notice
EXPECTED_CM_SHARE = Decimal(1) / Decimal(3)


class Band(StrEnum):
    """Where a caseload stands against the guideline."""

    BELOW = "below"
    WITHIN = "within"
    ABOVE = "above"


def fte_on(periods: Sequence[tuple[dt.date, Decimal]], day: dt.date) -> Decimal:
    """Return the FTE valid on ``day`` from ``periods`` of (first day, FTE), sorted by day.

    A period lasts until the next one begins. Before the first recorded period its FTE applies
    (a user's first FTE is recorded when the account is created, after the history it covers).
    Raises ValueError for no periods at all.
    """
    if not periods:
        raise ValueError("a user has at least one FTE period")
    index = bisect_right([first for first, _ in periods], day) - 1
    return Decimal(periods[max(index, 0)][1])


def guideline_band(fte: Decimal) -> tuple[Decimal, Decimal]:
    """Return (lower, upper) open cases for ``fte`` full-time equivalents (0.5 → 25, 30)."""
    fte = Decimal(fte)
    return LOWER_PER_FTE * fte, UPPER_PER_FTE * fte


def caseload_band(open_cases: int, fte: Decimal) -> Band:
    """Return whether ``open_cases`` are below, within or above the band for ``fte``."""
    lower, upper = guideline_band(fte)
    if open_cases < lower:
        return Band.BELOW
    if open_cases > upper:
        return Band.ABOVE
    return Band.WITHIN


@dataclass(frozen=True)
class Caseload:
    """One case manager's open cases against the guideline.

    ``fte`` in full-time equivalents; ``open_cases`` and ``open_cm`` count open cases (all,
    and those classified Case Management).
    """

    fte: Decimal
    open_cases: int
    open_cm: int

    @property
    def lower(self) -> Decimal:
        """Lower bound of the band (open cases)."""
        return guideline_band(self.fte)[0]

    @property
    def upper(self) -> Decimal:
        """Upper bound of the band (open cases)."""
        return guideline_band(self.fte)[1]

    @property
    def band(self) -> Band:
        """Below, within or above the band."""
        return caseload_band(self.open_cases, self.fte)

    @property
    def near_upper(self) -> bool:
        """True within the band but at 90 % or more of its upper bound (a notice, not a warning)."""
        return self.band is Band.WITHIN and self.open_cases >= NEAR_UPPER_SHARE * self.upper

    @property
    def cm_share(self) -> Decimal | None:
        """Share of CM among the open cases (0–1), or None without open cases."""
        if not self.open_cases:
            return None
        return Decimal(self.open_cm) / Decimal(self.open_cases)

    @property
    def per_fte(self) -> Decimal:
        """Open cases per 1.0 FTE, for comparison across part-time posts."""
        return Decimal(self.open_cases) / Decimal(self.fte)
