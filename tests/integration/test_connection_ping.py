"""Pooled connections are pinged only after being idle (``kimdb.extensions.ping_idle_connections``,
issue 8): a connection in steady use goes straight to the next request; one the server closed
while it lay idle is replaced without an error."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from kimdb import extensions


@pytest.fixture()
def engine(db):
    """A pool of at most one connection to the test database, pinging as the app's does."""
    engine = create_engine(db.engine.url, pool_size=1, max_overflow=0)
    extensions.ping_idle_connections(engine)
    yield engine
    engine.dispose()


@pytest.fixture()
def pings(engine, monkeypatch):
    """The number of pings the pool sent (a list that grows)."""
    sent = []
    original = engine.dialect.do_ping

    def counting(dbapi_connection):
        sent.append(1)
        return original(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return sent


def _use(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar()


def test_a_connection_in_use_is_not_pinged_an_idle_one_is(engine, pings, monkeypatch):
    _use(engine)  # a new connection: no ping needed
    _use(engine)
    _use(engine)
    assert pings == []
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", -1.0)  # as if idle for long
    _use(engine)
    assert pings == [1]


def test_an_idle_connection_the_server_closed_is_replaced(engine, db, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a server that closes connections")
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    killer = create_engine(db.engine.url, poolclass=NullPool)
    with killer.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    killer.dispose()
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", -1.0)
    with engine.connect() as conn:  # no error: the dead connection failed its ping
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
