"""Clients: the own list, registration with consent (R1), the client page, the consent scan."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user

from kimdb.audit.views import record_reads
from kimdb.auth.models import Role
from kimdb.cases import service as cases_service
from kimdb.cases.forms import OpenCaseForm
from kimdb.clients import service
from kimdb.clients.forms import RegistrationForm
from kimdb.clients.models import Gender, ResidenceStatus
from kimdb.consent import rules as consent_rules
from kimdb.consent.catalog import load_forms
from kimdb.households import service as households_service
from kimdb.households.forms import CreateHouseholdForm
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs.service import partners_of
from kimdb.views import attach_error, requested_page, role_required

bp = Blueprint("clients", __name__, url_prefix="/clients")
case_manager_only = role_required(Role.CASE_MANAGER)


@bp.get("/")
@case_manager_only
def index():
    """List the clients the case manager registered or counsels (R8), newest first, 50 a
    page (``?page=N``)."""
    result = service.client_page(current_user, requested_page())
    return render_template("clients/index.html", result=result, clients=result.clients)


HELD_SCAN = "registration_scan"  # session: the scan held for the confirmation round


@bp.route("/new", methods=["GET", "POST"])
@case_manager_only
def new():
    """Register a client together with the signed consent, all or nothing (R1, FAQ Q34).

    A possible duplicate in the organisation (issue 6 item 2) shows the form again with HTTP
    409 and the matches; the uploaded scan is held encrypted on the server for that round, and
    the case manager confirms "another person" to save. Bad input: 422.
    """
    forms = load_forms(current_app.config["CONSENT_FORMS_DIR"])
    form = RegistrationForm()
    form.fill_choices(forms, partners_of(current_user.organisation_id))
    if request.method == "GET":
        _forget_held_scan()  # a fresh form starts without the scan of an earlier attempt
    held = session.get(HELD_SCAN)
    if held:
        form.keep_held_scan()
    duplicates = []
    if form.validate_on_submit():
        version, _, language = form.consent_form.data.partition("/")
        uploaded = form.scan.data.read() if form.scan.data else None
        if uploaded is not None:
            scan = uploaded
        else:
            scan = service.held_scan(held["key"]) if held else None
        if scan is None:
            form.scan.errors = [
                _l("Der zuvor hochgeladene Scan ist nicht mehr vorhanden. Bitte erneut auswählen.")
            ]
            _forget_held_scan()
            held = None
            return render_template("clients/new.html", form=form, held=held), 422
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
                    scan=scan,
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
                check_duplicates=not form.not_a_duplicate.data,
            )
        except service.DuplicateSuspected as suspected:
            duplicates = suspected.matches
            record_reads("read:clients.duplicate_check", [d.client_id for d in duplicates])
            if uploaded is not None:
                _forget_held_scan()
                held = session[HELD_SCAN] = {
                    "key": service.hold_scan(uploaded),
                    "kb": max(1, round(len(uploaded) / 1024)),
                }
            form.form_errors.append(suspected.message)
            return render_template(
                "clients/new.html", form=form, held=held, duplicates=duplicates
            ), 409
        except consent_rules.ConsentRefused as error:
            attach_error(form, error)
        else:
            _forget_held_scan()
            return redirect(url_for("clients.show", client_id=client.id))
    elif form.is_submitted():
        # Say every problem at once, the missing consent scope included.
        try:
            consent_rules.check_processing_agreed(form.processing_agreed.data)
        except consent_rules.ConsentRefused as error:
            attach_error(form, error)
    status = 422 if form.is_submitted() else 200
    return render_template("clients/new.html", form=form, held=held), status


def _forget_held_scan() -> None:
    """Remove the scan held for this session's registration, if any, file and session entry."""
    held = session.pop(HELD_SCAN, None)
    if held:
        service.release_scan(held["key"])


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
