"""Forms of a case: open, classify, stages, closure, needs, goals, consultations."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from functools import lru_cache
from threading import Lock

from flask import current_app
from flask_babel import get_locale
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields import Field
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kimdb import labels
from kimdb.cases.models import LifeArea
from kimdb.forms import (
    GermanDateField,
    csrf_token_value,
    enum_choices,
    hidden_tag,
    not_in_future,
)
from kimdb.i18n import lazy_gettext as _l


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

    A choice field is told by its choices as ``repr`` writes them (values and labels, a lazy
    label in the request's language), its value and its ``coerce``: what WTForms' option list
    is made of. Walking that list (``iter_choices``) for the key was most of a kept field's
    cost, 7 % of the case page (issue 8, profiled: 4.7 of 42.5 ms a page under the profiler,
    with the flags' ``repr`` below).

    The flags enter as their names and values read from the Flags object itself:
    ``repr(field.flags)`` lists them through ``dir()``, two thirds of a key's cost (a key
    took 32 µs, now 9 µs; issue 8, measured on the case search form).
    """
    if field.errors or field.raw_data:
        return None
    data = field.data
    if hasattr(field, "iter_choices"):
        if callable(field.choices):
            return None
        choices = (repr(field.choices), getattr(field, "coerce", None))
    elif not isinstance(data, _PLAIN_DATA) and data != "":
        return None
    else:
        choices = None
    return (
        type(field).__name__,
        field.id,
        field.name,
        str(field.label.text),
        choices,
        repr(data),
        repr(sorted((field.render_kw or {}).items())),
        repr(sorted(vars(field.flags).items())),
        str(escape(hint)) if hint is not None else None,  # text and Markup differ
        class_,
    )


def render_field(field: Field, hint=None, class_: str = "") -> Markup:
    """Return the HTML of ``field`` as the macro ``field`` of ``templates/_macros/forms.html``
    renders it (label, hint, error, input), rendered once per distinct field and kept.

    The case page shows a dozen blank forms and a small form per row; WTForms took two thirds
    of the page's rendering time for them (issue 8 item 3, profiled). Their HTML depends only
    on what ``_memo_key`` collects (texts in the request's language, choices, the value), so
    the same HTML is reused; fields with errors, submitted input or free text are rendered
    every time. At most 4096 fields are kept (``_kept``). A ``BlankField``
    (a field of a ``BlankForm``) is rendered from its form's kept HTML.
    """
    if isinstance(field, BlankField):
        return field.form.field_html(field.name, hint, class_)
    key = _memo_key(field, hint, class_)
    if key is None:
        return _field_macro(field, hint, class_)
    return _kept(key, lambda: _field_macro(field, hint, class_))


def _field_macro(field: Field, hint=None, class_: str = "") -> Markup:
    """The macro ``field`` of ``templates/_macros/forms.html`` rendering ``field``."""
    macro = current_app.jinja_env.get_template("_macros/forms.html").module.field
    return macro(field, hint=hint, class_=class_)


def _kept(key: tuple, render):
    """Return the HTML kept under ``key``, or ``render()`` kept under it: one store, at most
    _MEMO_SIZE entries (least recently used dropped), for ``render_field`` and the case
    page's row and blank forms (``RowForms``, ``BlankForm``)."""
    with _memo_lock:
        html = _memo.get(key)
        if html is not None:
            _memo.move_to_end(key)
            return html
    html = render()
    with _memo_lock:
        _memo[key] = html
        if len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return html


# -- the case page's row forms, written out without being built (issue 8) ----------------------
#: Stand for a row's id, the request's CSRF token and a row's free text in kept HTML.
_ROW_SLOT = "\x00row\x00"
_CSRF_SLOT = "\x00csrf\x00"
_TEXT_SLOT = "\x00text\x00"
#: Stands for names in a hint rendered by ``render_field`` and kept (the client's consents),
#: put in after it (the template's ``replace``).
NAMES_SLOT = "\x00names\x00"


class RowForms:
    """The small forms of the case page's rows (a goal's status, a note's correction, …): their
    hidden fields and fields in the HTML WTForms and the ``field`` macro give for
    ``cls(prefix=f"{stem}{row_id}", formdata=None, **data)``, without building that form.

    A page of a busy case built a form per row (14 of its 23 forms), each with its fields and
    token, to print the same few inputs (issue 8, measured at state scale: rendering the page
    took 12.4 ms median before, 6.1 ms after, and the view 20.8 → 9.8 ms). The HTML of a
    row's field is rendered once per form, field, value, hint and language with a placeholder
    for the row id (and for the free text of a note or an outcome, so that no personal data
    is kept) and the row's values put in.
    The failed form of a POST (``failed``, ``row_id``, ``failed_form``) is rendered by WTForms,
    with what was typed and its errors.

    ``classes`` maps a row form's name to ``(form class, prefix stem)``.
    """

    def __init__(self, classes: dict, failed=None, row_id=None, failed_form=None):
        self._classes = classes
        self._failed = (failed, row_id) if row_id is not None else None
        self._failed_form = failed_form
        self._locale = str(get_locale())
        self._token = csrf_token_value()

    def hidden_tag(self, name: str, row_id: int, **data) -> Markup:
        """Return the hidden fields (token, hidden values ``data``) of row form ``name`` of row
        ``row_id``, as ``kimdb.forms.hidden_tag`` renders them."""
        if (name, row_id) == self._failed:
            return hidden_tag(self._failed_form)
        cls, stem = self._classes[name]
        html = _kept_hidden_tag(cls, f"{stem}{_ROW_SLOT}", tuple(sorted(data.items())))
        return Markup(  # noqa: S704 - kept HTML of hidden_tag; the id and token are plain
            html.replace(_ROW_SLOT, str(row_id)).replace(_CSRF_SLOT, self._token)
        )

    def field(self, name: str, row_id: int, field: str, value=None, hint=None) -> Markup:
        """Return field ``field`` of row form ``name`` of row ``row_id`` holding ``value``, as
        ``render_field`` renders it (label, ``hint``, input)."""
        if (name, row_id) == self._failed:
            return render_field(self._failed_form[field], hint=hint)
        cls, stem = self._classes[name]
        text = _is_text(cls, field)
        hint_html = None if hint is None else str(escape(hint))
        html = _row_field(cls, stem, field, None if text else value, hint_html, text, self._locale)
        html = html.replace(_ROW_SLOT, str(row_id))
        if text:  # WTForms writes str(data), or nothing for None, escaped
            html = html.replace(_TEXT_SLOT, escape("" if value is None else str(value)))
        return Markup(html)  # noqa: S704 - kept macro HTML; the text put in is escaped


