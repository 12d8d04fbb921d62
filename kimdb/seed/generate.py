"""The rows of the generated world, table by table, in plain Python values.

Encrypted columns hold plaintext here: the writer (``kimdb.seed.load``) encrypts them with
the column's own type, exactly as the ORM does in normal operation. Ids are given explicitly
(``Ids``) so that children can name their parents without a round trip to the database.
The search indexes of a client are filled by ``Client.refresh_search_index`` itself, on a
transient Client object (the same code as registration).

Texts and name pools come from the demo (``kimdb.demo``), completed by names for the
countries for which the demo asks Faker (Turkey, Romania, Poland, Azerbaijan).
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from kimdb import demo
from kimdb.cases import rules as case_rules
from kimdb.cases.models import (
    ConsultationMode,
    GoalResponsible,
    GoalStatus,
    LifeArea,
    NoteKind,
    ReferralStatus,
)
from kimdb.cases.rules import CaseKind, ClosureReason, Stage
from kimdb.clients.models import Client, Gender
from kimdb.orgs.models import PartnerKind
from kimdb.seed import plan
from kimdb.seed.plan import between
from kimdb.timeutil import LOCAL_ZONE

#: Column order of the rows of every table the generator writes.
COLUMNS: dict[str, tuple[str, ...]] = {
    "organisations": ("id", "name", "kind", "municipality_id"),
    "teams": ("id", "organisation_id", "name"),
    "users": (
        "id",
        "username",
        "display_name",
        "password_hash",
        "role",
        "organisation_id",
        "team_id",
        "active",
        "created_at",
        "session_token",
        "totp_secret",
        "totp_enabled_at",
    ),
    "fte_periods": ("id", "user_id", "fte", "valid_from"),
    "supervisions": ("id", "supervisor_id", "organisation_id", "team_id"),
    "partners": ("id", "organisation_id", "name", "kind", "legal_domain", "contact"),
    "consents": (
        "id",
        "form_version",
        "form_language",
        "signed_on",
        "processing_agreed",
        "scan_key",
        "scan_media_type",
        "scan_size",
        "recorded_by_id",
        "recorded_at",
    ),
    "consent_exchanges": ("id", "consent_id", "partner_id"),
    "clients": (
        "id",
        "consent_id",
        "organisation_id",
        "given_name",
        "family_name",
        "date_of_birth",
        "gender",
        "country_of_origin",
        "languages",
        "residence_status",
        "family_name_index",
        "given_name_index",
        "date_of_birth_index",
        "family_name_phonetic",
        "given_name_phonetic",
        "birth_year",
        "phone",
        "email",
        "registered_by_id",
        "registered_at",
    ),
    "cases": (
        "id",
        "client_id",
        "owner_id",
        "organisation_id",
        "kind",
        "stage",
        "opened_on",
        "closed_on",
        "closure_reason",
        "closure_text",
        "last_activity_on",
        "last_consultation_on",
        "created_at",
        "updated_at",
        "version_id",
    ),
    "classification_changes": (
        "id",
        "case_id",
        "from_kind",
        "to_kind",
        "reason",
        "changed_by_id",
        "changed_at",
    ),
    "stage_changes": (
        "id",
        "case_id",
        "from_stage",
        "to_stage",
        "reason",
        "closed_on",
        "closure_reason",
        "changed_by_id",
        "changed_at",
    ),
    "needs": (
        "id",
        "case_id",
        "life_area",
        "legal_domain",
        "description",
        "in_focus",
        "recorded_by_id",
        "recorded_at",
    ),
    "goals": (
        "id",
        "case_id",
        "text",
        "agreed_on",
        "responsible",
        "due_on",
        "status",
        "recorded_by_id",
        "recorded_at",
    ),
    "consultations": (
        "id",
        "case_id",
        "held_on",
        "duration_minutes",
        "mode",
        "interpreter_used",
        "interpreter_language",
        "entered_by_id",
        "entered_at",
        "summary",
    ),
    "assessments": ("id", "case_id", "version", "started_by_id", "started_at", "updated_at"),
    "assessment_areas": ("id", "assessment_id", "life_area", "situation", "resources"),
    "referrals": (
        "id",
        "case_id",
        "partner_id",
        "referred_on",
        "purpose",
        "status",
        "outcome",
        "passes_data",
        "verweisberatung",
        "recorded_by_id",
        "recorded_at",
        "updated_at",
    ),
    "monitoring_entries": ("id", "case_id", "entry_on", "text", "recorded_by_id", "recorded_at"),
    "notes": (
        "id",
        "case_id",
        "kind",
        "noted_on",
        "text",
        "supersedes_id",
        "written_by_id",
        "written_at",
    ),
    "follow_ups": (
        "id",
        "case_id",
        "due_on",
        "text",
        "created_by_id",
        "created_at",
        "done_at",
        "done_by_id",
    ),
}
#: The order in which the tables of the cases are written (parents first).
CASE_TABLES = (
    "consents",
    "consent_exchanges",
    "clients",
    "cases",
    "classification_changes",
    "stage_changes",
    "needs",
    "goals",
    "consultations",
    "assessments",
    "assessment_areas",
    "referrals",
    "monitoring_entries",
    "notes",
    "follow_ups",
)
STRUCTURE_TABLES = ("organisations", "teams", "users", "fte_periods", "supervisions", "partners")

FORM_VERSION = "2026-01"  # consent_forms/2026-01: the only form version there is
SCAN = demo.DEMO_SCAN  # a minimal one-page PDF standing in for the signed consent
SCAN_MEDIA_TYPE = "application/pdf"

# Given names (male, female) and family names for the countries the demo takes from Faker.
EXTRA_NAMES = {
    "turkish": (
        ["Mehmet", "Mustafa", "Ahmet", "Emre", "Hakan", "Murat", "Burak", "Yusuf", "Kemal"],
        ["Ayşe", "Fatma", "Elif", "Zeynep", "Emine", "Hatice", "Merve", "Esra", "Derya"],
        ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın", "Arslan"],
    ),
    "romanian": (
        ["Andrei", "Ion", "Mihai", "Alexandru", "Constantin", "Florin", "Gabriel", "Vasile"],
        ["Maria", "Elena", "Ioana", "Andreea", "Mihaela", "Ana", "Cristina", "Gabriela"],
        ["Popescu", "Ionescu", "Popa", "Stan", "Dumitru", "Munteanu", "Constantin", "Lungu"],
    ),
    "polish": (
        ["Piotr", "Krzysztof", "Tomasz", "Paweł", "Marcin", "Michał", "Łukasz", "Jakub"],
        ["Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Ewa", "Joanna", "Magdalena", "Zofia"],
        ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński"],
    ),
    "azerbaijani": (
        ["Elvin", "Rashad", "Orkhan", "Tural", "Farid", "Kamran"],
        ["Aynur", "Leyla", "Gunel", "Nigar", "Sevinj", "Aysel"],
        ["Aliyev", "Mammadov", "Hasanov", "Huseynov", "Guliyev", "Ismayilov"],
    ),
}
NAME_POOLS = {**demo.NAMES, **EXTRA_NAMES}
NAME_GROUP = {**demo.NAME_GROUP, "TR": "turkish", "RO": "romanian", "PL": "polish"}
NAME_GROUP["AZ"] = "azerbaijani"
ORIGIN_CODES = list(demo.ORIGINS)
ORIGIN_WEIGHTS = list(demo.ORIGINS.values())

# Names of the generated staff (case managers, supervisors, administrators).
STAFF_GIVEN = [
    "Anna",
    "Julia",
    "Katrin",
    "Sarah",
    "Miriam",
    "Laura",
    "Lena",
    "Sabine",
    "Petra",
    "Nina",
    "Aylin",
    "Elif",
    "Olena",
    "Rania",
    "Ewa",
    "Jonas",
    "Thomas",
    "Michael",
    "Stefan",
    "Jan",
    "Markus",
    "Daniel",
    "Tobias",
    "Murat",
    "Hakan",
    "Farid",
    "Tarek",
    "Andrzej",
]
STAFF_FAMILY = [
    "Schulte",
    "Hoffmann",
    "Becker",
    "Wessels",
    "Lange",
    "Brüggemann",
    "Kötter",
    "Schmitz",
    "Meyer",
    "Wagner",
    "Schröder",
    "Neumann",
    "Krüger",
    "Demir",
    "Yılmaz",
    "Kowalski",
    "Haddad",
    "Rahimi",
    "Petrenko",
    "Ahmadi",
    "Öztürk",
    "Nowak",
    "Fischer",
]
TEAM_NAMES = ("Nord", "Süd", "Ost", "West", "Mitte", "Innenstadt", "Land", "Stadtrand")

SUMMARIES = (
    "Lage besprochen, Unterlagen für den Antrag zusammengestellt.",
    "Rückmeldung des Jobcenters gemeinsam gelesen und erklärt.",
    "Termin bei der Ausländerbehörde vorbereitet, Dolmetschung organisiert.",
    "Fortschritte beim Sprachkurs besprochen, Anwesenheit gut.",
    "Wohnungssuche: zwei Angebote gesichtet, Besichtigung vereinbart.",
    "Kita-Anmeldung ausgefüllt, Nachweise fehlen noch.",
    "Kurzes Gespräch, Ziele überprüft und angepasst.",
)
CLOSURE_TEXTS = {
    ClosureReason.CONTACT_BROKE_OFF: "Mehrere Termine nicht wahrgenommen, keine Rückmeldung.",
    ClosureReason.MOVED_AWAY: "Umzug in eine andere Kommune, Übergabe angeboten.",
    ClosureReason.CLIENT_ENDED: "Klient:in wünscht keine weitere Begleitung.",
}

# The partner directory of every generated organisation; "{place}" is the municipality.
PARTNERS = (
    ("Jobcenter {place}", PartnerKind.AUTHORITY, "sgb_ii", "Servicetelefon Jobcenter"),
    ("Agentur für Arbeit {place}", PartnerKind.AUTHORITY, "sgb_iii", "Tel. 0800 4 5555 00"),
    ("Jugendamt {place}", PartnerKind.AUTHORITY, "sgb_viii", None),
    ("Ausländerbehörde {place}", PartnerKind.AUTHORITY, "aufenthg", None),
    ("Sozialamt {place}", PartnerKind.AUTHORITY, "sgb_xii", None),
    ("Migrationsberatung für Erwachsene (MBE) {place}", PartnerKind.COUNSELLING, "mbe", None),
    ("Jugendmigrationsdienst {place}", PartnerKind.COUNSELLING, "jmd", None),
    ("Schuldnerberatung {place}", PartnerKind.COUNSELLING, None, None),
    ("Integrationskursträger VHS {place}", PartnerKind.EDUCATION, None, None),
    ("Anerkennungsberatung IQ Netzwerk NRW", PartnerKind.LABOUR, None, None),
    ("Psychosoziales Zentrum für Geflüchtete", PartnerKind.HEALTH, None, None),
    ("Wohnungslosenhilfe {place}", PartnerKind.HOUSING, None, None),
    ("Migrantenselbstorganisation {place}", PartnerKind.COMMUNITY, None, None),
)


class Ids:
    """The next free id of every table; starts after the ids already in the database."""

    def __init__(self, first: dict[str, int]) -> None:
        self._next = defaultdict(lambda: 1, first)

    def take(self, table: str) -> int:
        """Return the next id of ``table`` and advance."""
        value = self._next[table]
        self._next[table] = value + 1
        return value


@dataclass
class Rows:
    """Rows per table (tuples in COLUMNS order), collected for one write."""

    tables: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))

    def add(self, table: str, *values) -> None:
        """Append one row to ``table``; the values in COLUMNS[table] order."""
        self.tables[table].append(values)

    def count(self) -> int:
        """Rows held in all tables."""
        return sum(len(rows) for rows in self.tables.values())


@functools.lru_cache(maxsize=4096)
def _local_midnight(day: dt.date) -> dt.datetime:
    """Return 0:00 of ``day`` in Europe/Berlin as UTC, with the offset of noon (so times after
    3:00 are right also on the days the clocks change)."""
    noon = dt.datetime.combine(day, dt.time(12), LOCAL_ZONE).astimezone(dt.UTC)
    return noon - dt.timedelta(hours=12)


def moment(rnd: random.Random, day: dt.date, hour: int | None = None) -> dt.datetime:
    """Return a time on ``day``: local office hours 8:00–16:59, or within ``hour``; in UTC."""
    minute = 480 + int(rnd.random() * 540) if hour is None else hour * 60 + int(rnd.random() * 60)
    return _local_midnight(day) + dt.timedelta(minutes=minute)


def staff_name(rnd: random.Random) -> str:
    """Return a display name for a generated staff member."""
    return f"{rnd.choice(STAFF_GIVEN)} {rnd.choice(STAFF_FAMILY)}"


def partner_rows(rows: Rows, ids: Ids, organisation_id: int, place: str) -> list[dict]:
    """Add the partner directory of organisation ``organisation_id`` in ``place``; return
    the partners as dicts (id, kind, legal_domain) for referrals and consent scopes."""
    partners = []
    for name, kind, domain, contact in PARTNERS:
        partner_id = ids.take("partners")
        rows.add(
            "partners",
            partner_id,
            organisation_id,
            name.format(place=place),
            kind.value,
            domain,
            contact,
        )
        partners.append({"id": partner_id, "kind": kind, "legal_domain": domain})
    return partners


class SearchIndexes:
    """The blind and phonetic indexes of names and dates of birth, computed by
    ``Client.refresh_search_index`` (the code registration runs) on a transient Client, and
    kept per name pair and per date: the name pools are small, and the Kölner Phonetik costs
    about 0.1 ms a name. Valid for one blind-index key (one run)."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], tuple] = {}
        self._born: dict[dt.date, tuple] = {}

    def names(self, given: str, family: str) -> tuple:
        """Return (family index, given index, family phonetic, given phonetic)."""
        found = self._names.get((given, family))
        if found is None:
            person = Client(given_name=given, family_name=family)
            person.refresh_search_index()
            found = (
                person.family_name_index,
                person.given_name_index,
                person.family_name_phonetic,
                person.given_name_phonetic,
            )
            self._names[(given, family)] = found
        return found

    def born(self, day: dt.date) -> tuple:
        """Return (date-of-birth index, birth year) of the date of birth ``day``."""
        found = self._born.get(day)
        if found is None:
            person = Client(date_of_birth=day)
            person.refresh_search_index()
            found = (person.date_of_birth_index, person.birth_year)
            self._born[day] = found
        return found


