"""Forms of a case: open, classify, stages, closure, needs, goals, consultations."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from threading import Lock

from flask import current_app
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import Field
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kimdb import labels
from kimdb.cases.models import LifeArea
from kimdb.forms import GermanDateField, enum_choices, not_in_future
from kimdb.labels import lazy_gettext as _l


class OpenCaseForm(FlaskForm):
    """Open a case: the case manager classifies it as CM or KB (R3, FAQ Q32)."""

    kind = RadioField(
        _l("Einstufung"),
        choices=enum_choices(labels.CASE_KIND),
        validators=[InputRequired(_l("Bitte Case Management oder Kurzberatung wählen."))],
    )


class ReclassifyForm(FlaskForm):
    """Change the classification, with a reason (R3)."""

    kind = RadioField(
        _l("Neue Einstufung"),
        choices=enum_choices(labels.CASE_KIND),
        validators=[InputRequired(_l("Bitte die neue Einstufung wählen."))],
    )
    reason = TextAreaField(
        _l("Begründung"),
        validators=[
            DataRequired(_l("Bitte begründen Sie die Änderung der Einstufung.")),
            Length(max=1000),
        ],
    )


class StageForm(FlaskForm):
    """Move to another stage; the choices are what the rules offer from the current stage."""

    target = SelectField(
        _l("Nächste Phase"), validators=[DataRequired(_l("Bitte eine Phase wählen."))]
    )


class CloseForm(FlaskForm):
    """Close the case: date and reason (R3, R4)."""

    closed_on = GermanDateField(
        _l("Abgeschlossen am"),
        validators=[DataRequired(_l("Bitte ein Abschlussdatum angeben."))],
    )
    reason = SelectField(
        _l("Abschlussgrund"),
        choices=[("", _l("– bitte wählen –")), *enum_choices(labels.CLOSURE_REASON)],
        validators=[DataRequired(_l("Bitte einen Abschlussgrund wählen."))],
    )
    reason_text = TextAreaField(_l("Erläuterung"), validators=[Optional(), Length(max=1000)])


class NeedForm(FlaskForm):
    """A need in a life area (R3: at most two in focus in a Kurzberatung)."""

    life_area = SelectField(
        _l("Handlungsfeld"),
        choices=[("", _l("– bitte wählen –")), *enum_choices(labels.LIFE_AREA)],
        validators=[DataRequired(_l("Bitte ein Handlungsfeld wählen."))],
    )
    legal_domain = SelectField(
        _l("Rechtskreis (optional)"),
        choices=[("", _l("– keiner –")), *enum_choices(labels.LEGAL_DOMAIN)],
        validators=[Optional()],
    )
    description = TextAreaField(
        _l("Kurzbeschreibung"),
        validators=[DataRequired(_l("Bitte den Bedarf kurz beschreiben.")), Length(max=1000)],
    )
    in_focus = BooleanField(_l("Im Fokus"))


class GoalForm(FlaskForm):
    """A goal of the plan; agreed when a date of agreement is given (R4)."""

    text = TextAreaField(
        _l("Ziel"),
        validators=[DataRequired(_l("Bitte das Ziel beschreiben.")), Length(max=1000)],
    )
    responsible = SelectField(
        _l("Verantwortlich"), choices=enum_choices(labels.GOAL_RESPONSIBLE), default="client"
    )
    due_on = GermanDateField(_l("Zu erreichen bis (optional)"), validators=[Optional()])
    agreed_on = GermanDateField(
        _l("Vereinbart am"),
        validators=[
            Optional(),
            not_in_future(_l("Das Vereinbarungsdatum darf nicht in der Zukunft liegen.")),
        ],
    )


class ConsultationForm(FlaskForm):
    """A consultation: day held, minutes, mode, interpreter (R6: entered the same day)."""

    held_on = GermanDateField(
        _l("Datum des Gesprächs"),
        validators=[
            DataRequired(_l("Bitte das Datum des Gesprächs angeben.")),
            not_in_future(_l("Ein Gespräch kann nicht in der Zukunft stattgefunden haben.")),
        ],
    )
    duration_minutes = IntegerField(
        _l("Dauer in Minuten"),
        validators=[
            InputRequired(_l("Bitte die Dauer in Minuten angeben.")),
            NumberRange(1, 600, _l("Die Dauer muss zwischen 1 und 600 Minuten liegen.")),
        ],
        render_kw={"inputmode": "numeric", "min": 1, "max": 600},
    )
    mode = SelectField(_l("Form"), choices=enum_choices(labels.CONSULTATION_MODE))
    interpreter_language = SelectField(_l("Sprachmittlung (Dolmetschen)"), validators=[Optional()])
    summary = TextAreaField(_l("Kurzvermerk (optional)"), validators=[Optional(), Length(max=4000)])

    def fill_choices(self) -> None:
        """Fill the interpreter languages in the UI language."""
        self.interpreter_language.choices = [("", _l("ohne Sprachmittlung")), *labels.languages()]


class GoalUpdateForm(FlaskForm):
    """Update one goal: its status, and the agreement date if it is not yet agreed."""

    status = SelectField(_l("Stand"), choices=enum_choices(labels.GOAL_STATUS))
    agreed_on = GermanDateField(
        _l("Vereinbart am"),
        validators=[
            Optional(),
            not_in_future(_l("Das Vereinbarungsdatum darf nicht in der Zukunft liegen.")),
        ],
    )


class NeedFocusForm(FlaskForm):
    """Put a need into focus or take it out (R3)."""

    in_focus = HiddenField()


class ReopenForm(FlaskForm):
    """Reopen a closed case within KIMDB_REOPEN_DAYS, with a reason."""

    reason = TextAreaField(
        _l("Grund der Wiedereröffnung"),
        validators=[DataRequired(_l("Bitte begründen Sie die Wiedereröffnung.")), Length(max=1000)],
    )


class FollowUpForm(FlaskForm):
    """A follow-up (Wiedervorlage): due date and short text."""

    due_on = GermanDateField(
        _l("Fällig am"), validators=[DataRequired(_l("Bitte ein Fälligkeitsdatum angeben."))]
    )
    text = StringField(
        _l("Worum geht es?"),
        validators=[DataRequired(_l("Bitte kurz beschreiben, worum es geht.")), Length(max=300)],
    )


class DoneForm(FlaskForm):
    """Mark a follow-up as done (a button with CSRF token)."""


class ReferralForm(FlaskForm):
    """A referral to a partner of the directory (Linking)."""

    partner_id = SelectField(
        _l("Stelle / Angebot"),
        coerce=int,
        validators=[DataRequired(_l("Bitte eine Stelle aus dem Verzeichnis wählen."))],
    )
    referred_on = GermanDateField(
        _l("Datum"), validators=[DataRequired(_l("Bitte das Datum der Vermittlung angeben."))]
    )
    purpose = TextAreaField(
        _l("Zweck"),
        validators=[DataRequired(_l("Bitte den Zweck der Vermittlung angeben.")), Length(max=1000)],
    )
    passes_data = BooleanField(_l("Daten der Person werden an die Stelle weitergegeben"))

    def fill_choices(self, partners) -> None:
        """Offer the organisation's partner directory."""
        self.partner_id.choices = [(0, _l("– bitte wählen –"))] + [
            (
                p.id,
                p.name
                + (
                    f" ({labels.LEGAL_DOMAIN_SHORT.get(p.legal_domain, '')})"
                    if p.legal_domain
                    else ""
                ),
            )
            for p in partners
        ]


