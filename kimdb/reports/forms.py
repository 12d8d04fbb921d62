"""The report's form (issue 7 item 1): which scope and which period. Sent by GET (it changes
nothing, and the address can be bookmarked or shared within the office): no CSRF token.

The form only reads the values; ``kimdb.reports.rules.parse_period`` decides whether they make
a period, and ``kimdb.reports.service.check_scope`` whether the user may see the scope.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField
from wtforms.validators import Optional

from kimdb.forms import GermanDateField
from kimdb.i18n import lazy_gettext as _l
from kimdb.timeutil import today

PERIOD_KIND_LABELS = {
    "year": _l("Jahr"),
    "half": _l("Halbjahr"),
    "quarter": _l("Quartal"),
    "range": _l("Zeitraum (von – bis)"),
}


class GermanIntegerField(IntegerField):
    """A whole-number input whose parse error is a German sentence."""

    def process_formdata(self, valuelist):  # noqa: D102 - WTForms hook
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Bitte eine ganze Zahl angeben.")) from exc


def _this_year() -> int:
    return today().year


class ReportForm(FlaskForm):
    """Scope ("municipality:3", "state"; choices set by the view from ``scopes_for``), kind of
    period, year with half year or quarter number, or a from–to range of days."""

    class Meta:
        csrf = False

    scope = SelectField(_l("Bereich"), validate_choice=False)
    kind = RadioField(
        _l("Art des Zeitraums"),
        choices=list(PERIOD_KIND_LABELS.items()),
        default="year",
        validate_choice=False,
    )
    year = GermanIntegerField(_l("Jahr"), default=_this_year, validators=[Optional()])
    number = SelectField(
        _l("Halbjahr oder Quartal"),
        choices=[
            ("", _l("– nur bei Halbjahr oder Quartal –")),
            ("1", "1"),
            ("2", "2"),
            ("3", _l("3 (nur Quartal)")),
            ("4", _l("4 (nur Quartal)")),
        ],
        validate_choice=False,
    )
    date_from = GermanDateField(_l("Von"), validators=[Optional()])
    date_to = GermanDateField(_l("Bis"), validators=[Optional()])

    def number_value(self) -> int | None:
        """Return the chosen half year or quarter as a number, None when empty or not one."""
        value = (self.number.data or "").strip()
        return int(value) if value.isdigit() else None