@lru_cache(maxsize=64)
def _is_text(cls, field: str) -> bool:
    """Whether field ``field`` of form class ``cls`` holds free text (a string or text area)."""
    return issubclass(getattr(cls, field).field_class, StringField)


def _kept_hidden_tag(cls, prefix: str, data: tuple) -> str:
    """The hidden fields of ``cls(prefix=prefix, formdata=None, **dict(data))`` (``data``:
    sorted pairs), with a slot for the token (and ``_ROW_SLOT`` where ``prefix`` has it)."""

    def render():
        form = cls(prefix=prefix, formdata=None, **dict(data))
        for item in form:
            if isinstance(item, CSRFTokenField):
                item.current_token = _CSRF_SLOT
        return str(hidden_tag(form))

    return _kept(("hidden", cls, prefix, data), render)


def _row_field(cls, stem, field, value, hint_html, text: bool, locale: str) -> str:
    """The HTML of ``render_field`` for field ``field`` of ``cls`` holding ``value`` (or a
    slot for free text), with ``_ROW_SLOT`` for the row id; ``locale``: a key (the labels are
    rendered in the request's language, which is ``locale``)."""

    def render():
        data = {field: _TEXT_SLOT if text else value}
        form = cls(prefix=f"{stem}{_ROW_SLOT}", formdata=None, **data)
        hint = None if hint_html is None else Markup(hint_html)  # noqa: S704 - escaped
        return str(_field_macro(form[field], hint))

    return _kept(("field", cls, stem, field, value, hint_html, text, locale), render)


class BlankForm:
    """A blank form of the case page (a need, a goal, a consultation, …) as
    ``cls(prefix=prefix, formdata=None)`` with ``prepare(form)`` (its choices) and then
    ``data`` (field name → value) would be, built only when something needs more than the
    kept HTML of its fields (``render_field``) and hidden fields (``page_hidden_tag``).

    Every open case shows nine such forms; building them for their kept HTML was 1.4 of 8 ms
    of the case page's view (issue 8, measured). The HTML of a field is kept per form class,
    prefix, field, value, ``choices_key`` (what ``prepare`` fills in: the next stages, the
    partner directory; hashable), hint, class and language; the form is built (``form``) to
    render what is not kept yet.
    """

    def __init__(self, cls, prefix: str, data=None, prepare=None, choices_key=()):
        self._cls = cls
        self._prefix = prefix
        self._data = data or {}
        self._prepare = prepare
        self._choices_key = choices_key
        self._locale = str(get_locale())
        self._form = None

    @property
    def form(self):
        """The form itself, built at the first use."""
        if self._form is None:
            form = self._cls(prefix=self._prefix, formdata=None)
            if self._prepare is not None:
                self._prepare(form)
            for name, value in self._data.items():
                form[name].data = value
            self._form = form
        return self._form

    def __getattr__(self, name: str) -> BlankField:
        """The field ``name`` of the form (for ``render_field``)."""
        if name.startswith("_") or not isinstance(getattr(self._cls, name, None), UnboundField):
            raise AttributeError(name)
        return BlankField(self, name)

    def field_html(self, name: str, hint, class_: str) -> Markup:
        """The HTML ``render_field`` gives for field ``name`` of the built form."""
        hint_html = None if hint is None else str(escape(hint))
        key = (
            "blank",
            self._cls,
            self._prefix,
            name,
            repr(self._data.get(name)),
            self._choices_key,
            hint_html,
            class_,
            self._locale,
        )

        def render():
            kept_hint = None if hint_html is None else Markup(hint_html)  # noqa: S704 - escaped
            return str(_field_macro(self.form[name], kept_hint, class_))

        return Markup(_kept(key, render))  # noqa: S704 - the macro's HTML, kept

    def hidden_html(self) -> Markup:
        """The hidden fields (the token) of the built form, as ``hidden_tag`` renders them."""
        html = _kept_hidden_tag(self._cls, self._prefix, ())
        return Markup(html.replace(_CSRF_SLOT, csrf_token_value()))  # noqa: S704 - kept, token plain


class BlankField:
    """Field ``name`` of a ``BlankForm``, as ``render_field`` takes it."""

    def __init__(self, form: BlankForm, name: str):
        self.form = form
        self.name = name


def built(form):
    """The WTForms form of a ``BlankForm`` (built now), or ``form`` itself (a failed form)."""
    return form.form if isinstance(form, BlankForm) else form


def page_hidden_tag(form) -> Markup:
    """The hidden fields of a case page's form: a ``BlankForm``'s kept, another's
    (a failed form) by ``kimdb.forms.hidden_tag``."""
    if isinstance(form, BlankForm):
        return form.hidden_html()
    return hidden_tag(form)
