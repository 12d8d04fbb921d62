"""Emergency-access rules (issue 5 item 7; DESIGN.md R7, R8) on plain values, without an app."""

import datetime as dt

import pytest

from kimdb.emergency import rules
from kimdb.emergency.rules import AccessRequest, AccessState, EmergencyRefused

GOOD_REASON = "Klientin steht vor der Räumung, Termin beim Amt heute 14 Uhr"
GRANTED = dt.datetime(2026, 3, 10, 9, 30, tzinfo=dt.UTC)


def test_a_good_reason_is_accepted_and_trimmed():
    assert rules.check_reason(f"  {GOOD_REASON}\n") == GOOD_REASON


@pytest.mark.parametrize("reason", [None, "", "   ", "dringend", "x" * 19, " " * 5 + "y" * 19])
def test_a_missing_or_too_short_reason_is_refused_at_the_reason_field(reason):
    with pytest.raises(EmergencyRefused) as refused:
        rules.check_reason(reason)
    assert refused.value.field == "reason"


def test_the_reason_needs_twenty_characters_after_trimming():
    assert rules.check_reason("a" * 20) == "a" * 20
    with pytest.raises(EmergencyRefused, match="zu kurz"):
        rules.check_reason("   " + "a" * 19 + "   ")


def test_an_overlong_reason_is_refused():
    with pytest.raises(EmergencyRefused, match="zu lang"):
        rules.check_reason("a" * (rules.MAX_REASON_LENGTH + 1))


def test_an_open_supervised_case_without_substitution_may_be_opened():
    rules.check_emergency_access(AccessRequest(case_found=True))


def test_a_case_outside_the_supervisors_scope_reads_like_an_unknown_number():
    with pytest.raises(EmergencyRefused) as refused:
        rules.check_emergency_access(AccessRequest(case_found=False, case_open=False))
    assert refused.value.field == "case_number"
    assert refused.value.message == rules.NOT_FOUND
    assert "abgeschlossen" not in str(refused.value)


def test_a_closed_case_is_refused():
    with pytest.raises(EmergencyRefused, match="abgeschlossen") as refused:
        rules.check_emergency_access(AccessRequest(case_found=True, case_open=False))
    assert refused.value.field == "case_number"


def test_a_running_substitution_sends_the_supervisor_to_the_substitute():
    with pytest.raises(EmergencyRefused, match="Vertretung: Cm.Sub") as refused:
        rules.check_emergency_access(AccessRequest(case_found=True, substitute_name="Cm.Sub"))
    assert refused.value.field == "case_number"


def test_the_limit_of_running_accesses_is_enforced():
    limit = rules.MAX_RUNNING_PER_SUPERVISOR
    assert limit == 3
    rules.check_emergency_access(AccessRequest(case_found=True, running_count=limit - 1))
    with pytest.raises(EmergencyRefused, match="bereits 3 laufende"):
        rules.check_emergency_access(AccessRequest(case_found=True, running_count=limit))


def test_asking_again_for_a_case_already_open_continues_even_at_the_limit():
    rules.check_emergency_access(
        AccessRequest(case_found=True, running_on_case=True, running_count=3)
    )


def test_a_substitution_beats_a_running_access():
    with pytest.raises(EmergencyRefused, match="Vertretung"):
        rules.check_emergency_access(
            AccessRequest(case_found=True, substitute_name="Cm.Sub", running_on_case=True)
        )


def test_expiry_is_the_configured_number_of_hours_after_granting():
    assert rules.access_expiry(GRANTED, 4) == dt.datetime(2026, 3, 10, 13, 30, tzinfo=dt.UTC)
    assert rules.access_expiry(GRANTED, 24) == GRANTED + dt.timedelta(days=1)


@pytest.mark.parametrize("hours", [0, -1, 25, 4.5, True])
def test_expiry_refuses_hours_outside_one_to_twenty_four(hours):
    with pytest.raises(ValueError, match="EMERGENCY_ACCESS_HOURS"):
        rules.access_expiry(GRANTED, hours)


def test_expiry_needs_an_aware_moment():
    with pytest.raises(ValueError):
        rules.access_expiry(GRANTED.replace(tzinfo=None), 4)


def test_an_access_runs_until_it_expires_or_is_ended():
    expires = rules.access_expiry(GRANTED, 4)
    minute = dt.timedelta(minutes=1)
    assert rules.access_state(expires, None, expires - minute) is AccessState.RUNNING
    assert rules.access_state(expires, None, expires) is AccessState.EXPIRED
    ended = GRANTED + dt.timedelta(hours=1)
    assert rules.access_state(expires, ended, ended + minute) is AccessState.ENDED
    # SQLite hands back naive UTC values
    assert (
        rules.access_state(expires.replace(tzinfo=None), None, expires + minute)
        is AccessState.EXPIRED
    )


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2026-000123", (2026, 123)),
        (" 2026 - 42 ", (2026, 42)),
        ("2026-0", None),
        ("123", None),
        ("2026-12a", None),
        ("", None),
        (None, None),
        ("2026-99999999999", None),
    ],
)
def test_case_numbers_are_parsed_as_users_see_them(text, parsed):
    assert rules.parse_case_number(text) == parsed


def test_a_month_is_a_berlin_calendar_month_in_utc():
    start, end = rules.month_bounds("2026-03")
    assert start == dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)  # CET, UTC+1
    assert end == dt.datetime(2026, 3, 31, 22, 0, tzinfo=dt.UTC)  # CEST from 29 March, UTC+2
    december = rules.month_bounds("2026-12")
    assert december[1] == dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-03", "März", "", None])
def test_no_month_is_read_from_anything_else(text):
    assert rules.month_bounds(text) is None
