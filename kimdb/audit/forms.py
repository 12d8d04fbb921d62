"""The data protection officer's search form of the audit log (issue 6 item 3)."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from kimdb.emergency.rules import parse_case_number
from kimdb.forms import GermanDateField
from kimdb.i18n import lazy_gettext as _l

_DIGITS = re.compile(r"^\s*(\d{1,10})\s*$")
MAX_ID = 2**31 - 1


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def parse_id(text: str | None) -> int | None:
    """Return the positive 32-bit id typed as ``text`` (digits, spaces around forgiven), else
    None."""
    match = _DIGITS.match(text or "")
    if not match:
        return None
    value = int(match.group(1))
    return value if 1 <= value <= MAX_ID else None


def parse_case(text: str | None) -> int | None:
    """Return the case id of a case number (``2026-000123``) or of a bare id, else None."""
    parsed = parse_case_number(text)
    return parsed[1] if parsed else parse_id(text)


class AuditSearchForm(FlaskForm):
    """Search the audit log by user, client id, case number and period (all optional).

    ``user`` choices are set by the view (users of the DPO's municipality)."""

    class Meta:
        csrf = False  # a GET search changes nothing

    user = SelectField(_l("Benutzer:in"), choices=[], validate_choice=False)
    client = StringField(
        _l("Klient:in (ID)"), validators=[Optional(), Length(max=20)], filters=[_strip]
    )
    case = StringField(_l("Fallnummer"), validators=[Optional(), Length(max=20)], filters=[_strip])
    date_from = GermanDateField(_l("von"), validators=[Optional()])
    date_to = GermanDateField(_l("bis"), validators=[Optional()])

    def validate_user(self, field) -> None:
        """The user must be one of the choices (or none)."""
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Diese Benutzer:in gibt es in Ihrem Bereich nicht."))

    def validate_client(self, field) -> None:
        """A client id is a positive whole number."""
        if field.data and parse_id(field.data) is None:
            raise ValidationError(_l("Bitte die Klient:innen-ID als Zahl angeben, z. B. 123."))

    def validate_case(self, field) -> None:
        """A case number like 2026-000123, or the bare case id."""
        if field.data and parse_case(field.data) is None:
            raise ValidationError(_l("Bitte eine Fallnummer wie 2026-000123 angeben."))

    def validate_date_to(self, field) -> None:
        """The period must not end before it starts."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("Das Ende darf nicht vor dem Anfang liegen."))
