"""Case work between intake and closure (issue 4) through real requests: follow-ups, the partner
directory, referrals, monitoring, notes, reopening, the assessment, the goal plan, finding own
cases, the timeline, the daily-entry figure and two users writing one case at once."""

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from kimdb.auth.models import Role
from kimdb.cases import casework
from kimdb.cases import service as cases_service
from kimdb.cases.models import (
    Assessment,
    AssessmentArea,
    Case,
    ConsultationMode,
    FollowUp,
    Goal,
    GoalResponsible,
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
from kimdb.extensions import ConcurrentChange
from kimdb.orgs import service as orgs_service
from kimdb.orgs.models import Partner, PartnerKind
from kimdb.timeutil import now, today
from tests.factories import count_rows as count
from tests.factories import csrf_token, login, make_case, make_client, make_user
from tests.factories import post_case_form as post
from tests.factories import reload_case as reload

CM, KB = CaseKind.CASE_MANAGEMENT, CaseKind.SHORT_COUNSELLING
JOBCENTER = "Jobcenter Kreis Warendorf"


# -- helpers ----------------------------------------------------------------------------------


def day(offset: int = 0) -> dt.date:
    """Today plus ``offset`` days (Europe/Berlin)."""
    return today() + dt.timedelta(days=offset)


def iso(offset: int = 0) -> str:
    return day(offset).isoformat()


def german(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def set_case(db, case_id, **columns):
    """Change columns of a case row directly (dates the forms cannot set: opening, closure)."""
    db.session.execute(
        update(Case.__table__).where(Case.__table__.c.id == case_id).values(**columns)
    )
    db.session.commit()
    db.session.expire_all()


def page_of(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def block(page, testid, end="</section>"):
    """The part of ``page`` from the element with ``data-testid=testid`` to ``end``."""
    assert f'data-testid="{testid}"' in page, f"no {testid} on the page"
    return page.split(f'data-testid="{testid}"', 1)[1].split(end, 1)[0]


def cm_in_monitoring(user, person=None):
    """A CM case moved through the service to monitoring (a need, an agreed goal)."""
    case = make_case(user, CM, person)
    cases_service.add_need(case, LifeArea.WORK, None, "Anerkennung", False, by=user)
    cases_service.change_stage(case, Stage.ASSESSMENT, by=user)
    cases_service.add_goal(case, "Anerkennung beantragt", today(), by=user)
    for stage in (Stage.PLANNING, Stage.LINKING, Stage.MONITORING):
        cases_service.change_stage(case, stage, by=user)
    return case


def add_partner(user, name, legal_domain=None, kind=PartnerKind.AUTHORITY):
    return orgs_service.add_partner(user.organisation_id, name, kind, legal_domain, None)


def add_follow_up(db, case, user, due_on, text):
    """A follow-up row with any due date (the form refuses past ones; time moves on anyway)."""
    db.session.add(
        FollowUp(case_id=case.id, due_on=due_on, text=text, created_by_id=user.id, created_at=now())
    )
    db.session.commit()


# -- 1. Follow-ups (Wiedervorlagen) -----------------------------------------------------------


def test_follow_up_is_set_and_listed_on_the_case(client, db, anna):
    case = make_case(anna, KB)
    response = post(
        client, case.id, "follow-ups", "follow_up", due_on=iso(7), text="Bescheid prüfen"
    )
    assert response.status_code == 302
    follow_up = db.session.scalar(select(FollowUp))
    assert follow_up.due_on == day(7) and follow_up.text == "Bescheid prüfen"
    table = block(page_of(client, f"/cases/{case.id}"), "follow-ups-table", "</table>")
    assert "Bescheid prüfen" in table and german(day(7)) in table


def test_follow_up_due_in_the_past_is_refused_and_input_kept(client, db, anna):
    case = make_case(anna, KB)
    response = post(
        client, case.id, "follow-ups", "follow_up", due_on=iso(-1), text="Bescheid prüfen"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Eine Wiedervorlage kann nicht in der Vergangenheit fällig sein." in page
    assert f'value="{iso(-1)}"' in page
    assert 'value="Bescheid prüfen"' in page
    assert count(db, FollowUp) == 0


def test_follow_up_without_csrf_token_is_refused(client, db, anna):
    case = make_case(anna, KB)
    response = client.post(
        f"/cases/{case.id}/follow-ups",
        data={"follow_up-due_on": iso(3), "follow_up-text": "Bescheid prüfen"},
    )
    assert response.status_code == 400
    assert "Formular abgelaufen" in response.get_data(as_text=True)
    assert count(db, FollowUp) == 0


def test_done_follow_up_leaves_the_open_list_and_appears_on_the_timeline(client, db, anna):
    case = make_case(anna, KB)
    post(client, case.id, "follow-ups", "follow_up", due_on=iso(0), text="Anruf Ausländerbehörde")
    follow_up = db.session.scalar(select(FollowUp))
    response = post(client, case.id, f"follow-ups/{follow_up.id}/done", f"done{follow_up.id}")
    assert response.status_code == 302
    db.session.expire_all()
    done = db.session.get(FollowUp, follow_up.id)
    assert done.done_at is not None and done.done_by_id == anna.id
    page = page_of(client, f"/cases/{case.id}")
    assert 'data-testid="follow-ups-table"' not in page
    assert "Keine offenen Wiedervorlagen." in page
    timeline = block(page_of(client, f"/cases/{case.id}/timeline"), "timeline", "</table>")
    assert "Wiedervorlage erledigt" in timeline and "Anruf Ausländerbehörde" in timeline
    assert count(db, FollowUp) == 1  # kept, not deleted


def test_follow_up_marked_done_twice_is_refused_with_a_message(client, db, anna):
    case = make_case(anna, KB)
    post(client, case.id, "follow-ups", "follow_up", due_on=iso(0), text="Anruf Ausländerbehörde")
    follow_up = db.session.scalar(select(FollowUp))
    post(client, case.id, f"follow-ups/{follow_up.id}/done", f"done{follow_up.id}")
    db.session.expire_all()
    first_done_at = db.session.get(FollowUp, follow_up.id).done_at
    assert first_done_at is not None
    again = post(client, case.id, f"follow-ups/{follow_up.id}/done", f"done{follow_up.id}")
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).done_at == first_done_at
    assert again.status_code == 422
    assert "Diese Wiedervorlage ist bereits erledigt." in again.get_data(as_text=True)


def test_start_page_lists_overdue_and_due_today_follow_ups_but_not_future_ones(client, db, anna):
    case = make_case(anna, KB)
    add_follow_up(db, case, anna, day(-3), "Unterlagen nachreichen")
    add_follow_up(db, case, anna, day(0), "Termin Jobcenter bestätigen")
    add_follow_up(db, case, anna, day(5), "Kita-Platz nachfragen")
    due = block(page_of(client, "/"), "due-follow-ups")
    assert "Unterlagen nachreichen" in due and "überfällig" in due
    assert "Termin Jobcenter bestätigen" in due and "heute fällig" in due
    assert "Kita-Platz nachfragen" not in due
    assert case.number in due


def test_start_page_does_not_list_done_or_other_case_managers_follow_ups(client, db, anna):
    bert = make_user("cm.bert")
    own, other = make_case(anna, KB), make_case(bert, KB)
    add_follow_up(db, other, bert, day(-1), "Fremde Wiedervorlage")
    add_follow_up(db, own, anna, day(-1), "Schon erledigt")
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.case_id == own.id))
    post(client, own.id, f"follow-ups/{follow_up.id}/done", f"done{follow_up.id}")
    due = block(page_of(client, "/"), "due-follow-ups")
    assert "Fremde Wiedervorlage" not in due and "Schon erledigt" not in due
    assert "Heute ist nichts fällig." in due


# -- 2. Partner directory ---------------------------------------------------------------------


def partner_form(client, **fields):
    data = {"csrf_token": csrf_token(client, "/partners/"), **fields}
    return client.post("/partners/", data=data)


def test_case_manager_adds_a_partner_to_the_directory(client, db, anna):
    response = partner_form(
        client,
        name="  Jobcenter   Kreis Warendorf ",
        kind="authority",
        legal_domain="sgb_ii",
        contact="02581 123-0",
    )
    assert response.status_code == 302
    partner = db.session.scalar(select(Partner))
    assert partner.name == JOBCENTER and partner.legal_domain == "sgb_ii"
    assert partner.organisation_id == anna.organisation_id
    table = block(page_of(client, "/partners/"), "partners-table", "</table>")
    assert JOBCENTER in table and "02581 123-0" in table


def test_partner_with_a_name_already_in_the_directory_is_refused(client, db, anna):
    add_partner(anna, JOBCENTER, "sgb_ii")
    response = partner_form(
        client, name="JOBCENTER kreis warendorf", kind="authority", contact="Zentrale 0800"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Diese Stelle steht bereits im Verzeichnis." in page
    assert 'value="JOBCENTER kreis warendorf"' in page and 'value="Zentrale 0800"' in page
    assert count(db, Partner) == 1


def test_partner_without_a_name_is_refused(client, db, anna):
    response = partner_form(client, name="", kind="counselling", contact="Zentrale 0800")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte den Namen der Stelle angeben." in page
    assert 'value="Zentrale 0800"' in page
    assert count(db, Partner) == 0


def test_supervisor_sees_the_directory_without_the_add_form(client, db):
    supervisor = make_user("sv.sara", Role.SUPERVISOR)
    add_partner(supervisor, "Migrationsberatung MBE", "mbe", PartnerKind.COUNSELLING)
    login(client, "sv.sara")
    page = page_of(client, "/partners/")
    assert "Migrationsberatung MBE" in block(page, "partners-table", "</table>")
    assert "Stelle hinzufügen" not in page and 'name="name"' not in page


def test_supervisor_cannot_add_a_partner_by_posting_the_form(client, db):
    make_user("sv.sara", Role.SUPERVISOR)
    login(client, "sv.sara")
    response = partner_form(client, name="Schuldnerberatung", kind="counselling")
    assert response.status_code == 403
    assert count(db, Partner) == 0


def test_admin_has_no_access_to_the_partner_directory(client, db):
    make_user("admin.ali", Role.ADMIN)
    login(client, "admin.ali")
    response = client.get("/partners/")
    assert response.status_code == 403
    assert "Kein Zugriff" in response.get_data(as_text=True)


def test_partner_directory_holds_only_the_own_organisations_partners(client, db, anna):
    otto = make_user("cm.otto", organisation="KI Anderswo")
    add_partner(otto, "Jobcenter Anderswo", "sgb_ii")
    add_partner(anna, JOBCENTER, "sgb_ii")
    page = page_of(client, "/partners/")
    assert JOBCENTER in page and "Jobcenter Anderswo" not in page


@pytest.mark.parametrize(
    ("back", "target"),
    [
        ("/cases/1", "/cases/1"),
        ("https://evil.example/", "/partners/"),
        ("//evil.example", "/partners/"),
    ],
    ids=["case-page", "other-site", "scheme-relative"],
)
def test_partner_form_returns_only_to_a_page_of_kimdb(client, db, anna, back, target):
    response = partner_form(client, name="Schuldnerberatung", kind="counselling", back=back)
    assert response.status_code == 302
    assert response.location == target


# -- 3. Referrals (Linking) -------------------------------------------------------------------


def test_referral_to_an_sgb_ii_partner_is_marked_verweisberatung(client, db, anna):
    case = make_case(anna, CM)
    partner = add_partner(anna, "Jobcenter Münster", "sgb_ii")
    response = post(
        client,
        case.id,
        "referrals",
        "referral",
        partner_id=str(partner.id),
        referred_on=iso(0),
        purpose="Fallmanagement SGB II",
    )
    assert response.status_code == 302
    referral = db.session.scalar(select(Referral))
    assert referral.verweisberatung and not referral.passes_data
    assert referral.status is ReferralStatus.PROPOSED
    table = block(page_of(client, f"/cases/{case.id}"), "referrals-table", "</table>")
    assert "Jobcenter Münster" in table and "Verweisberatung" in table


def test_referral_to_a_counselling_service_is_no_verweisberatung(client, db, anna):
    case = make_case(anna, CM)
    partner = add_partner(anna, "Schuldnerberatung Caritas", None, PartnerKind.COUNSELLING)
    post(
        client,
        case.id,
        "referrals",
        "referral",
        partner_id=str(partner.id),
        referred_on=iso(0),
        purpose="Schulden ordnen",
    )
    assert not db.session.scalar(select(Referral)).verweisberatung
    table = block(page_of(client, f"/cases/{case.id}"), "referrals-table", "</table>")
    assert "Schuldnerberatung Caritas" in table and "Verweisberatung" not in table


def test_referral_passing_data_without_exchange_scope_is_refused(client, db, anna):
    case = make_case(anna, CM)
    partner = add_partner(anna, "Jobcenter Münster", "sgb_ii")
    response = post(
        client,
        case.id,
        "referrals",
        "referral",
        partner_id=str(partner.id),
        referred_on=iso(0),
        purpose="Unterlagen zum Antrag übergeben",
        passes_data="y",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "keine Einwilligung zum Datenaustausch" in page
    assert "Unterlagen zum Antrag übergeben</textarea>" in page
    assert f'<option selected value="{partner.id}">' in page
    assert re.search(r'<input [^>]*\bchecked\b[^>]*name="referral-passes_data"', page)
    assert count(db, Referral) == 0


def test_referral_passing_data_to_a_partner_named_in_the_consent_is_accepted(client, db, anna):
    person = make_client(anna, partners=[JOBCENTER])
    case = make_case(anna, CM, person)
    partner = db.session.scalar(select(Partner).where(Partner.name == JOBCENTER))
    assert partner.organisation_id == anna.organisation_id
    response = post(
        client,
        case.id,
        "referrals",
        "referral",
        partner_id=str(partner.id),
        referred_on=iso(0),
        purpose="Antrag Bürgergeld",
        passes_data="y",
    )
    assert response.status_code == 302
    referral = db.session.scalar(select(Referral))
    assert referral.passes_data and referral.partner_id == partner.id


def test_referral_without_data_passing_goes_to_any_partner(client, db, anna):
    person = make_client(anna, partners=[JOBCENTER])
    case = make_case(anna, CM, person)
    other = add_partner(anna, "Jugendmigrationsdienst", "jmd", PartnerKind.COUNSELLING)
    response = post(
        client,
        case.id,
        "referrals",
        "referral",
        partner_id=str(other.id),
        referred_on=iso(0),
        purpose="Sprechstunde",
    )
    assert response.status_code == 302
    assert count(db, Referral, partner_id=other.id, passes_data=False) == 1


def test_referral_to_another_organisations_partner_is_refused(client, db, anna):
    case = make_case(anna, CM)
    foreign = add_partner(make_user("cm.otto", organisation="KI Anderswo"), "Jobcenter Anderswo")
    response = post(
        client,
        case.id,
        "referrals",
        "referral",
        partner_id=str(foreign.id),
        referred_on=iso(0),
        purpose="Beratung",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Keine gültige Auswahl." in page and "Beratung</textarea>" in page
    assert count(db, Referral) == 0


def test_referral_without_partner_and_purpose_is_refused(client, db, anna):
    case = make_case(anna, CM)
    response = post(
        client, case.id, "referrals", "referral", partner_id="0", referred_on=iso(0), purpose=""
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte eine Stelle aus dem Verzeichnis wählen." in page
    assert "Bitte den Zweck der Vermittlung angeben." in page
    assert count(db, Referral) == 0


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (-1, "Das Datum liegt vor der Eröffnung des Falls."),
        (1, "Das Datum darf nicht in der Zukunft liegen."),
    ],
    ids=["before-opening", "in-future"],
)
def test_referral_dated_before_opening_or_in_future_is_refused(client, db, anna, offset, message):
    case = make_case(anna, CM)  # opened today
    partner = add_partner(anna, "Jobcenter Münster", "sgb_ii")
    response = post(
        client,
        case.id,
        "referrals",
        "referral",
        partner_id=str(partner.id),
        referred_on=iso(offset),
        purpose="Beratung zum Bürgergeld",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert f'value="{iso(offset)}"' in page and "Beratung zum Bürgergeld</textarea>" in page
    assert count(db, Referral) == 0


def record_referral(db, anna, case):
    partner = add_partner(anna, "Jobcenter Münster", "sgb_ii")
    case = reload(db, case.id)
    return casework.record_referral(case, partner.id, today(), "Bürgergeld", False, by=anna)


def test_referral_status_and_outcome_are_updated(client, db, anna):
    case = make_case(anna, CM)
    referral = record_referral(db, anna, case)
    response = post(
        client,
        case.id,
        f"referrals/{referral.id}",
        f"referral{referral.id}",
        status="taken_up",
        outcome="Termin wahrgenommen, Antrag gestellt",
    )
    assert response.status_code == 302
    db.session.expire_all()
    updated = db.session.get(Referral, referral.id)
    assert updated.status is ReferralStatus.TAKEN_UP
    assert updated.outcome == "Termin wahrgenommen, Antrag gestellt"
    timeline = page_of(client, f"/cases/{case.id}/timeline?type=referral")
    assert "wahrgenommen · Termin wahrgenommen, Antrag gestellt" in timeline


def test_referral_update_with_too_long_outcome_is_refused(client, db, anna):
    case = make_case(anna, CM)
    referral = record_referral(db, anna, case)
    outcome = "Ergebnis " * 120  # 1080 characters, the limit is 1000
    response = post(
        client,
        case.id,
        f"referrals/{referral.id}",
        f"referral{referral.id}",
        status="ended",
        outcome=outcome,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "1000 Zeichen" in page
    assert f'value="{outcome}"' in page
    db.session.expire_all()
    unchanged = db.session.get(Referral, referral.id)
    assert unchanged.status is ReferralStatus.PROPOSED and unchanged.outcome is None


# -- 4. Monitoring ----------------------------------------------------------------------------


def test_monitoring_entry_is_recorded_and_listed(client, db, anna):
    case = make_case(anna, CM)
    response = post(
        client,
        case.id,
        "monitoring",
        "monitoring",
        entry_on=iso(-1),
        text="Sprachkurs läuft regelmäßig",
    )
    assert response.status_code == 302
    entry = db.session.scalar(select(MonitoringEntry))
    assert entry.entry_on == day(-1) and entry.recorded_by_id == anna.id
    listed = block(page_of(client, f"/cases/{case.id}"), "monitoring-list", "</ul>")
    assert "Sprachkurs läuft regelmäßig" in listed and german(day(-1)) in listed


def test_monitoring_entry_dated_in_future_is_refused(client, db, anna):
    case = make_case(anna, CM)
    response = post(
        client, case.id, "monitoring", "monitoring", entry_on=iso(2), text="Termin steht an"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Das Datum darf nicht in der Zukunft liegen." in page
    assert f'value="{iso(2)}"' in page and "Termin steht an</textarea>" in page
    assert count(db, MonitoringEntry) == 0


def test_monitoring_entry_without_text_is_refused(client, db, anna):
    case = make_case(anna, CM)
    response = post(client, case.id, "monitoring", "monitoring", entry_on=iso(-2), text="  ")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte die Beobachtung beschreiben." in page
    assert f'value="{iso(-2)}"' in page
    assert count(db, MonitoringEntry) == 0


# -- 5. Notes (Vermerke) ----------------------------------------------------------------------


def write_note(client, case_id, text, kind="phone_call", noted_on=None):
    return post(client, case_id, "notes", "note", kind=kind, noted_on=noted_on or iso(0), text=text)


def test_note_is_written_with_type_date_and_author(client, db, anna):
    case = make_case(anna, KB)
    response = write_note(client, case.id, "Rückruf wegen Termin", noted_on=iso(-1))
    assert response.status_code == 302
    note = db.session.scalar(select(Note))
    assert note.kind is NoteKind.PHONE_CALL and note.noted_on == day(-1)
    assert note.written_by_id == anna.id and note.supersedes_id is None
    shown = block(page_of(client, f"/cases/{case.id}"), "note", "</article>")
    assert "Rückruf wegen Termin" in shown and "Telefonat" in shown and "Cm.Anna" in shown


def test_note_without_text_or_in_future_is_refused(client, db, anna):
    case = make_case(anna, KB)
    response = write_note(client, case.id, "", kind="internal", noted_on=iso(1))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte den Vermerk schreiben." in page
    assert '<option selected value="internal">' in page and f'value="{iso(1)}"' in page
    assert count(db, Note) == 0
    future = write_note(client, case.id, "Gespräch morgen", noted_on=iso(1))
    assert future.status_code == 422
    assert "Das Datum darf nicht in der Zukunft liegen." in future.get_data(as_text=True)
    assert "Gespräch morgen</textarea>" in future.get_data(as_text=True)
    assert count(db, Note) == 0


def correct(client, case_id, note_id, text):
    return post(client, case_id, f"notes/{note_id}/correction", f"note{note_id}", text=text)


def test_note_correction_creates_a_new_version_and_keeps_the_old_one(client, db, anna):
    case = make_case(anna, KB)
    write_note(client, case.id, "Termin am Montag vereinbart")
    original = db.session.scalar(select(Note))
    written_at = original.written_at
    response = correct(client, case.id, original.id, "Termin am Dienstag vereinbart")
    assert response.status_code == 302
    db.session.expire_all()
    old = db.session.get(Note, original.id)
    assert old.text == "Termin am Montag vereinbart" and old.written_at == written_at
    new = db.session.scalar(select(Note).where(Note.supersedes_id == original.id))
    assert new.text == "Termin am Dienstag vereinbart" and new.written_by_id == anna.id
    assert new.kind is old.kind and new.noted_on == old.noted_on
    shown = block(page_of(client, f"/cases/{case.id}"), "note", "</article>")
    current, _, earlier = shown.partition('class="versions"')
    assert "Termin am Dienstag vereinbart" in current and "korrigiert am" in current
    assert "1 frühere Fassung" in earlier and "Termin am Montag vereinbart" in earlier
    assert count(db, Note) == 2


def test_note_correction_with_identical_text_is_refused(client, db, anna):
    case = make_case(anna, KB)
    write_note(client, case.id, "Termin am Montag vereinbart")
    note = db.session.scalar(select(Note))
    response = correct(client, case.id, note.id, "  Termin am  Montag vereinbart ")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Die Korrektur ist mit dem bisherigen Text identisch." in page
    assert "  Termin am  Montag vereinbart </textarea>" in page
    assert count(db, Note) == 1


def test_note_correction_without_text_is_refused(client, db, anna):
    case = make_case(anna, KB)
    write_note(client, case.id, "Termin am Montag vereinbart")
    note = db.session.scalar(select(Note))
    response = correct(client, case.id, note.id, "")
    assert response.status_code == 422
    assert "Bitte den korrigierten Text schreiben." in response.get_data(as_text=True)
    assert count(db, Note) == 1


def test_correcting_an_already_corrected_version_is_refused(client, db, anna):
    case = make_case(anna, KB)
    write_note(client, case.id, "Fassung eins")
    first = db.session.scalar(select(Note))
    correct(client, case.id, first.id, "Fassung zwei")
    response = correct(client, case.id, first.id, "Fassung drei")
    assert response.status_code == 422
    assert count(db, Note) == 2
    assert count(db, Note, supersedes_id=first.id) == 1
    assert db.session.scalars(select(Note.text).order_by(Note.id)).all() == [
        "Fassung eins",
        "Fassung zwei",
    ]


def test_correcting_an_already_corrected_version_says_why(client, db, anna):
    case = make_case(anna, KB)
    write_note(client, case.id, "Fassung eins")
    first = db.session.scalar(select(Note))
    correct(client, case.id, first.id, "Fassung zwei")
    response = correct(client, case.id, first.id, "Fassung drei")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Dieser Vermerk wurde bereits korrigiert." in page
    assert "Fassung drei</textarea>" in page


def test_notes_are_never_deleted_through_corrections(client, db, anna):
    case = make_case(anna, KB)
    write_note(client, case.id, "Fassung eins")
    note_id = db.session.scalar(select(Note.id))
    for text in ("Fassung zwei", "Fassung drei"):
        assert correct(client, case.id, note_id, text).status_code == 302
        note_id = db.session.scalar(select(Note.id).where(Note.supersedes_id == note_id))
    correct(client, case.id, note_id, "Fassung drei")  # identical: refused
    texts = db.session.scalars(select(Note.text).order_by(Note.id)).all()
    assert texts == ["Fassung eins", "Fassung zwei", "Fassung drei"]
    shown = block(page_of(client, f"/cases/{case.id}"), "note", "</article>")
    assert "2 frühere Fassungen" in shown
    assert "Fassung eins" in shown and "Fassung zwei" in shown
    assert page_of(client, f"/cases/{case.id}").count('data-testid="note"') == 1


# -- 6. Reopening and one open case per client ------------------------------------------------


def close(db, user, case_id, reason=ClosureReason.MOVED_AWAY):
    case = reload(db, case_id)
    cases_service.close_case(case, today(), reason, "", by=user)


def reopen(client, case_id, reason):
    return post(client, case_id, "reopen", "reopen", reason=reason)


def test_closed_case_reopens_to_the_stage_it_was_closed_from(client, db, anna):
    case = cm_in_monitoring(anna)
    close(db, anna, case.id)
    page = page_of(client, f"/cases/{case.id}")
    assert 'name="reopen-reason"' in page
    response = reopen(client, case.id, "Person ist zurückgezogen")
    assert response.status_code == 302
    case = reload(db, case.id)
    assert case.stage is Stage.MONITORING
    assert case.closed_on is None and case.closure_reason is None
    change = db.session.scalar(select(StageChange).order_by(StageChange.id.desc()))
    assert change.from_stage is Stage.CLOSED and change.to_stage is Stage.MONITORING
    assert change.reason == "Person ist zurückgezogen"
    history = block(page_of(client, f"/cases/{case.id}"), "history-table", "</table>")
    assert "Wiedereröffnet: Abgeschlossen → Monitoring (Person ist zurückgezogen)" in history


def test_reopen_without_reason_is_refused(client, db, anna):
    case = make_case(anna, KB)
    close(db, anna, case.id, ClosureReason.CONTACT_BROKE_OFF)
    changes = count(db, StageChange)
    response = reopen(client, case.id, "   ")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte begründen Sie die Wiedereröffnung." in page
    assert 'name="reopen-reason"' in page and "   </textarea>" in page
    assert reload(db, case.id).stage is Stage.CLOSED
    assert count(db, StageChange) == changes


def test_case_closed_exactly_reopen_days_ago_can_still_be_reopened(app, client, db, anna):
    case = make_case(anna, KB)
    close(db, anna, case.id, ClosureReason.CONTACT_BROKE_OFF)
    set_case(db, case.id, closed_on=day(-app.config["REOPEN_DAYS"]))
    assert 'name="reopen-reason"' in page_of(client, f"/cases/{case.id}")
    assert reopen(client, case.id, "Meldet sich wieder").status_code == 302
    assert reload(db, case.id).stage is Stage.INTAKE  # the stage it was closed from


def test_case_closed_longer_than_reopen_days_cannot_be_reopened(app, client, db, anna):
    days = app.config["REOPEN_DAYS"]
    case = make_case(anna, KB)
    close(db, anna, case.id, ClosureReason.CONTACT_BROKE_OFF)
    set_case(db, case.id, closed_on=day(-days - 1))
    page = page_of(client, f"/cases/{case.id}")
    assert 'name="reopen-reason"' not in page
    assert f"seit mehr als {days} Tagen abgeschlossen" in page
    changes = count(db, StageChange)
    response = reopen(client, case.id, "Meldet sich nach langer Zeit wieder")
    assert response.status_code == 422
    assert f"seit mehr als {days} Tagen abgeschlossen" in response.get_data(as_text=True)
    case = reload(db, case.id)
    assert case.stage is Stage.CLOSED and case.closed_on == day(-days - 1)
    assert count(db, StageChange) == changes


def open_case(client, person_id, kind="case_management"):
    token = csrf_token(client, f"/clients/{person_id}")
    return client.post(f"/cases/open/{person_id}", data={"kind": kind, "csrf_token": token})


def test_second_open_case_for_the_same_client_is_refused(client, db, anna):
    person = make_client(anna)
    make_case(anna, KB, person)
    response = open_case(client, person.id, "case_management")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "bereits einen offenen Fall" in page
    assert re.search(r'<input [^>]*\bchecked\b[^>]*value="case_management"', page)
    assert count(db, Case) == 1


def test_client_gets_a_new_case_after_closure_and_the_old_one_cannot_reopen(client, db, anna):
    person = make_client(anna)
    first = make_case(anna, KB, person)
    close(db, anna, first.id, ClosureReason.CONTACT_BROKE_OFF)
    assert open_case(client, person.id, "case_management").status_code == 302
    assert count(db, Case) == 2
    response = reopen(client, first.id, "Doch weiter begleiten")
    assert response.status_code == 422
    assert "inzwischen einen anderen offenen Fall" in response.get_data(as_text=True)
    assert reload(db, first.id).stage is Stage.CLOSED


# -- 7. Assessment ----------------------------------------------------------------------------


def save_assessment(client, case_id, **fields):
    token = csrf_token(client, f"/cases/{case_id}/assessment")
    return client.post(f"/cases/{case_id}/assessment", data={"csrf_token": token, **fields})


def area(db, version, life_area=LifeArea.HOUSING):
    db.session.expire_all()
    return db.session.scalar(
        select(AssessmentArea)
        .join(Assessment)
        .where(Assessment.version == version, AssessmentArea.life_area == life_area)
    )


def test_first_assessment_save_creates_version_one(client, db, anna):
    case = make_case(anna, CM)
    response = save_assessment(
        client,
        case.id,
        housing_situation="Sammelunterkunft, Zimmer mit vier Personen",
        housing_resources="Bruder in Münster",
    )
    assert response.status_code == 302
    assessment = db.session.scalar(select(Assessment))
    assert assessment.version == 1 and assessment.started_by_id == anna.id
    assert area(db, 1).situation == "Sammelunterkunft, Zimmer mit vier Personen"
    assert area(db, 1).resources == "Bruder in Münster"
    page = page_of(client, f"/cases/{case.id}/assessment")
    assert "Sammelunterkunft, Zimmer mit vier Personen</textarea>" in page


def test_saving_again_in_the_same_stage_updates_version_one(client, db, anna):
    case = make_case(anna, CM)
    save_assessment(client, case.id, housing_situation="Sammelunterkunft")
    response = save_assessment(
        client, case.id, housing_situation="Eigene Wohnung in Aussicht", health_situation="gesund"
    )
    assert response.status_code == 302
    assert count(db, Assessment) == 1
    assert area(db, 1).situation == "Eigene Wohnung in Aussicht"
    assert area(db, 1, LifeArea.HEALTH).situation == "gesund"


def test_reassessment_starts_version_two_and_keeps_version_one_readable(client, db, anna):
    case = cm_in_monitoring(anna)
    save_assessment(client, case.id, housing_situation="Sammelunterkunft")
    assert post(client, case.id, "stage", "stage", target="assessment").status_code == 302
    assert reload(db, case.id).stage is Stage.ASSESSMENT
    response = save_assessment(client, case.id, housing_situation="Eigene Wohnung bezogen")
    assert response.status_code == 302
    versions = db.session.scalars(select(Assessment.version).order_by(Assessment.version)).all()
    assert versions == [1, 2]
    assert area(db, 1).situation == "Sammelunterkunft"
    assert area(db, 2).situation == "Eigene Wohnung bezogen"
    old = page_of(client, f"/cases/{case.id}/assessment?version=1")
    assert "Sammelunterkunft" in block(old, "assessment-version", "</table>")
    assert "Eigene Wohnung bezogen" not in old
    assert 'name="housing_situation"' not in old  # read only
    current = page_of(client, f"/cases/{case.id}/assessment")
    assert "Eigene Wohnung bezogen</textarea>" in current


def test_assessment_text_over_4000_characters_is_refused(client, db, anna):
    case = make_case(anna, CM)
    long_text = "Wohnung " * 501  # 4008 characters
    response = save_assessment(
        client, case.id, housing_situation=long_text, health_situation="gesund"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "4000 Zeichen" in page
    assert f"{long_text}</textarea>" in page and "gesund</textarea>" in page
    assert count(db, Assessment) == 0


def test_an_empty_assessment_is_refused_and_adds_no_version(client, db, anna):
    case = make_case(anna, CM)
    response = save_assessment(client, case.id, housing_situation="   ", health_resources="")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "für mindestens ein Handlungsfeld die Situation" in page
    assert count(db, Assessment) == 0
    # With a version in place, blanking every text is refused too; the version keeps its text.
    save_assessment(client, case.id, housing_situation="Sammelunterkunft")
    response = save_assessment(client, case.id, housing_situation="")
    assert response.status_code == 422
    assert count(db, Assessment) == 1
    assert area(db, 1).situation == "Sammelunterkunft"


def test_assessment_without_csrf_token_is_refused(client, db, anna):
    case = make_case(anna, CM)
    response = client.post(f"/cases/{case.id}/assessment", data={"housing_situation": "x"})
    assert response.status_code == 400
    assert count(db, Assessment) == 0


# -- 8. Goal plan (Zielvereinbarung) ----------------------------------------------------------


def test_plan_shows_agreed_goals_with_responsible_and_due_date_only(client, db, anna):
    case = make_case(anna, CM)
    cases_service.add_goal(
        case,
        "Sprachkurs B1 abschließen",
        day(-2),
        by=anna,
        responsible=GoalResponsible.PARTNER,
        due_on=day(90),
    )
    cases_service.add_goal(case, "Führerschein umschreiben", None, by=anna)
    plan = block(page_of(client, f"/cases/{case.id}/plan"), "plan", "</article>")
    assert "Sprachkurs B1 abschließen" in plan
    assert "Partnerstelle" in plan and german(day(90)) in plan and german(day(-2)) in plan
    assert "Führerschein umschreiben" not in plan


def test_plan_without_agreed_goals_says_so(client, db, anna):
    case = make_case(anna, CM)
    cases_service.add_goal(case, "Führerschein umschreiben", None, by=anna)
    plan = page_of(client, f"/cases/{case.id}/plan")
    assert "Es sind noch keine Ziele vereinbart." in plan
    assert "Führerschein umschreiben" not in plan


def test_goal_form_takes_responsible_party_and_due_date(client, db, anna):
    case = make_case(anna, CM)
    response = post(
        client,
        case.id,
        "goals",
        "goal",
        text="Wohnberechtigungsschein beantragen",
        responsible="case_manager",
        due_on=iso(30),
        agreed_on=iso(0),
    )
    assert response.status_code == 302
    goal = db.session.scalar(select(Goal))
    assert goal.responsible is GoalResponsible.CASE_MANAGER and goal.due_on == day(30)
    plan = page_of(client, f"/cases/{case.id}/plan")
    assert "Wohnberechtigungsschein beantragen" in plan and "Case Manager:in" in plan


def test_goal_due_before_its_agreement_is_refused(client, db, anna):
    case = make_case(anna, CM)
    response = post(
        client,
        case.id,
        "goals",
        "goal",
        text="Wohnberechtigungsschein beantragen",
        responsible="partner",
        due_on=iso(-5),
        agreed_on=iso(0),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Das Zieldatum liegt vor dem Vereinbarungsdatum." in page
    assert "Wohnberechtigungsschein beantragen</textarea>" in page
    assert '<option selected value="partner">' in page and f'value="{iso(-5)}"' in page
    assert count(db, Goal) == 0


# -- 9. Finding own cases ---------------------------------------------------------------------


def search(client, **params):
    """Search own cases; return the response and the ids of the cases in the result table."""
    response = client.get("/cases/", query_string=params)
    page = response.get_data(as_text=True)
    if 'data-testid="search-results"' not in page:
        return response, set()
    table = block(page, "search-results", "</table>")
    return response, {int(i) for i in re.findall(r'href="/cases/(\d+)"', table)}


def found(client, **params):
    response, ids = search(client, **params)
    assert response.status_code == 200
    return ids


def test_search_by_case_number(client, db, anna):
    wanted, other = make_case(anna, KB), make_case(anna, KB)
    number = reload(db, wanted.id).number
    assert re.fullmatch(r"\d{4}-\d{6}", number)
    assert found(client, number=number) == {wanted.id}
    assert found(client, number=str(other.id)) == {other.id}
    assert found(client, number="2026-999999") == set()


def test_search_by_name_folds_umlauts_and_letter_case(client, db, anna):
    mueller = make_case(anna, KB, make_client(anna, given="Jana", family="Müller"))
    make_case(anna, KB, make_client(anna, given="Omar", family="Haddad"))
    for typed in ("mueller", "MULLER", "Müller", "jana müller"):
        assert found(client, name=typed) == {mueller.id}, typed
    assert found(client, name="Mül") == set()  # exact, not a prefix search


def test_search_finds_a_hyphenated_name_typed_with_a_space(client, db, anna):
    wanted = make_case(anna, KB, make_client(anna, given="Rania", family="Al-Hassan"))
    make_case(anna, KB, make_client(anna, given="Omar", family="Haddad"))
    assert found(client, name="alhassan") == {wanted.id}
    assert found(client, name="al hassan") == {wanted.id}


def test_search_of_three_words_finds_every_way_of_joining_them(client, db, anna):
    wanted = make_case(anna, KB, make_client(anna, given="Rania Abu", family="Al-Hassan"))
    make_case(anna, KB, make_client(anna, given="Rania", family="Abu"))
    for typed in ("raniaabu alhassan", "raniaabu al hassan", "rania abu al hassan"):
        assert found(client, name=typed) == {wanted.id}, typed
    assert found(client, name="rania abualhassan") == set()  # "Rania Abu" is one name


def test_the_same_search_by_two_case_managers_finds_only_their_own_cases(app, db):
    """The statement of a search is built once per shape and reused with the user's id as a
    parameter (issue 8): the second user's identical search must not see the first's cases."""
    anna, ben = make_user("cm.anna"), make_user("cm.ben")
    annas = make_case(anna, KB, make_client(anna, given="Jana", family="Müller"))
    bens = make_case(ben, KB, make_client(ben, given="Jana", family="Müller"))
    for user, own in ((anna, annas), (ben, bens), (anna, annas)):
        http = app.test_client()
        login(http, user.username)
        assert found(http, name="Müller") == {own.id}
        assert found(http, name="Jana Müller", include_closed="y") == {own.id}


def test_search_by_date_of_birth(client, db, anna):
    born_1990 = make_case(anna, KB)  # make_client: born 17.05.1990
    person = make_client(anna, given="Omar", family="Haddad")
    person.date_of_birth = dt.date(1985, 2, 3)
    person.refresh_search_index()
    db.session.commit()
    born_1985 = make_case(anna, KB, person)
    assert found(client, date_of_birth="1985-02-03") == {born_1985.id}
    assert found(client, date_of_birth="17.05.1990") == {born_1990.id}
    assert found(client, name="Haddad", date_of_birth="1985-02-03") == {born_1985.id}


def test_search_with_malformed_date_of_birth_is_refused(client, db, anna):
    make_case(anna, KB)
    response, ids = search(client, name="Haddad", date_of_birth="1990-02-30")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)." in page
    assert 'value="1990-02-30"' in page and 'value="Haddad"' in page
    assert ids == set()


def test_search_filters_by_kind_and_stage(client, db, anna):
    kb = make_case(anna, KB)
    cm = make_case(anna, CM, make_client(anna, given="Omar"))
    cases_service.add_need(cm, LifeArea.WORK, None, "Arbeit", False, by=anna)
    cases_service.change_stage(cm, Stage.ASSESSMENT, by=anna)
    assert found(client, kind="case_management") == {cm.id}
    assert found(client, kind="short_counselling") == {kb.id}
    assert found(client, stage="assessment") == {cm.id}
    assert found(client, stage="intake") == {kb.id}
    assert found(client, kind="short_counselling", stage="assessment") == set()


def test_search_flag_inactive_finds_a_case_without_activity_for_40_days(client, db, anna):
    idle = make_case(anna, KB)
    make_case(anna, KB, make_client(anna, given="Omar"))
    set_case(db, idle.id, last_activity_on=day(-40))
    assert found(client, flag="inactive") == {idle.id}


def test_search_flag_inactive_starts_at_kimdb_inactivity_days(app, client, db, anna):
    days = app.config["INACTIVITY_DAYS"]
    on_the_day = make_case(anna, KB)
    day_before = make_case(anna, KB, make_client(anna, given="Omar"))
    set_case(db, on_the_day.id, last_activity_on=day(-days))
    set_case(db, day_before.id, last_activity_on=day(-days + 1))
    assert found(client, flag="inactive") == {on_the_day.id}


def test_search_flag_follow_up_due(client, db, anna):
    due = make_case(anna, KB)
    later = make_case(anna, KB, make_client(anna, given="Omar"))
    done = make_case(anna, KB, make_client(anna, given="Lina"))
    add_follow_up(db, due, anna, day(0), "heute")
    add_follow_up(db, later, anna, day(3), "später")
    add_follow_up(db, done, anna, day(-1), "erledigt")
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.case_id == done.id))
    post(client, done.id, f"follow-ups/{follow_up.id}/done", f"done{follow_up.id}")
    assert found(client, flag="follow_up_due") == {due.id}


def test_search_flag_above_kb_limits(client, db, anna):
    crowded = make_case(anna, KB)
    for life_area, focus in (
        (LifeArea.HOUSING, True),
        (LifeArea.WORK, True),
        (LifeArea.HEALTH, False),
    ):
        cases_service.add_need(crowded, life_area, None, life_area.value, focus, by=anna)
    small = make_case(anna, KB, make_client(anna, given="Omar"))
    cases_service.add_need(small, LifeArea.HOUSING, None, "Wohnung", True, by=anna)
    cm = make_case(anna, CM, make_client(anna, given="Lina"))
    for life_area in (LifeArea.HOUSING, LifeArea.WORK, LifeArea.HEALTH):
        cases_service.add_need(cm, life_area, None, life_area.value, True, by=anna)
    assert found(client, flag="above_kb_limits") == {crowded.id}


def test_closed_cases_are_found_only_with_include_closed(client, db, anna):
    case = make_case(anna, KB)
    close(db, anna, case.id, ClosureReason.CONTACT_BROKE_OFF)
    assert found(client, name="Haddad") == set()
    assert found(client, name="Haddad", include_closed="y") == {case.id}


def test_search_never_shows_another_case_managers_cases(client, db, anna):
    bert = make_user("cm.bert")
    own = make_case(anna, KB, make_client(anna, given="Jana", family="Müller"))
    foreign = make_case(bert, KB, make_client(bert, given="Jana", family="Müller"))
    foreign_number = reload(db, foreign.id).number
    assert found(client, name="Müller", include_closed="y") == {own.id}
    assert found(client, number=foreign_number) == set()
    assert found(client, kind="short_counselling", include_closed="y") == {own.id}


# -- 10. Timeline -----------------------------------------------------------------------------


def timeline_rows(client, case_id, query=""):
    page = page_of(client, f"/cases/{case_id}/timeline{query}")
    rows = re.findall(r'<tr class="event-(\w+)"><td>(\d\d\.\d\d\.\d{4})</td>', page)
    return [(kind, dt.datetime.strptime(shown, "%d.%m.%Y").date()) for kind, shown in rows]


def busy_case(db, anna):
    """A CM case opened ten days ago with a note, referral, consultation and monitoring entry
    on different days."""
    case = make_case(anna, CM)
    set_case(db, case.id, opened_on=day(-10))
    case = reload(db, case.id)
    partner = add_partner(anna, "Jobcenter Münster", "sgb_ii")
    casework.write_note(case, NoteKind.INTERNAL, day(-5), "Akte angelegt", by=anna)
    casework.record_referral(case, partner.id, day(-3), "Bürgergeld", False, by=anna)
    cases_service.record_consultation(
        case, day(-2), 45, ConsultationMode.IN_PERSON, None, None, by=anna
    )
    casework.record_monitoring(case, day(-1), "Antrag läuft", by=anna)
    return case


def test_timeline_filtered_by_type_shows_only_those_types(client, db, anna):
    case = busy_case(db, anna)
    rows = timeline_rows(client, case.id, "?type=note&type=referral")
    assert [kind for kind, _ in rows] == ["note", "referral"]
    page = page_of(client, f"/cases/{case.id}/timeline?type=note&type=referral")
    assert "Akte angelegt" in page and "Vermittlung: Jobcenter Münster (Verweisberatung)" in page
    assert "Antrag läuft" not in page and "Beratungsgespräch" not in page


def test_timeline_without_filter_shows_everything_in_date_order(client, db, anna):
    case = busy_case(db, anna)
    rows = timeline_rows(client, case.id)
    days = [shown for _, shown in rows]
    assert days == sorted(days)
    kinds = [kind for kind, _ in rows]
    assert kinds[:4] == ["note", "referral", "consultation", "monitoring"]
    assert {"stage", "classification"} <= set(kinds)
    assert days[:4] == [day(-5), day(-3), day(-2), day(-1)]


# -- 11. Daily entry (R6) ---------------------------------------------------------------------


def test_start_page_shows_the_median_entry_lag(client, db, anna):
    case = make_case(anna, KB)
    set_case(db, case.id, opened_on=day(-10))
    case = reload(db, case.id)
    for held in (day(-1), day(-2)):
        cases_service.record_consultation(
            case, held, 30, ConsultationMode.IN_PERSON, None, None, by=anna
        )
    lag = block(page_of(client, "/"), "entry-lag", "</p>")
    assert "im Median nach 1,5 Tagen erfasst (2 Gespräche)" in lag


def test_start_page_entry_lag_without_consultations(client, db, anna):
    make_case(anna, KB)
    lag = block(page_of(client, "/"), "entry-lag", "</p>")
    assert "In den letzten 30 Tagen wurden keine Gespräche erfasst." in lag


# -- Access: the case-work pages of another case manager ----------------------------------


@pytest.mark.parametrize("page", ["timeline", "plan", "assessment", "assessment?version=1"])
def test_case_work_pages_of_another_case_manager_are_not_found(client, db, anna, page):
    foreign = make_case(make_user("cm.bert"), CM)
    assert client.get(f"/cases/{foreign.id}/{page}").status_code == 404


def test_assessment_of_another_case_manager_cannot_be_saved(client, db, anna):
    foreign = make_case(make_user("cm.bert"), CM)
    token = csrf_token(client, "/")
    response = client.post(
        f"/cases/{foreign.id}/assessment",
        data={"csrf_token": token, "housing_situation": "fremd"},
    )
    assert response.status_code == 404
    assert count(db, Assessment) == 0


# -- 12. Two users writing one case at once ---------------------------------------------------


@pytest.mark.parametrize(
    ("write", "model"),
    [
        (
            lambda case, by: cases_service.add_need(
                case, LifeArea.HOUSING, None, "Wohnung", False, by=by
            ),
            Need,
        ),
        (
            lambda case, by: casework.write_note(
                case, NoteKind.INTERNAL, today(), "Vermerk", by=by
            ),
            Note,
        ),
        (lambda case, by: casework.add_follow_up(case, day(3), "Anruf", by=by), FollowUp),
        (
            lambda case, by: casework.record_monitoring(case, today(), "läuft", by=by),
            MonitoringEntry,
        ),
    ],
    ids=["need", "note", "follow_up", "monitoring"],
)
def test_write_that_lost_a_race_on_the_case_saves_nothing(db, write, model):
    user = make_user("cm.anna")
    case_id = make_case(user, CM).id
    case = reload(db, case_id)
    version = case.version_id
    with db.engine.begin() as other_user:  # someone else saved the case meanwhile
        other_user.execute(
            update(Case.__table__)
            .where(Case.__table__.c.id == case_id)
            .values(version_id=Case.__table__.c.version_id + 1)
        )
    with pytest.raises(ConcurrentChange) as refused:
        write(case, user)
    assert "von jemand anderem geändert" in str(refused.value.message)
    db.session.expire_all()
    assert count(db, model) == 0
    assert db.session.get(Case, case_id).version_id == version + 1


def test_partner_first_named_on_a_consent_gets_its_legal_domain_later(client, db, anna):
    person = make_client(anna, partners=[JOBCENTER])
    partner = db.session.scalar(select(Partner).where(Partner.name == JOBCENTER))
    assert partner.legal_domain is None
    token = csrf_token(client, f"/partners/{partner.id}/edit")
    response = client.post(
        f"/partners/{partner.id}/edit",
        data={
            "csrf_token": token,
            "name": JOBCENTER,
            "kind": "authority",
            "legal_domain": "sgb_ii",
            "contact": "Tel. 02581 53-0",
        },
    )
    assert response.status_code == 302
    case = make_case(anna, CM, client=person)
    post(
        client,
        case.id,
        "referrals",
        "referral",
        partner_id=str(partner.id),
        referred_on=today().isoformat(),
        purpose="Antrag",
        passes_data="y",
    )
    table = block(page_of(client, f"/cases/{case.id}"), "referrals-table", "</table>")
    assert "Verweisberatung" in table and "weitergegeben" in table


def test_partner_edit_refuses_a_name_another_entry_has(client, db, anna):
    orgs_service.add_partner(anna.organisation_id, "Jugendamt", PartnerKind.AUTHORITY, None, None)
    other = orgs_service.add_partner(
        anna.organisation_id, "Jobcenter", PartnerKind.AUTHORITY, None, None
    )
    token = csrf_token(client, f"/partners/{other.id}/edit")
    response = client.post(
        f"/partners/{other.id}/edit",
        data={"csrf_token": token, "name": "jugendamt", "kind": "authority", "legal_domain": ""},
    )
    assert response.status_code == 422
    assert "Diese Stelle steht bereits im Verzeichnis." in response.get_data(as_text=True)
    assert 'value="jugendamt"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Partner, other.id).name == "Jobcenter"


def test_reopening_keeps_the_earlier_closure_in_the_history(client, db, anna):
    case = make_case(anna, KB)
    post(
        client,
        case.id,
        "close",
        "close",
        closed_on=today().isoformat(),
        reason="moved_away",
        reason_text="",
    )
    post(client, case.id, "reopen", "reopen", reason="Zurückgezogen")
    history = block(page_of(client, f"/cases/{case.id}"), "history-table", "</table>")
    assert "Weggezogen" in history and "Zurückgezogen" in history
