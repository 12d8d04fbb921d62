"""Benchmark of the daily pages (issue 8 item 2): prints figures, asserts nothing.

For each daily page it measures the server-side time through the real app — login through the
form with its CSRF token (and the TOTP code where the role needs one), encryption, audit — with
Flask's test client in this process: median and p95 over ``--requests`` GETs (after 3 warm-up
requests), each timed inside the server (``ServerClock``: from the call of kimdb's WSGI app to
its return, after the request's teardown; the test client's own work of building the request
and reading the response is not server-side time), and the number of SQL statements of a
request (an engine listener). In the same run it measures the page's floor
(``bench/floor.py``): one hand-written SQL statement on a raw DBAPI connection for the same
data, decrypted, rendered by a bare template; kimdb's GETs and the floor's runs take turns.
On PostgreSQL it then replays the SQL of one search request on a raw connection, without
kimdb's Python (``measure_request_sql``): all of it, and only the login check and the audit
entry every audited page runs — what of 3x the search's floor is left for the rest. Then, unless
``--no-wrk``, it runs ``wrk`` against gunicorn with 2 workers, kimdb and the bare floor app,
for the case list and the start page, and reads the resident memory of each worker.

Pages and their subjects, chosen by SQL in whatever data set is loaded:
- the case manager with the LARGEST number of open cases (active users; ties: lowest id) —
  the worst case of the daily lists; their start page, own case list (``/cases/`` with
  "closed too": all own cases, newest activity first, at most 200), the search of their cases
  by the single-word family name of their chosen case's client;
- their open case with the most entries (consultations, notes, needs, goals, referrals,
  follow-ups): its case page and its timeline (two rows: the timeline is its own page);
- the supervisor of the organisation with the most open cases: the dashboard;
- the state's user: the statewide report of the last full calendar year, with ``--report-
  requests`` requests (default 20: one takes seconds at state scale).

Data: ``--scale tiny|county|state`` runs ``flask kimdb seed`` (``kimdb/seed``) in-process after
the migrations; ``--scale demo`` loads the Kreis Warendorf demo instead. Without
``--database-url`` the database is SQLite in a new temporary directory. With a URL (SQLite
file or PostgreSQL) the database is created if missing, migrated, then seeded if it holds no
client, or reused if it holds the generated data of that scale and seed. Reuse needs the keys
of the seeding run (the encryption key, the blind-index key of the name search, the session
key): they are kept, mode 600, in a key file beside the data — ``<file>.bench.env`` next to an
SQLite file, ``~/.cache/kimdb-bench/<dbname>.env`` for PostgreSQL — together with the scale and
seed. A database with clients but no matching key file is refused (drop it and run again).

Usage (from the repository root):
    .venv/bin/python bench/pages.py --scale county
    .venv/bin/python bench/pages.py --scale state \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/kimdb_bench
    .venv/bin/python bench/pages.py --scale tiny --requests 20 --no-wrk    # smoke run
    .venv/bin/python bench/pages.py ... --page dashboard --page "case page"  # some pages only

Targets (issue 8, state scale on PostgreSQL): every daily page p95 under 50 ms and within 3x
its floor's p95; the report under 1 s; statements per page constant in the data size; gunicorn
requests/s of the case list at least 40 % of the floor app's.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.cookiejar import CookieJar
from pathlib import Path

from environment import configure_environment  # noqa: E402 - also puts kimdb on the path

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 3
PAGE_TARGET_S = 0.050  # p95 of a daily page, server-side
FLOOR_FACTOR = 3.0  # p95 of a page at most 3x its floor's p95
REPORT_TARGET_S = 1.0
WRK_SHARE = 0.40  # kimdb's requests/s of the case list at least 40 % of the floor app's


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("tiny", "county", "state", "demo"), default="county")
    parser.add_argument("--database-url", help="SQLite file or PostgreSQL (default: temp SQLite)")
    parser.add_argument("--requests", type=int, default=200, help="GETs per page (200)")
    parser.add_argument("--report-requests", type=int, default=20, help="GETs of the report (20)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (1)")
    parser.add_argument("--no-wrk", action="store_true", help="skip wrk against gunicorn")
    parser.add_argument("--wrk-seconds", type=int, default=10, help="duration of a wrk run (10)")
    parser.add_argument(
        "--page", action="append", help="measure only pages whose title contains this (repeatable)"
    )
    return parser.parse_args(argv)


# -- Instance: keys beside the data, database created, migrated, seeded or reused --------------


def key_file_for(url: str) -> Path:
    """Return where the keys of the database ``url`` are kept (see the module docstring)."""
    if url.startswith("sqlite"):
        return Path(url.split(":///", 1)[1]).with_suffix(".bench.env")
    parsed = urllib.parse.urlsplit(url)
    name = parsed.path.lstrip("/")
    return Path.home() / ".cache" / "kimdb-bench" / f"{name}.env"


def read_key_file(path: Path) -> dict[str, str]:
    """Return the ``NAME=value`` lines of a key file, {} if there is none."""
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def write_key_file(path: Path, values: dict[str, str]) -> None:
    """Write ``values`` as ``NAME=value`` lines to ``path``, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(f"{k}={v}\n" for k, v in values.items()))


