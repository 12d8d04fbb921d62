"""Substitutions, takeover and reassignment (R7)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from kimdb.auth.models import Role, User
from kimdb.cases import service as cases_service
from kimdb.extensions import db
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation
from kimdb.substitution import service
from kimdb.substitution.forms import EndForm, ReassignForm, SubstitutionForm, TakeoverForm
from kimdb.substitution.models import Substitution
from kimdb.views import attach_error, role_required

bp = Blueprint("substitution", __name__)
working_roles = role_required(Role.CASE_MANAGER, Role.SUPERVISOR)


def _colleague(user_id: int) -> User:
    return service.colleague(current_user, user_id) or abort(404)


def _substitution_form(formdata=True) -> SubstitutionForm:
    form = SubstitutionForm() if formdata else SubstitutionForm(formdata=None)
    people = service.colleagues(current_user)
    if current_user.role is Role.SUPERVISOR:
        form.absent_id.choices = [(u.id, u.display_name) for u in people]
    else:
        form.absent_id.choices = [(current_user.id, current_user.display_name)]
    form.substitute_id.choices = [(0, _l("– bitte wählen –"))] + [
        (u.id, u.display_name)
        for u in people
        if u.id != current_user.id or current_user.role is Role.SUPERVISOR
    ]
    absent_id = form.absent_id.data or (
        form.absent_id.choices[0][0] if form.absent_id.choices else None
    )
    cases = service.open_cases_of(absent_id, current_user) if absent_id else []
    form.case_ids.choices = [(c.id, c.number) for c in cases]
    return form


@bp.route("/substitutions/", methods=["GET", "POST"])
@working_roles
def substitutions():
    """List current and coming substitutions and set a new one (supervisors for their
    organisation, case managers for their own absence)."""
    form = _substitution_form(formdata=request.method == "POST")
    if form.validate_on_submit():
        try:
            absent = _colleague(form.absent_id.data)
            substitute = _colleague(form.substitute_id.data)
            chosen = [
                c
                for c in service.open_cases_of(absent.id, current_user)
                if c.id in set(form.case_ids.data or [])
            ]
            service.set_substitution(
                current_user, absent, substitute, form.first_day.data, form.last_day.data, chosen
            )
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("Vertretung festgelegt."), "success")
            return redirect(url_for("substitution.substitutions"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "substitution/index.html",
        form=form,
        substitutions=service.substitutions_for(current_user),
        end_form=EndForm(),
    ), status


@bp.post("/substitutions/<id:substitution_id>/end")
@working_roles
def end(substitution_id: int):
    """End a substitution early."""
    substitution = db.session.get(Substitution, substitution_id) or abort(404)
    form = EndForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.end_substitution(current_user, substitution)
    except service.NotAllowed:
        abort(403)
    flash(_l("Vertretung beendet."), "success")
    return redirect(url_for("substitution.substitutions"))


@bp.route("/cases/<id:case_id>/takeover", methods=["GET", "POST"])
@role_required(Role.CASE_MANAGER)
def takeover(case_id: int):
    """The substitute takes a case over for good (Vorgangsübernahme, R7)."""
    case = cases_service.get_case(current_user, case_id) or abort(404)
    if case.owner_id == current_user.id:
        abort(404)
    form = TakeoverForm()
    if form.validate_on_submit():
        try:
            service.take_over(case, current_user, form.reason.data)
        except service.NotAllowed:
            abort(403)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("Fall %(number)s übernommen.", number=case.number), "success")
            return redirect(url_for("cases.show", case_id=case.id))
    status = 422 if form.is_submitted() else 200
    return render_template("substitution/takeover.html", case=case, form=form), status


@bp.route("/reassign/<id:user_id>", methods=["GET", "POST"])
@role_required(Role.SUPERVISOR)
def reassign(user_id: int):
    """A supervisor moves cases of one case manager to another, in one transaction; the form
    shows the receiver's caseload before and after and warns above the band (R7, Q33)."""
    owner = _colleague(user_id)
    cases = service.open_cases_of(owner.id, current_user)
    form = ReassignForm()
    form.case_ids.choices = [(c.id, c.number) for c in cases]
    form.receiver_id.choices = [(0, _l("– bitte wählen –"))] + [
        (u.id, u.display_name)
        for u in db.session.scalars(
            select(User)
            .where(User.organisation_id == owner.organisation_id, User.role == Role.CASE_MANAGER)
            .order_by(User.display_name)
        )
        if u.id != owner.id
    ]
    preview = None
    if form.validate_on_submit():
        chosen = [c for c in cases if c.id in set(form.case_ids.data or [])]
        # One of the choices above (the form checked it); the service checks the rest.
        receiver = db.session.get(User, form.receiver_id.data)
        if request.form.get("confirm") != "1":
            preview = service.preview_reassignment(receiver, chosen)
        else:
            try:
                service.reassign(current_user, chosen, receiver, form.reason.data)
            except RuleViolation as error:
                attach_error(form, error)
            else:
                flash(
                    _l(
                        "%(n)s Fälle an %(name)s übergeben.",
                        n=len(chosen),
                        name=receiver.display_name,
                    ),
                    "success",
                )
                return redirect(url_for("caseload.start"))
    status = 422 if form.is_submitted() and form.errors else 200
    return render_template(
        "substitution/reassign.html", owner=owner, cases=cases, form=form, preview=preview
    ), status
