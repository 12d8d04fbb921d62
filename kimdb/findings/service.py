"""Use cases of structural findings (Systemmanagement, FAQ KIM NRW Q32): a case manager records
a gap or barrier of the local service system; coordination reads them aggregated per category
and agency for the whole municipality, never linked to a case, a client or an author.

Each write is one transaction; rule violations raise before anything is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select

from kimdb.auth import policy
from kimdb.auth.models import Role, User
from kimdb.extensions import db, transaction
from kimdb.findings import rules
from kimdb.findings.models import Finding, FindingCategory
from kimdb.orgs.models import Organisation
from kimdb.rules import RuleViolation
from kimdb.timeutil import today

DESCRIPTIONS_PER_CATEGORY = 100  # newest descriptions shown per category; counts cover all
AGENCY_SUGGESTIONS = 300  # agency names offered in the form's datalist


class NotAllowed(RuleViolation):
    """The user may not do this (R8); views answer 403."""


@dataclass(frozen=True)
class AgencyCount:
    """How many findings of one category name one agency or service."""

    agency: str
    count: int


@dataclass(frozen=True)
class DescribedFinding:
    """One anonymous description: the day observed, the agency and the text; nothing else."""

    observed_on: dt.date
    agency: str
    description: str


@dataclass(frozen=True)
class CategorySummary:
    """The findings of one category: total, counts per agency (largest first), descriptions.

    ``descriptions`` holds at most DESCRIPTIONS_PER_CATEGORY, newest first; ``total`` counts all.
    """

    category: FindingCategory
    total: int
    agencies: list[AgencyCount]
    descriptions: list[DescribedFinding]

    @property
    def more_descriptions(self) -> int:
        """How many descriptions of this category are not listed."""
        return self.total - len(self.descriptions)


@dataclass(frozen=True)
class FindingsOverview:
    """Coordination's view of a period: categories with findings, largest total first."""

    date_from: dt.date | None
    date_to: dt.date | None
    categories: list[CategorySummary]

    @property
    def total(self) -> int:
        """All findings in the period."""
        return sum(c.total for c in self.categories)


def _same_municipality(user: User) -> ColumnElement[bool]:
    """SQL condition on ``Finding``: recorded in an organisation of ``user``'s municipality.

    Coordination works at county level, so findings of every organisation there count together.
    """
    municipality_id = (
        select(Organisation.municipality_id)
        .where(Organisation.id == user.organisation_id)
        .scalar_subquery()
    )
    organisations = select(Organisation.id).where(Organisation.municipality_id == municipality_id)
    return Finding.organisation_id.in_(organisations)


def _in_period(date_from: dt.date | None, date_to: dt.date | None) -> list[ColumnElement[bool]]:
    conditions = []
    if date_from:
        conditions.append(Finding.observed_on >= date_from)
    if date_to:
        conditions.append(Finding.observed_on <= date_to)
    return conditions


def suggest_agencies(user: User) -> list[str]:
    """Return the agency names already used in ``user``'s municipality, alphabetically.

    For the form's datalist, so that one agency gets one spelling (at most AGENCY_SUGGESTIONS).
    """
    return list(
        db.session.scalars(
            select(Finding.agency)
            .where(_same_municipality(user))
            .group_by(Finding.agency)
            .order_by(Finding.agency)
            .limit(AGENCY_SUGGESTIONS)
        )
    )


def record_finding(
    by: User,
    category: FindingCategory | None,
    agency: str,
    description: str,
    observed_on: dt.date | None,
) -> Finding:
    """Record a structural finding seen by case manager ``by``; return it.

    The finding belongs to ``by``'s organisation and keeps no reference to a case or client.
    An agency already known in the municipality keeps its spelling (``rules.canonical_agency``).
    Raises NotAllowed unless ``by`` is a case manager, FindingRefused when the rules refuse
    the values (``rules.check_finding``). Source: FAQ KIM NRW Q32 (Systemmanagement).
    """
    if not policy.works_on_cases(by):
        raise NotAllowed("only case managers record findings")
    rules.check_finding(category, agency, description, observed_on, today())
    with transaction() as session:
        known = session.scalars(
            select(Finding.agency).where(_same_municipality(by)).group_by(Finding.agency)
        )
        finding = Finding(
            organisation_id=by.organisation_id,
            category=category,
            agency=rules.canonical_agency(agency, known),
            description=description.strip(),
            observed_on=observed_on,
            recorded_by_id=by.id,
        )
        session.add(finding)
    return finding


def own_findings(user: User) -> list[Finding]:
    """Return the findings ``user`` recorded, newest observation first."""
    return list(
        db.session.scalars(
            select(Finding)
            .where(Finding.recorded_by_id == user.id)
            .order_by(Finding.observed_on.desc(), Finding.id.desc())
        )
    )


def aggregate(
    user: User, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> FindingsOverview:
    """Return the findings of ``user``'s municipality observed in ``date_from``–``date_to``.

    Both days are included; None leaves that end open. Counts per (category, agency) come
    from one SQL GROUP BY; descriptions (decrypted) come with their day and agency only — no
    author, organisation, case or client. Raises NotAllowed unless ``user`` is a supervisor
    (coordination), FindingRefused if the period ends before it begins.
    Source: FAQ KIM NRW Q32 (Systemmanagement); DESIGN.md R8.
    """
    if user.role is not Role.SUPERVISOR:
        raise NotAllowed("only coordination reads the aggregated findings")
    rules.check_period(date_from, date_to)
    scope = [_same_municipality(user), *_in_period(date_from, date_to)]
    count = func.count(Finding.id)
    counts = db.session.execute(
        select(Finding.category, Finding.agency, count.label("n"))
        .where(*scope)
        .group_by(Finding.category, Finding.agency)
        .order_by(Finding.category, count.desc(), Finding.agency)
    ).all()
    newest = (
        func.row_number()
        .over(
            partition_by=Finding.category,
            order_by=(Finding.observed_on.desc(), Finding.id.desc()),
        )
        .label("position")
    )
    ranked = (
        select(
            Finding.category,
            Finding.observed_on,
            Finding.agency,
            Finding.description,
            newest,
        )
        .where(*scope)
        .subquery()
    )
    texts = db.session.execute(
        select(ranked.c.category, ranked.c.observed_on, ranked.c.agency, ranked.c.description)
        .where(ranked.c.position <= DESCRIPTIONS_PER_CATEGORY)
        .order_by(ranked.c.category, ranked.c.position)
    ).all()

    agencies: dict[FindingCategory, list[AgencyCount]] = {}
    for category, agency, n in counts:
        agencies.setdefault(category, []).append(AgencyCount(agency, n))
    descriptions: dict[FindingCategory, list[DescribedFinding]] = {}
    for category, observed_on, agency, description in texts:
        descriptions.setdefault(category, []).append(
            DescribedFinding(observed_on, agency, description)
        )
    order = list(FindingCategory)
    summaries = [
        CategorySummary(
            category=category,
            total=sum(a.count for a in rows),
            agencies=rows,
            descriptions=descriptions.get(category, []),
        )
        for category, rows in agencies.items()
    ]
    summaries.sort(key=lambda s: (-s.total, order.index(s.category)))
    return FindingsOverview(date_from, date_to, summaries)
