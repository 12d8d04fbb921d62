"""``flask kimdb seed`` (issue 8 item 1): the generated installation at the ``tiny`` scale.

The generator bypasses the ORM (COPY, batched inserts); these tests check through the real
application that what it wrote is what normal operation writes: logins, search by name,
the case page, the audit chain, ciphertext at rest, and its refusal of real clients.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pyotp
import pytest
from sqlalchemy import func, select, text

from kimdb.auth.models import FtePeriod, Role, User
from kimdb.cases.models import Case, Consultation, Need, StageChange
from kimdb.cases.rules import CaseKind, Stage
from kimdb.clients.models import Client
from kimdb.crypto import keyring
from kimdb.orgs.models import Organisation
from kimdb.seed import SEED_PASSWORD, seed_totp_secret
from kimdb.seed.generate import COLUMNS
from tests.factories import csrf_token, make_client, make_user

SMALL = ["--cases", "320"]  # the open cases of the tiny scale and a few closed ones


def run_seed(data_app, *extra: str):
    """Invoke ``flask kimdb seed --scale tiny`` with ``extra`` options; return the result."""
    return data_app.test_cli_runner().invoke(args=["kimdb", "seed", "--scale", "tiny", *extra])


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table the generator writes, read through the column types
    (ciphertext decrypted). Password hashes are left out: Argon2 salts each hash at random."""
    db.session.remove()
    with db.engine.connect() as connection:
        return {
            name: [
                tuple(row)
                for row in connection.execute(
                    select(*(c for c in table.c if c.name != "password_hash")).order_by(
                        *table.primary_key
                    )
                )
            ]
            for name, table in db.metadata.tables.items()
            if name in (*COLUMNS, "municipalities")
        }


def empty_database(db) -> None:
    """Remove every row, as the ``db`` fixture does after a test."""
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


def test_tiny_scale_builds_three_staffed_municipalities(data_app, db):
    result = run_seed(data_app)
    assert result.exit_code == 0, result.output
    assert "seeded scale tiny (seed 1): 3 municipalities" in result.output

    organisations = db.session.scalars(
        select(Organisation).where(Organisation.name.like("Kommunales Integrationszentrum %"))
    ).all()
    assert sorted(o.municipality.name for o in organisations) == [
        "Bottrop",
        "Remscheid",
        "Solingen",
    ]
    for organisation in organisations:
        managers = db.session.scalars(
            select(User).where(
                User.organisation_id == organisation.id, User.role == Role.CASE_MANAGER
            )
        ).all()
        assert sum(m.fte for m in managers) == Decimal("1.80")  # 9 posts × 0.2
        roles = db.session.scalars(
            select(User.role).where(User.organisation_id == organisation.id)
        ).all()
        assert roles.count(Role.SUPERVISOR) == 1 and roles.count(Role.ADMIN) == 1
    state = db.session.scalar(select(User).where(User.username == "land.nrw"))
    assert state.role is Role.STATE and state.organisation.municipality.kind.value == "state"

    cases = db.session.scalar(select(func.count(Case.id)))
    assert 900 <= cases <= 1100
    assert db.session.scalar(select(func.count(Client.id))) == cases
    cm_share = (
        db.session.scalar(select(func.count(Case.id)).where(Case.kind == CaseKind.CASE_MANAGEMENT))
        / cases
    )
    assert 0.25 < cm_share < 0.42
    consultations = db.session.scalar(select(func.count(Consultation.id)))
    assert 5 < consultations / cases < 12
    open_cases = db.session.scalar(select(func.count(Case.id)).where(Case.stage != Stage.CLOSED))
    assert 40 * 5.4 < open_cases < 65 * 5.4  # around the guideline of 50–60 per FTE
    # Every case's stage history ends in its stage; closed cases keep their closure.
    last_stage = (
        select(StageChange.case_id, func.max(StageChange.id).label("last"))
        .group_by(StageChange.case_id)
        .subquery()
    )
    mismatched = db.session.scalar(
        select(func.count())
        .select_from(Case)
        .join(last_stage, last_stage.c.case_id == Case.id)
        .join(StageChange, StageChange.id == last_stage.c.last)
        .where(StageChange.to_stage != Case.stage)
    )
    assert mismatched == 0
    assessed = select(StageChange.case_id).where(StageChange.to_stage == Stage.ASSESSMENT)
    assert (
        db.session.scalar(
            select(func.count(Case.id)).where(
                Case.id.in_(assessed), ~Case.id.in_(select(Need.case_id))
            )
        )
        == 0
    )  # R4: a case that entered the assessment has a need
    assert (
        db.session.scalar(
            select(func.count(Case.id)).where(Case.last_consultation_on > Case.last_activity_on)
        )
        == 0
    )


