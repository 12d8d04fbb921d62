"""Profile one daily page (issue 8): where the milliseconds of a request go.

Reuses ``bench/pages.py``'s set-up — the same database (seeded or reused with its key file),
the same subjects chosen by SQL, the login through the real form — then runs cProfile over
``--requests`` GETs of one page with Flask's test client (after 3 warm-up requests) and prints
the top entries by cumulative and by own time, and the SQL statements of one request with the
time each took. Prints figures, asserts nothing.

Usage (from the repository root):
    .venv/bin/python bench/profile_page.py --scale state \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/kimdb_bench \\
        --page "case page" --requests 100
    .venv/bin/python bench/profile_page.py --scale tiny --page "own case list"  # SQLite

``--page`` is matched against the page titles of ``bench/pages.py`` (substring); ``--url``
profiles any other path instead (e.g. ``/consent-forms/``, the fixed cost of a page without
client data), requested by ``--role``. ``--top`` sets the length of the two tables (by
cumulative and by own time); ``--filter`` restricts them to functions whose file path
contains it (e.g. ``kimdb``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

import pages  # noqa: E402 - bench/pages.py; its import puts kimdb on the path


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("tiny", "county", "state", "demo"), default="tiny")
    parser.add_argument("--database-url", help="SQLite file or PostgreSQL (default: temp SQLite)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (1)")
    parser.add_argument("--page", help="title (or part of it) of the page")
    parser.add_argument("--url", help="profile this path instead of a page of bench/pages.py")
    parser.add_argument(
        "--role",
        default="case_manager",
        choices=("case_manager", "supervisor", "state"),
        help="who requests --url (case_manager)",
    )
    parser.add_argument("--requests", type=int, default=100, help="profiled GETs (100)")
    parser.add_argument("--top", type=int, default=40, help="rows of each table (40)")
    parser.add_argument("--filter", default=None, help="only functions whose path has this")
    return parser.parse_args(argv)


def statements_of_one_request(app, client, url: str) -> list[tuple[float, str]]:
    """Return (milliseconds, first line of SQL) of each statement of one GET of ``url``."""
    from sqlalchemy import event

    from kimdb.extensions import db

    with app.app_context():
        engine = db.engine
    started: list[float] = []
    seen: list[tuple[float, str]] = []

    def before(_conn, _cursor, statement, *_args):
        started.append(time.perf_counter())

    def after(_conn, _cursor, statement, *_args):
        took = (time.perf_counter() - started.pop()) * 1000
        seen.append((took, " ".join(statement.split())[:150]))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return seen


def main(argv=None) -> int:
    """Profile the page; return the exit status (0; failures raise SystemExit)."""
    args = parse_args(argv)
    bench_args = argparse.Namespace(
        scale=args.scale, database_url=args.database_url, seed=args.seed
    )
    if args.url:
        page = pages.Page(args.url, args.role, lambda _s: args.url, lambda _c, _s: "")
    else:
        chosen = [p for p in pages._pages() if args.page and args.page in p.title]
        if len(chosen) != 1:
            raise SystemExit(f"--page {args.page!r} matches {len(chosen)} pages")
        page = chosen[0]
    with tempfile.TemporaryDirectory(prefix="kimdb-profile-") as name:
        instance = pages.prepare_instance(bench_args, Path(name))
        app = instance.app
        subjects = pages.choose_subjects(app)
        user = {
            "case_manager": subjects.case_manager,
            "supervisor": subjects.supervisor,
            "state": subjects.state_user,
        }[page.role]
        client = pages.login(app, user, args.scale == "demo")
        url = page.url(subjects)
        for _ in range(pages.WARM_UP):
            response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(args.requests):
            client.get(url)
        profiler.disable()
        elapsed = time.perf_counter() - started
        print(
            f"{page.title}: GET {url}, {args.requests} requests, "
            f"{elapsed / args.requests * 1000:.1f} ms per request under the profiler"
        )
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats(order)
            restrictions = [args.filter] if args.filter else []
            stats.print_stats(*restrictions, args.top)
            print(f"\n== by {order} (times are totals over {args.requests} requests) ==")
            print(out.getvalue().strip())
        statements = statements_of_one_request(app, client, url)
        print(f"\n== {len(statements)} SQL statements of one request (ms, SQL) ==")
        for took, sql in statements:
            print(f"{took:7.2f}  {sql}")
        print(f"{sum(t for t, _ in statements):7.2f}  total")
        with app.app_context():
            from kimdb.extensions import db

            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
