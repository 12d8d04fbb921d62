"""The demo installation (Kreis Warendorf, 10.40 FTE) and the operators' commands."""

from decimal import Decimal

from sqlalchemy import func, select

from kimdb.auth.models import User
from kimdb.caseload.rules import Band
from kimdb.caseload.service import caseload_of
from kimdb.cases.models import Case
from kimdb.cases.rules import CaseKind, Stage
from kimdb.clients.models import Client
from tests.factories import login


def test_demo_builds_warendorf_on_real_figures(data_app, db):
    runner = data_app.test_cli_runner()
    result = runner.invoke(args=["kimdb", "demo"])
    assert result.exit_code == 0, result.output
    assert "cm.above" in result.output and "kimdb-demo" in result.output
    staff = db.session.scalars(
        select(User).where(User.role == "case_manager", User.active.is_(True))
    ).all()
    assert sum(u.fte for u in staff) == Decimal("10.40")
    cases = db.session.scalar(select(func.count(Case.id)))
    assert 500 <= cases <= 600
    cm = db.session.scalar(select(func.count(Case.id)).where(Case.kind == CaseKind.CASE_MANAGEMENT))
    assert 0.28 < cm / cases < 0.42
    bands = {
        u: caseload_of(db.session.scalar(select(User).where(User.username == u))).band
        for u in ("cm.above", "cm.within", "cm.below")
    }
    assert bands == {"cm.above": Band.ABOVE, "cm.within": Band.WITHIN, "cm.below": Band.BELOW}
    assert db.session.scalar(select(func.count(Case.id)).where(Case.stage == Stage.CLOSED)) > 50

    again = runner.invoke(args=["kimdb", "demo"])
    assert again.exit_code == 0 and "already present" in again.output
    assert db.session.scalar(select(func.count(Case.id))) == cases


def test_demo_names_reflect_the_target_group(data_app, db):
    data_app.test_cli_runner().invoke(args=["kimdb", "demo"])
    origins = set(db.session.scalars(select(Client.country_of_origin)).all())
    assert {"SY", "UA", "TR", "AF"} <= origins


def test_demo_login_works(client, data_app, db):
    data_app.test_cli_runner().invoke(args=["kimdb", "demo"])
    response = login(client, "cm.above", "kimdb-demo")
    assert response.status_code == 302
    assert 'data-testid="caseload-warning"' in client.get("/").get_data(as_text=True)


def test_create_user_reads_password_from_stdin(client, data_app, db):
    runner = data_app.test_cli_runner()
    runner.invoke(
        args=["kimdb", "create-organisation", "KI Kreis Borken", "--municipality", "Kreis Borken"]
    )
    result = runner.invoke(
        args=[
            "kimdb",
            "create-user",
            "first.admin",
            "--role",
            "admin",
            "--organisation",
            "KI Kreis Borken",
            "--fte",
            "0,5",
        ],
        input="ein-langes-passwort\n",
    )
    assert result.exit_code == 0, result.output
    assert "ein-langes-passwort" not in result.output
    assert login(client, "first.admin", "ein-langes-passwort").status_code == 302


def test_create_user_refuses_bad_input(data_app, db):
    runner = data_app.test_cli_runner()
    runner.invoke(args=["kimdb", "create-organisation", "KI X", "--municipality", "Kreis X"])
    unknown_org = runner.invoke(
        args=["kimdb", "create-user", "u1", "--role", "admin", "--organisation", "nope"],
        input="ein-langes-passwort\n",
    )
    assert unknown_org.exit_code != 0 and "no organisation named" in unknown_org.output
    short = runner.invoke(
        args=["kimdb", "create-user", "u1", "--role", "admin", "--organisation", "KI X"],
        input="kurz\n",
    )
    assert short.exit_code != 0 and "at least 10" in short.output
    bad_fte = runner.invoke(
        args=[
            "kimdb",
            "create-user",
            "u1",
            "--role",
            "case_manager",
            "--organisation",
            "KI X",
            "--fte",
            "1.5",
        ],
        input="ein-langes-passwort\n",
    )
    assert bad_fte.exit_code != 0 and "FTE" in bad_fte.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_reindex_fills_missing_search_indexes(client, data_app, db):
    from kimdb.cases.queries import CaseSearch, search_cases
    from tests.factories import make_case, make_client, make_user

    user = make_user("cm.idx")
    person = make_client(user, given="Jürgen", family="Müller")
    make_case(user, client=person)
    person.family_name_index = person.given_name_index = person.date_of_birth_index = None
    db.session.commit()
    assert db.session.scalars(search_cases(user, CaseSearch(name="Mueller"), 30)).all() == []

    result = data_app.test_cli_runner().invoke(args=["kimdb", "reindex"])
    assert result.exit_code == 0 and "reindexed 1 clients" in result.output
    found = db.session.scalars(search_cases(user, CaseSearch(name="Mueller"), 30)).all()
    assert [c.client_id for c in found] == [person.id]


def test_seed_municipalities_adds_the_54_municipalities_once(client, data_app, db):
    from kimdb.orgs.models import Municipality

    runner = data_app.test_cli_runner()
    first = runner.invoke(args=["kimdb", "seed-municipalities"])
    assert first.exit_code == 0, first.output
    assert "54 added, 0 already present (54 in the list)" in first.output
    again = runner.invoke(args=["kimdb", "seed-municipalities"])
    assert "0 added, 54 already present" in again.output
    assert db.session.scalar(select(func.count(Municipality.id))) == 54
