"""Use cases of the KIM method between intake and closure (issue "Case work"): the structured
assessment, referrals (Linking), monitoring, notes and follow-ups. One transaction each; a rule
violation raises before anything is written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kimdb.auth.models import User
from kimdb.cases import rules
from kimdb.cases.models import (
    Assessment,
    AssessmentArea,
    Case,
    FollowUp,
    LifeArea,
    MonitoringEntry,
    Note,
    NoteKind,
    Referral,
    ReferralStatus,
    Stage,
)
from kimdb.cases.service import on_behalf_of, require_open, touch
from kimdb.extensions import db, transaction
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs.models import Partner
from kimdb.rules import RuleViolation
from kimdb.timeutil import now, today


def _not_in_future(day: dt.date, field: str) -> None:
    if day > today():
        raise RuleViolation(_l("Das Datum darf nicht in der Zukunft liegen."), field=field)


# -- Assessment -----------------------------------------------------------------------------


def current_assessment(case: Case) -> Assessment | None:
    """Return the newest assessment version of ``case``, or None before the first one."""
    return case.assessments[-1] if case.assessments else None


def _entered_assessment_at(case: Case) -> dt.datetime | None:
    moments = [c.changed_at for c in case.stage_changes if c.to_stage is Stage.ASSESSMENT]
    return max(moments) if moments else None


def save_assessment(case: Case, areas: dict[LifeArea, tuple[str, str]], by: User) -> Assessment:
    """Save the situation and resources per life area; return the assessment version written.

    The first save and the first save after a re-assessment start a new dated version (copying
    nothing: the earlier version stays readable as it was); later saves update that version.
    Raises RuleViolation if the case is closed or every text is empty
    (``rules.check_assessment_written``). Source: FAQ KIM NRW Q32 (Assessment, Re-Assessment).
    """
    require_open(case)
    rules.check_assessment_written(
        [(area.value, situation, resources) for area, (situation, resources) in areas.items()]
    )
    latest = current_assessment(case)
    moment = now()
    with transaction():
        if rules.needs_new_assessment_version(
            latest.started_at if latest else None, _entered_assessment_at(case)
        ):
            latest = Assessment(
                version=(latest.version + 1) if latest else 1,
                started_by_id=by.id,
                on_behalf_of_id=on_behalf_of(case, by),
                started_at=moment,
                updated_at=moment,
            )
            case.assessments.append(latest)
        by_area = {a.life_area: a for a in latest.areas}
        for area, (situation, resources) in areas.items():
            situation, resources = situation.strip() or None, resources.strip() or None
            row = by_area.get(area)
            if row is None and (situation or resources):
                latest.areas.append(
                    AssessmentArea(life_area=area, situation=situation, resources=resources)
                )
            elif row is not None:
                row.situation, row.resources = situation, resources
        latest.updated_at = moment
        touch(case, today())
    return latest


# -- Referrals (Linking) --------------------------------------------------------------------


def exchange_partner_ids(case: Case) -> set[int]:
    """Return the partners the client's consent allows data exchange with (not withdrawn)."""
    return {e.partner_id for e in case.client.consent.exchanges if e.active and e.partner_id}


def record_referral(
    case: Case,
    partner_id: int,
    referred_on: dt.date,
    purpose: str,
    passes_data: bool,
    by: User,
) -> Referral:
    """Record a referral of ``case`` to a partner of the organisation's directory.

    Marked as Verweisberatung when the partner's legal domain has its own case management.
    Raises ReferralRefused when data would go to a partner without the consent's exchange
    scope, or for a bad date. Source: FAQ KIM NRW Q32 (Linking, Verweisberatung), Q34.
    """
    require_open(case)
    partner = db.session.get(Partner, partner_id)
    if partner is None or partner.organisation_id != case.organisation_id:
        raise rules.ReferralRefused(
            _l("Bitte eine Stelle aus dem Verzeichnis wählen."), field="partner_id"
        )
    rules.check_referral_date(referred_on, case.opened_on, today())
    rules.check_referral_consent(passes_data, partner.id, exchange_partner_ids(case))
    moment = now()
    with transaction():
        referral = Referral(
            partner_id=partner.id,
            referred_on=referred_on,
            purpose=purpose.strip(),
            status=ReferralStatus.PROPOSED,
            passes_data=passes_data,
            verweisberatung=rules.is_verweisberatung(partner.legal_domain),
            recorded_by_id=by.id,
            on_behalf_of_id=on_behalf_of(case, by),
            recorded_at=moment,
            updated_at=moment,
        )
        case.referrals.append(referral)
        touch(case, referred_on)
    return referral


