"""Consultations are events: a cell of many consultations of one person reveals that person
(issue 7 item 2). Such cells rest on the number of people behind them."""

from __future__ import annotations

from kimdb import labels
from kimdb.auth.models import Role
from kimdb.cases import service as cases_service
from kimdb.cases.models import ConsultationMode
from kimdb.reports import rules, service
from kimdb.reports.model import Scope, ScopeKind
from kimdb.timeutil import today
from tests.factories import make_case, make_user


def test_twelve_consultations_of_one_person_with_an_interpreter_are_hidden(db):
    owner = make_user("cm.owner")
    make_user("sv.org", role=Role.SUPERVISOR)
    case = make_case(owner)
    for _ in range(12):
        cases_service.record_consultation(
            case, today(), 30, ConsultationMode.IN_PERSON, "ti", None, owner
        )
    scope = Scope(ScopeKind.ORGANISATION, owner.organisation_id, "KI")
    period = rules.parse_period("year", today().year)

    raw = service.build_report(scope, period, min_cell=1)
    assert raw.table("interpreters").rows[0][1][0].value == 12

    report = service.build_report(scope, period, min_cell=5)
    interpreters = report.table("interpreters")
    assert interpreters.rows[0][1][0].suppressed  # one person, however many consultations
    assert all(cell.suppressed for cell in interpreters.column_totals)
    consultations = dict(report.table("consultations").rows)
    in_person = consultations[str(labels.CONSULTATION_MODE[ConsultationMode.IN_PERSON])]
    assert all(cell.suppressed for cell in in_person)  # 12 talks, 360 minutes: one person


def test_a_breakdown_whose_total_is_hidden_elsewhere_is_withheld(db):
    from kimdb.cases.rules import CaseKind, ClosureReason

    owner = make_user("cm.owner")
    for _ in range(3):  # three closed cases: "closed" is hidden in "Fälle nach Art"
        case = make_case(owner, CaseKind.CASE_MANAGEMENT)
        cases_service.close_case(case, today(), ClosureReason.CONTACT_BROKE_OFF, "weg", owner)
    scope = Scope(ScopeKind.ORGANISATION, owner.organisation_id, "KI")
    report = service.build_report(scope, rules.parse_period("year", today().year), min_cell=5)

    closed = report.table("cases_by_kind").rows[2][1]
    assert any(cell.suppressed for cell in closed)
    reasons = report.table("closure_reasons")
    cells = [c for _, row in reasons.rows for c in row] + reasons.column_totals
    assert all(c.suppressed or c.value == 0 for c in cells)
    assert any(c.suppressed for c in cells)


def test_a_secondary_hidden_total_is_not_shown_by_the_linked_breakdown():
    # The review's case: CM 100 open + 3 new = 10 closed + 93 open; "Fälle nach Art" hides the
    # 3 and, to keep the balance, the 10 closed. The closure reasons (10 CM) would show it.
    cases = rules.count_table(
        "cases_by_kind",
        "Fälle nach Art",
        "Fälle",
        ["CM", "KB"],
        [("start", [100, 10]), ("new", [3, 40]), ("closed", [10, 20]), ("end", [93, 30])],
    )
    cases.column_totals = []
    reasons = rules.count_table(
        "closure_reasons", "Abschlussgründe", "Grund", ["CM", "KB"], [("Ziele", [10, 20])]
    )
    stages = rules.count_table(
        "open_by_stage", "Phasen", "Phase", ["CM", "KB"], [("Monitoring", [93, 30])]
    )
    people = [
        rules.count_table(key, key, "x", ["alle"], [("a", [50])]) for key in service.CLIENT_TABLES
    ]
    suppressed = [rules.suppress_balanced(cases, 5), rules.suppress(reasons, 5)]
    suppressed += [rules.suppress(stages, 5)] + [rules.suppress(t, 5) for t in people]
    assert suppressed[0].rows[2][1][0].suppressed  # closed CM hidden in the cases table
    assert suppressed[1].column_totals[0].value == 10  # ... but shown by the breakdown alone

    linked = {t.key: t for t in service._linked(suppressed)}
    assert linked["closure_reasons"].column_totals[0].suppressed
    assert all(c.suppressed for c in linked["closure_reasons"].rows[0][1])


def test_six_needs_of_one_person_in_one_area_are_hidden(db):
    from kimdb.cases.models import LifeArea
    from kimdb.cases.rules import CaseKind

    owner = make_user("cm.owner")
    case = make_case(owner, CaseKind.CASE_MANAGEMENT)
    for n in range(6):
        cases_service.add_need(case, LifeArea.HOUSING, None, f"Wohnung {n}", False, owner)
    scope = Scope(ScopeKind.ORGANISATION, owner.organisation_id, "KI")
    period = rules.parse_period("year", today().year)
    raw = service.build_report(scope, period, min_cell=1).table("needs")
    housing = str(labels.LIFE_AREA[LifeArea.HOUSING])
    assert dict(raw.rows)[housing][-1].value == 6
    needs = service.build_report(scope, period, min_cell=5).table("needs")
    assert dict(needs.rows)[housing][-1].suppressed  # six needs, one person
