"""The case pages and their forms. Each POST parses one form, calls one use case, and either
redirects (PRG) or shows the page again with the form's errors and what was typed (422)."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup, escape

from kimdb import labels
from kimdb.audit import views as audit_views
from kimdb.auth.models import Role
from kimdb.cases import casework, queries, rules, service
from kimdb.cases.forms import (
    NAMES_SLOT,
    AssessmentForm,
    BlankForm,
    CaseSearchForm,
    CloseForm,
    ConsultationForm,
    DoneForm,
    FollowUpForm,
    GoalForm,
    GoalUpdateForm,
    MonitoringForm,
    NeedFocusForm,
    NeedForm,
    NoteCorrectionForm,
    NoteForm,
    OpenCaseForm,
    ReclassifyForm,
    ReferralForm,
    ReferralUpdateForm,
    ReopenForm,
    RowForms,
    StageForm,
    page_hidden_tag,
    render_field,
)
from kimdb.cases.models import (
    Case,
    ConsultationMode,
    GoalResponsible,
    GoalStatus,
    LegalDomain,
    LifeArea,
    NoteKind,
    ReferralStatus,
)
from kimdb.cases.rules import CaseFlag, CaseKind, ClosureReason, FollowUpState, Stage
from kimdb.clients import service as clients_service
from kimdb.clients import views as clients_views
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs.service import partners_of
from kimdb.rules import RuleViolation
from kimdb.timeutil import today
from kimdb.views import Memo, attach_error, role_required, url_builder

bp = Blueprint("cases", __name__, url_prefix="/cases")
case_manager_only = role_required(Role.CASE_MANAGER)

# The forms of the case page; the key is also the form's prefix and the page anchor.
FORMS = {
    "stage": StageForm,
    "close": CloseForm,
    "reopen": ReopenForm,
    "reclassify": ReclassifyForm,
    "need": NeedForm,
    "goal": GoalForm,
    "consultation": ConsultationForm,
    "referral": ReferralForm,
    "monitoring": MonitoringForm,
    "note": NoteForm,
    "follow_up": FollowUpForm,
}
# Small forms shown once per row: (form class, prefix stem, section anchor).
ROW_FORMS = {
    "goal_update": (GoalUpdateForm, "goal", "goal"),
    "need_focus": (NeedFocusForm, "focus", "need"),
    "referral_update": (ReferralUpdateForm, "referral", "referral"),
    "note_correction": (NoteCorrectionForm, "note", "note"),
    "follow_up_done": (DoneForm, "done", "follow_up"),
}
_ROW_CLASSES = {name: (cls, stem) for name, (cls, stem, _anchor) in ROW_FORMS.items()}
# The views of the row forms: their URLs are built with ``url_builder`` (issue 8: ~13 a page).
_ROW_ENDPOINTS = (
    "complete_follow_up",
    "need_focus",
    "update_goal",
    "update_referral",
    "correct_note",
)


def _label_table(table: dict) -> Memo:
    """A label table of ``kimdb.labels`` (member → lazy label), its labels as the template
    writes a lazy label (not escaped: its ``__html__``)."""
    return Memo(lambda member: Markup(str(table[member])))  # noqa: S704 - as __html__


# The label tables the case page shows per row (``names`` in its template).
_ROW_LABELS = (
    "CONSULTATION_MODE",
    "FOLLOW_UP_STATE",
    "GOAL_RESPONSIBLE",
    "GOAL_STATUS",
    "LEGAL_DOMAIN",
    "LIFE_AREA",
    "NOTE_KIND",
    "REFERRAL_STATUS",
    "STAGE",
)


# -- The case page's rows, built in one pass (issue 8) ----------------------------------------
# The texts of the rows, translated once a page (``CasePageRows``).
_ROW_TEXTS = {
    "done": _l("erledigt"),
    "yes": _l("ja"),
    "no": _l("nein"),
    "out_of_focus": _l("aus dem Fokus nehmen"),
    "into_focus": _l("in den Fokus"),
    "not_agreed": _l("noch nicht vereinbart"),
    "update_goal": _l("Ziel aktualisieren"),
    "verweisberatung": _l("Verweisberatung"),
    "passed_on": _l("weitergegeben"),
    "none_passed": _l("keine"),
    "update": _l("aktualisieren"),
    "on_behalf": _l("in Vertretung"),
    "entered_late": _l("nachgetragen"),
    "correct_note": _l("Vermerk korrigieren"),
    "correction_hint": _l(
        "Die bisherige Fassung bleibt sichtbar; die Korrektur wird mit Ihrem Namen und der "
        "Uhrzeit gespeichert."
    ),
    "save_correction": _l("Korrektur speichern"),
    # formatted with escaped values (Markup's %), as the template's _() formats them
    "corrected_at": _l("korrigiert am %(at)s"),
    "version_of": _l("Fassung vom %(at)s von %(by)s"),
}
_WARN_STATES = (FollowUpState.OVERDUE, FollowUpState.DUE_TODAY)


class CasePageRows:
    """The HTML of the case page's repeated rows (follow-ups, needs, goals, referrals,
    monitoring entries, consultations, notes, history), each section's rows built in one pass
    of Python instead of a loop of ``templates/cases/show.html``.

    The loops cost Jinja per row an escape and an attribute lookup per value, a filter call
    per date and a context call per row form: a case with 42 entries spent about half of its
    rendering time there (issue 8, profiled: 490 escapes, 200 context calls and 1600
    ``hasattr`` a page). Here the texts of the rows are translated once a page, the labels
    come from the page's ``names`` (``Memo``s of Markup, as the template wrote them), each date
    is formatted once, and every value from outside (free texts, names, partner names, URLs,
    error messages) is escaped with ``escape`` exactly where the template escaped it, so a
    lazy text keeps its ``__html__`` there too. The HTML is exactly what the template's loops
    rendered, whitespace included (tests/integration/test_case_page_rows.py keeps those loops
    and compares).

    ``case``: the case shown; ``names``: the page's label tables; ``rows``: its ``RowForms``;
    ``row_failed``: ``(row form name, row id)`` of a failed row form, its form
    ``failed_form`` (shown with its errors), or None.
    """

    def __init__(self, case: Case, names, rows: RowForms, row_failed=None, failed_form=None):
        self._case_id = case.id
        self._open = case.is_open
        self._names = names
        self._rows = rows
        self._row_failed = row_failed
        self._failed_form = failed_form
        self._text = {key: str(text) for key, text in _ROW_TEXTS.items()}
        self._url = {name: url_builder(f"cases.{name}") for name in _ROW_ENDPOINTS}

    def _failed(self, name: str, row_id: int) -> bool:
        """Whether row form ``name`` of row ``row_id`` is the failed one of this request."""
        return self._row_failed == (name, row_id)

    def _error_summary(self) -> str:
        """The failed row form's error summary (the macro ``error_summary``)."""
        macro = current_app.jinja_env.get_template("_macros/forms.html").module.error_summary
        return macro(self._failed_form)

    def follow_ups(self, open_follow_ups: list) -> Markup:
        """The rows of the open follow-ups: ``(FollowUpRow, FollowUpState)`` pairs."""
        text, states, url = self._text, self._names.FOLLOW_UP_STATE, self._url
        html = []
        for f, state in open_follow_ups:
            label = states[state]
            if state in _WARN_STATES:
                label = f'<span class="tag tag-warn">{label}</span>'
            action = escape(url["complete_follow_up"](case_id=self._case_id, follow_up_id=f.id))
            html.append(
                f'\n    \n    <tr class="follow-up-{state.value}">\n'
                f"      <td>{labels.format_day(f.due_on)}</td><td>{escape(f.text)}</td>\n"
                f"      <td>{label}</td>\n"
                f"      <td>\n"
                f'        <form method="post" action="{action}" class="inline">\n'
                f"          {self._rows.hidden_tag('follow_up_done', f.id)}\n"
                f'          <button type="submit" class="button small">{text["done"]}</button>\n'
                f"        </form>\n"
                f"      </td>\n"
                f"    </tr>\n    "
            )
        return Markup("".join(html))  # noqa: S704 - escaped above, value by value

    def needs(self, needs: list) -> Markup:
        """The rows of the needs (``NeedRow``), with the form that moves one into or out of
        focus on an open case."""
        text, names, url = self._text, self._names, self._url
        html = []
        for n in needs:
            domain = names.LEGAL_DOMAIN[n.legal_domain] if n.legal_domain else "–"
            form = ""
            if self._open:
                action = escape(url["need_focus"](case_id=self._case_id, need_id=n.id))
                hidden = self._rows.hidden_tag(
                    "need_focus", n.id, in_focus="" if n.in_focus else "y"
                )
                button = text["out_of_focus"] if n.in_focus else text["into_focus"]
                form = (
                    f'\n          <form method="post" action="{action}" '
                    f'class="inline row-action">\n'
                    f"            {hidden}\n"
                    f'            <button type="submit" class="link">{button}</button>\n'
                    f"          </form>\n          "
                )
            errors = ""
            if self._failed("need_focus", n.id):
                failed = self._failed_form
                errors = "".join(
                    f'<p class="field-error" role="alert">{escape(e)}</p>'
                    for e in failed.form_errors + failed.in_focus.errors
                )
            html.append(
                f"\n    \n    <tr><td>{names.LIFE_AREA[n.life_area]}</td><td>{domain}</td>\n"
                f"        <td>{escape(n.description)}</td>\n"
                f"        <td>{text['yes'] if n.in_focus else text['no']}\n"
                f"          {form}\n"
                f"          {errors}\n"
                f"        </td>\n"
                f"        <td>{labels.format_moment(n.recorded_at)}</td></tr>\n    "
            )
        return Markup("".join(html))  # noqa: S704 - escaped above, value by value

    def goals(self, goals: list) -> Markup:
        """The rows of the goals (``GoalRow``), with the form of a goal's status (and its date
        of agreement if it has none) on an open case, else its status."""
        text, names, url, rows = self._text, self._names, self._url, self._rows
        html = []
        for g in goals:
            if self._open:
                action = escape(url["update_goal"](case_id=self._case_id, goal_id=g.id))
                summary = self._error_summary() if self._failed("goal_update", g.id) else ""
                agreed = "" if g.agreed_on else rows.field("goal_update", g.id, "agreed_on")
                cell = (
                    f'\n          <form method="post" action="{action}" class="row-form" '
                    f"novalidate>\n"
                    f"            {rows.hidden_tag('goal_update', g.id)}\n"
                    f"            {summary}\n"
                    f"            {rows.field('goal_update', g.id, 'status', g.status.value)}\n"
                    f"            {agreed}\n"
                    f'            <button type="submit" class="button small">'
                    f"{text['update_goal']}</button>\n"
                    f"          </form>\n          "
                )
            else:
                cell = names.GOAL_STATUS[g.status]
            html.append(
                f"\n    \n    <tr><td>{escape(g.text)}</td>"
                f"<td>{names.GOAL_RESPONSIBLE[g.responsible]}</td>\n"
                f"        <td>{labels.format_day(g.agreed_on) or text['not_agreed']}</td>"
                f"<td>{labels.format_day(g.due_on) or '–'}</td>\n"
                f"        <td>\n          {cell}\n        </td></tr>\n    "
            )
        return Markup("".join(html))  # noqa: S704 - escaped above, value by value

    def referrals(self, referrals: list) -> Markup:
        """The rows of the referrals (``ReferralRow``), with the form of a referral's status
        and outcome on an open case, else both."""
        text, names, url, rows = self._text, self._names, self._url, self._rows
        html = []
        for r in referrals:
            tag = (
                f' <span class="tag">{text["verweisberatung"]}</span>' if r.verweisberatung else ""
            )
            if self._open:
                action = escape(url["update_referral"](case_id=self._case_id, referral_id=r.id))
                summary = self._error_summary() if self._failed("referral_update", r.id) else ""
                cell = (
                    f'\n          <form method="post" action="{action}" class="row-form" '
                    f"novalidate>\n"
                    f"            {rows.hidden_tag('referral_update', r.id)}\n"
                    f"            {summary}\n"
                    f"            {rows.field('referral_update', r.id, 'status', r.status.value)}"
                    f"{rows.field('referral_update', r.id, 'outcome', r.outcome)}\n"
                    f'            <button type="submit" class="button small">'
                    f"{text['update']}</button>\n"
                    f"          </form>\n          "
                )
            else:
                outcome = f" – {escape(r.outcome)}" if r.outcome else ""
                cell = f"{names.REFERRAL_STATUS[r.status]}{outcome}"
            html.append(
                f"\n    \n    <tr><td>{labels.format_day(r.referred_on)}</td>\n"
                f"        <td>{escape(r.partner_name)}{tag}</td>\n"
                f"        <td>{escape(r.purpose)}</td>\n"
                f"        <td>{text['passed_on'] if r.passes_data else text['none_passed']}</td>\n"
                f"        <td>\n          {cell}\n        </td></tr>\n    "
            )
        return Markup("".join(html))  # noqa: S704 - escaped above, value by value

    def monitoring(self, entries: list) -> Markup:
        """The items of the monitoring entries (``MonitoringRow``)."""
        on_behalf = f", {self._text['on_behalf']}"
        return Markup(  # noqa: S704 - escaped here, value by value
            "".join(
                f"<li><strong>{labels.format_day(m.entry_on)}</strong> · {escape(m.text)} "
                f'<span class="hint">({escape(m.recorded_by_name)}'
                f"{on_behalf if m.on_behalf_of_id else ''})</span></li>"
                for m in entries
            )
        )

    def consultations(self, consultations: list) -> Markup:
        """The rows of the consultations (``ConsultationRow``): day, minutes, mode,
        interpreted language, when entered and how many days late (R6)."""
        modes = self._names.CONSULTATION_MODE
        languages = Memo(lambda code: escape(labels.language_name(code)))
        late = f' <span class="tag tag-warn">{self._text["entered_late"]}</span>'
        html = []
        for c in consultations:
            lag = c.entry_lag_days
            language = languages[c.interpreter_language] if c.interpreter_language else "–"
            html.append(
                f"\n    <tr><td>{labels.format_day(c.held_on)}</td>"
                f'<td class="num">{c.duration_minutes}</td><td>{modes[c.mode]}</td>\n'
                f"        <td>{language}</td>\n"
                f"        <td>{labels.format_moment(c.entered_at)}</td>\n"
                f'        <td class="num">{lag}{late if lag > 0 else ""}</td></tr>\n    '
            )
        return Markup("".join(html))  # noqa: S704 - escaped above, value by value

    def notes(self, notes: list) -> Markup:
        """The notes: ``(latest version, NoteThread)`` pairs, each with its earlier versions
        and the form of its correction."""
        text, kinds, rows = self._text, self._names.NOTE_KIND, self._rows
        on_behalf = f" ({text['on_behalf']})"
        hint = Markup(text["correction_hint"])  # noqa: S704 - our catalog, as the template's _()
        html = []
        for n, thread in notes:
            corrected = versions = ""
            if thread.earlier:
                at = labels.format_moment(n.written_at)
                corrected = f'<span class="tag">{Markup(text["corrected_at"]) % {"at": at}}</span>'  # noqa: S704
                count = len(thread.earlier)
                summary = labels.ngettext(
                    "%(num)s frühere Fassung", "%(num)s frühere Fassungen", count
                )
                versions = "".join(
                    f'\n      <div class="note-version"><p class="hint">'
                    f"{self._version_of(old)}</p>"
                    f'<p class="note-text">{escape(old.text)}</p></div>\n      '
                    for old in thread.earlier
                )
                versions = (
                    f'\n    <details class="versions">\n      <summary>{summary}</summary>\n'
                    f"      {versions}\n    </details>\n    "
                )
            failed = self._failed("note_correction", n.id)
            action = escape(self._url["correct_note"](case_id=self._case_id, note_id=n.id))
            html.append(
                f'\n  \n  \n  <article class="note" data-testid="note">\n'
                f"    <header><strong>{labels.format_day(n.noted_on)}</strong> · {kinds[n.kind]}"
                f" · {escape(n.written_by_name)}{on_behalf if n.on_behalf_of_id else ''}\n"
                f"      {corrected}</header>\n"
                f'    <p class="note-text">{escape(n.text)}</p>\n'
                f"    {versions}\n"
                f'    <details class="add"{" open" if failed else ""}>\n'
                f"      <summary>{text['correct_note']}</summary>\n"
                f"      {self._error_summary() if failed else ''}\n"
                f'      <form method="post" action="{action}" novalidate>\n'
                f"        {rows.hidden_tag('note_correction', n.id)}\n"
                f"        {rows.field('note_correction', n.id, 'text', n.text, hint=hint)}\n"
                f'        <button type="submit" class="button">{text["save_correction"]}</button>\n'
                f"      </form>\n"
                f"    </details>\n"
                f"  </article>\n  "
            )
        return Markup("".join(html))  # noqa: S704 - escaped above, value by value

    def _version_of(self, old) -> Markup:
        """'Fassung vom … von …' of an earlier version of a note, its values escaped."""
        at = labels.format_moment(old.written_at)
        return Markup(self._text["version_of"]) % {"at": at, "by": old.written_by_name}  # noqa: S704

    def history(self, items: list) -> Markup:
        """The rows of the case's history (``service.HistoryItem``). Its texts are lazy texts
        written through their ``__html__``, as the template wrote them."""
        html = []
        for item in items:
            reason = f" ({escape(item.reason)})" if item.is_stage and item.reason else ""
            html.append(
                f"\n    <tr><td>{labels.format_moment(item.at)}</td>"
                f"<td>{escape(item.text)}{reason}</td><td>{escape(item.by)}</td></tr>\n    "
            )
        return Markup("".join(html))  # noqa: S704 - escaped above, value by value


