"""Rules of households (Bedarfsgemeinschaft, FAQ KIM NRW Q33), without Flask or a database."""

import pytest

from kimdb.households import rules
from kimdb.households.rules import HouseholdFacts, HouseholdRefused, MemberFacts

ORG, OTHER_ORG = 1, 2


def household(members: int = 1, id: int = 7, organisation_id: int = ORG) -> HouseholdFacts:
    return HouseholdFacts(id=id, organisation_id=organisation_id, members=members)


def person(household_id: int | None = None, organisation_id: int = ORG) -> MemberFacts:
    return MemberFacts(household_id=household_id, organisation_id=organisation_id)


def refusal(call, *args) -> HouseholdRefused:
    with pytest.raises(HouseholdRefused) as caught:
        call(*args)
    return caught.value


def test_label_is_trimmed_and_inner_spaces_collapsed():
    assert rules.clean_label("  Familie   Haddad ") == "Familie Haddad"


@pytest.mark.parametrize("label", [None, "", "   ", "X"])
def test_label_shorter_than_two_characters_is_refused(label):
    error = refusal(rules.clean_label, label)
    assert error.field == "label"
    assert "mindestens 2 Zeichen" in str(error.message)


def test_label_of_120_characters_is_accepted_and_121_refused():
    assert rules.clean_label("F" * rules.LABEL_MAX) == "F" * 120
    error = refusal(rules.clean_label, "F" * (rules.LABEL_MAX + 1))
    assert error.field == "label"
    assert "höchstens 120 Zeichen" in str(error.message)


def test_client_without_household_can_found_one():
    rules.check_founding_member(person())


def test_client_in_a_household_cannot_found_another():
    error = refusal(rules.check_founding_member, person(household_id=3))
    assert "bereits zu einer Bedarfsgemeinschaft" in str(error.message)


def test_client_of_the_same_organisation_without_household_can_join():
    rules.check_join(household(members=3), person())


def test_member_cannot_join_the_same_household_twice():
    error = refusal(rules.check_join, household(), person(household_id=7))
    assert error.field == "client_id"
    assert "bereits zu dieser Bedarfsgemeinschaft" in str(error.message)


def test_client_in_another_household_is_asked_to_leave_it_first():
    error = refusal(rules.check_join, household(), person(household_id=8))
    assert error.field == "client_id"
    assert "anderen Bedarfsgemeinschaft" in str(error.message)
    assert "zuerst austragen" in str(error.message)


def test_client_of_another_organisation_cannot_join():
    error = refusal(rules.check_join, household(), person(organisation_id=OTHER_ORG))
    assert error.field == "client_id"
    assert "anderen Organisation" in str(error.message)


def test_household_holds_at_most_twenty_members():
    rules.check_join(household(members=rules.MAX_MEMBERS - 1), person())
    error = refusal(rules.check_join, household(members=rules.MAX_MEMBERS), person())
    assert "höchstens 20 Mitglieder" in str(error.message)


def test_leaving_keeps_a_household_with_other_members():
    assert rules.check_leave(household(members=2), person(household_id=7)) is False


def test_last_member_leaving_dissolves_the_household():
    assert rules.check_leave(household(members=1), person(household_id=7)) is True


def test_only_a_member_can_leave():
    error = refusal(rules.check_leave, household(members=2), person(household_id=8))
    assert error.field == "client_id"
    assert "nicht zu dieser Bedarfsgemeinschaft" in str(error.message)
    refusal(rules.check_leave, household(members=2), person())
