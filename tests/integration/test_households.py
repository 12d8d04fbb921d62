"""Households (Bedarfsgemeinschaft, FAQ KIM NRW Q33) through the service and real requests:
create from a client page, add and remove members, need-to-know on the household page (R8),
every member's case counting on its own (R5)."""

import random

import pytest
from sqlalchemy import event, func, select

from kimdb.caseload.service import caseload_of
from kimdb.cases import service as cases_service
from kimdb.cases.rules import CaseKind
from kimdb.clients.models import Client
from kimdb.households import rules, service
from kimdb.households.demo import add_demo_households
from kimdb.households.models import Household
from kimdb.households.rules import HouseholdRefused
from kimdb.timeutil import today
from tests.factories import csrf_token, login, make_case, make_client, make_user

KB, CM = CaseKind.SHORT_COUNSELLING, CaseKind.CASE_MANAGEMENT


@pytest.fixture()
def anna(client):
    user = make_user("cm.anna")
    login(client, "cm.anna")
    return user


def households(db) -> int:
    return db.session.scalar(select(func.count(Household.id)))


def household_of(db, client_id: int) -> int | None:
    db.session.expire_all()
    return db.session.get(Client, client_id).household_id


def create(http, client_id: int, label: str | None, token: bool = True):
    data = {"household-label": label} if label is not None else {}
    if token:
        data["household-csrf_token"] = csrf_token(http, f"/clients/{client_id}")
    return http.post(f"/households/new/{client_id}", data=data)


def add(http, household_id: int, client_id, token: bool = True):
    data = {"add-client_id": str(client_id)}
    if token:
        data["add-csrf_token"] = csrf_token(http, f"/households/{household_id}")
    return http.post(f"/households/{household_id}/members", data=data)


def remove(http, household_id: int, client_id: int, token: bool = True):
    prefix = f"remove{client_id}"
    data = {f"{prefix}-client_id": str(client_id)}
    if token:
        data[f"{prefix}-csrf_token"] = csrf_token(http, f"/households/{household_id}")
    return http.post(f"/households/{household_id}/members/{client_id}/remove", data=data)


def family(anna, *names):
    """Register clients of ``anna`` (each with an own KB case); return (clients, cases)."""
    clients = [make_client(anna, given=g, family="Haddad") for g in names]
    return clients, [make_case(anna, KB, c) for c in clients]


# -- create from the client page --------------------------------------------------------------
def test_client_page_offers_a_new_household(client, db, anna):
    person = make_client(anna)
    page = client.get(f"/clients/{person.id}").get_data(as_text=True)
    assert "Neue Bedarfsgemeinschaft anlegen" in page
    assert 'name="household-label"' in page


def test_create_household_from_the_client_page(client, db, anna):
    (amina,), (case,) = family(anna, "Amina")
    response = create(client, amina.id, "  Familie Haddad ")
    assert response.status_code == 302
    household = db.session.scalar(select(Household))
    assert response.location.endswith(f"/households/{household.id}")
    assert household.label == "Familie Haddad"
    assert household.organisation_id == anna.organisation_id
    assert household.created_by_id == anna.id
    assert household_of(db, amina.id) == household.id

    page = client.get(response.location).get_data(as_text=True)
    assert "Familie Haddad" in page and "Haddad, Amina" in page and case.number in page
    client_page = client.get(f"/clients/{amina.id}").get_data(as_text=True)
    assert f'href="/households/{household.id}"' in client_page
    assert "Neue Bedarfsgemeinschaft anlegen" not in client_page


def test_add_a_second_member_and_the_page_lists_both_with_their_cases(client, db, anna):
    (amina, omar), (amina_case, omar_case) = family(anna, "Amina", "Omar")
    cases_service.reclassify(omar_case, CM, "mehrere Rechtskreise", anna)
    household = service.create_household(amina, "Familie Haddad", anna)

    response = add(client, household.id, omar.id)
    assert response.status_code == 302
    assert household_of(db, omar.id) == household.id

    page = client.get(f"/households/{household.id}").get_data(as_text=True)
    assert "Haddad, Amina" in page and "Haddad, Omar" in page
    for case in (amina_case, omar_case):
        assert f'href="/cases/{case.id}"' in page and case.number in page
    assert "Kurzberatung" in page and "Case Management" in page
    assert "Erstberatung (Intake)" in page or "Assessment" in page
    assert amina_case.opened_on.strftime("%d.%m.%Y") in page
    assert "ohne Zugriff" not in page


def test_each_member_counts_as_its_own_case(db, anna):
    (amina, omar, lina), _ = family(anna, "Amina", "Omar", "Lina")
    household = service.create_household(amina, "Familie Haddad", anna)
    service.add_member(household, omar, anna)
    service.add_member(household, lina, anna)
    assert caseload_of(anna).open_cases == 3  # three people, three cases (FAQ KIM NRW Q33)
    assert caseload_of(anna).open_cm == 0


