"""Substitution and transfer rules (R7) on plain values."""

import datetime as dt
from decimal import Decimal

import pytest

from kimdb.caseload.rules import Caseload
from kimdb.substitution import rules

TODAY = dt.date(2026, 11, 23)
NEXT_WEEK = TODAY + dt.timedelta(days=7)
D = dt.timedelta


def check(
    first=TODAY,
    last=NEXT_WEEK,
    absent=1,
    substitute=2,
    absent_periods=(),
    substitute_absences=(),
):
    rules.check_substitution(
        absent, substitute, first, last, TODAY, list(absent_periods), list(substitute_absences)
    )


def test_a_valid_substitution_passes():
    check()


def test_nobody_substitutes_themself():
    with pytest.raises(rules.SubstitutionRefused, match="selbst"):
        check(substitute=1)


def test_period_ending_before_it_starts_is_refused():
    with pytest.raises(rules.SubstitutionRefused) as refused:
        check(first=TODAY + D(days=3), last=TODAY + D(days=1))
    assert refused.value.field == "last_day"


def test_period_in_the_past_is_refused():
    with pytest.raises(rules.SubstitutionRefused, match="Vergangenheit"):
        check(first=TODAY - D(days=9), last=TODAY - D(days=2))


def test_overlapping_substitutions_of_one_person_are_refused():
    with pytest.raises(rules.SubstitutionRefused, match="schon eine Vertretung"):
        check(absent_periods=[(TODAY + D(days=7), TODAY + D(days=20))])
    check(absent_periods=[(TODAY + D(days=8), TODAY + D(days=20))])  # the next day is fine


def test_a_substitute_who_is_absent_themself_is_refused():
    with pytest.raises(rules.SubstitutionRefused, match="selbst abwesend"):
        check(substitute_absences=[(TODAY + D(days=2), TODAY + D(days=3))])


def test_active_only_within_the_period_and_not_after_ending():
    assert rules.is_active(TODAY, TODAY + D(days=1), False, TODAY + D(days=1))
    assert not rules.is_active(TODAY, TODAY + D(days=1), False, TODAY + D(days=2))
    assert not rules.is_active(TODAY, TODAY + D(days=1), True, TODAY)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((True, True, True, False, " "), "reason"),
        ((False, True, True, False, "Kündigung"), "receiver_id"),
        ((True, False, True, False, "Kündigung"), "receiver_id"),
        ((True, True, False, False, "Kündigung"), "receiver_id"),
        ((True, True, True, True, "Kündigung"), "receiver_id"),
    ],
)
def test_receiver_must_be_an_active_colleague_and_a_reason_given(args, field):
    with pytest.raises(rules.TransferRefused) as refused:
        rules.check_receiver(*args)
    assert refused.value.field == field


def test_caseload_after_reassignment_warns_above_the_band():
    before = Caseload(fte=Decimal("0.5"), open_cases=28, open_cm=9)
    after, warn = rules.caseload_after(before, 2, 1)
    assert after.open_cases == 30 and not warn
    after, warn = rules.caseload_after(before, 3, 0)
    assert after.open_cases == 31 and warn
