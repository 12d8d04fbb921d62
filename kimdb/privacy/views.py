"""Data protection pages of one client, for whoever may see the client (R8): the confirmation
and recording of a full consent withdrawal, the withdrawal of one exchange scope, and the
Art. 15 export as JSON and PDF (issue 6 items 4 and 6)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from kimdb.auth.models import Role
from kimdb.clients import service as clients_service
from kimdb.i18n import lazy_gettext as _l
from kimdb.privacy import export, rules, service
from kimdb.privacy.forms import ExchangeWithdrawalForm, WithdrawalForm
from kimdb.privacy.rules import PrivacyRefused
from kimdb.timeutil import today
from kimdb.views import attach_error, role_required

bp = Blueprint("privacy", __name__, url_prefix="/clients")
case_manager_only = role_required(Role.CASE_MANAGER)


def _client(client_id: int):
    """The client if the user may see them (R8), else 404."""
    return clients_service.get_client(current_user, client_id) or abort(404)


@bp.route("/<id:client_id>/withdrawal", methods=["GET", "POST"])
@case_manager_only
def withdrawal(client_id: int):
    """Confirm and record the full withdrawal of a client's consent; erase the client (R2).

    The page lists exactly what will be erased and what stays; without the tick, a bad date or
    for a consent already withdrawn it answers 422 and erases nothing.
    """
    client = _client(client_id)
    form = WithdrawalForm()
    if not form.is_submitted():
        form.declared_on.data = today()
    if form.validate_on_submit():
        try:
            service.withdraw_consent(client, current_user, form.declared_on.data)
        except PrivacyRefused as error:
            attach_error(form, error)
        else:
            return redirect(url_for("privacy.withdrawn", client_id=client_id))
    elif form.is_submitted() and client.consent.withdrawn_at is not None:
        attach_error(form, PrivacyRefused(_l("Die Einwilligung wurde bereits widerrufen.")))
    status = 422 if form.is_submitted() else 200
    preview = None if client.erased_at else service.preview_erasure(client)
    return render_template(
        "privacy/withdrawal.html",
        client=client,
        form=form,
        preview=preview,
        kept=rules.KEPT_FIELDS,
    ), status


@bp.get("/<id:client_id>/withdrawal/done")
@case_manager_only
def withdrawn(client_id: int):
    """Say that the withdrawal is recorded and the client's data are erased."""
    client = _client(client_id)
    if client.consent.withdrawn_at is None:
        return redirect(url_for("clients.show", client_id=client_id))
    return render_template("privacy/withdrawn.html", client=client)


@bp.post("/<id:client_id>/exchanges/<id:exchange_id>/withdraw")
@case_manager_only
def withdraw_exchange(client_id: int, exchange_id: int):
    """Withdraw the exchange scope ``exchange_id`` of the client's consent alone (R2)."""
    client = _client(client_id)
    if not any(e.id == exchange_id for e in client.consent.exchanges):
        abort(404)
    form = ExchangeWithdrawalForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        exchange = service.withdraw_exchange(client, exchange_id, current_user)
    except PrivacyRefused as error:
        return render_template(
            "privacy/exchange_refused.html", client=client, message=error.message
        ), 422
    flash(
        _l("Der Datenaustausch mit %(partner)s ist widerrufen.", partner=exchange.partner_name),
        "success",
    )
    return redirect(url_for("clients.show", client_id=client_id))


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _export_data(client, kind: str) -> dict:
    # The request itself is recorded in the audit log (kimdb.audit.views, "read:privacy.…").
    return export.build_export(client, current_user)


@bp.get("/<id:client_id>/export.json")
@case_manager_only
def export_json(client_id: int):
    """Download everything kimdb holds about the client as JSON (Art. 15 GDPR)."""
    client = _client(client_id)
    data = _export_data(client, "json")
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return _download(body, "application/json", f"auskunft-{client_id}.json")


@bp.get("/<id:client_id>/export.pdf")
@case_manager_only
def export_pdf(client_id: int):
    """Download everything kimdb holds about the client as a German PDF (Art. 15 GDPR)."""
    client = _client(client_id)
    data = _export_data(client, "pdf")
    return _download(export.render_pdf(data), "application/pdf", f"auskunft-{client_id}.pdf")
