"""Fachadministration: the user accounts, organisations and teams of the administrator's
municipality (issue 5, items 1, 3, 8).

Only administrators reach these pages (403 for everyone else); an account, organisation or team
of another municipality is not found (404). No page shows client data (R8), only counts of
open cases.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kimdb import labels
from kimdb.auth import admin
from kimdb.auth.admin_forms import (
    AccountForm,
    FteChangeForm,
    NewAccountForm,
    PasswordForm,
    StatusForm,
)
from kimdb.auth.models import Role, User
from kimdb.auth.service import MIN_PASSWORD_LENGTH
from kimdb.i18n import lazy_gettext as _l
from kimdb.i18n import lazy_ngettext
from kimdb.orgs import service as orgs
from kimdb.orgs.forms import ORGANISATION_KIND, DeleteTeamForm, OrganisationForm, TeamForm
from kimdb.orgs.models import Organisation
from kimdb.rules import RuleViolation
from kimdb.timeutil import today
from kimdb.views import attach_error, role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _acting_admin() -> User:
    return current_user._get_current_object()


def _managed_or_404(user_id: int) -> User:
    user = admin.managed_user(_acting_admin(), user_id)
    if user is None:
        abort(404)
    return user


def _with_organisations(form: AccountForm) -> AccountForm:
    """Offer the organisations of the municipality, their teams ("Organisation · Team") and,
    for supervisors, whole organisations and teams to supervise."""
    organisations = admin.organisations_with_teams(_acting_admin())
    form.organisation_id.choices = [(o.id, o.name) for o in organisations]
    form.team_id.choices = [("", _l("– kein Team –"))] + [
        (t.id, f"{o.name} · {t.name}") for o in organisations for t in o.teams
    ]
    supervised = []
    for o in organisations:
        supervised.append(
            (f"organisation:{o.id}", _l("%(name)s (ganze Organisation)", name=o.name))
        )
        supervised += [(f"team:{t.id}", f"{o.name} · {t.name}") for t in o.teams]
    form.supervised.choices = supervised
    return form


def _account_fields(form: AccountForm) -> dict:
    return {
        "username": form.username.data,
        "display_name": form.display_name.data,
        "role": form.role.data,
        "organisation_id": form.organisation_id.data,
        "team_id": form.team_id.data,
        "supervised": list(form.supervised.data or []),
    }


def _municipality_id() -> int:
    return current_user.organisation.municipality_id


def _account_page(
    user: User,
    form: AccountForm | None = None,
    password_form: PasswordForm | None = None,
    status_form: StatusForm | None = None,
    fte_form: FteChangeForm | None = None,
    status: int = 200,
):
    """Render the page of one account; the forms not passed show the stored values."""
    if form is None:
        form = _stored_account_form(user)
    return render_template(
        "admin/user_form.html",
        user=user,
        form=_with_organisations(form),
        fte_form=fte_form or FteChangeForm(formdata=None, prefix="fte"),
        fte_history=admin.fte_history(user),
        today=today(),
        password_form=password_form or PasswordForm(formdata=None, prefix="password"),
        status_form=status_form or StatusForm(formdata=None, prefix="status"),
        open_cases=admin.open_case_count(user),
        min_password_length=MIN_PASSWORD_LENGTH,
    ), status


def _stored_account_form(user: User) -> AccountForm:
    """The account form showing ``user``'s stored values, supervisions included."""
    form = AccountForm(formdata=None, obj=user)
    form.supervised.data = admin.supervised_values(user)
    return form


@bp.get("/users")
@role_required(Role.ADMIN)
def users():
    """List the accounts of the municipality's organisations, with their open cases (counts)."""
    return render_template("admin/users.html", rows=admin.users_of(_acting_admin()))


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new_user():
    """Create an account with an initial password."""
    form = _with_organisations(NewAccountForm())
    if request.method == "GET":
        form.organisation_id.data = current_user.organisation_id
    if form.validate_on_submit():
        try:
            user = admin.create_user_account(
                _acting_admin(),
                **_account_fields(form),
                fte=form.fte.data,
                password=form.password.data,
                active=form.active.data,
            )
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("Das Konto „%(name)s“ ist angelegt.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/user_form.html", form=form, user=None, min_password_length=MIN_PASSWORD_LENGTH
    ), status


@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_user(user_id: int):
    """Show an account; change its user name, name, role, organisation, team and what a
    supervisor supervises."""
    user = _managed_or_404(user_id)
    form = _stored_account_form(user) if request.method == "GET" else AccountForm()
    if form.validate_on_submit():
        try:
            admin.update_user_account(_acting_admin(), user, **_account_fields(form))
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("Das Konto „%(name)s“ ist geändert.", name=user.username), "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _account_page(user, form=form, status=422 if form.is_submitted() else 200)


