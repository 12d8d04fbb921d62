"""The start page: a case manager's own caseload, a supervisor's organisation, an admin's users."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from kimdb.auth.models import Role, User
from kimdb.caseload import service
from kimdb.caseload.rules import EXPECTED_CM_SHARE, Band
from kimdb.cases import queries
from kimdb.extensions import db
from kimdb.substitution.service import substituted_cases

bp = Blueprint("caseload", __name__)


@bp.get("/")
@login_required
def start():
    """Show the start page that fits the user's role."""
    if current_user.role is Role.CASE_MANAGER:
        return _case_manager_start()
    if current_user.role is Role.SUPERVISOR:
        rows = service.organisation_caseloads(
            current_user.organisation_id, current_app.config["INACTIVITY_DAYS"]
        )
        return render_template(
            "caseload/supervisor.html",
            rows=rows,
            total=service.team_total(rows),
            Band=Band,
            expected_cm_share=EXPECTED_CM_SHARE,
        )
    users = db.session.scalars(
        select(User)
        .where(User.organisation_id == current_user.organisation_id)
        .order_by(User.role, User.display_name)
    ).all()
    return render_template("caseload/admin.html", users=users)


def _case_manager_start():
    sort = request.args.get("sort", "inactive")
    if sort not in service.SORT_KEYS:
        sort = "inactive"
    descending = request.args.get("dir") == "desc"
    rows = service.open_cases(current_user, sort, descending)
    inactivity_days = current_app.config["INACTIVITY_DAYS"]
    median_lag, lag_count = queries.median_entry_lag(current_user, days=30)
    return render_template(
        "caseload/case_manager.html",
        caseload=service.caseload_of(current_user),
        rows=rows,
        sort=sort,
        descending=descending,
        inactivity_days=inactivity_days,
        inactive=service.inactive_count(rows, inactivity_days),
        due=queries.due_follow_ups(current_user),
        substituted=substituted_cases(current_user),
        median_lag=median_lag,
        lag_count=lag_count,
        expected_cm_share=EXPECTED_CM_SHARE,
        Band=Band,
    )
