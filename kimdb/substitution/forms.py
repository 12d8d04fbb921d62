"""Forms of substitution, takeover and reassignment."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from kimdb.forms import CheckboxListField, GermanDateField
from kimdb.i18n import lazy_gettext as _l


class SubstitutionForm(FlaskForm):
    """Absent user, substitute, first and last day, optionally only some cases (R7)."""

    absent_id = SelectField(_l("Abwesend"), coerce=int)
    substitute_id = SelectField(
        _l("Vertretung"), coerce=int, validators=[DataRequired(_l("Bitte die Vertretung wählen."))]
    )
    first_day = GermanDateField(
        _l("Erster Tag"), validators=[DataRequired(_l("Bitte den ersten Tag angeben."))]
    )
    last_day = GermanDateField(
        _l("Letzter Tag"), validators=[DataRequired(_l("Bitte den letzten Tag angeben."))]
    )
    case_ids = CheckboxListField(
        _l("Nur diese Fälle (optional; ohne Auswahl alle Fälle)"),
        coerce=int,
        validators=[Optional()],
    )


class TakeoverForm(FlaskForm):
    """The substitute takes a case over for good, with a reason."""

    reason = TextAreaField(
        _l("Grund der Übernahme"),
        validators=[DataRequired(_l("Bitte den Grund der Übergabe angeben.")), Length(max=1000)],
    )


class ReassignForm(FlaskForm):
    """A supervisor moves cases of one case manager to another, with a reason."""

    case_ids = CheckboxListField(_l("Fälle"), coerce=int, validators=[Optional()])
    receiver_id = SelectField(
        _l("Neue:r Fallverantwortliche:r"),
        coerce=int,
        validators=[DataRequired(_l("Bitte die Person wählen, die die Fälle übernimmt."))],
    )
    reason = TextAreaField(
        _l("Grund"),
        validators=[DataRequired(_l("Bitte den Grund der Übergabe angeben.")), Length(max=1000)],
    )


class EndForm(FlaskForm):
    """End a substitution early (a button with CSRF token)."""
