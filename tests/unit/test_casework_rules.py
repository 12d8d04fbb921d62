"""The case-work rules (issue "Case work") on plain values: no app, no database."""

import datetime as dt

import pytest

from kimdb.cases import rules
from kimdb.cases.rules import CaseFacts, CaseKind, ClosureReason, FollowUpState, Stage
from kimdb.clients.rules import normalise_name, search_terms
from kimdb.rules import RuleViolation

CM, KB = CaseKind.CASE_MANAGEMENT, CaseKind.SHORT_COUNSELLING
TODAY = dt.date(2026, 11, 22)


def test_reopen_within_the_window_with_a_reason():
    rules.check_reopen(Stage.CLOSED, TODAY - dt.timedelta(days=90), "Neue Lage", TODAY, 90)


def test_reopen_after_the_window_asks_for_a_new_case():
    with pytest.raises(rules.ReopenRefused, match="neuen Fall"):
        rules.check_reopen(Stage.CLOSED, TODAY - dt.timedelta(days=91), "x", TODAY, 90)


def test_reopen_needs_a_reason_and_a_closed_case():
    with pytest.raises(rules.ReopenRefused) as refused:
        rules.check_reopen(Stage.CLOSED, TODAY, "  ", TODAY, 90)
    assert refused.value.field == "reason"
    with pytest.raises(rules.ReopenRefused, match="abgeschlossener"):
        rules.check_reopen(Stage.MONITORING, None, "x", TODAY, 90)


@pytest.mark.parametrize(
    ("kind", "before", "expected"),
    [
        (CM, Stage.EVALUATION, Stage.EVALUATION),
        (CM, Stage.INTAKE, Stage.INTAKE),
        (KB, Stage.COUNSELLING, Stage.COUNSELLING),
        (KB, Stage.MONITORING, Stage.COUNSELLING),  # reclassified since: back on its own path
        (CM, None, Stage.ASSESSMENT),
    ],
)
def test_reopened_case_returns_to_the_stage_it_was_closed_from(kind, before, expected):
    assert rules.stage_after_reopen(kind, before) is expected


def test_cm_closed_as_goals_achieved_needs_an_agreed_goal():
    facts = CaseFacts(kind=CM, stage=Stage.INTAKE, opened_on=TODAY)
    with pytest.raises(rules.ClosureRefused, match="vereinbartes Ziel"):
        rules.check_closure(facts, TODAY, ClosureReason.GOALS_ACHIEVED, "", TODAY)
    rules.check_closure(facts, TODAY, ClosureReason.CONTACT_BROKE_OFF, "", TODAY)
    with_goal = CaseFacts(kind=CM, stage=Stage.EVALUATION, agreed_goals=1, opened_on=TODAY)
    rules.check_closure(with_goal, TODAY, ClosureReason.GOALS_ACHIEVED, "", TODAY)


def test_kb_with_three_needs_exceeds_its_limits():
    assert rules.exceeds_kb_limits(CaseFacts(kind=KB, stage=Stage.COUNSELLING, needs=3))
    assert not rules.exceeds_kb_limits(CaseFacts(kind=KB, stage=Stage.COUNSELLING, needs=2))
    assert not rules.exceeds_kb_limits(CaseFacts(kind=CM, stage=Stage.PLANNING, needs=9))


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("sgb_ii", True),
        ("sgb_iii", True),
        ("sgb_viii", True),
        ("sgb_xii", False),
        ("aufenthg", False),
        ("mbe", False),
        (None, False),
    ],
)
def test_verweisberatung_is_referral_into_own_case_management(domain, expected):
    assert rules.is_verweisberatung(domain) is expected


def test_referral_passing_data_needs_the_exchange_scope():
    rules.check_referral_consent(False, 7, set())
    rules.check_referral_consent(True, 7, {7, 9})
    with pytest.raises(rules.ReferralRefused, match="keine Einwilligung") as refused:
        rules.check_referral_consent(True, 7, {9})
    assert refused.value.field == "passes_data"