def _load(case_id: int, **parts) -> Case:
    """Return case ``case_id`` for the logged-in user (``service.get_case`` with ``parts``),
    or answer 404."""
    case = service.get_case(current_user, case_id, **parts) or abort(404)
    audit_views.case_loaded(case)  # the request's audit entry needs no query of the case
    return case


def _prepare(name: str, form, case: Case, partners=None) -> None:
    """Fill the choices a form needs (stages, languages, partners); ``partners``: the
    organisation's partner directory if the caller has it (``CaseRecord.partners``)."""
    if name == "stage":
        form.target.choices = [
            (s.value, labels.STAGE[s]) for s in rules.next_stages(case.kind, case.stage)
        ]
    elif name == "consultation":
        form.fill_choices()
    elif name == "referral":
        form.fill_choices(partners if partners is not None else partners_of(case.organisation_id))


# The field of today's date in the blank forms that have one.
_DATE_FIELDS = {
    "consultation": "held_on",
    "referral": "referred_on",
    "monitoring": "entry_on",
    "note": "noted_on",
}


def _forms(case: Case, failed: str | None, failed_form, partners=None) -> dict:
    """The forms the case page shows: those of an open case, or the reopening of a closed
    one, as ``BlankForm``s (built only if needed); ``failed_form`` replaces the one named
    ``failed``. ``partners``: see ``_prepare``."""
    forms = {}
    day = today()
    for name, cls in FORMS.items():
        if (name == "reopen") is case.is_open:  # not shown (issue 8: a form less to build)
            continue
        if name == failed:
            forms[name] = failed_form
            continue
        data = {}
        choices_key = ()
        if name == "reclassify":
            data["kind"] = next(k for k in CaseKind if k is not case.kind).value
        elif name in _DATE_FIELDS:
            data[_DATE_FIELDS[name]] = day
        if name == "stage":
            choices_key = tuple(rules.next_stages(case.kind, case.stage))
        elif name == "referral":
            if partners is None:
                partners = partners_of(case.organisation_id)
            choices_key = tuple((p.id, p.name, p.legal_domain) for p in partners)
        forms[name] = BlankForm(
            cls,
            name,
            data,
            prepare=partial(_prepare, name, case=case, partners=partners),
            choices_key=choices_key,
        )
    return forms


