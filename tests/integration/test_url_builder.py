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
