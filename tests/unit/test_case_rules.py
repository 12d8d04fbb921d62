"""The case rules (R3, R4) on plain values: no Flask app, no database."""

import datetime as dt

import pytest

from kimdb.cases import rules
from kimdb.cases.rules import CaseFacts, CaseKind, ClosureReason, Stage

CM, KB = CaseKind.CASE_MANAGEMENT, CaseKind.SHORT_COUNSELLING
TODAY = dt.date(2026, 11, 22)


def facts(kind=CM, stage=Stage.INTAKE, **counts):
    return CaseFacts(kind=kind, stage=stage, opened_on=dt.date(2026, 10, 1), **counts)


def test_cm_moves_along_its_path_one_stage_at_a_time():
    assert rules.next_stages(CM, Stage.INTAKE) == [Stage.ASSESSMENT]
    assert rules.next_stages(CM, Stage.PLANNING) == [Stage.LINKING]
    assert rules.next_stages(CM, Stage.EVALUATION) == []


def test_reassessment_goes_from_monitoring_back_to_assessment():
    assert rules.next_stages(CM, Stage.MONITORING) == [Stage.EVALUATION, Stage.ASSESSMENT]
    rules.check_transition(facts(stage=Stage.MONITORING, needs=2, agreed_goals=1), Stage.ASSESSMENT)


def test_kb_path_is_intake_counselling():
    assert rules.next_stages(KB, Stage.INTAKE) == [Stage.COUNSELLING]
    assert rules.next_stages(KB, Stage.COUNSELLING) == []


def test_assessment_needs_a_need():
    with pytest.raises(rules.TransitionRefused, match="mindestens ein Bedarf"):
        rules.check_transition(facts(), Stage.ASSESSMENT)
    rules.check_transition(facts(needs=1), Stage.ASSESSMENT)


def test_planning_needs_an_agreed_goal():
    with pytest.raises(rules.TransitionRefused, match="vereinbartes Ziel"):
        rules.check_transition(facts(stage=Stage.ASSESSMENT, needs=1), Stage.PLANNING)
    rules.check_transition(facts(stage=Stage.ASSESSMENT, needs=1, agreed_goals=1), Stage.PLANNING)


def test_a_stage_jump_is_refused():
    with pytest.raises(rules.TransitionRefused, match="nicht möglich"):
        rules.check_transition(facts(needs=3, agreed_goals=2), Stage.PLANNING)


def test_kb_cannot_enter_a_cm_stage():
    with pytest.raises(rules.TransitionRefused):
        rules.check_transition(facts(kind=KB, needs=1), Stage.ASSESSMENT)


def test_closing_is_not_a_plain_transition():
    with pytest.raises(rules.TransitionRefused, match="Abschlussgrund"):
        rules.check_transition(facts(stage=Stage.EVALUATION), Stage.CLOSED)


def test_closure_needs_date_and_reason():
    with pytest.raises(rules.ClosureRefused) as missing_date:
        rules.check_closure(facts(), None, ClosureReason.MOVED_AWAY, "", TODAY)
    assert missing_date.value.field == "closed_on"
    with pytest.raises(rules.ClosureRefused) as missing_reason:
        rules.check_closure(facts(), TODAY, None, "", TODAY)
    assert missing_reason.value.field == "reason"


def test_closure_date_not_in_future_nor_before_opening():
    with pytest.raises(rules.ClosureRefused, match="Zukunft"):
        rules.check_closure(
            facts(), TODAY + dt.timedelta(days=1), ClosureReason.MOVED_AWAY, "", TODAY
        )
    with pytest.raises(rules.ClosureRefused, match="vor der Eröffnung"):
        rules.check_closure(facts(), dt.date(2026, 9, 1), ClosureReason.MOVED_AWAY, "", TODAY)


def test_other_reason_needs_a_text():
    with pytest.raises(rules.ClosureRefused) as refused:
        rules.check_closure(facts(), TODAY, ClosureReason.OTHER, "  ", TODAY)
    assert refused.value.field == "reason_text"
    rules.check_closure(facts(), TODAY, ClosureReason.OTHER, "Haft", TODAY)


def test_kb_with_one_consultation_cannot_close_as_goals_achieved():
    with pytest.raises(rules.ClosureRefused, match="zwei Beratungsgespräche"):
        rules.check_closure(
            facts(kind=KB, consultations=1), TODAY, ClosureReason.GOALS_ACHIEVED, "", TODAY
        )


def test_kb_with_one_consultation_closes_when_contact_broke_off():
    rules.check_closure(
        facts(kind=KB, consultations=1), TODAY, ClosureReason.CONTACT_BROKE_OFF, "", TODAY
    )


def test_kb_after_two_consultations_closes_as_goals_achieved():
    rules.check_closure(
        facts(kind=KB, consultations=2), TODAY, ClosureReason.GOALS_ACHIEVED, "", TODAY
    )


def test_closed_case_cannot_be_closed_again():
    with pytest.raises(rules.ClosureRefused, match="bereits"):
        rules.check_closure(facts(stage=Stage.CLOSED), TODAY, ClosureReason.MOVED_AWAY, "", TODAY)


def test_kb_case_cannot_hold_a_third_focus_need():
    rules.check_focus_need(KB, 1)
    with pytest.raises(rules.FocusLimitReached, match="Case Management") as refused:
        rules.check_focus_need(KB, 2)
    assert refused.value.field == "in_focus"


def test_cm_case_holds_any_number_of_focus_needs():
    rules.check_focus_need(CM, 7)


def test_reclassification_needs_a_reason_and_a_change():
    with pytest.raises(rules.ReclassificationRefused, match="begründen"):
        rules.check_reclassification(facts(kind=KB), CM, " ")
    with pytest.raises(rules.ReclassificationRefused, match="bereits"):
        rules.check_reclassification(facts(kind=KB), KB, "weil")
    rules.check_reclassification(facts(kind=KB), CM, "drei Bedarfe")


def test_cm_with_three_focus_needs_cannot_become_kb():
    with pytest.raises(rules.ReclassificationRefused, match="mehr als zwei"):
        rules.check_reclassification(facts(focus_needs=3), KB, "weniger Bedarf")


def test_closed_case_is_not_reclassified():
    with pytest.raises(rules.ReclassificationRefused):
        rules.check_reclassification(facts(stage=Stage.CLOSED), KB, "x")


@pytest.mark.parametrize(
    ("kind", "stage", "needs", "new_kind", "expected"),
    [
        (KB, Stage.COUNSELLING, 1, CM, Stage.ASSESSMENT),
        (KB, Stage.COUNSELLING, 0, CM, Stage.INTAKE),
        (KB, Stage.INTAKE, 2, CM, Stage.INTAKE),
        (CM, Stage.MONITORING, 2, KB, Stage.COUNSELLING),
        (CM, Stage.INTAKE, 0, KB, Stage.INTAKE),
    ],
)
def test_stage_after_reclassification(kind, stage, needs, new_kind, expected):
    assert (
        rules.stage_after_reclassification(facts(kind=kind, stage=stage, needs=needs), new_kind)
        is expected
    )
