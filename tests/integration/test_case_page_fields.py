"""The case page's form fields rendered once and kept (issue 8 item 3): the kept HTML is what
the ``field`` macro renders, a field with errors or free text is rendered every time, and no
note text is kept."""

from __future__ import annotations

import re

from flask import render_template_string
from flask_login import login_user
from markupsafe import Markup

from kimdb.cases import forms, service, views
from kimdb.cases.rules import CaseKind
from kimdb.timeutil import today
from tests.factories import login, make_case, make_user, post_case_form

SECRET_TEXT = "Frau H. berichtet vertraulich von ihrer Erkrankung"
MACRO = '{% from "_macros/forms.html" import field %}{{ field(f, hint=hint, class_=class_) }}'


def _without_tokens(html: str) -> str:
    """``html`` without the values of CSRF tokens (signed with the second they are made in,
    in whatever order the input's attributes come)."""
    return re.sub(r'value="[\w-]+\.[\w-]+\.[\w-]+"', 'value="token"', html)


def test_the_case_page_is_the_same_when_its_fields_come_from_the_memo(client, db):
    anna = make_user("cm.anna")
    case = make_case(anna, CaseKind.CASE_MANAGEMENT)
    login(client, "cm.anna")
    forms._memo.clear()
    first = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert any(key[0] == "blank" for key in forms._memo)  # the blank forms' fields were kept
    second = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert _without_tokens(first) == _without_tokens(second)
    assert 'name="need-life_area"' in second and 'name="close-reason"' in second


def test_a_kept_field_is_what_the_macro_renders_and_free_text_is_never_kept(app, db):
    anna = make_user("cm.anna")
    case = make_case(anna, CaseKind.CASE_MANAGEMENT)
    response = None
    with app.test_client() as http:
        login(http, "cm.anna")
        response = post_case_form(
            http,
            case.id,
            "notes",
            "note",
            kind="internal",
            noted_on=today().isoformat(),
            text=SECRET_TEXT,
        )
    assert response.status_code == 302
    forms._memo.clear()
    with app.test_request_context(f"/cases/{case.id}"):
        login_user(anna)
        loaded = service.get_case(anna, case.id)
        page_forms = {name: forms.built(f) for name, f in views._forms(loaded, None, None).items()}
        fields = [f for form in page_forms.values() for f in form if f.type != "CSRFTokenField"]
        note_form = forms.NoteCorrectionForm(prefix="note1", formdata=None, text=SECRET_TEXT)
        fields.append(note_form.text)
        for hint, class_ in [(None, ""), ("Ein Hinweis", "wide")]:
            for f in fields:
                expected = render_template_string(MACRO, f=f, hint=hint, class_=class_)
                assert forms.render_field(f, hint=hint, class_=class_) == expected
                assert forms.render_field(f, hint=hint, class_=class_) == expected  # kept
        assert forms._memo_key(note_form.text, None, "") is None
        assert SECRET_TEXT in forms.render_field(note_form.text)
        # A field with an error is rendered with it, not taken from the memo.
        need_area = page_forms["need"].life_area
        need_area.errors = ["Bitte ein Handlungsfeld wählen."]
        assert "Bitte ein Handlungsfeld wählen." in forms.render_field(need_area)
    kept = " ".join(str(key) + str(html) for key, html in forms._memo.items())
    assert SECRET_TEXT not in kept
    assert len(forms._memo) >= 20


