"""What the forms of every domain share: field types and validators."""

from __future__ import annotations

import datetime as dt

from flask import g
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from wtforms import DateField, SelectMultipleField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from kimdb.i18n import lazy_gettext as _l
from kimdb.timeutil import today


class GermanDateField(DateField):
    """An HTML date input whose parse error is a German sentence.

    Accepts the ISO value a date picker sends and, typed by hand where no picker is shown,
    the German form ``TT.MM.JJJJ``.
    """

    def __init__(self, label=None, validators=None, format=("%Y-%m-%d", "%d.%m.%Y"), **kwargs):
        super().__init__(label, validators, format=list(format), **kwargs)

    def process_formdata(self, valuelist):  # noqa: D102 - WTForms hook
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Bitte ein gültiges Datum angeben (TT.MM.JJJJ).")) from exc


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def not_in_future(message=None):
    """Validator: the date must not lie after today (Europe/Berlin)."""

    def check(form, field):
        if field.data and field.data > today():
            raise ValidationError(message or _l("Das Datum darf nicht in der Zukunft liegen."))

    return check


def not_before(earliest: dt.date, message):
    """Validator: the date must not lie before ``earliest``."""

    def check(form, field):
        if field.data and field.data < earliest:
            raise ValidationError(message)

    return check


def enum_choices(labels: dict) -> list[tuple[str, str]]:
    """Return (value, label) pairs of an enum's label mapping, in the mapping's order."""
    return [(member.value, label) for member, label in labels.items()]


def escape_attribute(value) -> str:
    """Return an attribute value as WTForms' ``html_params`` writes it (escaped, quotes as
    &quot;)."""
    return escape(value).replace('"', "&quot;")


_CSRF_IN_G = "kimdb_csrf_value"  # flask.g: the request's CSRF token, escaped


def csrf_token_value() -> str:
    """Return the request's CSRF token as an attribute value holds it (``escape_attribute``),
    looked up once a request: ``generate_csrf`` reads the configuration and the session at
    every call, and a case page puts the token into about 25 kept forms (issue 8)."""
    token = g.get(_CSRF_IN_G)
    if token is None:
        token = str(escape_attribute(generate_csrf()))
        setattr(g, _CSRF_IN_G, token)
    return token


def hidden_tag(form) -> Markup:
    """Return the hidden fields of ``form`` (its CSRF token, hidden inputs) exactly as
    Flask-WTF's ``form.hidden_tag()`` renders them, without WTForms' widget machinery.

    The case page has a small form per row, each with its token: rendering them through
    WTForms (sorted attributes, ``Markup.format``, ``dir()`` of the field's flags) was a sixth
    of the page's time (issue 8, profiled: 23 calls, 17 of 107 ms under the profiler). A field
    with flags (``disabled``) is left to WTForms.
    """
    html = []
    for field in form:
        if not isinstance(field.widget, HiddenInput):
            continue
        if field.flags.disabled:
            html.append(str(field))
            continue
        field_id, name = escape_attribute(field.id), escape_attribute(field.name)
        html.append(
            f'<input id="{field_id}" name="{name}" type="hidden" '
            f'value="{escape_attribute(field._value())}">'
        )
    return Markup("\n".join(html))  # noqa: S704 - every value above is escaped