def _onto_latest_version(notes: list, form, note_id: int):
    """Move a failed correction of an older note version onto the note's latest version, so the
    typed text and the message show where the user can correct the right version; ``notes``:
    the case's ``casework.note_threads``."""
    for thread in notes:
        if note_id in {n.id for n in thread.earlier}:
            moved = NoteCorrectionForm(
                prefix=f"note{thread.latest.id}", formdata=None, text=form.text.data
            )
            moved.form_errors = list(form.form_errors)
            return moved, thread.latest.id
    return form, note_id


def _page(case: Case, failed=None, form=None, status: int = 200, row_id: int | None = None):
    """Render the case page; a failed form (by name, and row id for row forms) is shown again.

    What the case holds comes as plain rows in one statement (``queries.case_record``), also
    after a failed form: nothing was written then. What the template would otherwise set
    itself (the stepper's position, the open follow-ups' states, the notes' latest versions)
    comes from here: a ``{% set %}`` in its block made every ``_()`` after it copy the whole
    context (Jinja's derived context; 90 a page, issue 8, profiled)."""
    record = queries.case_record(case, directory=case.is_open)
    facts = record.facts(case)
    notes = casework.note_threads(record)
    day = today()
    reopen_days = current_app.config["REOPEN_DAYS"]
    stages = rules.path(case.kind)
    next_stages = rules.next_stages(case.kind, case.stage)
    if failed == "note_correction":
        form, row_id = _onto_latest_version(notes, form, row_id)
    # Labels looked up at their first use per request (``Memo``): a lazy label translates at
    # every use; 135 lookups a page (issue 8, profiled).
    names = SimpleNamespace(**{t: _label_table(getattr(labels, t)) for t in _ROW_LABELS})
    row_failed = (failed, row_id) if row_id is not None else None
    failed_row_form = form if row_id is not None else None
    return render_template(
        "cases/show.html",
        case=case,
        record=record,
        render_field=render_field,
        hidden_tag=page_hidden_tag,
        forms=_forms(case, failed if row_id is None else None, form, record.partners),
        names=names,
        page_rows=CasePageRows(
            case,
            names,
            RowForms(_ROW_CLASSES, failed, row_id, form),
            row_failed,
            failed_row_form,
        ),
        failed=failed,
        row_failed=row_failed,
        failed_row_form=failed_row_form,
        next_stages=next_stages,
        missing={s: rules.missing_for(facts, s) for s in next_stages},
        stages=stages,
        stage_index=stages.index(case.stage) if case.stage in stages else len(stages),
        history=service.case_history(record, record.colleagues),
        notes=[(thread.latest, thread) for thread in notes],
        open_follow_ups=[
            (f, rules.follow_up_state(f.due_on, False, day))
            for f in record.follow_ups
            if f.done_at is None
        ],
        can_reopen=(
            not case.is_open
            and case.closed_on is not None
            and (day - case.closed_on).days <= reopen_days
        ),
        reopen_days=reopen_days,
        # Jinja's selectattr took 0.8 ms a page for this (issue 8, under the profiler)
        consented_partners=", ".join(e.partner_name for e in record.exchanges if e.active),
        names_slot=NAMES_SLOT,
        above_kb_limits=rules.exceeds_kb_limits(facts),
    ), status


