"""Lazy texts (``kimdb.i18n``): plain text as ``str``, escaped variables as HTML.

Flask-Babel's own lazy string handed its filled-in text to Jinja as markup, so a reason or
name a user typed into a message reached the page as HTML (found in issue 8's fourth
session in the case's history)."""

from __future__ import annotations

from flask.json.tag import TaggedJSONSerializer
from jinja2 import Environment
from markupsafe import Markup, escape

from kimdb.i18n import LazyText, lazy_gettext, lazy_ngettext

TYPED = '<b>Ali</b> & "Co"'


def test_a_lazy_text_is_plain_text_with_its_variables_as_given():
    text = lazy_gettext("Einstufung geändert (%(reason)s)", reason=TYPED)
    assert isinstance(text, LazyText)
    assert str(text) == 'Einstufung geändert (<b>Ali</b> & "Co")'


def test_a_lazy_text_as_html_escapes_its_variables_but_not_its_message():
    text = lazy_gettext("Einstufung <em>geändert</em> (%(reason)s)", reason=TYPED)
    assert escape(text) == Markup(
        "Einstufung <em>geändert</em> (&lt;b&gt;Ali&lt;/b&gt; &amp; &#34;Co&#34;)"
    )


def test_jinja_shows_a_typed_variable_of_a_lazy_text_as_text():
    template = Environment(autoescape=True).from_string("<p>{{ text }}</p>")  # noqa: S701
    html = template.render(text=lazy_gettext("Grund: %(reason)s", reason=TYPED))
    assert html == "<p>Grund: &lt;b&gt;Ali&lt;/b&gt; &amp; &#34;Co&#34;</p>"


def test_markup_and_labels_filled_in_stay_markup():
    label = lazy_gettext("Kurzberatung")
    text = lazy_gettext(
        "%(kind)s: %(link)s", kind=label, link=Markup('<a href="/cases/1">2026-000001</a>')
    )
    assert escape(text) == Markup('Kurzberatung: <a href="/cases/1">2026-000001</a>')


def test_a_lazy_text_without_variables_is_its_message():
    assert escape(lazy_gettext("100 % sicher")) == Markup("100 % sicher")
    assert str(lazy_gettext("100 % sicher")) == "100 % sicher"


def test_plural_texts_escape_their_variables_and_fill_the_number():
    one = lazy_ngettext("%(num)s Fall von %(name)s", "%(num)s Fälle von %(name)s", 1, name=TYPED)
    many = lazy_ngettext("%(num)s Fall von %(name)s", "%(num)s Fälle von %(name)s", 3, name=TYPED)
    assert str(one) == '1 Fall von <b>Ali</b> & "Co"'
    assert escape(many) == Markup("3 Fälle von &lt;b&gt;Ali&lt;/b&gt; &amp; &#34;Co&#34;")


def test_a_flashed_lazy_text_comes_back_from_the_session_escaped_once():
    """Flask keeps a flashed message in the signed session cookie; an object with
    ``__html__`` comes back as Markup, so it must have been escaped on the way in."""
    serializer = TaggedJSONSerializer()
    flashed = {"_flashes": [("success", lazy_gettext("Gespeichert: %(name)s", name=TYPED))]}
    ((category, message),) = serializer.loads(serializer.dumps(flashed))["_flashes"]
    assert category == "success"
    assert escape(message) == Markup("Gespeichert: &lt;b&gt;Ali&lt;/b&gt; &amp; &#34;Co&#34;")
