"""Forms of the Fachadministration: a user account, its FTE from a day on, a new password,
(de)activation.

The field checks call the rules of ``kimdb.auth.admin``, so that a form shows every field's
message at once; the use cases check the same rules again before writing.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from kimdb import labels
from kimdb.auth import admin
from kimdb.forms import CheckboxListField, GermanDateField
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation


def _rule(check):
    """Validator: run ``check(field.data)``; its RuleViolation becomes the field's message."""

    def validate(form, field):
        try:
            check(field.data)
        except RuleViolation as error:
            raise ValidationError(error.message) from None

    return validate


def _optional_int(value) -> int | None:
    """Coerce a select value to an int; None for anything else (the rule then says why)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _team_choice(value) -> int | None:
    """Coerce the team select: None for "no team" (empty), the id, or 0 for anything else (no
    such team: the rule then says why)."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class FteField(StringField):
    """The full-time equivalent (VZÄ) as typed, German decimal comma accepted ("0,5").

    ``data`` is a Decimal, or None when the text is not a valid FTE; the field's message
    comes from ``kimdb.auth.admin.parse_fte``. What was typed is shown again after an error.
    """

    def process_formdata(self, valuelist):  # noqa: D102 - WTForms hook
        if not valuelist:
            return
        try:
            self.data = admin.parse_fte(valuelist[0])
        except RuleViolation as error:
            self.data = None
            raise ValueError(error.message) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return labels.format_fte(self.data) if self.data is not None else ""


class AccountForm(FlaskForm):
    """What an administrator sets of an account: names, role, organisation, team and, for a
    supervisor, the organisations and teams they supervise.

    The choices of organisation, team and supervision are those of the administrator's
    municipality (set by the view). Every choice is checked by the rules, so an unknown value
    gets a German message. The FTE is set here only for a new account (``NewAccountForm``);
    later changes take a date (``FteChangeForm``).
    """

    username = StringField(
        _l("Benutzername"),
        validators=[
            DataRequired(_l("Bitte einen Benutzernamen angeben.")),
            _rule(admin.clean_username),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    display_name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Bitte den Namen angeben.")), _rule(admin.clean_display_name)],
        render_kw={"autocomplete": "off"},
    )
    role = SelectField(
        _l("Rolle"),
        choices=[(r.value, labels.ROLE[r]) for r in admin.MUNICIPAL_ROLES],
        validate_choice=False,
        validators=[_rule(admin.parse_role)],
    )
    organisation_id = SelectField(
        _l("Organisation"), coerce=_optional_int, choices=[], validate_choice=False
    )
    team_id = SelectField(_l("Team"), coerce=_team_choice, choices=[], validate_choice=False)
    supervised = CheckboxListField(
        _l("Zuständig für (nur Koordination / Teamleitung)"), choices=[], validate_choice=False
    )


class NewAccountForm(AccountForm):
    """A new account: also its FTE (valid from today), whether it is active, and the initial
    password (twice)."""

    fte = FteField(
        _l("Stellenumfang (VZÄ)"),
        default=None,
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )

    active = BooleanField(_l("Konto ist aktiv (die Person kann sich anmelden)"), default=True)
    password = PasswordField(
        _l("Erstes Passwort"),
        validators=[_rule(admin.check_password)],
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        _l("Passwort wiederholen"),
        validators=[EqualTo("password", _l("Die beiden Passwörter stimmen nicht überein."))],
        render_kw={"autocomplete": "new-password"},
    )

    def validate_fte(self, field):  # noqa: D102 - WTForms hook
        if field.data is None and not field.errors:
            raise ValidationError(_l("Bitte den Stellenumfang angeben, z. B. 0,5 oder 1,0."))


class FteChangeForm(FlaskForm):
    """A new FTE and the day it takes effect (issue 5, item 3); the day may lie in the past
    or the future (bounds: ``kimdb.auth.admin.fte_dates_allowed``)."""

    fte = FteField(
        _l("Neuer Stellenumfang (VZÄ)"),
        default=None,
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    valid_from = GermanDateField(_l("Gültig ab"))

    def validate_fte(self, field):  # noqa: D102 - WTForms hook
        if field.data is None and not field.errors:
            raise ValidationError(_l("Bitte den Stellenumfang angeben, z. B. 0,5 oder 1,0."))

    def validate_valid_from(self, field):  # noqa: D102 - WTForms hook
        if field.data is None and not field.errors:
            raise ValidationError(
                _l("Bitte das Datum angeben, ab dem der neue Stellenumfang gilt (TT.MM.JJJJ).")
            )


class PasswordForm(FlaskForm):
    """A new initial password for an account (twice); ends the account's sessions."""

    password = PasswordField(
        _l("Neues Passwort"),
        validators=[_rule(admin.check_password)],
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        _l("Passwort wiederholen"),
        validators=[EqualTo("password", _l("Die beiden Passwörter stimmen nicht überein."))],
        render_kw={"autocomplete": "new-password"},
    )


class StatusForm(FlaskForm):
    """Deactivate or reactivate an account: a button, protected by the CSRF token."""