def _handle(case_id: int, name: str, apply):
    """Validate form ``name`` of case ``case_id``, run ``apply(case, form)``, redirect or 422."""
    case = _load(case_id)
    form = FORMS[name](prefix=name)
    _prepare(name, form, case)
    if name == "stage":  # any stage parses; the rules say which one may be entered
        form.target.choices = [(s.value, labels.STAGE[s]) for s in Stage]
    if form.validate_on_submit():
        try:
            apply(case, form)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            return redirect(url_for("cases.show", case_id=case.id, _anchor=name))
    _prepare(name, form, case)
    return _page(case, name, form, 422)


def _handle_row(case_id: int, name: str, row_id: int, apply):
    """Like ``_handle`` for the small per-row forms."""
    case = _load(case_id)
    cls, stem, anchor = ROW_FORMS[name]
    form = cls(prefix=f"{stem}{row_id}")
    if form.validate_on_submit():
        try:
            apply(case, form)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            return redirect(url_for("cases.show", case_id=case.id, _anchor=anchor))
    return _page(case, name, form, 422, row_id=row_id)


# -- Lists and search -----------------------------------------------------------------------


@bp.get("/")
@case_manager_only
def index():
    """Find own cases: by case number, by name and date of birth, by kind, stage and flag."""
    form = CaseSearchForm(request.args)
    searched = bool(request.args)
    cases = []
    if searched and form.validate():
        search = queries.CaseSearch(
            number=form.number.data or "",
            name=form.name.data or "",
            date_of_birth=form.date_of_birth.data,
            kind=CaseKind(form.kind.data) if form.kind.data else None,
            stage=Stage(form.stage.data) if form.stage.data else None,
            flag=CaseFlag(form.flag.data) if form.flag.data else None,
            include_closed=form.include_closed.data,
        )
        cases = queries.search_case_rows(
            current_user, search, current_app.config["INACTIVITY_DAYS"]
        )
    status = 200 if not form.errors else 422
    return render_template(
        "cases/index.html",
        form=form,
        cases=cases,
        rows=result_rows(cases),
        searched=searched,
        render_field=render_field,
    ), status


