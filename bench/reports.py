"""Benchmark of the statistics report (issue 7 contract "computed in SQL aggregates; a benchmark
prints its time"): prints figures.

Generates N cases (default 20,000; ``--cases 400000`` for the statewide scale) with their clients,
consents, stage changes, needs, referrals and consultations by bulk inserts (SQLAlchemy Core,
prepared rows), then times ``kimdb.reports.service.build_report`` for the state and for one
municipality over one year: median of 3 runs, in seconds, and the number of SQL statements one
report issues (counted with an engine event listener).

Usage (from the repository root):
    .venv/bin/python bench/reports.py                    # temporary SQLite database
    .venv/bin/python bench/reports.py --cases 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/kimdb_bench

The PostgreSQL database must exist and be empty; the schema is built by the migrations and the
data stay there. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from environment import configure_environment  # noqa: E402 - also puts kimdb on the path

CHUNK = 5000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000, help="cases to generate (20000)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    return parser.parse_args()


def insert(conn, table, rows: list[dict]) -> None:
    """Insert ``rows`` into ``table`` in chunks (executemany)."""
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[start : start + CHUNK])


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
    n_users = max(10, n_cases // 60)
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
        for _ in range(3):
            held = opened + dt.timedelta(days=rnd.randrange(60))
            consultations.append(
                {
                    "case_id": cid,
                    "held_on": held,
                    "duration_minutes": rnd.choice([30, 45, 60]),
                    "mode": rnd.choice(list(ConsultationMode)),
                    "interpreter_used": rnd.random() < 0.3,
                    "interpreter_language": "ar" if rnd.random() < 0.3 else None,
                    "entered_by_id": owner,
                    "entered_at": dt.datetime.combine(
                        held + dt.timedelta(days=rnd.choice([0, 0, 0, 1, 3])), dt.time(10), dt.UTC
                    ),
                }
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
            (Consultation.__table__, consultations),
        ):
            insert(conn, table, rows)
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
    tmp = Path(tempfile.mkdtemp(prefix="kimdb-bench-reports-"))
    configure_environment(args.database_url, tmp)
    from flask_migrate import upgrade
    from sqlalchemy import event

    from kimdb import create_app
    from kimdb.extensions import db
    from kimdb.reports.model import Scope, ScopeKind
    from kimdb.reports.rules import parse_period
    from kimdb.reports.service import build_report

    app = create_app("development")
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        municipality = generate(db, args.cases)
        print(
            f"{db.engine.dialect.name}: generated {args.cases} cases in "
            f"{time.perf_counter() - start:.1f} s"
        )
        statements = [0]

        @event.listens_for(db.engine, "before_cursor_execute")
        def count(*_args):
            statements[0] += 1

        period = parse_period("year", 2025)
        for scope in (
            Scope(ScopeKind.STATE, None, "NRW"),
            Scope(ScopeKind.MUNICIPALITY, municipality, "Kreis 1"),
        ):
            timings = []
            for _ in range(3):
                statements[0] = 0
                db.session.expire_all()
                begin = time.perf_counter()
                report = build_report(scope, period, 5)
                timings.append(time.perf_counter() - begin)
                db.session.rollback()
            opened = report.table("cases_by_kind").row_totals[1].value
            print(
                f"  {scope.kind.value:13} year 2025: median {statistics.median(timings):.3f} s "
                f"(runs {', '.join(f'{t:.3f}' for t in timings)}), {statements[0]} statements, "
                f"{len(report.tables)} tables; new cases {opened}"
            )


if __name__ == "__main__":
    main()
