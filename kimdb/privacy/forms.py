"""Forms of data protection: the confirmed full withdrawal of a consent and the withdrawal of one
exchange scope (issue 6 item 4)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired, InputRequired

from kimdb.forms import GermanDateField, not_in_future
from kimdb.i18n import lazy_gettext as _l


class WithdrawalForm(FlaskForm):
    """The confirmation of a full withdrawal: the day it was declared and a required tick."""

    declared_on = GermanDateField(
        _l("Widerruf erklärt am"),
        validators=[
            InputRequired(_l("Bitte das Datum angeben, an dem der Widerruf erklärt wurde.")),
            not_in_future(),
        ],
    )
    confirm = BooleanField(
        _l("Löschung bestätigen"),
        validators=[DataRequired(_l("Bitte bestätigen Sie die Löschung."))],
    )
    # The sentence the tick confirms (shown as the field's hint).
    confirm_hint = _l(
        "Ich habe geprüft, dass die Person ihre Einwilligung vollständig widerrufen hat. Die "
        "aufgeführten Daten werden endgültig gelöscht."
    )


class ExchangeWithdrawalForm(FlaskForm):
    """Withdraw one exchange scope (a button; only the CSRF token is sent)."""
