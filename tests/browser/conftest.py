"""Browser-test fixtures: the app served on a free local port and a headless Chromium page."""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.factories import browser_login

CHROMIUM = os.environ.get("KIMDB_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture()
def server(app, db):
    """Serve the test app on a free local port for the duration of one test."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture()
def page():
    """A fresh headless Chromium page (Debian's Chromium, not a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        yield tab
        context.close()
        browser.close()


@pytest.fixture()
def login_as(server, page):
    """Log in as a case manager ``username`` and wait for their start page."""

    def login(username: str) -> None:
        browser_login(page, server, username)
        page.get_by_role("heading", name="Meine Fallzahl").wait_for()

    return login