@bp.post("/users/<id:user_id>/fte")
@role_required(Role.ADMIN)
def change_fte(user_id: int):
    """Record a new FTE from a day on (past or future); the same day replaces the entry."""
    user = _managed_or_404(user_id)
    fte_form = FteChangeForm(prefix="fte")
    if fte_form.validate_on_submit():
        try:
            admin.change_fte(_acting_admin(), user, fte_form.fte.data, fte_form.valid_from.data)
        except RuleViolation as error:
            attach_error(fte_form, error)
        else:
            flash(
                _l(
                    "Der Stellenumfang von „%(name)s“ ist ab %(day)s %(fte)s VZÄ.",
                    name=user.username,
                    day=labels.format_day(fte_form.valid_from.data),
                    fte=labels.format_fte(fte_form.fte.data),
                ),
                "success",
            )
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _account_page(user, fte_form=fte_form, status=422)


@bp.post("/users/<id:user_id>/password")
@role_required(Role.ADMIN)
def set_password(user_id: int):
    """Set a new initial password; every session of the account ends."""
    user = _managed_or_404(user_id)
    password_form = PasswordForm(prefix="password")
    if password_form.validate_on_submit():
        try:
            admin.set_password(_acting_admin(), user, password_form.password.data)
        except RuleViolation as error:
            attach_error(password_form, error)
        else:
            if user.id == current_user.id:
                flash(
                    _l("Ihr Passwort ist geändert. Bitte melden Sie sich neu an."),
                    "success",
                )
            else:
                flash(
                    _l(
                        "Das neue Passwort für „%(name)s“ gilt ab sofort; "
                        "alle Sitzungen des Kontos sind beendet.",
                        name=user.username,
                    ),
                    "success",
                )
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _account_page(user, password_form=password_form, status=422)


@bp.post("/users/<id:user_id>/deactivate")
@role_required(Role.ADMIN)
def deactivate(user_id: int):
    """Deactivate an account: no more login, sessions end at the next request; running and
    future substitutions by the person end (the message says how many)."""
    return _change_status(user_id, admin.deactivate, _deactivated)


def _deactivated(username: str, ended: int) -> str:
    message = str(_l("Das Konto „%(name)s“ ist deaktiviert.", name=username))
    if ended:
        message += " " + str(
            lazy_ngettext(
                "%(num)d Vertretung durch diese Person ist damit beendet.",
                "%(num)d Vertretungen durch diese Person sind damit beendet.",
                ended,
            )
        )
    return message


@bp.post("/users/<id:user_id>/reactivate")
@role_required(Role.ADMIN)
def reactivate(user_id: int):
    """Reactivate an account: the person can log in again."""
    return _change_status(
        user_id,
        admin.reactivate,
        lambda u, _: _l("Das Konto „%(name)s“ ist wieder aktiv.", name=u),
    )


