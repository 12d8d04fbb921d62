"""Need-to-know (R8) in one place: who may see which client and case.

Lists are filtered in SQL with the expressions below, never after loading. A case manager sees
own cases and the clients they registered or counsel; supervisors and administrators see no
client data here (supervisors see caseload figures, see ``kimdb.caseload``).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select

from kimdb.auth.models import Role, User


def works_on_cases(user: User) -> bool:
    """True if ``user`` records clients and cases (case managers)."""
    return user.role is Role.CASE_MANAGER


def case_visible(user: User) -> ColumnElement[bool]:
    """Return a SQL condition on ``Case`` that holds for the cases ``user`` may open (R8)."""
    from kimdb.cases.models import Case

    if user.role is Role.CASE_MANAGER:
        return Case.owner_id == user.id
    return false()


def client_visible(user: User) -> ColumnElement[bool]:
    """Return a SQL condition on ``Client`` for the clients ``user`` may see (R8).

    A case manager sees a client they registered or of whom they own a case.
    """
    from kimdb.cases.models import Case
    from kimdb.clients.models import Client

    if user.role is not Role.CASE_MANAGER:
        return false()
    owns_case = exists(select(Case.id).where(Case.client_id == Client.id, Case.owner_id == user.id))
    return or_(Client.registered_by_id == user.id, owns_case)
