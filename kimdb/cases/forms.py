"""Forms of a case: open, classify, stages, closure, needs, goals, consultations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kimdb import labels
from kimdb.forms import GermanDateField, enum_choices, not_in_future


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
