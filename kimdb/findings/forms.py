"""Forms of structural findings: record one, and choose the period coordination looks at."""

from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from kimdb.findings import rules
from kimdb.findings.labels import CATEGORY
from kimdb.forms import GermanDateField, enum_choices, not_in_future
from kimdb.i18n import lazy_gettext as _l
from kimdb.timeutil import today

AGENCY_DATALIST_ID = "agency-suggestions"
DEFAULT_PERIOD_DAYS = 365  # coordination looks at the last twelve months unless told otherwise


def no_personal_data(message):
    """Validator: the text must not contain what looks like client data (FAQ KIM NRW Q32)."""

    def check(form, field):
        if field.data and rules.looks_personal(field.data):
            raise ValidationError(message)

    return check


def _year_ago() -> dt.date:
    return today() - dt.timedelta(days=DEFAULT_PERIOD_DAYS)


class FindingForm(FlaskForm):
    """A gap or barrier of the local service system: category, agency, description, day seen.

    Nothing in it names the case or the client (Systemmanagement, FAQ KIM NRW Q32).
    """

    category = SelectField(
        _l("Kategorie"),
        choices=[("", _l("– bitte wählen –")), *enum_choices(CATEGORY)],
        validators=[DataRequired(_l("Bitte eine Kategorie wählen."))],
    )
    agency = StringField(
        _l("Betroffene Stelle oder betroffenes Angebot"),
        filters=[lambda value: rules.normalise_agency(value) if value else value],
        validators=[
            DataRequired(_l("Bitte die betroffene Stelle oder das Angebot angeben.")),
            Length(
                rules.AGENCY_MIN,
                rules.AGENCY_MAX,
                _l("Die Bezeichnung der Stelle muss zwischen 2 und 200 Zeichen lang sein."),
            ),
            no_personal_data(rules.PERSONAL_AGENCY_MESSAGE),
        ],
        render_kw={
            "list": AGENCY_DATALIST_ID,
            "maxlength": rules.AGENCY_MAX,
            "autocomplete": "off",
        },
    )
    description = TextAreaField(
        _l("Beschreibung"),
        filters=[lambda value: value.strip() if value else value],
        validators=[
            DataRequired(_l("Bitte die Lücke oder Barriere beschreiben.")),
            Length(
                rules.DESCRIPTION_MIN,
                rules.DESCRIPTION_MAX,
                _l("Die Beschreibung muss zwischen 10 und 1000 Zeichen lang sein."),
            ),
            no_personal_data(rules.PERSONAL_DATA_MESSAGE),
        ],
        render_kw={"rows": 6, "maxlength": rules.DESCRIPTION_MAX},
    )
    observed_on = GermanDateField(
        _l("Beobachtet am"),
        default=today,
        validators=[
            DataRequired(_l("Bitte angeben, wann die Lücke beobachtet wurde.")),
            not_in_future(),
        ],
    )


class PeriodForm(FlaskForm):
    """The period of the coordination view (GET, no CSRF: it changes nothing).

    Defaults to the last twelve months; an empty field leaves that end open.
    """

    class Meta:
        csrf = False

    date_from = GermanDateField(_l("Von"), default=_year_ago, validators=[Optional()])
    date_to = GermanDateField(_l("Bis"), default=today, validators=[Optional()])

    def validate_date_to(self, field):
        """The period must not end before it begins."""
        try:
            rules.check_period(self.date_from.data, field.data)
        except rules.FindingRefused as error:
            raise ValidationError(error.message) from error
