"""What kimdb stores and why: one entry per database table, one category per column.

The page ``/records`` walks the tables and columns of the models (``db.metadata``) and looks
each up here; ``tests/integration/test_records.py`` fails for a table or column without an
entry, so the list cannot drift from the code (issue 6 item 8, GDPR Art. 30). Whether a column
is encrypted is read from its type, not written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kimdb.i18n import lazy_gettext as _l


class Category(StrEnum):
    """The kind of data in a column."""

    PERSONAL = "personal"  # personal data (Art. 4 no. 1 GDPR): clients' or staff members'
    SPECIAL = "special"  # special categories (Art. 9 GDPR) and social data of clients
    PSEUDONYMOUS = "pseudonymous"  # keyed hash (blind index): no plaintext, searchable
    METADATA = "metadata"  # keys, codes, dates and flags of the process


CATEGORY_LABELS = {
    Category.PERSONAL: _l("personenbezogen"),
    Category.SPECIAL: _l("besondere Kategorie (Art. 9 DSGVO) / Sozialdaten"),
    Category.PSEUDONYMOUS: _l("pseudonymer Suchindex (Schlüssel-Hash)"),
    Category.METADATA: _l("Verwaltungs- und Metadaten"),
}


@dataclass(frozen=True)
class Audience:
    """Who can see a table's data: a German description and the functions of
    ``kimdb.auth.policy`` (or role checks) that decide it."""

    text: str
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableRecord:
    """The entry of one table. ``retention`` may hold ``%(days)s`` (``KIMDB_RETENTION_DAYS``).
    ``columns`` maps every column name to its Category."""

    title: str
    purpose: str
    subjects: str
    legal_basis: str
    retention: str
    audience: Audience
    columns: dict[str, Category]


def columns(
    metadata: str = "", personal: str = "", special: str = "", pseudonymous: str = ""
) -> dict[str, Category]:
    """Return the column map of a table from space-separated column names per category."""
    result: dict[str, Category] = {}
    for names, category in (
        (metadata, Category.METADATA),
        (personal, Category.PERSONAL),
        (special, Category.SPECIAL),
        (pseudonymous, Category.PSEUDONYMOUS),
    ):
        for name in names.split():
            if name in result:
                raise ValueError(f"column {name} listed twice")
            result[name] = category
    return result


# -- the recurring answers ---------------------------------------------------------------------
CLIENTS = _l("Klient:innen")
STAFF = _l("Beschäftigte (Nutzer:innen von kimdb)")
NOBODY = _l("keine (keine personenbezogenen Daten)")

CONSENT = _l(
    "Einwilligung der Klientin / des Klienten, Art. 6 Abs. 1 lit. a und Art. 9 Abs. 2 lit. a "
    "DSGVO (FAQ KIM NRW, Frage 34)"
)
EMPLOYMENT = _l(
    "Art. 6 Abs. 1 lit. c und e DSGVO i. V. m. § 18 DSG NRW (Beschäftigtendaten: Zugang, "
    "Zuständigkeit, Fallzahl je VZÄ)"
)
SECURITY = _l(
    "Art. 6 Abs. 1 lit. c DSGVO i. V. m. Art. 5 Abs. 2 und Art. 32 DSGVO (Nachweis und "
    "Sicherheit der Verarbeitung)"
)
PUBLIC_TASK = _l("Art. 6 Abs. 1 lit. e DSGVO (Aufgabe des Kommunalen Integrationsmanagements)")

UNTIL_ERASURE = _l(
    "bis %(days)s Tage nach Abschluss des letzten Falls (KIMDB_RETENTION_DAYS), sofort bei "
    "Widerruf der Einwilligung; danach bleibt nur der anonyme Rest (Art, Stufen, Daten, "
    "Lebensbereiche) für die Statistik"
)
WITH_CASE = _l(
    "Texte werden bis %(days)s Tage nach Fallabschluss (KIMDB_RETENTION_DAYS) oder beim "
    "Widerruf gelöscht; Codes und Daten bleiben anonym für die Statistik"
)
ACCOUNT = _l(
    "solange das Benutzerkonto besteht; deaktivierte Konten bleiben für die Nachvollziehbarkeit "
    "der Fallakten (Löschung durch die Fachadministration nach Verfahrensregelung)"
)
AUDIT_KEPT = _l(
    "unbefristet: Einträge können über kimdb weder geändert noch gelöscht werden (Hash-Kette); "
    "die Aufbewahrungsfrist legt der Betrieb mit der/dem Datenschutzbeauftragten fest"
)
STRUCTURE_KEPT = _l("solange die Organisation besteht")

CASE_WORK = Audience(
    _l(
        "zuständige Case Manager:in und ihre Vertretung während der Vertretungszeit; die "
        "Koordination nur über einen befristeten, protokollierten Notfallzugriff; "
        "Fachadministration und Datenschutzbeauftragte sehen keine Inhalte"
    ),
    ("client_visible", "case_visible", "substituting", "emergency_open"),
)
CASE_META = Audience(
    _l(
        "zuständige Case Manager:in und Vertretung; die Koordination der Organisation bzw. des "
        "Teams sieht diese Falldaten ohne Klientendaten (Fallzahlen, Stufen, Daten)"
    ),
    ("case_visible", "substituting", "case_supervised"),
)
ACCOUNTS = Audience(
    _l(
        "Fachadministration (Benutzerverwaltung); die Koordination sieht Namen, VZÄ und "
        "Fallzahlen der Beschäftigten, die sie koordiniert; jede:r das eigene Konto"
    ),
    ("supervises", "may_supervise"),
)
CREDENTIALS = Audience(_l("niemand: nur kimdb selbst prüft sie bei der Anmeldung"))
AUDIT_READERS = Audience(
    _l("Datenschutzbeauftragte:r (Suche nach Nutzer:in und Klient:in, ohne Fallinhalte)"),
    ("role: dpo",),
)
EMERGENCY_READERS = Audience(
    _l(
        "die Koordination, die den Zugriff geöffnet hat; die zuständige Case Manager:in "
        "(Hinweis); die/der Datenschutzbeauftragte der Kommune (Protokoll)"
    ),
    ("emergency_open", "emergency_log_visible"),
)
STRUCTURE_READERS = Audience(_l("alle angemeldeten Nutzer:innen; Pflege durch die Administration"))
ORGANISATION_READERS = Audience(
    _l("Case Manager:innen und Koordination der Organisation"), ("works_on_cases", "supervises")
)
SUBSTITUTION_READERS = Audience(
    _l("abwesende Person, Vertretung und die Koordination, die sie eingerichtet hat"),
    ("substituting", "supervises"),
)

REPORT_FACTS_KEPT = _l(
    "bis zur nächsten nächtlichen Neuberechnung (flask kimdb refresh-report-facts), die alle "
    "ersetzt; höchstens 36 Stunden: danach löscht sie flask kimdb purge"
)
REPORT_READERS = Audience(
    _l(
        "niemand im Einzelnen: nur der Landesbericht liest sie, in Summen und mit "
        "Geheimhaltung kleiner Zellen"
    ),
    ("role: state",),
)

CASE_KEYS = "id case_id"
BY_WHOM = "recorded_by_id on_behalf_of_id recorded_at"

TABLES: dict[str, TableRecord] = {
    "clients": TableRecord(
        title=_l("Klient:innen"),
        purpose=_l(
            "Beratung und Begleitung der Person im KIM-Case Management; Zuordnung zu Fällen "
            "und Bedarfsgemeinschaft; anonyme Statistik (FDE NRW)"
        ),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=UNTIL_ERASURE,
        audience=CASE_WORK,
        columns=columns(
            metadata="id consent_id organisation_id erased_at household_id registered_by_id "
            "registered_at birth_year",
            personal="given_name family_name date_of_birth gender phone email",
            special="country_of_origin languages residence_status",
            pseudonymous="family_name_index given_name_index date_of_birth_index "
            "family_name_phonetic given_name_phonetic",
        ),
    ),
    "consents": TableRecord(
        title=_l("Einwilligungen"),
        purpose=_l(
            "Nachweis der Einwilligung als Rechtsgrundlage (Art. 7 Abs. 1 DSGVO): Fassung, "
            "Datum, Umfang, Scan des unterschriebenen Formulars, Widerruf"
        ),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=UNTIL_ERASURE,
        audience=CASE_WORK,
        columns=columns(
            metadata="id form_version form_language signed_on processing_agreed scan_key "
            "scan_media_type scan_size recorded_by_id recorded_at withdrawn_at withdrawn_by_id",
        ),
    ),
    "consent_exchanges": TableRecord(
        title=_l("Vereinbarter Datenaustausch"),
        purpose=_l("Welche Partnerstellen Daten erhalten dürfen, und deren Widerruf"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=UNTIL_ERASURE,
        audience=CASE_WORK,
        columns=columns(metadata="id consent_id partner_id withdrawn_at withdrawn_by_id"),
    ),
    "households": TableRecord(
        title=_l("Bedarfsgemeinschaften"),
        purpose=_l("Zusammengehörige Personen mit je eigenem Fall (FAQ Q33)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=UNTIL_ERASURE,
        audience=CASE_WORK,
        columns=columns(metadata="id organisation_id created_by_id created_at", personal="label"),
    ),
    "cases": TableRecord(
        title=_l("Fälle"),
        purpose=_l(
            "Steuerung der Beratung (CM oder Kurzberatung, Stufen), Fallzahl je VZÄ, "
            "Wiedervorlage und Statistik (R3–R6)"
        ),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_META,
        columns=columns(
            metadata="id client_id owner_id organisation_id kind stage opened_on closed_on "
            "closure_reason last_activity_on last_consultation_on created_at updated_at "
            "version_id",
            personal="closure_text",
        ),
    ),
    "stage_changes": TableRecord(
        title=_l("Stufenwechsel"),
        purpose=_l("Nachvollziehbarkeit des Fallverlaufs (R4)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_META,
        columns=columns(
            metadata=f"{CASE_KEYS} from_stage to_stage closed_on closure_reason changed_by_id "
            "on_behalf_of_id changed_at",
            personal="reason",
        ),
    ),
    "classification_changes": TableRecord(
        title=_l("Einstufungswechsel (CM/Kurzberatung)"),
        purpose=_l("Nachvollziehbarkeit der Einstufung (R3)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_META,
        columns=columns(
            metadata=f"{CASE_KEYS} from_kind to_kind changed_by_id on_behalf_of_id changed_at",
            personal="reason",
        ),
    ),
    "case_transfers": TableRecord(
        title=_l("Fallübernahmen und Neuzuweisungen"),
        purpose=_l("Nachvollziehbarkeit der Zuständigkeit (R7)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_META,
        columns=columns(
            metadata=f"{CASE_KEYS} from_owner_id to_owner_id kind by_id at", personal="reason"
        ),
    ),
    "consultations": TableRecord(
        title=_l("Beratungsgespräche"),
        purpose=_l("Dokumentation der Beratung; Erfassungsverzug und Mindestzahl (R3, R6)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_WORK,
        columns=columns(
            metadata=f"{CASE_KEYS} held_on duration_minutes mode interpreter_used "
            "entered_by_id on_behalf_of_id entered_at",
            special="interpreter_language summary",
        ),
    ),
    "assessments": TableRecord(
        title=_l("Assessments (Bestandsaufnahmen)"),
        purpose=_l("Lage und Ressourcen der Person über die Lebensbereiche (R4)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_WORK,
        columns=columns(
            metadata=f"{CASE_KEYS} version started_by_id on_behalf_of_id started_at updated_at"
        ),
    ),
    "assessment_areas": TableRecord(
        title=_l("Assessment je Lebensbereich"),
        purpose=_l("Lage und Ressourcen in einem Lebensbereich (Gesundheit, Aufenthalt, …)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_WORK,
        columns=columns(metadata="id assessment_id life_area", special="situation resources"),
    ),
    "needs": TableRecord(
        title=_l("Bedarfe"),
        purpose=_l("Bedarfe je Lebensbereich und Rechtskreis, Fokus der Kurzberatung (R3, R4)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_WORK,
        columns=columns(
            metadata=f"{CASE_KEYS} in_focus {BY_WHOM}",
            special="life_area legal_domain description",
        ),
    ),
    "goals": TableRecord(
        title=_l("Ziele (Zielvereinbarung)"),
        purpose=_l("Vereinbarte Ziele der Hilfeplanung (R4)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_WORK,
        columns=columns(
            metadata=f"{CASE_KEYS} agreed_on responsible due_on status {BY_WHOM}",
            personal="text",
        ),
    ),
    "referrals": TableRecord(
        title=_l("Vermittlungen (Leistungssteuerung)"),
        purpose=_l("Vermittlung an Leistungen Dritter und deren Ergebnis (Linking)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_WORK,
        columns=columns(
            metadata=f"{CASE_KEYS} partner_id referred_on status passes_data verweisberatung "
            f"{BY_WHOM} updated_at",
            personal="purpose outcome",
        ),
    ),
    "monitoring_entries": TableRecord(
        title=_l("Monitoring-Einträge"),
        purpose=_l("Verlauf der Zielerreichung (Monitoring)"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_WORK,
        columns=columns(metadata=f"{CASE_KEYS} entry_on {BY_WHOM}", personal="text"),
    ),
    "notes": TableRecord(
        title=_l("Vermerke"),
        purpose=_l("Fallakte: datierte, gezeichnete Vermerke, nie still überschrieben"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_WORK,
        columns=columns(
            metadata=f"{CASE_KEYS} kind noted_on supersedes_id written_by_id on_behalf_of_id "
            "written_at",
            special="text",
        ),
    ),
    "follow_ups": TableRecord(
        title=_l("Wiedervorlagen"),
        purpose=_l("Erinnerung an fällige Schritte im Fall"),
        subjects=CLIENTS,
        legal_basis=CONSENT,
        retention=WITH_CASE,
        audience=CASE_WORK,
        columns=columns(
            metadata=f"{CASE_KEYS} due_on created_by_id on_behalf_of_id created_at done_at "
            "done_by_id",
            personal="text",
        ),
    ),
    "emergency_accesses": TableRecord(
        title=_l("Notfallzugriffe"),
        purpose=_l(
            "Befristeter Lesezugriff der Koordination auf einen Fall, mit Begründung, "
            "Hinweis an die zuständige Person und Protokoll für die DSB"
        ),
        subjects=_l("Klient:innen und Beschäftigte"),
        legal_basis=SECURITY,
        retention=WITH_CASE,
        audience=EMERGENCY_READERS,
        columns=columns(
            metadata=f"{CASE_KEYS} supervisor_id owner_id granted_at expires_at ended_at "
            "seen_by_owner_at",
            personal="reason",
        ),
    ),
    "audit_entries": TableRecord(
        title=_l("Audit-Protokoll"),
        purpose=_l(
            "Wer hat wann welche Klientendaten gelesen oder geändert (auch in Vertretung), "
            "manipulationssicher verkettet"
        ),
        subjects=_l("Beschäftigte; Klient:innen über die Fall- und Klientennummer"),
        legal_basis=SECURITY,
        retention=AUDIT_KEPT,
        audience=AUDIT_READERS,
        columns=columns(
            metadata="id at action client_id case_id prev_hash hash",
            personal="user_id on_behalf_of_id session_ref detail",
        ),
    ),
    "audit_head": TableRecord(
        title=_l("Kopf der Audit-Kette"),
        purpose=_l("Letzter Eintrag und Hash, damit ein Abschneiden der Kette auffällt"),
        subjects=NOBODY,
        legal_basis=SECURITY,
        retention=AUDIT_KEPT,
        audience=AUDIT_READERS,
        columns=columns(metadata="id last_entry_id last_hash"),
    ),
    "users": TableRecord(
        title=_l("Benutzerkonten"),
        purpose=_l("Anmeldung, Rolle und Zuständigkeit, Zwei-Faktor-Anmeldung"),
        subjects=STAFF,
        legal_basis=EMPLOYMENT,
        retention=ACCOUNT,
        audience=ACCOUNTS,
        columns=columns(
            metadata="id role organisation_id team_id active created_at totp_enabled_at "
            "totp_last_step",
            personal="username display_name last_login_at password_hash session_token totp_secret",
        ),
    ),
    "fte_periods": TableRecord(
        title=_l("Stellenanteile (VZÄ) mit Gültigkeit"),
        purpose=_l("Fallzahl-Richtwert je VZÄ über die Zeit (R5)"),
        subjects=STAFF,
        legal_basis=EMPLOYMENT,
        retention=ACCOUNT,
        audience=ACCOUNTS,
        columns=columns(metadata="id valid_from", personal="user_id fte"),
    ),
    "supervisions": TableRecord(
        title=_l("Koordinationszuständigkeiten"),
        purpose=_l("Welche Organisation oder welches Team eine Koordination betreut (R8)"),
        subjects=STAFF,
        legal_basis=EMPLOYMENT,
        retention=ACCOUNT,
        audience=ACCOUNTS,
        columns=columns(metadata="id organisation_id team_id", personal="supervisor_id"),
    ),
    "substitutions": TableRecord(
        title=_l("Vertretungen"),
        purpose=_l("Wer wen wann vertritt, für den Zugriff auf die Fälle (R7)"),
        subjects=STAFF,
        legal_basis=EMPLOYMENT,
        retention=ACCOUNT,
        audience=SUBSTITUTION_READERS,
        columns=columns(
            metadata="id first_day last_day only_selected created_at ended_at",
            personal="absent_user_id substitute_id set_by_id",
        ),
    ),
    "substitution_cases": TableRecord(
        title=_l("Fälle einer Vertretung"),
        purpose=_l("Auswahl einzelner Fälle für eine Vertretung (R7)"),
        subjects=STAFF,
        legal_basis=EMPLOYMENT,
        retention=ACCOUNT,
        audience=SUBSTITUTION_READERS,
        columns=columns(metadata="substitution_id case_id"),
    ),
    "findings": TableRecord(
        title=_l("Strukturelle Erkenntnisse (Systemmanagement)"),
        purpose=_l(
            "Lücken und Barrieren im örtlichen Hilfesystem, zusammengefasst für die "
            "Koordination (FAQ Q32); ohne Klientendaten"
        ),
        subjects=_l("keine Klient:innen; erfassende Beschäftigte"),
        legal_basis=PUBLIC_TASK,
        retention=STRUCTURE_KEPT,
        audience=ORGANISATION_READERS,
        columns=columns(
            metadata="id organisation_id category agency observed_on recorded_at",
            personal="description recorded_by_id",
        ),
    ),
    "partners": TableRecord(
        title=_l("Partnerverzeichnis"),
        purpose=_l("Stellen für Datenaustausch und Vermittlung"),
        subjects=_l("Ansprechpersonen der Partnerstellen"),
        legal_basis=PUBLIC_TASK,
        retention=STRUCTURE_KEPT,
        audience=ORGANISATION_READERS,
        columns=columns(metadata="id organisation_id name kind legal_domain", personal="contact"),
    ),
    "organisations": TableRecord(
        title=_l("Organisationen"),
        purpose=_l("Träger der Case-Management-Stellen und Grenze der Zuständigkeit"),
        subjects=NOBODY,
        legal_basis=PUBLIC_TASK,
        retention=STRUCTURE_KEPT,
        audience=STRUCTURE_READERS,
        columns=columns(metadata="id name kind municipality_id"),
    ),
    "teams": TableRecord(
        title=_l("Teams"),
        purpose=_l("Gliederung einer Organisation für die Koordination"),
        subjects=NOBODY,
        legal_basis=PUBLIC_TASK,
        retention=STRUCTURE_KEPT,
        audience=STRUCTURE_READERS,
        columns=columns(metadata="id organisation_id name"),
    ),
    "report_facts": TableRecord(
        title=_l("Vorberechnete Zahlen des Landesberichts"),
        purpose=_l(
            "Landesweiter Statistikbericht unter einer Sekunde: Zählungen je Monat und höchstens "
            "so viele Klienten-Nummern je Zelle wie die Mindestzellgröße (für die Geheimhaltung). "
            "Pseudonym: die Nummern sind mit Handlungsfeld, Rechtsgebiet und Dolmetschsprache "
            "verknüpft; keine Namen, Geburtsdaten oder Texte"
        ),
        subjects=CLIENTS,
        legal_basis=PUBLIC_TASK,
        retention=REPORT_FACTS_KEPT,
        audience=REPORT_READERS,
        columns=columns(
            # client_id is a key like every other table's client_id (a plain number, no keyed
            # hash); what makes the rows pseudonymous personal data is its link with the
            # special-category keys (purpose above).
            metadata="id refresh_id client_id month measure part closed_month records minutes "
            "flagged period_end",
            special="row_key column_key",
        ),
    ),
    "report_fact_refreshes": TableRecord(
        title=_l("Stand der vorberechneten Zahlen"),
        purpose=_l("Datenstand, Obergrenze und Monate der vorberechneten Zahlen"),
        subjects=NOBODY,
        legal_basis=PUBLIC_TASK,
        retention=REPORT_FACTS_KEPT,
        audience=REPORT_READERS,
        columns=columns(metadata="id refreshed_at cap first_month last_month seconds"),
    ),
    "municipalities": TableRecord(
        title=_l("Kommunen (Kreise und kreisfreie Städte)"),
        purpose=_l("Zuordnung der Organisationen zu den 54 KIM-Kommunen in NRW"),
        subjects=NOBODY,
        legal_basis=PUBLIC_TASK,
        retention=STRUCTURE_KEPT,
        audience=STRUCTURE_READERS,
        columns=columns(metadata="id name kind"),
    ),
}


@dataclass(frozen=True)
class FileStore:
    """A store outside the database (files below ``KIMDB_STORAGE_DIR``)."""

    title: str
    where: str
    purpose: str
    retention: str


FILES: tuple[FileStore, ...] = (
    FileStore(
        title=_l("Scans der unterschriebenen Einwilligungen"),
        where="KIMDB_STORAGE_DIR/scans",
        purpose=_l("Nachweis der Einwilligung (Art. 7 Abs. 1 DSGVO); verschlüsselt (AES-256-GCM)"),
        retention=UNTIL_ERASURE,
    ),
    FileStore(
        title=_l("Zwischengespeicherte Scans bei möglicher Doppelerfassung"),
        where="KIMDB_STORAGE_DIR/pending",
        purpose=_l(
            "Der Scan wartet verschlüsselt, bis die Case Manager:in bestätigt, dass es eine "
            "andere Person ist"
        ),
        retention=_l(
            "bis zur Aufnahme oder zum neuen Formular; spätestens nach KIMDB_SESSION_IDLE_MINUTES"
        ),
    ),
)