@dataclass(frozen=True)
class CaseManager:
    """A generated case manager: user id, organisation, FTE, and how many cases to write."""

    user_id: int
    organisation_id: int
    fte: Decimal
    open_cases: int
    closed_cases: int


class CaseWriter:
    """Generates the clients and cases of one municipality with one seeded generator.

    ``partners``: the organisation's partner directory (``partner_rows``); ``store_scan``: a
    function that stores the encrypted consent scan under a new key (``ScanWriter.store``);
    ``indexes``: the search indexes computed so far (shared by all municipalities of a run).
    """

    def __init__(
        self,
        rnd: random.Random,
        ids: Ids,
        today: dt.date,
        partners: list[dict],
        store_scan,
        indexes: SearchIndexes,
    ) -> None:
        self.indexes = indexes
        self.rnd = rnd
        self.ids = ids
        self.today = today
        self.partners = partners
        self.authorities = [p for p in partners if p["kind"] is PartnerKind.AUTHORITY]
        self.store_scan = store_scan

    def cases_of(self, manager: CaseManager, rows: Rows) -> int:
        """Add the open and closed cases of ``manager`` to ``rows``; return how many."""
        for _ in range(manager.open_cases):
            self.case(manager, rows, closed=False)
        for _ in range(manager.closed_cases):
            self.case(manager, rows, closed=True)
        return manager.open_cases + manager.closed_cases

    # -- the client and the consent (R1) -------------------------------------------------------
    def client(
        self, manager: CaseManager, rows: Rows, registered: dt.date
    ) -> tuple[int, list[str], set[int]]:
        """Add a consent and its client registered on ``registered``; return the client id,
        the client's language codes and the partners of the consent's exchange scope."""
        rnd = self.rnd
        user = manager.user_id
        country = rnd.choices(ORIGIN_CODES, weights=ORIGIN_WEIGHTS)[0]
        female = rnd.random() < 0.55
        male_names, female_names, family_names = NAME_POOLS[NAME_GROUP[country]]
        given = rnd.choice(female_names if female else male_names)
        family = rnd.choice(family_names)
        born = self.today - dt.timedelta(days=between(rnd, 18 * 365, 65 * 365))
        languages = demo.LANGUAGES[country] + (["de"] if rnd.random() < 0.4 else [])
        at = moment(rnd, registered)
        consent_id = self.ids.take("consents")
        scan_key = f"{rnd.getrandbits(128):032x}"
        self.store_scan(scan_key)
        rows.add(
            "consents",
            consent_id,
            FORM_VERSION,
            rnd.choice(["de", "de", "ar", "uk", "tr"]),
            registered,
            True,
            scan_key,
            SCAN_MEDIA_TYPE,
            len(SCAN),
            user,
            at,
        )
        exchanges = {
            p["id"] for p in rnd.sample(self.authorities, k=rnd.choice([0, 1, 1, 2, 2, 3]))
        }
        for partner_id in sorted(exchanges):
            rows.add(
                "consent_exchanges", self.ids.take("consent_exchanges"), consent_id, partner_id
            )
        names = self.indexes.names(given, family)
        born_index, birth_year = self.indexes.born(born)
        client_id = self.ids.take("clients")
        rows.add(
            "clients",
            client_id,
            consent_id,
            manager.organisation_id,
            given,
            family,
            born,
            (Gender.FEMALE if female else Gender.MALE).value,
            country,
            ",".join(languages),
            rnd.choice(demo.RESIDENCE.get(country, demo.NON_EU_RESIDENCE)).value,
            names[0],
            names[1],
            born_index,
            names[2],
            names[3],
            birth_year,
            f"+49 {between(rnd, 150, 179)} {between(rnd, 1000000, 9999999)}"
            if rnd.random() < 0.7
            else None,
            f"{given}.{family}@example.org".lower().replace(" ", "")
            if rnd.random() < 0.2
            else None,
            user,
            at,
        )
        return client_id, demo.LANGUAGES[country], exchanges

    # -- the case -------------------------------------------------------------------------------
    def case(self, manager: CaseManager, rows: Rows, closed: bool) -> None:
        """Add one case of ``manager`` with its client and everything recorded in it."""
        rnd = self.rnd
        user = manager.user_id
        shape = plan.case_shape(rnd, self.today, closed)
        client_id, languages, exchanges = self.client(manager, rows, shape.opened_on)
        case_id = self.ids.take("cases")
        reason = shape.closure_reason
        closure_text = CLOSURE_TEXTS.get(reason) if reason and rnd.random() < 0.5 else None
        consultations = shape.consultation_days
        rows.add(
            "cases",
            case_id,
            client_id,
            user,
            manager.organisation_id,
            shape.kind.value,
            shape.stage.value,
            shape.opened_on,
            shape.last_on if shape.closed else None,
            reason.value if reason else None,
            closure_text,
            shape.last_on,
            consultations[-1] if consultations else None,
            moment(rnd, shape.opened_on),
            moment(rnd, shape.last_on),
            1,
        )
        rows.add(
            "classification_changes",
            self.ids.take("classification_changes"),
            case_id,
            None,
            shape.kind.value,
            None,
            user,
            moment(rnd, shape.opened_on, 9),
        )
        previous = None
        for step, (stage, day) in enumerate(zip(shape.stages, shape.stage_days, strict=True)):
            at = dt.datetime.combine(day, dt.time(9, 30 + step), LOCAL_ZONE).astimezone(dt.UTC)
            is_closure = stage is Stage.CLOSED
            rows.add(
                "stage_changes",
                self.ids.take("stage_changes"),
                case_id,
                previous.value if previous else None,
                stage.value,
                closure_text if is_closure else None,
                shape.last_on if is_closure else None,
                reason.value if is_closure else None,
                user,
                at,
            )
            previous = stage
        self._consultations(rows, case_id, user, consultations, languages)
        needs = self._needs(rows, case_id, user, shape)
        self._goals(rows, case_id, user, shape)
        self._assessment(rows, case_id, user, shape, needs)
        self._referrals(rows, case_id, user, shape, exchanges)
        self._monitoring(rows, case_id, user, shape)
        self._notes(rows, case_id, user, shape)
        self._follow_ups(rows, case_id, user, shape)

    def _consultations(self, rows, case_id, user, days, languages) -> None:
        rnd = self.rnd
        draw = rnd.random
        for held in days:
            entered = min(held + LAGS[int(draw() * len(LAGS))], self.today)
            interpreter = languages[int(draw() * len(languages))] if draw() < 0.3 else None
            rows.add(
                "consultations",
                self.ids.take("consultations"),
                case_id,
                held,
                DURATIONS[int(draw() * len(DURATIONS))],
                MODES[int(draw() * len(MODES))],
                interpreter is not None,
                interpreter,
                user,
                moment(rnd, entered),
                SUMMARIES[int(draw() * len(SUMMARIES))] if draw() < 0.3 else None,
            )

    def _needs(self, rows, case_id, user, shape: plan.CaseShape) -> list[str]:
        rnd = self.rnd
        count = plan.needs_required(shape, rnd)
        areas = rnd.sample(LIFE_AREAS, k=count)
        focus_left = (
            case_rules.KB_FOCUS_LIMIT if shape.kind is CaseKind.SHORT_COUNSELLING else count
        )
        day = (
            shape.entered(Stage.ASSESSMENT) if shape.reached(Stage.ASSESSMENT) else shape.opened_on
        )
        for area in areas:
            focus = focus_left > 0 and rnd.random() < 0.7
            focus_left -= focus
            domain = rnd.choice(demo.LEGAL_DOMAINS_BY_AREA.get(area, [None]))
            rows.add(
                "needs",
                self.ids.take("needs"),
                case_id,
                area.value,
                domain.value if domain else None,
                rnd.choice(demo.NEED_TEXTS[area]),
                focus,
                user,
                moment(rnd, day),
            )
        return [a.value for a in areas]

    def _goals(self, rows, case_id, user, shape: plan.CaseShape) -> None:
        rnd = self.rnd
        planned = shape.entered(Stage.PLANNING) if shape.reached(Stage.PLANNING) else None
        for text in rnd.sample(demo.GOAL_TEXTS, k=plan.goals_required(shape, rnd)):
            agreed = planned - dt.timedelta(days=between(rnd, 0, 3))
            agreed = max(agreed, shape.opened_on)
            status = rnd.choice(CLOSED_GOALS if shape.closed else OPEN_GOALS)
            rows.add(
                "goals",
                self.ids.take("goals"),
                case_id,
                text,
                agreed,
                rnd.choice(RESPONSIBLE),
                agreed + dt.timedelta(days=rnd.choice((30, 60, 90, 180))),
                status,
                user,
                moment(rnd, agreed),
            )

    def _assessment(self, rows, case_id, user, shape: plan.CaseShape, areas: list[str]) -> None:
        if not shape.reached(Stage.ASSESSMENT):
            return
        rnd = self.rnd
        assessment_id = self.ids.take("assessments")
        started = moment(rnd, shape.entered(Stage.ASSESSMENT), 11)
        rows.add("assessments", assessment_id, case_id, 1, user, started, started)
        for area in areas:
            rows.add(
                "assessment_areas",
                self.ids.take("assessment_areas"),
                assessment_id,
                area,
                rnd.choice(demo.SITUATIONS),
                rnd.choice(demo.RESOURCES),
            )

    def _referrals(self, rows, case_id, user, shape: plan.CaseShape, exchanges) -> None:
        rnd = self.rnd
        if shape.reached(Stage.LINKING):
            count, since = between(rnd, 1, 2), shape.entered(Stage.LINKING)
        elif shape.kind is CaseKind.SHORT_COUNSELLING and rnd.random() < 0.15:
            count, since = 1, shape.opened_on  # Verweisberatung out of a Kurzberatung
        else:
            return
        for partner in rnd.sample(self.partners, k=count):
            referred = since + dt.timedelta(
                days=between(rnd, 0, max(0, (shape.last_on - since).days))
            )
            status = rnd.choice(CLOSED_REFERRALS if shape.closed else OPEN_REFERRALS)
            at = moment(rnd, referred)
            rows.add(
                "referrals",
                self.ids.take("referrals"),
                case_id,
                partner["id"],
                referred,
                rnd.choice(demo.REFERRAL_PURPOSES),
                status,
                rnd.choice(demo.REFERRAL_OUTCOMES) if status in WITH_OUTCOME else None,
                partner["id"] in exchanges,  # data pass only with the exchange scope (R1)
                case_rules.is_verweisberatung(partner["legal_domain"]),
                user,
                at,
                at,
            )

    def _monitoring(self, rows, case_id, user, shape: plan.CaseShape) -> None:
        if not shape.reached(Stage.MONITORING):
            return
        rnd = self.rnd
        since = shape.entered(Stage.MONITORING)
        for _ in range(between(rnd, 1, 3)):
            day = since + dt.timedelta(days=between(rnd, 0, max(0, (shape.last_on - since).days)))
            rows.add(
                "monitoring_entries",
                self.ids.take("monitoring_entries"),
                case_id,
                day,
                rnd.choice(demo.MONITORING_TEXTS),
                user,
                moment(rnd, day),
            )

    def _notes(self, rows, case_id, user, shape: plan.CaseShape) -> None:
        rnd = self.rnd
        span = max(0, (shape.last_on - shape.opened_on).days)
        for _ in range(plan.notes_count(shape, rnd)):
            day = shape.opened_on + dt.timedelta(days=between(rnd, 0, span))
            kind = rnd.choice(NOTE_KINDS)
            text = rnd.choice(demo.NOTE_TEXTS[kind])
            note_id = self.ids.take("notes")
            rows.add(
                "notes", note_id, case_id, kind.value, day, text, None, user, moment(rnd, day, 17)
            )
            if rnd.random() < 0.05:  # a correction: a new version, the old one stays
                corrected = min(day + dt.timedelta(days=1), self.today)
                rows.add(
                    "notes",
                    self.ids.take("notes"),
                    case_id,
                    kind.value,
                    day,
                    text + " (Korrektur: Termin war am Folgetag.)",
                    note_id,
                    user,
                    moment(rnd, corrected, 9),
                )

    def _follow_ups(self, rows, case_id, user, shape: plan.CaseShape) -> None:
        rnd = self.rnd
        if not shape.closed and rnd.random() < 0.35:
            due = self.today + dt.timedelta(days=rnd.choice((-12, -5, -2, -1, 0, 0, 3, 7, 14, 21)))
            created = max(shape.opened_on, min(due, self.today) - dt.timedelta(days=14))
            rows.add(
                "follow_ups",
                self.ids.take("follow_ups"),
                case_id,
                due,
                rnd.choice(demo.FOLLOW_UP_TEXTS),
                user,
                moment(rnd, created),
                None,
                None,
            )
        if rnd.random() < 0.2:
            span = max(0, (shape.last_on - shape.opened_on).days)
            due = shape.opened_on + dt.timedelta(days=between(rnd, 0, span))
            rows.add(
                "follow_ups",
                self.ids.take("follow_ups"),
                case_id,
                due,
                rnd.choice(demo.FOLLOW_UP_TEXTS),
                user,
                moment(rnd, max(shape.opened_on, due - dt.timedelta(days=10))),
                moment(rnd, due),
                user,
            )


