"""What a case holds, read as plain rows in one statement for the case page and the timeline
(``queries.case_record``, issue 8): the same records, in the same order, with the same texts
as the ORM case and its relationships."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kimdb.auth.models import Role
from kimdb.cases import casework, queries, service
from kimdb.cases.models import (
    ConsultationMode,
    GoalResponsible,
    GoalStatus,
    LegalDomain,
    LifeArea,
    NoteKind,
    ReferralStatus,
)
from kimdb.cases.rules import CaseKind, Stage
from kimdb.orgs.models import Partner
from kimdb.substitution.models import CaseTransfer, TransferKind
from kimdb.substitution.service import transfers_of
from kimdb.timeutil import now, today
from tests.factories import make_case, make_client, make_user

JOBCENTER = "Jobcenter Testkreis"


def _busy_case(anna):
    """A case with every kind of record: two of most, a corrected note, a done follow-up, a
    reclassification, a stage change, an assessment, a transfer and a consent exchange."""
    person = make_client(anna, partners=[JOBCENTER])
    case = make_case(anna, CaseKind.SHORT_COUNSELLING, person)
    service.reclassify(case, CaseKind.CASE_MANAGEMENT, "Mehr Bedarf als gedacht", by=anna)
    day = today()
    service.record_consultation(case, day, 45, ConsultationMode.IN_PERSON, "ar", "geheim", anna)
    service.record_consultation(
        case, day - dt.timedelta(days=3), 30, ConsultationMode.PHONE, None, None, anna
    )
    service.add_need(case, LifeArea.WORK, LegalDomain.SGB_II, "Arbeit finden", True, by=anna)
    service.add_need(case, LifeArea.HOUSING, None, "Wohnung", False, by=anna)
    service.add_goal(case, "Bewerbungen schreiben", day, by=anna, due_on=day + dt.timedelta(9))
    service.add_goal(case, "Wohnung suchen", None, by=anna, responsible=GoalResponsible.PARTNER)
    partner = service.db.session.scalar(select(Partner).where(Partner.name == JOBCENTER))
    referral = casework.record_referral(case, partner.id, day, "Antrag stellen", True, by=anna)
    casework.update_referral(case, referral.id, ReferralStatus.TAKEN_UP, "Termin war", by=anna)
    casework.record_monitoring(case, day, "Läuft gut", by=anna)
    note = casework.write_note(case, NoteKind.PHONE_CALL, day, "Erster Anruf", by=anna)
    casework.correct_note(case, note.id, "Erster Anruf (korrigiert)", by=anna)
    casework.write_note(case, NoteKind.INTERNAL, day, "Zweiter Vermerk", by=anna)
    done = casework.add_follow_up(case, day + dt.timedelta(days=2), "Anrufen", by=anna)
    casework.add_follow_up(case, day + dt.timedelta(days=5), "Nachfragen", by=anna)
    casework.complete_follow_up(case, done.id, by=anna)
    service.change_stage(case, Stage.ASSESSMENT, by=anna)
    casework.save_assessment(case, {LifeArea.WORK: ("Sucht Arbeit", "")}, by=anna)
    supervisor = make_user("sv.record", Role.SUPERVISOR)
    service.db.session.add(
        CaseTransfer(
            case_id=case.id,
            from_owner_id=supervisor.id,
            to_owner_id=anna.id,
            kind=TransferKind.REASSIGNMENT,
            reason="Ausscheiden",
            by_id=supervisor.id,
            at=now(),
        )
    )
    service.db.session.commit()
    return case


def test_the_record_holds_what_the_orm_case_holds(app, db, anna):
    case_id = _busy_case(anna).id
    db.session.expire_all()  # the ORM case is read again, as the page reads it
    with app.test_request_context():
        case = service.get_case(anna, case_id)
        record = queries.case_record(case, assessments=True, directory=True)

        assert record.client_name == case.client.full_name
        assert [
            (n.id, n.life_area, n.legal_domain, n.description, n.in_focus, n.recorded_at)
            for n in record.needs
        ] == [
            (n.id, n.life_area, n.legal_domain, n.description, n.in_focus, n.recorded_at)
            for n in case.needs
        ]
        assert [
            (g.id, g.text, g.responsible, g.status, g.agreed_on, g.due_on, g.recorded_by_id)
            for g in record.goals
        ] == [
            (g.id, g.text, g.responsible, g.status, g.agreed_on, g.due_on, g.recorded_by_id)
            for g in case.goals
        ]
        assert [
            (c.id, c.held_on, c.duration_minutes, c.mode, c.interpreter_language)
            + (c.entered_at, c.entry_lag_days, c.entered_by_id)
            for c in record.consultations
        ] == [
            (c.id, c.held_on, c.duration_minutes, c.mode, c.interpreter_language)
            + (c.entered_at, c.entry_lag_days, c.entered_by_id)
            for c in case.consultations
        ]
        assert [
            (r.id, r.referred_on, r.partner_name, r.purpose, r.outcome, r.status)
            + (r.passes_data, r.verweisberatung, r.recorded_by_id)
            for r in record.referrals
        ] == [
            (r.id, r.referred_on, r.partner.name, r.purpose, r.outcome, r.status)
            + (r.passes_data, r.verweisberatung, r.recorded_by_id)
            for r in case.referrals
        ]
        assert [
            (m.id, m.entry_on, m.text, m.recorded_by_name, m.on_behalf_of_id)
            for m in record.monitoring_entries
        ] == [
            (m.id, m.entry_on, m.text, m.recorded_by.display_name, m.on_behalf_of_id)
            for m in case.monitoring_entries
        ]
        assert [
            (n.id, n.kind, n.noted_on, n.text, n.supersedes_id, n.written_by_name, n.written_at)
            for n in record.notes
        ] == [
            (n.id, n.kind, n.noted_on, n.text, n.supersedes_id, n.written_by.display_name)
            + (n.written_at,)
            for n in case.notes
        ]
        assert [
            (f.id, f.due_on, f.text, f.created_by_id, f.done_at, f.done_by_id)
            for f in record.follow_ups
        ] == [
            (f.id, f.due_on, f.text, f.created_by_id, f.done_at, f.done_by_id)
            for f in case.follow_ups
        ]
        assert [
            (s.from_stage, s.to_stage, s.reason, s.closed_on, s.closure_reason)
            + (s.changed_by_name, s.on_behalf_of_id, s.changed_at)
            for s in record.stage_changes
        ] == [
            (s.from_stage, s.to_stage, s.reason, s.closed_on, s.closure_reason)
            + (s.changed_by.display_name, s.on_behalf_of_id, s.changed_at)
            for s in case.stage_changes
        ]
        assert [
            (c.from_kind, c.to_kind, c.reason, c.changed_by_name, c.changed_at)
            for c in record.classification_changes
        ] == [
            (c.from_kind, c.to_kind, c.reason, c.changed_by.display_name, c.changed_at)
            for c in case.classification_changes
        ]
        assert [
            (t.at, t.from_owner_name, t.to_owner_name, t.by_name, t.reason)
            for t in record.transfers
        ] == [
            (t.at, t.from_owner.display_name, t.to_owner.display_name, t.by.display_name)
            + (t.reason,)
            for t in transfers_of(case)
        ]
        assert [
            (a.version, a.started_by_id, a.started_at, a.life_areas) for a in record.assessments
        ] == [
            (a.version, a.started_by_id, a.started_at, [x.life_area for x in a.areas])
            for a in case.assessments
        ]
        assert [(e.partner_id, e.partner_name, e.active) for e in record.exchanges] == [
            (e.partner_id, e.partner.name, e.active) for e in case.client.consent.exchanges
        ]
        directory = service.db.session.scalars(
            select(Partner).where(Partner.organisation_id == case.organisation_id)
        )
        assert [(p.id, p.name, p.legal_domain) for p in record.partners] == sorted(
            ((p.id, p.name, p.legal_domain) for p in directory), key=lambda p: (p[1], p[0])
        )
        assert record.colleagues == service.colleague_names(case.organisation_id)
        assert record.facts(case) == case.facts()
        assert record.consultations and record.transfers and record.assessments  # not empty
        assert {g.status for g in record.goals} == {GoalStatus.OPEN}


def test_the_record_leaves_out_the_assessments_and_directory_unless_asked(app, db, anna):
    case = _busy_case(anna)
    with app.test_request_context():
        record = queries.case_record(case)
    assert record.needs and record.notes
    assert (record.assessments, record.exchanges, record.partners) == ([], [], [])


def test_the_record_of_a_case_without_records_is_empty_but_names_the_client(app, db, anna):
    case = make_case(anna, CaseKind.SHORT_COUNSELLING)
    with app.test_request_context():
        record = queries.case_record(case, assessments=True, directory=True)
        assert record.client_name == case.client.full_name
    assert record.needs == record.goals == record.consultations == record.notes == []
    assert len(record.classification_changes) == len(record.stage_changes) == 1
