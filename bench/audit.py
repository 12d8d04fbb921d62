"""Benchmark of the audit log (issue 6 item 3, contract "Benchmark"): prints figures.

Measures, on a fresh database:
  (a) writing one audit entry with ``kimdb.audit.service.record`` in its own transaction (head
      row locked, hash computed, entry and head written, commit): median and 95th percentile
      over N records, in milliseconds;
  (b) the overhead of the request hook on a case page (``GET /cases/<id>`` through the test
      client, logged in as the owner): median with and without the hook, in milliseconds,
      measured in alternating blocks;
  (c) ``flask kimdb audit verify`` speed (entries per second).

Usage (from the repository root):
    .venv/bin/python bench/audit.py                      # temporary SQLite database
    .venv/bin/python bench/audit.py --records 5000
    .venv/bin/python bench/audit.py --database-url postgresql+psycopg://postgres@127.0.0.1/kimdb_bench

The PostgreSQL database must exist and be empty (``createdb kimdb_bench``); the script builds
the schema with the migrations and leaves the data there. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from environment import configure_environment  # noqa: E402 - also puts kimdb on the path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000, help="entries to write (1000)")
    parser.add_argument("--requests", type=int, default=200, help="page requests each (200)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    return parser.parse_args()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def bench_record(records: int) -> None:
    from kimdb.audit import service

    timings = []
    for i in range(records):
        start = time.perf_counter()
        service.record("read:cases.show", user=None, client_id=i + 1, case_id=i + 1)
        timings.append(time.perf_counter() - start)
    print(f"(a) one audit entry, own transaction, {records} records:")
    print(f"    median {ms(statistics.median(timings))}, p95 {ms(percentile(timings, 0.95))}")


def bench_page(app, requests: int) -> None:
    from kimdb.audit import rules
    from kimdb.cases.rules import CaseKind
    from tests.factories import login, make_case, make_user

    owner = make_user("cm.bench")
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
    print(f"(b) GET {url} as owner, {len(timings[True])} requests each:")
    print(f"    with audit hook {ms(with_hook)}, without {ms(without)},")
    print(f"    overhead {ms(with_hook - without)} ({(with_hook / without - 1) * 100:.0f} %)")


def bench_verify() -> None:
    from kimdb.audit import service

    start = time.perf_counter()
    count, problems = service.verify()
    took = time.perf_counter() - start
    state = "intact" if not problems else f"{len(problems)} problems"
    print(f"(c) verify: {count} entries in {ms(took)} ({count / took:,.0f} entries/s), {state}")


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="kimdb-bench-audit-") as name:
        configure_environment(args.database_url, Path(name))
        from flask_migrate import upgrade

        from kimdb import create_app

        app = create_app()
        with app.app_context():
            upgrade()
        data_app = create_app()  # the benchmark's own writes, apart from the requests
        database = "PostgreSQL" if args.database_url else "SQLite (temporary file)"
        print(f"kimdb audit benchmark on {database}")
        with data_app.app_context():
            bench_record(args.records)
            bench_page(app, args.requests)
            bench_verify()


if __name__ == "__main__":
    main()
