"""The schema comes only from migrations: upgrading a database of the previous release with data
in it keeps the data, and the models match the migrated schema (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from kimdb.crypto import keyring
from tests.conftest import _TMP, DATABASE_URL

FOUNDATION = "0001_foundation"


@pytest.fixture()
def scratch_app():
    """An app on its own, empty database (never the suite's), dropped afterwards."""
    from kimdb import create_app

    if DATABASE_URL.startswith("postgresql"):
        import psycopg

        url = make_url(DATABASE_URL)
        url = url.set(database=f"{url.database}_migrations")
        admin = url.set(drivername="postgresql", database="postgres")
        conninfo = admin.render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{url.database}"')
        uri = url.render_as_string(hide_password=False)
    else:
        path = _TMP / "migrations.sqlite3"
        path.unlink(missing_ok=True)
        uri = f"sqlite:///{path}"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=uri)
    with app.app_context():
        yield app
        from kimdb.extensions import db

        db.session.remove()
        db.engine.dispose()


def enc(value: str) -> bytes:
    return keyring().encrypt(value.encode())


def fill_foundation_release(conn) -> None:
    """Data as the foundation release (migration 0001) stored it."""
    now = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
    conn.execute(
        text("INSERT INTO municipalities (id, name, kind) VALUES (1, 'Kreis Warendorf', 'county')")
    )
    conn.execute(
        text(
            "INSERT INTO organisations (id, name, kind, municipality_id) VALUES (1, 'KI', 'integration_centre', 1)"
        )
    )
    conn.execute(
        text(
            "INSERT INTO users (id, username, display_name, password_hash, role, organisation_id, fte, active)"
            " VALUES (1, 'cm.alt', 'Alt', 'x', 'case_manager', 1, 1.0, :t)"
        ),
        {"t": True},
    )
    conn.execute(
        text(
            "INSERT INTO consents (id, form_version, form_language, signed_on, processing_agreed, scan_key,"
            " scan_media_type, scan_size, recorded_by_id) VALUES (1, '2026-01', 'de', '2026-05-30', :t,"
            " 'abc123', 'image/png', 10, 1)"
        ),
        {"t": True},
    )
    conn.execute(
        text(
            "INSERT INTO consent_exchanges (id, consent_id, partner_name) VALUES (1, 1, 'Jobcenter Kreis Warendorf')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO clients (id, consent_id, organisation_id, given_name, family_name, date_of_birth,"
            " gender, country_of_origin, languages, residence_status, registered_by_id)"
            " VALUES (1, 1, 1, :g, :f, :d, 'female', 'SY', 'ar', 'residence_permit', 1)"
        ),
        {"g": enc("Rania"), "f": enc("Al-Hassan"), "d": enc("1988-03-14")},
    )
    conn.execute(
        text(
            "INSERT INTO cases (id, client_id, owner_id, organisation_id, kind, stage, opened_on,"
            " last_activity_on) VALUES (1, 1, 1, 1, 'case_management', 'planning', '2026-06-01', '2026-06-10')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO goals (id, case_id, text, agreed_on, status, recorded_by_id, recorded_at)"
            " VALUES (1, 1, :t, '2026-06-05', 'open', 1, :now)"
        ),
        {"t": enc("Sprachkurs B1"), "now": now},
    )
    conn.execute(
        text(
            "INSERT INTO consultations (id, case_id, held_on, duration_minutes, mode, interpreter_used,"
            " entered_by_id, entered_at) VALUES (1, 1, '2026-06-10', 45, 'in_person', :f, 1, :now)"
        ),
        {"f": False, "now": now},
    )


def test_upgrade_from_the_foundation_release_keeps_the_data(scratch_app):
    from kimdb.cases.models import Case, Goal
    from kimdb.clients.models import Client
    from kimdb.consent.models import ConsentExchange
    from kimdb.extensions import db

    upgrade(revision=FOUNDATION)
    with db.engine.begin() as conn:
        fill_foundation_release(conn)
    upgrade()

    client = db.session.get(Client, 1)
    assert client.full_name == "Al-Hassan, Rania"
    assert client.family_name_index is None  # filled by `flask kimdb reindex`
    exchange = db.session.scalar(select(ConsentExchange))
    assert exchange.partner.name == "Jobcenter Kreis Warendorf"
    assert exchange.partner.organisation_id == 1
    goal = db.session.get(Goal, 1)
    assert goal.text == "Sprachkurs B1" and goal.responsible.value == "client"
    case = db.session.get(Case, 1)
    assert case.stage.value == "planning" and case.version_id == 1
    assert len(case.consultations) == 1