# -- need-to-know (R8) ----------------------------------------------------------------------
def test_member_of_another_case_manager_is_counted_not_named(client, db, anna):
    (amina,), (amina_case,) = family(anna, "Amina")
    bob = make_user("cm.bob")
    karim = make_client(bob, given="Karim", family="Nasser")
    karim_case = make_case(bob, CM, karim)
    household = service.create_household(amina, "Familie Haddad", anna)
    service.add_member(household, karim, bob)

    page = client.get(f"/households/{household.id}").get_data(as_text=True)
    assert "Haddad, Amina" in page and amina_case.number in page
    assert "Karim" not in page and "Nasser" not in page
    assert karim_case.number not in page and f"/cases/{karim_case.id}" not in page
    assert "1 weiteres Mitglied ohne Zugriff" in page

    members, hidden = service.members_view(anna, household)
    assert [m.client.id for m in members] == [amina.id] and hidden == 1


def test_case_manager_without_a_visible_member_gets_404(client, db, anna):
    bob = make_user("cm.bob")
    karim = make_client(bob, given="Karim", family="Nasser")
    household = service.create_household(karim, "Familie Nasser", bob)
    mine = make_client(anna)
    assert client.get(f"/households/{household.id}").status_code == 404
    token = csrf_token(client, f"/clients/{mine.id}")
    response = client.post(
        f"/households/{household.id}/members",
        data={"add-client_id": str(mine.id), "add-csrf_token": token},
    )
    assert response.status_code == 404
    response = client.post(
        f"/households/{household.id}/members/{karim.id}/remove",
        data={f"remove{karim.id}-client_id": str(karim.id), f"remove{karim.id}-csrf_token": token},
    )
    assert response.status_code == 404
    assert household_of(db, mine.id) is None and household_of(db, karim.id) == household.id
    assert client.get("/households/4711").status_code == 404


def test_other_case_managers_client_cannot_be_added(client, db, anna):
    (amina,), _ = family(anna, "Amina")
    household = service.create_household(amina, "Familie Haddad", anna)
    karim = make_client(make_user("cm.bob"), given="Karim", family="Nasser")
    response = add(client, household.id, karim.id)
    assert response.status_code == 422
    assert "Diese Person können Sie nicht hinzufügen." in response.get_data(as_text=True)
    assert household_of(db, karim.id) is None


def test_members_view_needs_four_queries_whatever_the_size(db, anna):
    clients, _ = family(anna, "Amina", "Omar", "Lina", "Yusuf")
    household = service.create_household(clients[0], "Familie Haddad", anna)
    for other in clients[1:]:
        service.add_member(household, other, anna)
    statements = []

    def count(*_args):
        statements.append(1)

    db.session.expire_all()
    assert household.id and anna.role  # loaded again before counting
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        members, hidden = service.members_view(anna, household)
        cases = [c.number for m in members for c in m.cases]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(members) == 4 and hidden == 0 and len(cases) == 4
    # members, their cases, the member count, and anna's substitutions (read once per
    # application context: ``policy.substituted_owner_ids``)
    assert len(statements) == 4


# -- bad input: 4xx, German message, nothing written --------------------------------------------
def test_empty_label_is_refused(client, db, anna):
    person = make_client(anna)
    response = create(client, person.id, "")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte eine Bezeichnung angeben" in page
    assert "Bitte prüfen Sie Ihre Eingaben" in page
    assert households(db) == 0 and household_of(db, person.id) is None


def test_too_short_label_is_refused_and_kept(client, db, anna):
    person = make_client(anna)
    response = create(client, person.id, "X")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "mindestens 2 Zeichen" in page and "Bitte prüfen Sie Ihre Eingaben" in page
    assert 'value="X"' in page
    assert households(db) == 0


def test_client_already_in_a_household_cannot_found_another(client, db, anna):
    person = make_client(anna)
    service.create_household(person, "Familie Haddad", anna)
    response = create(client, person.id, "Familie Haddad-Neu")
    # The panel shows the existing household, and the refusal says why.
    assert response.status_code == 422
    assert "bereits zu einer Bedarfsgemeinschaft" in response.get_data(as_text=True)
    assert households(db) == 1


def test_client_already_in_another_household_is_refused(client, db, anna):
    (amina, omar), _ = family(anna, "Amina", "Omar")
    first = service.create_household(amina, "Familie Haddad", anna)
    second = service.create_household(omar, "Familie Haddad (Onkel)", anna)
    response = add(client, first.id, omar.id)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "anderen Bedarfsgemeinschaft" in page and "zuerst austragen" in page
    assert "Bitte prüfen Sie Ihre Eingaben" in page
    assert household_of(db, omar.id) == second.id


def test_client_of_another_organisation_is_refused(client, db, anna):
    (amina,), _ = family(anna, "Amina")
    household = service.create_household(amina, "Familie Haddad", anna)
    caritas = make_user("cm.caritas", organisation="Caritas Testkreis")
    karim = make_client(caritas, given="Karim", family="Nasser")
    make_case(anna, KB, karim)  # anna counsels him too, so she may see him
    response = add(client, household.id, karim.id)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "anderen Organisation" in page and "Bitte prüfen Sie Ihre Eingaben" in page
    assert household_of(db, karim.id) is None


