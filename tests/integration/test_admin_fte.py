"""FTE over time (issue 5, item 3): the administrator records a new FTE from a day on; the
same day replaces the entry; bad input is refused in German with HTTP 422 and nothing
written."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from kimdb.auth import admin
from kimdb.auth.admin import AccountRefused
from kimdb.auth.models import FtePeriod, Role, User
from kimdb.timeutil import today
from tests.factories import csrf_token, login, make_user

D = dt.timedelta


@pytest.fixture()
def boss(client):
    """A logged-in administrator of Kreis Testkreis, admin.a."""
    user = make_user("admin.a", role=Role.ADMIN)
    login(client, "admin.a")
    return user


def periods(db, user_id: int) -> list[tuple[dt.date, Decimal]]:
    db.session.expire_all()
    return db.session.execute(
        select(FtePeriod.valid_from, FtePeriod.fte)
        .where(FtePeriod.user_id == user_id)
        .order_by(FtePeriod.valid_from)
    ).all()


def post_fte(http, user_id: int, fte: str | None, valid_from: str | None):
    data = {"fte-csrf_token": csrf_token(http, f"/admin/users/{user_id}")}
    if fte is not None:
        data["fte-fte"] = fte
    if valid_from is not None:
        data["fte-valid_from"] = valid_from
    return http.post(f"/admin/users/{user_id}/fte", data=data)


def test_a_future_fte_takes_effect_on_its_day(client, db, boss):
    anna = make_user("cm.anna", fte="1.0")
    start = today() + D(days=30)
    response = post_fte(client, anna.id, "0,5", start.strftime("%d.%m.%Y"))
    assert response.status_code == 302
    assert response.location == f"/admin/users/{anna.id}"
    assert periods(db, anna.id) == [(today(), Decimal("1.00")), (start, Decimal("0.50"))]
    anna = db.session.get(User, anna.id)
    assert anna.fte == Decimal("1.00")
    assert anna.fte_on(start) == Decimal("0.50")
    assert anna.fte_on(start - D(days=1)) == Decimal("1.00")
    page = client.get(response.location).get_data(as_text=True)
    assert f"ist ab {start:%d.%m.%Y} 0,50 VZÄ" in page
    history = page.split('data-testid="fte-history"')[1].split("</table>")[0]
    assert "geplant" in history and "gilt heute" in history
    assert history.index(f"{start:%d.%m.%Y}") < history.index(f"{today():%d.%m.%Y}")


def test_a_past_fte_changes_the_days_since_then(client, db, boss):
    anna = make_user("cm.anna", fte="1.0")
    start = today() - D(days=400)
    assert post_fte(client, anna.id, "0.75", start.isoformat()).status_code == 302
    anna = db.session.get(User, anna.id)
    assert anna.fte_on(start) == Decimal("0.75")
    assert anna.fte_on(today() - D(days=1)) == Decimal("0.75")
    assert anna.fte == Decimal("1.00")


def test_a_second_entry_on_the_same_day_replaces_the_first(client, db, boss):
    anna = make_user("cm.anna", fte="1.0")
    start = (today() + D(days=7)).isoformat()
    assert post_fte(client, anna.id, "0,5", start).status_code == 302
    assert post_fte(client, anna.id, "0,6", start).status_code == 302
    assert periods(db, anna.id)[-1] == (today() + D(days=7), Decimal("0.60"))
    assert len(periods(db, anna.id)) == 2
    assert post_fte(client, anna.id, "0,8", today().isoformat()).status_code == 302
    assert periods(db, anna.id)[0] == (today(), Decimal("0.80"))


@pytest.mark.parametrize(
    ("fte", "valid_from", "message"),
    [
        ("0", "{today}", "Der Stellenumfang muss zwischen 0,10 und 1,00 VZÄ liegen"),
        ("1,5", "{today}", "Der Stellenumfang muss zwischen 0,10 und 1,00 VZÄ liegen"),
        ("0,125", "{today}", "höchstens zwei Nachkommastellen"),
        ("abc", "{today}", "Bitte den Stellenumfang als Zahl angeben"),
        ("", "{today}", "Bitte den Stellenumfang als Zahl angeben"),
        (None, "{today}", "Bitte den Stellenumfang angeben"),
        ("0,5", None, "Bitte das Datum angeben, ab dem der neue Stellenumfang gilt"),
        ("0,5", "", "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."),
        ("0,5", "31.02.2026", "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."),
        ("0,5", "morgen", "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."),
        ("0,5", "{too_early}", "höchstens 5 Jahre vor dem ersten erfassten Stellenumfang"),
        ("0,5", "{too_late}", "höchstens 2 Jahre in der Zukunft"),
    ],
)
def test_bad_fte_change_is_refused_in_german_and_nothing_written(
    client, db, boss, fte, valid_from, message
):
    anna = make_user("cm.anna", fte="1.0")
    days = {
        "today": today().isoformat(),
        "too_early": (today() - D(days=5 * 366 + 1)).isoformat(),
        "too_late": (today() + D(days=2 * 366 + 1)).isoformat(),
    }
    typed = valid_from.format(**days) if valid_from is not None else None
    before = periods(db, anna.id)
    response = post_fte(client, anna.id, fte, typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page
    assert 'class="error-summary"' in page
    assert page.count(message) >= 2, f"{message!r} not at the field and in the summary"
    assert periods(db, anna.id) == before
    if fte:
        assert f'value="{fte}"' in page  # what was typed is kept


def test_the_edge_days_are_accepted(client, db, boss):
    anna = make_user("cm.anna", fte="1.0")
    earliest, latest = admin.fte_dates_allowed(today(), today())
    assert post_fte(client, anna.id, "0,5", earliest.isoformat()).status_code == 302
    assert post_fte(client, anna.id, "0,5", latest.isoformat()).status_code == 302
    assert len(periods(db, anna.id)) == 3


def test_fte_change_of_another_municipality_is_not_found(app, client, db, boss):
    from tests.integration.test_admin import foreign_user

    stranger = foreign_user("cm.fremd")
    token = csrf_token(client, "/admin/users")
    response = client.post(
        f"/admin/users/{stranger.id}/fte",
        data={"fte-csrf_token": token, "fte-fte": "0,5", "fte-valid_from": today().isoformat()},
    )
    assert response.status_code == 404
    with pytest.raises(AccountRefused):
        admin.change_fte(boss, stranger, Decimal("0.5"), today())
    assert len(periods(db, stranger.id)) == 1


def test_fte_change_without_csrf_token_is_refused(client, db, boss):
    anna = make_user("cm.anna")
    data = {"fte-fte": "0,5", "fte-valid_from": today().isoformat()}
    assert client.post(f"/admin/users/{anna.id}/fte", data=data).status_code == 400
    assert len(periods(db, anna.id)) == 1
