"""kimdb.labels formats and translates like Flask-Babel, with the request's translations looked
up once (issue 8 item 3): same German and English texts, same dates in Berlin time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import flask_babel
import pytest
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask import session
from jinja2 import Environment

from kimdb import labels
from kimdb.cases.rules import Stage
from kimdb.timeutil import LOCAL_ZONE

# Around both changes of Berlin time in 2026 (29 March, 25 October), midnight and new year.
MOMENTS = [
    dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 25, 0, 59, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 7, 1, 22, 5, tzinfo=dt.UTC),
    dt.datetime(2026, 7, 1, 22, 5),  # without zone: UTC, as SQLite returns it
]


def test_days_and_moments_read_as_babel_writes_them():
    for moment in MOMENTS:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        expected = format_datetime(aware, "dd.MM.yyyy HH:mm", tzinfo=LOCAL_ZONE, locale="de")
        assert labels.format_moment(moment) == expected
        day = aware.date()
        assert labels.format_day(day) == format_date(day, "dd.MM.yyyy", locale="de")
    assert labels.format_moment(dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)) == (
        "29.03.2026 03:00"
    )
    assert labels.format_day(dt.date(987, 6, 5)) == "05.06.0987"
    assert labels.format_day(None) == labels.format_moment(None) == ""


@pytest.mark.parametrize("language", ["de", "en"])
def test_texts_are_translated_as_flask_babel_translates_them(app, language):
    with app.test_request_context("/"):
        session["locale"] = language
        assert labels.gettext("Fall") == flask_babel.gettext("Fall")
        assert str(labels.STAGE[Stage.CLOSED]) == flask_babel.gettext("Abgeschlossen")
        assert labels.ngettext(
            "%(num)s frühere Fassung", "%(num)s frühere Fassungen", 2
        ) == flask_babel.ngettext("%(num)s frühere Fassung", "%(num)s frühere Fassungen", 2)
        env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
        labels.install_template_gettext(env)
        template = "{{ _('als Vertretung für %(name)s', name='<b>') }} {{ _('Fall') }}"
        assert env.from_string(template).render() == app.jinja_env.from_string(template).render()
        assert labels.language_name("ar") == ("Arabisch" if language == "de" else "Arabic")
        # The English catalog is really used (the comparisons above are not German twice).
        assert (labels.gettext("Fall") == "Fall") is (language == "de")


@pytest.mark.parametrize("language", ["de", "en"])
def test_figures_read_as_babel_writes_them(app, language):
    values = [
        Decimal("0"),
        Decimal("0.5"),
        Decimal("0.125"),
        Decimal("0.135"),
        Decimal("1.005"),
        Decimal("25"),
        Decimal("42.5"),
        Decimal("42.25"),
        Decimal("42.35"),
        Decimal("59.99"),
        Decimal("1234.5"),
        Decimal("-0.04"),
        Decimal("-3.25"),
    ]
    with app.test_request_context("/"):
        session["locale"] = language
        for value in values:
            assert labels.format_fte(value) == format_decimal(value, "0.00", locale=language)
            assert labels.format_cases(value) == format_decimal(value, "0.#", locale=language)
        for share in [0, 0.005, 0.125, 0.333, 0.335, 2 / 3, 1, Decimal("0.845")]:
            expected = format_decimal(Decimal(share) * 100, "0", locale=language) + " %"
            assert labels.format_percent(share) == expected
        assert labels.format_cases(Decimal("42.5")) == ("42,5" if language == "de" else "42.5")
        assert labels.format_month(dt.date(2026, 3, 31)) == format_date(
            dt.date(2026, 3, 31), "MM/yy", locale=language
        )


TEMPLATES = [
    "{{ _('Fall') }}",
    "{{ _('als Vertretung für %(name)s', name='<b>&') }}",
    "{{ gettext('Hinweis: weniger als 10 %% unter %(upper)s', upper=60) }}",
    "{{ _('50 %% & mehr') }}",
    "{{ _('<em>kein Platzhalter</em>', name='x') }}",
    "{{ ngettext('%(num)s Fall gefunden', '%(num)s Fälle gefunden', 3) }}",
    "{{ _('%(text)s/%(context)s', text='<b>', context='&') }}",
]


@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize("language", ["de", "en"])
def test_template_gettext_gives_what_jinjas_own_new_style_gettext_gives(app, language, autoescape):
    # kimdb's ``_`` is one call instead of Jinja's three: same text, same escaping, "%%" the same.
    with app.test_request_context("/"):
        session["locale"] = language
        ours = Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)  # noqa: S701
        labels.install_template_gettext(ours)
        jinjas = Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)  # noqa: S701
        jinjas.install_gettext_callables(
            gettext=flask_babel.gettext, ngettext=flask_babel.ngettext, newstyle=True
        )
        for template in TEMPLATES:
            expected = jinjas.from_string(template).render()
            assert ours.from_string(template).render() == expected, template
        assert "%%" not in ours.from_string(TEMPLATES[3]).render()
