"""Flask extensions, created once and bound to an app in ``create_app`` (``init_app``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Enum, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.orm.exc import StaleDataError

from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation

# Stable constraint names, so that Alembic can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every kimdb model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def enum_column(enum_class, name: str, length: int = 30) -> Enum:
    """A portable column type for a StrEnum: VARCHAR of the values with a CHECK constraint named
    ``name``, the same on SQLite and PostgreSQL (no native PostgreSQL enum to migrate)."""
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        create_constraint=True,
        values_callable=lambda e: [m.value for m in e],
        name=name,
    )


migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class ConcurrentChange(RuleViolation):
    """Someone else wrote the same case at the same time; nothing of this use case was saved."""


@contextmanager
def transaction() -> Iterator[Session]:
    """Run one use case as one transaction: commit at the end, roll back everything on error.

    Yields the session. Any exception propagates after the rollback, so a failed write
    never leaves half of a use case in the database (STYLE.md, "Transactions"). A write that
    lost an optimistic-lock race (``Case.version_id``) raises ConcurrentChange.
    """
    session = db.session
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise ConcurrentChange(
            _l(
                "Der Fall wurde gerade von jemand anderem geändert. Bitte prüfen Sie den neuen "
                "Stand und speichern Sie noch einmal."
            )
        ) from exc
    except BaseException:
        session.rollback()
        raise


#: A pooled connection unused for longer than this (seconds) is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0
_LAST_USED = "kimdb_last_used"  # connection record info: monotonic time of its last use


def ping_idle_connections(engine: Engine) -> None:
    """Make ``engine``'s pool check a connection with a ping (``SELECT 1``) before handing it
    out, but only one that has been idle for more than PING_AFTER_IDLE_SECONDS; a connection
    the server has closed is replaced then, without the request noticing.

    Instead of SQLAlchemy's ``pool_pre_ping``, which pings before every request: a round trip
    of 0.1–0.15 ms a page, about a quarter of a trivial statement's time (issue 8, measured).
    A busy worker's connections are seldom idle that long; the price is that a PostgreSQL
    restart or failover in the middle of traffic fails the requests that were about to use a
    connection of the old server, once per pooled connection (the first such error makes
    SQLAlchemy discard the whole pool). Uses SQLAlchemy's pool events and its dialect's ping.
    """
    dialect = engine.dialect

    @event.listens_for(engine.pool, "connect")
    @event.listens_for(engine.pool, "checkin")
    def _used_now(dbapi_connection, record) -> None:  # a new connection needs no ping
        if dbapi_connection is not None and record is not None:
            record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        last_used = record.info.get(_LAST_USED)
        if last_used is not None and time.monotonic() - last_used <= PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces the connection and tries again
            raise DisconnectionError("idle connection failed its ping") from exc
