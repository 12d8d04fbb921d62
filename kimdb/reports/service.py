"""The figures of the KIM report for a period and a scope (issue 7 items 1, 2 and 5).

Every figure is read with grouped SQL (GROUP BY and conditional sums): only the few rows of the
group results come into Python, whatever the number of cases (contract: 400,000 cases statewide;
``bench/reports.py`` prints the time and the number of statements). Exceptions, both bounded by
the number of users or days, not of cases: the FTE periods of the case managers in scope, and on
SQLite the median entry lag (counts per day held and hour entered; PostgreSQL uses
``percentile_cont``). Each table is suppressed with ``kimdb.reports.rules.suppress``.

Erased clients (consent withdrawn, retention, R2) still count: they keep gender, country, year of
birth, cases and stages; their residence status reads "unknown" after erasure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Date, and_, cast, func, literal, or_, select, true
from sqlalchemy import case as sql_case

from kimdb import labels
from kimdb.auth import policy
from kimdb.auth.models import FtePeriod, Role, Supervision, User
from kimdb.caseload.rules import EXPECTED_CM_SHARE, LOWER_PER_FTE, UPPER_PER_FTE, fte_on
from kimdb.cases.models import (
    Case,
    Consultation,
    ConsultationMode,
    LegalDomain,
    LifeArea,
    Need,
    Referral,
    ReferralStatus,
    StageChange,
)
from kimdb.cases.rules import CM_PATH, KB_PATH, CaseKind, ClosureReason, Stage, median_lag_days
from kimdb.clients.models import Client, Gender, ResidenceStatus
from kimdb.consent.models import Consent
from kimdb.extensions import db
from kimdb.orgs.models import Municipality, MunicipalityKind, Organisation, Partner, Team
from kimdb.reports import rules
from kimdb.reports.model import Cell, Figure, Period, Report, Scope, ScopeKind, Table
from kimdb.rules import RuleViolation
from kimdb.timeutil import LOCAL_ZONE, local_date, now


class NotAllowed(RuleViolation):
    """The user may not report on this scope (R8, issue 7 item 5); views answer 403."""


# -- Scopes ------------------------------------------------------------------------------------


def scopes_for(user: User) -> list[Scope]:
    """Return the scopes ``user`` may report on, widest first.

    A supervisor: the municipalities (county/city) of the organisations they supervise whole,
    those organisations and their teams; a team leader only their teams (a wider report would
    give the other teams' figures by difference). Aggregates only (R8). The
    ``state`` role: the state and every county and city. Everyone else: nothing.
    Source: issue 7 items 1 and 5.
    """
    if user.role is Role.STATE:
        municipalities = db.session.execute(
            select(Municipality.id, Municipality.name)
            .where(Municipality.kind != MunicipalityKind.STATE)
            .order_by(Municipality.name)
        ).all()
        return [Scope(ScopeKind.STATE, None, _("Nordrhein-Westfalen"))] + [
            Scope(ScopeKind.MUNICIPALITY, m_id, name) for m_id, name in municipalities
        ]
    if user.role is not Role.SUPERVISOR:
        return []
    org_ids = policy.supervised_organisation_ids(user)
    if not org_ids:
        return []
    organisations = db.session.execute(
        select(Organisation.id, Organisation.name, Municipality.id, Municipality.name)
        .join(Municipality, Organisation.municipality_id == Municipality.id)
        .where(Organisation.id.in_(org_ids))
        .order_by(Municipality.name, Organisation.name)
    ).all()
    whole = set(
        db.session.scalars(
            select(Supervision.organisation_id).where(
                Supervision.supervisor_id == user.id, Supervision.organisation_id.is_not(None)
            )
        )
    )
    teams = db.session.execute(
        select(Team.id, Team.name, Organisation.name)
        .join(Organisation, Team.organisation_id == Organisation.id)
        .where(
            or_(
                Team.organisation_id.in_(whole),
                Team.id.in_(
                    select(Supervision.team_id).where(Supervision.supervisor_id == user.id)
                ),
            )
        )
        .order_by(Organisation.name, Team.name)
    ).all()
    # A team leader reports on their teams only: an organisation or county report next to a
    # team report would give the other teams' figures by difference (R8).
    organisations = [row for row in organisations if row[0] in whole]
    scopes: list[Scope] = []
    for m_id, m_name in dict.fromkeys((row[2], row[3]) for row in organisations):
        scopes.append(Scope(ScopeKind.MUNICIPALITY, m_id, m_name))
    scopes += [Scope(ScopeKind.ORGANISATION, o_id, name) for o_id, name, _m, _n in organisations]
    scopes += [Scope(ScopeKind.TEAM, t_id, f"{org} – {name}") for t_id, name, org in teams]
    return scopes


def check_scope(user: User, scope: Scope) -> Scope:
    """Return ``scope`` as ``user`` may see it (with its German label) or raise NotAllowed."""
    for allowed in scopes_for(user):
        if allowed.kind == scope.kind and allowed.id == scope.id:
            return allowed
    raise NotAllowed(_("Für diesen Bereich dürfen Sie keine Statistik abrufen."))


def _organisations(scope: Scope):
    if scope.kind is ScopeKind.ORGANISATION:
        return select(Organisation.id).where(Organisation.id == scope.id)
    return select(Organisation.id).where(Organisation.municipality_id == scope.id)


def case_in_scope(scope: Scope) -> ColumnElement[bool]:
    """SQL condition on ``Case``: the case counts for ``scope`` (team: its owner is in the
    team; organisation: ``Case.organisation_id``; municipality: an organisation of it; state:
    every case)."""
    if scope.kind is ScopeKind.STATE:
        return true()
    if scope.kind is ScopeKind.TEAM:
        return Case.owner_id.in_(select(User.id).where(User.team_id == scope.id))
    return Case.organisation_id.in_(_organisations(scope))


def _case_managers_in_scope(scope: Scope):
    query = select(User.id).where(User.role == Role.CASE_MANAGER, User.active.is_(True))
    if scope.kind is ScopeKind.TEAM:
        return query.where(User.team_id == scope.id)
    if scope.kind is ScopeKind.STATE:
        return query
    return query.where(User.organisation_id.in_(_organisations(scope)))


# -- Helpers -----------------------------------------------------------------------------------


def _count_if(condition) -> ColumnElement[int]:
    return func.coalesce(func.sum(sql_case((condition, 1), else_=0)), 0)


def _open_at(day: dt.date) -> ColumnElement[bool]:
    """Open at the end of ``day`` (``kimdb.caseload.rules.open_on``)."""
    return and_(Case.opened_on <= day, or_(Case.closed_on.is_(None), Case.closed_on > day))


def _active_in(period: Period) -> ColumnElement[bool]:
    """The case was open on at least one day of ``period``."""
    return and_(
        Case.opened_on <= period.end,
        or_(Case.closed_on.is_(None), Case.closed_on >= period.start),
    )


KINDS = (CaseKind.CASE_MANAGEMENT, CaseKind.SHORT_COUNSELLING)


def _kind_columns() -> list[str]:
    return [labels_kind(k) for k in KINDS]


def labels_kind(kind: CaseKind) -> str:
    """German name of a case kind."""
    return str(labels.CASE_KIND[kind])


def _label(mapping: dict, code) -> str:
    return str(mapping.get(code, code)) if code is not None else _("ohne Angabe")


def _grid(result, row_keys, col_keys) -> list[list[int]]:
    counts = {(r, c): int(n) for r, c, n in result}
    return [[counts.get((r, c), 0) for c in col_keys] for r in row_keys]


def _on_people(table: Table, row_key, col_key, rows: list, cols: list, base) -> Table:
    """Return ``table`` (record counts, e.g. needs) with every cell and total resting on the
    people behind it: distinct clients per cell, per row, per column and in all, from grouped
    queries over ``base`` (a select of the records joined to their case, already filtered),
    grouped by the SQL expressions ``row_key`` and ``col_key`` whose values are ``rows`` and
    ``cols``. A cell of several records of one person is then suppressed (issue 7 item 2)."""
    people = func.count(func.distinct(Case.client_id))
    by_cell = {
        (r, c): int(n)
        for r, c, n in db.session.execute(
            base.with_only_columns(row_key, col_key, people).group_by(row_key, col_key)
        )
    }
    by_row = {
        r: int(n)
        for r, n in db.session.execute(base.with_only_columns(row_key, people).group_by(row_key))
    }
    by_col = {
        c: int(n)
        for c, n in db.session.execute(base.with_only_columns(col_key, people).group_by(col_key))
    }
    everyone = int(db.session.scalar(base.with_only_columns(people)) or 0)

    def on(cell: Cell, basis: int) -> Cell:
        return Cell(cell.value, persons=False, basis=basis)

    n_cols = len(table.columns)
    column_totals = [
        on(c, by_col.get(cols[j], 0)) for j, c in enumerate(table.column_totals[:n_cols])
    ]
    if len(table.column_totals) > n_cols:
        column_totals.append(on(table.column_totals[n_cols], everyone))
    return replace(
        table,
        rows=[
            (label, [on(c, by_cell.get((rows[i], cols[j]), 0)) for j, c in enumerate(cells)])
            for i, (label, cells) in enumerate(table.rows)
        ],
        row_totals=[on(c, by_row.get(rows[i], 0)) for i, c in enumerate(table.row_totals)],
        column_totals=column_totals,
    )


# -- The report --------------------------------------------------------------------------------


def build_report(scope: Scope, period: Period, min_cell: int) -> Report:
    """Return the report for ``scope`` over ``period`` with every table suppressed at
    ``min_cell`` persons (``KIMDB_STATS_MIN_CELL``). An empty period gives zeros.

    Figures (issue 7 item 1): cases open at start and end, new and closed by kind; open cases at
    the end by stage and kind; closure reasons; needs by life area and legal domain; referrals by
    legal domain and status and the Verweisberatung share; consultations by mode (count,
    minutes) and interpreter use by language; clients by age group × gender, country-of-origin
    group and residence status; caseload per FTE at the end and averaged over the month ends;
    CM share against one third (R5, FAQ Q33); median entry lag (R6); withdrawn consents.
    The caller checks the scope (``check_scope``).
    """
    in_scope = case_in_scope(scope)
    report = Report(scope=scope, period=period, created_at=now(), min_cell=min_cell)
    tables = [
        _cases_by_kind(in_scope, period),
        _open_by_stage(in_scope, period),
        _closure_reasons(in_scope, period),
        _needs(in_scope, period),
        _referrals(in_scope, period),
        _consultations(in_scope, period),
        _interpreters(in_scope, period),
        *_clients(in_scope, period),
    ]
    report.tables = _linked(
        [
            rules.suppress_balanced(t, min_cell)
            if t.key == "cases_by_kind"
            else rules.suppress(t, min_cell)
            for t in tables
        ]
    )
    figures = _caseload_figures(scope, in_scope, period)
    figures.append(_verweisberatung(in_scope, period))
    figures.append(_median_lag(in_scope, period))
    figures.append(_withdrawn(in_scope, period))
    report.figures = [
        Figure(f.key, f.label, rules.suppress_cell(f.value, min_cell), f.unit, f.comparison)
        for f in figures
    ]
    return report


# Tables whose totals another table shows: the stages at the end add up to "open at the end",
# the closure reasons to "closed" (rows 3 and 2 of "Fälle nach Art"); the three client tables
# share one grand total (the people of the period).
LINKED_ROWS = {"open_by_stage": 3, "closure_reasons": 2}
CLIENT_TABLES = ("clients_by_age_gender", "clients_by_country", "clients_by_residence")


def _linked(tables: list[Table]) -> list[Table]:
    """Withhold whole tables whose shared totals are suppressed on either side: a total hidden
    in one table but shown in another would make hidden cells computable (issue 7 item 2).
    Tables are suppressed one by one (``rules.suppress``); this keeps them consistent, at the
    price of withholding a breakdown in small scopes."""
    by_key = {t.key: t for t in tables}

    def any_hidden(cells) -> bool:
        return any(c.suppressed for c in cells)

    cases = by_key["cases_by_kind"]
    withhold = set()
    for key, row in LINKED_ROWS.items():
        shared = cases.rows[row][1] + cases.row_totals[row : row + 1]
        if any_hidden(shared) or any_hidden(by_key[key].column_totals):
            withhold.add(key)
    if any(any_hidden(by_key[k].column_totals[-1:]) for k in CLIENT_TABLES):
        withhold.update(CLIENT_TABLES)
    return [rules.withhold(t) if t.key in withhold else t for t in tables]


def _cases_by_kind(in_scope, period: Period) -> Table:
    before = period.start - dt.timedelta(days=1)
    result = db.session.execute(
        select(
            Case.kind,
            _count_if(_open_at(before)),
            _count_if(Case.opened_on.between(period.start, period.end)),
            _count_if(Case.closed_on.between(period.start, period.end)),
            _count_if(_open_at(period.end)),
        )
        .where(in_scope, Case.opened_on <= period.end)
        .group_by(Case.kind)
    ).all()
    by_kind = {kind: [int(n) for n in counts] for kind, *counts in result}
    measures = [
        _("offen am Periodenbeginn"),
        _("neu eröffnet"),
        _("abgeschlossen"),
        _("offen am Periodenende"),
    ]
    rows = [
        (measure, [by_kind.get(kind, [0, 0, 0, 0])[index] for kind in KINDS])
        for index, measure in enumerate(measures)
    ]
    table = rules.count_table(
        "cases_by_kind", _("Fälle nach Art"), _("Fälle"), _kind_columns(), rows, unit=_("Fälle")
    )
    table.column_totals = []  # the four measures do not add up to anything
    table.note = _("Offen am Periodenbeginn: am Vortag des ersten Tages nicht abgeschlossen.")
    return table


def _cutoff(day: dt.date) -> dt.datetime:
    """The first moment after ``day`` in Berlin, as UTC (stage history is kept as moments)."""
    following = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=LOCAL_ZONE)
    return following.astimezone(dt.UTC)


def _open_by_stage(in_scope, period: Period) -> Table:
    last_change = (
        select(StageChange.case_id, func.max(StageChange.id).label("last_id"))
        .where(StageChange.changed_at < _cutoff(period.end), StageChange.to_stage != Stage.CLOSED)
        .group_by(StageChange.case_id)
        .subquery()
    )
    stage_then = func.coalesce(StageChange.to_stage, Stage.INTAKE.value)
    result = db.session.execute(
        select(stage_then, Case.kind, func.count(Case.id))
        .select_from(Case)
        .outerjoin(last_change, last_change.c.case_id == Case.id)
        .outerjoin(StageChange, StageChange.id == last_change.c.last_id)
        .where(in_scope, _open_at(period.end))
        .group_by(stage_then, Case.kind)
    ).all()
    stages = [s for s in CM_PATH if s is not Stage.CLOSED] + [Stage.COUNSELLING]
    assert set(KB_PATH) - {Stage.CLOSED} <= set(stages)
    values = _grid(((Stage(s), k, n) for s, k, n in result), stages, KINDS)
    names = labels.STAGE
    table = rules.count_table(
        "open_by_stage",
        _("Offene Fälle am Periodenende nach Phase"),
        _("Phase"),
        _kind_columns(),
        [(_label(names, s), v) for s, v in zip(stages, values, strict=True)],
        unit=_("Fälle"),
    )
    table.note = _("Die Phase am letzten Tag des Zeitraums, aus dem Verlauf der Phasenwechsel.")
    return table


def _closure_reasons(in_scope, period: Period) -> Table:
    result = db.session.execute(
        select(Case.closure_reason, Case.kind, func.count(Case.id))
        .where(in_scope, Case.closed_on.between(period.start, period.end))
        .group_by(Case.closure_reason, Case.kind)
    ).all()
    reasons = list(ClosureReason)
    values = _grid(result, reasons, KINDS)
    names = labels.CLOSURE_REASON
    return rules.count_table(
        "closure_reasons",
        _("Abschlussgründe"),
        _("Abschlussgrund"),
        _kind_columns(),
        [(_label(names, r), v) for r, v in zip(reasons, values, strict=True)],
        unit=_("Fälle"),
    )


def _needs(in_scope, period: Period) -> Table:
    result = db.session.execute(
        select(Need.life_area, Need.legal_domain, func.count(Need.id))
        .join(Case, Need.case_id == Case.id)
        .where(in_scope, _active_in(period))
        .group_by(Need.life_area, Need.legal_domain)
    ).all()
    domains: list = [*LegalDomain, None]
    values = _grid(result, list(LifeArea), domains)
    area_names = labels.LIFE_AREA
    domain_names = labels.LEGAL_DOMAIN
    table = rules.count_table(
        "needs",
        _("Bedarfe nach Handlungsfeld und Rechtskreis"),
        _("Handlungsfeld"),
        [_label(domain_names, d) if d else _("ohne Rechtskreis") for d in domains],
        [(_label(area_names, a), v) for a, v in zip(LifeArea, values, strict=True)],
        unit=_("Bedarfe"),
    )
    table.note = _("Alle Bedarfe der Fälle, die im Zeitraum offen waren.")
    base = select(Need.id).join(Case, Need.case_id == Case.id).where(in_scope, _active_in(period))
    return _on_people(table, Need.life_area, Need.legal_domain, list(LifeArea), domains, base)


def _referrals(in_scope, period: Period) -> Table:
    result = db.session.execute(
        select(Partner.legal_domain, Referral.status, func.count(Referral.id))
        .join(Case, Referral.case_id == Case.id)
        .join(Partner, Referral.partner_id == Partner.id)
        .where(in_scope, Referral.referred_on.between(period.start, period.end))
        .group_by(Partner.legal_domain, Referral.status)
    ).all()
    domains: list = [*LegalDomain, None]
    result = [(LegalDomain(d) if d in set(LegalDomain) else None, s, n) for d, s, n in result]
    merged: dict = {}
    for d, s, n in result:
        merged[d, s] = merged.get((d, s), 0) + n
    statuses = list(ReferralStatus)
    values = _grid(((d, s, n) for (d, s), n in merged.items()), domains, statuses)
    domain_names = labels.LEGAL_DOMAIN
    status_names = labels.REFERRAL_STATUS
    table = rules.count_table(
        "referrals",
        _("Vermittlungen nach Rechtskreis und Stand"),
        _("Rechtskreis"),
        [_label(status_names, s) for s in statuses],
        [
            (_label(domain_names, d) if d else _("ohne Rechtskreis"), v)
            for d, v in zip(domains, values, strict=True)
        ],
        unit=_("Vermittlungen"),
    )
    known = [d.value for d in LegalDomain]
    domain = sql_case((Partner.legal_domain.in_(known), Partner.legal_domain), else_=None)
    base = (
        select(Referral.id)
        .join(Case, Referral.case_id == Case.id)
        .join(Partner, Referral.partner_id == Partner.id)
        .where(in_scope, Referral.referred_on.between(period.start, period.end))
    )
    return _on_people(
        table, domain, Referral.status, [d.value if d else None for d in domains], statuses, base
    )


def _verweisberatung(in_scope, period: Period) -> Figure:
    total, marked = db.session.execute(
        select(func.count(Referral.id), _count_if(Referral.verweisberatung.is_(True)))
        .join(Case, Referral.case_id == Case.id)
        .where(in_scope, Referral.referred_on.between(period.start, period.end))
    ).one()
    share = round(int(marked) / total, 4) if total else None
    return Figure(
        "verweisberatung_share",
        _("Anteil Verweisberatung an den Vermittlungen"),
        # Suppressed when either part is small: a share times the published total would
        # otherwise give back a hidden count (issue 7 item 2).
        Cell(share, persons=False, basis=min(int(marked), int(total) - int(marked))),
        unit=_("Anteil"),
        comparison=_("Vermittlungen in SGB II, III, VIII"),
    )


def _consultations(in_scope, period: Period) -> Table:
    # Consultations are events: each cell rests on the people (distinct clients) behind it,
    # and is suppressed when they are few, however many consultations they had.
    in_period = (in_scope, Consultation.held_on.between(period.start, period.end))
    result = db.session.execute(
        select(
            Consultation.mode,
            func.count(Consultation.id),
            func.coalesce(func.sum(Consultation.duration_minutes), 0),
            func.count(func.distinct(Case.client_id)),
        )
        .join(Case, Consultation.case_id == Case.id)
        .where(*in_period)
        .group_by(Consultation.mode)
    ).all()
    by_mode = {mode: (int(n), int(m), int(p)) for mode, n, m, p in result}
    names = labels.CONSULTATION_MODE
    rows = []
    for mode in ConsultationMode:
        n, minutes, people = by_mode.get(mode, (0, 0, 0))
        rows.append(
            (
                _label(names, mode),
                [Cell(n, persons=False, basis=people), Cell(minutes, persons=False, basis=people)],
            )
        )
    total_n = sum(n for n, _m, _p in by_mode.values())
    total_m = sum(m for _n, m, _p in by_mode.values())
    total_people = _distinct_clients(
        select(Case.client_id).join(Consultation, Consultation.case_id == Case.id).where(*in_period)
    )
    return Table(
        "consultations",
        _("Beratungsgespräche nach Form"),
        _("Form"),
        [_("Gespräche"), _("Minuten")],
        rows,
        column_totals=[
            Cell(total_n, persons=False, basis=total_people),
            Cell(total_m, persons=False, basis=total_people),
        ],
        unit=_("Gespräche"),
    )


def _distinct_clients(client_ids) -> int:
    """Return how many distinct clients the select of client ids ``client_ids`` names."""
    return int(
        db.session.scalar(select(func.count()).select_from(client_ids.distinct().subquery()))
    )


def _interpreters(in_scope, period: Period) -> Table:
    conditions = (
        in_scope,
        Consultation.held_on.between(period.start, period.end),
        Consultation.interpreter_used.is_(True),
    )
    result = db.session.execute(
        select(
            Consultation.interpreter_language,
            func.count(Consultation.id),
            func.count(func.distinct(Case.client_id)),
        )
        .join(Case, Consultation.case_id == Case.id)
        .where(*conditions)
        .group_by(Consultation.interpreter_language)
        .order_by(Consultation.interpreter_language)  # by name: an order by size tells more
    ).all()
    # A language is a strong hint at a person's origin: cells rest on the people behind them.
    rows = [
        (
            labels.language_name(code) if code else _("ohne Angabe"),
            [Cell(int(n), persons=False, basis=int(people))],
        )
        for code, n, people in result
    ]
    total = sum(int(n) for _c, n, _p in result)
    people = _distinct_clients(
        select(Case.client_id)
        .join(Consultation, Consultation.case_id == Case.id)
        .where(*conditions)
    )
    return Table(
        "interpreters",
        _("Gespräche mit Sprachmittlung nach Sprache"),
        _("Sprache"),
        [_("Gespräche")],
        rows,
        column_totals=[Cell(total, persons=False, basis=people)] if rows else [],
        unit=_("Gespräche"),
        note=_("Ausgeblendet, wenn weniger als die Mindestzahl Personen dahinterstehen."),
    )


def _clients_subquery(in_scope, period: Period):
    return select(Case.client_id).where(in_scope, _active_in(period)).distinct().subquery()


def _clients(in_scope, period: Period) -> list[Table]:
    people = _clients_subquery(in_scope, period)
    year = period.end.year
    age = literal(year) - Client.birth_year
    whens = []
    for key, _name, low, high in rules.AGE_GROUPS:
        condition = age >= low if high is None else and_(age >= low, age <= high)
        whens.append(
            (and_(Client.birth_year.is_not(None), Client.birth_year <= year, condition), key)
        )
    age_key = sql_case(*whens, else_=rules.AGE_UNKNOWN[0])
    base = select().select_from(Client).join(people, people.c.client_id == Client.id)

    ages = db.session.execute(
        base.add_columns(age_key, Client.gender, func.count(Client.id)).group_by(
            age_key, Client.gender
        )
    ).all()
    age_keys = [key for key, *_rest in rules.AGE_GROUPS] + [rules.AGE_UNKNOWN[0]]
    age_labels = [str(label) for _k, label, *_r in rules.AGE_GROUPS] + [str(rules.AGE_UNKNOWN[1])]
    genders = list(Gender)
    gender_names = labels.GENDER
    age_table = rules.count_table(
        "clients_by_age_gender",
        _("Klient:innen nach Altersgruppe und Geschlecht"),
        _("Altersgruppe"),
        [_label(gender_names, g) for g in genders],
        list(zip(age_labels, _grid(ages, age_keys, genders), strict=True)),
        unit=_("Personen"),
        note=_("Personen mit einem im Zeitraum offenen Fall; Alter im Jahr des Periodenendes."),
    )

    whens = [(Client.country_of_origin == code, code) for code in rules.OWN_GROUP_COUNTRIES]
    whens += [
        (Client.country_of_origin.in_(sorted(rules.EU_COUNTRIES)), "eu"),
        (Client.country_of_origin == "DE", "de"),
        (
            or_(Client.country_of_origin.is_(None), Client.country_of_origin.in_(["", "XX", "ZZ"])),
            "unknown",
        ),
    ]
    country_key = sql_case(*whens, else_="third")
    countries = dict(
        db.session.execute(
            base.add_columns(country_key, func.count(Client.id)).group_by(country_key)
        ).all()
    )
    country_table = _one_column_table(
        "clients_by_country",
        _("Klient:innen nach Herkunftsland (Gruppen)"),
        _("Herkunft"),
        [(str(label), countries.get(key, 0)) for key, label in rules.COUNTRY_GROUPS],
    )

    statuses = dict(
        db.session.execute(
            base.add_columns(Client.residence_status, func.count(Client.id)).group_by(
                Client.residence_status
            )
        ).all()
    )
    status_names = labels.RESIDENCE_STATUS
    status_table = _one_column_table(
        "clients_by_residence",
        _("Klient:innen nach Aufenthaltsstatus"),
        _("Aufenthaltsstatus"),
        [(_label(status_names, s), statuses.get(s, 0)) for s in ResidenceStatus],
    )
    status_table.note = _("Nach einem Widerruf steht der Status auf „unbekannt“.")
    return [age_table, country_table, status_table]


def _one_column_table(key: str, title: str, header: str, rows: list[tuple[str, int]]) -> Table:
    table = rules.count_table(
        key,
        title,
        header,
        [_("Personen")],
        [(label, [n]) for label, n in rows],
        unit=_("Personen"),
    )
    table.row_totals = []
    return table


# -- Headline figures --------------------------------------------------------------------------


def _fte_by_day(scope: Scope, days: list[dt.date]) -> list[Decimal]:
    """Summed FTE of the active case managers in ``scope`` on each of ``days`` (the FTE valid on
    that day, ``kimdb.caseload.rules.fte_on``). Reads the FTE periods: rows per user, not case."""
    periods: dict[int, list[tuple[dt.date, Decimal]]] = {}
    for user_id, valid_from, fte in db.session.execute(
        select(FtePeriod.user_id, FtePeriod.valid_from, FtePeriod.fte)
        .where(FtePeriod.user_id.in_(_case_managers_in_scope(scope)))
        .order_by(FtePeriod.user_id, FtePeriod.valid_from)
    ):
        periods.setdefault(user_id, []).append((valid_from, Decimal(fte)))
    return [sum((fte_on(p, day) for p in periods.values()), Decimal(0)) for day in days]


def _caseload_figures(scope: Scope, in_scope, period: Period) -> list[Figure]:
    days = rules.month_ends_within(period)
    columns = [_count_if(_open_at(day)) for day in days]
    row = db.session.execute(
        select(
            *columns, _count_if(and_(_open_at(period.end), Case.kind == CaseKind.CASE_MANAGEMENT))
        ).where(in_scope, Case.opened_on <= period.end)
    ).one()
    open_counts, open_cm = [int(n) for n in row[:-1]], int(row[-1])
    ftes = _fte_by_day(scope, days)
    guideline = _("Empfehlung %(low)d–%(high)d je VZÄ", low=LOWER_PER_FTE, high=UPPER_PER_FTE)
    at_end = open_counts[-1] / float(ftes[-1]) if ftes[-1] else None
    ratios = [n / float(f) for n, f in zip(open_counts, ftes, strict=True) if f]
    average = sum(ratios) / len(ratios) if ratios else None
    share = open_cm / open_counts[-1] if open_counts[-1] else None
    return [
        Figure(
            "open_per_fte_end",
            _("Offene Fälle je VZÄ am Periodenende"),
            Cell(_round(at_end), persons=False, basis=open_counts[-1]),
            unit=_("Fälle je VZÄ"),
            comparison=guideline,
        ),
        Figure(
            "open_per_fte_average",
            _("Offene Fälle je VZÄ im Mittel der Monatsenden"),
            Cell(_round(average), persons=False, basis=max(open_counts)),
            unit=_("Fälle je VZÄ"),
            comparison=guideline,
        ),
        Figure(
            "fte_end",
            _("VZÄ der Case Manager:innen am Periodenende"),
            Cell(float(ftes[-1]), persons=False),
            unit=_("VZÄ"),
        ),
        Figure(
            "cm_share",
            _("Anteil KIM-Case Management an den offenen Fällen am Periodenende"),
            # Suppressed when CM or KB cases are few (the share would give the count back).
            Cell(_round(share, 4), persons=False, basis=min(open_cm, open_counts[-1] - open_cm)),
            unit=_("Anteil"),
            comparison=_(
                "erwartet etwa ein Drittel (%(share)s)", share=f"{float(EXPECTED_CM_SHARE):.2f}"
            ),
        ),
    ]


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _median_lag(in_scope, period: Period) -> Figure:
    """Median days between holding and entering the consultations held in ``period`` (R6, the
    rule of ``kimdb.cases.rules.median_lag_days``: Berlin calendar days, never negative).
    PostgreSQL: ``percentile_cont(0.5)`` in SQL; SQLite: counts grouped by day held and hour
    entered (a DST change falls on a full hour), the median taken from the counts."""
    held = Consultation.held_on.between(period.start, period.end)
    if db.engine.dialect.name == "postgresql":
        local_day = cast(func.timezone(str(LOCAL_ZONE), Consultation.entered_at), Date)
        lag = func.greatest(local_day - Consultation.held_on, 0)
        median, count = db.session.execute(
            select(func.percentile_cont(0.5).within_group(lag), func.count(Consultation.id))
            .join(Case, Consultation.case_id == Case.id)
            .where(in_scope, held)
        ).one()
        median = None if median is None else float(median)
    else:
        hour = func.strftime("%Y-%m-%d %H:00:00", Consultation.entered_at)
        lags: dict[int, int] = {}
        for held_on, entered, n in db.session.execute(
            select(Consultation.held_on, hour, func.count(Consultation.id))
            .join(Case, Consultation.case_id == Case.id)
            .where(in_scope, held)
            .group_by(Consultation.held_on, hour)
        ):
            day = local_date(dt.datetime.fromisoformat(entered))
            lag_days = max(0, (day - held_on).days)
            lags[lag_days] = lags.get(lag_days, 0) + int(n)
        count = sum(lags.values())
        median = _median_of_counts(lags, count)
    return Figure(
        "median_entry_lag",
        _("Median der Erfassungsverzögerung"),
        Cell(median, persons=False, basis=int(count)),
        unit=_("Tage"),
        comparison=_("Ziel: Erfassung am selben Tag"),
    )


def _median_of_counts(counts: dict[int, int], total: int) -> float | None:
    """The median of values given as value → how often (``median_lag_days`` on the expanded
    list, without expanding it)."""
    if not total:
        return None
    ordered = sorted(counts.items())

    def nth(index: int) -> int:
        seen = 0
        for value, n in ordered:
            seen += n
            if index < seen:
                return value
        raise IndexError(index)

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


assert median_lag_days([0, 1, 5, 7]) == _median_of_counts({0: 1, 1: 1, 5: 1, 7: 1}, 4)


def _withdrawn(in_scope, period: Period) -> Figure:
    """Consents withdrawn in ``period`` by clients with a case in scope (count only, R2)."""
    start = _cutoff(period.start - dt.timedelta(days=1))
    clients = select(Case.client_id).where(in_scope)
    count = db.session.scalar(
        select(func.count(Consent.id))
        .join(Client, Client.consent_id == Consent.id)
        .where(
            Consent.withdrawn_at >= start,
            Consent.withdrawn_at < _cutoff(period.end),
            Client.id.in_(clients),
        )
    )
    return Figure(
        "withdrawn_consents",
        _("Widerrufene Einwilligungen im Zeitraum"),
        Cell(int(count or 0)),
        unit=_("Personen"),
    )
