"""Benchmark of the statistics report (issue 7 contract "computed in SQL aggregates; a benchmark
prints its time"; issue 8 "the statistics report under 1 s"): prints figures.

Generates N cases (default 20,000; ``--cases 400000`` for the statewide scale of issue 8: about
1,000 case managers, 53 counties, 5 years, ~10 consultations a case, so ~4 M consultations) with
their clients, consents, stage changes, needs, referrals and consultations by bulk inserts
(SQLAlchemy Core, prepared rows; the consultations by COPY on PostgreSQL, in the order entered),
then times ``kimdb.reports.service.build_report`` for the state and for one municipality over
one year: median of ``--runs`` runs, in seconds, the number of SQL statements one report issues
(counted with an engine event listener) and, on a local PostgreSQL, the CPU seconds of the
server backend. ``--statements`` prints each statement's time (last run), ``--explain S``
the EXPLAIN ANALYZE of those slower than S seconds, ``--serial`` turns parallel workers off (the
CPU figure is then all the work: a measure that holds on a shared machine).

Usage (from the repository root):
    .venv/bin/python bench/reports.py                    # temporary SQLite database
    .venv/bin/python bench/reports.py --cases 400000 --key-file /tmp/bench.key \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/kimdb_bench
    .venv/bin/python bench/reports.py --reuse --key-file /tmp/bench.key --statements \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/kimdb_bench

Without ``--reuse`` the database must exist and be empty; the schema is built by the
migrations and the data stay there, to be timed again with ``--reuse`` (the key file keeps the
encryption key; the report itself never decrypts). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from environment import configure_environment  # noqa: E402 - also puts kimdb on the path

CHUNK = 5000
DURATIONS = (30, 45, 60)
LAGS = (0, 0, 0, 1, 3)  # days between holding and entering a consultation
CONSULTATION_COLUMNS = (
    "case_id",
    "held_on",
    "duration_minutes",
    "mode",
    "interpreter_used",
    "interpreter_language",
    "entered_by_id",
    "entered_at",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000, help="cases to generate (20000)")
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


def encryption_key(path: Path | None) -> str | None:
    """The key stored in ``path``, or a new one written there (None: no file, a random key)."""
    if path is None:
        return None
    if path.exists():
        return path.read_text().strip()
    from kimdb.crypto import generate_key

    key = generate_key()
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def insert(conn, table, rows: list[dict]) -> None:
    """Insert ``rows`` into ``table`` in chunks (executemany)."""
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[start : start + CHUNK])


def insert_consultations(conn, table, rows: list[tuple]) -> None:
    """Insert consultation ``rows`` (tuples in ``CONSULTATION_COLUMNS`` order): PostgreSQL by
    COPY (4 M rows in about a minute instead of ten), SQLite by executemany."""
    if conn.dialect.name != "postgresql":
        insert(conn, table, [dict(zip(CONSULTATION_COLUMNS, row, strict=True)) for row in rows])
        return
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(
        f"COPY consultations ({', '.join(CONSULTATION_COLUMNS)}) FROM STDIN"  # noqa: S608
    ) as copy:
        for row in rows:
            copy.write_row(row)


def generate(db, n_cases: int, seed: int = 7) -> int:
    """Insert ``n_cases`` cases with everything the report reads; return the municipality id
    of the first county. Encrypted text columns get the same short text (encrypted per row by
    the column type; the report never decrypts)."""
    from kimdb.auth.models import FtePeriod, User
    from kimdb.cases.models import (
        Case,
        Consultation,
        ConsultationMode,
        LegalDomain,
        LifeArea,
        Need,
        Referral,
        ReferralStatus,
        StageChange,
    )
    from kimdb.cases.rules import CaseKind, ClosureReason, Stage
    from kimdb.clients.models import Client, Gender, ResidenceStatus
    from kimdb.consent.models import Consent
    from kimdb.orgs.models import Municipality, Organisation, Partner

    rnd = random.Random(seed)  # noqa: S311 - generated test data, not secrets
    moment = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
    n_municipalities = 53 if n_cases >= 100000 else 10
    n_users = max(10, n_cases // 400)  # ~1,000 case managers statewide (issue 8)
    orgs_per = 3
    municipalities = [
        {"id": i + 1, "name": f"Kreis {i + 1}", "kind": "county"} for i in range(n_municipalities)
    ]
    organisations = [
        {
            "id": m * orgs_per + k + 1,
            "name": f"Träger {k}",
            "kind": "integration_centre",
            "municipality_id": m + 1,
        }
        for m in range(n_municipalities)
        for k in range(orgs_per)
    ]
    n_orgs = len(organisations)
    users = [
        {
            "id": u + 1,
            "username": f"cm{u}",
            "display_name": f"CM {u}",
            "password_hash": "x",
            "role": "case_manager",
            "organisation_id": u % n_orgs + 1,
            "active": True,
            "session_token": "",
        }
        for u in range(n_users)
    ]
    fte = [
        {"user_id": u + 1, "fte": rnd.choice([0.5, 0.75, 1.0]), "valid_from": dt.date(2020, 1, 1)}
        for u in range(n_users)
    ]
    partners = [
        {
            "id": o + 1,
            "organisation_id": o + 1,
            "name": "Jobcenter",
            "kind": "authority",
            "legal_domain": "sgb_ii",
        }
        for o in range(n_orgs)
    ]
    modes = [m.value for m in ConsultationMode]  # plain strings for COPY
    countries = ["SY", "UA", "TR", "IQ", "AF", "IR", "RO", "PL", "ER", "RU"]
    consents, clients, cases, changes, needs, referrals, consultations = [], [], [], [], [], [], []
    for i in range(n_cases):
        cid = i + 1
        owner = rnd.randrange(n_users) + 1
        org = (owner - 1) % n_orgs + 1
        opened = dt.date(2021, 1, 1) + dt.timedelta(days=rnd.randrange(5 * 365))
        closed = None
        if rnd.random() < 0.85:
            closed = opened + dt.timedelta(days=rnd.randrange(1, 400))
            if closed > dt.date(2025, 12, 31):
                closed = None
        kind = CaseKind.CASE_MANAGEMENT if rnd.random() < 0.35 else CaseKind.SHORT_COUNSELLING
        consents.append(
            {
                "id": cid,
                "form_version": "2026-01",
                "form_language": "de",
                "signed_on": opened,
                "processing_agreed": True,
                "scan_key": None,
                "scan_media_type": "application/pdf",
                "scan_size": 1,
                "recorded_by_id": owner,
                "recorded_at": moment,
                "withdrawn_at": moment if rnd.random() < 0.01 else None,
            }
        )
        clients.append(
            {
                "id": cid,
                "consent_id": cid,
                "organisation_id": org,
                "gender": rnd.choice(list(Gender)),
                "country_of_origin": rnd.choice(countries),
                "languages": "ar",
                "residence_status": rnd.choice(list(ResidenceStatus)),
                "birth_year": rnd.randint(1940, 2012),
                "registered_by_id": owner,
                "registered_at": moment,
            }
        )
        cases.append(
            {
                "id": cid,
                "client_id": cid,
                "owner_id": owner,
                "organisation_id": org,
                "kind": kind,
                "stage": Stage.CLOSED if closed else Stage.INTAKE,
                "opened_on": opened,
                "closed_on": closed,
                "closure_reason": rnd.choice(list(ClosureReason)) if closed else None,
                "last_activity_on": closed or opened,
                "version_id": 1,
            }
        )
        opened_at = dt.datetime.combine(opened, dt.time(9), dt.UTC)
        changes.append(
            {
                "case_id": cid,
                "from_stage": None,
                "to_stage": Stage.INTAKE,
                "changed_by_id": owner,
                "changed_at": opened_at,
            }
        )
        if closed:
            changes.append(
                {
                    "case_id": cid,
                    "from_stage": Stage.INTAKE,
                    "to_stage": Stage.CLOSED,
                    "changed_by_id": owner,
                    "changed_at": dt.datetime.combine(closed, dt.time(9), dt.UTC),
                }
            )
        for _ in range(rnd.randint(1, 2)):
            needs.append(
                {
                    "case_id": cid,
                    "life_area": rnd.choice(list(LifeArea)),
                    "legal_domain": rnd.choice([*LegalDomain, None]),
                    "description": "x",
                    "in_focus": False,
                    "recorded_by_id": owner,
                    "recorded_at": opened_at,
                }
            )
        if rnd.random() < 0.5:
            referrals.append(
                {
                    "case_id": cid,
                    "partner_id": org,
                    "referred_on": opened,
                    "purpose": "x",
                    "status": rnd.choice(list(ReferralStatus)),
                    "passes_data": False,
                    "verweisberatung": True,
                    "recorded_by_id": owner,
                    "recorded_at": opened_at,
                    "updated_at": opened_at,
                }
            )
        # ~10 consultations per case on average (issue 8: 4 M for 400,000 cases): CM cases
        # 5-35 (mean 20), short counselling 2-7 (mean 4.5), spread over the time the case is open.
        last_day = closed or dt.date(2025, 12, 31)
        if kind is CaseKind.CASE_MANAGEMENT:
            n_consultations = rnd.randint(5, 35)
        else:
            n_consultations = rnd.randint(2, 7)
        span = max(1, (last_day - opened).days + 1)
        for _ in range(n_consultations):
            held = opened + dt.timedelta(days=rnd.randrange(span))
            consultations.append(
                (
                    cid,
                    held,
                    rnd.choice(DURATIONS),
                    rnd.choice(modes),
                    rnd.random() < 0.3,
                    "ar" if rnd.random() < 0.3 else None,
                    owner,
                    dt.datetime.combine(
                        held + dt.timedelta(days=rnd.choice(LAGS)), dt.time(10), dt.UTC
                    ),
                )
            )
    with db.engine.begin() as conn:
        for table, rows in (
            (Municipality.__table__, municipalities),
            (Organisation.__table__, organisations),
            (User.__table__, users),
            (FtePeriod.__table__, fte),
            (Partner.__table__, partners),
            (Consent.__table__, consents),
            (Client.__table__, clients),
            (Case.__table__, cases),
            (StageChange.__table__, changes),
            (Need.__table__, needs),
            (Referral.__table__, referrals),
        ):
            insert(conn, table, rows)
        # In the order they are entered, as in production: the table's physical order then
        # follows the days held (and not the cases), which the report's scans feel.
        consultations.sort(key=lambda row: row[-1])
        insert_consultations(conn, Consultation.__table__, consultations)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            from sqlalchemy import text

            for name in (
                "municipalities",
                "organisations",
                "users",
                "consents",
                "clients",
                "cases",
                "partners",
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
            conn.execute(text("ANALYZE"))
    return 1


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

    app = create_app("development")
    with app.app_context():
        if args.reuse:
            municipality = 1
        else:
            upgrade()
            start = time.perf_counter()
            municipality = generate(db, args.cases)
            print(
                f"{db.engine.dialect.name}: generated {args.cases} cases in "
                f"{time.perf_counter() - start:.1f} s"
            )
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

        period = parse_period("year", 2025)
        for scope in (
            Scope(ScopeKind.STATE, None, "NRW"),
            Scope(ScopeKind.MUNICIPALITY, municipality, "Kreis 1"),
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
                f"  {scope.kind.value:13} year 2025: median {statistics.median(timings):.3f} s "
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
