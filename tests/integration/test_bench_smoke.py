"""The page benchmark ``bench/pages.py`` still runs (issue 8 contract: "a smoke test runs it
at a tiny scale in CI so it cannot rot"): generated tiny data, a few requests per page, no wrk,
on the suite's database engine (SQLite, or PostgreSQL in a database ``<test db>_bench``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
PAGES = (
    "start page (case manager)",
    "own case list",
    "case page",
    "case timeline",
    "search by name",
    "supervisor dashboard",
    "statistics report (state)",
)
NUMBER = r"\d+\.\d"
# page, kimdb median and p95, floor median and p95 (ms), ratio, statements
ROW = rf"\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+\d+\.\d+×\s+\d+(-\d+)?\s"


def _admin_connection(url: str):
    import psycopg

    admin = make_url(url).set(drivername="postgresql", database="postgres")
    return psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True)


@pytest.fixture
def bench_database():
    """None on SQLite (the benchmark makes its own temporary file); on PostgreSQL the URL of
    an empty database ``<test db>_bench``, dropped afterwards with its key file and storage."""
    if not DATABASE_URL.startswith("postgresql"):
        yield None
        return
    url = make_url(DATABASE_URL)
    name = f"{url.database}_bench"
    with _admin_connection(DATABASE_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with _admin_connection(DATABASE_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    cache = Path.home() / ".cache" / "kimdb-bench"
    (cache / f"{name}.env").unlink(missing_ok=True)
    shutil.rmtree(cache / name, ignore_errors=True)  # the storage directory beside the keys


def test_page_benchmark_prints_every_page_with_figures(bench_database):
    command = [
        sys.executable,
        str(ROOT / "bench" / "pages.py"),
        "--scale",
        "tiny",
        "--requests",
        "3",
        "--report-requests",
        "1",
        "--no-wrk",
    ]
    if bench_database:
        command += ["--database-url", bench_database]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIMDB_")}
    result = subprocess.run(  # noqa: S603 - our own script
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for page in PAGES:
        assert re.search(re.escape(page) + ROW, result.stdout), (page, result.stdout)
    assert "seeded tiny-seed-1" in result.stdout
    if not bench_database:
        assert "SQL alone" not in result.stdout  # replayed on PostgreSQL only
        return  # SQLite: a new temporary database each run, nothing to reuse
    # The search's SQL replayed without kimdb's Python: all of it, and the part every page has.
    assert re.search(
        r"SQL alone of one 'search by name' request.*3x its floor's p95: [\d.]+\n"
        r"  all its statements .* med [\d.]+  p95 [\d.]+\n"
        r"  only the login check and the audit entry .* med [\d.]+  p95 [\d.]+",
        result.stdout,
    ), result.stdout
    # A reused database whose report facts are two days old (the nightly job did not run):
    # the benchmark refreshes them first, so the report is measured as an installation has it.
    import psycopg

    with psycopg.connect(
        make_url(bench_database).set(drivername="postgresql").render_as_string(hide_password=False)
    ) as conn:
        conn.execute(
            "UPDATE report_fact_refreshes SET refreshed_at = refreshed_at - interval '2 days'"
        )
    again = subprocess.run(  # noqa: S603 - our own script
        [*command, "--page", "report"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "reused tiny-seed-1" in again.stdout
    assert "report facts were stale: refreshed" in again.stdout
    assert re.search(re.escape("statistics report (state)") + ROW, again.stdout), again.stdout
