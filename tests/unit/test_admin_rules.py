"""The rules of the Fachadministration (issue 5, item 8) on plain values, without the app."""

import datetime as dt
from decimal import Decimal

import pytest

from kimdb.auth import admin
from kimdb.auth.admin import AccountRefused
from kimdb.auth.models import Role
from kimdb.orgs import service as orgs
from kimdb.orgs.models import MunicipalityKind, OrganisationKind


def refusal(call, *args) -> AccountRefused:
    with pytest.raises(AccountRefused) as caught:
        call(*args)
    return caught.value


# -- user name --------------------------------------------------------------------------------
def test_user_name_is_trimmed_and_stored_in_lower_case():
    assert admin.clean_username("  Anna.Mueller ") == "anna.mueller"


@pytest.mark.parametrize("name", ["cm.anna", "a", "anna_2", "anna-m", "anna@ki-kreis.de"])
def test_plain_user_names_are_accepted(name):
    assert admin.clean_username(name) == name


@pytest.mark.parametrize("name", ["", "   ", None])
def test_empty_user_name_is_refused(name):
    error = refusal(admin.clean_username, name)
    assert error.field == "username"
    assert "Benutzernamen angeben" in error.message


@pytest.mark.parametrize("name", ["anna mueller", "müller", ".anna", "anna/x", "a'b", "anna\tx"])
def test_user_name_with_spaces_umlauts_or_symbols_is_refused(name):
    error = refusal(admin.clean_username, name)
    assert error.field == "username"
    assert "nur Buchstaben a–z" in error.message


def test_user_name_of_80_characters_is_accepted_and_81_refused():
    assert admin.clean_username("a" * 80) == "a" * 80
    assert "höchstens 80 Zeichen" in refusal(admin.clean_username, "a" * 81).message


def test_a_user_name_held_by_another_account_is_taken():
    error = refusal(admin.check_username_free, 7, None)
    assert error.field == "username"
    assert error.message == "Dieser Benutzername ist bereits vergeben."
    assert refusal(admin.check_username_free, 7, 8).field == "username"


def test_an_account_keeps_its_own_user_name_and_a_free_name_is_free():
    admin.check_username_free(7, 7)
    admin.check_username_free(None, None)
    admin.check_username_free(None, 7)


# -- display name -----------------------------------------------------------------------------
def test_display_name_collapses_spaces():
    assert admin.clean_display_name("  Anna   Müller ") == "Anna Müller"


def test_display_name_must_be_given_and_at_most_120_characters():
    assert refusal(admin.clean_display_name, "  ").field == "display_name"
    assert admin.clean_display_name("x" * 120) == "x" * 120
    assert "höchstens 120 Zeichen" in refusal(admin.clean_display_name, "x" * 121).message


# -- role -------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", admin.MUNICIPAL_ROLES)
def test_the_roles_an_administrator_gives_are_known(role):
    assert admin.parse_role(role.value) is role
    assert admin.parse_role(role) is role


@pytest.mark.parametrize("value", ["superuser", "", None, "ADMIN"])
def test_an_unknown_role_is_refused_in_german(value):
    error = refusal(admin.parse_role, value)
    assert error.field == "role"
    assert error.message == "Bitte eine der angebotenen Rollen wählen."


# -- FTE --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "fte"),
    [
        ("0,5", "0.5"),
        ("0.5", "0.5"),
        (" 0,75 ", "0.75"),
        ("1", "1"),
        ("1,00", "1.00"),
        ("0,1", "0.1"),
        ("0,10", "0.10"),
    ],
)
def test_fte_accepts_the_german_decimal_comma(text, fte):
    assert admin.parse_fte(text) == Decimal(fte)


@pytest.mark.parametrize("text", ["1,5", "0", "0,0", "0,09", "1,01", "2"])
def test_fte_outside_0_10_to_1_00_is_refused(text):
    error = refusal(admin.parse_fte, text)
    assert error.field == "fte"
    assert "zwischen 0,10 und 1,00" in error.message


@pytest.mark.parametrize("text", ["", "halb", "0,5,5", "-0,5", "1e-1", "NaN", "Infinity", ",5"])
def test_fte_that_is_no_number_is_refused(text):
    error = refusal(admin.parse_fte, text)
    assert error.field == "fte"
    assert "als Zahl angeben" in error.message


def test_fte_has_at_most_two_decimals():
    assert "zwei Nachkommastellen" in refusal(admin.parse_fte, "0,125").message


def test_check_fte_refuses_none_and_non_finite_values():
    for value in (None, Decimal("NaN"), Decimal("Infinity")):
        assert refusal(admin.check_fte, value).field == "fte"