def test_downgrade_to_the_foundation_release_and_back(scratch_app):
    from kimdb.extensions import db

    upgrade()
    downgrade(revision=FOUNDATION)
    with db.engine.begin() as conn:
        fill_foundation_release(conn)
    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM clients")).scalar() == 1


def test_models_match_the_migrated_schema(scratch_app):
    from kimdb.extensions import db

    upgrade()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_upgrade_stops_before_any_change_when_a_person_has_two_open_cases(scratch_app):
    from sqlalchemy import inspect

    from kimdb.extensions import db

    upgrade(revision=FOUNDATION)
    with db.engine.begin() as conn:
        fill_foundation_release(conn)
        conn.execute(
            text(
                "INSERT INTO cases (id, client_id, owner_id, organisation_id, kind, stage, opened_on,"
                " last_activity_on) VALUES (2, 1, 1, 1, 'short_counselling', 'intake', '2026-06-02', '2026-06-02')"
            )
        )
    from alembic import command
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    with pytest.raises(RuntimeError, match=r"case id 1 \(client 1\), case id 2 \(client 1\)"):
        command.upgrade(config, "head")
    db.engine.dispose()
    with db.engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    # PostgreSQL rolls the whole upgrade back; SQLite keeps the completed 0002. Either way 0003
    # changed nothing, so the upgrade can simply be run again.
    assert version in {FOUNDATION, "0002_findings_households"}
    assert "partners" not in inspect(db.engine).get_table_names()
    # The operator closes one of them; then the upgrade goes through.
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE cases SET stage = 'closed', closed_on = '2026-06-03',"
                " closure_reason = 'other' WHERE id = 2"
            )
        )
    upgrade()


def test_upgrade_keeps_the_closure_of_closed_cases_in_their_history(scratch_app):
    from kimdb.cases.models import StageChange
    from kimdb.extensions import db

    upgrade(revision=FOUNDATION)
    with db.engine.begin() as conn:
        fill_foundation_release(conn)
        conn.execute(
            text(
                "UPDATE cases SET stage = 'closed', closed_on = '2026-06-20',"
                " closure_reason = 'moved_away' WHERE id = 1"
            )
        )
        conn.execute(
            text(
                "INSERT INTO stage_changes (case_id, from_stage, to_stage, changed_by_id, changed_at)"
                " VALUES (1, 'planning', 'closed', 1, :now)"
            ),
            {"now": dt.datetime(2026, 6, 20, 10, tzinfo=dt.UTC)},
        )
    upgrade()
    change = db.session.scalar(select(StageChange).where(StageChange.to_stage == "closed"))
    assert change.closed_on == dt.date(2026, 6, 20)
    assert change.closure_reason.value == "moved_away"


def test_upgrade_to_supervision_keeps_fte_and_what_supervisors_saw(scratch_app):
    """0005: each user's FTE becomes their first FTE period; a supervisor keeps supervising
    their organisation; a downgrade puts today's FTE back into users.fte."""
    from kimdb.auth import policy
    from kimdb.auth.models import User
    from kimdb.extensions import db

    upgrade(revision="0004_substitution")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO municipalities (id, name, kind) VALUES (1, 'K', 'county')"))
        conn.execute(
            text(
                "INSERT INTO organisations (id, name, kind, municipality_id)"
                " VALUES (1, 'KI', 'integration_centre', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, password_hash, role,"
                " organisation_id, fte, active, session_token)"
                " VALUES (1, 'cm.alt', 'Alt', 'x', 'case_manager', 1, 0.5, :t, '')"
            ),
            {"t": True},
        )
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, password_hash, role,"
                " organisation_id, fte, active, session_token)"
                " VALUES (2, 'sv.alt', 'Leitung', 'x', 'supervisor', 1, 1.0, :t, '')"
            ),
            {"t": True},
        )
    upgrade()

    case_manager, supervisor = db.session.get(User, 1), db.session.get(User, 2)
    assert str(case_manager.fte) == "0.50" and len(case_manager.fte_periods) == 1
    assert policy.may_supervise(supervisor, case_manager)
    db.session.remove()

    downgrade(revision="0004_substitution")
    with db.engine.connect() as conn:
        ftes = conn.execute(text("SELECT username, fte FROM users ORDER BY id")).all()
    assert [(name, float(fte)) for name, fte in ftes] == [("cm.alt", 0.5), ("sv.alt", 1.0)]
