"""Flask extensions, created once and bound to an app in ``create_app`` (``init_app``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Enum, MetaData
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.orm.exc import StaleDataError

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