def test_referral_date_within_the_case():
    opened = TODAY - dt.timedelta(days=10)
    rules.check_referral_date(TODAY, opened, TODAY)
    with pytest.raises(rules.ReferralRefused, match="Zukunft"):
        rules.check_referral_date(TODAY + dt.timedelta(days=1), opened, TODAY)
    with pytest.raises(rules.ReferralRefused, match="vor der Eröffnung"):
        rules.check_referral_date(opened - dt.timedelta(days=1), opened, TODAY)


def test_only_the_latest_note_version_is_corrected_by_a_different_text():
    rules.check_note_correction(True, "Termin am 3.", "Termin am 4.")
    with pytest.raises(rules.NoteRefused, match="bereits korrigiert"):
        rules.check_note_correction(False, "alt", "neu")
    with pytest.raises(rules.NoteRefused, match="identisch"):
        rules.check_note_correction(True, "Termin  am 3.", "Termin am 3. ")


@pytest.mark.parametrize(
    ("due", "done", "state"),
    [
        (TODAY - dt.timedelta(days=1), False, FollowUpState.OVERDUE),
        (TODAY, False, FollowUpState.DUE_TODAY),
        (TODAY + dt.timedelta(days=1), False, FollowUpState.UPCOMING),
        (TODAY - dt.timedelta(days=5), True, FollowUpState.DONE),
    ],
)
def test_follow_up_state(due, done, state):
    assert rules.follow_up_state(due, done, TODAY) is state


def test_new_follow_up_cannot_be_due_in_the_past():
    rules.check_follow_up_due(TODAY, TODAY)
    with pytest.raises(rules.RuleViolation, match="Vergangenheit"):
        rules.check_follow_up_due(TODAY - dt.timedelta(days=1), TODAY)


def test_reassessment_starts_a_new_assessment_version():
    started = dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC)
    assert rules.needs_new_assessment_version(None, None)
    assert not rules.needs_new_assessment_version(started, started - dt.timedelta(days=1))
    assert rules.needs_new_assessment_version(started, started + dt.timedelta(days=30))


def test_median_entry_lag_in_days():
    assert rules.median_lag_days([]) is None
    assert rules.median_lag_days([0, 0, 3]) == 0
    assert rules.median_lag_days([0, 1, 2, 9]) == 1.5


@pytest.mark.parametrize(
    "lags", [[], [0], [0, 0, 3], [0, 1, 2, 9], [5, 0, 0, 1, 1, 1, 7, 2], [3, 3, 0, 0]]
)
def test_median_of_counts_is_the_median_of_the_expanded_lags(lags):
    counts: dict[int, int] = {}
    for lag in lags:
        counts[lag] = counts.get(lag, 0) + 1
    assert rules.median_of_counts(counts) == rules.median_lag_days(lags)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Müller", "Mueller"),
        ("Müller", "MULLER"),
        ("Al-Hassan", "al hassan"),
        ("Çelik", "Celik"),
        ("Straße", "Strasse"),
        ("Sørensen", "Sorensen"),
        ("Zaïd", "zaid"),
    ],
)
def test_names_fold_to_the_same_search_key(a, b):
    assert normalise_name(a) == normalise_name(b)


def test_different_names_stay_different():
    assert normalise_name("Haddad") != normalise_name("Hadad")


def test_search_terms_split_on_spaces_and_commas():
    assert search_terms("Müller, Ayşe ") == ["muller", "ayse"]
    assert search_terms("  ") == []


def test_case_closed_for_withdrawn_consent_is_never_reopened():
    with pytest.raises(rules.ReopenRefused, match="Einwilligung wurde widerrufen"):
        rules.check_reopen(Stage.CLOSED, TODAY, "neu", TODAY, 90, ClosureReason.CONSENT_WITHDRAWN)


def test_an_assessment_needs_one_written_text():
    with pytest.raises(RuleViolation) as refused:
        rules.check_assessment_written([("housing", "  ", None), ("health", "", "\n")])
    assert refused.value.field == "housing_situation"
    rules.check_assessment_written([("housing", "", None), ("health", None, "Familie hilft")])
