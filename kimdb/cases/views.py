"""The case page and its forms. Each POST parses one form, calls one use case, and either
redirects (PRG) or shows the page again with the form's errors and what was typed (422)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from kimdb import labels
from kimdb.auth.models import Role
from kimdb.cases import rules, service
from kimdb.cases.forms import (
    CloseForm,
    ConsultationForm,
    GoalForm,
    GoalUpdateForm,
    NeedFocusForm,
    NeedForm,
    OpenCaseForm,
    ReclassifyForm,
    StageForm,
)
from kimdb.cases.models import Case, ConsultationMode, GoalStatus, LegalDomain, LifeArea
from kimdb.cases.rules import CaseKind, ClosureReason, Stage
from kimdb.clients import service as clients_service
from kimdb.rules import RuleViolation
from kimdb.views import attach_error, role_required

bp = Blueprint("cases", __name__, url_prefix="/cases")
case_manager_only = role_required(Role.CASE_MANAGER)

# Form prefixes keep the ids and names of the page's forms apart.
FORMS = {
    "stage": StageForm,
    "close": CloseForm,
    "reclassify": ReclassifyForm,
    "need": NeedForm,
    "goal": GoalForm,
    "consultation": ConsultationForm,
}


def _load(case_id: int) -> Case:
    return service.get_case(current_user, case_id) or abort(404)


def _forms(case: Case, failed: str | None = None, failed_form=None) -> dict:
    """Build every form of the case page; ``failed_form`` replaces the one named ``failed``."""
    forms = {}
    for name, cls in FORMS.items():
        forms[name] = failed_form if name == failed else cls(prefix=name, formdata=None)
    forms["stage"].target.choices = [
        (s.value, labels.STAGE[s]) for s in rules.next_stages(case.kind, case.stage)
    ]
    forms["consultation"].fill_choices()
    if failed != "reclassify":
        other = next(k for k in CaseKind if k is not case.kind)
        forms["reclassify"].kind.data = other.value
    return forms


def _row_forms(case: Case, failed: str | None, row_id: int | None, failed_form) -> dict:
    """One small form per goal (status, agreement) and per need (focus)."""
    goals = {
        g.id: failed_form
        if (failed, row_id) == ("goal_update", g.id)
        else GoalUpdateForm(prefix=f"goal{g.id}", formdata=None, status=g.status.value)
        for g in case.goals
    }
    needs = {
        n.id: failed_form
        if (failed, row_id) == ("need_focus", n.id)
        else NeedFocusForm(prefix=f"focus{n.id}", formdata=None, in_focus="" if n.in_focus else "y")
        for n in case.needs
    }
    return {"goals": goals, "needs": needs}


def _page(
    case: Case, failed: str | None = None, form=None, status: int = 200, row_id: int | None = None
):
    forms = _forms(case, failed if row_id is None else None, form)
    missing = {
        s: rules.missing_for(case.facts(), s) for s in rules.next_stages(case.kind, case.stage)
    }
    return render_template(
        "cases/show.html",
        case=case,
        forms=forms,
        failed=failed,
        missing=missing,
        stages=rules.path(case.kind),
        history=service.case_history(case),
        row_forms=_row_forms(case, failed, row_id, form),
        row_failed=(failed, row_id) if row_id is not None else None,
    ), status


def _handle(case_id: int, name: str, apply):
    """Validate form ``name`` of case ``case_id``, run ``apply(case, form)``, redirect or 422."""
    case = _load(case_id)
    form = FORMS[name](prefix=name)
    if name == "stage":
        form.target.choices = [(s.value, labels.STAGE[s]) for s in Stage]
    if name == "consultation":
        form.fill_choices()
    if form.validate_on_submit():
        try:
            apply(case, form)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            return redirect(url_for("cases.show", case_id=case.id, _anchor=name))
    if name == "stage":
        form.target.choices = [
            (s.value, labels.STAGE[s]) for s in rules.next_stages(case.kind, case.stage)
        ]
    return _page(case, name, form, 422)


@bp.get("/")
@case_manager_only
def index():
    """Redirect to the start page, which lists the own open cases."""
    return redirect(url_for("caseload.start"))


@bp.post("/open/<int:client_id>")
@case_manager_only
def open_case(client_id: int):
    """Open a case for a client the user may see, classified CM or KB (R3)."""
    client = clients_service.get_client(current_user, client_id) or abort(404)
    form = OpenCaseForm()
    if form.validate_on_submit():
        case = service.open_case(client, CaseKind(form.kind.data), by=current_user)
        flash(_l("Fall %(number)s eröffnet.", number=case.number), "success")
        return redirect(url_for("cases.show", case_id=case.id))
    cases = service.cases_of_client(current_user, client.id)
    return render_template("clients/show.html", client=client, cases=cases, open_form=form), 422


@bp.get("/<int:case_id>")
@case_manager_only
def show(case_id: int):
    """The case page: state, stage and classification history, needs, goals, consultations."""
    return _page(_load(case_id))


@bp.post("/<int:case_id>/stage")
@case_manager_only
def change_stage(case_id: int):
    """Move the case to the chosen stage if its guard allows (R4)."""
    return _handle(
        case_id,
        "stage",
        lambda case, form: service.change_stage(case, Stage(form.target.data), by=current_user),
    )


@bp.post("/<int:case_id>/close")
@case_manager_only
def close(case_id: int):
    """Close the case with date and reason (R3, R4)."""
    return _handle(
        case_id,
        "close",
        lambda case, form: service.close_case(
            case,
            form.closed_on.data,
            ClosureReason(form.reason.data),
            form.reason_text.data or "",
            by=current_user,
        ),
    )


@bp.post("/<int:case_id>/classification")
@case_manager_only
def reclassify(case_id: int):
    """Change CM ↔ KB with a reason (R3)."""
    return _handle(
        case_id,
        "reclassify",
        lambda case, form: service.reclassify(
            case, CaseKind(form.kind.data), form.reason.data, by=current_user
        ),
    )


@bp.post("/<int:case_id>/needs")
@case_manager_only
def add_need(case_id: int):
    """Record a need (R3: a third focus need in KB is refused)."""
    return _handle(
        case_id,
        "need",
        lambda case, form: service.add_need(
            case,
            LifeArea(form.life_area.data),
            LegalDomain(form.legal_domain.data) if form.legal_domain.data else None,
            form.description.data,
            form.in_focus.data,
            by=current_user,
        ),
    )


@bp.post("/<int:case_id>/goals")
@case_manager_only
def add_goal(case_id: int):
    """Record a goal, agreed if it has a date of agreement."""
    return _handle(
        case_id,
        "goal",
        lambda case, form: service.add_goal(
            case, form.text.data, form.agreed_on.data, by=current_user
        ),
    )


@bp.post("/<int:case_id>/consultations")
@case_manager_only
def add_consultation(case_id: int):
    """Record a consultation; kimdb notes when it was entered (R6)."""
    return _handle(
        case_id,
        "consultation",
        lambda case, form: service.record_consultation(
            case,
            form.held_on.data,
            form.duration_minutes.data,
            ConsultationMode(form.mode.data),
            form.interpreter_language.data or None,
            form.summary.data,
            by=current_user,
        ),
    )


def _handle_row(case_id: int, name: str, row_id: int, form, apply):
    """Like ``_handle`` for the small per-row forms (goal status, need focus)."""
    case = _load(case_id)
    if form.validate_on_submit():
        try:
            apply(case, form)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            anchor = "goal" if name == "goal_update" else "need"
            return redirect(url_for("cases.show", case_id=case.id, _anchor=anchor))
    return _page(case, name, form, 422, row_id=row_id)


@bp.post("/<int:case_id>/goals/<int:goal_id>")
@case_manager_only
def update_goal(case_id: int, goal_id: int):
    """Set a goal's status, and its agreement date if it was not agreed yet."""
    return _handle_row(
        case_id,
        "goal_update",
        goal_id,
        GoalUpdateForm(prefix=f"goal{goal_id}"),
        lambda case, form: service.update_goal(
            case, goal_id, GoalStatus(form.status.data), form.agreed_on.data, by=current_user
        ),
    )


@bp.post("/<int:case_id>/needs/<int:need_id>/focus")
@case_manager_only
def need_focus(case_id: int, need_id: int):
    """Put a need into focus or take it out (R3: at most two in a Kurzberatung)."""
    return _handle_row(
        case_id,
        "need_focus",
        need_id,
        NeedFocusForm(prefix=f"focus{need_id}"),
        lambda case, form: service.set_need_focus(
            case, need_id, form.in_focus.data == "y", by=current_user
        ),
    )
