"""German display names of the domain's codes, and formatting of dates and figures.

All through Flask-Babel, so another language only needs its catalog. The translation
functions (``translations``, ``gettext``, ``lazy_gettext``, …) live in ``kimdb.i18n`` and are
offered here too.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

from babel import Locale
from babel.numbers import get_decimal_symbol
from flask import g, has_request_context
from flask_babel import get_locale
from jinja2 import pass_eval_context
from markupsafe import Markup

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
from kimdb.i18n import (  # noqa: F401 - the translation functions, also as labels.<name>
    gettext,
    lazy_gettext,
    ngettext,
    npgettext,
    pgettext,
    translations,
)
from kimdb.orgs.models import PartnerKind
from kimdb.timeutil import LOCAL_ZONE

_l = lazy_gettext


def install_template_gettext(env) -> None:
    """Make ``_``, ``gettext``, ``ngettext`` (and the ``p`` forms) of the Jinja environment
    ``env`` look the request's translations up once (``translations``), with the same
    new-style behaviour (autoescape, ``%(name)s`` variables) as Flask-Babel's.

    ``_`` and ``gettext`` are one function of ours: Jinja's own new-style ``_`` goes through
    three context calls per string and always applies ``%`` (even to a text without one),
    about 4 µs of the ~10 µs of a translated string (issue 8, measured); the result is the same.
    """
    env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    env.globals["_"] = env.globals["gettext"] = _template_gettext


@pass_eval_context
def _template_gettext(eval_ctx, text: str, /, **variables) -> str:
    """Jinja's new-style ``gettext`` in one call: the translation of ``text`` as Markup where
    the template autoescapes, formatted with ``variables`` (escaped). A text without "%" is
    returned as it is, which is what formatting it would give. It needs only the evaluation
    context: a function that takes the whole context makes Jinja copy it for each call after
    a ``{% set %}`` (issue 8, profiled)."""
    translated = translations().ugettext(text)
    if eval_ctx.autoescape:
        translated = Markup(translated)  # noqa: S704 - our own catalog, as Jinja's gettext
    return translated % variables if "%" in translated else translated


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


def ui_locale() -> Locale:
    """Return the Babel locale of the UI language (German by default), looked up once per
    request (``flask.g``)."""
    if not has_request_context():
        return Locale.parse(str(get_locale() or "de"))
    found = g.get("kimdb_ui_locale")
    if found is None:
        found = g.kimdb_ui_locale = Locale.parse(str(get_locale() or "de"))
    return found


def language_name(code: str) -> str:
    """Return the name of language ``code`` in the UI language (e.g. ``ar`` → "Arabisch")."""
    return ui_locale().languages.get(code, code)


def country_name(code: str) -> str:
    """Return the name of country ``code`` (ISO 3166 alpha-2) in the UI language."""
    return ui_locale().territories.get(code, code)


def countries() -> list[tuple[str, str]]:
    """Return (code, name) of every country, sorted by name in the UI language."""
    territories = ui_locale().territories
    pairs = [
        (c, n)
        for c, n in territories.items()
        if len(c) == 2 and c.isalpha() and c not in {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
    ]
    return sorted(pairs, key=lambda p: p[1])


def languages() -> list[tuple[str, str]]:
    """Return (code, name) of the offered languages, sorted by name in the UI language."""
    return sorted(((c, language_name(c)) for c in LANGUAGE_CODES), key=lambda p: p[1])


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))


def format_day(value: dt.date | None) -> str:
    """Format a date as dd.mm.yyyy (the pattern of every UI language; what Babel's
    ``format_date(value, "dd.MM.yyyy")`` gives, without its per-call lookups); empty for
    None. Day and month come from a table of two-digit texts: a third of the time of format
    specifications (0.35 µs against 1.4 µs; a case list formats about 400 dates; issue 8)."""
    if not value:
        return ""
    year = value.year
    if year < 1000:
        return f"{_TWO_DIGITS[value.day]}.{_TWO_DIGITS[value.month]}.{year:04d}"
    return f"{_TWO_DIGITS[value.day]}.{_TWO_DIGITS[value.month]}.{year}"


def format_moment(value: dt.datetime | None) -> str:
    """Format a point in time as dd.mm.yyyy HH:mm in Berlin time (``BABEL_DEFAULT_TIMEZONE``,
    ``kimdb.timeutil.LOCAL_ZONE``); a moment without zone is UTC (as SQLite returns them)."""
    if not value:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(LOCAL_ZONE)
    return f"{format_day(local)} {local.hour:02d}:{local.minute:02d}"


def format_month(value: dt.date) -> str:
    """Format the month of a date as MM/yy (e.g. 03/26, the axis of the caseload trend)."""
    return f"{value.month:02d}/{value.year % 100:02d}"


def _decimal_symbol() -> str:
    """The decimal separator of the UI language (CLDR: "," in German, "." in English)."""
    if not has_request_context():
        return get_decimal_symbol(ui_locale())
    found = g.get("kimdb_decimal_symbol")
    if found is None:
        found = g.kimdb_decimal_symbol = get_decimal_symbol(ui_locale())
    return found


def _format_number(value: Decimal | float | int, places: int, keep_zeros: bool) -> str:
    """Format ``value`` rounded half to even to ``places`` decimals (trailing zeros dropped
    unless ``keep_zeros``), without grouping, with the UI language's decimal separator: what
    Babel's ``format_decimal`` gives for the patterns "0", "0.#" and "0.00", without its
    per-call pattern parsing (about 60 µs a figure; 430 figures on a supervisor's dashboard)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = f"{rounded:f}"
    if not keep_zeros and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", _decimal_symbol())


def format_fte(value: Decimal) -> str:
    """Format an FTE as the locale writes it, two decimals (e.g. 0,50)."""
    return _format_number(value, 2, keep_zeros=True)


def format_percent(value: Decimal | float | None) -> str:
    """Format a share 0–1 as a whole percentage, e.g. 0.333 → 33 %."""
    if value is None:
        return "–"
    return _format_number(Decimal(value) * 100, 0, keep_zeros=False) + " %"


def format_cases(value: Decimal) -> str:
    """Format a band bound in cases: whole numbers plain, halves with one decimal (42,5)."""
    return _format_number(value, 1, keep_zeros=False)


def translated(table: dict) -> dict:
    """Return ``table`` (member → lazy label, as the tables here) with its labels translated
    now into the request's language (plain text): a lazy label looks its translation up again
    at every use, so a page that shows a label on many rows translates its table once."""
    return {member: str(label) for member, label in table.items()}


def row_labels() -> dict[str, dict]:
    """Return the label tables a list of cases shows in every row (kind, short kind, stage),
    translated once per request (``translated``): that was about half the rendering time of a
    start page with 118 open cases (issue 8 item 5, profiled)."""
    tables = {"kind": CASE_KIND, "kind_short": CASE_KIND_SHORT, "stage": STAGE}
    return {name: translated(table) for name, table in tables.items()}