def test_the_loaded_tables_are_analyzed_and_on_postgresql_vacuumed(data_app, db):
    """After the bulk load the planner has statistics, and on PostgreSQL the pages are
    vacuumed (visibility map set), as autovacuum would leave them on a running server."""
    with db.engine.connect() as connection:
        started = (
            connection.scalar(text("SELECT clock_timestamp()"))
            if connection.dialect.name == "postgresql"
            else None
        )
    assert run_seed(data_app, *SMALL).exit_code == 0
    db.session.remove()
    with db.engine.connect() as connection:
        if started is None:
            assert connection.scalar(text("SELECT count(*) FROM sqlite_stat1")) > 0
            return
        connection.execute(text("SELECT pg_stat_clear_snapshot()"))
        vacuumed = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN "
                "('cases', 'clients', 'consultations') AND last_vacuum >= :started "
                "AND last_analyze >= :started"
            ),
            {"started": started},
        )
        assert vacuumed == 3


def test_new_rows_after_the_seed_get_fresh_ids(data_app, db):
    assert run_seed(data_app, *SMALL).exit_code == 0
    cm = db.session.scalar(select(User).where(User.username == "cm.bottrop.1"))
    newest = db.session.scalar(select(func.max(Client.id)))
    client = make_client(cm, given="Neu", family="Nach-dem-Seed")
    assert client.id > newest
    period = FtePeriod(user_id=cm.id, fte=Decimal("0.5"), valid_from=dt.date(2026, 1, 2))
    db.session.add(period)
    db.session.commit()


def test_same_seed_writes_the_same_rows(data_app, db):
    assert run_seed(data_app, *SMALL, "--seed", "4").exit_code == 0
    first = snapshot(db)
    empty_database(db)
    assert run_seed(data_app, *SMALL, "--seed", "4").exit_code == 0
    again = snapshot(db)
    assert again.keys() == first.keys() and len(first["consultations"]) > 1000
    for table, rows in first.items():
        assert again[table] == rows, table
    empty_database(db)
    assert run_seed(data_app, *SMALL, "--seed", "5").exit_code == 0
    other = snapshot(db)
    assert other["clients"] != first["clients"]


def test_refuses_a_database_with_real_clients(data_app, db):
    make_client(make_user("cm.real"))
    result = run_seed(data_app, *SMALL)
    assert result.exit_code != 0
    assert "1 real clients" in result.output
    assert db.session.scalar(select(func.count(Client.id))) == 1
    assert db.session.scalar(select(User.id).where(User.username == "land.nrw")) is None


def test_refuses_an_installation_with_accounts_but_no_clients_yet(data_app, db):
    make_user("erika.mustermann", role=Role.ADMIN)
    result = run_seed(data_app, *SMALL)
    assert result.exit_code != 0
    assert "1 accounts" in result.output and "never into an installation" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_refuses_to_run_twice(data_app, db):
    assert run_seed(data_app, *SMALL).exit_code == 0
    again = run_seed(data_app, *SMALL)
    assert again.exit_code != 0
    assert "already holds generated data" in again.output


