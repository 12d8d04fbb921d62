"""The Art. 15 GDPR export of one client: everything kimdb holds about them, as JSON (machine-
readable) and as a PDF in German for the client (issue 6 item 6).

JSON format ``kimdb-art15`` version 1 (UTF-8; dates ISO 8601 ``YYYY-MM-DD``, moments ISO 8601
with offset, UTC; codes are the stable values of kimdb's enumerations, e.g. ``life_area:
"housing"``). Top-level keys:

``format``, ``format_version``
    ``"kimdb-art15"``, ``1``.
``generated_at``, ``generated_by``
    When and by whom (``{"name", "role"}``) the export was made.
``controller``
    The organisation responsible (``{"name", "municipality"}``).
``person``
    ``id``, ``given_name``, ``family_name``, ``date_of_birth``, ``gender``,
    ``country_of_origin`` (ISO 3166 alpha-2), ``languages`` (ISO 639-1 list),
    ``residence_status``, ``phone``, ``email``, ``registered_at``, ``registered_by``,
    ``erased_at`` (set after withdrawal or retention: the personal fields are then null).
``consent``
    ``form_version``, ``form_language``, ``signed_on``, ``recorded_at``, ``recorded_by``,
    ``processing_agreed``, ``scan`` (``{"stored", "media_type", "size_bytes"}``; the scan itself
    is handed over on paper or as its own file), ``withdrawn_at``, ``exchanges`` (list of
    ``{"partner", "withdrawn_at"}``, withdrawn ones included).
``household``
    ``{"id", "label"}`` of the Bedarfsgemeinschaft the person belongs to, or null (other
    members' data are not part of this export).
``cases``
    List of cases, each: ``number``, ``kind``, ``stage``, ``opened_on``, ``closed_on``,
    ``closure_reason``, ``closure_text``, ``case_manager``, ``classification_history``,
    ``stage_history``, ``needs``, ``goals``, ``consultations``, ``assessments``,
    ``referrals``, ``monitoring``, ``notes`` (every version: ``supersedes`` names the note id a
    correction replaces), ``follow_ups``, ``transfers``.
``access_log``
    Who accessed the person's data when: list of ``{"at", "user", "role", "action",
    "case_number"}`` from the audit log (no session references).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kimdb import labels
from kimdb.auth.models import User
from kimdb.cases.models import Assessment, Case, Note
from kimdb.clients.models import Client
from kimdb.extensions import db
from kimdb.households.models import Household
from kimdb.timeutil import LOCAL_ZONE, now

FORMAT = "kimdb-art15"
FORMAT_VERSION = 1
FONT_PATH = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _moment(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat()


def _code(value) -> str | None:
    return None if value is None else str(value.value if hasattr(value, "value") else value)


class _Names:
    """Display names of users by id, loaded once per export."""

    def __init__(self) -> None:
        self._users: dict[int, User] = {}

    def load(self, ids: set[int]) -> None:
        missing = {i for i in ids if i and i not in self._users}
        if missing:
            for user in db.session.scalars(select(User).where(User.id.in_(missing))):
                self._users[user.id] = user

    def name(self, user_id: int | None) -> str | None:
        user = self._users.get(user_id) if user_id else None
        return user.display_name if user else None

    def role(self, user_id: int | None) -> str | None:
        user = self._users.get(user_id) if user_id else None
        return _code(user.role) if user else None


def _cases(client_id: int) -> list[Case]:
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.client_id == client_id)
            .order_by(Case.opened_on, Case.id)
            .options(
                selectinload(Case.needs),
                selectinload(Case.goals),
                selectinload(Case.consultations),
                selectinload(Case.stage_changes),
                selectinload(Case.classification_changes),
                selectinload(Case.assessments).selectinload(Assessment.areas),
                selectinload(Case.referrals),
                selectinload(Case.monitoring_entries),
                selectinload(Case.notes),
                selectinload(Case.follow_ups),
            )
        )
    )


def _access_log(client_id: int) -> list:
    from kimdb.audit import service as audit

    return list(audit.entries_for_client(client_id))


def _by(entry, names: _Names, attribute: str) -> str | None:
    return names.name(getattr(entry, attribute))


def build_export(client: Client, by: User) -> dict[str, Any]:
    """Return everything kimdb holds about ``client`` as a JSON-ready dict (see module doc).

    Includes every case of the client (also earlier cases with other case managers of the
    organisation: the export is the controller's answer, Art. 15 GDPR) and the audit entries
    of the client. Reads only; the caller records the export in the audit log.
    """
    from kimdb.substitution.models import CaseTransfer

    cases = _cases(client.id)
    transfer_rows: dict[int, list[CaseTransfer]] = {}
    for row in db.session.scalars(
        select(CaseTransfer)
        .where(CaseTransfer.case_id.in_([c.id for c in cases]))
        .order_by(CaseTransfer.at)
    ):
        transfer_rows.setdefault(row.case_id, []).append(row)
    log = _access_log(client.id)
    names = _Names()
    user_ids = {client.registered_by_id, client.consent.recorded_by_id, by.id}
    for case in cases:
        user_ids.add(case.owner_id)
        for group in (case.classification_changes, case.stage_changes):
            user_ids |= {c.changed_by_id for c in group}
        user_ids |= {n.written_by_id for n in case.notes}
        user_ids |= {t.from_owner_id for t in transfer_rows.get(case.id, [])}
        user_ids |= {t.to_owner_id for t in transfer_rows.get(case.id, [])}
    user_ids |= {e.user_id for e in log if e.user_id}
    names.load(user_ids)
    numbers = {c.id: c.number for c in cases}
    household = db.session.get(Household, client.household_id) if client.household_id else None
    consent = client.consent
    organisation = client.organisation
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": _moment(now()),
        "generated_by": {"name": by.display_name, "role": _code(by.role)},
        "controller": {
            "name": organisation.name,
            "municipality": organisation.municipality.name if organisation.municipality else None,
        },
        "person": {
            "id": client.id,
            "given_name": client.given_name,
            "family_name": client.family_name,
            "date_of_birth": _day(client.date_of_birth),
            "gender": _code(client.gender),
            "country_of_origin": client.country_of_origin,
            "languages": client.language_codes,
            "residence_status": _code(client.residence_status),
            "phone": client.phone,
            "email": client.email,
            "registered_at": _moment(client.registered_at),
            "registered_by": names.name(client.registered_by_id),
            "erased_at": _moment(client.erased_at),
        },
        "consent": {
            "form_version": consent.form_version,
            "form_language": consent.form_language,
            "signed_on": _day(consent.signed_on),
            "recorded_at": _moment(consent.recorded_at),
            "recorded_by": names.name(consent.recorded_by_id),
            "processing_agreed": consent.processing_agreed,
            "scan": {
                "stored": consent.scan_key is not None,
                "media_type": consent.scan_media_type,
                "size_bytes": consent.scan_size,
            },
            "withdrawn_at": _moment(consent.withdrawn_at),
            "exchanges": [
                {"partner": e.partner.name, "withdrawn_at": _moment(e.withdrawn_at)}
                for e in consent.exchanges
            ],
        },
        "household": {"id": household.id, "label": household.label} if household else None,
        "cases": [_case(c, names, transfer_rows.get(c.id, [])) for c in cases],
        "access_log": [
            {
                "at": _moment(e.at),
                "user": names.name(e.user_id),
                "role": names.role(e.user_id),
                "action": e.action,
                "case_number": numbers.get(e.case_id),
            }
            for e in log
        ],
    }


def _case(case: Case, names: _Names, transfers: list) -> dict[str, Any]:
    notes: list[Note] = sorted(case.notes, key=lambda n: n.id)
    return {
        "number": case.number,
        "kind": _code(case.kind),
        "stage": _code(case.stage),
        "opened_on": _day(case.opened_on),
        "closed_on": _day(case.closed_on),
        "closure_reason": _code(case.closure_reason),
        "closure_text": case.closure_text,
        "case_manager": names.name(case.owner_id),
        "classification_history": [
            {
                "at": _moment(c.changed_at),
                "from": _code(c.from_kind),
                "to": _code(c.to_kind),
                "reason": c.reason,
                "by": names.name(c.changed_by_id),
            }
            for c in case.classification_changes
        ],
        "stage_history": [
            {
                "at": _moment(s.changed_at),
                "from": _code(s.from_stage),
                "to": _code(s.to_stage),
                "closed_on": _day(s.closed_on),
                "closure_reason": _code(s.closure_reason),
                "reason": s.reason,
                "by": names.name(s.changed_by_id),
            }
            for s in case.stage_changes
        ],
        "needs": [
            {
                "life_area": _code(n.life_area),
                "legal_domain": _code(n.legal_domain),
                "description": n.description,
                "in_focus": n.in_focus,
                "recorded_at": _moment(n.recorded_at),
            }
            for n in case.needs
        ],
        "goals": [
            {
                "text": g.text,
                "agreed_on": _day(g.agreed_on),
                "responsible": _code(g.responsible),
                "due_on": _day(g.due_on),
                "status": _code(g.status),
            }
            for g in case.goals
        ],
        "consultations": [
            {
                "held_on": _day(c.held_on),
                "duration_minutes": c.duration_minutes,
                "mode": _code(c.mode),
                "interpreter_used": c.interpreter_used,
                "interpreter_language": c.interpreter_language,
                "summary": c.summary,
            }
            for c in sorted(case.consultations, key=lambda c: (c.held_on, c.id))
        ],
        "assessments": [
            {
                "version": a.version,
                "started_at": _moment(a.started_at),
                "areas": [
                    {
                        "life_area": _code(area.life_area),
                        "situation": area.situation,
                        "resources": area.resources,
                    }
                    for area in a.areas
                ],
            }
            for a in case.assessments
        ],
        "referrals": [
            {
                "partner": r.partner.name,
                "referred_on": _day(r.referred_on),
                "purpose": r.purpose,
                "status": _code(r.status),
                "outcome": r.outcome,
                "data_passed": r.passes_data,
                "verweisberatung": r.verweisberatung,
            }
            for r in sorted(case.referrals, key=lambda r: (r.referred_on, r.id))
        ],
        "monitoring": [
            {"entry_on": _day(m.entry_on), "text": m.text}
            for m in sorted(case.monitoring_entries, key=lambda m: (m.entry_on, m.id))
        ],
        "notes": [
            {
                "id": n.id,
                "kind": _code(n.kind),
                "noted_on": _day(n.noted_on),
                "text": n.text,
                "written_at": _moment(n.written_at),
                "written_by": names.name(n.written_by_id),
                "supersedes": n.supersedes_id,
            }
            for n in notes
        ],
        "follow_ups": [
            {"due_on": _day(f.due_on), "text": f.text, "done_at": _moment(f.done_at)}
            for f in case.follow_ups
        ],
        "transfers": [
            {
                "at": _moment(t.at),
                "kind": _code(t.kind),
                "from": names.name(t.from_owner_id),
                "to": names.name(t.to_owner_id),
                "reason": t.reason,
            }
            for t in transfers
        ],
    }


# -- PDF --------------------------------------------------------------------------------------


def _local(iso: str | None) -> str:
    if not iso:
        return "–"
    moment = dt.datetime.fromisoformat(iso).astimezone(LOCAL_ZONE)
    return moment.strftime("%d.%m.%Y %H:%M")


def _date(iso: str | None) -> str:
    return dt.date.fromisoformat(iso).strftime("%d.%m.%Y") if iso else "–"


def _label(mapping: dict, code: str | None) -> str:
    if code is None:
        return "–"
    for key, text in mapping.items():
        if _code(key) == code:
            return str(text)
    return code


class _Document(FPDF):
    """An A4 page layout with the DejaVu Sans font (Latin, Cyrillic, Arabic, Turkish)."""

    def __init__(self, title: str, shape: bool = True) -> None:
        super().__init__(format="A4")
        self.add_font("DejaVu", "", str(FONT_PATH))
        self.set_font("DejaVu", size=10)
        # HarfBuzz shaping (uharfbuzz): Arabic letters joined and right to left.
        self.set_text_shaping(shape)
        self.set_title(title)
        self.set_auto_page_break(auto=True, margin=15)
        self.alias_nb_pages()

    def footer(self) -> None:  # noqa: D102 - FPDF hook
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.cell(0, 8, f"Seite {self.page_no()}/{{nb}}", align="C")
        self.set_font("DejaVu", size=10)

    def heading(self, text: str, size: int = 13) -> None:
        self.ln(3)
        self.set_font("DejaVu", size=size)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", size=10)

    def pair(self, label: str, value: Any) -> None:
        text = "–" if value is None or value == "" else str(value)
        self.multi_cell(0, 5.5, f"{label}: {text}", new_x="LMARGIN", new_y="NEXT")

    def para(self, text: str) -> None:
        self.multi_cell(0, 5.5, text, new_x="LMARGIN", new_y="NEXT")


def render_pdf(data: dict[str, Any], compress: bool = True, shape: bool = True) -> bytes:
    """Render an export (``build_export``) as a German PDF for the client; return its bytes.

    ``compress`` False leaves the page streams readable (tests). Text is shaped with HarfBuzz,
    so Arabic names print joined and right to left; ``shape`` False writes plain runs that a
    simple text extraction can read back (tests).
    """
    pdf = _Document("Auskunft nach Art. 15 DSGVO", shape=shape)
    pdf.set_compression(compress)
    pdf.add_page()
    person, consent = data["person"], data["consent"]
    pdf.heading("Auskunft über Ihre gespeicherten Daten (Art. 15 DSGVO)", size=15)
    pdf.para(
        f"Verantwortliche Stelle: {data['controller']['name']}"
        + (f", {data['controller']['municipality']}" if data["controller"]["municipality"] else "")
    )
    pdf.para(f"Erstellt am {_local(data['generated_at'])} von {data['generated_by']['name']}.")
    pdf.para(
        "Diese Auskunft enthält alle Daten, die in kimdb, der Datenbank des Kommunalen "
        "Integrationsmanagements, über Sie gespeichert sind, und wer wann auf sie zugegriffen hat."
    )

    pdf.heading("Angaben zu Ihrer Person")
    if person["erased_at"]:
        pdf.para(f"Ihre persönlichen Daten wurden am {_local(person['erased_at'])} gelöscht.")
    pdf.pair("Name", " ".join(p for p in (person["given_name"], person["family_name"]) if p))
    pdf.pair("Geburtsdatum", _date(person["date_of_birth"]))
    pdf.pair("Geschlecht", _label(labels.GENDER, person["gender"]))
    pdf.pair("Herkunftsland", labels.country_name(person["country_of_origin"]))
    pdf.pair("Sprachen", ", ".join(labels.language_name(c) for c in person["languages"]))
    pdf.pair("Aufenthaltsstatus", _label(labels.RESIDENCE_STATUS, person["residence_status"]))
    pdf.pair("Telefon", person["phone"])
    pdf.pair("E-Mail", person["email"])
    pdf.pair("Aufgenommen am", _local(person["registered_at"]))

    pdf.heading("Ihre Einwilligung")
    pdf.pair(
        "Fassung", f"{consent['form_version']} ({labels.language_name(consent['form_language'])})"
    )
    pdf.pair("Unterschrieben am", _date(consent["signed_on"]))
    pdf.pair("Verarbeitung in kimdb", "eingewilligt")
    pdf.pair(
        "Scan der Einwilligung",
        "gespeichert (verschlüsselt)" if consent["scan"]["stored"] else "gelöscht",
    )
    if consent["withdrawn_at"]:
        pdf.pair("Widerrufen am", _local(consent["withdrawn_at"]))
    for ex in consent["exchanges"]:
        state = (
            f"widerrufen am {_local(ex['withdrawn_at'])}" if ex["withdrawn_at"] else "eingewilligt"
        )
        pdf.pair(f"Datenaustausch mit {ex['partner']}", state)
    if data["household"]:
        pdf.pair("Bedarfsgemeinschaft", data["household"]["label"])

    for case in data["cases"]:
        _pdf_case(pdf, case)

    pdf.heading("Wer hat wann auf Ihre Daten zugegriffen?")
    if not data["access_log"]:
        pdf.para("Keine Zugriffe verzeichnet.")
    for entry in data["access_log"]:
        role = _label(labels.ROLE, entry["role"]) if entry["role"] else None
        case = f", Fall {entry['case_number']}" if entry["case_number"] else ""
        pdf.para(
            f"{_local(entry['at'])} · {entry['user'] or 'System'} ({role or '–'}) · "
            f"{entry['action']}{case}"
        )
    return bytes(pdf.output())


def _pdf_case(pdf: _Document, case: dict[str, Any]) -> None:
    pdf.heading(f"Fall {case['number']} · {_label(labels.CASE_KIND, case['kind'])}")
    pdf.pair("Eröffnet am", _date(case["opened_on"]))
    pdf.pair("Phase", _label(labels.STAGE, case["stage"]))
    if case["closed_on"]:
        pdf.pair("Abgeschlossen am", _date(case["closed_on"]))
        pdf.pair("Abschlussgrund", _label(labels.CLOSURE_REASON, case["closure_reason"]))
    if case["closure_text"]:
        pdf.pair("Begründung des Abschlusses", case["closure_text"])
    pdf.pair("Zuständig", case["case_manager"])
    for c in case["classification_history"]:
        pdf.pair(
            f"Einstufung {_local(c['at'])}",
            _label(labels.CASE_KIND, c["to"]) + (f" – {c['reason']}" if c["reason"] else ""),
        )
    for s in case["stage_history"]:
        pdf.pair(
            f"Phase {_local(s['at'])}",
            _label(labels.STAGE, s["to"]) + (f" – {s['reason']}" if s["reason"] else ""),
        )
    for n in case["needs"]:
        pdf.pair(f"Bedarf ({_label(labels.LIFE_AREA, n['life_area'])})", n["description"])
    for g in case["goals"]:
        pdf.pair(f"Ziel ({_label(labels.GOAL_STATUS, g['status'])})", g["text"])
    for c in case["consultations"]:
        pdf.pair(
            f"Beratungsgespräch {_date(c['held_on'])}",
            f"{c['duration_minutes']} Minuten, {_label(labels.CONSULTATION_MODE, c['mode'])}"
            + (f" – {c['summary']}" if c["summary"] else ""),
        )
    for a in case["assessments"]:
        for area in a["areas"]:
            pdf.pair(
                f"Bestandsaufnahme {a['version']} ({_label(labels.LIFE_AREA, area['life_area'])})",
                " / ".join(t for t in (area["situation"], area["resources"]) if t),
            )
    for r in case["referrals"]:
        pdf.pair(
            f"Vermittlung an {r['partner']} ({_date(r['referred_on'])})",
            f"{r['purpose']} – {_label(labels.REFERRAL_STATUS, r['status'])}"
            + (f" – {r['outcome']}" if r["outcome"] else ""),
        )
    for m in case["monitoring"]:
        pdf.pair(f"Monitoring {_date(m['entry_on'])}", m["text"])
    for n in case["notes"]:
        prefix = "Korrektur eines Vermerks" if n["supersedes"] else "Vermerk"
        pdf.pair(f"{prefix} {_date(n['noted_on'])} ({n['written_by'] or '–'})", n["text"])
    for f in case["follow_ups"]:
        pdf.pair(f"Wiedervorlage {_date(f['due_on'])}", f["text"])
    for t in case["transfers"]:
        pdf.pair(f"Übergabe {_local(t['at'])}", f"{t['from']} → {t['to']}: {t['reason']}")
