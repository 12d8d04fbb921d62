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
