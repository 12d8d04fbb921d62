"""Forms of the organisation: the partner directory."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from kimdb import labels
from kimdb.forms import enum_choices


class PartnerForm(FlaskForm):
    """A service or agency for the organisation's partner directory."""

    name = StringField(
        _l("Name der Stelle"),
        validators=[
            DataRequired(_l("Bitte den Namen der Stelle angeben.")),
            Length(min=2, max=200),
        ],
    )
    kind = SelectField(_l("Art der Stelle"), choices=enum_choices(labels.PARTNER_KIND))
    legal_domain = SelectField(
        _l("Rechtskreis (optional)"),
        choices=[("", _l("– keiner –")), *enum_choices(labels.LEGAL_DOMAIN)],
        validators=[Optional()],
    )
    contact = StringField(
        _l("Kontakt (Telefon, E-Mail, Adresse der Stelle)"),
        validators=[Optional(), Length(max=300)],
    )
    back = HiddenField()