def result_rows(cases: list[queries.CaseListRow]) -> Markup:
    """Return the HTML of the search result table's rows (``<tr>`` of number with link, name,
    date of birth, short kind, stage, last activity) of ``cases``, in their order.

    Built in one pass instead of by a loop of the template, which cost Jinja per row seven
    escapes, seven attribute lookups, two label lookups, two filter calls and a call of the
    link: 200 rows took 2.8 ms there, 1.4 ms here (issue 8, measured side by side on the
    loaded 2-core machine; what is left is the link, the name's escaping and the dates).
    Only the client's name is text from outside; the labels are escaped once per kind and
    stage, the link once per row; numbers and dates are digits. Each date is formatted once
    (the same ``labels.format_day`` as the template's ``date`` filter). The HTML is exactly
    what the loop rendered, whitespace included (tests/integration/test_case_search_page.py).
    """
    case_url = url_builder("cases.show")
    kinds = Memo(lambda kind: escape(str(labels.CASE_KIND_SHORT[kind])))
    stages = Memo(lambda stage: escape(str(labels.STAGE[stage])))
    days = Memo(labels.format_day)  # date (or None) → dd.mm.yyyy
    html = []
    for case_id, number, name, born, kind, stage, last in cases:
        kind_label, stage_label = kinds[kind], stages[stage]
        born_on, last_on = days[born], days[last]
        html.append(
            f'\n    <tr><td><a href="{escape(case_url(case_id=case_id))}">{number}</a></td>'
            f"<td>{escape(name)}</td><td>{born_on}</td>\n        <td>{kind_label}</td>"
            f"<td>{stage_label}</td><td>{last_on}</td></tr>\n    "
        )
    return Markup("".join(html))  # noqa: S704 - escaped above, cell by cell


