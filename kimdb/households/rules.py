"""The rules of a household (Bedarfsgemeinschaft): who may join, leave, and how it is named.

Plain functions over plain values: no Flask request, no database session. Source: FAQ KIM NRW
(23.04.2026) Q33 — in a Bedarfsgemeinschaft every person with own counselling is an own case and
counts as its own case; the household only links the people, it is not a case of its own.

Decisions documented here:
- A client belongs to at most one household; joining another one asks to leave the first.
- A household holds clients of one organisation only (the one that counsels them); a client of
  another organisation is never linked, so need-to-know (R8) does not leak across organisations.
- A household needs at least one member. Leaving is always allowed; when the last member
  leaves, the household is dissolved (its row is deleted), so no empty household remains.
- At most ``MAX_MEMBERS`` members: more is almost surely a mistake (wrong household chosen).
"""

from __future__ import annotations

from dataclasses import dataclass

from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation

LABEL_MIN = 2  # characters, after trimming
LABEL_MAX = 120  # characters, after trimming
MAX_MEMBERS = 20


class HouseholdRefused(RuleViolation):
    """A household cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class HouseholdFacts:
    """What the rules need to know of a household: its id, organisation and member count."""

    id: int
    organisation_id: int
    members: int


@dataclass(frozen=True)
class MemberFacts:
    """What the rules need to know of a client: the household it belongs to, its organisation."""

    household_id: int | None
    organisation_id: int


def clean_label(label: str | None) -> str:
    """Return ``label`` trimmed if it has 2–120 characters; raise HouseholdRefused if not.

    The label names the household for the case manager (e.g. "Familie Haddad"). Source: FAQ
    KIM NRW Q33 (households are recorded); length limits are kimdb's.
    """
    text = " ".join((label or "").split())
    if len(text) < LABEL_MIN:
        raise HouseholdRefused(
            _l(
                "Bitte eine Bezeichnung mit mindestens %(min)d Zeichen angeben "
                "(z. B. „Familie Haddad“).",
                min=LABEL_MIN,
            ),
            field="label",
        )
    if len(text) > LABEL_MAX:
        raise HouseholdRefused(
            _l("Die Bezeichnung darf höchstens %(max)d Zeichen lang sein.", max=LABEL_MAX),
            field="label",
        )
    return text


def check_founding_member(client: MemberFacts) -> None:
    """Raise HouseholdRefused if ``client`` cannot found a new household.

    A client belongs to at most one household (FAQ KIM NRW Q33): one already in a household
    has to leave it first.
    """
    if client.household_id is not None:
        raise HouseholdRefused(
            _l(
                "Diese Person gehört bereits zu einer Bedarfsgemeinschaft. Bitte sie dort "
                "zuerst austragen."
            ),
            field="label",
        )


def check_join(household: HouseholdFacts, client: MemberFacts) -> None:
    """Raise HouseholdRefused if ``client`` may not join ``household``.

    Refused when the client is already a member, belongs to another household (it has to leave
    that one first), belongs to another organisation, or the household already holds
    ``MAX_MEMBERS`` members. Source: FAQ KIM NRW Q33; DESIGN.md R8 (one organisation).
    """
    if client.household_id == household.id:
        raise HouseholdRefused(
            _l("Diese Person gehört bereits zu dieser Bedarfsgemeinschaft."), field="client_id"
        )
    if client.household_id is not None:
        raise HouseholdRefused(
            _l(
                "Diese Person gehört bereits zu einer anderen Bedarfsgemeinschaft. Bitte sie "
                "dort zuerst austragen."
            ),
            field="client_id",
        )
    if client.organisation_id != household.organisation_id:
        raise HouseholdRefused(
            _l(
                "Diese Person wird von einer anderen Organisation beraten. Eine "
                "Bedarfsgemeinschaft umfasst nur Personen derselben Organisation."
            ),
            field="client_id",
        )
    if household.members >= MAX_MEMBERS:
        raise HouseholdRefused(
            _l(
                "Eine Bedarfsgemeinschaft kann höchstens %(max)d Mitglieder haben.",
                max=MAX_MEMBERS,
            ),
            field="client_id",
        )


def check_leave(household: HouseholdFacts, client: MemberFacts) -> bool:
    """Check that ``client`` may leave ``household``; return True if the household dissolves.

    Raises HouseholdRefused if the client is not a member. A household needs at least one
    member, so the last member leaving dissolves it (FAQ KIM NRW Q33; decision above).
    """
    if client.household_id != household.id:
        raise HouseholdRefused(
            _l("Diese Person gehört nicht zu dieser Bedarfsgemeinschaft."), field="client_id"
        )
    return household.members <= 1