def _change_status(user_id: int, change, done_message):
    """Run ``change(admin, user)`` (deactivate or reactivate) on a posted button; flash
    ``done_message(username, result of change)`` and show the account, or its refusal with
    422."""
    user = _managed_or_404(user_id)
    status_form = StatusForm(prefix="status")
    if status_form.validate_on_submit():
        try:
            result = change(_acting_admin(), user)
        except RuleViolation as error:
            attach_error(status_form, error)
        else:
            flash(done_message(user.username, result), "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _account_page(user, status_form=status_form, status=422)


@bp.post("/users/<id:user_id>/totp/reset")
@role_required(Role.ADMIN)
def reset_second_factor(user_id: int):
    """Remove the account's authenticator app (issue 6 item 7): every session ends; the person
    sets up a new app at the next login where their role requires one."""
    user = _managed_or_404(user_id)
    form = StatusForm(prefix="totp")
    if not form.validate_on_submit():
        return _account_page(user, status=422)
    admin.reset_second_factor(_acting_admin(), user)
    flash(
        _l(
            "Die Zwei-Faktor-Anmeldung von „%(name)s“ ist zurückgesetzt; alle Sitzungen des "
            "Kontos sind beendet.",
            name=user.username,
        ),
        "success",
    )
    return redirect(url_for("admin.edit_user", user_id=user.id))


# -- organisations and teams ------------------------------------------------------------------
def _organisation_or_404(organisation_id: int) -> Organisation:
    organisation = orgs.organisation_in(_municipality_id(), organisation_id)
    if organisation is None:
        abort(404)
    return organisation


def _organisations_page(form: OrganisationForm | None = None, status: int = 200):
    """Render the list of organisations with their teams; ``form`` the new organisation."""
    return render_template(
        "admin/organisations.html",
        rows=orgs.organisation_overview(_municipality_id()),
        form=form or OrganisationForm(formdata=None, prefix="organisation"),
        kinds=ORGANISATION_KIND,
    ), status


@bp.route("/organisations", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def organisations():
    """List the organisations of the municipality with their teams and number of people;
    create an organisation (name, kind)."""
    form = OrganisationForm(prefix="organisation")
    if request.method == "GET":
        return _organisations_page()
    if form.validate_on_submit():
        try:
            organisation = orgs.create_organisation(
                _municipality_id(), form.name.data, form.kind.data
            )
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(
                _l("Die Organisation „%(name)s“ ist angelegt.", name=organisation.name), "success"
            )
            return redirect(url_for("admin.organisation", organisation_id=organisation.id))
    return _organisations_page(form, status=422)


def _organisation_page(
    organisation: Organisation,
    team_form: TeamForm | None = None,
    failed_rename: tuple[int, TeamForm] | None = None,
    delete_errors: tuple[int, list] | None = None,
    status: int = 200,
):
    """Render one organisation with its teams: a form for a new team, per team a rename form
    (``failed_rename`` = (team id, form) shows a refused one) and a delete button
    (``delete_errors`` = (team id, messages) shows why a deletion was refused)."""
    row = next(
        r
        for r in orgs.organisation_overview(_municipality_id())
        if r.organisation.id == organisation.id
    )
    rename_forms = {
        t.team.id: TeamForm(formdata=None, obj=t.team, prefix=f"team-{t.team.id}")
        for t in row.teams
    }
    if failed_rename:
        rename_forms[failed_rename[0]] = failed_rename[1]
    return render_template(
        "admin/organisation.html",
        row=row,
        kinds=ORGANISATION_KIND,
        team_form=team_form or TeamForm(formdata=None, prefix="team"),
        rename_forms=rename_forms,
        delete_form=DeleteTeamForm(formdata=None, prefix="delete"),
        delete_errors=dict([delete_errors]) if delete_errors else {},
    ), status


@bp.get("/organisations/<id:organisation_id>")
@role_required(Role.ADMIN)
def organisation(organisation_id: int):
    """Show an organisation with its teams and the number of people in each."""
    return _organisation_page(_organisation_or_404(organisation_id))


@bp.post("/organisations/<id:organisation_id>/teams")
@role_required(Role.ADMIN)
def new_team(organisation_id: int):
    """Create a team of the organisation."""
    organisation = _organisation_or_404(organisation_id)
    form = TeamForm(prefix="team")
    if form.validate_on_submit():
        try:
            team = orgs.create_team(_municipality_id(), organisation, form.name.data)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("Das Team „%(name)s“ ist angelegt.", name=team.name), "success")
            return redirect(url_for("admin.organisation", organisation_id=organisation.id))
    return _organisation_page(organisation, team_form=form, status=422)


def _team_or_404(team_id: int):
    team = orgs.team_in(_municipality_id(), team_id)
    if team is None:
        abort(404)
    return team


@bp.post("/teams/<id:team_id>")
@role_required(Role.ADMIN)
def rename_team(team_id: int):
    """Rename a team; its members and supervisions stay."""
    team = _team_or_404(team_id)
    organisation = team.organisation
    form = TeamForm(prefix=f"team-{team.id}")
    if form.validate_on_submit():
        try:
            orgs.rename_team(_municipality_id(), team, form.name.data)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("Das Team heißt jetzt „%(name)s“.", name=team.name), "success")
            return redirect(url_for("admin.organisation", organisation_id=organisation.id))
    return _organisation_page(organisation, failed_rename=(team.id, form), status=422)


@bp.post("/teams/<id:team_id>/delete")
@role_required(Role.ADMIN)
def delete_team(team_id: int):
    """Delete a team nobody belongs to and no supervision points to."""
    team = _team_or_404(team_id)
    organisation = team.organisation
    form = DeleteTeamForm(prefix="delete")
    errors = []
    if form.validate_on_submit():
        try:
            name = orgs.delete_team(_municipality_id(), team)
        except RuleViolation as error:
            errors.append(error.message)
        else:
            flash(_l("Das Team „%(name)s“ ist gelöscht.", name=name), "success")
            return redirect(url_for("admin.organisation", organisation_id=organisation.id))
    return _organisation_page(organisation, delete_errors=(team.id, errors), status=422)
