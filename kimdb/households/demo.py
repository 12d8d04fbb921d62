"""Demo households (Bedarfsgemeinschaften, FAQ KIM NRW Q33) for ``flask kimdb demo``."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from kimdb.auth.models import User
from kimdb.clients.models import Client
from kimdb.extensions import db
from kimdb.households.models import Household
from kimdb.households.rules import MAX_MEMBERS
from kimdb.timeutil import LOCAL_ZONE

DEMO_HOUSEHOLDS = 20
MEMBERS = (2, 4)  # members per demo household, inclusive


def add_demo_households(
    rnd: random.Random, clients_by_user: dict[User, list[Client]], today: dt.date
) -> int:
    """Link about 20 groups of 2–4 clients of one case manager into households; return the count.

    ``clients_by_user`` maps each demo case manager (flushed, so with an id) to the clients
    they registered. Members of one household share the country of origin, and take the first
    member's family name; the household is labelled "Familie <family name>" and belongs to the
    case manager's organisation. Each member keeps their own case (FAQ KIM NRW Q33). Rows are
    added to the session and flushed for their ids; the caller commits. ``today`` dates the
    households within the last year.
    """
    session = db.session
    groups: list[tuple[User, list[Client]]] = []
    users = [u for u, clients in clients_by_user.items() if len(clients) >= MEMBERS[0]]
    pools = {u: _pools_by_origin(clients_by_user[u]) for u in users}
    while users and len(groups) < DEMO_HOUSEHOLDS:
        for user in list(users):
            if len(groups) >= DEMO_HOUSEHOLDS:
                break
            group = _take_group(rnd, pools[user])
            if group is None:
                users.remove(user)
            else:
                groups.append((user, group))

    for user, members in groups:
        family = members[0].family_name
        for member in members[1:]:
            member.family_name = family
        created = dt.datetime.combine(
            today - dt.timedelta(days=rnd.randint(0, 365)),
            dt.time(rnd.randint(8, 16), rnd.randint(0, 59)),
            LOCAL_ZONE,
        ).astimezone(dt.UTC)
        household = Household(
            organisation_id=user.organisation_id,
            label=f"Familie {family}",
            created_by_id=user.id,
            created_at=created,
        )
        session.add(household)
        session.flush()  # the household's id for its members
        for member in members:
            member.household_id = household.id
    return len(groups)


def _pools_by_origin(clients: list[Client]) -> dict[str, list[Client]]:
    """Group the clients not in a household by country of origin (families share it)."""
    pools: dict[str, list[Client]] = defaultdict(list)
    for client in clients:
        if client.household_id is None:
            pools[client.country_of_origin].append(client)
    return pools


def _take_group(rnd: random.Random, pools: dict[str, list[Client]]) -> list[Client] | None:
    """Remove and return 2–4 clients of one origin from ``pools``; None if no origin has 2."""
    origins = sorted(c for c, clients in pools.items() if len(clients) >= MEMBERS[0])
    if not origins:
        return None
    pool = pools[rnd.choice(origins)]
    size = min(rnd.randint(*MEMBERS), len(pool), MAX_MEMBERS)
    group = rnd.sample(pool, k=size)
    for client in group:
        pool.remove(client)
    return group