def _log_in(http, username: str, code_secret: str | None = None):
    """Log in through the real form with SEED_PASSWORD (and the code of ``code_secret``)."""
    response = http.post(
        "/login",
        data={
            "username": username,
            "password": SEED_PASSWORD,
            "csrf_token": csrf_token(http, "/login"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if code_secret is None:
        return response
    assert response.location == "/login/code"
    return http.post(
        "/login/code",
        data={
            "code": pyotp.TOTP(code_secret).now(),
            "csrf_token": csrf_token(http, "/login/code"),
        },
    )


def test_generated_accounts_log_in_and_work(app, client, data_app, db):
    assert run_seed(data_app, *SMALL).exit_code == 0
    username = "cm.remscheid.1"
    response = _log_in(client, username)
    assert response.location != "/login/code"  # case managers need no second factor here
    owner = db.session.scalar(select(User).where(User.username == username))
    case = db.session.scalar(
        select(Case).where(Case.owner_id == owner.id).order_by(Case.id).limit(1)
    )
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    name = case.client.family_name
    assert name in page.get_data(as_text=True)

    found = client.get("/cases/", query_string={"name": f"{case.client.given_name} {name}"})
    assert found.status_code == 200
    assert f"/cases/{case.id}" in found.get_data(as_text=True)

    supervisor = "sv.remscheid"
    other = app.test_client()
    response = _log_in(other, supervisor, seed_totp_secret(supervisor))
    assert response.status_code == 302 and "/login" not in response.location
    assert other.get("/").status_code == 200

    audit = data_app.test_cli_runner().invoke(args=["kimdb", "audit", "verify"])
    assert audit.exit_code == 0, audit.output
    assert re.search(r"OK: [1-9]\d* entries", audit.output)


def test_personal_fields_are_ciphertext_at_rest(data_app, db):
    assert run_seed(data_app, *SMALL).exit_code == 0
    person = db.session.scalar(select(Client).order_by(Client.id).limit(1))
    raw = db.session.execute(
        text("SELECT given_name, family_name, date_of_birth FROM clients WHERE id = :id"),
        {"id": person.id},
    ).one()
    header = keyring().current_header
    for value in raw:
        blob = bytes(value)
        assert blob.startswith(header)
        assert person.family_name.encode() not in blob
        assert person.given_name.encode() not in blob
    names = db.session.execute(text("SELECT family_name FROM clients")).scalars().all()
    assert all(person.family_name.encode() not in bytes(n) for n in names)
    # The blind index finds the client as registration would have indexed it.
    assert (
        db.session.scalar(
            select(func.count(Client.id)).where(
                Client.family_name_index == person.family_name_index
            )
        )
        >= 1
    )
    fresh = Client(given_name=person.given_name, family_name=person.family_name)
    fresh.date_of_birth = person.date_of_birth
    fresh.refresh_search_index()
    assert fresh.family_name_index == person.family_name_index
    assert fresh.date_of_birth_index == person.date_of_birth_index
    assert fresh.family_name_phonetic == person.family_name_phonetic
    assert person.birth_year == person.date_of_birth.year


@pytest.mark.parametrize("scale", ["nowhere"])
def test_unknown_scale_is_refused_by_the_command(data_app, db, scale):
    result = data_app.test_cli_runner().invoke(args=["kimdb", "seed", "--scale", scale])
    assert result.exit_code == 2


def test_dangling_references_are_found_after_a_load_without_triggers(db):
    from kimdb.seed.load import BulkWriter

    with db.engine.connect() as connection:
        writer = BulkWriter(connection, db.metadata.tables)
        if not writer.triggers_off:
            pytest.skip("only PostgreSQL as superuser loads with the triggers off")
        try:
            writer.write(
                "follow_ups",
                ("id", "case_id", "due_on", "text", "created_by_id", "created_at"),
                [
                    (
                        1,
                        424242,
                        dt.date(2026, 1, 5),
                        "x",
                        434343,
                        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                    )
                ],
            )
            problems = writer.verify_references(["follow_ups"])
        finally:
            writer.finish()
            connection.rollback()
    assert sorted(problems) == [
        "follow_ups.case_id → cases: 1 rows",
        "follow_ups.created_by_id → users: 1 rows",
    ]
