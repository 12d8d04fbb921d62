"""Benchmark of the audit log (issue 6 item 3; issue 8 item 5, growth): prints figures.

Measures:
  (a) writing one audit entry with ``kimdb.audit.service.record`` in its own transaction, as a
      page does (head row locked, hash computed, entry and head written, commit): median and
      95th percentile over ``--records`` entries, in milliseconds, with random client and case
      ids (as real requests: they land anywhere in the client and case indexes). On PostgreSQL
      also the table and index sizes (``pg_relation_size``) and, per index, the index blocks
      touched per entry (``pg_statio_user_indexes``: hits in shared buffers, and reads from
      outside them);
  (a') with ``--compare-url``: (a) in this database and in a second one, in alternating blocks
      of 50, so that a busy machine weighs on both alike;
  (b) the data protection officer's search ("Audit-Protokoll", ``service.search``): first page
      without a filter, by client, by case, by user and one month;
  (c) the overhead of the request hook on a case page (``GET /cases/<id>`` through the test
      client, logged in as the owner): median with and without the hook, in milliseconds,
      measured in alternating blocks;
  (d) ``flask kimdb audit verify`` speed (entries per second).

Growth (issue 8 item 5): ``--rows N`` first fills ``audit_entries`` up to N entries with
PostgreSQL ``COPY`` (psycopg 3 ``cursor.copy``), in ``--steps`` equal steps, and measures (a) and
the index figures after every step, so the insert cost can be read against the table size. The
filler entries form a *valid* chain (each hash is ``rules.entry_hash`` over the previous hash and
the entry, the head is moved to the last one), so ``audit verify`` passes on them; only their
contents are made up: times spread evenly over the last ``--days`` days, 100 bench case managers
(``bench.cm001`` …) acting on random clients (1–400,000) and cases (1–450,000), about 2 % system
entries and 3 % as substitute. The database is kept: run the script again with the same
``--rows`` and it only measures (the fill tops the table up to N, it never deletes); give the
same ``--key-file`` each time, or (b) and (c) cannot read the bench users made before.

Usage (from the repository root):
    .venv/bin/python bench/audit.py                      # temporary SQLite database
    .venv/bin/python bench/audit.py --records 5000
    .venv/bin/python bench/audit.py --database-url postgresql+psycopg://postgres@127.0.0.1/kimdb_bench
    .venv/bin/python bench/audit.py --database-url … --rows 10000000 --steps 5 --key-file k
    .venv/bin/python bench/audit.py --database-url … --rows 10000000 --compare-url …/small \
        --skip-search --skip-page --skip-verify      # (a') against a database with few entries

The PostgreSQL database must exist (``createdb kimdb_bench``); the script builds the schema
with the migrations and leaves the data there. 10 million entries take 2.4 GB of table and
2.6 GB of indexes, and 25 minutes to fill on two (shared) cores; (d) then reads them for about
as long again. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from environment import configure_environment, encryption_key  # noqa: E402 - also puts kimdb on the path

BENCH_USERS = 100
CLIENTS = 400_000  # a statewide installation (DESIGN.md §6)
CASES = 450_000
COPY_BATCH = 200_000  # entries per COPY transaction: an interrupted fill keeps what it wrote
FILLER_ACTIONS = (
    ("read:cases.show", 40),
    ("read:caseload.start", 15),
    ("read:cases.timeline", 10),
    ("read:clients.show", 10),
    ("read:cases.index", 8),
    ("write:cases.add_consultation", 6),
    ("write:cases.add_note", 5),
    ("read:cases.plan", 3),
    ("write:cases.change_stage", 2),
    ("write:clients.new", 1),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000, help="entries to time (1000)")
    parser.add_argument("--requests", type=int, default=200, help="page requests each (200)")
    parser.add_argument("--database-url", help="a PostgreSQL database (default: SQLite)")
    parser.add_argument(
        "--rows", type=int, default=0, help="fill audit_entries up to this many entries first"
    )
    parser.add_argument("--steps", type=int, default=1, help="measure after each of N fill steps")
    parser.add_argument("--days", type=int, default=365, help="filler entries span these days")
    parser.add_argument("--seed", type=int, default=8, help="random seed (8)")
    parser.add_argument(
        "--key-file",
        type=Path,
        help="encryption key of the bench users, kept here for re-runs (made if missing)",
    )
    parser.add_argument(
        "--compare-url", help="a second database to time (a') against, in alternating blocks"
    )
    parser.add_argument("--skip-search", action="store_true", help="skip (b), the DPO search")
    parser.add_argument("--skip-page", action="store_true", help="skip (c), the request hook")
    parser.add_argument("--skip-verify", action="store_true", help="skip (d), verify")
    args = parser.parse_args()
    if args.rows and not args.database_url:
        parser.error("--rows fills with PostgreSQL COPY: give --database-url")
    return args


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def bench_users() -> list[int]:
    """Return the ids of the 100 bench case managers, creating the missing ones (re-runs reuse
    them, so the filler's user ids stay valid)."""
    from sqlalchemy import select

    from kimdb.auth.models import User
    from kimdb.extensions import db
    from tests.factories import make_user

    names = [f"bench.cm{i:03d}" for i in range(1, BENCH_USERS + 1)]
    existing = dict(
        db.session.execute(select(User.username, User.id).where(User.username.in_(names))).all()
    )
    return [existing.get(name) or make_user(name).id for name in names]


def bench_user(username: str, role=None) -> object:
    """Return the user ``username``, creating it (case manager, or ``role``) if missing."""
    from sqlalchemy import select

    from kimdb.auth.models import Role, User
    from kimdb.extensions import db
    from tests.factories import make_user

    user = db.session.scalar(select(User).where(User.username == username))
    return user or make_user(username, role or Role.CASE_MANAGER)


# -- filling (PostgreSQL) -----------------------------------------------------------------------
def _text(value) -> str:
    """A value in COPY text format (no value of the filler holds a tab or backslash)."""
    return "\\N" if value is None else str(value)


def fill(target: int, final: int, users: list[int], days: int, rng: random.Random) -> int:
    """Append entries to ``audit_entries`` by COPY until it holds ``target`` entries, chained
    onto the head (valid hashes), ``COPY_BATCH`` per transaction, and move the head along.

    Times run evenly over ``days`` days up to a few minutes ago for ``final`` entries, in id
    order as a log grows, so that a fill in steps (``target`` < ``final``) stays in order.
    Returns the number of entries written (0 if the table holds ``target`` already)."""
    from kimdb.audit import rules
    from kimdb.extensions import db

    actions = [a for a, _w in FILLER_ACTIONS]
    weights = [w for _a, w in FILLER_ACTIONS]
    raw = db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), coalesce(max(id), 0) FROM audit_entries")
            count, last_id = cur.fetchone()
        conn.commit()
        if count >= target:
            return 0
        todo = target - count
        end = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        start = end - dt.timedelta(days=days)
        step = (end - start) / final
        at = start + step * count
        started = time.perf_counter()
        written = 0
        columns = (
            "id, at, user_id, on_behalf_of_id, session_ref, action, client_id, case_id,"
            " detail, prev_hash, hash"
        )
        while written < todo:
            batch = min(COPY_BATCH, todo - written)
            with conn.cursor() as cur:
                cur.execute("SELECT last_hash FROM audit_head WHERE id = 1 FOR UPDATE")
                prev = cur.fetchone()[0]
                buffer = io.StringIO()
                session = secrets.token_hex(16)
                chosen = rng.choices(actions, weights, k=batch)
                for i in range(batch):
                    last_id += 1
                    at += step
                    if rng.random() < 0.02:  # system entries (purge, cron)
                        user, behalf, ref = None, None, None
                    else:
                        user = rng.choice(users)
                        behalf = rng.choice(users) if rng.random() < 0.03 else None
                        if rng.random() < 0.05:  # a new login now and then
                            session = secrets.token_hex(16)
                        ref = session
                    entry = SimpleNamespace(  # the fields of rules.EntryFields
                        at=at,
                        user_id=user,
                        on_behalf_of_id=behalf,
                        session_ref=ref,
                        action=chosen[i],
                        client_id=rng.randint(1, CLIENTS),
                        case_id=rng.randint(1, CASES),
                        detail="",
                    )
                    digest = rules.entry_hash(prev, entry)
                    buffer.write(
                        "\t".join(
                            _text(v)
                            for v in (
                                last_id,
                                at.isoformat(),
                                user,
                                behalf,
                                ref,
                                entry.action,
                                entry.client_id,
                                entry.case_id,
                                "",
                                prev,
                                digest,
                            )
                        )
                    )
                    buffer.write("\n")
                    prev = digest
                with cur.copy(f"COPY audit_entries ({columns}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
                cur.execute(
                    "UPDATE audit_head SET last_entry_id = %s, last_hash = %s WHERE id = 1",
                    (last_id, prev),
                )
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence('audit_entries', 'id'), %s)", (last_id,)
                )
            conn.commit()
            written += batch
            took = time.perf_counter() - started
            print(
                f"    filled {count + written:,} entries ({written / took:,.0f} entries/s)",
                flush=True,
            )
        with conn.cursor() as cur:
            cur.execute("ANALYZE audit_entries")
        conn.commit()
        return written
    finally:
        raw.close()


