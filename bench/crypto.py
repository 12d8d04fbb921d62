"""Benchmark of encryption at rest (issue 6 item 1, contract "Benchmark"): prints figures.

Measures, on a fresh database with N clients (each with a consent scan):
  (a) loading and decrypting one page of 50 clients as the client list does (median of 20
      runs, each with a new session, in milliseconds);
  (b) ``rotate-keys`` throughput: every encrypted row and scan file re-encrypted to a new key
      (rows per second, files per second).

Usage (from the repository root):
    .venv/bin/python bench/crypto.py                      # temporary SQLite database
    .venv/bin/python bench/crypto.py --clients 5000
    .venv/bin/python bench/crypto.py --database-url postgresql+psycopg://postgres@127.0.0.1/kimdb_bench

The PostgreSQL database must exist and be empty (``createdb kimdb_bench``); the script builds
the schema with the migrations and leaves the data there. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from environment import configure_environment  # noqa: E402 - also puts kimdb on the path

PAGE = 50
RUNS = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000, help="clients to create (2000)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--batch-size", type=int, default=500, help="rotate-keys batch (500)")
    return parser.parse_args()


def scan() -> bytes:
    """A small real PNG, the stand-in for a scanned consent form."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (200, 280), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def seed(count: int):
    """Create one case manager and ``count`` clients through the registration service."""
    from kimdb.auth import service as auth_service
    from kimdb.auth.models import Role
    from kimdb.clients import service as clients_service
    from kimdb.clients.models import Gender, ResidenceStatus
    from kimdb.orgs.service import ensure_organisation

    org = ensure_organisation("KI Benchkreis", "Kreis Benchkreis", "integration_centre")
    user = auth_service.create_user(
        "cm.bench", "Bench", Role.CASE_MANAGER, org, Decimal("1.0"), "bench-password-123"
    )
    image = scan()
    given = ["Amina", "Mohammed", "Olena", "Yusuf", "Leyla", "Dmytro", "Fatma", "Samir"]
    family = ["Haddad", "Kovalenko", "Yilmaz", "Okafor", "Rahimi", "Popescu", "Nasser"]
    for n in range(count):
        clients_service.register_client(
            clients_service.ConsentInput(
                form_version="2026-01",
                form_language="de",
                signed_on=dt.date(2026, 1, 15),
                processing_agreed=True,
                exchange_partners=[],
                scan=image,
            ),
            clients_service.ClientInput(
                given_name=given[n % len(given)],
                family_name=f"{family[n % len(family)]}-{n}",
                date_of_birth=dt.date(1960, 1, 1) + dt.timedelta(days=7 * n % 20000),
                gender=Gender.FEMALE if n % 2 else Gender.MALE,
                country_of_origin="SY",
                residence_status=ResidenceStatus.RESIDENCE_PERMIT,
                phone=f"+49 2581 {100000 + n}",
                email=f"person{n}@example.org",
            ),
            by=user,
        )
    return user.id


def page_milliseconds(user_id: int) -> list[float]:
    """Load and decrypt one page of PAGE clients RUNS times, each in a fresh session."""
    from kimdb.auth.models import User
    from kimdb.clients import service as clients_service
    from kimdb.extensions import db

    times = []
    for _ in range(RUNS):
        db.session.remove()
        user = db.session.get(User, user_id)
        started = time.perf_counter()
        clients = db.session.scalars(clients_service.visible_clients(user).limit(PAGE)).all()
        shown = [(c.full_name, c.date_of_birth, c.phone, c.email) for c in clients]
        times.append((time.perf_counter() - started) * 1000)
        assert len(shown) == min(PAGE, len(clients))
    return times


def main() -> None:
    args = parse_args()
    from kimdb.crypto import generate_key

    tmp = Path(tempfile.mkdtemp(prefix="kimdb-bench-"))
    old_key, new_key = generate_key(), generate_key()
    configure_environment(args.database_url, tmp, old_key)

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from kimdb import create_app, crypto, rotation
    from kimdb.clients.models import Client
    from kimdb.consent.storage import ScanStorage
    from kimdb.extensions import db

    app = create_app()
    with app.app_context(), app.test_request_context():
        upgrade()
        if db.session.scalar(select(func.count()).select_from(Client)):
            sys.exit("the database already holds clients: give an empty one")
        backend = db.engine.dialect.name
        print(f"kimdb encryption benchmark on {backend}, {args.clients} clients")

        started = time.perf_counter()
        user_id = seed(args.clients)
        print(f"  seeded in {time.perf_counter() - started:.1f} s")

        times = page_milliseconds(user_id)
        print(
            f"(a) page of {PAGE} clients loaded and decrypted: median "
            f"{statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f}, "
            f"{RUNS} runs)"
        )

        db.session.remove()
        ring = crypto.configure(f"{new_key},{old_key}")
        storage = ScanStorage(app.config["STORAGE_DIR"])
        result = rotation.rotate(db.engine, db.metadata, storage, ring, args.batch_size)
        files_per_second = (
            result.files_reencrypted / result.file_seconds if result.file_seconds else 0.0
        )
        print(
            f"(b) rotate-keys: {result.rows_reencrypted} rows in {result.row_seconds:.2f} s = "
            f"{result.rows_per_second:.0f} rows/s; {result.files_reencrypted} scan files in "
            f"{result.file_seconds:.2f} s = {files_per_second:.0f} files/s "
            f"(batch size {args.batch_size})"
        )
        census = rotation.take_census(db.engine, db.metadata, storage, ring)
        assert census.rows_to_rotate == 0 and census.files_to_rotate == 0
    print(f"  data left in {tmp}" if not args.database_url else "")


if __name__ == "__main__":
    main()