# Entry lag in days (R6: mostly the same day) and modes, repeated by weight for a fast draw.
LAGS = [
    dt.timedelta(days=d) for d, w in ((0, 72), (1, 12), (2, 8), (4, 5), (9, 3)) for _ in range(w)
]
DURATIONS = (30, 45, 60, 60, 90, 120)
MODES = [
    m.value
    for m, w in zip(ConsultationMode, (14, 3, 1, 2), strict=True)  # 70:15:5:10
    for _ in range(w)
]
LIFE_AREAS = list(LifeArea)
NOTE_KINDS = list(NoteKind)
RESPONSIBLE = [r.value for r in GoalResponsible]
OPEN_GOALS = [GoalStatus.OPEN.value, GoalStatus.IN_PROGRESS.value]
CLOSED_GOALS = [GoalStatus.ACHIEVED.value, GoalStatus.PARTLY.value, GoalStatus.NOT_ACHIEVED.value]
OPEN_REFERRALS = [s.value for s in ReferralStatus]
CLOSED_REFERRALS = [
    ReferralStatus.ENDED.value,
    ReferralStatus.TAKEN_UP.value,
    ReferralStatus.FAILED.value,
]
WITH_OUTCOME = {
    ReferralStatus.ENDED.value,
    ReferralStatus.TAKEN_UP.value,
    ReferralStatus.FAILED.value,
}