def test_the_case_search_keeps_its_blank_fields_but_never_a_searched_name(client, db):
    """The search form's blank fields come from the memo; the searched name is shown in its
    field on every answer (also when the form has an error) and is never kept."""
    anna = make_user("cm.anna")
    make_case(anna, CaseKind.CASE_MANAGEMENT)
    login(client, "cm.anna")
    forms._memo.clear()
    first = client.get("/cases/?name=Kowalczyk&include_closed=y").get_data(as_text=True)
    assert forms._memo  # the blank fields (number, date of birth, kind, …) were kept
    kept = " ".join(str(key) + str(html) for key, html in forms._memo.items())
    assert "Kowalczyk" not in kept
    assert 'value="Kowalczyk"' in first
    second = client.get("/cases/?name=Nowak&include_closed=y").get_data(as_text=True)
    assert 'value="Nowak"' in second and "Kowalczyk" not in second
    refused = client.get("/cases/?name=Nowak&date_of_birth=31.02.1990")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'value="Nowak"' in page and 'value="31.02.1990"' in page
    assert "31.02.1990" not in " ".join(str(key) + str(html) for key, html in forms._memo.items())


def test_hidden_tag_renders_what_flask_wtf_renders(app, db):
    """``kimdb.forms.hidden_tag`` gives the same HTML as ``form.hidden_tag()`` for every form of
    the case page (tokens, the focus form's hidden value, quotes and markup in a value)."""
    from wtforms import HiddenField

    from kimdb.cases.forms import DoneForm, NeedFocusForm
    from kimdb.forms import hidden_tag

    anna = make_user("cm.anna")
    case = make_case(anna, CaseKind.CASE_MANAGEMENT)

    class Tricky(NeedFocusForm):
        other = HiddenField(default='a "quoted" <b>&</b> value')

    with app.test_request_context(f"/cases/{case.id}"):
        login_user(anna)
        loaded = service.get_case(anna, case.id)
        candidates = [forms.built(f) for f in views._forms(loaded, None, None).values()] + [
            DoneForm(prefix="done7", formdata=None),
            NeedFocusForm(prefix="focus3", formdata=None, in_focus="y"),
            NeedFocusForm(prefix="focus4", formdata=None, in_focus=""),
            Tricky(prefix="x1", formdata=None),
        ]
        for form in candidates:
            assert hidden_tag(form) == form.hidden_tag()


def test_row_forms_are_what_the_built_forms_render_and_keep_no_text(app, db):
    """``RowForms`` gives the HTML of the row forms WTForms would build (hidden fields, fields
    with their values, hints, free text with markup and quotes), the failed form's own HTML
    with what was typed, and keeps no free text."""
    from kimdb.forms import hidden_tag

    anna = make_user("cm.anna")
    make_case(anna, CaseKind.CASE_MANAGEMENT)
    classes = {name: (cls, stem) for name, (cls, stem, _a) in views.ROW_FORMS.items()}
    tricky = 'Frau "H." <b>&</b> \x00row\x00 sagt'
    with app.test_request_context("/cases/1"):
        login_user(anna)
        rows = forms.RowForms(classes)
        cases = [
            ("goal_update", 7, {"status": "achieved"}, {}),
            ("goal_update", 8, {"agreed_on": None}, {}),
            ("referral_update", 3, {"status": "open", "outcome": None}, {}),
            ("referral_update", 4, {"outcome": tricky}, {}),
            ("note_correction", 12, {"text": SECRET_TEXT}, {}),
            ("note_correction", 13, {"text": tricky}, {}),
            ("need_focus", 5, {}, {"in_focus": "y"}),
            ("need_focus", 6, {}, {"in_focus": ""}),
            ("follow_up_done", 9, {}, {}),
        ]
        for name, row_id, values, hidden in cases:
            cls, stem = classes[name]
            built = cls(prefix=f"{stem}{row_id}", formdata=None, **values, **hidden)
            assert rows.hidden_tag(name, row_id, **hidden) == hidden_tag(built)
            for field, value in values.items():
                for hint in (None, "Ein <b>Hinweis</b>", Markup("Ein <b>Hinweis</b>")):
                    expected = forms.render_field(built[field], hint=hint)
                    assert rows.field(name, row_id, field, value, hint=hint) == expected
        kept = " ".join(str(key) + str(html) for key, html in forms._memo.items())
        assert forms._memo and SECRET_TEXT not in kept and "sagt" not in kept
    with app.test_request_context("/cases/1", method="POST", data={"note12-text": ""}):
        login_user(anna)
        failed = forms.NoteCorrectionForm(prefix="note12")
        failed.validate()
        rows = forms.RowForms(classes, "note_correction", 12, failed)
        html = rows.field("note_correction", 12, "text")
        assert "field-error" in html and html == forms.render_field(failed.text)
        assert rows.hidden_tag("note_correction", 12) == hidden_tag(failed)
        assert "field-error" not in rows.field("note_correction", 13, "text", "x")