class ReferralUpdateForm(FlaskForm):
    """Status and outcome of a referral."""

    status = SelectField(_l("Stand"), choices=enum_choices(labels.REFERRAL_STATUS))
    outcome = StringField(_l("Ergebnis"), validators=[Optional(), Length(max=1000)])


class MonitoringForm(FlaskForm):
    """A monitoring entry."""

    entry_on = GermanDateField(
        _l("Datum"), validators=[DataRequired(_l("Bitte ein Datum angeben."))]
    )
    text = TextAreaField(
        _l("Beobachtung"),
        validators=[DataRequired(_l("Bitte die Beobachtung beschreiben.")), Length(max=4000)],
    )


class NoteForm(FlaskForm):
    """A note (Vermerk): type, date, text."""

    kind = SelectField(
        _l("Art des Vermerks"), choices=enum_choices(labels.NOTE_KIND), default="consultation"
    )
    noted_on = GermanDateField(
        _l("Datum"), validators=[DataRequired(_l("Bitte ein Datum angeben."))]
    )
    text = TextAreaField(
        _l("Vermerk"),
        validators=[DataRequired(_l("Bitte den Vermerk schreiben.")), Length(max=8000)],
    )


class NoteCorrectionForm(FlaskForm):
    """A correction of a note: the new text; the old version stays visible."""

    text = TextAreaField(
        _l("Korrigierter Text"),
        validators=[DataRequired(_l("Bitte den korrigierten Text schreiben.")), Length(max=8000)],
    )


class OptionalSelectField(SelectField):
    """A choice of an optional filter: checked against its choices only when the request
    sent one.

    A SelectField checks the choice even when none was sent (its data is then None, which
    is no choice) and raises "Keine gültige Auswahl", which ``Optional()`` then takes back:
    three exceptions per search whose link names only some filters (the case list's
    ``?include_closed=y``, a search by ``?name=``), and the first one loaded WTForms' own
    translations from disk, about 0.2 ms of such a request (issue 8, profiled). The errors
    a request sees are the same: none without a choice, the same message for a wrong one.
    """

    def pre_validate(self, form):  # noqa: D102 - WTForms hook
        if self.raw_data:
            super().pre_validate(form)


