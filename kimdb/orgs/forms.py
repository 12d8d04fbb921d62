"""Forms of the organisation: the partner directory; organisations and teams (admin)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from kimdb import labels
from kimdb.forms import enum_choices
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs.models import OrganisationKind

# German names of the kinds of organisation (DESIGN.md §1). Kept here rather than in
# kimdb/labels.py only because that file is shared with other work in progress; move it there.
ORGANISATION_KIND = {
    OrganisationKind.INTEGRATION_CENTRE: _l("Kommunales Integrationszentrum (KI)"),
    OrganisationKind.MUNICIPAL_OFFICE: _l("Andere kommunale Stelle"),
    OrganisationKind.TOWN: _l("Kreisangehörige Kommune"),
    OrganisationKind.WELFARE: _l("Freie Wohlfahrtspflege"),
}


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


class OrganisationForm(FlaskForm):
    """A new organisation of the administrator's municipality: name and kind (KI, municipal
    office, town of the county, welfare organisation). Checked by
    ``kimdb.orgs.service.create_organisation``."""

    name = StringField(_l("Name der Organisation"), render_kw={"autocomplete": "off"})
    kind = SelectField(
        _l("Art der Organisation"),
        choices=enum_choices(ORGANISATION_KIND),
        validate_choice=False,
    )


class TeamForm(FlaskForm):
    """The name of a new or renamed team. Checked by ``kimdb.orgs.service``."""

    name = StringField(_l("Name des Teams"), render_kw={"autocomplete": "off"})


class DeleteTeamForm(FlaskForm):
    """Delete a team: a button, protected by the CSRF token."""
