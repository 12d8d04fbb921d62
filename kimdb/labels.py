"""German display names of the domain's codes, and formatting of dates and figures.

All through Flask-Babel, so another language only needs its catalog.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel import Locale
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import lazy_gettext as _l

from kimdb.auth.models import Role
from kimdb.caseload.rules import Band
from kimdb.cases.models import (
    ConsultationMode,
    GoalResponsible,
    GoalStatus,
    LegalDomain,
    LifeArea,
    NoteKind,
    ReferralStatus,
)
from kimdb.cases.rules import CaseFlag, CaseKind, ClosureReason, FollowUpState, Stage
from kimdb.clients.models import Gender, ResidenceStatus
from kimdb.orgs.models import PartnerKind

ROLE = {
    Role.CASE_MANAGER: _l("KIM-Case Manager:in"),
    Role.SUPERVISOR: _l("Koordination / Teamleitung"),
    Role.ADMIN: _l("Fachadministration"),
    Role.DPO: _l("Datenschutz"),
    Role.STATE: _l("Land NRW (Statistik)"),
}
CASE_KIND = {
    CaseKind.CASE_MANAGEMENT: _l("Case Management"),
    CaseKind.SHORT_COUNSELLING: _l("Kurzberatung"),
}
CASE_KIND_SHORT = {CaseKind.CASE_MANAGEMENT: _l("CM"), CaseKind.SHORT_COUNSELLING: _l("KB")}
STAGE = {
    Stage.INTAKE: _l("Erstberatung (Intake)"),
    Stage.ASSESSMENT: _l("Assessment"),
    Stage.PLANNING: _l("Hilfeplanung"),
    Stage.LINKING: _l("Leistungssteuerung (Linking)"),
    Stage.MONITORING: _l("Monitoring"),
    Stage.EVALUATION: _l("Evaluation"),
    Stage.COUNSELLING: _l("Beratung"),
    Stage.CLOSED: _l("Abgeschlossen"),
}
CLOSURE_REASON = {
    ClosureReason.GOALS_ACHIEVED: _l("Ziele erreicht"),
    ClosureReason.REFERRED: _l("An anderes Fallmanagement übergeben"),
    ClosureReason.MOVED_AWAY: _l("Weggezogen"),
    ClosureReason.CONTACT_BROKE_OFF: _l("Kontakt abgebrochen"),
    ClosureReason.CLIENT_ENDED: _l("Von Klient:in beendet"),
    ClosureReason.CONSENT_WITHDRAWN: _l("Einwilligung widerrufen"),
    ClosureReason.OTHER: _l("Sonstiger Grund"),
}
LIFE_AREA = {
    LifeArea.RESIDENCE_LAW: _l("Aufenthaltsrecht"),
    LifeArea.ORIENTATION: _l("Orientierung"),
    LifeArea.LANGUAGE: _l("Sprache"),
    LifeArea.EDUCATION: _l("Bildung / Schule"),
    LifeArea.WORK: _l("Ausbildung / Arbeit"),
    LifeArea.HOUSING: _l("Wohnen"),
    LifeArea.HEALTH: _l("Gesundheit"),
    LifeArea.FINANCES: _l("Finanzielle Sicherung"),
    LifeArea.FAMILY: _l("Familie / Kinder"),
    LifeArea.PARTICIPATION: _l("Soziale Teilhabe"),
}
LEGAL_DOMAIN = {
    LegalDomain.SGB_II: "SGB II",
    LegalDomain.SGB_III: "SGB III",
    LegalDomain.SGB_VIII: "SGB VIII",
    LegalDomain.SGB_XII: "SGB XII",
    LegalDomain.ASYLBLG: "AsylbLG",
    LegalDomain.AUFENTHG: "AufenthG",
    LegalDomain.STAG: "StAG",
    LegalDomain.MBE: _l("MBE (Migrationsberatung für Erwachsene)"),
    LegalDomain.JMD: _l("JMD (Jugendmigrationsdienst)"),
}
LEGAL_DOMAIN_SHORT = {d.value: str(d.value).upper().replace("_", " ") for d in LegalDomain} | {
    "sgb_ii": "SGB II",
    "sgb_iii": "SGB III",
    "sgb_viii": "SGB VIII",
    "sgb_xii": "SGB XII",
    "asylblg": "AsylbLG",
    "aufenthg": "AufenthG",
    "stag": "StAG",
    "mbe": "MBE",
    "jmd": "JMD",
}
CASE_FLAG = {
    CaseFlag.INACTIVE: _l("ohne Aktivität"),
    CaseFlag.FOLLOW_UP_DUE: _l("Wiedervorlage fällig"),
    CaseFlag.ABOVE_KB_LIMITS: _l("über dem Rahmen einer Kurzberatung"),
}
GOAL_STATUS = {
    GoalStatus.OPEN: _l("offen"),
    GoalStatus.IN_PROGRESS: _l("in Arbeit"),
    GoalStatus.ACHIEVED: _l("erreicht"),
    GoalStatus.PARTLY: _l("teilweise erreicht"),
    GoalStatus.NOT_ACHIEVED: _l("nicht erreicht"),
    GoalStatus.DROPPED: _l("verworfen"),
}
GOAL_RESPONSIBLE = {
    GoalResponsible.CLIENT: _l("Klient:in"),
    GoalResponsible.CASE_MANAGER: _l("Case Manager:in"),
    GoalResponsible.PARTNER: _l("Partnerstelle"),
}
REFERRAL_STATUS = {
    ReferralStatus.PROPOSED: _l("vorgeschlagen"),
    ReferralStatus.ARRANGED: _l("vereinbart"),
    ReferralStatus.TAKEN_UP: _l("wahrgenommen"),
    ReferralStatus.ENDED: _l("beendet"),
    ReferralStatus.FAILED: _l("gescheitert"),
}
NOTE_KIND = {
    NoteKind.CONSULTATION: _l("Gesprächsvermerk"),
    NoteKind.PHONE_CALL: _l("Telefonat"),
    NoteKind.DOCUMENT: _l("Dokument / Schriftverkehr"),
    NoteKind.INTERNAL: _l("Interner Vermerk"),
}
PARTNER_KIND = {
    PartnerKind.AUTHORITY: _l("Behörde"),
    PartnerKind.COUNSELLING: _l("Beratungsstelle"),
    PartnerKind.EDUCATION: _l("Bildung / Kita / Schule / Kursträger"),
    PartnerKind.HEALTH: _l("Gesundheit"),
    PartnerKind.HOUSING: _l("Wohnen"),
    PartnerKind.LABOUR: _l("Arbeit / Anerkennung"),
    PartnerKind.COMMUNITY: _l("Verein / Ehrenamt"),
    PartnerKind.OTHER: _l("Sonstige Stelle"),
}
FOLLOW_UP_STATE = {
    FollowUpState.OVERDUE: _l("überfällig"),
    FollowUpState.DUE_TODAY: _l("heute fällig"),
    FollowUpState.UPCOMING: _l("geplant"),
    FollowUpState.DONE: _l("erledigt"),
}
CONSULTATION_MODE = {
    ConsultationMode.IN_PERSON: _l("persönlich"),
    ConsultationMode.PHONE: _l("telefonisch"),
    ConsultationMode.VIDEO: _l("per Video"),
    ConsultationMode.OUTREACH: _l("aufsuchend"),
}
GENDER = {
    Gender.FEMALE: _l("weiblich"),
    Gender.MALE: _l("männlich"),
    Gender.DIVERSE: _l("divers"),
    Gender.NOT_STATED: _l("keine Angabe"),
}
RESIDENCE_STATUS = {
    ResidenceStatus.GERMAN: _l("deutsche Staatsangehörigkeit"),
    ResidenceStatus.EU: _l("EU-Freizügigkeit"),
    ResidenceStatus.SETTLEMENT: _l("Niederlassungserlaubnis / Daueraufenthalt-EU"),
    ResidenceStatus.RESIDENCE_PERMIT: _l("Aufenthaltserlaubnis"),
    ResidenceStatus.TEMPORARY_PROTECTION: _l("Vorübergehender Schutz (§ 24 AufenthG)"),
    ResidenceStatus.ASYLUM_PENDING: _l("Aufenthaltsgestattung (Asylverfahren)"),
    ResidenceStatus.TOLERATED: _l("Duldung"),
    ResidenceStatus.OTHER: _l("sonstiger Status"),
    ResidenceStatus.UNKNOWN: _l("ungeklärt"),
}
BAND = {
    Band.BELOW: _l("unterhalb der Empfehlung"),
    Band.WITHIN: _l("im Rahmen der Empfehlung"),
    Band.ABOVE: _l("oberhalb der Empfehlung"),
}
# Languages offered for clients and interpreters (ISO 639-1); names come from CLDR via Babel.
LANGUAGE_CODES = (
    "ar",
    "fa",
    "ku",
    "tr",
    "uk",
    "ru",
    "ps",
    "ti",
    "so",
    "sq",
    "sr",
    "ro",
    "bg",
    "pl",
    "en",
    "fr",
    "es",
    "it",
    "el",
    "ur",
    "ckb",
    "de",
)


def language_name(code: str) -> str:
    """Return the name of language ``code`` in the UI language (e.g. ``ar`` → "Arabisch")."""
    return Locale.parse(str(get_locale() or "de")).languages.get(code, code)


def country_name(code: str) -> str:
    """Return the name of country ``code`` (ISO 3166 alpha-2) in the UI language."""
    return Locale.parse(str(get_locale() or "de")).territories.get(code, code)


def countries() -> list[tuple[str, str]]:
    """Return (code, name) of every country, sorted by name in the UI language."""
    territories = Locale.parse(str(get_locale() or "de")).territories
    pairs = [
        (c, n)
        for c, n in territories.items()
        if len(c) == 2 and c.isalpha() and c not in {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
    ]
    return sorted(pairs, key=lambda p: p[1])


def languages() -> list[tuple[str, str]]:
    """Return (code, name) of the offered languages, sorted by name in the UI language."""
    return sorted(((c, language_name(c)) for c in LANGUAGE_CODES), key=lambda p: p[1])


def format_day(value: dt.date | None) -> str:
    """Format a date as dd.mm.yyyy; empty for None."""
    return format_date(value, "dd.MM.yyyy") if value else ""


def format_moment(value: dt.datetime | None) -> str:
    """Format a point in time as dd.mm.yyyy HH:mm in the configured time zone."""
    if not value:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return format_datetime(value, "dd.MM.yyyy HH:mm")


def format_fte(value: Decimal) -> str:
    """Format an FTE as the locale writes it, two decimals (e.g. 0,50)."""
    return format_decimal(value, "0.00")


def format_percent(value: Decimal | float | None) -> str:
    """Format a share 0–1 as a whole percentage, e.g. 0.333 → 33 %."""
    if value is None:
        return "–"
    return format_decimal(Decimal(value) * 100, "0") + " %"


def format_cases(value: Decimal) -> str:
    """Format a band bound in cases: whole numbers plain, halves with one decimal (42,5)."""
    return format_decimal(value, "0.#")
