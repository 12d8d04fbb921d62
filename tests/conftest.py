"""Shared test set-up: one app per session on the database named by ``KIMDB_TEST_DATABASE_URL``
(SQLite in a temporary file when unset), the schema built by the migrations, and every table
emptied after each test that used the database."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kimdb.crypto import generate_key

_TMP = Path(tempfile.mkdtemp(prefix="kimdb-test-"))
os.environ.setdefault("KIMDB_SECRET_KEY", "test-secret-key")
os.environ["KIMDB_ENCRYPTION_KEYS"] = generate_key()
os.environ.pop("KIMDB_ENCRYPTION_KEYS_FILE", None)  # exactly one key source (issue 6 item 1)
os.environ.pop("KIMDB_ENCRYPTION_KEY", None)
os.environ["KIMDB_BLIND_INDEX_KEY"] = generate_key()
os.environ["KIMDB_STORAGE_DIR"] = str(_TMP / "storage")
DATABASE_URL = os.environ.get("KIMDB_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.sqlite3'}"
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... when run with pytest -n
if _WORKER and DATABASE_URL.startswith("postgresql"):
    # Each parallel worker gets its own PostgreSQL database (SQLite files are per process).
    _url = make_url(DATABASE_URL)
    DATABASE_URL = _url.set(database=f"{_url.database}_{_WORKER}").render_as_string(
        hide_password=False
    )
os.environ["KIMDB_DATABASE_URL"] = DATABASE_URL


def _cheap_password_hashing() -> None:
    """Hash test passwords with Argon2's cheapest parameters: the production setting costs
    0.3 s per hash and per login on two cores (tests/unit/test_passwords.py checks it)."""
    from argon2 import profiles

    from kimdb.auth.service import use_password_parameters

    use_password_parameters(profiles.CHEAPEST)


_cheap_password_hashing()


def _recreate_postgres_database(url: str) -> None:
    """Drop and create the PostgreSQL test database, so every run starts from nothing."""
    import psycopg

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


@pytest.fixture(scope="session")
def app():
    """The kimdb app on the test database, schema from the migrations (``flask db upgrade``)."""
    from flask_migrate import upgrade

    from kimdb import create_app

    if DATABASE_URL.startswith("postgresql"):
        _recreate_postgres_database(DATABASE_URL)
    application = create_app("testing")
    with application.app_context():
        upgrade()
    return application


@pytest.fixture(scope="session")
def data_app(app):
    """A second app instance on the same database, for the test's own reads and writes.

    Requests to ``app`` then run in their own app context (as in a server process) and do not
    share ``flask.g`` or the session with the test's code.
    """
    from kimdb import create_app

    return create_app("testing")


@pytest.fixture()
def db(data_app):
    """An app context on an empty database; every table is emptied afterwards."""
    from kimdb.extensions import db as database

    with data_app.app_context():
        yield database
        database.session.remove()
        tables = [t.name for t in reversed(database.metadata.sorted_tables)]
        with database.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our table names


@pytest.fixture()
def client(app, db):
    """A test client with CSRF protection on, as in production."""
    return app.test_client()
