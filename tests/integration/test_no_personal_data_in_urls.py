"""A searched name or date of birth travels in a query string; it must not reach the login
redirect or the access log (DESIGN.md §4)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


def test_the_login_redirect_keeps_the_path_but_not_the_search(client, db):
    response = client.get("/cases/?name=Mueller&date_of_birth=17.05.1990")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/cases/"]}
    assert "Mueller" not in response.headers["Location"]


def test_the_access_log_has_the_path_without_query_string_or_referrer():
    path = Path(__file__).parents[2] / "gunicorn.conf.py"
    spec = importlib.util.spec_from_file_location("gunicorn_conf", path)
    settings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(settings)
    log_format = settings.access_log_format
    assert "%(U)s" in log_format  # the path
    for leaking in ("%(r)s", "%(q)s", "%(f)s"):  # request line, query string, referrer
        assert leaking not in log_format
