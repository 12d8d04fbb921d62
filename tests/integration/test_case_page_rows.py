"""The case page's rows, built in one pass for issue 8 (``kimdb.cases.views.CasePageRows``),
are exactly the HTML the template's loops rendered before: same links, labels, escaping of
free text and names, row forms (a failed one with its errors), and whitespace; for open and
closed cases, in German and English."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from flask import session
from werkzeug.datastructures import MultiDict

from kimdb import labels
from kimdb.cases import views
from kimdb.cases.casework import NoteThread
from kimdb.cases.forms import (
    GoalUpdateForm,
    NeedFocusForm,
    NoteCorrectionForm,
    ReferralUpdateForm,
    RowForms,
)
from kimdb.cases.models import (
    ConsultationMode,
    GoalResponsible,
    GoalStatus,
    LegalDomain,
    LifeArea,
    NoteKind,
    ReferralStatus,
)
from kimdb.cases.queries import (
    EVENT_LABELS,
    ConsultationRow,
    EventType,
    FollowUpRow,
    GoalRow,
    MonitoringRow,
    NeedRow,
    NoteRow,
    ReferralRow,
    TimelineEvent,
)
from kimdb.cases.rules import CaseKind, FollowUpState, Stage
from kimdb.cases.service import HistoryItem
from kimdb.labels import lazy_gettext as _l
from kimdb.views import Memo, url_builder

# The texts and loops of templates/cases/show.html before issue 8's change, kept as the
# reference: the rows built in one pass must be exactly what these rendered.
TEXTS = """\
{% set t = namespace(done=_("erledigt"), yes=_("ja"), no=_("nein"), out_of_focus=_("aus dem\
 Fokus nehmen"), into_focus=_("in den Fokus"), not_agreed=_("noch nicht vereinbart"),\
 update_goal=_("Ziel aktualisieren"), verweisberatung=_("Verweisberatung"),\
 passed_on=_("weitergegeben"), none_passed=_("keine"), update=_("aktualisieren"),\
 on_behalf=_("in Vertretung"), entered_late=_("nachgetragen"), correct_note=_("Vermerk\
 korrigieren"), correction_hint=_("Die bisherige Fassung bleibt sichtbar; die Korrektur\
 wird mit Ihrem Namen und der Uhrzeit gespeichert."), save_correction=_("Korrektur\
 speichern")) %}"""
LOOPS = {
    "follow_ups": """\
{% for f, state in open_follow_ups %}
    {# no set in the block: each _() would copy the context (Jinja's derived context) #}
    <tr class="follow-up-{{ state.value }}">
      <td>{{ f.due_on|date }}</td><td>{{ f.text }}</td>
      <td>{% if state.value in ('overdue', 'due_today') %}<span class="tag tag-warn">{{\
 names.FOLLOW_UP_STATE[state] }}</span>{% else %}{{ names.FOLLOW_UP_STATE[state] }}{% endif\
 %}</td>
      <td>
        <form method="post" action="{{ row_urls.complete_follow_up(case_id=case.id,\
 follow_up_id=f.id) }}" class="inline">
          {{ rows.hidden_tag('follow_up_done', f.id) }}
          <button type="submit" class="button small">{{ t.done }}</button>
        </form>
      </td>
    </tr>
    {% endfor %}""",
    "needs": """\
{% for n in record.needs %}
    {# its form: rows (RowForms), no form built per row #}
    <tr><td>{{ names.LIFE_AREA[n.life_area] }}</td><td>{{\
 names.LEGAL_DOMAIN[n.legal_domain] if n.legal_domain else '–' }}</td>
        <td>{{ n.description }}</td>
        <td>{{ t.yes if n.in_focus else t.no }}
          {% if case.is_open %}
          <form method="post" action="{{ row_urls.need_focus(case_id=case.id, need_id=n.id)\
 }}" class="inline row-action">
            {{ rows.hidden_tag('need_focus', n.id, in_focus='' if n.in_focus else 'y') }}
            <button type="submit" class="link">{{ t.out_of_focus if n.in_focus else\
 t.into_focus }}</button>
          </form>
          {% endif %}
          {% if row_failed == ('need_focus', n.id) %}{% for e in\
 failed_row_form.form_errors + failed_row_form.in_focus.errors %}<p class="field-error"\
 role="alert">{{ e }}</p>{% endfor %}{% endif %}
        </td>
        <td>{{ n.recorded_at|datetime }}</td></tr>
    {% endfor %}""",
    "goals": """\
{% for g in record.goals %}
    {# its form: rows (RowForms), no form built per row #}
    <tr><td>{{ g.text }}</td><td>{{ names.GOAL_RESPONSIBLE[g.responsible] }}</td>
        <td>{{ g.agreed_on|date or t.not_agreed }}</td><td>{{ g.due_on|date or '–' }}</td>
        <td>
          {% if case.is_open %}
          <form method="post" action="{{ row_urls.update_goal(case_id=case.id,\
 goal_id=g.id) }}" class="row-form" novalidate>
            {{ rows.hidden_tag('goal_update', g.id) }}
            {% if row_failed == ('goal_update', g.id) %}{{ error_summary(failed_row_form)\
 }}{% endif %}
            {{ rows.field('goal_update', g.id, 'status', g.status.value) }}
            {% if not g.agreed_on %}{{ rows.field('goal_update', g.id, 'agreed_on') }}{%\
 endif %}
            <button type="submit" class="button small">{{ t.update_goal }}</button>
          </form>
          {% else %}{{ names.GOAL_STATUS[g.status] }}{% endif %}
        </td></tr>
    {% endfor %}""",
    "referrals": """\
{% for r in record.referrals %}
    {# its form: rows (RowForms), no form built per row #}
    <tr><td>{{ r.referred_on|date }}</td>
        <td>{{ r.partner_name }}{% if r.verweisberatung %} <span class="tag">{{\
 t.verweisberatung }}</span>{% endif %}</td>
        <td>{{ r.purpose }}</td>
        <td>{{ t.passed_on if r.passes_data else t.none_passed }}</td>
        <td>
          {% if case.is_open %}
          <form method="post" action="{{ row_urls.update_referral(case_id=case.id,\
 referral_id=r.id) }}" class="row-form" novalidate>
            {{ rows.hidden_tag('referral_update', r.id) }}
            {% if row_failed == ('referral_update', r.id) %}{{\
 error_summary(failed_row_form) }}{% endif %}
            {{ rows.field('referral_update', r.id, 'status', r.status.value) }}{{\
 rows.field('referral_update', r.id, 'outcome', r.outcome) }}
            <button type="submit" class="button small">{{ t.update }}</button>
          </form>
          {% else %}{{ names.REFERRAL_STATUS[r.status] }}{% if r.outcome %} – {{ r.outcome\
 }}{% endif %}{% endif %}
        </td></tr>
    {% endfor %}""",
    "monitoring": """\
{% for m in record.monitoring_entries %}<li><strong>{{ m.entry_on|date }}</strong> · {{\
 m.text }} <span class="hint">({{ m.recorded_by_name }}{% if m.on_behalf_of_id %}, {{\
 t.on_behalf }}{% endif %})</span></li>{% endfor %}""",
    "consultations": """\
{% for c in record.consultations %}
    <tr><td>{{ c.held_on|date }}</td><td class="num">{{ c.duration_minutes }}</td><td>{{\
 names.CONSULTATION_MODE[c.mode] }}</td>
        <td>{{ names.language[c.interpreter_language] if c.interpreter_language else '–'\
 }}</td>
        <td>{{ c.entered_at|datetime }}</td>
        <td class="num">{{ c.entry_lag_days }}{% if c.entry_lag_days > 0 %} <span\
 class="tag tag-warn">{{ t.entered_late }}</span>{% endif %}</td></tr>
    {% endfor %}""",
    "notes": """\
{% for n, thread in notes %}
  {# n: the thread's latest version #}
  {# its correction: rows (RowForms), no form built per row #}
  <article class="note" data-testid="note">
    <header><strong>{{ n.noted_on|date }}</strong> · {{ names.NOTE_KIND[n.kind] }} · {{\
 n.written_by_name }}{% if n.on_behalf_of_id %} ({{ t.on_behalf }}){% endif %}
      {% if thread.earlier %}<span class="tag">{{ _("korrigiert am %(at)s",\
 at=n.written_at|datetime) }}</span>{% endif %}</header>
    <p class="note-text">{{ n.text }}</p>
    {% if thread.earlier %}
    <details class="versions">
      <summary>{{ ngettext("%(num)s frühere Fassung", "%(num)s frühere Fassungen",\
 thread.earlier|length) }}</summary>
      {% for old in thread.earlier %}
      <div class="note-version"><p class="hint">{{ _("Fassung vom %(at)s von %(by)s",\
 at=old.written_at|datetime, by=old.written_by_name) }}</p><p class="note-text">{{ old.text\
 }}</p></div>
      {% endfor %}
    </details>
    {% endif %}
    <details class="add"{% if row_failed == ('note_correction', n.id) %} open{% endif %}>
      <summary>{{ t.correct_note }}</summary>
      {% if row_failed == ('note_correction', n.id) %}{{ error_summary(failed_row_form)\
 }}{% endif %}
      <form method="post" action="{{ row_urls.correct_note(case_id=case.id, note_id=n.id)\
 }}" novalidate>
        {{ rows.hidden_tag('note_correction', n.id) }}
        {{ rows.field('note_correction', n.id, 'text', n.text, hint=t.correction_hint) }}
        <button type="submit" class="button">{{ t.save_correction }}</button>
      </form>
    </details>
  </article>
  {% endfor %}""",
    "history": """\
{% for item in history %}
    <tr><td>{{ item.at|datetime }}</td><td>{{ item.text }}{% if item.is_stage and\
 item.reason %} ({{ item.reason }}){% endif %}</td><td>{{ item.by }}</td></tr>
    {% endfor %}""",
}

NASTY = '<script>alert("x")</script> & O\'Brien'
AT = dt.datetime(2026, 3, 2, 22, 30, tzinfo=dt.UTC)  # the next day in Berlin


def _record() -> SimpleNamespace:
    """Rows of every kind and variant: free texts and names that need escaping, optional
    values missing and present, every status, mode and follow-up state."""
    day = dt.date(2026, 3, 2)
    needs = [
        NeedRow(1, LifeArea.HEALTH, None, NASTY, True, 5, AT),
        NeedRow(2, LifeArea.WORK, LegalDomain.SGB_II, "Arbeit", False, 5, AT),
    ]
    goals = [
        GoalRow(3, NASTY, GoalResponsible.CLIENT, status, agreed, due, 5, AT)
        for status, agreed, due in zip(
            GoalStatus, [None, day, day, None, day], [day, None, day, None, day], strict=False
        )
    ]
    referrals = [
        ReferralRow(10 + i, day, NASTY, f"Zweck {i} &", outcome, status, i % 2 == 0, i < 2, 5)
        for i, (status, outcome) in enumerate(
            zip(ReferralStatus, [None, NASTY, "", "gut"], strict=False)
        )
    ]
    monitoring = [
        MonitoringRow(20, day, NASTY, 5, "Anna <A>", None),
        MonitoringRow(21, day, "gut", 6, "Bea", 5),
    ]
    consultations = [
        ConsultationRow(30 + i, day - dt.timedelta(days=i), 45, mode, language, 5, AT)
        for i, (mode, language) in enumerate(
            zip(ConsultationMode, ["ar", None, "uk", None], strict=False)
        )
    ]
    v1 = NoteRow(40, NoteKind.CONSULTATION, day, "first <v1>", None, 5, "Anna <A>", None, AT)
    v2 = NoteRow(41, NoteKind.CONSULTATION, day, "second & v2", 40, 6, "Bea", 5, AT)
    v3 = NoteRow(42, NoteKind.CONSULTATION, day, NASTY + "\nline", 41, 5, "Anna <A>", None, AT)
    single = NoteRow(43, list(NoteKind)[-1], day, "only one", None, 6, "Bea", 5, AT)
    notes = [
        (v3, NoteThread(v3, [v2, v1])),
        (v2, NoteThread(v2, [v1])),
        (single, NoteThread(single, [])),
    ]
    follow_ups = [
        (FollowUpRow(50 + i, day, NASTY, 5, None, None), state)
        for i, state in enumerate(FollowUpState)
        if state is not FollowUpState.DONE
    ]
    history = [
        HistoryItem(
            AT,
            _l("Eingestuft als %(kind)s", kind=labels.CASE_KIND[CaseKind.SHORT_COUNSELLING]),
            "Anna <A>",
            False,
            "",
        ),
        HistoryItem(AT, _l("Phase: %(stage)s", stage=labels.STAGE[Stage.INTAKE]), "Bea", True, ""),
        HistoryItem(
            AT,
            _l(
                "Phase: %(old)s → %(new)s",
                old=labels.STAGE[Stage.INTAKE],
                new=labels.STAGE[Stage.ASSESSMENT],
            ),
            "Bea",
            True,
            NASTY,
        ),
    ]
    return SimpleNamespace(
        needs=needs,
        goals=goals,
        referrals=referrals,
        monitoring_entries=monitoring,
        consultations=consultations,
        notes=notes,
        open_follow_ups=follow_ups,
        history=history,
    )


def _failed_form(name: str, row_id: int):
    """A row form of ``name`` for row ``row_id`` that failed to validate, with its errors."""
    if name == "need_focus":
        form = NeedFocusForm(prefix=f"focus{row_id}", formdata=MultiDict(), meta={"csrf": False})
        assert form.validate()  # what failed was the rule (R3), as a form-level error
        form.form_errors.append(f"Höchstens zwei Bedarfe {NASTY}")
        return form
    if name == "goal_update":
        data = {f"goal{row_id}-status": "bogus", f"goal{row_id}-agreed_on": "31.02.2026"}
        form = GoalUpdateForm(
            prefix=f"goal{row_id}", formdata=MultiDict(data), meta={"csrf": False}
        )
    elif name == "referral_update":
        data = {f"referral{row_id}-status": "bogus", f"referral{row_id}-outcome": NASTY}
        form = ReferralUpdateForm(
            prefix=f"referral{row_id}", formdata=MultiDict(data), meta={"csrf": False}
        )
    else:
        data = {f"note{row_id}-text": ""}
        form = NoteCorrectionForm(
            prefix=f"note{row_id}", formdata=MultiDict(data), meta={"csrf": False}
        )
    assert not form.validate()
    return form


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("is_open", [True, False])
@pytest.mark.parametrize(
    "failed",
    [None, ("need_focus", 2), ("goal_update", 3), ("referral_update", 11), ("note_correction", 42)],
)
def test_the_rows_are_the_html_the_template_loops_rendered(app, language, is_open, failed):
    record = _record()
    case = SimpleNamespace(id=7, is_open=is_open)
    with app.test_request_context("/cases/7", base_url="http://localhost/kimdb/"):
        session["locale"] = language
        failed_form = _failed_form(*failed) if failed else None
        names = SimpleNamespace(
            language=Memo(labels.language_name),
            **{t: views._label_table(getattr(labels, t)) for t in views._ROW_LABELS},
        )
        rows = RowForms(views._ROW_CLASSES, failed and failed[0], failed and failed[1], failed_form)
        built = views.CasePageRows(case, names, rows, failed, failed_form)
        context = {
            "case": case,
            "record": record,
            "names": names,
            "rows": rows,
            "row_urls": {name: url_builder(f"cases.{name}") for name in views._ROW_ENDPOINTS},
            "row_failed": failed,
            "failed_row_form": failed_form,
            "open_follow_ups": record.open_follow_ups,
            "notes": record.notes,
            "history": record.history,
        }
        macros = '{% from "_macros/forms.html" import error_summary %}'
        for section, loop in LOOPS.items():
            expected = app.jinja_env.from_string(macros + TEXTS + loop).render(context)
            items = {
                "follow_ups": record.open_follow_ups,
                "monitoring": record.monitoring_entries,
                "notes": record.notes,
                "history": record.history,
            }.get(section) or getattr(record, section)
            assert str(getattr(built, section)(items)) == expected, section
        page = "".join(
            str(getattr(built, s)(i)) for s, i in [("needs", record.needs), ("notes", record.notes)]
        )
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; O&#39;Brien" in page
    assert ('action="/kimdb/cases/7/needs/1/focus"' in page) is is_open
    if failed in (("need_focus", 2), ("note_correction", 42)):
        assert 'class="field-error"' in page or 'class="error-summary"' in page


# The loop of templates/cases/timeline.html before issue 8's change, kept as the reference.
TIMELINE_LOOP = """\
{% for e in events %}
  <tr class="event-{{ e.type.value }}"><td>{{ e.day|date }}</td><td>{{ event_labels[e.type] }}\
</td><td><strong>{{ e.title }}</strong>{% if e.detail %}<br>{{ e.detail }}{% endif %}</td><td>\
{{ e.by }}</td></tr>
  {% endfor %}"""


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_timeline_rows_are_the_html_the_template_loop_rendered(app, language):
    events = [
        TimelineEvent(dt.date(2026, 3, i + 1), AT, event_type, f"{NASTY} {i}", detail, by)
        for i, (event_type, detail, by) in enumerate(
            zip(
                EventType, [NASTY, "", "x & y", None] * 3, ["Anna <A>", "", "Bea"] * 4, strict=False
            )
        )
    ]
    with app.test_request_context("/cases/7/timeline"):
        session["locale"] = language
        expected = app.jinja_env.from_string(TIMELINE_LOOP).render(
            events=events, event_labels=EVENT_LABELS
        )
        built = views.timeline_rows(events, views._event_labels())
    assert str(built) == expected
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; O&#39;Brien 0" in built
