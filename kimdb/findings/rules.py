"""The rules of a structural finding (Systemmanagement, FAQ KIM NRW Q32).

A finding names a gap or barrier of the local service system, never a client: it is stored
without a link to the case it was seen in, and its texts must not carry client data. Plain
functions over plain values: no Flask request, no database session. Sources: FAQ KIM NRW
(23.04.2026) Q32 (Systemmanagement as a task of KIM-Case Management); DESIGN.md §4 (data
protection); GDPR Art. 5(1)(c) (data minimisation).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation

if TYPE_CHECKING:
    from kimdb.findings.models import FindingCategory

AGENCY_MIN, AGENCY_MAX = 2, 200  # characters; the column holds 200
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 1000  # characters

PERSONAL_DATA_MESSAGE = _l(
    "Bitte keine personenbezogenen Daten (Namen, Geburtsdaten, Telefonnummern, "
    "E-Mail-Adressen, Fallnummern) in die Beschreibung schreiben."
)
PERSONAL_AGENCY_MESSAGE = _l(
    "Bitte nur die Bezeichnung der Stelle oder des Angebots angeben, ohne Namen, "
    "Telefonnummern oder E-Mail-Adressen."
)

_MONTHS = "januar|februar|märz|maerz|april|mai|juni|juli|august|september|oktober|november|dezember"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_FULL_DATE = re.compile(
    r"(?<![\d.])\d{1,2}\. ?\d{1,2}\. ?\d{4}(?!\d)"  # 17.05.1990, 17. 5. 1990
    r"|(?<![\d.])\d{1,2}\.\d{1,2}\.\d{2}(?![\d.])"  # 17.05.90
    r"|(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?!\d)"  # 1990-05-17
    r"|(?<!\d)\d{1,2}/\d{1,2}/\d{4}(?!\d)"  # 17/05/1990
    rf"|(?<!\d)\d{{1,2}}\.? ?(?:{_MONTHS}) \d{{4}}(?!\d)",  # 17. Mai 1990
    re.IGNORECASE,
)
_CASE_NUMBER = re.compile(r"(?<!\d)\d{4}-\d{6}(?!\d)")  # as kimdb shows them: 2026-000123
# A run of digit groups joined by a space, "-", "/" (with optional spaces) or parentheses.
_DIGIT_RUN = re.compile(r"(?<![\w+])\+?\(?\d+\)?(?:(?: ?[-–/] ?| )\(?\d+\)?)*")
_DIGIT_GROUP = re.compile(r"\d+")
PHONE_MIN_DIGITS = 6


class FindingRefused(RuleViolation):
    """A finding cannot be recorded as entered; ``field`` names the form field at fault."""


def _looks_like_phone_number(run: str) -> bool:
    """True if a run of digit groups reads as a phone, file or account number.

    Six or more digits count, except two short groups without a leading zero, which are a
    range or a pair of figures ("2024/2025", "450 - 600 Euro"), not a number of a person.
    """
    groups = _DIGIT_GROUP.findall(run)
    if sum(len(g) for g in groups) < PHONE_MIN_DIGITS:
        return False
    return (
        run.startswith("+")
        or len(groups) >= 3
        or any(g.startswith("0") or len(g) >= 5 for g in groups)
    )


def looks_personal(text: str) -> bool:
    """Return True if ``text`` contains what looks like client data.

    Recognised: e-mail addresses, phone numbers (6 or more digits, also with spaces, "+",
    "-" or "/"), full dates (dd.mm.yyyy, dd.mm.yy, yyyy-mm-dd, "17. Mai 1990") and kimdb case
    numbers (yyyy-nnnnnn). Names cannot be recognised reliably; the message asks for none.
    "Wartezeit 6 Wochen", "2024/2025" or "450 - 600 Euro" are not personal.
    Source: FAQ KIM NRW Q32 (findings are anonymous); GDPR Art. 5(1)(c).
    """
    if _EMAIL.search(text) or _FULL_DATE.search(text) or _CASE_NUMBER.search(text):
        return True
    return any(_looks_like_phone_number(m.group()) for m in _DIGIT_RUN.finditer(text))


def normalise_agency(agency: str) -> str:
    """Return ``agency`` with surrounding and repeated whitespace removed."""
    return " ".join(agency.split())


def canonical_agency(agency: str, known: Iterable[str]) -> str:
    """Return the spelling of ``agency`` already used in ``known``, else ``agency`` normalised.

    "jobcenter  Kreis Warendorf" becomes "Jobcenter Kreis Warendorf" when that is known, so
    that coordination counts one agency once (FAQ KIM NRW Q32: aggregated per agency).
    """
    name = normalise_agency(agency)
    folded = name.casefold()
    return next((k for k in known if k.casefold() == folded), name)


def check_finding(
    category: FindingCategory | None,
    agency: str,
    description: str,
    observed_on: dt.date | None,
    today: dt.date,
) -> None:
    """Raise FindingRefused unless a finding with these values may be recorded.

    ``category`` must be chosen; ``agency`` (the affected agency or service) has 2–200
    characters, ``description`` 10–1000, both without client data (``looks_personal``);
    ``observed_on`` is given and not after ``today`` (Europe/Berlin).
    Source: FAQ KIM NRW Q32 (Systemmanagement); DESIGN.md §4; GDPR Art. 5(1)(c).
    """
    if category is None:
        raise FindingRefused(_l("Bitte eine Kategorie wählen."), field="category")
    agency = normalise_agency(agency or "")
    if not agency:
        raise FindingRefused(
            _l("Bitte die betroffene Stelle oder das Angebot angeben."), field="agency"
        )
    if not AGENCY_MIN <= len(agency) <= AGENCY_MAX:
        raise FindingRefused(
            _l("Die Bezeichnung der Stelle muss zwischen 2 und 200 Zeichen lang sein."),
            field="agency",
        )
    if looks_personal(agency):
        raise FindingRefused(PERSONAL_AGENCY_MESSAGE, field="agency")
    description = (description or "").strip()
    if not description:
        raise FindingRefused(_l("Bitte die Lücke oder Barriere beschreiben."), field="description")
    if not DESCRIPTION_MIN <= len(description) <= DESCRIPTION_MAX:
        raise FindingRefused(
            _l("Die Beschreibung muss zwischen 10 und 1000 Zeichen lang sein."),
            field="description",
        )
    if looks_personal(description):
        raise FindingRefused(PERSONAL_DATA_MESSAGE, field="description")
    if observed_on is None:
        raise FindingRefused(
            _l("Bitte angeben, wann die Lücke beobachtet wurde."), field="observed_on"
        )
    if observed_on > today:
        raise FindingRefused(_l("Das Datum darf nicht in der Zukunft liegen."), field="observed_on")


def check_period(date_from: dt.date | None, date_to: dt.date | None) -> None:
    """Raise FindingRefused if the period ends before it begins; an open end is allowed."""
    if date_from and date_to and date_to < date_from:
        raise FindingRefused(_l("Das Ende des Zeitraums liegt vor seinem Anfang."), field="date_to")
