"""Demo data on real figures: the Kreis Warendorf installation (``flask kimdb demo``).

Kreis Warendorf reported 10.40 filled case-management posts (Baustein 2) in the state's answer
to parliamentary question 498 (2022), ``shared/domain/004_67d84e76e29b5192.txt``. The demo's
case managers add up to exactly that FTE; about 550 cases over the last 18 months, a third of
them Case Management, with case managers below, within and above the 50–60 guideline
(FAQ KIM NRW Q33). Personal fields are encrypted exactly as in normal operation.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from faker import Faker
from flask import current_app
from sqlalchemy import select

from kimdb.auth.models import Role, Supervision, User
from kimdb.auth.service import hash_password
from kimdb.cases import rules
from kimdb.cases.models import (
    Assessment,
    AssessmentArea,
    Case,
    ClassificationChange,
    Consultation,
    ConsultationMode,
    FollowUp,
    Goal,
    GoalStatus,
    LegalDomain,
    LifeArea,
    MonitoringEntry,
    Need,
    Note,
    NoteKind,
    Referral,
    ReferralStatus,
    StageChange,
)
from kimdb.cases.rules import CaseKind, ClosureReason, Stage
from kimdb.clients.models import Client, Gender, ResidenceStatus
from kimdb.clients.service import storage
from kimdb.consent.models import Consent, ConsentExchange
from kimdb.emergency.models import EmergencyAccess
from kimdb.extensions import db, transaction
from kimdb.findings.demo import add_demo_findings
from kimdb.households.demo import add_demo_households
from kimdb.orgs.models import (
    Municipality,
    MunicipalityKind,
    Organisation,
    OrganisationKind,
    Partner,
    PartnerKind,
    Team,
)
from kimdb.orgs.service import STATE_NAME, seed_municipalities
from kimdb.reports import facts as report_facts
from kimdb.substitution.models import Substitution
from kimdb.timeutil import LOCAL_ZONE, now, today

DEMO_PASSWORD = "kimdb-demo"  # noqa: S105 - the published demo password
MUNICIPALITY = "Kreis Warendorf"
KI = "Kommunales Integrationszentrum Kreis Warendorf"
STATE = STATE_NAME
KFI = "Kompetenzzentrum für Integration (KfI)"
CARITAS = "Caritasverband für das Dekanat Ahlen e.V."
DIAKONIE = "Diakonie Münsterland – Migrationsdienst Warendorf"
FILLED_POSTS = Decimal("10.40")  # Kreis Warendorf, Baustein 2, filled posts (Drucksache 498)


OLD_CLOSED_CASES = 6  # closed ~3.5 years ago: due for the retention purge
TEAM_NORTH = "Team Nord (Warendorf, Ostbevern, Telgte)"
TEAM_SOUTH = "Team Süd (Ahlen, Beckum, Oelde)"


@dataclass(frozen=True)
class DemoCaseManager:
    """A demo case manager: login, name, organisation, FTE, open and closed cases wanted, and
    the team within the organisation (None: no team)."""

    username: str
    name: str
    organisation: str
    fte: Decimal
    open_cases: int
    closed_cases: int
    team: str | None = None


CASE_MANAGERS = (
    DemoCaseManager("cm.above", "Leyla Demir", KI, Decimal("0.50"), 36, 6, TEAM_NORTH),
    DemoCaseManager("cm.within", "Jonas Brüggemann", KI, Decimal("1.00"), 52, 9, TEAM_NORTH),
    DemoCaseManager("cm.below", "Anna Schulte", KI, Decimal("1.00"), 28, 8, TEAM_NORTH),
    DemoCaseManager("cm.hoffmann", "Sarah Hoffmann", KI, Decimal("1.00"), 42, 8, TEAM_NORTH),
    DemoCaseManager("cm.yilmaz", "Murat Yılmaz", KI, Decimal("0.80"), 44, 7, TEAM_SOUTH),
    DemoCaseManager("cm.kowalski", "Ewa Kowalski", KI, Decimal("0.80"), 30, 6, TEAM_SOUTH),
    DemoCaseManager("cm.rahimi", "Soraya Rahimi", KI, Decimal("0.50"), 27, 5, TEAM_SOUTH),
    DemoCaseManager("cm.wessels", "Thomas Wessels", CARITAS, Decimal("1.00"), 38, 8),
    DemoCaseManager("cm.haddad", "Rania Haddad", CARITAS, Decimal("1.00"), 47, 8),
    DemoCaseManager("cm.becker", "Miriam Becker", CARITAS, Decimal("0.80"), 35, 6),
    DemoCaseManager("cm.ahmadi", "Farid Ahmadi", DIAKONIE, Decimal("1.00"), 30, 7),
    DemoCaseManager("cm.lange", "Katrin Lange", DIAKONIE, Decimal("0.50"), 18, 5),
    DemoCaseManager("cm.petrenko", "Olena Petrenko", DIAKONIE, Decimal("0.50"), 33, 6),
)

# Who logs in to the demo (all with DEMO_PASSWORD), and what they show.
DEMO_LOGINS = (
    ("cm.above", "case manager above the guideline (team north)"),
    ("cm.within", "case manager within the guideline"),
    ("cm.below", "case manager below the guideline, absent: substituted by cm.hoffmann"),
    ("cm.hoffmann", "case manager substituting cm.below"),
    ("supervisor", "supervisor of the Kommunales Integrationszentrum (both teams); 2FA code"),
    ("tl.sued", "team leader of team south only; 2FA code"),
    ("sv.caritas", "supervisor of the Caritas case management; 2FA code"),
    ("admin", "administration of Kreis Warendorf (users, teams; no client data); 2FA code"),
    ("dsb", "data protection officer (audit log, emergency accesses, records); 2FA code"),
    ("kfi", "state: Kompetenzzentrum für Integration, statewide and county reports; 2FA code"),
)

# Authenticator-app secrets of the demo users whose role requires the two-factor login
# (issue 6 item 7). Published on purpose, like DEMO_PASSWORD: `flask kimdb demo-code <user>`
# prints the current code, or add a secret to an authenticator app by hand.
DEMO_TOTP_SECRETS = {
    "supervisor": "KIMDBDEMOSUPERVISORKREISWARENDRF",
    "tl.sued": "KIMDBDEMOTEAMLEITUNGSUEDKREISWAF",
    "sv.caritas": "KIMDBDEMOCARITASKOORDINATIONWAFX",
    "admin": "KIMDBDEMOFACHADMINISTRATIONWAFXY",
    "dsb": "KIMDBDEMODATENSCHUTZBEAUFTRAGTEX",
    "kfi": "KIMDBDEMOKOMPETENZZENTRUMINTEGRA",
}

# Where KIM clients come from (weights); names for scripts Faker cannot romanise are drawn
# from transliterated lists by Faker's seeded random generator.
ORIGINS = {
    "SY": 22,
    "UA": 18,
    "TR": 12,
    "IQ": 10,
    "AF": 10,
    "IR": 5,
    "ER": 4,
    "RO": 5,
    "PL": 3,
    "BG": 3,
    "SO": 2,
    "GN": 2,
    "RU": 2,
    "AZ": 2,
}
FAKER_LOCALES = {"TR": "tr_TR", "RO": "ro_RO", "PL": "pl_PL", "AZ": "az_AZ"}
NAMES = {
    "arabic": (
        [
            "Ahmad",
            "Mohammed",
            "Omar",
            "Khaled",
            "Yusuf",
            "Hassan",
            "Ali",
            "Mahmoud",
            "Bilal",
            "Tarek",
            "Samir",
            "Karim",
        ],
        [
            "Fatima",
            "Aisha",
            "Rania",
            "Lina",
            "Nour",
            "Huda",
            "Amal",
            "Mariam",
            "Yasmin",
            "Rasha",
            "Dalia",
            "Salma",
        ],
        [
            "Al-Hassan",
            "Haddad",
            "Khalil",
            "Mansour",
            "Nasser",
            "Saleh",
            "Darwish",
            "Hamdan",
            "Al-Ali",
            "Ibrahim",
            "Qasim",
            "Othman",
            "Shaker",
            "Barakat",
        ],
    ),
    "kurdish": (
        ["Azad", "Dilshad", "Rebwar", "Shivan", "Karwan", "Baran", "Hozan"],
        ["Berivan", "Dilan", "Rojda", "Shilan", "Nazdar", "Avin", "Jiyan"],
        ["Barzani", "Zebari", "Hussein", "Mustafa", "Murad", "Khidir", "Sheikho"],
    ),
    "farsi": (
        ["Ahmad Shah", "Mohammad Reza", "Farid", "Jawad", "Hamid", "Sohrab", "Navid", "Bashir"],
        ["Zahra", "Maryam", "Fereshteh", "Shirin", "Parisa", "Nilofar", "Soraya", "Marzia"],
        ["Ahmadi", "Rahimi", "Hosseini", "Karimi", "Haidari", "Nazari", "Mohammadi", "Sultani"],
    ),
    "ukrainian": (
        ["Oleksandr", "Andrii", "Dmytro", "Serhii", "Mykola", "Ivan", "Bohdan", "Yurii"],
        ["Olena", "Iryna", "Nataliia", "Tetiana", "Oksana", "Yuliia", "Kateryna", "Halyna"],
        [
            "Shevchenko",
            "Kovalenko",
            "Bondarenko",
            "Tkachenko",
            "Kravchenko",
            "Melnyk",
            "Petrenko",
            "Oliinyk",
            "Moroz",
            "Lysenko",
        ],
    ),
    "russian": (
        ["Aleksei", "Sergei", "Dmitrii", "Igor"],
        ["Svetlana", "Elena", "Olga", "Natalia"],
        ["Ivanov", "Smirnov", "Kuznetsov", "Popov", "Sokolov"],
    ),
    "eritrean": (
        ["Yonas", "Tesfaye", "Dawit", "Mehari", "Filmon"],
        ["Selam", "Helen", "Saba", "Mebrat", "Rahel"],
        ["Tesfamariam", "Ghebremedhin", "Haile", "Kidane", "Berhane", "Tekle"],
    ),
    "somali": (
        ["Abdi", "Mohamed", "Abdullahi", "Liban"],
        ["Hodan", "Amina", "Sahra", "Ifrah"],
        ["Warsame", "Farah", "Jama", "Hirsi", "Osman"],
    ),
    "bulgarian": (
        ["Georgi", "Dimitar", "Ivan", "Nikolai"],
        ["Mariya", "Elena", "Desislava", "Petya"],
        ["Georgiev", "Dimitrova", "Petrov", "Ivanova", "Stoyanov"],
    ),
    "guinean": (
        ["Mamadou", "Alpha", "Ibrahima", "Ousmane"],
        ["Fatoumata", "Mariama", "Kadiatou", "Aissatou"],
        ["Diallo", "Bah", "Barry", "Sow", "Camara"],
    ),
}
NAME_GROUP = {
    "SY": "arabic",
    "IQ": "kurdish",
    "AF": "farsi",
    "IR": "farsi",
    "UA": "ukrainian",
    "RU": "russian",
    "ER": "eritrean",
    "SO": "somali",
    "GN": "guinean",
    "BG": "bulgarian",
}
LANGUAGES = {
    "SY": ["ar"],
    "IQ": ["ar", "ku"],
    "AF": ["fa", "ps"],
    "IR": ["fa"],
    "UA": ["uk", "ru"],
    "TR": ["tr"],
    "ER": ["ti"],
    "RO": ["ro"],
    "PL": ["pl"],
    "BG": ["bg"],
    "SO": ["so"],
    "GN": ["fr"],
    "RU": ["ru"],
    "AZ": ["ru", "tr"],
}
RESIDENCE = {
    "UA": [ResidenceStatus.TEMPORARY_PROTECTION],
    "RO": [ResidenceStatus.EU],
    "PL": [ResidenceStatus.EU],
    "BG": [ResidenceStatus.EU],
}
NON_EU_RESIDENCE = [ResidenceStatus.RESIDENCE_PERMIT] * 5 + [
    ResidenceStatus.ASYLUM_PENDING,
    ResidenceStatus.ASYLUM_PENDING,
    ResidenceStatus.TOLERATED,
    ResidenceStatus.SETTLEMENT,
    ResidenceStatus.GERMAN,
]
NEED_TEXTS = {
    LifeArea.RESIDENCE_LAW: [
        "Verlängerung der Aufenthaltserlaubnis klären",
        "Perspektive Bleiberecht nach § 25b AufenthG prüfen",
    ],
    LifeArea.ORIENTATION: ["Orientierung im Behördensystem", "Anmeldung und Termine bei Ämtern"],
    LifeArea.LANGUAGE: ["Platz im Integrationskurs gesucht", "Berufssprachkurs B2 gewünscht"],
    LifeArea.EDUCATION: ["Anerkennung des Schulabschlusses", "Schulplatz für Kinder"],
    LifeArea.WORK: [
        "Anerkennung des Berufsabschlusses",
        "Suche nach Ausbildungsplatz",
        "Unterstützung bei Bewerbungen",
    ],
    LifeArea.HOUSING: [
        "Wohnungssuche aus der Gemeinschaftsunterkunft",
        "Mietrückstände und drohender Wohnungsverlust",
    ],
    LifeArea.HEALTH: ["Facharzttermin und Sprachmittlung", "Psychosoziale Unterstützung"],
    LifeArea.FINANCES: ["Antrag auf Bürgergeld begleiten", "Schulden und Ratenzahlungen"],
    LifeArea.FAMILY: ["Kitaplatz für zwei Kinder", "Familiennachzug vorbereiten"],
    LifeArea.PARTICIPATION: [
        "Kontakt zu Vereinen und Ehrenamt",
        "Freizeitangebote für Jugendliche",
    ],
}
LEGAL_DOMAINS_BY_AREA = {
    LifeArea.RESIDENCE_LAW: [LegalDomain.AUFENTHG, LegalDomain.STAG],
    LifeArea.WORK: [LegalDomain.SGB_II, LegalDomain.SGB_III],
    LifeArea.FINANCES: [LegalDomain.SGB_II, LegalDomain.SGB_XII, LegalDomain.ASYLBLG],
    LifeArea.FAMILY: [LegalDomain.SGB_VIII],
    LifeArea.LANGUAGE: [LegalDomain.MBE, LegalDomain.JMD],
}
GOAL_TEXTS = [
    "Anmeldung zum Integrationskurs ist erfolgt",
    "Unterlagen zur Anerkennung sind eingereicht",
    "Eine eigene Wohnung ist gefunden",
    "Die Kinder besuchen die Kita",
    "Bewerbungsunterlagen liegen vor",
    "Antrag beim Jobcenter ist gestellt",
    "Termin bei der Ausländerbehörde ist wahrgenommen",
    "Kontakt zum Sportverein besteht",
]
PARTNERS = (
    ("Jobcenter Kreis Warendorf", PartnerKind.AUTHORITY, "sgb_ii", "Tel. 02581 53-0"),
    ("Agentur für Arbeit Ahlen-Münster", PartnerKind.AUTHORITY, "sgb_iii", "Tel. 0800 4 5555 00"),
    ("Jugendamt Kreis Warendorf", PartnerKind.AUTHORITY, "sgb_viii", "Tel. 02581 53-51"),
    ("Ausländerbehörde Kreis Warendorf", PartnerKind.AUTHORITY, "aufenthg", "Tel. 02581 53-32"),
    ("Sozialamt Stadt Ahlen", PartnerKind.AUTHORITY, "sgb_xii", "Rathaus Ahlen"),
    ("Migrationsberatung für Erwachsene (MBE) Caritas", PartnerKind.COUNSELLING, "mbe", None),
    ("Jugendmigrationsdienst Beckum", PartnerKind.COUNSELLING, "jmd", None),
    ("Schuldnerberatung Diakonie", PartnerKind.COUNSELLING, None, None),
    ("Integrationskursträger VHS Warendorf", PartnerKind.EDUCATION, None, "vhs-warendorf.de"),
    ("Anerkennungsberatung IQ Netzwerk NRW", PartnerKind.LABOUR, None, None),
    ("Psychosoziales Zentrum für Geflüchtete Münster", PartnerKind.HEALTH, None, None),
    ("Wohnungslosenhilfe Ahlen", PartnerKind.HOUSING, None, None),
    ("Sportverein TuS Freckenhorst", PartnerKind.COMMUNITY, None, None),
)
SITUATIONS = (
    "Lage stabil, aber Unterlagen fehlen.",
    "Dringender Handlungsbedarf, Fristen laufen.",
    "Erste Schritte sind gemacht, Begleitung nötig.",
    "Unklare Zuständigkeit der Ämter.",
)
RESOURCES = (
    "Gute Deutschkenntnisse (B1).",
    "Unterstützung durch Familie vor Ort.",
    "Berufserfahrung aus dem Herkunftsland.",
    "Hohe Eigenmotivation.",
    "Ehrenamtliche Patenschaft.",
)
REFERRAL_PURPOSES = (
    "Antrag auf Leistungen stellen",
    "Beratung zur Anerkennung",
    "Kursplatz vermitteln",
    "Klärung des Aufenthaltsstatus",
    "Psychosoziale Beratung",
    "Wohnungssuche unterstützen",
)
REFERRAL_OUTCOMES = (
    "Termin wahrgenommen, Antrag gestellt",
    "Angebot passt, läuft",
    "Wartezeit zu lang",
    "Nicht erschienen",
    "Erfolgreich abgeschlossen",
)
MONITORING_TEXTS = (
    "Kurs läuft regelmäßig, Anwesenheit gut.",
    "Jobcenter hat Antrag bewilligt.",
    "Termin bei der Ausländerbehörde verschoben.",
    "Wohnungsbesichtigung vereinbart.",
    "Vereinbarte Schritte weitgehend umgesetzt.",
)
NOTE_TEXTS = {
    NoteKind.CONSULTATION: (
        "Gespräch zur aktuellen Lage, nächste Schritte vereinbart.",
        "Unterlagen gemeinsam gesichtet, Kopien angefertigt.",
    ),
    NoteKind.PHONE_CALL: (
        "Rückruf vom Jobcenter, Unterlagen vollständig.",
        "Telefonat mit der Kita, Platz ab nächstem Monat.",
    ),
    NoteKind.DOCUMENT: ("Bescheid eingegangen und erläutert.", "Antrag per Post versandt."),
    NoteKind.INTERNAL: ("Fall in der Teamberatung besprochen.", "Vertretung informiert."),
}
FOLLOW_UP_TEXTS = (
    "Nachfragen, ob der Bescheid da ist",
    "Termin Ausländerbehörde vorbereiten",
    "Kursanmeldung prüfen",
    "Rückruf Jobcenter",
    "Unterlagen zur Anerkennung nachreichen",
)
# A minimal, valid one-page PDF standing in for the signed scan.
DEMO_SCAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def build_demo(seed: int = 2026) -> str:
    """Build the Kreis Warendorf demo installation unless it exists; return a summary line.

    Idempotent: a second run finds the demo users and writes nothing. Ends with a refresh of
    the state report's facts (``kimdb.reports.facts.refresh``).
    """
    seed_municipalities()  # the 54 municipalities of NRW; Kreis Warendorf is one of them
    if db.session.scalar(select(User.id).where(User.username == "cm.above")):
        return "Demo data already present; nothing changed."
    builder = _Builder(seed)
    with transaction():
        builder.build()
    withdrawn = _withdraw_one_consent()
    # The state report's nightly facts, so the demo shows that path too (stale after 36 h:
    # then the report is computed live, or run `flask kimdb refresh-report-facts`).
    report_facts.refresh(current_app.config["STATS_MIN_CELL"])
    return (
        f"Demo data built: {builder.case_count} cases of {len(CASE_MANAGERS)} case "
        f"managers ({sum(c.fte for c in CASE_MANAGERS)} FTE) in {MUNICIPALITY}, "
        f"{builder.households} households, {builder.findings} structural findings, "
        f"{OLD_CLOSED_CASES} cases closed longer ago than the retention period "
        f"(`flask kimdb purge --dry-run`), client {withdrawn} with a withdrawn consent."
    )


def _withdraw_one_consent() -> int:
    """Withdraw the consent of one client of cm.within whose case is closed (R2), through the
    real use case: the anonymous remainder and the audit entry are what a DPO then checks."""
    from kimdb.privacy.service import withdraw_consent

    owner = db.session.scalar(select(User).where(User.username == "cm.within"))
    client = db.session.scalar(
        select(Client)
        .join(Case, Case.client_id == Client.id)
        .where(Case.owner_id == owner.id, Case.stage == Stage.CLOSED, Client.household_id.is_(None))
        .order_by(Client.id)
        .limit(1)
    )
    withdraw_consent(client, owner)
    return client.id


class _Builder:
    """Writes the demo installation with one seeded random generator (deterministic)."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.faker = Faker("de_DE")
        self.faker.seed_instance(seed)
        self.fakers = {c: Faker(loc) for c, loc in FAKER_LOCALES.items()}
        for i, fake in enumerate(self.fakers.values()):
            fake.seed_instance(seed + i + 1)
        self.today = today()
        self.case_count = 0
        self.password_hash = hash_password(DEMO_PASSWORD)
        self.partners: dict[str, list[Partner]] = {}
        self.clients_by_user: dict[User, list[Client]] = {}
        self.findings = 0
        self.households = 0

    def build(self) -> None:
        """Write municipality, organisations, partner directories, users, cases and the rest."""
        session = db.session
        municipality = session.scalar(
            select(Municipality).where(Municipality.name == MUNICIPALITY)
        ) or Municipality(name=MUNICIPALITY, kind=MunicipalityKind.COUNTY)
        orgs = {
            KI: Organisation(
                name=KI, kind=OrganisationKind.INTEGRATION_CENTRE, municipality=municipality
            ),
            CARITAS: Organisation(
                name=CARITAS, kind=OrganisationKind.WELFARE, municipality=municipality
            ),
            DIAKONIE: Organisation(
                name=DIAKONIE, kind=OrganisationKind.WELFARE, municipality=municipality
            ),
        }
        session.add_all(orgs.values())
        teams = {name: Team(name=name, organisation=orgs[KI]) for name in (TEAM_NORTH, TEAM_SOUTH)}
        session.add_all(teams.values())
        for org in orgs.values():
            self.partners[org.name] = [
                Partner(
                    organisation=org, name=name, kind=kind, legal_domain=domain, contact=contact
                )
                for name, kind, domain, contact in PARTNERS
            ]
            session.add_all(self.partners[org.name])
        # The state's office (issue 7 item 5): runs no case management, reads the reports.
        state = session.scalar(
            select(Municipality).where(Municipality.name == STATE)
        ) or Municipality(name=STATE, kind=MunicipalityKind.STATE)
        orgs[KFI] = Organisation(
            name=KFI, kind=OrganisationKind.MUNICIPAL_OFFICE, municipality=state
        )
        session.add(orgs[KFI])
        session.flush()
        for username, name, role, org, supervises in (
            ("supervisor", "Martina Vogt", Role.SUPERVISOR, KI, Supervision(organisation=orgs[KI])),
            ("tl.sued", "Hakan Öztürk", Role.SUPERVISOR, KI, Supervision(team=teams[TEAM_SOUTH])),
            (
                "sv.caritas",
                "Ursula Hölscher",
                Role.SUPERVISOR,
                CARITAS,
                Supervision(organisation=orgs[CARITAS]),
            ),
            ("admin", "Peter Brinkmann", Role.ADMIN, KI, None),
            ("dsb", "Dr. Claudia Reuter", Role.DPO, KI, None),
            ("kfi", "Kompetenzzentrum für Integration", Role.STATE, KFI, None),
        ):
            session.add(
                User(
                    username=username,
                    display_name=name,
                    role=role,
                    organisation=orgs[org],
                    fte=Decimal("1.00"),
                    password_hash=self.password_hash,
                    supervisions=[supervises] if supervises else [],
                    totp_secret=DEMO_TOTP_SECRETS[username],
                    totp_enabled_at=now(),
                )
            )
        for spec in CASE_MANAGERS:
            user = User(
                username=spec.username,
                display_name=spec.name,
                role=Role.CASE_MANAGER,
                organisation=orgs[spec.organisation],
                team=teams.get(spec.team),
                password_hash=self.password_hash,
            )
            self._fte_history(user, spec.fte)
            session.add(user)
            session.flush()
            self.clients_by_user[user] = []
            for i in range(spec.open_cases + spec.closed_cases):
                self._case(user, closed=i >= spec.open_cases)
        session.flush()
        self._staff_changes(orgs[KI], teams[TEAM_SOUTH])
        self._old_cases(next(u for u in self.clients_by_user if u.username == "cm.within"))
        case_managers = list(self.clients_by_user)
        self.findings = add_demo_findings(self.random, case_managers, self.today)
        self.households = add_demo_households(self.random, self.clients_by_user, self.today)
        for clients in self.clients_by_user.values():
            for client in clients:  # households may have aligned family names
                client.refresh_search_index()
        session.flush()

    def _old_cases(self, user: User) -> None:
        """Cases closed more than three years ago (before KIMDB_RETENTION_DAYS' default): the
        retention purge would erase their clients' personal data (issue 6 item 5)."""
        real_today = self.today
        self.today = real_today - dt.timedelta(days=1200)  # the cases' dates lie that far back
        try:
            for _ in range(OLD_CLOSED_CASES):
                self._case(user, closed=True)
        finally:
            self.today = real_today

    def _fte_history(self, user: User, fte: Decimal) -> None:
        """Give ``user`` the FTE ``fte`` today; some had a full post before (FTE over time)."""
        start = self.today - dt.timedelta(days=600)
        if fte < 1 and self.random.random() < 0.5:
            user.set_fte(Decimal("1.00"), start)
            user.set_fte(fte, self.today - dt.timedelta(days=self.random.randint(90, 300)))
        else:
            user.set_fte(fte, start)

    def _staff_changes(self, ki: Organisation, team: Team) -> None:
        """A case manager who has left (deactivated, cases waiting for a new owner) and a
        running substitution (issue "Supervision, substitution, takeover")."""
        session = db.session
        left = User(
            username="cm.left",
            display_name="Bernd Kötter (ausgeschieden)",
            role=Role.CASE_MANAGER,
            organisation=ki,
            team=team,
            password_hash=self.password_hash,
            active=False,
        )
        self._fte_history(left, Decimal("0.50"))
        session.add(left)
        session.flush()
        self.clients_by_user[left] = []
        for _ in range(9):
            self._case(left, closed=False)
        by_name = {u.username: u for u in self.clients_by_user}
        team_leader = db.session.scalar(select(User).where(User.username == "tl.sued"))
        ill = by_name["cm.yilmaz"]
        yesterday = dt.datetime.combine(
            self.today - dt.timedelta(days=1), dt.time(10, 15), LOCAL_ZONE
        )
        session.add(  # Break the glass: cm.yilmaz sees it at the next login, the DPO in the log
            EmergencyAccess(
                case=db.session.scalar(
                    select(Case)
                    .where(Case.owner_id == ill.id, Case.stage != Stage.CLOSED)
                    .order_by(Case.id)
                    .limit(1)
                ),
                supervisor_id=team_leader.id,
                owner_id=ill.id,
                reason="Klient steht mit Räumungsklage vor der Tür; Herr Yılmaz ist kurzfristig "
                "erkrankt, keine Vertretung eingetragen.",
                granted_at=yesterday,
                expires_at=yesterday + dt.timedelta(hours=4),
            )
        )
        session.add(
            Substitution(
                absent_user_id=by_name["cm.below"].id,
                substitute_id=by_name["cm.hoffmann"].id,
                first_day=self.today - dt.timedelta(days=2),
                last_day=self.today + dt.timedelta(days=12),
                set_by_id=by_name["cm.below"].id,
            )
        )

    # -- one client and case -------------------------------------------------------------
    def _name(self, country: str, female: bool) -> tuple[str, str]:
        if country in self.fakers:
            fake = self.fakers[country]
            given = fake.first_name_female() if female else fake.first_name_male()
            return given, fake.last_name()
        male_names, female_names, family = NAMES[NAME_GROUP[country]]
        given = self.faker.random_element(female_names if female else male_names)
        return given, self.faker.random_element(family)

    def _client(self, user: User, registered: dt.date) -> Client:
        rnd = self.random
        country = rnd.choices(list(ORIGINS), weights=list(ORIGINS.values()))[0]
        female = rnd.random() < 0.55
        given, family = self._name(country, female)
        age_days = rnd.randint(18 * 365, 65 * 365)
        consent = Consent(
            form_version="2026-01",
            form_language=rnd.choice(["de", "de", "ar", "uk", "tr"]),
            signed_on=registered,
            processing_agreed=True,
            scan_key=storage().put(DEMO_SCAN),
            scan_media_type="application/pdf",
            scan_size=len(DEMO_SCAN),
            recorded_by=user,
            exchanges=[
                ConsentExchange(partner=p)
                for p in rnd.sample(
                    [p for p in self._partners_of(user) if p.kind is PartnerKind.AUTHORITY],
                    k=rnd.choice([0, 1, 1, 2, 2, 3]),
                )
            ],
        )
        client = Client(
            consent=consent,
            organisation_id=user.organisation_id,
            given_name=given,
            family_name=family,
            date_of_birth=self.today - dt.timedelta(days=age_days),
            gender=Gender.FEMALE if female else Gender.MALE,
            country_of_origin=country,
            languages=",".join(LANGUAGES[country] + (["de"] if rnd.random() < 0.4 else [])),
            residence_status=rnd.choice(RESIDENCE.get(country, NON_EU_RESIDENCE)),
            phone=f"+49 2581 {rnd.randint(100000, 999999)}" if rnd.random() < 0.7 else None,
            registered_by=user,
        )
        client.refresh_search_index()
        self.clients_by_user[user].append(client)
        return client

    def _partners_of(self, user: User) -> list[Partner]:
        return next(
            partners
            for name, partners in self.partners.items()
            if partners and partners[0].organisation is user.organisation
        )

    def _moment(self, day: dt.date, hour: int | None = None) -> dt.datetime:
        local = dt.datetime.combine(
            day, dt.time(hour or self.random.randint(8, 16), self.random.randint(0, 59)), LOCAL_ZONE
        )
        return local.astimezone(dt.UTC)

    def _case(self, user: User, closed: bool) -> None:
        rnd = self.random
        kind = (
            CaseKind.CASE_MANAGEMENT
            if rnd.random() < (0.36 if user.username != "cm.above" else 0.45)
            else CaseKind.SHORT_COUNSELLING
        )
        # Open KB cases are young (a few consultations); CM cases run up to 18 months.
        if closed:
            span = 540
        elif kind is CaseKind.SHORT_COUNSELLING:
            span = 120
        else:
            span = 520
        opened = self.today - dt.timedelta(days=int(span * rnd.random() ** 1.2))
        client = self._client(user, opened)
        case = Case(
            client=client,
            owner=user,
            organisation_id=user.organisation_id,
            kind=kind,
            stage=Stage.INTAKE,
            opened_on=opened,
            last_activity_on=opened,
        )
        db.session.add(case)
        self.case_count += 1

        path = rules.path(kind)
        if closed:
            target = Stage.CLOSED
        elif kind is CaseKind.CASE_MANAGEMENT:
            target = rnd.choices(path[:-1], weights=[10, 20, 20, 20, 25, 5])[0]
        else:
            target = rnd.choices(path[:-1], weights=[25, 75])[0]
        reached = path[: path.index(target) + 1]

        # Consultations: KB usually 2, CM more. The last one of an open case is recent, except
        # for ~12 % of open cases that fell silent 31–120 days ago (R6 flags them).
        if closed:
            last_day = opened + dt.timedelta(
                days=rnd.randint(0, min(200, (self.today - opened).days))
            )
        elif rnd.random() < 0.12:
            last_day = self.today - dt.timedelta(days=rnd.randint(31, 120))
        else:
            last_day = self.today - dt.timedelta(days=rnd.randint(0, 25))
        horizon = max(min(last_day, self.today), opened)
        count = (
            rnd.choice([1, 2, 2, 2, 3, 4])
            if kind is CaseKind.SHORT_COUNSELLING
            else rnd.randint(2, 10)
        )
        if closed and kind is CaseKind.SHORT_COUNSELLING and count < 2 and rnd.random() < 0.5:
            count = 2
        days = sorted(
            opened + dt.timedelta(days=rnd.randint(0, (horizon - opened).days))
            for _ in range(count)
        )
        if days:
            days[0], days[-1] = opened, horizon
            days.sort()
        for held in days:
            lag = rnd.choices([0, 1, 2, 4, 9], weights=[72, 12, 8, 5, 3])[0]
            entered_day = min(held + dt.timedelta(days=lag), self.today)
            case.consultations.append(
                Consultation(
                    held_on=held,
                    duration_minutes=rnd.choice([30, 45, 60, 60, 90, 120]),
                    mode=rnd.choices(list(ConsultationMode), weights=[70, 15, 5, 10])[0],
                    interpreter_language=(
                        rnd.choice(LANGUAGES[client.country_of_origin])
                        if rnd.random() < 0.3
                        else None
                    ),
                    entered_by=user,
                    entered_at=self._moment(entered_day),
                )
            )
            case.consultations[-1].interpreter_used = bool(
                case.consultations[-1].interpreter_language
            )
        last = max(days) if days else opened
        case.last_consultation_on = max(days) if days else None

        # Needs and goals so that every stage reached has what it needs (R4).
        focus_left = rules.KB_FOCUS_LIMIT if kind is CaseKind.SHORT_COUNSELLING else 99
        needs_count = (
            rnd.randint(1, 2)
            if kind is CaseKind.SHORT_COUNSELLING
            else (rnd.randint(2, 5) if Stage.ASSESSMENT in reached else rnd.randint(0, 1))
        )
        for area in rnd.sample(list(LifeArea), k=needs_count):
            focus = focus_left > 0 and rnd.random() < 0.7
            focus_left -= focus
            domain = rnd.choice(LEGAL_DOMAINS_BY_AREA.get(area, [None]))
            case.needs.append(
                Need(
                    life_area=area,
                    legal_domain=domain,
                    description=rnd.choice(NEED_TEXTS[area]),
                    in_focus=focus,
                    recorded_by_id=user.id,
                    recorded_at=self._moment(opened),
                )
            )
        if Stage.PLANNING in reached:
            for text in rnd.sample(GOAL_TEXTS, k=rnd.randint(1, 3)):
                agreed = min(opened + dt.timedelta(days=rnd.randint(7, 40)), last)
                status = (
                    rnd.choice([GoalStatus.ACHIEVED, GoalStatus.PARTLY, GoalStatus.NOT_ACHIEVED])
                    if closed
                    else rnd.choice([GoalStatus.OPEN, GoalStatus.IN_PROGRESS])
                )
                case.goals.append(
                    Goal(
                        text=text,
                        agreed_on=agreed,
                        status=status,
                        recorded_by_id=user.id,
                        recorded_at=self._moment(agreed),
                    )
                )

        # History: first classification and every stage up to the one reached.
        case.classification_changes.append(
            ClassificationChange(
                to_kind=kind,
                changed_by=user,
                changed_at=dt.datetime.combine(opened, dt.time(9, 0), LOCAL_ZONE).astimezone(
                    dt.UTC
                ),
            )
        )
        step_days = [
            opened + (last - opened) * i / max(1, len(reached) - 1) for i in range(len(reached))
        ]
        previous = None
        for step, (stage, day) in enumerate(zip(reached, step_days, strict=True)):
            moment = dt.datetime.combine(day, dt.time(9, 30), LOCAL_ZONE)
            case.stage_changes.append(
                StageChange(
                    from_stage=previous,
                    to_stage=stage,
                    changed_by=user,
                    changed_at=(moment + dt.timedelta(minutes=step)).astimezone(dt.UTC),
                )
            )
            previous = stage
        case.stage = target
        case.last_activity_on = last
        if closed:
            case.closed_on = last
            few = kind is CaseKind.SHORT_COUNSELLING and count < rules.KB_MIN_CONSULTATIONS
            case.closure_reason = (
                rnd.choice([ClosureReason.CONTACT_BROKE_OFF, ClosureReason.MOVED_AWAY])
                if few
                else rnd.choice(
                    [ClosureReason.GOALS_ACHIEVED] * 4
                    + [ClosureReason.REFERRED, ClosureReason.MOVED_AWAY, ClosureReason.CLIENT_ENDED]
                )
            )
        self._casework(case, user, reached, opened, last, closed)

    # -- the method between intake and closure ---------------------------------------------
    def _casework(self, case, user, reached, opened, last, closed) -> None:
        """Assessment, referrals, monitoring, notes and follow-ups fitting the stages reached."""
        rnd = self.random
        span = max(0, (last - opened).days)

        def day_between(start_share: float = 0.0) -> dt.date:
            return opened + dt.timedelta(days=int(span * rnd.uniform(start_share, 1.0)))

        def entered(stage: Stage) -> dt.date:
            moment = next(c.changed_at for c in case.stage_changes if c.to_stage is stage)
            return moment.astimezone(LOCAL_ZONE).date()

        def day_after(stage: Stage) -> dt.date:
            start = entered(stage)
            return start + dt.timedelta(days=rnd.randint(0, max(0, (last - start).days)))

        if Stage.ASSESSMENT in reached:
            started = self._moment(entered(Stage.ASSESSMENT), 11)
            case.assessments.append(
                Assessment(
                    version=1,
                    started_by_id=user.id,
                    started_at=started,
                    updated_at=started,
                    areas=[
                        AssessmentArea(
                            life_area=n.life_area,
                            situation=rnd.choice(SITUATIONS),
                            resources=rnd.choice(RESOURCES),
                        )
                        for n in case.needs
                    ],
                )
            )
        if Stage.LINKING in reached:
            allowed = {e.partner.id for e in case.client.consent.exchanges}
            for partner in rnd.sample(self._partners_of(user), k=rnd.randint(1, 2)):
                referred = day_after(Stage.LINKING)
                status = (
                    rnd.choice(
                        [ReferralStatus.ENDED, ReferralStatus.TAKEN_UP, ReferralStatus.FAILED]
                    )
                    if closed
                    else rnd.choice(list(ReferralStatus))
                )
                case.referrals.append(
                    Referral(
                        partner=partner,
                        referred_on=referred,
                        purpose=rnd.choice(REFERRAL_PURPOSES),
                        status=status,
                        outcome=(
                            rnd.choice(REFERRAL_OUTCOMES)
                            if status
                            in (
                                ReferralStatus.ENDED,
                                ReferralStatus.FAILED,
                                ReferralStatus.TAKEN_UP,
                            )
                            else None
                        ),
                        passes_data=partner.id in allowed,
                        verweisberatung=rules.is_verweisberatung(partner.legal_domain),
                        recorded_by_id=user.id,
                        recorded_at=self._moment(referred),
                        updated_at=self._moment(referred),
                    )
                )
        if Stage.MONITORING in reached:
            for _ in range(rnd.randint(1, 3)):
                day = day_after(Stage.MONITORING)
                case.monitoring_entries.append(
                    MonitoringEntry(
                        entry_on=day,
                        text=rnd.choice(MONITORING_TEXTS),
                        recorded_by=user,
                        recorded_at=self._moment(day),
                    )
                )
        if rnd.random() < 0.55:
            for _ in range(rnd.randint(1, 3)):
                day = day_between()
                kind = rnd.choice(list(NoteKind))
                note = Note(
                    kind=kind,
                    noted_on=day,
                    text=rnd.choice(NOTE_TEXTS[kind]),
                    written_by=user,
                    written_at=self._moment(day, 17),
                )
                case.notes.append(note)
                if rnd.random() < 0.08:
                    db.session.flush()
                    case.notes.append(
                        Note(
                            kind=kind,
                            noted_on=day,
                            supersedes_id=note.id,
                            text=note.text + " (Korrektur: Termin war am Folgetag.)",
                            written_by=user,
                            written_at=self._moment(min(day + dt.timedelta(days=1), self.today), 9),
                        )
                    )
        if not closed and rnd.random() < 0.35:
            due = self.today + dt.timedelta(days=rnd.choice([-12, -5, -2, -1, 0, 0, 3, 7, 14, 21]))
            case.follow_ups.append(
                FollowUp(
                    due_on=due,
                    text=rnd.choice(FOLLOW_UP_TEXTS),
                    created_by_id=user.id,
                    created_at=self._moment(min(due, self.today) - dt.timedelta(days=14)),
                )
            )
        if rnd.random() < 0.2:
            done_due = day_between()
            case.follow_ups.append(
                FollowUp(
                    due_on=done_due,
                    text=rnd.choice(FOLLOW_UP_TEXTS),
                    created_by_id=user.id,
                    created_at=self._moment(done_due - dt.timedelta(days=10)),
                    done_at=self._moment(done_due),
                    done_by_id=user.id,
                )
            )