class CaseSearchForm(FlaskForm):
    """Find own cases by number, name and date of birth; filter by kind, stage and flag."""

    class Meta:
        csrf = False  # a GET search changes nothing

    number = StringField(_l("Fallnummer"), validators=[Optional(), Length(max=20)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    date_of_birth = GermanDateField(_l("Geburtsdatum"), validators=[Optional()])
    kind = OptionalSelectField(
        _l("Art"),
        choices=[("", _l("alle")), *enum_choices(labels.CASE_KIND)],
        validators=[Optional()],
    )
    stage = OptionalSelectField(
        _l("Phase"),
        choices=[("", _l("alle")), *enum_choices(labels.STAGE)],
        validators=[Optional()],
    )
    flag = OptionalSelectField(
        _l("Hinweis"),
        choices=[("", _l("keiner")), *enum_choices(labels.CASE_FLAG)],
        validators=[Optional()],
    )
    include_closed = BooleanField(_l("auch abgeschlossene Fälle"))


class AssessmentForm(FlaskForm):
    """The structured assessment: situation and resources for each life area (Q32).

    Fields are named ``<life_area>_situation`` and ``<life_area>_resources``.
    """

    def area_fields(self):
        """Yield (life area, situation field, resources field) in the order of LifeArea."""
        for area in LifeArea:
            yield area, self[f"{area.value}_situation"], self[f"{area.value}_resources"]


for _area in LifeArea:
    setattr(
        AssessmentForm,
        f"{_area.value}_situation",
        TextAreaField(_l("Situation"), validators=[Optional(), Length(max=4000)]),
    )
    setattr(
        AssessmentForm,
        f"{_area.value}_resources",
        TextAreaField(_l("Ressourcen"), validators=[Optional(), Length(max=4000)]),
    )


# -- rendering the case page's fields once (issue 8 item 3) ------------------------------------
_MEMO_SIZE = 4096
_memo: OrderedDict[tuple, Markup] = OrderedDict()
_memo_lock = Lock()
_PLAIN_DATA = (type(None), bool, int, dt.date)  # values a memo key may hold (no free text)


def _memo_key(field: Field, hint, class_: str) -> tuple | None:
    """Return what the HTML of ``field`` rendered by the ``field`` macro depends on, or None if
    it must not be kept: a field with errors or submitted input, or holding free text (a
    note's text is personal data and stays out of any cache).

    The flags enter as their names and values read from the Flags object itself:
    ``repr(field.flags)`` lists them through ``dir()``, two thirds of a key's cost (a key
    took 32 µs, now 9 µs; issue 8, measured on the case search form).
    """
    if field.errors or field.raw_data:
        return None
    data = field.data
    choices = None
    if hasattr(field, "iter_choices"):
        choices = tuple(
            (str(value), str(label), bool(selected), repr(kw))
            for value, label, selected, kw in field.iter_choices()
        )
    elif not isinstance(data, _PLAIN_DATA) and data != "":
        return None
    return (
        type(field).__name__,
        field.id,
        field.name,
        str(field.label.text),
        choices if choices is not None else repr(data),
        repr(sorted((field.render_kw or {}).items())),
        repr(sorted(vars(field.flags).items())),
        str(hint) if hint is not None else None,
        class_,
    )


def render_field(field: Field, hint=None, class_: str = "") -> Markup:
    """Return the HTML of ``field`` as the macro ``field`` of ``templates/_macros/forms.html``
    renders it (label, hint, error, input), rendered once per distinct field and kept.

    The case page shows a dozen blank forms and a small form per row; WTForms took two thirds
    of the page's rendering time for them (issue 8 item 3, profiled). Their HTML depends only
    on what ``_memo_key`` collects (texts in the request's language, choices, the value), so
    the same HTML is reused; fields with errors, submitted input or free text are rendered
    every time. At most 4096 fields are kept (least recently used dropped).
    """
    key = _memo_key(field, hint, class_)
    if key is not None:
        with _memo_lock:
            html = _memo.get(key)
            if html is not None:
                _memo.move_to_end(key)
                return html
    macro = current_app.jinja_env.get_template("_macros/forms.html").module.field
    html = macro(field, hint=hint, class_=class_)
    if key is not None:
        with _memo_lock:
            _memo[key] = html
            if len(_memo) > _MEMO_SIZE:
                _memo.popitem(last=False)
    return html