def test_adding_without_a_choice_is_refused(client, db, anna):
    (amina,), _ = family(anna, "Amina")
    household = service.create_household(amina, "Familie Haddad", anna)
    response = add(client, household.id, "")
    assert response.status_code == 422
    assert "Bitte eine Person wählen." in response.get_data(as_text=True)


@pytest.mark.parametrize("action", ["create", "add", "remove"])
def test_forms_without_csrf_token_are_refused(client, db, anna, action):
    (amina, omar), _ = family(anna, "Amina", "Omar")
    if action == "create":
        response = create(client, amina.id, "Familie Haddad", token=False)
        expected = (None, None)
    else:
        household = service.create_household(amina, "Familie Haddad", anna)
        if action == "add":
            response = add(client, household.id, omar.id, token=False)
            expected = (household.id, None)
        else:
            response = remove(client, household.id, amina.id, token=False)
            expected = (household.id, None)
    assert response.status_code == 400
    assert "Formular abgelaufen" in response.get_data(as_text=True)
    assert (household_of(db, amina.id), household_of(db, omar.id)) == expected


def test_failed_write_leaves_no_household_behind(data_app, db, anna, monkeypatch):
    person = make_client(anna)
    service.create_household(person, "Familie Haddad", anna)
    # Let a second founding through the rule, as a concurrent request would: the guarded
    # update refuses, and the new household row is rolled back with it.
    monkeypatch.setattr(rules, "check_founding_member", lambda _client: None)
    with data_app.test_request_context(), pytest.raises(HouseholdRefused):
        service.create_household(person, "Familie Haddad (doppelt)", anna)
    assert households(db) == 1


def test_household_is_full_at_the_member_limit(data_app, db, anna, monkeypatch):
    monkeypatch.setattr(rules, "MAX_MEMBERS", 2)
    (amina, omar, lina), _ = family(anna, "Amina", "Omar", "Lina")
    household = service.create_household(amina, "Familie Haddad", anna)
    service.add_member(household, omar, anna)
    with data_app.test_request_context(), pytest.raises(HouseholdRefused, match="höchstens 2"):
        service.add_member(household, lina, anna)
    assert household_of(db, lina.id) is None


# -- remove members; the last one dissolves the household ----------------------------------------
def test_remove_a_member_keeps_the_household(client, db, anna):
    (amina, omar), _ = family(anna, "Amina", "Omar")
    household = service.create_household(amina, "Familie Haddad", anna)
    service.add_member(household, omar, anna)
    response = remove(client, household.id, omar.id)
    assert response.status_code == 302
    assert response.location.endswith(f"/households/{household.id}")
    assert household_of(db, omar.id) is None and household_of(db, amina.id) == household.id
    assert households(db) == 1


def test_last_member_leaving_dissolves_the_household(client, db, anna):
    person = make_client(anna)
    household = service.create_household(person, "Familie Haddad", anna)
    response = remove(client, household.id, person.id)
    assert response.status_code == 302
    assert response.location.endswith(f"/clients/{person.id}")
    assert households(db) == 0 and household_of(db, person.id) is None
    assert "aufgelöst" in client.get(response.location).get_data(as_text=True)


def test_removing_a_non_member_is_refused(client, db, anna):
    (amina, omar), _ = family(anna, "Amina", "Omar")
    household = service.create_household(amina, "Familie Haddad", anna)
    response = remove(client, household.id, omar.id)
    assert response.status_code == 422
    assert "gehört nicht zu dieser Bedarfsgemeinschaft" in response.get_data(as_text=True)
    assert household_of(db, amina.id) == household.id


def test_add_form_offers_only_linkable_clients(db, anna):
    (amina, omar, lina), _ = family(anna, "Amina", "Omar", "Lina")
    household = service.create_household(amina, "Familie Haddad", anna)
    service.create_household(lina, "Familie Haddad (Tante)", anna)
    make_client(make_user("cm.bob"), given="Karim", family="Nasser")
    make_client(make_user("cm.caritas", organisation="Caritas Testkreis"), family="Other")
    assert [c.id for c in service.linkable_clients(anna, household)] == [omar.id]


# -- demo data ---------------------------------------------------------------------------------
def test_demo_households_link_clients_of_one_case_manager(db):
    anna, bob = make_user("cm.anna"), make_user("cm.bob", organisation="Caritas Testkreis")
    clients_by_user = {
        user: [make_client(user, given=f"Person{i}", family=f"Name{i}") for i in range(7)]
        for user in (anna, bob)
    }
    count = add_demo_households(random.Random(2026), clients_by_user, today())
    db.session.commit()
    households_ = db.session.scalars(select(Household)).all()
    assert count == len(households_) >= 4
    for household in households_:
        members = db.session.scalars(
            select(Client).where(Client.household_id == household.id)
        ).all()
        assert 2 <= len(members) <= 4
        assert {m.registered_by_id for m in members} == {household.created_by_id}
        assert {m.organisation_id for m in members} == {household.organisation_id}
        assert {f"Familie {m.family_name}" for m in members} == {household.label}
