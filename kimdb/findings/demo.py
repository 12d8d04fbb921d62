"""Demo structural findings for the Kreis Warendorf installation (Systemmanagement, FAQ KIM NRW
Q32): typical gaps and barriers of a county's service system, written as case managers would
note them — about the system, never about a person."""

from __future__ import annotations

import datetime as dt
import random

from kimdb.auth.models import User
from kimdb.extensions import db
from kimdb.findings.models import Finding, FindingCategory
from kimdb.timeutil import LOCAL_ZONE

C = FindingCategory
DEMO_PERIOD_DAYS = 330  # findings are spread over the last eleven months

# (category, agency or service, description) — no names, dates, numbers of persons or cases.
DEMO_FINDINGS: tuple[tuple[FindingCategory, str, str], ...] = (
    (
        C.WAITING_TIMES,
        "Ausländerbehörde Kreis Warendorf",
        "Termine zur Verlängerung von Aufenthaltstiteln sind erst nach zehn bis zwölf Wochen "
        "frei; Fiktionsbescheinigungen werden oft erst nach Ablauf des Titels ausgestellt.",
    ),
    (
        C.WAITING_TIMES,
        "Ausländerbehörde Kreis Warendorf",
        "Online-Terminvergabe ist regelmäßig ausgebucht, telefonisch ist die Behörde kaum "
        "erreichbar. Arbeitgeber zögern deshalb mit Einstellungen.",
    ),
    (
        C.ACCESS,
        "Ausländerbehörde Kreis Warendorf",
        "Persönliche Vorsprache nur nach Online-Termin; Ratsuchende ohne E-Mail-Adresse oder "
        "Smartphone brauchen für jeden Schritt Unterstützung.",
    ),
    (
        C.PROCEDURES,
        "Ausländerbehörde Kreis Warendorf",
        "Für den Antrag auf Einbürgerung werden Unterlagen in Papierform und zusätzlich "
        "digital verlangt; die Liste der Nachweise ist nur auf Deutsch verfügbar.",
    ),
    (
        C.WAITING_TIMES,
        "Jobcenter Kreis Warendorf",
        "Bearbeitung von Weiterbewilligungsanträgen dauert derzeit sechs bis acht Wochen; in "
        "der Zwischenzeit entstehen Mietrückstände.",
    ),
    (
        C.LANGUAGE_BARRIER,
        "Jobcenter Kreis Warendorf",
        "Bei Beratungsterminen steht keine Sprachmittlung zur Verfügung; Angehörige oder "
        "Kinder übersetzen, auch bei Fragen zu Sanktionen.",
    ),
    (
        C.PROCEDURES,
        "Jobcenter Kreis Warendorf",
        "Upload von Nachweisen über das Online-Portal scheitert häufig an der Dateigröße; "
        "eingereichte Unterlagen gelten dann als nicht eingegangen.",
    ),
    (
        C.RESPONSIBILITY,
        "Jobcenter Kreis Warendorf",
        "Beim Übergang von Leistungen nach dem AsylbLG ins SGB II ist unklar, wer die "
        "Übergangsmiete übernimmt; Sozialamt und Jobcenter verweisen aufeinander.",
    ),
    (
        C.WAITING_TIMES,
        "Familienkasse",
        "Kindergeldanträge für neu eingereiste Familien bleiben monatelang unbearbeitet, "
        "Nachfragen werden mit Standardschreiben beantwortet.",
    ),
    (
        C.PROCEDURES,
        "Familienkasse",
        "Die Familienkasse verlangt übersetzte und beglaubigte Geburtsurkunden, obwohl die "
        "Ausländerbehörde die Originale bereits geprüft hat.",
    ),
    (
        C.MISSING_SERVICE,
        "Integrationskursträger Ahlen",
        "Integrationskurse mit Kinderbetreuung gibt es in Ahlen nicht; Mütter mit kleinen "
        "Kindern können nicht teilnehmen und warten auf einen Kita-Platz.",
    ),
    (
        C.WAITING_TIMES,
        "Integrationskursträger Ahlen",
        "Alphabetisierungskurse starten erst, wenn genug Anmeldungen vorliegen; die Wartezeit "
        "liegt derzeit bei etwa sechs Monaten.",
    ),
    (
        C.ACCESS,
        "Integrationskursträger Ahlen",
        "Abendkurse für Berufstätige werden nicht angeboten; wer in Schichtarbeit beschäftigt "
        "ist, kann den Kurs nicht abschließen.",
    ),
    (
        C.MISSING_SERVICE,
        "Kinderärzte Beckum",
        "Keine Kinderarztpraxis in Beckum nimmt neue Patientinnen und Patienten auf; "
        "Vorsorgeuntersuchungen und Impfungen bleiben aus.",
    ),
    (
        C.LANGUAGE_BARRIER,
        "Kinderärzte Beckum",
        "Praxen lehnen Termine mit Dolmetscherin per Video ab; die Kosten für Sprachmittlung "
        "im Gesundheitswesen übernimmt niemand.",
    ),
    (
        C.MISSING_SERVICE,
        "Wohnungsamt Ahlen",
        "Es gibt kaum Sozialwohnungen für große Familien; Wohnberechtigungsscheine helfen "
        "ohne freie Wohnungen nicht weiter.",
    ),
    (
        C.DISCRIMINATION,
        "Wohnungsamt Ahlen",
        "Vermieter lehnen Anfragen ab, sobald ein ausländisch klingender Name genannt wird; "
        "eine Antidiskriminierungsberatung vor Ort fehlt.",
    ),
    (
        C.COOPERATION,
        "Wohnungsamt Ahlen",
        "Informationen über drohende Wohnungslosigkeit erreichen die Beratungsstellen zu "
        "spät; es gibt keine verabredete Meldekette mit dem Wohnungsamt.",
    ),
    (
        C.MISSING_SERVICE,
        "Psychosoziale Beratung Kreis Warendorf",
        "Für traumatisierte Geflüchtete gibt es im Kreis keine muttersprachliche "
        "Psychotherapie; die nächsten Angebote sind in Münster und ausgebucht.",
    ),
    (
        C.RESPONSIBILITY,
        "Jugendamt Kreis Warendorf",
        "Bei jungen Volljährigen ist unklar, ob Jugendamt oder Jobcenter die Ausbildung "
        "begleitet; Hilfen enden mit dem 18. Geburtstag ohne Übergabe.",
    ),
    (
        C.COOPERATION,
        "Schulamt Kreis Warendorf",
        "Seiteneinsteigende Kinder warten auf eine Schulplatzzuweisung, ohne dass Familien "
        "über den Stand informiert werden.",
    ),
    (
        C.ACCESS,
        "Bürgerbüro Oelde",
        "Die Wohnsitzanmeldung ist nur mit Online-Termin möglich, freie Termine gibt es erst "
        "nach drei Wochen; ohne Meldebescheinigung stockt jeder weitere Antrag.",
    ),
    (
        C.PROCEDURES,
        "Anerkennungsstelle Bezirksregierung Münster",
        "Die Anerkennung ausländischer Berufsabschlüsse in Pflegeberufen dauert über ein "
        "halbes Jahr; Anpassungslehrgänge im Kreis sind voll.",
    ),
    (
        C.ACCESS,
        "Busverkehr Kreis Warendorf",
        "Aus den Ortsteilen ist der Kursort in Warendorf am Vormittag mit dem Bus nur mit "
        "langen Umstiegen erreichbar; ein Sozialticket gilt nicht kreisweit.",
    ),
    (
        C.OTHER,
        "Sprachmittlerpool Kreis Warendorf",
        "Für Tigrinya und Somali stehen kaum ehrenamtliche Sprachmittler zur Verfügung; "
        "Termine müssen mehrfach verschoben werden.",
    ),
)


def add_demo_findings(rnd: random.Random, case_managers: list[User], today: dt.date) -> int:
    """Add the demo findings for Kreis Warendorf to the session; return how many were added.

    Each finding is recorded by one of ``case_managers`` (chosen with ``rnd``, so the demo stays
    deterministic) and observed on a day within DEMO_PERIOD_DAYS before ``today``. Uses
    ``db.session.add``; the caller commits. Source: FAQ KIM NRW Q32 (Systemmanagement).
    """
    if not case_managers:
        return 0
    for category, agency, description in DEMO_FINDINGS:
        user = rnd.choice(case_managers)
        observed_on = today - dt.timedelta(days=rnd.randint(0, DEMO_PERIOD_DAYS))
        entered = min(observed_on + dt.timedelta(days=rnd.choice((0, 0, 0, 1, 2))), today)
        db.session.add(
            Finding(
                organisation=user.organisation,
                category=category,
                agency=agency,
                description=description,
                observed_on=observed_on,
                recorded_by=user,
                recorded_at=dt.datetime.combine(
                    entered, dt.time(rnd.randint(8, 16), rnd.randint(0, 59)), LOCAL_ZONE
                ),
            )
        )
    return len(DEMO_FINDINGS)
