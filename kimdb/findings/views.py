"""Structural findings (Systemmanagement, FAQ KIM NRW Q32): a case manager records one from a
case, and lists the own ones; coordination sees them aggregated for the municipality.

The case a finding was seen in is never stored: the form only carries a local path to return
to (``back``), which is not written anywhere.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kimdb.auth.models import Role
from kimdb.findings import service
from kimdb.findings.forms import AGENCY_DATALIST_ID, FindingForm, PeriodForm
from kimdb.findings.labels import CATEGORY
from kimdb.findings.models import FindingCategory
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation
from kimdb.views import attach_error, role_required, safe_local_path

bp = Blueprint("findings", __name__, url_prefix="/findings")


def _back_path() -> str | None:
    """Return the ``back`` query parameter if it is a path on this site, else None."""
    return safe_local_path(request.args.get("back", ""))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.CASE_MANAGER)
def new():
    """Record a structural finding; afterwards return to ``back`` (e.g. the case) or the list."""
    back = _back_path()
    form = FindingForm()
    if form.validate_on_submit():
        try:
            service.record_finding(
                current_user,
                FindingCategory(form.category.data),
                form.agency.data,
                form.description.data,
                form.observed_on.data,
            )
        except service.NotAllowed:
            abort(403)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(
                _l(
                    "Die strukturelle Erkenntnis ist gespeichert – ohne Bezug zum Fall "
                    "oder zur Klient:in."
                ),
                "success",
            )
            return redirect(back or url_for("findings.index"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "findings/new.html",
        form=form,
        back=back,
        agencies=service.suggest_agencies(current_user),
        datalist_id=AGENCY_DATALIST_ID,
    ), status


@bp.get("/")
@role_required(Role.CASE_MANAGER, Role.SUPERVISOR)
def index():
    """Case managers: the own findings. Coordination: findings aggregated per category and
    agency for a period (query parameters ``date_from``, ``date_to``)."""
    if current_user.role is Role.CASE_MANAGER:
        return render_template(
            "findings/index.html",
            findings=service.own_findings(current_user),
            categories=CATEGORY,
        )
    submitted = any(key in request.args for key in ("date_from", "date_to"))
    form = PeriodForm(formdata=request.args if submitted else None)
    overview = None
    if form.validate():
        try:
            overview = service.aggregate(current_user, form.date_from.data, form.date_to.data)
        except service.NotAllowed:
            abort(403)
        except RuleViolation as error:
            attach_error(form, error)
    return render_template(
        "findings/coordination.html", form=form, overview=overview, categories=CATEGORY
    ), (200 if overview else 422)
