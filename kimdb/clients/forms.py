"""The registration form: consent and personal data in one form (R1)."""

from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from kimdb import labels
from kimdb.forms import CheckboxListField, GermanDateField, enum_choices, not_before, not_in_future
from kimdb.i18n import lazy_gettext as _l


class RegistrationForm(FlaskForm):
    """Consent (form, date signed, scopes, scan) and the client's personal data.

    Choices that depend on the installation (consent forms) or the UI language (countries,
    languages) are filled in by ``fill_choices``.
    """

    consent_form = SelectField(
        _l("Einwilligungserklärung (Version und Sprache)"),
        validators=[DataRequired(_l("Bitte die unterschriebene Fassung wählen."))],
    )
    signed_on = GermanDateField(
        _l("Unterschrieben am"),
        validators=[
            DataRequired(_l("Bitte das Datum der Unterschrift angeben.")),
            not_in_future(_l("Das Datum der Unterschrift darf nicht in der Zukunft liegen.")),
            not_before(
                dt.date(2020, 1, 1), _l("Das Datum liegt vor dem Start des KIM-Programms (2020).")
            ),
        ],
    )
    processing_agreed = BooleanField(
        _l("Die Klientin / der Klient willigt in die Verarbeitung in der KIM-Datenbank ein."),
    )
    exchange_partner_ids = CheckboxListField(
        _l("Datenaustausch vereinbart mit"), coerce=int, validators=[Optional()]
    )
    exchange_partners = TextAreaField(
        _l("Weitere Stellen für den Datenaustausch (eine Stelle je Zeile)"),
        validators=[Optional(), Length(max=2000)],
    )
    scan = FileField(
        _l("Scan der unterschriebenen Einwilligung (PDF, JPEG oder PNG)"),
        validators=[FileRequired(_l("Bitte den unterschriebenen Scan hochladen."))],
        render_kw={"accept": "application/pdf,image/jpeg,image/png"},
    )

    given_name = StringField(
        _l("Vorname"),
        validators=[DataRequired(_l("Bitte den Vornamen angeben.")), Length(max=100)],
        render_kw={"autocomplete": "off"},
    )
    family_name = StringField(
        _l("Familienname"),
        validators=[DataRequired(_l("Bitte den Familiennamen angeben.")), Length(max=100)],
        render_kw={"autocomplete": "off"},
    )
    date_of_birth = GermanDateField(
        _l("Geburtsdatum"),
        validators=[
            DataRequired(_l("Bitte das Geburtsdatum angeben.")),
            not_in_future(_l("Das Geburtsdatum darf nicht in der Zukunft liegen.")),
            not_before(dt.date(1900, 1, 1), _l("Bitte ein Geburtsdatum nach 1900 angeben.")),
        ],
    )
    gender = SelectField(
        _l("Geschlecht"),
        choices=[("", _l("– bitte wählen –")), *enum_choices(labels.GENDER)],
        validators=[DataRequired(_l("Bitte das Geschlecht wählen (oder „keine Angabe“)."))],
    )
    country_of_origin = SelectField(
        _l("Herkunftsland"), validators=[DataRequired(_l("Bitte das Herkunftsland wählen."))]
    )
    languages = CheckboxListField(_l("Sprachen"), validators=[Optional()])
    residence_status = SelectField(
        _l("Aufenthaltsstatus"),
        choices=[("", _l("– bitte wählen –")), *enum_choices(labels.RESIDENCE_STATUS)],
        validators=[DataRequired(_l("Bitte den Aufenthaltsstatus wählen (oder „ungeklärt“)."))],
    )
    phone = TelField(
        _l("Telefon (freiwillig)"),
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "off"},
    )
    email = EmailField(
        _l("E-Mail (freiwillig)"),
        validators=[
            Optional(),
            Length(max=200),
            Email(_l("Bitte eine gültige E-Mail-Adresse angeben."), check_deliverability=False),
        ],
        render_kw={"autocomplete": "off"},
    )

    not_a_duplicate = BooleanField(_l("Es ist eine andere Person – trotzdem aufnehmen"))

    def keep_held_scan(self) -> None:
        """Make the scan optional: one was uploaded in an earlier round of this form and is
        held encrypted on the server (possible duplicate, issue 6 item 2)."""
        self.scan.validators = []
        self.scan.flags.required = False

    def fill_choices(self, forms, partners=()) -> None:
        """Set the choices of consent forms, partners, countries and languages (UI language)."""
        self.exchange_partner_ids.choices = [(p.id, p.name) for p in partners]
        self.consent_form.choices = [("", _l("– bitte wählen –"))] + [
            (
                f.key,
                f"{f.version} · {labels.language_name(f.language)}"
                + ("" if f.official else f" ({_l('Arbeitsübersetzung')})"),
            )
            for f in forms
        ]
        self.country_of_origin.choices = [("", _l("– bitte wählen –"))] + labels.countries()
        self.languages.choices = labels.languages()
