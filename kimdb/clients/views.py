"""Clients: the own list, registration with consent (R1), the client page, the consent scan."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, redirect, render_template, send_file, url_for
from flask_login import current_user

from kimdb.auth.models import Role
from kimdb.cases import service as cases_service
from kimdb.cases.forms import OpenCaseForm
from kimdb.clients import service
from kimdb.clients.forms import RegistrationForm
from kimdb.clients.models import Gender, ResidenceStatus
from kimdb.consent import rules as consent_rules
from kimdb.consent.catalog import load_forms
from kimdb.extensions import db
from kimdb.households import service as households_service
from kimdb.households.forms import CreateHouseholdForm
from kimdb.orgs.service import partners_of
from kimdb.views import attach_error, role_required

bp = Blueprint("clients", __name__, url_prefix="/clients")
case_manager_only = role_required(Role.CASE_MANAGER)


@bp.get("/")
@case_manager_only
def index():
    """List the clients the case manager registered or counsels (R8)."""
    clients = db.session.scalars(service.visible_clients(current_user).limit(500)).all()
    return render_template("clients/index.html", clients=clients)


@bp.route("/new", methods=["GET", "POST"])
@case_manager_only
def new():
    """Register a client together with the signed consent, all or nothing (R1, FAQ Q34)."""
    forms = load_forms(current_app.config["CONSENT_FORMS_DIR"])
    form = RegistrationForm()
    form.fill_choices(forms, partners_of(current_user.organisation_id))
    if form.validate_on_submit():
        version, _, language = form.consent_form.data.partition("/")
        try:
            client = service.register_client(
                service.ConsentInput(
                    form_version=version,
                    form_language=language,
                    signed_on=form.signed_on.data,
                    processing_agreed=form.processing_agreed.data,
                    exchange_partners=consent_rules.partner_names(
                        form.exchange_partners.data or ""
                    ),
                    scan=form.scan.data.read(),
                    exchange_partner_ids=form.exchange_partner_ids.data or [],
                ),
                service.ClientInput(
                    given_name=form.given_name.data,
                    family_name=form.family_name.data,
                    date_of_birth=form.date_of_birth.data,
                    gender=Gender(form.gender.data),
                    country_of_origin=form.country_of_origin.data,
                    residence_status=ResidenceStatus(form.residence_status.data),
                    languages=form.languages.data or [],
                    phone=form.phone.data,
                    email=form.email.data,
                ),
                by=current_user,
            )
        except consent_rules.ConsentRefused as error:
            attach_error(form, error)
        else:
            return redirect(url_for("clients.show", client_id=client.id))
    elif form.is_submitted():
        # Say every problem at once, the missing consent scope included.
        try:
            consent_rules.check_processing_agreed(form.processing_agreed.data)
        except consent_rules.ConsentRefused as error:
            attach_error(form, error)
    status = 422 if form.is_submitted() else 200
    return render_template("clients/new.html", form=form), status


@bp.get("/<id:client_id>")
@case_manager_only
def show(client_id: int):
    """Show a client: personal data, consent and scopes, cases; a form to open a case."""
    client = service.get_client(current_user, client_id) or abort(404)
    return render_client(client)


def render_client(client, open_form=None, household_form=None, status: int = 200):
    """Render the client page; a failed form of it (open case, household) is passed in."""
    return render_template(
        "clients/show.html",
        client=client,
        cases=cases_service.cases_of_client(current_user, client.id),
        open_case=cases_service.open_case_of(client.id),
        open_form=open_form or OpenCaseForm(),
        household=households_service.panel_for(current_user, client),
        household_form=household_form or CreateHouseholdForm(),
    ), status


@bp.get("/<id:client_id>/consent-scan")
@case_manager_only
def consent_scan(client_id: int):
    """Send the decrypted consent scan of a client the user may see, never cached."""
    client = service.get_client(current_user, client_id) or abort(404)
    data = service.read_scan(client.consent)
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
    response = send_file(
        io.BytesIO(data),
        mimetype=client.consent.scan_media_type,
        download_name=f"einwilligung-{client.id}.{extension[client.consent.scan_media_type]}",
        as_attachment=False,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
