"""The figures of the KIM report for a period and a scope (issue 7 items 1, 2 and 5).

Every figure is read with grouped SQL (GROUP BY and ``count(*) FILTER (WHERE ...)``): only the
few rows of the group results come into Python, whatever the number of cases (contract: 400,000
cases statewide; ``bench/reports.py`` prints the time and the number of statements). One pass
over the cases serves "Fälle nach Art", the closure reasons and the caseload figures; one pass
over the consultations the consultation and interpreter tables (issue 8). Exceptions, both
bounded by the number of users or days, not of cases: the FTE periods of the case managers in
scope, and the median entry lag (counts per lag; on SQLite per day held and hour entered). Each
table is suppressed with ``kimdb.reports.rules.suppress``.

The state over a year, half or quarter reads consultations, needs, referrals, the entry lag,
the stages, the cases and the clients from the nightly facts instead
(``kimdb.reports.facts``; live SQL over 3.9 million consultations cannot take under 1 s); every
other scope, every free from–to range, and the FTE and withdrawals of the state, are read live.

Erased clients (consent withdrawn, retention, R2) still count: they keep gender, country, year of
birth, cases and stages; their residence status reads "unknown" after erasure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Connection,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
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
)
from kimdb.cases.rules import (
    CM_PATH,
    KB_PATH,
    CaseKind,
    ClosureReason,
    Stage,
    median_of_counts,
)
from kimdb.clients.models import Client, Gender, ResidenceStatus
from kimdb.consent.models import Consent
from kimdb.extensions import db
from kimdb.orgs.models import Municipality, MunicipalityKind, Organisation, Partner, Team
from kimdb.reports import facts as report_facts
from kimdb.reports import rules
from kimdb.reports.model import Cell, Figure, Period, Report, Scope, ScopeKind, Table
from kimdb.reports.queries import (
    Breakdown,
    CaseCounts,
    ClientCounts,
    active_in,
    case_counts,
    client_counts,
    count_if,
    cutoff,
    entry_lag_counts,
    open_stage_counts,
    people_breakdown,
    referral_domain,
    report_connection,
)
from kimdb.rules import RuleViolation
from kimdb.timeutil import now


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


def _on_people(table: Table, counts: Breakdown, rows: list, cols: list) -> Table:
    """Return ``table`` (record counts, e.g. needs) with every cell and total resting on the
    people behind it (``counts``, from ``queries.people_breakdown`` keyed by the values
    ``rows`` and ``cols``). A cell of several records of one person is then suppressed
    (issue 7 item 2)."""

    def on(cell: Cell, basis: int) -> Cell:
        return Cell(cell.value, persons=False, basis=basis)

    n_cols = len(table.columns)
    column_totals = [
        on(c, counts.column_people.get(cols[j], 0))
        for j, c in enumerate(table.column_totals[:n_cols])
    ]
    if len(table.column_totals) > n_cols:
        column_totals.append(on(table.column_totals[n_cols], counts.people))
    return replace(
        table,
        rows=[
            (
                label,
                [
                    on(c, counts.cells.get((rows[i], cols[j]), (0, 0))[1])
                    for j, c in enumerate(cells)
                ],
            )
            for i, (label, cells) in enumerate(table.rows)
        ],
        row_totals=[
            on(c, counts.row_people.get(rows[i], 0)) for i, c in enumerate(table.row_totals)
        ],
        column_totals=column_totals,
    )


def _record_grid(counts: Breakdown, rows: list, cols: list) -> list[list[int]]:
    return [[counts.cells.get((r, c), (0, 0))[0] for c in cols] for r in rows]


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
    Nine statements whatever the number of cases (issue 8; ten on PostgreSQL, which first sets
    ``queries.POSTGRESQL_SETTINGS``), on the read-only report database when one is configured
    (``queries.report_connection``). The state first asks for the nightly facts
    (``facts.usable``); when they may be used (a year, half or quarter, refreshed within
    ``rules.FACTS_MAX_AGE``, cap ≥ ``min_cell``) one statement over them
    (``facts.read``) replaces those of consultations, needs, referrals, entry lag and stages,
    for a year, half or quarter also those of the cases and clients (five statements in all on
    PostgreSQL), and ``Report.facts_as_of`` gives their cut-off; the figures are the same as
    live for the data of that moment. The published ``basis`` of a cell is capped at ``min_cell``
    (``rules.cap_basis``) on both paths. The caller checks the scope (``check_scope``).
    """
    with report_connection() as conn:
        return _build_report(conn, scope, period, min_cell)