@bp.post("/open/<id:client_id>")
@case_manager_only
def open_case(client_id: int):
    """Open a case for a client the user may see, classified CM or KB (R3)."""
    client = clients_service.get_client(current_user, client_id) or abort(404)
    form = OpenCaseForm()
    if form.validate_on_submit():
        try:
            case = service.open_case(client, CaseKind(form.kind.data), by=current_user)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("Fall %(number)s eröffnet.", number=case.number), "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return clients_views.render_client(client, open_form=form, status=422)


# -- The case page --------------------------------------------------------------------------


@bp.get("/<id:case_id>")
@case_manager_only
def show(case_id: int):
    """The case page: state, follow-ups, needs, goals, referrals, consultations, notes."""
    return _page(_load(case_id, records=False))


@bp.post("/<id:case_id>/stage")
@case_manager_only
def change_stage(case_id: int):
    """Move the case to the chosen stage if its guard allows (R4)."""
    return _handle(
        case_id,
        "stage",
        lambda case, form: service.change_stage(case, Stage(form.target.data), by=current_user),
    )


@bp.post("/<id:case_id>/close")
@case_manager_only
def close(case_id: int):
    """Close the case with date and reason (R3, R4)."""
    return _handle(
        case_id,
        "close",
        lambda case, form: service.close_case(
            case,
            form.closed_on.data,
            ClosureReason(form.reason.data),
            form.reason_text.data or "",
            by=current_user,
        ),
    )


