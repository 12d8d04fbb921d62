"""Caseload figures (R5) read with SQL aggregates: one statement per figure set."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from kimdb.auth.models import Role, User
from kimdb.caseload.rules import Caseload
from kimdb.cases.models import Case
from kimdb.cases.rules import CaseKind, Stage
from kimdb.extensions import db
from kimdb.timeutil import today

SORT_KEYS = {
    "number": (Case.id,),
    "kind": (Case.kind, Case.id),
    "stage": (Case.stage, Case.id),
    "opened": (Case.opened_on, Case.id),
    "last_consultation": (Case.last_consultation_on, Case.id),
    "inactive": (Case.last_activity_on, Case.id),
}


def _open():
    return Case.stage != Stage.CLOSED


def caseload_of(user: User) -> Caseload:
    """Return ``user``'s open cases and open CM cases against their FTE (R5, FAQ Q33)."""
    total, cm = db.session.execute(
        select(
            func.count(Case.id),
            func.coalesce(
                func.sum(sql_case((Case.kind == CaseKind.CASE_MANAGEMENT, 1), else_=0)), 0
            ),
        ).where(Case.owner_id == user.id, _open())
    ).one()
    return Caseload(fte=user.fte, open_cases=total, open_cm=int(cm))


@dataclass(frozen=True)
class OpenCaseRow:
    """One line of the own open cases list."""

    case: Case
    days_inactive: int


def open_cases(user: User, sort: str = "inactive", descending: bool = False) -> list[OpenCaseRow]:
    """Return ``user``'s open cases with the client, sorted by ``sort`` (a SORT_KEYS key).

    ``inactive`` sorts by the day of last activity, so ascending puts the longest silent first.
    """
    columns = SORT_KEYS.get(sort, SORT_KEYS["inactive"])
    order = [c.desc() if descending else c.asc() for c in columns]
    cases = db.session.scalars(
        select(Case)
        .where(Case.owner_id == user.id, _open())
        .options(joinedload(Case.client))
        .order_by(*order)
    ).all()
    day = today()
    return [OpenCaseRow(case=c, days_inactive=(day - c.last_activity_on).days) for c in cases]


def inactive_count(rows: list[OpenCaseRow], days: int) -> int:
    """Return how many of ``rows`` have had no activity for ``days`` days or more (R6)."""
    return sum(1 for r in rows if r.days_inactive >= days)


@dataclass(frozen=True)
class TeamRow:
    """One case manager in the supervisor's table: name and caseload."""

    user: User
    caseload: Caseload
    inactive: int


def organisation_caseloads(organisation_id: int, inactive_days: int) -> list[TeamRow]:
    """Return the organisation's case managers with their caseload (R5): every active one, and
    deactivated ones as long as they still hold open cases (those need reassigning).

    Case metadata only (R8): counts, no client data. One grouped query for all figures.
    """
    cutoff = today() - dt.timedelta(days=inactive_days)
    figures = (
        select(
            Case.owner_id,
            func.count(Case.id).label("open_cases"),
            func.sum(sql_case((Case.kind == CaseKind.CASE_MANAGEMENT, 1), else_=0)).label("cm"),
            func.sum(sql_case((Case.last_activity_on <= cutoff, 1), else_=0)).label("inactive"),
        )
        .where(_open())
        .group_by(Case.owner_id)
        .subquery()
    )
    rows = db.session.execute(
        select(User, figures.c.open_cases, figures.c.cm, figures.c.inactive)
        .outerjoin(figures, figures.c.owner_id == User.id)
        .where(
            User.organisation_id == organisation_id,
            User.role == Role.CASE_MANAGER,
            or_(User.active.is_(True), figures.c.open_cases > 0),
        )
        .order_by(User.display_name)
    ).all()
    return [
        TeamRow(
            user=u,
            caseload=Caseload(fte=u.fte, open_cases=n or 0, open_cm=int(cm or 0)),
            inactive=int(inactive or 0),
        )
        for u, n, cm, inactive in rows
    ]


def team_total(rows: list[TeamRow]) -> Caseload:
    """Return the summed caseload of ``rows`` (FTE and open cases), for the band of a team."""
    return Caseload(
        fte=sum((r.caseload.fte for r in rows), Decimal(0)) or Decimal("0.1"),
        open_cases=sum(r.caseload.open_cases for r in rows),
        open_cm=sum(r.caseload.open_cm for r in rows),
    )