def _build_report(conn: Connection, scope: Scope, period: Period, min_cell: int) -> Report:
    in_scope = case_in_scope(scope)
    report = Report(scope=scope, period=period, created_at=now(), min_cell=min_cell)
    refresh = report_facts.usable(conn, period, min_cell) if scope.kind is ScopeKind.STATE else None
    if refresh is not None:
        # The state over a year, half or quarter: events, needs and stages from the facts.
        facts = report_facts.read(conn, refresh, period)
        report.facts_as_of = refresh.refreshed_at
        needs = facts.breakdown(report_facts.NEEDS)
        referral_counts = facts.breakdown("referrals")
        consultation_counts = _consultation_facts(facts)
        lags = {int(row): values[0] for (row, _c), values in facts.cells("lag").items()}
        stage_counts = [
            (stage, kind, values[0]) for (stage, kind), values in facts.cells("stages").items()
        ]
    else:
        needs = _need_counts(conn, in_scope, period)
        referral_counts = _referral_counts(conn, in_scope, period)
        consultation_counts = _consultation_counts(conn, in_scope, period)
        lags = _lag_counts(conn, scope, in_scope, period)
        stage_counts = open_stage_counts(conn, in_scope, period.end)
    days = rules.month_ends_within(period)
    if refresh is not None and facts.has_period():
        # A year, half or quarter: the cases and the people from the facts of that period.
        counts = facts.case_counts(len(days))
        people = facts.client_counts()
    else:
        counts = case_counts(conn, in_scope, period, days)
        people = client_counts(conn, in_scope, period)
    referrals, verweisberatung = _referrals(referral_counts)
    tables = [
        _cases_by_kind(counts),
        _open_by_stage(stage_counts),
        _closure_reasons(counts),
        _needs(needs),
        referrals,
        *_consultations(consultation_counts),
        *_clients(people),
    ]
    report.tables = _linked(
        [
            rules.suppress_balanced(t, min_cell)
            if t.key == "cases_by_kind"
            else rules.suppress(t, min_cell)
            for t in tables
        ]
    )
    report.tables = [rules.cap_basis(t, min_cell) for t in report.tables]
    figures = _caseload_figures(conn, scope, counts, days)
    figures.append(verweisberatung)
    figures.append(_lag_figure(lags))
    figures.append(_withdrawn(conn, in_scope, period))
    report.figures = [
        Figure(
            f.key,
            f.label,
            rules.cap_cell(rules.suppress_cell(f.value, min_cell), min_cell),
            f.unit,
            f.comparison,
        )
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


def _cases_by_kind(counts: CaseCounts) -> Table:
    measures = [
        _("offen am Periodenbeginn"),
        _("neu eröffnet"),
        _("abgeschlossen"),
        _("offen am Periodenende"),
    ]
    rows = [
        (measure, [counts.by_kind.get(kind, [0, 0, 0, 0])[index] for kind in KINDS])
        for index, measure in enumerate(measures)
    ]
    table = rules.count_table(
        "cases_by_kind", _("Fälle nach Art"), _("Fälle"), _kind_columns(), rows, unit=_("Fälle")
    )
    table.column_totals = []  # the four measures do not add up to anything
    table.note = _("Offen am Periodenbeginn: am Vortag des ersten Tages nicht abgeschlossen.")
    return table


def _open_by_stage(result: list[tuple]) -> Table:
    """The open cases at the period's end by stage and kind, from (stage, kind, count) rows
    (``queries.open_stage_counts``, live, or the state's facts)."""
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


def _closure_reasons(counts: CaseCounts) -> Table:
    reasons = list(ClosureReason)
    values = _grid(counts.reasons, reasons, KINDS)
    names = labels.CLOSURE_REASON
    return rules.count_table(
        "closure_reasons",
        _("Abschlussgründe"),
        _("Abschlussgrund"),
        _kind_columns(),
        [(_label(names, r), v) for r, v in zip(reasons, values, strict=True)],
        unit=_("Fälle"),
    )


def _need_counts(conn: Connection, in_scope, period: Period) -> Breakdown:
    """All needs of the cases in scope active in ``period`` by life area × legal domain, and
    the people behind them (live)."""
    base = select(Need.id).join(Case, Need.case_id == Case.id).where(in_scope, active_in(period))
    return people_breakdown(conn, base, Case.client_id, Need.life_area, Need.legal_domain)


def _needs(counts: Breakdown) -> Table:
    areas = list(LifeArea)
    domains: list = [*LegalDomain, None]
    area_names = labels.LIFE_AREA
    domain_names = labels.LEGAL_DOMAIN
    table = rules.count_table(
        "needs",
        _("Bedarfe nach Handlungsfeld und Rechtskreis"),
        _("Handlungsfeld"),
        [_label(domain_names, d) if d else _("ohne Rechtskreis") for d in domains],
        [
            (_label(area_names, a), v)
            for a, v in zip(areas, _record_grid(counts, areas, domains), strict=True)
        ],
        unit=_("Bedarfe"),
    )
    table.note = _("Alle Bedarfe der Fälle, die im Zeitraum offen waren.")
    return _on_people(table, counts, areas, domains)


def _referral_counts(conn: Connection, in_scope, period: Period) -> Breakdown:
    """The referrals in scope made in ``period`` by legal domain × status, the people behind
    them and the Verweisberatung flag (live, one statement)."""
    base = (
        select(Referral.id)
        .join(Case, Referral.case_id == Case.id)
        .join(Partner, Referral.partner_id == Partner.id)
        .where(in_scope, Referral.referred_on.between(period.start, period.end))
    )
    return people_breakdown(
        conn,
        base,
        Case.client_id,
        referral_domain(),
        Referral.status,
        flag=Referral.verweisberatung.is_(True),
    )


def _referrals(counts: Breakdown) -> tuple[Table, Figure]:
    """The referrals table and the Verweisberatung share."""
    domains: list = [*LegalDomain, None]
    keys = [d.value if d else None for d in domains]
    statuses = list(ReferralStatus)
    domain_names = labels.LEGAL_DOMAIN
    status_names = labels.REFERRAL_STATUS
    table = rules.count_table(
        "referrals",
        _("Vermittlungen nach Rechtskreis und Stand"),
        _("Rechtskreis"),
        [_label(status_names, s) for s in statuses],
        [
            (_label(domain_names, d) if d else _("ohne Rechtskreis"), v)
            for d, v in zip(domains, _record_grid(counts, keys, statuses), strict=True)
        ],
        unit=_("Vermittlungen"),
    )
    return _on_people(table, counts, keys, statuses), _verweisberatung(
        counts.records, counts.flagged
    )


def _verweisberatung(total: int, marked: int) -> Figure:
    share = round(marked / total, 4) if total else None
    return Figure(
        "verweisberatung_share",
        _("Anteil Verweisberatung an den Vermittlungen"),
        # Suppressed when either part is small: a share times the published total would
        # otherwise give back a hidden count (issue 7 item 2).
        Cell(share, persons=False, basis=min(marked, total - marked)),
        unit=_("Anteil"),
        comparison=_("Vermittlungen in SGB II, III, VIII"),
    )


@dataclass
class _ConsultationCounts:
    """Consultations of a period: per mode (count, minutes, people), per interpreter language
    (count, people; None: language not given), the people in all and with an interpreter."""

    by_mode: dict
    by_language: dict
    people: int
    interpreted_people: int


def _consultation_facts(facts: report_facts.Facts) -> _ConsultationCounts:
    """``_ConsultationCounts`` from the state's facts (people capped, ``rules.facts_people``)."""
    by_mode = {
        mode: (records, minutes, people)
        for (mode, _c), (records, minutes, _f, people) in facts.cells("consultations").items()
        if mode is not None
    }
    by_language = {
        code: (records, people)
        for (code, _c), (records, _m, _f, people) in facts.cells("interpreters").items()
    }
    return _ConsultationCounts(
        by_mode,
        by_language,
        facts.get("consultations", "all")[3],
        facts.get("interpreters", "all")[3],
    )


def _consultation_counts(conn: Connection, in_scope, period: Period) -> _ConsultationCounts:
    """The counts behind the consultations by mode and the interpreter use by language (live),
    from one statement.

    Consultations are events: each cell rests on the people (distinct clients) behind it, and
    is suppressed when they are few, however many consultations they had. One pass over the
    consultations of the period groups them per client and interpreter language with the
    count and minutes of each mode side by side (a CTE); grouped again per client, they give
    the people per mode, in all and with an interpreter; the people per language are the
    CTE's rows of that language. No ``count(DISTINCT)``."""
    modes = list(ConsultationMode)
    # One pass over the consultations of the period: per client and interpreter language
    # (None without an interpreter), the count and minutes of each mode side by side.
    language = sql_case(
        (Consultation.interpreter_used.is_(True), Consultation.interpreter_language), else_=None
    )
    per_language = (
        select(
            Case.client_id.label("client_id"),
            Consultation.interpreter_used.label("interpreted"),
            language.label("language"),
            func.count().label("n"),
            *(count_if(Consultation.mode == mode).label(f"n_{i}") for i, mode in enumerate(modes)),
            *(
                func.coalesce(
                    func.sum(Consultation.duration_minutes).filter(Consultation.mode == mode), 0
                ).label(f"minutes_{i}")
                for i, mode in enumerate(modes)
            ),
        )
        .join(Case, Consultation.case_id == Case.id)
        .where(in_scope, Consultation.held_on.between(period.start, period.end))
        .group_by(Case.client_id, Consultation.interpreter_used, language)
        .cte("per_language")
    )
    c = per_language.c
    interpreted = c.interpreted.is_(True)
    per_client = (
        select(
            *(func.sum(c[f"n_{i}"]).label(f"n_{i}") for i in range(len(modes))),
            *(func.sum(c[f"minutes_{i}"]).label(f"minutes_{i}") for i in range(len(modes))),
            func.max(sql_case((interpreted, 1), else_=0)).label("interpreted"),
        )
        .group_by(c.client_id)
        .subquery()
    )
    pc = per_client.c
    # Per mode: consultations, minutes and the people who had one; then everyone and the
    # people with an interpreter. One row; the interpreter languages follow as rows.
    totals = select(
        literal("totals"),
        null(),
        *(func.coalesce(func.sum(pc[f"n_{i}"]), 0) for i in range(len(modes))),
        *(func.coalesce(func.sum(pc[f"minutes_{i}"]), 0) for i in range(len(modes))),
        *(count_if(pc[f"n_{i}"] > 0) for i in range(len(modes))),
        func.count(),
        func.coalesce(func.sum(pc.interpreted), 0),
    )
    padding = [literal(0)] * (3 * len(modes))
    languages = (
        select(literal("language"), c.language, *padding, func.sum(c.n), func.count())
        .where(interpreted)
        .group_by(c.language)
    )
    by_mode: dict = {}
    by_language: dict = {}
    total_people = interpreted_people = 0
    for part, code, *values in conn.execute(union_all(totals, languages)):
        if part == "totals":
            k = len(modes)
            for i, mode in enumerate(modes):
                by_mode[mode] = (int(values[i]), int(values[k + i]), int(values[2 * k + i]))
            total_people, interpreted_people = int(values[-2]), int(values[-1])
        else:
            by_language[code] = (int(values[-2]), int(values[-1]))
    return _ConsultationCounts(by_mode, by_language, total_people, interpreted_people)


def _consultations(counts: _ConsultationCounts) -> list[Table]:
    """The consultations by mode and the interpreter use by language."""
    by_mode, by_language = counts.by_mode, counts.by_language
    total_people, interpreted_people = counts.people, counts.interpreted_people
    names = labels.CONSULTATION_MODE
    rows = []
    for mode in ConsultationMode:
        n, minutes, persons = by_mode.get(mode, (0, 0, 0))
        rows.append(
            (
                _label(names, mode),
                [
                    Cell(n, persons=False, basis=persons),
                    Cell(minutes, persons=False, basis=persons),
                ],
            )
        )
    total_n = sum(n for n, _m, _p in by_mode.values())
    total_m = sum(m for _n, m, _p in by_mode.values())
    consultations = Table(
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
    # By language code, "ohne Angabe" last (by name: an order by size tells more). A language
    # is a strong hint at a person's origin: cells rest on the people behind them.
    languages = sorted(by_language, key=lambda code: (code is None, code or ""))
    language_rows = [
        (
            labels.language_name(code) if code else _("ohne Angabe"),
            [Cell(by_language[code][0], persons=False, basis=by_language[code][1])],
        )
        for code in languages
    ]
    total = sum(n for n, _p in by_language.values())
    interpreters = Table(
        "interpreters",
        _("Gespräche mit Sprachmittlung nach Sprache"),
        _("Sprache"),
        [_("Gespräche")],
        language_rows,
        column_totals=[Cell(total, persons=False, basis=interpreted_people)]
        if language_rows
        else [],
        unit=_("Gespräche"),
        note=_("Ausgeblendet, wenn weniger als die Mindestzahl Personen dahinterstehen."),
    )
    return [consultations, interpreters]


def _clients(counts: ClientCounts) -> list[Table]:
    """The three client tables (age group × gender, country group, residence status) from the
    people with a case open in the period (``queries.client_counts``, live, or the state's
    facts)."""
    ages, countries, statuses = counts.ages, counts.countries, counts.statuses
    age_keys = [key for key, *_rest in rules.AGE_GROUPS] + [rules.AGE_UNKNOWN[0]]
    age_labels = [str(label) for _k, label, *_r in rules.AGE_GROUPS] + [str(rules.AGE_UNKNOWN[1])]
    genders = list(Gender)
    gender_names = labels.GENDER
    age_table = rules.count_table(
        "clients_by_age_gender",
        _("Klient:innen nach Altersgruppe und Geschlecht"),
        _("Altersgruppe"),
        [_label(gender_names, g) for g in genders],
        list(
            zip(
                age_labels,
                _grid(((a, g, n) for (a, g), n in ages.items()), age_keys, genders),
                strict=True,
            )
        ),
        unit=_("Personen"),
        note=_("Personen mit einem im Zeitraum offenen Fall; Alter im Jahr des Periodenendes."),
    )
    country_table = _one_column_table(
        "clients_by_country",
        _("Klient:innen nach Herkunftsland (Gruppen)"),
        _("Herkunft"),
        [(str(label), countries.get(key, 0)) for key, label in rules.COUNTRY_GROUPS],
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


def _fte_by_day(conn: Connection, scope: Scope, days: list[dt.date]) -> list[Decimal]:
    """Summed FTE of the active case managers in ``scope`` on each of ``days`` (the FTE valid on
    that day, ``kimdb.caseload.rules.fte_on``). Reads the FTE periods: rows per user, not case."""
    periods: dict[int, list[tuple[dt.date, Decimal]]] = {}
    for user_id, valid_from, fte in conn.execute(
        select(FtePeriod.user_id, FtePeriod.valid_from, FtePeriod.fte)
        .where(FtePeriod.user_id.in_(_case_managers_in_scope(scope)))
        .order_by(FtePeriod.user_id, FtePeriod.valid_from)
    ):
        periods.setdefault(user_id, []).append((valid_from, Decimal(fte)))
    return [sum((fte_on(p, day) for p in periods.values()), Decimal(0)) for day in days]


def _caseload_figures(
    conn: Connection, scope: Scope, counts: CaseCounts, days: list[dt.date]
) -> list[Figure]:
    open_counts = counts.open_on_days
    open_cm = counts.by_kind.get(CaseKind.CASE_MANAGEMENT, [0, 0, 0, 0])[3]
    ftes = _fte_by_day(conn, scope, days)
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


def _lag_counts(conn: Connection, scope: Scope, in_scope, period: Period) -> dict[int, int]:
    """Consultations held in ``period`` in scope per entry lag in days (R6, the rule of
    ``kimdb.cases.rules.median_lag_days``: Berlin calendar days, never negative;
    ``queries.entry_lag_counts``), rows bounded by the number of days. The state needs no
    case: the consultations alone are read (an index-only scan with the report index on
    ``held_on``)."""
    held = Consultation.held_on.between(period.start, period.end)

    def in_scope_held(query):
        if scope.kind is ScopeKind.STATE:
            return query.where(held)
        return query.join(Case, Consultation.case_id == Case.id).where(in_scope, held)

    return {lag: n for (_month, lag), n in entry_lag_counts(conn, in_scope_held).items()}


def _lag_figure(lags: dict[int, int]) -> Figure:
    """The median entry lag (R6) from consultations per lag in days (``_lag_counts``)."""
    count = sum(lags.values())
    median = median_of_counts(lags)
    return Figure(
        "median_entry_lag",
        _("Median der Erfassungsverzögerung"),
        Cell(median, persons=False, basis=int(count)),
        unit=_("Tage"),
        comparison=_("Ziel: Erfassung am selben Tag"),
    )


def _withdrawn(conn: Connection, in_scope, period: Period) -> Figure:
    """Consents withdrawn in ``period`` by clients with a case in scope (count only, R2)."""
    start = cutoff(period.start - dt.timedelta(days=1))
    clients = select(Case.client_id).where(in_scope)
    count = conn.scalar(
        select(func.count(Consent.id))
        .join(Client, Client.consent_id == Consent.id)
        .where(
            Consent.withdrawn_at >= start,
            Consent.withdrawn_at < cutoff(period.end),
            Client.id.in_(clients),
        )
    )
    return Figure(
        "withdrawn_consents",
        _("Widerrufene Einwilligungen im Zeitraum"),
        Cell(int(count or 0)),
        unit=_("Personen"),
    )