@bp.post("/<id:case_id>/reopen")
@case_manager_only
def reopen(case_id: int):
    """Reopen a closed case within KIMDB_REOPEN_DAYS days, with a reason."""
    return _handle(
        case_id,
        "reopen",
        lambda case, form: service.reopen_case(
            case,
            form.reason.data,
            by=current_user,
            reopen_days=current_app.config["REOPEN_DAYS"],
        ),
    )


@bp.post("/<id:case_id>/classification")
@case_manager_only
def reclassify(case_id: int):
    """Change CM ↔ KB with a reason (R3)."""
    return _handle(
        case_id,
        "reclassify",
        lambda case, form: service.reclassify(
            case, CaseKind(form.kind.data), form.reason.data, by=current_user
        ),
    )


@bp.post("/<id:case_id>/needs")
@case_manager_only
def add_need(case_id: int):
    """Record a need (R3: a third focus need in KB is refused)."""
    return _handle(
        case_id,
        "need",
        lambda case, form: service.add_need(
            case,
            LifeArea(form.life_area.data),
            LegalDomain(form.legal_domain.data) if form.legal_domain.data else None,
            form.description.data,
            form.in_focus.data,
            by=current_user,
        ),
    )


@bp.post("/<id:case_id>/goals")
@case_manager_only
def add_goal(case_id: int):
    """Record a goal, agreed if it has a date of agreement."""
    return _handle(
        case_id,
        "goal",
        lambda case, form: service.add_goal(
            case,
            form.text.data,
            form.agreed_on.data,
            by=current_user,
            responsible=GoalResponsible(form.responsible.data),
            due_on=form.due_on.data,
        ),
    )


@bp.post("/<id:case_id>/consultations")
@case_manager_only
def add_consultation(case_id: int):
    """Record a consultation; kimdb notes when it was entered (R6)."""
    return _handle(
        case_id,
        "consultation",
        lambda case, form: service.record_consultation(
            case,
            form.held_on.data,
            form.duration_minutes.data,
            ConsultationMode(form.mode.data),
            form.interpreter_language.data or None,
            form.summary.data,
            by=current_user,
        ),
    )


@bp.post("/<id:case_id>/referrals")
@case_manager_only
def add_referral(case_id: int):
    """Record a referral to a partner (Linking); data go only with the consent's scope."""
    return _handle(
        case_id,
        "referral",
        lambda case, form: casework.record_referral(
            case,
            form.partner_id.data,
            form.referred_on.data,
            form.purpose.data,
            form.passes_data.data,
            by=current_user,
        ),
    )


@bp.post("/<id:case_id>/monitoring")
@case_manager_only
def add_monitoring(case_id: int):
    """Record a monitoring entry."""
    return _handle(
        case_id,
        "monitoring",
        lambda case, form: casework.record_monitoring(
            case, form.entry_on.data, form.text.data, by=current_user
        ),
    )


@bp.post("/<id:case_id>/notes")
@case_manager_only
def add_note(case_id: int):
    """Write a note (Vermerk)."""
    return _handle(
        case_id,
        "note",
        lambda case, form: casework.write_note(
            case, NoteKind(form.kind.data), form.noted_on.data, form.text.data, by=current_user
        ),
    )


@bp.post("/<id:case_id>/follow-ups")
@case_manager_only
def add_follow_up(case_id: int):
    """Set a follow-up (Wiedervorlage)."""
    return _handle(
        case_id,
        "follow_up",
        lambda case, form: casework.add_follow_up(
            case, form.due_on.data, form.text.data, by=current_user
        ),
    )


@bp.post("/<id:case_id>/goals/<id:goal_id>")
@case_manager_only
def update_goal(case_id: int, goal_id: int):
    """Set a goal's status (attainment at evaluation), and its agreement date if missing."""
    return _handle_row(
        case_id,
        "goal_update",
        goal_id,
        lambda case, form: service.update_goal(
            case, goal_id, GoalStatus(form.status.data), form.agreed_on.data, by=current_user
        ),
    )


@bp.post("/<id:case_id>/needs/<id:need_id>/focus")
@case_manager_only
def need_focus(case_id: int, need_id: int):
    """Put a need into focus or take it out (R3: at most two in a Kurzberatung)."""
    return _handle_row(
        case_id,
        "need_focus",
        need_id,
        lambda case, form: service.set_need_focus(
            case, need_id, form.in_focus.data == "y", by=current_user
        ),
    )