# -- measuring ----------------------------------------------------------------------------------
def index_figures() -> dict[str, tuple[int, int, int]]:
    """Return, per relation of ``audit_entries`` (the table and each index): size in bytes,
    blocks hit in shared buffers and blocks read from outside them, so far (PostgreSQL)."""
    from sqlalchemy import text

    from kimdb.extensions import db

    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    rows = db.session.execute(
        text(
            "SELECT indexrelname, pg_relation_size(indexrelid), idx_blks_hit, idx_blks_read"
            " FROM pg_statio_user_indexes WHERE relname = 'audit_entries'"
            " UNION ALL SELECT '(table)', pg_relation_size(relid), heap_blks_hit, heap_blks_read"
            " FROM pg_statio_user_tables WHERE relname = 'audit_entries'"
        )
    ).all()
    db.session.rollback()
    return {name: (size, hit or 0, read or 0) for name, size, hit, read in rows}


def bench_record(records: int, users: list[int], rng: random.Random, postgres: bool) -> None:
    from sqlalchemy import func, select

    from kimdb.audit import service
    from kimdb.audit.models import AuditEntry
    from kimdb.extensions import db

    entries = db.session.scalar(select(func.count(AuditEntry.id)))
    db.session.rollback()
    if postgres:
        time.sleep(1.1)  # PostgreSQL publishes a backend's block counters at most once a second
        before = index_figures()
    timings = []
    for _ in range(records):
        user, client, case = rng.choice(users), rng.randint(1, CLIENTS), rng.randint(1, CASES)
        start = time.perf_counter()
        service.record("read:cases.show", user=user, client_id=client, case_id=case)
        timings.append(time.perf_counter() - start)
    print(f"(a) one audit entry, own transaction, {records} records at {entries:,} entries:")
    print(f"    median {ms(statistics.median(timings))}, p95 {ms(percentile(timings, 0.95))}")
    if not postgres:
        return
    db.session.close()  # flush this backend's statistics
    time.sleep(1.1)
    after = index_figures()
    print(f"    {'relation':<34} {'size':>10}  blocks/entry: hit   read")
    for name, (size, hit, read) in sorted(after.items()):
        _s, hit0, read0 = before.get(name, (0, 0, 0))
        print(
            f"    {name:<34} {size / 2**20:>7.0f} MB  {(hit - hit0) / records:>15.2f}"
            f" {(read - read0) / records:>6.2f}"
        )