def update_referral(
    case: Case, referral_id: int, status: ReferralStatus, outcome: str, by: User
) -> Referral:
    """Set the status (proposed, arranged, taken up, ended, failed) and outcome of a referral."""
    require_open(case)
    referral = next((r for r in case.referrals if r.id == referral_id), None)
    if referral is None:
        raise RuleViolation(_l("Diese Vermittlung gehört nicht zu diesem Fall."))
    with transaction():
        referral.status = status
        referral.outcome = outcome.strip() or None
        referral.updated_at = now()
        touch(case, today())
    return referral


# -- Monitoring -----------------------------------------------------------------------------


def record_monitoring(case: Case, entry_on: dt.date, text: str, by: User) -> MonitoringEntry:
    """Record a monitoring entry (how the agreed steps and services are going)."""
    require_open(case)
    _not_in_future(entry_on, "entry_on")
    with transaction():
        entry = MonitoringEntry(
            entry_on=entry_on,
            text=text.strip(),
            recorded_by_id=by.id,
            on_behalf_of_id=on_behalf_of(case, by),
            recorded_at=now(),
        )
        case.monitoring_entries.append(entry)
        touch(case, entry_on)
    return entry


# -- Notes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteThread:
    """A note as shown: its latest version and the earlier versions it corrected, newest first."""

    latest: Note
    earlier: list[Note]


def note_threads(case: Case) -> list[NoteThread]:
    """Return the notes of ``case`` as threads of versions, newest note first."""
    by_id = {n.id: n for n in case.notes}
    superseded = {n.supersedes_id for n in case.notes if n.supersedes_id}
    threads = []
    for note in case.notes:
        if note.id in superseded:
            continue
        earlier, cursor = [], note
        while cursor.supersedes_id:
            cursor = by_id[cursor.supersedes_id]
            earlier.append(cursor)
        threads.append(NoteThread(latest=note, earlier=earlier))
    return sorted(threads, key=lambda t: (t.latest.noted_on, t.latest.id), reverse=True)


def write_note(case: Case, kind: NoteKind, noted_on: dt.date, text: str, by: User) -> Note:
    """Write a dated, authored note on ``case``."""
    require_open(case)
    _not_in_future(noted_on, "noted_on")
    with transaction():
        note = Note(
            kind=kind,
            noted_on=noted_on,
            text=text.strip(),
            written_by_id=by.id,
            on_behalf_of_id=on_behalf_of(case, by),
            written_at=now(),
        )
        case.notes.append(note)
        touch(case, today())
    return note


def correct_note(case: Case, note_id: int, text: str, by: User) -> Note:
    """Correct a note: write a new version that supersedes it; the old one stays readable.

    Raises NoteRefused for a version that was already corrected or an unchanged text.
    Notes of closed cases can still be corrected (a correction is no new activity).
    """
    note = next((n for n in case.notes if n.id == note_id), None)
    if note is None:
        raise RuleViolation(_l("Dieser Vermerk gehört nicht zu diesem Fall."))
    is_latest = not any(n.supersedes_id == note.id for n in case.notes)
    rules.check_note_correction(is_latest, note.text, text)
    with transaction():
        correction = Note(
            kind=note.kind,
            noted_on=note.noted_on,
            text=text.strip(),
            supersedes_id=note.id,
            written_by_id=by.id,
            on_behalf_of_id=on_behalf_of(case, by),
            written_at=now(),
        )
        case.notes.append(correction)
        touch(case)
    return correction


# -- Follow-ups -----------------------------------------------------------------------------


def add_follow_up(case: Case, due_on: dt.date, text: str, by: User) -> FollowUp:
    """Set a follow-up (Wiedervorlage) on ``case`` due on ``due_on``."""
    require_open(case)
    rules.check_follow_up_due(due_on, today())
    with transaction():
        follow_up = FollowUp(
            due_on=due_on,
            text=text.strip(),
            created_by_id=by.id,
            on_behalf_of_id=on_behalf_of(case, by),
            created_at=now(),
        )
        case.follow_ups.append(follow_up)
        touch(case)
    return follow_up


def complete_follow_up(case: Case, follow_up_id: int, by: User) -> FollowUp:
    """Mark a follow-up as done; it stays in the timeline with who did it and when."""
    follow_up = next((f for f in case.follow_ups if f.id == follow_up_id), None)
    if follow_up is None:
        raise RuleViolation(_l("Diese Wiedervorlage gehört nicht zu diesem Fall."))
    if follow_up.done_at is not None:
        raise RuleViolation(_l("Diese Wiedervorlage ist bereits erledigt."))
    with transaction():
        follow_up.done_at = now()
        follow_up.done_by_id = by.id
        touch(case, today())
    return follow_up
