"""Households (Bedarfsgemeinschaft, FAQ KIM NRW Q33): create one from a client page, the
household page with its members and their cases (as far as the viewer may see them, R8), add
and remove members. Each POST parses one form, calls one use case, and either redirects (PRG)
or shows the page again with the form's errors and what was typed (422)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from kimdb.auth.models import Role
from kimdb.clients import service as clients_service
from kimdb.clients import views as clients_views
from kimdb.households import rules, service
from kimdb.households.forms import (
    AddMemberForm,
    CreateHouseholdForm,
    RemoveMemberForm,
    optional_id,
)
from kimdb.households.models import Household
from kimdb.households.rules import HouseholdRefused
from kimdb.i18n import lazy_gettext as _l
from kimdb.views import attach_error, role_required

bp = Blueprint("households", __name__, url_prefix="/households")
case_manager_only = role_required(Role.CASE_MANAGER)

ADD_PREFIX = "add"


def _remove_form(member_id: int, **kwargs) -> RemoveMemberForm:
    """The remove form of one member row (prefixed by the member's id)."""
    return RemoveMemberForm(prefix=f"remove{member_id}", **kwargs)


def _load(household_id: int) -> Household:
    """The household if the user may see one of its members (R8), else 404."""
    return service.household_for(current_user, household_id) or abort(404)


def _page(household: Household, add_form=None, remove_failed=None, status: int = 200):
    """Render the household page; a failed form is shown with its errors and input."""
    members, hidden = service.members_view(current_user, household)
    if add_form is None:
        add_form = AddMemberForm(prefix=ADD_PREFIX, formdata=None)
    add_form.fill_choices(service.linkable_clients(current_user, household))
    remove_forms = {
        m.client.id: _remove_form(m.client.id, formdata=None, client_id=m.client.id)
        for m in members
    }
    return render_template(
        "households/show.html",
        household=household,
        members=members,
        hidden=hidden,
        add_form=add_form,
        remove_forms=remove_forms,
        remove_failed=remove_failed,
        max_members=rules.MAX_MEMBERS,
    ), status


@bp.post("/new/<id:client_id>")
@case_manager_only
def create(client_id: int):
    """Create a household with the client of the page as its first member (FAQ Q33)."""
    client = clients_service.get_client(current_user, client_id) or abort(404)
    form = CreateHouseholdForm()
    if form.validate_on_submit():
        try:
            household = service.create_household(client, form.label.data, by=current_user)
        except HouseholdRefused as error:
            attach_error(form, error)
        else:
            flash(_l("Bedarfsgemeinschaft angelegt."), "success")
            return redirect(url_for("households.show", household_id=household.id))
    return clients_views.render_client(client, household_form=form, status=422)


@bp.get("/<id:household_id>")
@case_manager_only
def show(household_id: int):
    """The household page: label, visible members with their visible cases, forms (R8)."""
    return _page(_load(household_id))


@bp.post("/<id:household_id>/members")
@case_manager_only
def add_member(household_id: int):
    """Add a client the user may see, of the same organisation, to the household (FAQ Q33)."""
    household = _load(household_id)
    form = AddMemberForm(prefix=ADD_PREFIX)
    if form.validate_on_submit():
        client = clients_service.get_client(current_user, form.client_id.data)
        if client is None:
            # Unknown, or not the user's to see (R8): the same answer, nothing said about it.
            form.client_id.errors.append(_l("Diese Person können Sie nicht hinzufügen."))
        else:
            try:
                service.add_member(household, client, by=current_user)
            except HouseholdRefused as error:
                attach_error(form, error)
            else:
                # No names in flash messages: they travel in the (signed, not encrypted) cookie.
                flash(_l("Mitglied hinzugefügt."), "success")
                return redirect(url_for("households.show", household_id=household.id))
    return _page(household, add_form=form, status=422)


@bp.post("/<id:household_id>/members/<id:client_id>/remove")
@case_manager_only
def remove_member(household_id: int, client_id: int):
    """Take a member out; the last member leaving dissolves the household (FAQ Q33)."""
    household = _load(household_id)
    client = clients_service.get_client(current_user, client_id) or abort(404)
    form = _remove_form(client_id)
    if form.validate_on_submit():
        if optional_id(form.client_id.data) != client_id:
            form.form_errors.append(_l("Das Formular passt nicht zu dieser Person."))
        else:
            try:
                dissolved = service.remove_member(household, client, by=current_user)
            except HouseholdRefused as error:
                attach_error(form, error)
            else:
                if dissolved:
                    flash(_l("Die Bedarfsgemeinschaft ist aufgelöst (letztes Mitglied)."), "info")
                    return redirect(url_for("clients.show", client_id=client_id))
                flash(_l("Mitglied aus der Bedarfsgemeinschaft ausgetragen."), "success")
                if service.household_for(current_user, household_id) is None:
                    return redirect(url_for("clients.show", client_id=client_id))
                return redirect(url_for("households.show", household_id=household_id))
    return _page(household, remove_failed=form, status=422)
