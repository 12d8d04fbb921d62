"""Benchmark of the statistics report (issue 7 contract "computed in SQL aggregates; a benchmark
prints its time"; issue 8 "the statistics report under 1 s"): prints figures.

Fills the database with ``flask kimdb seed`` (``kimdb/seed``: ``--scale county`` by default,
about 38,000 cases; ``--scale state`` is issue 8's statewide installation of 400,000 cases and
about 4 M consultations; ``--cases N`` overrides the scale's total), then times
``kimdb.reports.service.build_report`` for the state and for the municipality with the most
cases over the last full year: median of ``--runs`` runs, in seconds, the number of SQL
statements one report issues (counted with an engine event listener) and, on a local
PostgreSQL, the CPU seconds of the server backend. ``--statements`` prints each statement's
time (last run), ``--explain S`` the EXPLAIN ANALYZE of those slower than S seconds,
``--serial`` turns parallel workers off (the CPU figure is then all the work: a measure that
holds on a shared machine).

Usage (from the repository root):
    .venv/bin/python bench/reports.py                    # temporary SQLite database
    .venv/bin/python bench/reports.py --scale state --key-file /tmp/bench.key \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/kimdb_bench
    .venv/bin/python bench/reports.py --reuse --key-file /tmp/bench.key --statements \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/kimdb_bench

Without ``--reuse`` the database must exist and hold no clients; the schema is built by the
migrations and the data stay there, to be timed again with ``--reuse`` (the key file keeps the
encryption key; the report itself never decrypts). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from environment import configure_environment, encryption_key  # noqa: E402 - also puts kimdb on the path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", choices=("tiny", "county", "state"), default="county", help="kimdb seed scale"
    )
    parser.add_argument("--cases", type=int, help="total cases instead of the scale's")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (1)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the report on the already generated database --database-url (no generation)",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        help="encryption key of the database: read if the file exists, else written (mode 600)",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="timed runs per scope; the median is printed (3)"
    )
    parser.add_argument(
        "--statements", action="store_true", help="print each statement's time (last run)"
    )
    parser.add_argument(
        "--serial",
        action="store_true",
        help="PostgreSQL: no parallel workers, so the CPU time printed is all the work",
    )
    parser.add_argument(
        "--explain",
        type=float,
        metavar="SECONDS",
        help="PostgreSQL: print EXPLAIN ANALYZE of the statements slower than SECONDS",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.reuse and not args.database_url:
        raise SystemExit("--reuse needs --database-url (the generated database)")
    tmp = Path(tempfile.mkdtemp(prefix="kimdb-bench-reports-"))
    configure_environment(args.database_url, tmp, encryption_key(args.key_file))
    from flask_migrate import upgrade
    from sqlalchemy import event

    from kimdb import create_app
    from kimdb.extensions import db
    from kimdb.reports.model import Scope, ScopeKind
    from kimdb.reports.queries import report_connection
    from kimdb.reports.rules import parse_period
    from kimdb.reports.service import build_report
    from kimdb.seed.service import seed

    app = create_app("development")
    with app.app_context():
        if not args.reuse:
            upgrade()
            summary = seed(args.scale, args.seed, args.cases)
            print("\n".join(summary.lines()))
        municipality, name = busiest_municipality(db)
        print(db.engine.dialect.name, db.engine.url.render_as_string(hide_password=True))
        postgresql = db.engine.dialect.name == "postgresql"
        if postgresql and args.serial:

            @event.listens_for(db.engine, "connect")
            def serial(dbapi_connection, _record):
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SET max_parallel_workers_per_gather = 0")

            db.engine.dispose()
        statements: list[tuple[str, str, object, float]] = []
        started: list[float] = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def before(*_args):
            started.append(time.perf_counter())

        @event.listens_for(db.engine, "after_cursor_execute")
        def after(_conn, _cursor, statement, parameters, *_args):
            statements.append(
                (caller(), statement, parameters, time.perf_counter() - started.pop())
            )

        year = dt.date.today().year - 1
        period = parse_period("year", year)
        for scope in (
            Scope(ScopeKind.STATE, None, "NRW"),
            Scope(ScopeKind.MUNICIPALITY, municipality, name),
        ):
            timings, cpu = [], []
            for _ in range(args.runs):
                backend = server_cpu(db) if postgresql else None
                statements.clear()
                db.session.expire_all()
                begin = time.perf_counter()
                report = build_report(scope, period, 5)
                timings.append(time.perf_counter() - begin)
                if backend is not None:
                    cpu.append(backend() - backend.start)
                db.session.rollback()
            opened = report.table("cases_by_kind").row_totals[1].value
            print(
                f"  {scope.kind.value:13} {scope.label} {year}: "
                f"median {statistics.median(timings):.3f} s "
                f"(runs {', '.join(f'{t:.3f}' for t in timings)}), {len(statements)} statements, "
                f"{len(report.tables)} tables; new cases {opened}"
            )
            if cpu:
                print(
                    f"  {'':13} server CPU (backend{'' if args.serial else ' only'}): median "
                    f"{statistics.median(cpu):.3f} s; load average {os.getloadavg()[0]:.1f}"
                )
            slow = []
            for function, statement, parameters, seconds in list(statements):
                if args.statements:
                    first = " ".join(statement.split())[:70]
                    print(f"    {seconds:7.3f} s  {function:24} {first}")
                if args.explain is not None and seconds > args.explain:
                    slow.append((function, statement, parameters))
            for function, statement, parameters in slow:
                print(f"--- EXPLAIN ANALYZE {function}\n{statement}\n{parameters}")
                with report_connection() as conn:  # with the report's settings
                    cursor = conn.connection.driver_connection.cursor()
                    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
                    print("\n".join(row[0] for row in cursor.fetchall()))
                db.session.rollback()


def busiest_municipality(db) -> tuple[int, str]:
    """Return the id and name of the municipality whose organisations hold the most cases."""
    from sqlalchemy import func, select

    from kimdb.cases.models import Case
    from kimdb.orgs.models import Municipality, Organisation

    return db.session.execute(
        select(Municipality.id, Municipality.name)
        .join(Organisation, Organisation.municipality_id == Municipality.id)
        .join(Case, Case.organisation_id == Organisation.id)
        .group_by(Municipality.id, Municipality.name)
        .order_by(func.count().desc(), Municipality.id)
        .limit(1)
    ).one()


def server_cpu(db):
    """A function returning the CPU seconds (user + system) the PostgreSQL backend of the
    session has used so far, read from /proc (a local server), with the value now as its
    ``start``; None where /proc of the backend cannot be read."""
    from sqlalchemy import text

    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    used.start = used()
    return used


def caller() -> str:
    """The name of the innermost ``kimdb.reports`` function on the stack (which part of the
    report issued a statement)."""
    import sys

    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("kimdb.reports"):
            return frame.f_code.co_name
        frame = frame.f_back
    return "?"


if __name__ == "__main__":
    main()
