"""Forms of the login."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from kimdb.i18n import lazy_gettext as _l


class LoginForm(FlaskForm):
    """User name and password."""

    username = StringField(
        _l("Benutzername"),
        validators=[DataRequired(_l("Bitte den Benutzernamen eingeben.")), Length(max=80)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Passwort"),
        validators=[DataRequired(_l("Bitte das Passwort eingeben.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class LanguageForm(FlaskForm):
    """Choose the UI language."""

    locale = HiddenField()


def _code_field() -> StringField:
    """The 6-digit code of the authenticator app; the format is checked by
    ``kimdb.auth.totp.clean_code``."""
    return StringField(
        _l("Code"),
        validators=[
            DataRequired(
                _l("Bitte geben Sie den 6-stelligen Code aus Ihrer Authenticator-App ein.")
            ),
            Length(max=20),
        ],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )


class CodeForm(FlaskForm):
    """The code of the authenticator app (login step 2, enrolment)."""

    code = _code_field()


class DisableSecondFactorForm(FlaskForm):
    """Switch the voluntary two-factor login off: password and a current code."""

    password = PasswordField(
        _l("Passwort"),
        validators=[DataRequired(_l("Bitte das Passwort eingeben.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    code = _code_field()
