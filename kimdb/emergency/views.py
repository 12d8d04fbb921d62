"""Pages of emergency access ("break the glass", issue 5 item 7).

Supervisors open, read (read-only) and end an access; the case owner sees a notice on every
page until they acknowledge it; the data protection officer reads the log. Views parse,
call ``kimdb.emergency.service`` and render; the rules live in ``kimdb.emergency.rules``.
"""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime
from flask_login import current_user

from kimdb.auth.models import Role
from kimdb.emergency import rules, service
from kimdb.emergency.forms import EmergencyForm, EndForm
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation
from kimdb.views import attach_error, requested_page, role_required, safe_local_path

bp = Blueprint("emergency", __name__, url_prefix="/emergency")


@bp.app_template_filter("clock")
def clock(moment) -> str:
    """Format a point in time as HH:mm in the configured time zone (Europe/Berlin)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite returns stored UTC moments without a zone
        moment = moment.replace(tzinfo=dt.UTC)
    return format_datetime(moment, "HH:mm")


@bp.app_context_processor
def owner_notice():
    """Give every page of a logged-in case manager the emergency accesses to their cases they
    have not acknowledged yet (``emergency_notices``); one indexed query per request."""
    if not has_request_context() or not current_user.is_authenticated:
        return {}
    if current_user.role is not Role.CASE_MANAGER:
        return {}
    if "emergency_notices" not in g:
        g.emergency_notices = service.unseen_for_owner(current_user)
    return {"emergency_notices": g.emergency_notices}


def _index_page(form: EmergencyForm, status: int = 200):
    return render_template(
        "emergency/index.html",
        form=form,
        running=service.running_accesses(current_user),
        past=service.past_accesses(current_user),
        end_form=EndForm(),
        hours=service.access_hours(),
        limit=rules.MAX_RUNNING_PER_SUPERVISOR,
        min_reason=rules.MIN_REASON_LENGTH,
    ), status


@bp.route("/", methods=["GET", "POST"])
@role_required(Role.SUPERVISOR)
def index():
    """A supervisor asks for emergency access to one case (number and reason) and sees their
    running and past accesses. Bad input: the page again with the message at the field and
    what was typed (422); nothing is written."""
    form = EmergencyForm()
    if form.validate_on_submit():
        try:
            access, created = service.open_emergency_access(
                current_user, form.case_number.data, form.reason.data
            )
        except service.NotAllowed:
            abort(403)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            if created:
                flash(_l("Notfallzugriff geöffnet. Er wird protokolliert."), "success")
            else:
                flash(
                    _l(
                        "Sie haben bereits einen laufenden Notfallzugriff auf diesen Fall; "
                        "er endet um %(time)s Uhr.",
                        time=clock(access.expires_at),
                    ),
                    "info",
                )
            return redirect(url_for("emergency.show", access_id=access.id))
    return _index_page(form, 422 if form.is_submitted() else 200)


@bp.get("/<id:access_id>")
@role_required(Role.SUPERVISOR)
def show(access_id: int):
    """The case of a running emergency access, read-only. Someone else's access is 404; an
    expired or ended one 410 (Gone) without any case data."""
    try:
        view = service.case_under_access(current_user, access_id)
    except service.AccessNotFound:
        abort(404)
    except service.AccessOver:
        return render_template(
            "errors/error.html",
            title=_l("Notfallzugriff beendet"),
            message=_l(
                "Dieser Notfallzugriff ist abgelaufen oder wurde beendet. Der Fall ist für Sie "
                "wieder geschlossen. Wenn weiter gehandelt werden muss, legen Sie eine "
                "Vertretung fest, weisen Sie den Fall neu zu oder öffnen Sie mit neuer "
                "Begründung einen neuen Notfallzugriff."
            ),
        ), 410
    return render_template("emergency/show.html", view=view, case=view.case, end_form=EndForm())


@bp.post("/<id:access_id>/end")
@role_required(Role.SUPERVISOR)
def end(access_id: int):
    """End an emergency access before its time runs out."""
    if not EndForm().validate_on_submit():
        abort(400)
    try:
        service.end_emergency_access(current_user, access_id)
    except service.AccessNotFound:
        abort(404)
    flash(_l("Notfallzugriff beendet."), "success")
    return redirect(url_for("emergency.index"))


def _back() -> str:
    return safe_local_path(request.form.get("next")) or url_for("caseload.start")


@bp.post("/notices/<id:access_id>/seen")
@role_required(Role.CASE_MANAGER)
def seen(access_id: int):
    """The case owner takes note of one emergency access to their case."""
    if not EndForm().validate_on_submit():
        abort(400)
    try:
        service.acknowledge(current_user, access_id)
    except service.AccessNotFound:
        abort(404)
    return redirect(_back())


@bp.post("/notices/seen")
@role_required(Role.CASE_MANAGER)
def seen_all():
    """The case owner takes note of all emergency accesses to their cases shown to them."""
    if not EndForm().validate_on_submit():
        abort(400)
    service.acknowledge(current_user)
    return redirect(_back())


@bp.get("/log")
@role_required(Role.DPO)
def log():
    """The data protection officer's log of emergency accesses in their municipality, newest
    first, paged, optionally of one month (``?month=JJJJ-MM``). No other client data."""
    month = (request.args.get("month") or "").strip()
    period = rules.month_bounds(month) if month else None
    month_error = _l("Bitte einen Monat wählen (JJJJ-MM).") if month and period is None else None
    result = service.log_for_dpo(current_user, period, requested_page())
    return render_template(
        "emergency/log.html",
        result=result,
        month=month if period else "",
        typed_month=month,
        month_error=month_error,
        state_of=service.state_of,
        State=rules.AccessState,
    ), (422 if month_error else 200)
