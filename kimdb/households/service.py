"""Use cases of households (Bedarfsgemeinschaft, FAQ KIM NRW Q33): create one from a client,
add and remove members, and read a household as far as the viewer may see it (R8).

Each writing function is one transaction; rule violations raise before anything is written,
or roll back what the use case wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, select, update

from kimdb.auth import policy
from kimdb.auth.models import User
from kimdb.cases.models import Case
from kimdb.clients.models import Client
from kimdb.extensions import db, transaction
from kimdb.households import rules
from kimdb.households.models import Household
from kimdb.households.rules import HouseholdFacts, HouseholdRefused, MemberFacts
from kimdb.i18n import lazy_gettext as _l


@dataclass(frozen=True)
class MemberRow:
    """A member the viewer may see, with the member's cases the viewer may see (newest first)."""

    client: Client
    cases: list[Case]


def _member_facts(client: Client) -> MemberFacts:
    """What the rules need to know of ``client``."""
    return MemberFacts(household_id=client.household_id, organisation_id=client.organisation_id)


def _member_count(household_id: int) -> int:
    """Count all members of household ``household_id``, visible or not."""
    return db.session.scalar(
        select(func.count(Client.id)).where(Client.household_id == household_id)
    )


def _locked_facts(household: Household) -> HouseholdFacts:
    """Lock the household row for this transaction (PostgreSQL) and return its facts.

    The lock serialises concurrent changes of one household, so the member limit holds.
    """
    db.session.execute(select(Household.id).where(Household.id == household.id).with_for_update())
    return HouseholdFacts(
        id=household.id,
        organisation_id=household.organisation_id,
        members=_member_count(household.id),
    )


def _join(household_id: int, client: Client) -> None:
    """Set ``client``'s household, only if it still has none (a concurrent join loses)."""
    result = db.session.execute(
        update(Client)
        .where(Client.id == client.id, Client.household_id.is_(None))
        .values(household_id=household_id)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        raise HouseholdRefused(
            _l(
                "Diese Person gehört bereits zu einer anderen Bedarfsgemeinschaft. Bitte sie "
                "dort zuerst austragen."
            ),
            field="client_id",
        )


def create_household(client: Client, label: str, by: User) -> Household:
    """Create a household named ``label`` with ``client`` as its first member; return it.

    The household belongs to the client's organisation. Raises HouseholdRefused for a label
    that is not 2–120 characters long or a client that already belongs to a household.
    Source: FAQ KIM NRW Q33.
    """
    text = rules.clean_label(label)
    rules.check_founding_member(_member_facts(client))
    with transaction() as session:
        household = Household(
            organisation_id=client.organisation_id, label=text, created_by_id=by.id
        )
        session.add(household)
        session.flush()
        try:
            _join(household.id, client)
        except HouseholdRefused as error:
            raise HouseholdRefused(error.message, field="label") from error
    return household


def add_member(household: Household, client: Client, by: User) -> None:
    """Add ``client`` to ``household``.

    Raises HouseholdRefused if the client is already in a household (this or another one), is
    counselled by another organisation, or the household is full (``rules.MAX_MEMBERS``).
    Each member keeps their own cases; every case counts on its own (FAQ KIM NRW Q33, R5).
    ``by`` is the acting case manager; the view has checked that they may see both.
    """
    with transaction():
        rules.check_join(_locked_facts(household), _member_facts(client))
        _join(household.id, client)


def remove_member(household: Household, client: Client, by: User) -> bool:
    """Take ``client`` out of ``household``; return True if the household was dissolved.

    A household needs at least one member: when the last member leaves, the household row is
    deleted. Raises HouseholdRefused if the client is not a member. Source: FAQ KIM NRW Q33.
    """
    with transaction() as session:
        dissolves = rules.check_leave(_locked_facts(household), _member_facts(client))
        client.household_id = None
        if dissolves:
            session.flush()
            session.delete(household)
    return dissolves


def household_for(user: User, household_id: int) -> Household | None:
    """Return household ``household_id`` if ``user`` may see at least one member, else None.

    Need-to-know (R8): a household is only as visible as its members, checked in SQL.
    """
    member_visible = exists(
        select(Client.id).where(Client.household_id == Household.id, policy.client_visible(user))
    )
    return db.session.scalar(select(Household).where(Household.id == household_id, member_visible))


def panel_for(user: User, client: Client) -> Household | None:
    """Return the household of ``client`` (a client ``user`` may see) for the client page."""
    if client.household_id is None:
        return None
    return household_for(user, client.household_id)


def _by_name(client: Client) -> tuple[str, str, int]:
    # Names are encrypted in the database, so lists are sorted after decryption.
    return (client.family_name.casefold(), client.given_name.casefold(), client.id)


def members_view(user: User, household: Household) -> tuple[list[MemberRow], int]:
    """Return the members of ``household`` that ``user`` may see, and how many others there are.

    Each visible member comes with the cases ``user`` may see (``policy.case_visible``), newest
    first; members the viewer may not see are only counted, never named (R8). Three queries
    whatever the size of the household: members, their cases, the total count.
    """
    members = sorted(
        db.session.scalars(
            select(Client).where(Client.household_id == household.id, policy.client_visible(user))
        ),
        key=_by_name,
    )
    cases: dict[int, list[Case]] = {m.id: [] for m in members}
    if members:
        for case in db.session.scalars(
            select(Case)
            .where(Case.client_id.in_(list(cases)), policy.case_visible(user))
            .order_by(Case.opened_on.desc(), Case.id.desc())
        ):
            cases[case.client_id].append(case)
    hidden = _member_count(household.id) - len(members)
    return [MemberRow(client=m, cases=cases[m.id]) for m in members], hidden


def linkable_clients(user: User, household: Household) -> list[Client]:
    """Return the clients ``user`` may add to ``household``, sorted by name.

    Those the user may see (R8), of the household's organisation, in no household yet.
    """
    return sorted(
        db.session.scalars(
            select(Client).where(
                policy.client_visible(user),
                Client.organisation_id == household.organisation_id,
                Client.household_id.is_(None),
            )
        ),
        key=_by_name,
    )
