"""The structural findings section of the report (issue 7 item 3; Systemmanagement, FAQ KIM NRW
Q32): findings per category and agency for a scope and period, with the anonymised
descriptions — never linked to a client, a case or the person who recorded them.

Findings are not persons, so their counts are shown as they are. A description, though, is the
account of one case manager about one case: where a category and agency hold only a few
findings, the agency and the text together may point to that case manager and that case. So
descriptions are listed only for (category, agency) cells with at least ``min_cell`` findings;
the others are counted but their texts are left out (the report says so).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, true

from kimdb.auth.models import User
from kimdb.extensions import db
from kimdb.findings.labels import CATEGORY
from kimdb.findings.models import Finding, FindingCategory
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs.models import Organisation
from kimdb.reports.model import Cell, Period, Scope, ScopeKind, Table

DESCRIPTIONS_PER_CELL = 10  # newest texts listed per (category, agency); counts cover all
MIN_RECORDERS = 2  # distinct case managers behind a cell before its texts are shown
TABLE_KEY = "findings"


@dataclass(frozen=True)
class Description:
    """One anonymous description: category, agency and text; no date, author, case or client."""

    category: FindingCategory
    agency: str
    text: str


@dataclass(frozen=True)
class FindingsSection:
    """The findings table, the descriptions that may be shown, and how many were withheld
    because their cell is smaller than ``min_cell`` (``withheld``) or beyond the
    DESCRIPTIONS_PER_CELL newest of a cell (``not_listed``)."""

    table: Table
    descriptions: list[Description]
    withheld: int
    not_listed: int


def in_scope(scope: Scope) -> ColumnElement[bool]:
    """SQL condition on ``Finding``: recorded within ``scope`` — by a member of the team, in
    the organisation, in an organisation of the municipality, or anywhere (state)."""
    if scope.kind is ScopeKind.TEAM:
        return Finding.recorded_by_id.in_(select(User.id).where(User.team_id == scope.id))
    if scope.kind is ScopeKind.ORGANISATION:
        return Finding.organisation_id == scope.id
    if scope.kind is ScopeKind.MUNICIPALITY:
        return Finding.organisation_id.in_(
            select(Organisation.id).where(Organisation.municipality_id == scope.id)
        )
    return true()


def findings_section(scope: Scope, period: Period, min_cell: int) -> FindingsSection:
    """Return the findings of ``scope`` observed within ``period`` (both days included).

    The table has one row per (category, agency) — "Kategorie: Stelle" — with the number of
    findings, largest first within the category order, and the total; counts come from one SQL
    GROUP BY. Descriptions (decrypted) are read only for cells with at least ``min_cell``
    findings, at most DESCRIPTIONS_PER_CELL newest per cell. Source: issue 7 item 3;
    FAQ KIM NRW Q32; DESIGN.md §4 (small cells).
    """
    conditions = [
        in_scope(scope),
        Finding.observed_on >= period.start,
        Finding.observed_on <= period.end,
    ]
    count = func.count(Finding.id)
    recorders = func.count(func.distinct(Finding.recorded_by_id))
    counts = db.session.execute(
        select(Finding.category, Finding.agency, count.label("n"), recorders.label("people"))
        .where(*conditions)
        .group_by(Finding.category, Finding.agency)
    ).all()
    order = list(FindingCategory)
    counts = sorted(counts, key=lambda r: (order.index(r.category), -r.n, r.agency))
    rows = [(f"{CATEGORY[r.category]}: {r.agency}", [Cell(r.n, persons=False)]) for r in counts]
    total = sum(r.n for r in counts)
    table = Table(
        key=TABLE_KEY,
        title=str(_l("Strukturelle Erkenntnisse nach Kategorie und Stelle")),
        row_header=str(_l("Kategorie: Stelle / Angebot")),
        columns=[str(_l("Erkenntnisse"))],
        rows=rows,
        column_totals=[Cell(total, persons=False)] if rows else [],
        unit=str(_l("Erkenntnisse")),
        note=str(
            _l(
                "Lücken und Barrieren im örtlichen Hilfesystem (Systemmanagement), ohne Bezug zu "
                "Fällen oder Klient:innen. Erkenntnisse sind keine Personen: die Anzahlen stehen "
                "unverändert. Beschreibungen werden nur für Stellen mit mindestens %(n)s "
                "Erkenntnissen von mindestens %(people)s Case Manager:innen einer Kategorie "
                "gezeigt, und nicht im Bericht eines Teams, damit keine einzelne Fallgeschichte "
                "erkennbar wird.",
                n=min_cell,
                people=MIN_RECORDERS,
            )
        ),
    )

    # Texts only where enough findings of enough case managers meet, and never in a team
    # report (a team is a few people whose writing would be recognised).
    def describable(r) -> bool:
        return scope.kind is not ScopeKind.TEAM and r.n >= min_cell and r.people >= MIN_RECORDERS

    large = [(r.category, r.agency) for r in counts if describable(r)]
    withheld = sum(r.n for r in counts if not describable(r))
    descriptions: list[Description] = []
    shown = 0
    if large:
        newest = (
            func.row_number()
            .over(
                partition_by=(Finding.category, Finding.agency),
                order_by=(Finding.observed_on.desc(), Finding.id.desc()),
            )
            .label("position")
        )
        ranked = (
            select(Finding.category, Finding.agency, Finding.description, newest)
            .where(*conditions)
            .subquery()
        )
        # Only cells of at least min_cell findings: the small ones are never read or decrypted.
        large_cells = (
            select(Finding.category, Finding.agency)
            .where(*conditions)
            .group_by(Finding.category, Finding.agency)
            .having(count >= min_cell, recorders >= MIN_RECORDERS)
            .subquery()
        )
        texts = db.session.execute(
            select(ranked.c.category, ranked.c.agency, ranked.c.description, ranked.c.position)
            .join(
                large_cells,
                (large_cells.c.category == ranked.c.category)
                & (large_cells.c.agency == ranked.c.agency),
            )
            .where(ranked.c.position <= DESCRIPTIONS_PER_CELL)
        ).all()
        position = {key: i for i, key in enumerate(large)}
        texts = sorted(texts, key=lambda r: (position[(r.category, r.agency)], r.position))
        descriptions = [Description(r.category, r.agency, r.description) for r in texts]
        shown = len(descriptions)
    not_listed = total - withheld - shown
    return FindingsSection(table, descriptions, withheld, not_listed)
