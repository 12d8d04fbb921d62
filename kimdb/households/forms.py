"""Forms of a household (Bedarfsgemeinschaft, FAQ KIM NRW Q33): create, add and remove members."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired

from kimdb import labels
from kimdb.households import rules
from kimdb.i18n import lazy_gettext as _l


def optional_id(value) -> int | None:
    """Coerce a submitted id to an int; None for an empty or malformed value (then required)."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class CreateHouseholdForm(FlaskForm):
    """Create a household from a client page: its label (e.g. "Familie Haddad").

    The length rule lives in ``rules.clean_label``; here only the input size is bounded.
    """

    label = StringField(
        _l("Bezeichnung der Bedarfsgemeinschaft"),
        validators=[DataRequired(_l("Bitte eine Bezeichnung angeben (z. B. „Familie Haddad“)."))],
        render_kw={"autocomplete": "off", "maxlength": rules.LABEL_MAX},
    )

    def __init__(self, *args, **kwargs) -> None:
        """Bind like any FlaskForm; the prefix keeps its ids apart from the client page's forms."""
        kwargs.setdefault("prefix", "household")
        super().__init__(*args, **kwargs)


class AddMemberForm(FlaskForm):
    """Add a member: one of the clients the case manager may link (``fill_choices``).

    The submitted id is not checked against the choices here: the service looks the client up
    (R8) and the rules say in German why a client cannot join.
    """

    client_id = SelectField(
        _l("Person"),
        coerce=optional_id,
        validate_choice=False,
        validators=[DataRequired(_l("Bitte eine Person wählen."))],
    )

    def fill_choices(self, clients) -> None:
        """Offer ``clients`` (name and date of birth) after an empty "please choose" entry."""
        self.client_id.choices = [("", _l("– bitte wählen –"))] + [
            (c.id, f"{c.full_name} ({labels.format_day(c.date_of_birth)})") for c in clients
        ]


class RemoveMemberForm(FlaskForm):
    """Take a member out of the household; the hidden id must match the member in the URL."""

    client_id = HiddenField(
        _l("Person"), validators=[DataRequired(_l("Die Person fehlt im Formular."))]
    )
