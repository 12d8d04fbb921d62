"""The report's figures reconcile with a known data set (issue 7 contract), on SQLite and
PostgreSQL; suppression at 5; an empty period; who may report on which scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kimdb import labels
from kimdb.auth.models import FtePeriod, Role, Supervision
from kimdb.cases import casework
from kimdb.cases import service as cases_service
from kimdb.cases.models import ConsultationMode, LegalDomain, LifeArea, ReferralStatus
from kimdb.cases.rules import CaseKind, ClosureReason, Stage
from kimdb.clients.models import Gender, ResidenceStatus
from kimdb.extensions import transaction
from kimdb.orgs.models import Partner, PartnerKind
from kimdb.orgs.service import ensure_organisation
from kimdb.privacy import service as privacy_service
from kimdb.reports.model import Scope, ScopeKind
from kimdb.reports.rules import PeriodRefused, parse_period
from kimdb.reports.service import NotAllowed, build_report, check_scope, scopes_for
from tests.factories import make_case, make_client, make_user

YEAR = parse_period("year", 2025)
UTC = dt.UTC


def _client(by, birth_year, gender, country, status):
    client = make_client(by)
    with transaction():
        client.birth_year = birth_year
        client.gender = gender
        client.country_of_origin = country
        client.residence_status = status
    return client


def _dated(case, opened, stage=None, stage_at=None, closed=None, reason=None):
    with transaction():
        case.opened_on = opened
        for change in case.stage_changes:
            change.changed_at = dt.datetime.combine(opened, dt.time(9), tzinfo=UTC)
        if stage is not None:
            case.stage_changes[-1].changed_at = dt.datetime.combine(stage_at, dt.time(9), UTC)
        if closed is not None:
            case.closed_on, case.closure_reason, case.stage = closed, reason, Stage.CLOSED
            case.stage_changes[-1].closed_on = closed
            case.stage_changes[-1].changed_at = dt.datetime.combine(closed, dt.time(9), UTC)


def _consult(case, by, held, minutes, mode, language, entered):
    consultation = cases_service.record_consultation(
        case, dt.date.today() - dt.timedelta(days=1), minutes, mode, language, None, by
    )
    with transaction():
        consultation.held_on, consultation.entered_at = held, entered


@pytest.fixture()
def known(db):
    """Org A (Kreis Testkreis): cm.a with 0.5 FTE until 30.06.2025, 1.0 from 01.07.2025, and
    five cases; org B (Kreis Anderswo) one case of cm.b. See the expectations in the tests."""
    cm = make_user("cm.a", fte="0.5")
    other = make_user("cm.b", organisation="KI Anderswo")
    org_b = ensure_organisation("KI Anderswo", "Kreis Anderswo", "integration_centre")
    with transaction():
        other.organisation_id = org_b.id
        cm.fte_periods[0].valid_from = dt.date(2020, 1, 1)
        cm.fte_periods.append(FtePeriod(fte=Decimal("1.0"), valid_from=dt.date(2025, 7, 1)))
    jobcenter = Partner(
        organisation_id=cm.organisation_id,
        name="Jobcenter",
        kind=PartnerKind.AUTHORITY,
        legal_domain=LegalDomain.SGB_II.value,
    )
    mbe = Partner(
        organisation_id=cm.organisation_id,
        name="MBE Caritas",
        kind=PartnerKind.COUNSELLING,
        legal_domain=LegalDomain.MBE.value,
    )
    with transaction() as session:
        session.add_all([jobcenter, mbe])

    c1 = make_case(
        cm,
        CaseKind.SHORT_COUNSELLING,
        _client(cm, 1990, Gender.FEMALE, "SY", ResidenceStatus.RESIDENCE_PERMIT),
    )
    c2 = make_case(
        cm,
        CaseKind.CASE_MANAGEMENT,
        _client(cm, 2010, Gender.MALE, "UA", ResidenceStatus.TEMPORARY_PROTECTION),
    )
    c3 = make_case(
        cm,
        CaseKind.CASE_MANAGEMENT,
        _client(cm, 1960, Gender.FEMALE, "TR", ResidenceStatus.SETTLEMENT),
    )
    c4 = make_case(
        cm, CaseKind.SHORT_COUNSELLING, _client(cm, 1999, Gender.DIVERSE, "RO", ResidenceStatus.EU)
    )
    c5_client = _client(cm, 2001, Gender.MALE, "AF", ResidenceStatus.ASYLUM_PENDING)
    c5 = make_case(cm, CaseKind.SHORT_COUNSELLING, c5_client)
    c6 = make_case(other, CaseKind.CASE_MANAGEMENT, make_client(other))

    cases_service.add_need(c1, LifeArea.HOUSING, None, "Wohnung", False, cm)
    cases_service.add_need(c3, LifeArea.WORK, LegalDomain.SGB_II, "Arbeit", False, cm)
    cases_service.add_need(c3, LifeArea.LANGUAGE, None, "Kurs", False, cm)
    cases_service.add_need(c4, LifeArea.WORK, None, "vor dem Zeitraum", False, cm)
    cases_service.add_need(c6, LifeArea.WORK, None, "andere Stelle", False, other)
    cases_service.change_stage(c1, Stage.COUNSELLING, cm)
    cases_service.change_stage(c3, Stage.ASSESSMENT, cm)
    today = dt.date.today()
    r1 = casework.record_referral(c3, jobcenter.id, today, "Arbeit", False, cm)
    r2 = casework.record_referral(c1, mbe.id, today, "MBE", False, cm)
    r3 = casework.record_referral(c4, jobcenter.id, today, "alt", False, cm)
    with transaction():
        r1.referred_on, r2.referred_on, r3.referred_on = (
            dt.date(2025, 6, 1),
            dt.date(2025, 6, 1),
            dt.date(2024, 5, 1),
        )
        r2.status = ReferralStatus.TAKEN_UP

    def at(day, hour):
        return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)

    d = dt.date
    _consult(c1, cm, d(2025, 3, 3), 60, ConsultationMode.IN_PERSON, "ar", at(d(2025, 3, 3), 15))
    _consult(c1, cm, d(2025, 4, 7), 30, ConsultationMode.PHONE, None, at(d(2025, 4, 9), 8))
    _consult(c3, cm, d(2025, 5, 2), 90, ConsultationMode.IN_PERSON, "tr", at(d(2025, 5, 7), 8))
    # 22:30 UTC is 23:30 in Berlin: entered the same day.
    late = dt.datetime(2025, 3, 5, 22, 30, tzinfo=UTC)
    _consult(c2, cm, d(2025, 3, 5), 45, ConsultationMode.VIDEO, "uk", late)
    _consult(c4, cm, d(2024, 3, 5), 45, ConsultationMode.VIDEO, "ro", at(d(2024, 3, 5), 9))
    _consult(c6, other, d(2025, 3, 5), 20, ConsultationMode.PHONE, None, at(d(2025, 3, 5), 9))

    _dated(c1, d(2024, 11, 1), Stage.COUNSELLING, d(2024, 12, 1))
    _dated(c2, d(2025, 3, 1), closed=d(2025, 6, 30), reason=ClosureReason.GOALS_ACHIEVED)
    _dated(c3, d(2025, 5, 1), Stage.ASSESSMENT, d(2025, 5, 10))
    _dated(c4, d(2023, 1, 1), closed=d(2024, 12, 31), reason=ClosureReason.GOALS_ACHIEVED)
    _dated(c5, d(2024, 6, 1), closed=d(2025, 2, 15), reason=ClosureReason.CONTACT_BROKE_OFF)
    _dated(c6, d(2025, 1, 10))
    # The client of c5 withdraws their consent: erased, still counted (R2).
    privacy_service.withdraw_consent(c5_client, cm, declared_on=d(2026, 1, 15))
    with transaction():
        c5_client.consent.withdrawn_at = dt.datetime(2025, 2, 20, 10, tzinfo=UTC)
    org_a = cm.organisation
    return {"cm": cm, "other": other, "org_a": org_a, "org_b": org_b}


def _org_scope(org):
    return Scope(ScopeKind.ORGANISATION, org.id, org.name)


def _raw(table):
    return [[c.value for c in cells] for _, cells in table.rows]


def _column(table, row_labels=None):
    return {label: cells[0].value for label, cells in table.rows}


def test_every_figure_reconciles_with_the_known_records(known):
    report = build_report(_org_scope(known["org_a"]), YEAR, 1)
    # columns: CM, KB
    assert _raw(report.table("cases_by_kind")) == [[0, 2], [2, 0], [1, 1], [1, 1]]
    assert [c.value for c in report.table("cases_by_kind").row_totals] == [2, 2, 2, 2]

    stages = {
        label: [c.value for c in cells] for label, cells in report.table("open_by_stage").rows
    }
    assert stages[str(labels.STAGE[Stage.ASSESSMENT])] == [1, 0]
    assert stages[str(labels.STAGE[Stage.COUNSELLING])] == [0, 1]
    assert sum(sum(v) for v in stages.values()) == 2
    assert report.table("open_by_stage").column_totals[-1].value == 2

    reasons = {
        label: [c.value for c in cells] for label, cells in report.table("closure_reasons").rows
    }
    assert sum(sum(v) for v in reasons.values()) == 2
    assert reasons[str(labels.CLOSURE_REASON[ClosureReason.GOALS_ACHIEVED])] == [1, 0]
    assert reasons[str(labels.CLOSURE_REASON[ClosureReason.CONTACT_BROKE_OFF])] == [0, 1]

    needs = report.table("needs")
    assert needs.column_totals[-1].value == 3  # c4 (closed 2024) and org B's need excluded
    by_area = {label: [c.value for c in cells] for label, cells in needs.rows}
    sgb_ii = needs.columns.index(str(labels.LEGAL_DOMAIN[LegalDomain.SGB_II]))
    assert by_area[str(labels.LIFE_AREA[LifeArea.WORK])][sgb_ii] == 1
    assert sum(by_area[str(labels.LIFE_AREA[LifeArea.WORK])]) == 1
    assert sum(by_area[str(labels.LIFE_AREA[LifeArea.HOUSING])]) == 1
    assert needs.column_totals[needs.columns.index("ohne Rechtskreis")].value == 2

    referrals = report.table("referrals")
    assert referrals.column_totals[-1].value == 2
    by_domain = {label: [c.value for c in cells] for label, cells in referrals.rows}
    taken_up = referrals.columns.index(str(labels.REFERRAL_STATUS[ReferralStatus.TAKEN_UP]))
    assert by_domain[str(labels.LEGAL_DOMAIN[LegalDomain.MBE])][taken_up] == 1
    assert sum(by_domain[str(labels.LEGAL_DOMAIN[LegalDomain.SGB_II])]) == 1
    figures = {f.key: f for f in report.figures}
    assert figures["verweisberatung_share"].value.value == 0.5

    consultations = {
        label: [c.value for c in cells] for label, cells in report.table("consultations").rows
    }
    assert consultations[str(labels.CONSULTATION_MODE[ConsultationMode.IN_PERSON])] == [2, 150]
    assert consultations[str(labels.CONSULTATION_MODE[ConsultationMode.PHONE])] == [1, 30]
    assert consultations[str(labels.CONSULTATION_MODE[ConsultationMode.VIDEO])] == [1, 45]
    assert [c.value for c in report.table("consultations").column_totals] == [4, 225]
    interpreters = _column(report.table("interpreters"))
    assert sorted(interpreters.values()) == [1, 1, 1] and len(interpreters) == 3

    ages = report.table("clients_by_age_gender")
    assert ages.column_totals[-1].value == 4  # c1, c2, c3 and the erased client of c5
    age_rows = {label: [c.value for c in cells] for label, cells in ages.rows}
    female = ages.columns.index(str(labels.GENDER[Gender.FEMALE]))
    male = ages.columns.index(str(labels.GENDER[Gender.MALE]))
    assert age_rows["unter 18"][male] == 1
    assert age_rows["18–26"][male] == 1  # the erased client still counts
    assert age_rows["27–44"][female] == 1
    assert age_rows["65 und älter"][female] == 1
    countries = _column(report.table("clients_by_country"))
    assert (countries["Syrien"], countries["Ukraine"], countries["Türkei"]) == (1, 1, 1)
    assert (countries["Afghanistan"], countries["EU-Staaten"]) == (1, 0)
    residence = report.table("clients_by_residence")
    assert sum(cells[0].value for _, cells in residence.rows) == 4
    statuses = _column(residence)
    assert statuses[str(labels.RESIDENCE_STATUS[ResidenceStatus.UNKNOWN])] == 1  # erased client
    assert statuses[str(labels.RESIDENCE_STATUS[ResidenceStatus.SETTLEMENT])] == 1
    assert statuses[str(labels.RESIDENCE_STATUS[ResidenceStatus.ASYLUM_PENDING])] == 0

    assert figures["open_per_fte_end"].value.value == 2.0  # 2 open / 1.0 FTE
    assert figures["open_per_fte_average"].value.value == 3.0  # see the fixture: 36 / 12
    assert figures["cm_share"].value.value == 0.5
    assert figures["median_entry_lag"].value.value == 1.0  # lags 0, 0, 2, 5
    assert figures["withdrawn_consents"].value.value == 1


def test_at_five_no_figure_reveals_fewer_than_five_people(known):
    report = build_report(_org_scope(known["org_a"]), YEAR, 5)
    for table in report.tables:
        for cell in [c for _, cells in table.rows for c in cells] + table.column_totals:
            if cell.persons and not cell.suppressed:
                assert cell.value == 0 or cell.value >= 5, (table.key, cell)
    assert _raw(report.table("cases_by_kind"))[0][0] == 0  # zeros stay visible
    figures = {f.key: f for f in report.figures}
    assert figures["withdrawn_consents"].value.suppressed
    assert figures["open_per_fte_end"].value.suppressed  # rests on 2 open cases
    assert figures["median_entry_lag"].value.suppressed  # 4 consultations


def test_the_state_and_the_municipality_include_or_exclude_other_organisations(known):
    state = build_report(Scope(ScopeKind.STATE, None, "NRW"), YEAR, 1)
    assert _raw(state.table("cases_by_kind"))[1] == [3, 0]  # c6 of org B is new in 2025
    county = known["org_a"].municipality
    municipal = build_report(Scope(ScopeKind.MUNICIPALITY, county.id, county.name), YEAR, 1)
    assert _raw(municipal.table("cases_by_kind"))[1] == [2, 0]
    assert state.table("consultations").column_totals[0].value == 5


def test_an_empty_period_gives_zeros(known):
    report = build_report(_org_scope(known["org_a"]), parse_period("year", 2010), 5)
    for table in report.tables:
        assert all(c.value == 0 for _, cells in table.rows for c in cells), table.key
    figures = {f.key: f for f in report.figures}
    assert figures["withdrawn_consents"].value.value == 0
    assert figures["median_entry_lag"].value.value is None


def test_a_period_ending_before_it_starts_is_refused(db):
    with pytest.raises(PeriodRefused, match="endet vor seinem Beginn"):
        parse_period("range", date_from=dt.date(2025, 5, 1), date_to=dt.date(2025, 1, 1))


def test_a_supervisor_reports_only_on_their_organisation_and_its_county(known):
    supervisor = make_user("sup.a", Role.SUPERVISOR)
    with transaction() as session:
        session.add(Supervision(supervisor_id=supervisor.id, organisation_id=known["org_a"].id))
    kinds = {(s.kind, s.id) for s in scopes_for(supervisor)}
    county = known["org_a"].municipality_id
    assert kinds == {(ScopeKind.ORGANISATION, known["org_a"].id), (ScopeKind.MUNICIPALITY, county)}
    assert check_scope(supervisor, _org_scope(known["org_a"])).label == known["org_a"].name
    with pytest.raises(NotAllowed):
        check_scope(supervisor, _org_scope(known["org_b"]))
    with pytest.raises(NotAllowed):
        check_scope(supervisor, Scope(ScopeKind.MUNICIPALITY, known["org_b"].municipality_id, ""))
    with pytest.raises(NotAllowed):
        check_scope(supervisor, Scope(ScopeKind.STATE, None, ""))


def test_the_state_role_reports_on_the_state_and_every_municipality(known):
    state = make_user("land.nrw", Role.STATE, organisation="MKJFGFI")
    check_scope(state, Scope(ScopeKind.STATE, None, ""))
    check_scope(state, Scope(ScopeKind.MUNICIPALITY, known["org_b"].municipality_id, ""))
    check_scope(state, Scope(ScopeKind.MUNICIPALITY, known["org_a"].municipality_id, ""))
    with pytest.raises(NotAllowed):
        check_scope(state, _org_scope(known["org_a"]))  # aggregates of counties only


@pytest.mark.parametrize("role", [Role.CASE_MANAGER, Role.ADMIN, Role.DPO])
def test_other_roles_report_on_nothing(known, role):
    user = make_user(f"user.{role.value}", role)
    assert scopes_for(user) == []
    with pytest.raises(NotAllowed):
        check_scope(user, _org_scope(known["org_a"]))