def test_a_kept_choice_field_follows_its_choices_and_value(app, db):
    """The memo tells choice fields apart by their labels (a partner renamed) and the chosen
    value, as WTForms renders them."""
    anna = make_user("cm.anna")
    with app.test_request_context("/cases/1"):
        login_user(anna)
        forms._memo.clear()
        for choices, value in [
            ([(0, "– bitte wählen –"), (4, "Jobcenter")], 0),
            ([(0, "– bitte wählen –"), (4, "Jobcenter Mitte")], 0),
            ([(0, "– bitte wählen –"), (4, "Jobcenter Mitte")], 4),
        ]:
            form = forms.ReferralForm(prefix="referral", formdata=None, partner_id=value)
            form.partner_id.choices = choices
            expected = render_template_string(MACRO, f=form.partner_id, hint=None, class_="")
            assert forms.render_field(form.partner_id) == expected


def test_blank_forms_give_the_html_of_the_built_forms(app, db):
    """A ``BlankForm``'s fields and hidden fields, from the memo or not, are what the built
    form renders (choices, today's date, the other kind, hints), in each language."""
    anna = make_user("cm.anna")
    case = make_case(anna, CaseKind.SHORT_COUNSELLING)
    with app.test_request_context(f"/cases/{case.id}"):
        login_user(anna)
        loaded = service.get_case(anna, case.id)
        for _round in range(2):  # rendered, then kept
            for blank in views._forms(loaded, None, None).values():
                form = blank.form
                assert forms.page_hidden_tag(blank) == form.hidden_tag()
                for f in form:
                    if f.type == "CSRFTokenField":
                        continue
                    for hint, class_ in [(None, ""), ("Ein <b>Hinweis</b>", "wide")]:
                        expected = render_template_string(MACRO, f=f, hint=hint, class_=class_)
                        kept = forms.render_field(getattr(blank, f.short_name), hint, class_)
                        assert kept == expected


def test_the_consents_in_the_referral_hint_are_shown_and_never_kept(app, db):
    """The data-sharing box of the referral form names the client's consents (escaped) in its
    hint; its HTML is kept with a slot, never with the names."""
    anna = make_user("cm.anna")
    case = make_case(anna, CaseKind.CASE_MANAGEMENT)
    names = 'Stelle Zqx "Mitte" & <Beratung>'
    with app.test_request_context(f"/cases/{case.id}"):
        login_user(anna)
        loaded = service.get_case(anna, case.id)
        blank = views._forms(loaded, None, None)["referral"]
        template = (
            '{% from "_macros/forms.html" import field %}'
            "{{ field(f, hint=_('Eingewilligt für: %(names)s', names=names)) }}"
        )
        expected = render_template_string(template, f=blank.form.passes_data, names=names)
        kept_template = (
            "{{ render_field(f, hint=_('Eingewilligt für: %(names)s', names=slot))"
            "|replace(slot, names) }}"
        )
        for _round in range(2):
            html = render_template_string(
                kept_template,
                render_field=forms.render_field,
                f=blank.passes_data,
                slot=forms.NAMES_SLOT,
                names=names,
            )
            assert html == expected and "&amp; &lt;Beratung&gt;" in html
    kept = " ".join(str(key) + str(html) for key, html in forms._memo.items())
    assert "Zqx" not in kept
