"""The organisation's partner directory (services and agencies for referrals)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kimdb.auth.models import Role
from kimdb.extensions import db
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs import service
from kimdb.orgs.forms import PartnerForm
from kimdb.orgs.models import Partner, PartnerKind
from kimdb.rules import RuleViolation
from kimdb.views import attach_error, role_required, safe_local_path

bp = Blueprint("orgs", __name__)


def _entry(form: PartnerForm) -> tuple:
    """The directory entry as typed: name, kind, legal domain (or None), contact."""
    return (
        form.name.data,
        PartnerKind(form.kind.data),
        form.legal_domain.data or None,
        form.contact.data,
    )


@bp.route("/partners/", methods=["GET", "POST"])
@role_required(Role.CASE_MANAGER, Role.SUPERVISOR)
def partners():
    """List the partner directory of the user's organisation; case managers can extend it."""
    form = PartnerForm(back=request.args.get("back", ""))
    if request.method == "POST" and current_user.role is not Role.CASE_MANAGER:
        abort(403)  # supervisors read the directory; case managers extend it
    if form.validate_on_submit():
        try:
            partner = service.add_partner(current_user.organisation_id, *_entry(form))
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("„%(name)s“ steht jetzt im Partnerverzeichnis.", name=partner.name), "success")
            back = safe_local_path(form.back.data)
            return redirect(back or url_for("orgs.partners"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "orgs/partners.html",
        form=form,
        partners=service.partners_of(current_user.organisation_id),
        back=safe_local_path(form.back.data),
    ), status


@bp.route("/partners/<id:partner_id>/edit", methods=["GET", "POST"])
@role_required(Role.CASE_MANAGER)
def edit_partner(partner_id: int):
    """Change a directory entry: name, kind, legal domain (Verweisberatung), contact."""
    partner = db.session.get(Partner, partner_id)
    if partner is None or partner.organisation_id != current_user.organisation_id:
        abort(404)
    form = PartnerForm(obj=partner if request.method == "GET" else None)
    if request.method == "GET":
        form.legal_domain.data = partner.legal_domain or ""
        form.kind.data = partner.kind.value
    if form.validate_on_submit():
        try:
            service.update_partner(current_user.organisation_id, partner.id, *_entry(form))
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("„%(name)s“ geändert.", name=partner.name), "success")
            return redirect(url_for("orgs.partners"))
    status = 422 if form.is_submitted() else 200
    return render_template("orgs/partner_edit.html", form=form, partner=partner), status