# -- password ---------------------------------------------------------------------------------
def test_password_needs_at_least_ten_characters():
    admin.check_password("x" * 10)
    error = refusal(admin.check_password, "x" * 9)
    assert error.field == "password"
    assert error.message == "Das Passwort muss mindestens 10 Zeichen lang sein."
    assert refusal(admin.check_password, None).field == "password"


def test_password_is_bounded_at_200_characters():
    admin.check_password("x" * 200)
    assert "höchstens 200 Zeichen" in refusal(admin.check_password, "x" * 201).message


# -- organisation -----------------------------------------------------------------------------
def test_organisation_must_lie_in_the_admins_municipality():
    admin.check_in_municipality(3, 3)
    for other in (4, None):
        error = refusal(admin.check_in_municipality, other, 3)
        assert error.field == "organisation_id"
        assert "Organisation Ihres Kreises bzw. Ihrer Stadt" in error.message


# -- self-protection of administrators --------------------------------------------------------
@pytest.mark.parametrize("role", [Role.CASE_MANAGER, Role.SUPERVISOR])
def test_admin_cannot_demote_themself(role):
    error = refusal(admin.check_not_self_demotion, 1, 1, role)
    assert error.field == "role"
    assert "nicht selbst die Rolle Fachadministration entziehen" in error.message


def test_admin_may_keep_own_role_and_change_other_admins():
    admin.check_not_self_demotion(1, 1, Role.ADMIN)
    admin.check_not_self_demotion(1, 2, Role.CASE_MANAGER)


def test_admin_cannot_deactivate_themself_but_others():
    error = refusal(admin.check_not_self_deactivation, 1, 1)
    assert error.field is None
    assert "eigenes Konto nicht deaktivieren" in error.message
    admin.check_not_self_deactivation(1, 2)


# -- open cases stay where their supervisor sees them -----------------------------------------
CM, SV = Role.CASE_MANAGER, Role.SUPERVISOR


def test_case_manager_with_open_cases_keeps_role_and_organisation():
    error = refusal(admin.check_open_cases_keep_their_place, 3, CM, SV, 1, 1)
    assert error.field == "role"
    assert "Offene Fälle dieser Person: 3. Die Rolle kann erst geändert werden" in error.message
    error = refusal(admin.check_open_cases_keep_their_place, 3, CM, CM, 1, 2)
    assert error.field == "organisation_id"


def test_without_open_cases_role_and_organisation_can_change():
    admin.check_open_cases_keep_their_place(0, CM, SV, 1, 2)


def test_other_changes_are_free_with_open_cases():
    admin.check_open_cases_keep_their_place(3, CM, CM, 1, 1)


# -- team and supervision (issue 5, item 1) ---------------------------------------------------
def test_a_team_of_the_chosen_organisation_is_accepted():
    admin.check_team_of_organisation(3, 3)


@pytest.mark.parametrize("team_organisation", [4, None])
def test_a_team_of_another_organisation_or_no_such_team_is_refused(team_organisation):
    error = refusal(admin.check_team_of_organisation, team_organisation, 3)
    assert error.field == "team_id"
    assert "Team der gewählten Organisation" in error.message


def test_supervised_scopes_are_parsed():
    assert admin.parse_supervised(["organisation:3", "team:7", "team:7"]) == {
        ("organisation", 3),
        ("team", 7),
    }
    assert admin.parse_supervised(None) == set()


@pytest.mark.parametrize("value", ["3", "org:3", "team:", "team:-1", "team:1e3", "team:3 "])
def test_malformed_supervised_scopes_are_refused(value):
    assert refusal(admin.parse_supervised, [value]).field == "supervised"


def test_a_supervisor_needs_at_least_one_scope_others_none():
    error = refusal(admin.check_supervised, Role.SUPERVISOR, set())
    assert error.field == "supervised"
    assert "mindestens eine Organisation oder ein Team" in error.message
    admin.check_supervised(Role.SUPERVISOR, {("team", 1)})
    admin.check_supervised(Role.CASE_MANAGER, set())
    admin.check_supervised(Role.DPO, set())


# -- FTE over time (issue 5, item 3) ----------------------------------------------------------
def test_fte_days_reach_five_years_before_the_first_period_and_two_years_ahead():
    on = dt.date(2026, 3, 1)
    assert admin.fte_dates_allowed(dt.date(2024, 1, 15), on) == (
        dt.date(2019, 1, 15),
        dt.date(2028, 3, 1),
    )
    assert admin.fte_dates_allowed(None, on) == (dt.date(2021, 3, 1), dt.date(2028, 3, 1))


