"""The statistics report reads from the ``reports`` bind when ``KIMDB_REPORTS_DATABASE_URL``
is set (issue 8 item 4: a read-only replica for report queries), else from the main database.

The "replica" here is a second SQLite database built by the migrations and holding other
cases than the main test database, so the figures show which one the report read."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade

from kimdb import create_app
from kimdb.cases.rules import CaseKind
from kimdb.reports.model import Scope, ScopeKind
from kimdb.reports.queries import REPORTS_BIND
from kimdb.reports.rules import parse_period
from kimdb.reports.service import build_report
from kimdb.timeutil import today
from tests.factories import make_case, make_user

STATE = Scope(ScopeKind.STATE, None, "NRW")


def _new_cases(report) -> list[int]:
    """New cases of the period, [CM, KB]."""
    return [cell.value for cell in report.table("cases_by_kind").rows[1][1]]


@pytest.fixture()
def replica_url(tmp_path, monkeypatch):
    """A second kimdb database (SQLite, schema by the migrations) with one CM case."""
    url = f"sqlite:///{tmp_path / 'replica.sqlite3'}"
    with monkeypatch.context() as env:
        env.setenv("KIMDB_DATABASE_URL", url)
        env.delenv("KIMDB_REPORTS_DATABASE_URL", raising=False)
        replica = create_app("testing")
    with replica.app_context():
        upgrade()
        make_case(make_user("cm.replica"), CaseKind.CASE_MANAGEMENT)
    return url


def test_the_report_reads_the_replica_when_the_bind_is_set(db, replica_url, monkeypatch):
    owner = make_user("cm.main")
    make_case(owner)
    make_case(owner)  # the main database: two short counsellings
    period = parse_period("year", today().year)
    assert REPORTS_BIND not in db.engines
    assert _new_cases(build_report(STATE, period, 1)) == [0, 2]

    monkeypatch.setenv("KIMDB_REPORTS_DATABASE_URL", replica_url)
    with_replica = create_app("testing")
    assert with_replica.config["SQLALCHEMY_BINDS"] == {REPORTS_BIND: replica_url}
    with with_replica.app_context():
        assert _new_cases(build_report(STATE, period, 1)) == [1, 0]
        # Everything else of the app still uses the main database.
        assert db.engine.url != db.engines[REPORTS_BIND].url


def test_without_the_variable_there_is_no_bind(monkeypatch):
    monkeypatch.delenv("KIMDB_REPORTS_DATABASE_URL", raising=False)
    assert create_app("testing").config["SQLALCHEMY_BINDS"] == {}