def bench_record_paired(records: int, other, rng: random.Random) -> None:
    """Time ``service.record`` in this app's database and in ``other`` (an app on a second
    database, e.g. with a small audit log) in alternating blocks of 50, so that both see the
    same load of the machine; print median and p95 of each, in milliseconds."""
    from sqlalchemy import func, select

    from kimdb.audit import service
    from kimdb.audit.models import AuditEntry
    from kimdb.auth.models import User
    from kimdb.extensions import db

    def setup() -> tuple[int, list[int | None]]:
        entries = db.session.scalar(select(func.count(AuditEntry.id)))
        users = list(db.session.scalars(select(User.id))) or [None]
        db.session.rollback()
        return entries, users

    def block(users: list[int | None], timings: list[float]) -> None:
        for _ in range(50):
            user, client, case = rng.choice(users), rng.randint(1, CLIENTS), rng.randint(1, CASES)
            start = time.perf_counter()
            service.record("read:cases.show", user=user, client_id=client, case_id=case)
            timings.append(time.perf_counter() - start)

    here = setup()
    with other.app_context():
        there_setup = setup()
    ours: list[float] = []
    theirs: list[float] = []
    for _round in range(max(1, records // 50)):
        block(here[1], ours)
        with other.app_context():
            block(there_setup[1], theirs)
    print(f"(a') one audit entry, own transaction, {len(ours)} each, alternating blocks of 50:")
    for label, entries, timings in (("this", here[0], ours), ("other", there_setup[0], theirs)):
        print(
            f"    {label} database, {entries:>12,} entries: median"
            f" {ms(statistics.median(timings))}, p95 {ms(percentile(timings, 0.95))}"
        )


def bench_search(days: int) -> None:
    """Time the DPO's search page query (``service.search``) on a few typical filters."""
    from kimdb.audit import service
    from kimdb.auth.models import Role
    from kimdb.extensions import db
    from kimdb.timeutil import today

    dpo = bench_user("bench.dpo", Role.DPO)
    some_user = bench_user("bench.cm050")
    day = today()
    month_ago = day - dt.timedelta(days=30)
    searches = {
        "no filter, page 1": {},
        "no filter, page 100": {"page": 100},
        "client 4711": {"client_id": 4711},
        "case 4711": {"case_id": 4711},
        "one user, last 30 days": {"user_id": some_user.id, "date_from": month_ago},
        "all users, one day": {
            "date_from": day - dt.timedelta(days=min(days, 7)),
            "date_to": day - dt.timedelta(days=min(days, 7)),
        },
    }
    print("(b) DPO search (count + one page of 50), median of 5:")
    for label, filters in searches.items():
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            result = service.search(dpo, **filters)
            timings.append(time.perf_counter() - start)
            db.session.rollback()
        print(f"    {label:<24} {ms(statistics.median(timings)):>12}  ({result.total:,} entries)")


def bench_page(app, requests: int) -> None:
    from kimdb.audit import rules
    from kimdb.cases.rules import CaseKind
    from tests.factories import login, make_case

    owner = bench_user("cm.bench")
    case = make_case(owner, CaseKind.CASE_MANAGEMENT)
    http = app.test_client()
    assert login(http, "cm.bench").status_code == 302
    url = f"/cases/{case.id}"
    audited = rules.is_audited
    timings: dict[bool, list[float]] = {True: [], False: []}
    for _warm in range(10):
        http.get(url)
    block = 20
    for round_ in range(2 * max(1, requests // block)):
        hook = round_ % 2 == 0
        rules.is_audited = audited if hook else (lambda _endpoint: False)
        for _ in range(block):
            start = time.perf_counter()
            response = http.get(url)
            timings[hook].append(time.perf_counter() - start)
            assert response.status_code == 200
    rules.is_audited = audited
    with_hook, without = statistics.median(timings[True]), statistics.median(timings[False])
    print(f"(c) GET {url} as owner, {len(timings[True])} requests each:")
    print(f"    with audit hook {ms(with_hook)}, without {ms(without)},")
    print(f"    overhead {ms(with_hook - without)} ({(with_hook / without - 1) * 100:.0f} %)")


def bench_verify() -> None:
    from kimdb.audit import service

    start = time.perf_counter()
    count, problems = service.verify()
    took = time.perf_counter() - start
    state = "intact" if not problems else f"{len(problems)} problems"
    print(f"(d) verify: {count:,} entries in {took:.2f} s ({count / took:,.0f} entries/s), {state}")


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - made-up test data, repeatable by seed
    with tempfile.TemporaryDirectory(prefix="kimdb-bench-audit-") as name:
        configure_environment(args.database_url, Path(name), encryption_key(args.key_file))
        from flask_migrate import upgrade

        from kimdb import create_app

        app = create_app()
        with app.app_context():
            upgrade()
        data_app = create_app()  # the benchmark's own writes, apart from the requests
        postgres = bool(args.database_url)
        database = "PostgreSQL" if postgres else "SQLite (temporary file)"
        print(f"kimdb audit benchmark on {database}")
        with data_app.app_context():
            users = bench_users()
            bench_record(args.records, users, rng, postgres)
            if args.rows:
                for step in range(1, args.steps + 1):
                    started = time.perf_counter()
                    if fill(args.rows * step // args.steps, args.rows, users, args.days, rng):
                        print(f"    fill step {step}: {time.perf_counter() - started:.0f} s")
                        bench_record(args.records, users, rng, postgres)
            if args.compare_url:
                other = create_app(SQLALCHEMY_DATABASE_URI=args.compare_url)
                bench_record_paired(args.records, other, rng)
            if not args.skip_search:
                bench_search(args.days)
            if not args.skip_page:
                bench_page(app, args.requests)
            if not args.skip_verify:
                bench_verify()


if __name__ == "__main__":
    main()
