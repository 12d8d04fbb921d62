"""The links of long lists are built once per list (``kimdb.views.url_builder``, issue 8) and
are the same as ``url_for``'s."""

from __future__ import annotations

import pytest
from flask import url_for

from kimdb.views import url_builder


@pytest.mark.parametrize("script_root", ["", "/kimdb"])
def test_url_builder_gives_the_links_url_for_gives(app, script_root):
    with app.test_request_context("/", base_url=f"http://localhost{script_root}/"):
        case_url = url_builder("cases.show")
        for case_id in (1, 42, 2**31 - 1):
            assert case_url(case_id=case_id) == url_for("cases.show", case_id=case_id)
        assert case_url(case_id=7) == f"{script_root}/cases/7"


def test_url_builder_follows_url_default_functions(app, monkeypatch):
    def language(endpoint, values):
        values.setdefault("lang", "de")

    monkeypatch.setitem(app.url_default_functions, None, [language])
    with app.test_request_context("/"):
        assert url_builder("cases.show")(case_id=3) == "/cases/3?lang=de"


def test_url_builder_puts_the_number_into_the_url_built_once_and_builds_the_rest(app):
    with app.test_request_context("/", base_url="http://localhost/kimdb/"):
        case_url = url_builder("cases.show")
        assert [case_url(case_id=n) for n in (5, 10, 305, 2**31 - 1)] == [
            url_for("cases.show", case_id=n) for n in (5, 10, 305, 2**31 - 1)
        ]
        # Not a whole number: built by the adapter as before (and refused alike).
        with pytest.raises(ValueError, match="abc"):
            url_for("cases.show", case_id="abc")
        with pytest.raises(ValueError, match="abc"):
            case_url(case_id="abc")
        timeline = url_builder("cases.timeline")
        assert (
            timeline(case_id=12)
            == url_for("cases.timeline", case_id=12)
            == "/kimdb/cases/12/timeline"
        )
        # Two values, or a value beside the rule's (a query string): the adapter's answer.
        search = url_builder("cases.index")
        assert search(page=3) == url_for("cases.index", page=3)
        assert search(page=3, name="x") == url_for("cases.index", page=3, name="x")


def test_url_builder_leaves_padded_numbers_to_the_adapter(app):
    from kimdb.views import _around

    assert _around("/x/7919000237011/y", "/x/1/y") == ("/x/", "/y")
    assert _around("/x/7919000237011", "/x/0001") is None  # a converter that pads
    assert _around("/x/7919000237011/7919000237011", "/x/1/1") is None
