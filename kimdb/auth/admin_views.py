"""Fachadministration: the user accounts of the administrator's municipality.

Only administrators reach these pages (403 for everyone else); an account of another
municipality is not found (404). No page shows client data (R8), only counts of open cases.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from kimdb.auth import admin
from kimdb.auth.admin_forms import AccountForm, NewAccountForm, PasswordForm, StatusForm
from kimdb.auth.models import Role, User
from kimdb.auth.service import MIN_PASSWORD_LENGTH
from kimdb.rules import RuleViolation
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
    form.organisation_id.choices = [(o.id, o.name) for o in admin.organisations_of(_acting_admin())]
    return form


def _account_fields(form: AccountForm) -> dict:
    return {
        "username": form.username.data,
        "display_name": form.display_name.data,
        "role": form.role.data,
        "organisation_id": form.organisation_id.data,
        "fte": form.fte.data,
    }


def _account_page(
    user: User,
    form: AccountForm | None = None,
    password_form: PasswordForm | None = None,
    status_form: StatusForm | None = None,
    status: int = 200,
):
    """Render the page of one account; the forms not passed show the stored values."""
    if form is None:
        form = AccountForm(formdata=None, obj=user)
    return render_template(
        "admin/user_form.html",
        user=user,
        form=_with_organisations(form),
        password_form=password_form or PasswordForm(formdata=None, prefix="password"),
        status_form=status_form or StatusForm(formdata=None, prefix="status"),
        open_cases=admin.open_case_count(user),
        min_password_length=MIN_PASSWORD_LENGTH,
    ), status


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
    """Show an account; change its user name, name, role, organisation and FTE."""
    user = _managed_or_404(user_id)
    form = AccountForm(obj=user if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            admin.update_user_account(_acting_admin(), user, **_account_fields(form))
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("Das Konto „%(name)s“ ist geändert.", name=user.username), "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _account_page(user, form=form, status=422 if form.is_submitted() else 200)


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
    """Deactivate an account: no more login, sessions end at the next request."""
    return _change_status(
        user_id, admin.deactivate, lambda u: _l("Das Konto „%(name)s“ ist deaktiviert.", name=u)
    )


@bp.post("/users/<id:user_id>/reactivate")
@role_required(Role.ADMIN)
def reactivate(user_id: int):
    """Reactivate an account: the person can log in again."""
    return _change_status(
        user_id, admin.reactivate, lambda u: _l("Das Konto „%(name)s“ ist wieder aktiv.", name=u)
    )


def _change_status(user_id: int, change, done_message):
    """Run ``change(admin, user)`` (deactivate or reactivate) on a posted button; flash
    ``done_message(username)`` and show the account, or its refusal with 422."""
    user = _managed_or_404(user_id)
    status_form = StatusForm(prefix="status")
    if status_form.validate_on_submit():
        try:
            change(_acting_admin(), user)
        except RuleViolation as error:
            attach_error(status_form, error)
        else:
            flash(done_message(user.username), "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _account_page(user, status_form=status_form, status=422)