@bp.post("/<id:case_id>/referrals/<id:referral_id>")
@case_manager_only
def update_referral(case_id: int, referral_id: int):
    """Set a referral's status and outcome."""
    return _handle_row(
        case_id,
        "referral_update",
        referral_id,
        lambda case, form: casework.update_referral(
            case,
            referral_id,
            ReferralStatus(form.status.data),
            form.outcome.data or "",
            by=current_user,
        ),
    )


@bp.post("/<id:case_id>/notes/<id:note_id>/correction")
@case_manager_only
def correct_note(case_id: int, note_id: int):
    """Correct a note: a new version; the old one stays visible with who changed it when."""
    return _handle_row(
        case_id,
        "note_correction",
        note_id,
        lambda case, form: casework.correct_note(case, note_id, form.text.data, by=current_user),
    )


@bp.post("/<id:case_id>/follow-ups/<id:follow_up_id>/done")
@case_manager_only
def complete_follow_up(case_id: int, follow_up_id: int):
    """Mark a follow-up as done."""
    return _handle_row(
        case_id,
        "follow_up_done",
        follow_up_id,
        lambda case, form: casework.complete_follow_up(case, follow_up_id, by=current_user),
    )


# -- Assessment, plan, timeline -------------------------------------------------------------


@bp.route("/<id:case_id>/assessment", methods=["GET", "POST"])
@case_manager_only
def assessment(case_id: int):
    """The structured assessment per life area; earlier versions stay readable (?version=N)."""
    case = _load(case_id)
    current = casework.current_assessment(case)
    version = request.args.get("version", type=int)
    shown = next((a for a in case.assessments if a.version == version), None) if version else None
    if shown is not None and shown is not current:
        return render_template(
            "cases/assessment.html", case=case, shown=shown, form=None, current=current
        )
    form = AssessmentForm()
    if request.method == "GET" and current is not None:
        for area in current.areas:
            form[f"{area.life_area.value}_situation"].data = area.situation
            form[f"{area.life_area.value}_resources"].data = area.resources
    if form.validate_on_submit():
        try:
            saved = casework.save_assessment(
                case,
                {
                    area: (situation.data or "", resources.data or "")
                    for area, situation, resources in form.area_fields()
                },
                by=current_user,
            )
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("Assessment gespeichert (Fassung %(n)s).", n=saved.version), "success")
            return redirect(url_for("cases.assessment", case_id=case.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "cases/assessment.html", case=case, shown=current, form=form, current=current
    ), status


@bp.get("/<id:case_id>/plan")
@case_manager_only
def plan(case_id: int):
    """The printable goal agreement (Zielvereinbarung) for the client."""
    case = _load(case_id)
    return render_template("cases/plan.html", case=case, today=today())


@bp.get("/<id:case_id>/timeline")
@case_manager_only
def timeline(case_id: int):
    """Everything recorded in the case in date order, filterable by type, printable."""
    case = _load(case_id, records=False)
    record = queries.case_record(case, assessments=True)
    known = {t.value for t in queries.EventType}
    chosen = {queries.EventType(t) for t in request.args.getlist("type") if t in known}
    events = queries.timeline(record, chosen or None)
    event_labels = _event_labels()
    return render_template(
        "cases/timeline.html",
        case=case,
        client_name=record.client_name,
        events=events,
        rows=timeline_rows(events, event_labels),
        chosen=chosen,
        event_labels=event_labels,
    )


def _event_labels() -> dict:
    """The timeline's event type → label, translated once a page and written as the template
    wrote a lazy label (its ``__html__``, not escaped: our catalog's text)."""
    translated = labels.translated(queries.EVENT_LABELS)
    return {t: Markup(label) for t, label in translated.items()}  # noqa: S704 - our catalog


def timeline_rows(events: list[queries.TimelineEvent], event_labels: dict) -> Markup:
    """Return the HTML of the timeline's rows (``<tr>`` of day, type, title with detail, who)
    of ``events`` in their order; ``event_labels``: event type → its label as Markup.

    Built in one pass like ``result_rows`` instead of a loop of templates/cases/timeline.html,
    which cost Jinja per row five escapes, seven attribute lookups, a filter call and a lazy
    label translated again (issue 8, profiled). Title, detail and name are text from outside
    and escaped; the label is our catalog's, the day digits. The HTML is exactly what the loop
    rendered, whitespace included (tests/integration/test_case_page_rows.py).
    """
    days = Memo(labels.format_day)
    html = []
    for e in events:
        detail = f"<br>{escape(e.detail)}" if e.detail else ""
        html.append(
            f'\n  <tr class="event-{e.type.value}"><td>{days[e.day]}</td>'
            f"<td>{event_labels[e.type]}</td><td><strong>{escape(e.title)}</strong>{detail}</td>"
            f"<td>{escape(e.by)}</td></tr>\n  "
        )
    return Markup("".join(html))  # noqa: S704 - escaped above, value by value
