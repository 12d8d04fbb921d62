"""The case page and its forms through real requests (R3, R4, R6)."""

import datetime as dt

from sqlalchemy import select

from kimdb.cases.models import Case, ClassificationChange, Consultation, Goal, Need, StageChange
from kimdb.cases.rules import CaseKind, Stage
from kimdb.timeutil import today
from tests.factories import count_rows as count
from tests.factories import csrf_token, make_case, make_client, make_user
from tests.factories import post_case_form as post
from tests.factories import reload_case as reload

CM, KB = CaseKind.CASE_MANAGEMENT, CaseKind.SHORT_COUNSELLING


def test_open_case_from_the_client_page(client, db, anna):
    person = make_client(anna)
    token = csrf_token(client, f"/clients/{person.id}")
    response = client.post(
        f"/cases/open/{person.id}", data={"kind": "short_counselling", "csrf_token": token}
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Kurzberatung" in page and "Erstberatung (Intake)" in page
    case = db.session.scalar(select(Case))
    assert case.kind is KB and case.stage is Stage.INTAKE
    assert count(db, StageChange) == 1 and count(db, ClassificationChange) == 1


def test_open_case_without_classification_is_refused(client, db, anna):
    person = make_client(anna)
    token = csrf_token(client, f"/clients/{person.id}")
    response = client.post(f"/cases/open/{person.id}", data={"csrf_token": token})
    assert response.status_code == 422
    assert "Bitte Case Management oder Kurzberatung wählen." in response.get_data(as_text=True)
    assert count(db, Case) == 0


def test_need_is_recorded(client, db, anna):
    case = make_case(anna, KB)
    response = post(
        client,
        case.id,
        "needs",
        "need",
        life_area="housing",
        legal_domain="",
        description="Wohnungssuche",
        in_focus="y",
    )
    assert response.status_code == 302
    assert "Wohnungssuche" in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_third_focus_need_in_kb_is_refused_and_input_kept(client, db, anna):
    case = make_case(anna, KB)
    for area in ("housing", "work"):
        post(client, case.id, "needs", "need", life_area=area, description=area, in_focus="y")
    response = post(
        client,
        case.id,
        "needs",
        "need",
        life_area="health",
        description="Facharzttermin",
        in_focus="y",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "höchstens zwei Bedarfe im Fokus" in page
    assert "als Case Management einstufen" in page
    assert "Facharzttermin</textarea>" in page
    assert count(db, Need) == 2


def test_empty_need_form_names_the_fields(client, db, anna):
    case = make_case(anna, KB)
    response = post(client, case.id, "needs", "need", life_area="", description="")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte ein Handlungsfeld wählen." in page
    assert "Bitte den Bedarf kurz beschreiben." in page
    assert count(db, Need) == 0


def test_stage_jump_without_prerequisite_is_refused(client, db, anna):
    case = make_case(anna, CM)
    response = post(client, case.id, "stage", "stage", target="assessment")
    assert response.status_code == 422
    assert "mindestens ein Bedarf" in response.get_data(as_text=True)
    assert reload(db, case.id).stage is Stage.INTAKE
    assert count(db, StageChange) == 1


def test_skipping_a_stage_is_refused(client, db, anna):
    case = make_case(anna, CM)
    post(client, case.id, "needs", "need", life_area="work", description="Arbeit")
    response = post(client, case.id, "stage", "stage", target="planning")
    assert response.status_code == 422
    assert reload(db, case.id).stage is Stage.INTAKE


def test_cm_reaches_planning_with_need_and_agreed_goal(client, db, anna):
    case = make_case(anna, CM)
    post(client, case.id, "needs", "need", life_area="work", description="Anerkennung")
    assert post(client, case.id, "stage", "stage", target="assessment").status_code == 302
    refused = post(client, case.id, "stage", "stage", target="planning")
    assert "vereinbartes Ziel" in refused.get_data(as_text=True)
    post(
        client,
        case.id,
        "goals",
        "goal",
        text="Unterlagen eingereicht",
        agreed_on=today().isoformat(),
    )
    assert post(client, case.id, "stage", "stage", target="planning").status_code == 302
    assert reload(db, case.id).stage is Stage.PLANNING
    history = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Assessment → Hilfeplanung" in history


def test_goal_agreed_in_future_is_refused(client, db, anna):
    case = make_case(anna, CM)
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = post(client, case.id, "goals", "goal", text="Ziel", agreed_on=tomorrow)
    assert response.status_code == 422
    assert "nicht in der Zukunft" in response.get_data(as_text=True)
    assert count(db, Goal) == 0


def test_consultation_records_entry_time_and_lag(client, db, anna):
    case = make_case(anna, KB)
    three_days_ago = (today() - dt.timedelta(days=3)).isoformat()
    response = post(
        client,
        case.id,
        "consultations",
        "consultation",
        held_on=three_days_ago,
        duration_minutes="45",
        mode="in_person",
        interpreter_language="ar",
    )
    assert response.status_code == 302
    consultation = db.session.scalar(select(Consultation))
    assert consultation.entry_lag_days == 3
    assert consultation.interpreter_used and consultation.interpreter_language == "ar"
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "nachgetragen" in page and "Arabisch" in page
    assert reload(db, case.id).last_consultation_on == today() - dt.timedelta(days=3)


def test_consultation_with_bad_input_is_refused(client, db, anna):
    case = make_case(anna, KB)
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = post(
        client,
        case.id,
        "consultations",
        "consultation",
        held_on=tomorrow,
        duration_minutes="0",
        mode="phone",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "nicht in der Zukunft stattgefunden" in page
    assert "zwischen 1 und 600 Minuten" in page
    assert count(db, Consultation) == 0


def test_reclassify_kb_to_cm_keeps_history(client, db, anna):
    case = make_case(anna, KB)
    post(client, case.id, "needs", "need", life_area="work", description="Arbeit")
    post(client, case.id, "stage", "stage", target="counselling")
    response = post(
        client,
        case.id,
        "classification",
        "reclassify",
        kind="case_management",
        reason="Mehrere Rechtskreise betroffen",
    )
    assert response.status_code == 302
    case = reload(db, case.id)
    assert case.kind is CM and case.stage is Stage.ASSESSMENT
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Kurzberatung → Case Management (Mehrere Rechtskreise betroffen)" in page


def test_a_typed_reason_is_shown_as_text_in_the_history_never_as_html(client, db, anna):
    """A text filled into a translated message (here the reason of a reclassification in the
    case's history) is escaped like any other text of the page: typed markup shows as typed."""
    case = make_case(anna, KB)
    typed = '<i>kursiv</i> & <script>alert("x")</script>'
    response = post(
        client, case.id, "classification", "reclassify", kind="case_management", reason=typed
    )
    assert response.status_code == 302
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "<i>kursiv</i>" not in page and "<script>alert" not in page
    assert (
        "Kurzberatung → Case Management (&lt;i&gt;kursiv&lt;/i&gt; &amp; "
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;)" in page
    )


def test_reclassify_without_reason_is_refused(client, db, anna):
    case = make_case(anna, KB)
    response = post(
        client, case.id, "classification", "reclassify", kind="case_management", reason=""
    )
    assert response.status_code == 422
    assert "Bitte begründen Sie die Änderung der Einstufung." in response.get_data(as_text=True)
    assert reload(db, case.id).kind is KB


def test_early_kb_closure_is_refused_with_goals_achieved(client, db, anna):
    case = make_case(anna, KB)
    response = post(
        client,
        case.id,
        "close",
        "close",
        closed_on=today().isoformat(),
        reason="goals_achieved",
        reason_text="",
    )
    assert response.status_code == 422
    assert "mindestens zwei Beratungsgespräche" in response.get_data(as_text=True)
    assert reload(db, case.id).stage is Stage.INTAKE


def test_kb_closes_early_when_contact_broke_off(client, db, anna):
    case = make_case(anna, KB)
    response = post(
        client,
        case.id,
        "close",
        "close",
        closed_on=today().isoformat(),
        reason="contact_broke_off",
        reason_text="",
    )
    assert response.status_code == 302
    case = reload(db, case.id)
    assert case.stage is Stage.CLOSED and case.closed_on == today()
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Kontakt abgebrochen" in page
    assert "Gespräch speichern" not in page  # nothing more is recorded on a closed case


def test_closure_without_date_and_reason_is_refused(client, db, anna):
    case = make_case(anna, CM)
    response = post(client, case.id, "close", "close", closed_on="", reason="")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte ein Abschlussdatum angeben." in page
    assert "Bitte einen Abschlussgrund wählen." in page


def test_case_of_another_case_manager_is_not_found(client, db, anna):
    other = make_user("cm.other")
    case = make_case(other, KB)
    assert client.get(f"/cases/{case.id}").status_code == 404
    response = post_without_page(client, case.id)
    assert response.status_code == 404
    assert count(db, Need) == 0


def post_without_page(client, case_id):
    token = csrf_token(client, "/")
    return client.post(
        f"/cases/{case_id}/needs",
        data={"need-csrf_token": token, "need-life_area": "work", "need-description": "x"},
    )


def test_case_form_without_csrf_token_is_refused(client, db, anna):
    case = make_case(anna, KB)
    response = client.post(
        f"/cases/{case.id}/needs", data={"need-life_area": "work", "need-description": "x"}
    )
    assert response.status_code == 400
    assert count(db, Need) == 0


def test_goal_agreed_later_opens_planning(client, db, anna):
    case = make_case(anna, CM)
    post(client, case.id, "needs", "need", life_area="work", description="Arbeit")
    post(client, case.id, "stage", "stage", target="assessment")
    post(client, case.id, "goals", "goal", text="Sprachkurs B1", agreed_on="")
    goal = db.session.scalar(select(Goal))
    assert goal.agreed_on is None
    prefix = f"goal{goal.id}"
    response = post(
        client,
        case.id,
        f"goals/{goal.id}",
        prefix,
        status="in_progress",
        agreed_on=today().isoformat(),
    )
    assert response.status_code == 302
    assert post(client, case.id, "stage", "stage", target="planning").status_code == 302
    db.session.expire_all()
    assert db.session.get(Goal, goal.id).status.value == "in_progress"


def test_goal_update_with_future_date_is_refused(client, db, anna):
    case = make_case(anna, CM)
    post(client, case.id, "goals", "goal", text="Sprachkurs B1", agreed_on="")
    goal = db.session.scalar(select(Goal))
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = post(
        client, case.id, f"goals/{goal.id}", f"goal{goal.id}", status="achieved", agreed_on=tomorrow
    )
    assert response.status_code == 422
    assert "Das Vereinbarungsdatum darf nicht in der Zukunft liegen." in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(Goal, goal.id).status.value == "open"


def test_need_focus_toggle_respects_the_kb_limit(client, db, anna):
    case = make_case(anna, KB)
    for area in ("housing", "work"):
        post(client, case.id, "needs", "need", life_area=area, description=area, in_focus="y")
    post(client, case.id, "needs", "need", life_area="health", description="Arzt")
    third = db.session.scalar(select(Need).where(Need.in_focus.is_(False)))
    refused = post(client, case.id, f"needs/{third.id}/focus", f"focus{third.id}", in_focus="y")
    assert refused.status_code == 422
    assert "höchstens zwei Bedarfe im Fokus" in refused.get_data(as_text=True)
    first = db.session.scalar(select(Need).where(Need.in_focus.is_(True)).order_by(Need.id))
    released = post(client, case.id, f"needs/{first.id}/focus", f"focus{first.id}", in_focus="")
    assert released.status_code == 302
    accepted = post(client, case.id, f"needs/{third.id}/focus", f"focus{third.id}", in_focus="y")
    assert accepted.status_code == 302
    assert count(db, Need, in_focus=True) == 2


def test_cm_with_three_focus_needs_becomes_kb_after_releasing_one(client, db, anna):
    case = make_case(anna, CM)
    for area in ("housing", "work", "health"):
        post(client, case.id, "needs", "need", life_area=area, description=area, in_focus="y")
    refused = post(
        client,
        case.id,
        "classification",
        "reclassify",
        kind="short_counselling",
        reason="überschaubar",
    )
    assert refused.status_code == 422
    assert "mehr als zwei Bedarfe im Fokus" in refused.get_data(as_text=True)
    need = db.session.scalar(select(Need).order_by(Need.id))
    post(client, case.id, f"needs/{need.id}/focus", f"focus{need.id}", in_focus="")
    accepted = post(
        client,
        case.id,
        "classification",
        "reclassify",
        kind="short_counselling",
        reason="überschaubar",
    )
    assert accepted.status_code == 302
    assert reload(db, case.id).kind is KB
