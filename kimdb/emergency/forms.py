"""Forms of emergency access: the request (case number and reason) and the end button."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from kimdb.emergency.rules import MAX_REASON_LENGTH
from kimdb.i18n import lazy_gettext as _l


class EmergencyForm(FlaskForm):
    """A supervisor asks for emergency access to one case: its number and why (issue 5
    item 7). The length of the reason is checked by ``rules.check_reason``."""

    case_number = StringField(
        _l("Fallnummer"),
        validators=[DataRequired(_l("Bitte die Fallnummer angeben.")), Length(max=30)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "numeric"},
    )
    reason = TextAreaField(
        _l("Begründung"),
        validators=[
            DataRequired(_l("Bitte begründen Sie, warum Sie jetzt auf den Fall zugreifen müssen.")),
            Length(
                max=MAX_REASON_LENGTH,
                message=_l("Die Begründung ist zu lang (höchstens %(max)d Zeichen)."),
            ),
        ],
        render_kw={"rows": 4},
    )


class EndForm(FlaskForm):
    """End an emergency access early (a button with CSRF token)."""