def test_fte_days_bounds_around_29_february():
    earliest, latest = admin.fte_dates_allowed(dt.date(2024, 2, 29), dt.date(2024, 2, 29))
    assert (earliest, latest) == (dt.date(2019, 2, 28), dt.date(2026, 2, 28))


def test_fte_valid_from_inside_the_bounds_is_accepted():
    first, on = dt.date(2024, 1, 15), dt.date(2026, 3, 1)
    for day in (dt.date(2019, 1, 15), first, on, dt.date(2028, 3, 1)):
        admin.check_fte_valid_from(day, first, on)


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (None, "Bitte das Datum angeben"),
        (dt.date(2019, 1, 14), "frühestens 15.01.2019"),
        (dt.date(2028, 3, 2), "spätestens 01.03.2028"),
    ],
)
def test_fte_valid_from_outside_the_bounds_is_refused(day, message):
    error = refusal(admin.check_fte_valid_from, day, dt.date(2024, 1, 15), dt.date(2026, 3, 1))
    assert error.field == "valid_from"
    assert message in error.message


# -- deactivation and substitutions (R7) ------------------------------------------------------
def test_running_and_future_substitutions_end_with_the_deactivation():
    on = dt.date(2026, 3, 1)
    assert admin.ends_with_deactivation(on, False, on)
    assert admin.ends_with_deactivation(dt.date(2026, 4, 1), False, on)
    assert not admin.ends_with_deactivation(dt.date(2026, 2, 28), False, on)
    assert not admin.ends_with_deactivation(dt.date(2026, 4, 1), True, on)


# -- organisations and teams (kimdb.orgs.service, issue 5, item 1) ----------------------------
def test_team_and_organisation_names_are_trimmed_and_bounded():
    assert orgs.clean_team_name("  Team   Nord ") == "Team Nord"
    assert orgs.clean_organisation_name(" AWO  Kreis ") == "AWO Kreis"
    assert orgs.clean_team_name("t" * 120) == "t" * 120
    for call, too_long in ((orgs.clean_team_name, 121), (orgs.clean_organisation_name, 201)):
        with pytest.raises(orgs.OrganisationRefused) as caught:
            call("x" * too_long)
        assert caught.value.field == "name"
        with pytest.raises(orgs.OrganisationRefused):
            call("   ")


def test_names_are_the_same_regardless_of_case_and_spaces():
    others = {1: "Team Nord", 2: "Team  Süd"}
    assert orgs.same_name("team nord", others) == 1
    assert orgs.same_name("TEAM SÜD", others) == 2
    assert orgs.same_name("Team Nord", others, own_id=1) is None
    assert orgs.same_name("Team West", others) is None


def test_unknown_organisation_kind_is_refused():
    assert orgs.parse_organisation_kind("welfare") is OrganisationKind.WELFARE
    with pytest.raises(orgs.OrganisationRefused) as caught:
        orgs.parse_organisation_kind("bank")
    assert caught.value.field == "kind"


def test_a_team_is_deleted_only_without_members_and_supervisions():
    orgs.check_team_deletable("Team Nord", 0, 0)
    with pytest.raises(orgs.OrganisationRefused) as caught:
        orgs.check_team_deletable("Team Nord", 2, 0)
    assert "Ihm gehören noch 2 Person(en) an" in caught.value.message
    with pytest.raises(orgs.OrganisationRefused) as caught:
        orgs.check_team_deletable("Team Nord", 0, 1)
    assert "von 1 Koordination(en) betreut" in caught.value.message


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Kreis Warendorf", MunicipalityKind.COUNTY),
        ("Hochsauerlandkreis", MunicipalityKind.COUNTY),
        ("Märkischer Kreis", MunicipalityKind.COUNTY),
        ("Rhein-Kreis Neuss", MunicipalityKind.COUNTY),
        ("Städteregion Aachen", MunicipalityKind.COUNTY),
        ("Aachen", MunicipalityKind.CITY),
        ("Mülheim an der Ruhr", MunicipalityKind.CITY),
        ("Stadt Anderswo", MunicipalityKind.CITY),
        # the state's offices (create-organisation --municipality "Land Nordrhein-Westfalen")
        ("Land Nordrhein-Westfalen", MunicipalityKind.STATE),
    ],
)
def test_the_kind_of_a_municipality_follows_its_name(name, kind):
    assert orgs.municipality_kind(name) is kind


def test_an_administrator_cannot_give_the_state_role():
    import pytest

    from kimdb.auth import admin

    with pytest.raises(admin.AccountRefused):
        admin.parse_role("state")
    assert admin.parse_role("dpo").value == "dpo"