def create_postgres_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` if it does not exist."""
    import psycopg

    parsed = urllib.parse.urlsplit(url.replace("postgresql+psycopg", "postgresql"))
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        conn.execute(f'CREATE DATABASE "{name}"')
        print(f"created database {name}")


@dataclasses.dataclass
class Instance:
    """The app under test and how its data came to be."""

    app: object
    url: str
    env: dict[str, str]  # the KIMDB_* variables (for gunicorn)
    data: str  # "seeded ..." or "reused ..."


def prepare_instance(args: argparse.Namespace, tmp: Path) -> Instance:
    """Configure the environment, build the app, migrate, seed or reuse; return the Instance.

    Raises SystemExit with a message for a database that holds other data than this scale's.
    """
    from kimdb.crypto import generate_key

    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    key_file = key_file_for(url) if args.database_url else None
    if url.startswith("postgresql"):
        create_postgres_database(url)
    stored = read_key_file(key_file) if key_file else {}
    keys = {
        "KIMDB_ENCRYPTION_KEYS": stored.get("KIMDB_ENCRYPTION_KEYS") or generate_key(),
        "KIMDB_BLIND_INDEX_KEY": stored.get("KIMDB_BLIND_INDEX_KEY") or generate_key(),
        "KIMDB_SECRET_KEY": stored.get("KIMDB_SECRET_KEY") or secrets.token_urlsafe(32),
    }
    storage_base = key_file.with_suffix("") if key_file else tmp
    configure_environment(
        url,
        storage_base,
        keys["KIMDB_ENCRYPTION_KEYS"],
        blind_index_key=keys["KIMDB_BLIND_INDEX_KEY"],
        secret_key=keys["KIMDB_SECRET_KEY"],
    )
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from kimdb import create_app
    from kimdb.clients.models import Client
    from kimdb.extensions import db

    app = create_app()
    wanted = f"{args.scale}-seed-{args.seed}"
    with app.app_context():
        upgrade()
        clients = db.session.scalar(select(func.count(Client.id)))
        db.session.remove()
    if clients:
        if stored.get("BENCH_DATA") != wanted:
            raise SystemExit(
                f"{url} holds {clients} clients but not the generated data '{wanted}' "
                f"(key file {key_file}: {stored.get('BENCH_DATA', 'none')}); "
                "drop the database or choose another one"
            )
        data = f"reused {wanted} ({clients} clients)"
        refreshed = refresh_stale_report_facts(app)
        if refreshed:
            data += f"; {refreshed}"
    else:
        started = time.perf_counter()
        runner = app.test_cli_runner()
        command = ["kimdb", "demo"] if args.scale == "demo" else ["kimdb", "seed"]
        if args.scale != "demo":
            command += ["--scale", args.scale, "--seed", str(args.seed)]
        result = runner.invoke(args=command, catch_exceptions=False)
        if result.exit_code != 0:
            raise SystemExit(f"flask {' '.join(command)} failed:\n{result.output}")
        if key_file:
            write_key_file(key_file, {**keys, "BENCH_DATA": wanted})
        data = f"seeded {wanted} in {time.perf_counter() - started:.0f} s"
    env = {k: v for k, v in os.environ.items() if k.startswith("KIMDB_")}
    return Instance(app, url, env, data)


def refresh_stale_report_facts(app) -> str:
    """Run ``flask kimdb refresh-report-facts`` on a reused database whose state-report facts
    a report of last year could not use now (none, older than ``FACTS_MAX_AGE``, or a cap
    below ``KIMDB_STATS_MIN_CELL``: ``kimdb.reports.facts.usable``), as the nightly job of an
    installation would have; return a note for the header ("" when they were usable).
    Raises SystemExit if the refresh fails."""
    from kimdb.extensions import db
    from kimdb.reports import facts
    from kimdb.reports.rules import parse_period
    from kimdb.timeutil import today

    with app.app_context():
        last_year = parse_period("year", today().year - 1)
        refresh = facts.usable(db.session.connection(), last_year, app.config["STATS_MIN_CELL"])
        db.session.remove()
    if refresh is not None:
        return ""
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(
        args=["kimdb", "refresh-report-facts"], catch_exceptions=False
    )
    if result.exit_code != 0:
        raise SystemExit(f"flask kimdb refresh-report-facts failed:\n{result.output}")
    return f"report facts were stale: refreshed in {time.perf_counter() - started:.0f} s"


# -- Subjects: who and what is measured, chosen by SQL ------------------------------------------


@dataclasses.dataclass(frozen=True)
class Subjects:
    """The users, case, name and year the pages are measured with."""

    case_manager: str
    case_manager_id: int
    open_cases: int
    case_id: int
    case_entries: int
    family_name: str
    supervisor: str
    supervisor_id: int
    organisation_open: int
    state_user: str
    year: int
    sizes: str  # clients, cases, consultations in the database


def choose_subjects(app) -> Subjects:
    """Pick the subjects by SQL (see the module docstring); raise SystemExit if one is missing."""
    from sqlalchemy import func, literal_column, select, union_all

    from kimdb.auth.models import Role, Supervision, User
    from kimdb.cases.models import (
        Case,
        Consultation,
        FollowUp,
        Goal,
        Need,
        Note,
        Referral,
    )
    from kimdb.cases.rules import Stage
    from kimdb.clients.models import Client
    from kimdb.extensions import db
    from kimdb.timeutil import today

    with app.app_context():
        session = db.session
        open_ = Case.stage != Stage.CLOSED
        row = session.execute(
            select(User.id, User.username, func.count(Case.id).label("n"))
            .join(Case, Case.owner_id == User.id)
            .where(User.role == Role.CASE_MANAGER, User.active.is_(True), open_)
            .group_by(User.id, User.username)
            .order_by(literal_column("n").desc(), User.id)
            .limit(1)
        ).first()
        if row is None:
            raise SystemExit("no case manager with open cases in this database")
        cm_id, cm_name, n_open = row
        parts = [
            select(model.case_id.label("case_id"))
            for model in (Consultation, Note, Need, Goal, Referral, FollowUp)
        ]
        entries = union_all(*parts).subquery()
        row = session.execute(
            select(Case.id, func.count(entries.c.case_id).label("n"))
            .outerjoin(entries, entries.c.case_id == Case.id)
            .where(Case.owner_id == cm_id, open_)
            .group_by(Case.id)
            .order_by(literal_column("n").desc(), Case.id)
            .limit(1)
        ).first()
        case_id, n_entries = row
        family = None
        for client in session.scalars(
            select(Client)
            .join(Case, Case.client_id == Client.id)
            .where(Case.owner_id == cm_id, open_, Client.erased_at.is_(None))
            .order_by((Case.id == case_id).desc(), Case.id)
            .limit(50)
        ):
            if client.family_name and re.fullmatch(r"[^\s,-]+", client.family_name):
                family = client.family_name
                break
        if family is None:
            raise SystemExit("no one-word family name among the case manager's clients")
        org_id, org_open = session.execute(
            select(Case.organisation_id, func.count(Case.id).label("n"))
            .where(open_)
            .group_by(Case.organisation_id)
            .order_by(literal_column("n").desc(), Case.organisation_id)
            .limit(1)
        ).one()
        supervisor = session.execute(
            select(User.id, User.username)
            .join(Supervision, Supervision.supervisor_id == User.id)
            .where(
                Supervision.organisation_id == org_id,
                User.role == Role.SUPERVISOR,
                User.active.is_(True),
            )
            .order_by(User.id)
            .limit(1)
        ).first()
        if supervisor is None:
            raise SystemExit(f"no supervisor of organisation {org_id}")
        state_user = session.scalar(
            select(User.username)
            .where(User.role == Role.STATE, User.active.is_(True))
            .order_by(User.id)
            .limit(1)
        )
        if state_user is None:
            raise SystemExit("no user of the state in this database")
        counts = [
            session.scalar(query)
            for query in (
                select(func.count(Client.id)),
                select(func.count(Case.id)),
                select(func.count(Case.id)).where(open_),
                select(func.count(Consultation.id)),
            )
        ]
        sizes = "{} clients, {} cases ({} open), {} consultations".format(*counts)
        db.session.remove()
    return Subjects(
        case_manager=cm_name,
        case_manager_id=cm_id,
        open_cases=n_open,
        case_id=case_id,
        case_entries=n_entries,
        family_name=family,
        supervisor=supervisor.username,
        supervisor_id=supervisor.id,
        organisation_open=org_open,
        state_user=state_user,
        year=today().year - 1,
        sizes=sizes,
    )


# -- Login through the real form -------------------------------------------------------------


def credentials(username: str, demo: bool) -> tuple[str, str | None]:
    """Return (password, TOTP secret or None) of a generated or demo account."""
    if demo:
        from kimdb.demo import DEMO_PASSWORD, DEMO_TOTP_SECRETS

        return DEMO_PASSWORD, DEMO_TOTP_SECRETS.get(username)
    from kimdb.seed import SEED_PASSWORD, seed_totp_secret

    return SEED_PASSWORD, seed_totp_secret(username)


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str) -> str:
    """Return the CSRF token of the (first) form in ``html``."""
    match = CSRF.search(html) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if not match:
        raise SystemExit("no CSRF token in the login page")
    return match.group(1)


def login(app, username: str, demo: bool):
    """Return a test client logged in as ``username`` through ``/login`` (and ``/login/code``
    with the current TOTP code; a code already used in this 30-s step is retried in the next).
    Raises SystemExit if the login fails."""
    import pyotp

    password, secret = credentials(username, demo)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page)},
    )
    if response.status_code != 302:
        raise SystemExit(f"login of {username} refused ({response.status_code})")
    if "/login/code" in response.headers["Location"]:
        if secret is None:
            raise SystemExit(f"{username} needs a TOTP code but has no known secret")
        for _attempt in range(2):
            page = client.get("/login/code").get_data(as_text=True)
            response = client.post(
                "/login/code",
                data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(page)},
            )
            if response.status_code == 302:
                break
            time.sleep(30.5 - time.time() % 30)  # the code of this step was used: next step
        else:
            raise SystemExit(f"TOTP code of {username} refused")
    elif "/login/enrol" in response.headers["Location"]:
        raise SystemExit(f"{username} has no TOTP set up")
    return client


# -- Measuring ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Page:
    """One daily page: its row title, who reads it, its URL and its floor."""

    title: str
    role: str  # "case_manager", "supervisor", "state"
    url: Callable[[Subjects], str]
    floor: Callable[[object, Subjects], str]
    report: bool = False


def _pages() -> list[Page]:
    import floor

    from kimdb.timeutil import today

    return [
        Page(
            "start page (case manager)",
            "case_manager",
            lambda s: "/",
            lambda c, s: floor.start_page(c, s.case_manager_id, today()),
        ),
        Page(
            "own case list",
            "case_manager",
            lambda s: "/cases/?include_closed=y",
            lambda c, s: floor.case_list(c, s.case_manager_id),
        ),
        Page(
            "case page",
            "case_manager",
            lambda s: f"/cases/{s.case_id}",
            lambda c, s: floor.case_page(c, s.case_id),
        ),
        Page(
            "case timeline",
            "case_manager",
            lambda s: f"/cases/{s.case_id}/timeline",
            lambda c, s: floor.timeline(c, s.case_id),
        ),
        Page(
            "search by name",
            "case_manager",
            lambda s: "/cases/?" + urllib.parse.urlencode({"name": s.family_name}),
            lambda c, s: floor.name_search(c, s.case_manager_id, s.family_name),
        ),
        Page(
            "supervisor dashboard",
            "supervisor",
            lambda s: "/",
            lambda c, s: floor.dashboard(c, s.supervisor_id, today()),
        ),
        Page(
            "statistics report (state)",
            "state",
            lambda s: f"/reports/view?scope=state&kind=year&year={s.year}",
            lambda c, s: floor.report(c, s.year),
            report=True,
        ),
    ]


@dataclasses.dataclass(frozen=True)
class Result:
    """Figures of one page: seconds per request of kimdb and of the floor, statements."""

    page: Page
    kimdb: list[float]
    floor: list[float]
    statements: int
    statements_range: tuple[int, int]


def p95(values: list[float]) -> float:
    """Return the 95th percentile (inclusive method) of ``values``."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[94]


class ServerClock:
    """WSGI middleware that times each call of the app it wraps, in seconds: from the call to
    its return. Flask renders the whole body and tears the request down (session, database
    connection back to the pool) before ``wsgi_app`` returns, so this is the server-side time
    of a request; the test client's building of the request and reading of the response lie
    outside it."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.last: float | None = None

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            self.last = time.perf_counter() - started


def measure(app, page: Page, client, subjects: Subjects, n: int) -> Result:
    """Time ``n`` GETs of ``page`` with ``client`` and ``n`` runs of its floor, taken in turns
    (a GET, a floor run, a GET, ...): on a shared virtual machine whose speed drifts within a
    run, both are measured under the same conditions, so their ratio does not depend on which
    came first."""
    from sqlalchemy import event

    from kimdb.extensions import db

    url = page.url(subjects)
    counter = [0]

    def count(*_args):
        counter[0] += 1

    def run_floor() -> str:
        conn = db.engine.raw_connection()
        try:
            return page.floor(conn, subjects)
        finally:
            conn.close()

    with app.app_context():
        engine = db.engine
    clock = app.wsgi_app = ServerClock(app.wsgi_app)
    event.listen(engine, "before_cursor_execute", count)
    times, statements, floor_times, html = [], [], [], ""
    try:
        for _ in range(WARM_UP):
            response = client.get(url)
            with app.app_context():
                run_floor()
        if response.status_code != 200:
            raise SystemExit(f"{page.title}: GET {url} answered {response.status_code}")
        for _ in range(n):
            counter[0] = 0
            response = client.get(url)
            times.append(clock.last)
            statements.append(counter[0])
            if response.status_code != 200:
                raise SystemExit(f"{page.title}: GET {url} answered {response.status_code}")
            with app.app_context():  # the floor's raw DBAPI cursor is not counted
                started = time.perf_counter()
                html = run_floor()
                floor_times.append(time.perf_counter() - started)
    finally:
        event.remove(engine, "before_cursor_execute", count)
        app.wsgi_app = clock.wsgi_app
    assert html or not n  # noqa: S101 - a floor renders something
    return Result(page, times, floor_times, statements[-1], (min(statements), max(statements)))


def ms(seconds: float) -> str:
    """Seconds as milliseconds with one decimal."""
    return f"{seconds * 1000:.1f}"


def print_table(results: list[Result]) -> None:
    """Print one row per page: kimdb and floor median/p95 (ms), ratio of the p95s, statements,
    and the target checks."""
    print()
    print(
        f"{'page':<28} {'kimdb med':>10} {'kimdb p95':>10} {'floor med':>10} {'floor p95':>10} "
        f"{'ratio p95':>9} {'stmts':>6}  n    targets"
    )
    for r in results:
        kimdb_p95, floor_p95 = p95(r.kimdb), p95(r.floor)
        ratio = kimdb_p95 / floor_p95 if floor_p95 else float("inf")
        if r.page.report:
            checks = f"< 1 s {'✓' if kimdb_p95 < REPORT_TARGET_S else '✗'}"
        else:
            checks = (
                f"< 50 ms {'✓' if kimdb_p95 < PAGE_TARGET_S else '✗'}  "
                f"≤ 3× {'✓' if ratio <= FLOOR_FACTOR else '✗'}"
            )
        digits = 1 if ratio >= 0.1 else 2  # the report from facts: 0.05×, not 0.0×
        low, high = r.statements_range
        stmts = str(r.statements) if low == high else f"{low}-{high}"
        print(
            f"{r.page.title:<28} {ms(statistics.median(r.kimdb)):>10} {ms(kimdb_p95):>10} "
            f"{ms(statistics.median(r.floor)):>10} {ms(floor_p95):>10} {ratio:>8.{digits}f}× "
            f"{stmts:>6}  {len(r.kimdb):<4} {checks}"
        )
    print("times in ms, server-side; ratio = kimdb p95 / floor p95; stmts = SQL statements of a")
    print("request (a range where requests differ)")


def measure_request_sql(app, page: Page, client, subjects: Subjects, n: int) -> dict:
    """Replay the SQL of one request of ``page`` (PostgreSQL only) on a raw DBAPI connection,
    ``n`` times, without any of kimdb's Python: the statements as kimdb sent them in one
    transaction with its BEGIN and COMMIT, as the request has them (the read's audit entry
    commits the request's transaction). Returns {"all": times, "fixed": times} in
    seconds: every statement of the request, and only the first and the last (the login
    check and the read's audit entry, which every audited page runs). Shows how much of 3x
    a floor is left for the rest of a request. Writes audit entries, as the pages do."""
    from sqlalchemy import event

    from kimdb.extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return {}
    seen: list[tuple[str, dict]] = []

    def capture(_conn, _cursor, statement, parameters, *_args):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        client.get(page.url(subjects))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    times: dict[str, list[float]] = {"all": [], "fixed": []}
    with app.app_context():
        conn = db.engine.raw_connection()
        try:
            cursor = conn.cursor()
            for _ in range(WARM_UP + n):
                for part, statements in (("all", seen), ("fixed", [seen[0], seen[-1]])):
                    started = time.perf_counter()
                    for statement, parameters in statements:
                        cursor.execute(statement, parameters)
                        cursor.fetchall()
                    conn.commit()
                    times[part].append(time.perf_counter() - started)
        finally:
            conn.close()
    return {part: values[WARM_UP:] for part, values in times.items()}


def print_request_sql(page: Page, times: dict, floor: Result | None) -> None:
    """Print the figures of ``measure_request_sql`` for ``page`` (ms), against 3x its floor."""
    if not times:
        return
    limit = f"; 3x its floor's p95: {ms(FLOOR_FACTOR * p95(floor.floor))}" if floor else ""
    print(f"SQL alone of one '{page.title}' request, replayed on a raw connection{limit}")
    for part, label in (
        ("all", "all its statements with BEGIN and COMMIT"),
        ("fixed", "only the login check and the audit entry"),
    ):
        values = times[part]
        print(f"  {label:<44} med {ms(statistics.median(values))}  p95 {ms(p95(values))}")


# -- wrk against gunicorn ---------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(target: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start gunicorn with 2 workers serving ``target``; return the process and its base URL
    once it answers. Raises SystemExit if it does not start within 30 s."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "-w",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            target,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/login", timeout=2)  # noqa: S310 - local http
            return process, base
        except urllib.error.HTTPError:
            return process, base  # it answers (the floor app has no /login)
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn {target} did not start")


def http_login(base: str, username: str, password: str) -> str:
    """Log in through the login form over HTTP; return the session cookie as a header value."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()  # noqa: S310 - local http
    data = urllib.parse.urlencode(
        {"username": username, "password": password, "csrf_token": csrf_token(page)}
    ).encode()
    response = opener.open(base + "/login", data=data)  # noqa: S310 - local http
    if urllib.parse.urlsplit(response.geturl()).path == "/login":
        raise SystemExit(f"HTTP login of {username} failed")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def check_page(base: str, path: str, cookie: str) -> None:
    """Raise SystemExit unless GET ``path`` answers 200 without a redirect (logged in)."""
    request = urllib.request.Request(base + path, headers={"Cookie": cookie})  # noqa: S310

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        response = urllib.request.build_opener(NoRedirect).open(request)
    except urllib.error.HTTPError as error:
        raise SystemExit(f"GET {base}{path} answered {error.code}") from error
    if response.status != 200:
        raise SystemExit(f"GET {base}{path} answered {response.status}")


def wrk(url: str, cookie: str | None, seconds: int) -> tuple[float, str]:
    """Run ``wrk -t2 -c8`` for ``seconds`` against ``url``; return (requests/s, a note of
    socket errors such as timeouts of more than 2 s and of answers other than 2xx/3xx, else
    ""). Raises SystemExit if more than 1 % of the answers were errors (the rate would then
    measure error pages)."""
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(  # noqa: S603 - our own command line
        [*command, url], capture_output=True, text=True, check=True
    ).stdout
    total = int(re.search(r"(\d+) requests in", output).group(1))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    failed = int(failed.group(1)) if failed else 0
    if failed > total / 100:
        raise SystemExit(f"wrk against {url} saw errors:\n{output}")
    notes = [m.group(1) for m in re.finditer(r"Socket errors: (.*)", output)]
    if failed:
        notes.append(f"{failed} of {total} answers not 2xx/3xx")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return rate, "; ".join(notes)


def worker_rss_mib(master: int) -> list[float]:
    """Return the resident memory (VmRSS, MiB) of each child process of ``master``."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        kib = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        sizes.append(kib / 1024)
    return sizes


def run_wrk(instance: Instance, subjects: Subjects, demo: bool, seconds: int) -> None:
    """Requests/s of the case list and the start page, kimdb against the floor app, and the
    resident memory of kimdb's workers; prints them."""
    if not shutil.which("wrk"):
        print("wrk not installed: skipped")
        return
    env = {
        **instance.env,
        "KIMDB_SESSION_IDLE_MINUTES": "600",
        "BENCH_FLOOR_USER_ID": str(subjects.case_manager_id),
    }
    kimdb, kimdb_base = start_gunicorn("wsgi:app", env)
    # The floor is no Flask app: gunicorn.conf.py's post_fork hook only runs when preloading.
    bare, bare_base = start_gunicorn("bench.floor:app", {**env, "KIMDB_PRELOAD": "false"})
    try:
        password, _secret = credentials(subjects.case_manager, demo)
        cookie = http_login(kimdb_base, subjects.case_manager, password)
        rows = []
        for title, path in (("own case list", "/cases/"), ("start page", "/")):
            kimdb_path = "/cases/?include_closed=y" if path == "/cases/" else path
            check_page(kimdb_base, kimdb_path, cookie)
            ours, our_errors = wrk(kimdb_base + kimdb_path, cookie, seconds)
            theirs, their_errors = wrk(bare_base + path, None, seconds)
            rows.append((title, ours, theirs, our_errors, their_errors))
        rss = worker_rss_mib(kimdb.pid)
        floor_rss = worker_rss_mib(bare.pid)
    finally:
        for process in (kimdb, bare):
            process.terminate()
            process.wait(timeout=30)
    print(f"\nwrk -t2 -c8 -d{seconds}s, gunicorn -w 2 (requests/s)")
    print(f"{'page':<28} {'kimdb':>8} {'floor':>8} {'share':>7}  target")
    for title, ours, theirs, our_errors, their_errors in rows:
        share = ours / theirs if theirs else 0
        check = f"≥ 40 % {'✓' if share >= WRK_SHARE else '✗'}" if title == "own case list" else ""
        print(f"{title:<28} {ours:>8.1f} {theirs:>8.1f} {share:>6.0%}  {check}")
        for who, errors in (("kimdb", our_errors), ("floor", their_errors)):
            if errors:
                print(f"  {who}: socket errors {errors}")
    print("resident memory per worker (MiB): kimdb " + ", ".join(f"{m:.0f}" for m in rss))
    print("                                  floor " + ", ".join(f"{m:.0f}" for m in floor_rss))


# -- Main --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    """Run the benchmark; return the exit status (0; failures raise SystemExit)."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kimdb-bench-") as name:
        instance = prepare_instance(args, Path(name))
        app = instance.app
        subjects = choose_subjects(app)
        demo = args.scale == "demo"
        engine_name = instance.url.split(":", 1)[0].split("+")[0]
        print(f"kimdb pages benchmark, {dt.date.today()}, scale {args.scale} on {engine_name}")
        print(f"data: {instance.data}; {subjects.sizes}")
        print(
            f"case manager {subjects.case_manager} ({subjects.open_cases} open cases, the "
            f"largest caseload); case {subjects.case_id} ({subjects.case_entries} entries); "
            f"search '{subjects.family_name}'; supervisor {subjects.supervisor} (organisation "
            f"with {subjects.organisation_open} open cases); report: {subjects.state_user}, "
            f"state, {subjects.year}"
        )
        clients = {
            "case_manager": login(app, subjects.case_manager, demo),
            "supervisor": login(app, subjects.supervisor, demo),
            "state": login(app, subjects.state_user, demo),
        }
        results = []
        for page in _pages():
            if args.page and not any(part in page.title for part in args.page):
                continue
            n = args.report_requests if page.report else args.requests
            results.append(measure(app, page, clients[page.role], subjects, n))
            print(f"  measured {page.title}", file=sys.stderr)
        print_table(results)
        searches = [r for r in results if r.page.title == "search by name"]
        for result in searches:
            times = measure_request_sql(app, result.page, clients["case_manager"], subjects, 200)
            print_request_sql(result.page, times, result)
        if not args.no_wrk:
            run_wrk(instance, subjects, demo, args.wrk_seconds)
        with app.app_context():
            from kimdb.extensions import db

            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
