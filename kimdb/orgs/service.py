"""Use cases of organisations: the municipalities of NRW, organisations and their teams
(issue 5, item 1), and the partner directory.

Where posts sit: the 53 counties and county-free cities of NRW, plus the city of Aachen with
its own Kommunales Integrationszentrum inside the Städteregion Aachen (54 municipalities, listed
in ``municipalities.csv`` beside this module) → organisations (KI, other municipal offices,
towns of a county, welfare organisations) → teams.

Decisions documented here:
- ``municipalities.csv`` keeps, per municipality, the case-management posts the state assigned
  in 2022 (``cm_posts_2022``, Baustein 2, column "vom Land zugewiesene Stellen"; 713 in all).
  The database has no column for it: it stays in the file for later reports and is read by
  ``municipalities_from_csv``.
- Names of organisations (per municipality) and teams (per organisation) are unique regardless
  of upper and lower case and of repeated spaces; the database's unique constraints catch the
  exact duplicates of a race.
- A team is deleted only while nobody belongs to it and no supervision points to it, so no
  person loses their team and no supervisor their scope without an administrator deciding.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from kimdb.extensions import db, transaction
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs.models import (
    Municipality,
    MunicipalityKind,
    Organisation,
    OrganisationKind,
    Partner,
    PartnerKind,
    Team,
)
from kimdb.rules import RuleViolation, clean_name

MUNICIPALITIES_CSV = Path(__file__).with_name("municipalities.csv")
ORGANISATION_NAME_MAX = 200  # characters, the column's length
TEAM_NAME_MAX = 120  # characters, the column's length


class PartnerRefused(RuleViolation):
    """A partner cannot be added to the directory as asked."""


class OrganisationRefused(RuleViolation):
    """An organisation or team cannot be created, renamed or deleted as asked."""


# -- municipalities -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MunicipalityEntry:
    """One line of ``municipalities.csv``: name, county or city, and the case-management posts
    the state assigned for 2022 (full-time equivalents, Baustein 2)."""

    name: str
    kind: MunicipalityKind
    cm_posts_2022: Decimal


@dataclass(frozen=True)
class SeedResult:
    """What ``seed_municipalities`` did: municipalities added, and those already present."""

    added: int
    present: int

    @property
    def total(self) -> int:
        """Municipalities in the list (added + present)."""
        return self.added + self.present


#: The state as the "municipality" of its own offices (kind ``state``; issue 7 item 5).
STATE_NAME = "Land Nordrhein-Westfalen"


def municipality_kind(name: str) -> MunicipalityKind:
    """Return whether the municipality ``name`` is the state (``STATE_NAME``), a county (a
    "Kreis …", "…kreis", "… Kreis" — "Märkischer Kreis", "Rhein-Kreis Neuss" — or the
    Städteregion Aachen) or else a city."""
    if name == STATE_NAME:
        return MunicipalityKind.STATE
    if "kreis" in name.casefold() or name.startswith("Städteregion"):
        return MunicipalityKind.COUNTY
    return MunicipalityKind.CITY


def municipalities_from_csv(path: Path = MUNICIPALITIES_CSV) -> list[MunicipalityEntry]:
    """Read the municipalities of NRW from ``path`` (columns name, kind, cm_posts_2022).

    Source: Landtag NRW, answer on KIM staffing, table "KIM-Stellenbesetzungen in Baustein 2
    (Stand 30.09.2022)". Raises ValueError for an unknown kind or a malformed number.
    """
    with path.open(encoding="utf-8", newline="") as file:
        return [
            MunicipalityEntry(
                name=row["name"].strip(),
                kind=MunicipalityKind(row["kind"].strip()),
                cm_posts_2022=Decimal(row["cm_posts_2022"].strip()),
            )
            for row in csv.DictReader(file)
        ]


def seed_municipalities(path: Path = MUNICIPALITIES_CSV) -> SeedResult:
    """Insert the municipalities of ``path`` that are missing (by name); idempotent.

    One transaction; existing rows are left as they are (also their kind). Returns the counts.
    """
    entries = municipalities_from_csv(path)
    with transaction() as session:
        present = set(session.scalars(select(Municipality.name)))
        missing = [e for e in entries if e.name not in present]
        session.add_all(Municipality(name=e.name, kind=e.kind) for e in missing)
    return SeedResult(added=len(missing), present=len(entries) - len(missing))


def ensure_organisation(name: str, municipality_name: str, kind: str) -> Organisation:
    """Return the organisation ``name`` in ``municipality_name``, creating both if missing.

    A new municipality's kind follows its name (``municipality_kind``).
    """
    with transaction() as session:
        municipality = session.scalar(
            select(Municipality).where(Municipality.name == municipality_name)
        )
        if municipality is None:
            municipality = Municipality(
                name=municipality_name, kind=municipality_kind(municipality_name)
            )
            session.add(municipality)
        organisation = session.scalar(
            select(Organisation).where(
                Organisation.name == name, Organisation.municipality == municipality
            )
        )
        if organisation is None:
            organisation = Organisation(
                name=name, kind=OrganisationKind(kind), municipality=municipality
            )
            session.add(organisation)
    return organisation


def partners_of(organisation_id: int) -> list[Partner]:
    """Return the partner directory of an organisation, sorted by name."""
    return list(
        db.session.scalars(
            select(Partner).where(Partner.organisation_id == organisation_id).order_by(Partner.name)
        )
    )


def _same_name(organisation_id: int, name: str) -> Partner | None:
    wanted = " ".join(name.split()).casefold()
    for partner in partners_of(organisation_id):
        if partner.name.casefold() == wanted:
            return partner
    return None


def add_partner(
    organisation_id: int,
    name: str,
    kind: PartnerKind,
    legal_domain: str | None,
    contact: str | None,
) -> Partner:
    """Add a service or agency to the organisation's partner directory and return it.

    Raises PartnerRefused if a partner of the same name (case-insensitive) exists.
    """
    name = " ".join(name.split())
    if _same_name(organisation_id, name):
        raise PartnerRefused(_l("Diese Stelle steht bereits im Verzeichnis."), field="name")
    with transaction() as session:
        partner = Partner(
            organisation_id=organisation_id,
            name=name,
            kind=kind,
            legal_domain=legal_domain or None,
            contact=(contact or "").strip() or None,
        )
        session.add(partner)
    return partner


def update_partner(
    organisation_id: int,
    partner_id: int,
    name: str,
    kind: PartnerKind,
    legal_domain: str | None,
    contact: str | None,
) -> Partner:
    """Change a partner of the organisation's directory (e.g. add the legal domain of an agency
    first named on a consent form). Raises PartnerRefused for an unknown partner or a name
    another entry already has. Referrals recorded earlier keep their Verweisberatung mark."""
    partner = db.session.get(Partner, partner_id)
    if partner is None or partner.organisation_id != organisation_id:
        raise PartnerRefused(_l("Diese Stelle steht nicht im Verzeichnis."))
    name = " ".join(name.split())
    same = _same_name(organisation_id, name)
    if same is not None and same.id != partner.id:
        raise PartnerRefused(_l("Diese Stelle steht bereits im Verzeichnis."), field="name")
    with transaction():
        partner.name = name
        partner.kind = kind
        partner.legal_domain = legal_domain or None
        partner.contact = (contact or "").strip() or None
    return partner


def find_or_add_partner(organisation_id: int, name: str) -> Partner:
    """Return the directory entry named ``name`` (case-insensitive), adding it if missing.

    Runs inside the caller's transaction (no commit): registration uses it for the partners
    named in a consent's exchange scope.
    """
    name = " ".join(name.split())
    partner = _same_name(organisation_id, name)
    if partner is None:
        partner = Partner(organisation_id=organisation_id, name=name, kind=PartnerKind.OTHER)
        db.session.add(partner)
        db.session.flush()
    return partner


# -- organisations and teams of a municipality (Fachadministration) ----------------------------
def _collapse(text: str | None) -> str:
    return " ".join((text or "").split())


def clean_organisation_name(name: str | None) -> str:
    """Return the organisation's name, inner spaces collapsed; raise OrganisationRefused (field
    ``name``) if it is empty or longer than 200 characters."""
    return clean_name(
        name,
        max_length=ORGANISATION_NAME_MAX,
        missing=_l("Bitte den Namen der Organisation angeben."),
        field="name",
        error=OrganisationRefused,
    )


def clean_team_name(name: str | None) -> str:
    """Return the team's name, inner spaces collapsed; raise OrganisationRefused (field
    ``name``) if it is empty or longer than 120 characters."""
    return clean_name(
        name,
        max_length=TEAM_NAME_MAX,
        missing=_l("Bitte den Namen des Teams angeben."),
        field="name",
        error=OrganisationRefused,
    )


def parse_organisation_kind(value: OrganisationKind | str | None) -> OrganisationKind:
    """Return the kind named by ``value``; raise OrganisationRefused (field ``kind``) for
    anything else."""
    try:
        return OrganisationKind(value)
    except ValueError:
        raise OrganisationRefused(
            _l("Bitte eine der angebotenen Arten wählen."), field="kind"
        ) from None


def same_name(name: str, others: dict[int, str], own_id: int | None = None) -> int | None:
    """Return the id of the entry in ``others`` (id → name) whose name equals ``name`` up to
    upper and lower case, other than ``own_id``; None if there is none."""
    wanted = name.casefold()
    for other_id, other_name in others.items():
        if other_id != own_id and _collapse(other_name).casefold() == wanted:
            return other_id
    return None


def check_team_deletable(name: str, members: int, supervisions: int) -> None:
    """Raise OrganisationRefused unless team ``name`` has no ``members`` (people, active or not)
    and no ``supervisions`` point to it (issue 5, item 1)."""
    if members:
        raise OrganisationRefused(
            _l(
                "Das Team „%(name)s“ kann nicht gelöscht werden: Ihm gehören noch %(num)d "
                "Person(en) an. Ordnen Sie diese zuerst einem anderen oder keinem Team zu.",
                name=name,
                num=members,
            )
        )
    if supervisions:
        raise OrganisationRefused(
            _l(
                "Das Team „%(name)s“ kann nicht gelöscht werden: Es wird noch von %(num)d "
                "Koordination(en) betreut. Ändern Sie zuerst deren Zuständigkeit.",
                name=name,
                num=supervisions,
            )
        )


@dataclass(frozen=True)
class TeamRow:
    """A team with the number of people in it (active or not)."""

    team: Team
    members: int


@dataclass(frozen=True)
class OrganisationRow:
    """An organisation with the number of its people (active or not) and its teams."""

    organisation: Organisation
    members: int
    teams: list[TeamRow]


def organisation_overview(municipality_id: int) -> list[OrganisationRow]:
    """Return the organisations of the municipality, sorted by name, with their teams (sorted
    by name) and the number of people of each. Four queries, whatever the size."""
    from kimdb.auth.models import User

    organisations = db.session.scalars(
        select(Organisation)
        .where(Organisation.municipality_id == municipality_id)
        .options(selectinload(Organisation.teams))
        .order_by(Organisation.name)
    ).all()
    ids = [o.id for o in organisations]
    per_organisation = dict(
        db.session.execute(
            select(User.organisation_id, func.count(User.id))
            .where(User.organisation_id.in_(ids))
            .group_by(User.organisation_id)
        ).all()
    )
    per_team = dict(
        db.session.execute(
            select(User.team_id, func.count(User.id))
            .where(User.organisation_id.in_(ids), User.team_id.is_not(None))
            .group_by(User.team_id)
        ).all()
    )
    return [
        OrganisationRow(
            organisation=o,
            members=per_organisation.get(o.id, 0),
            teams=[TeamRow(team=t, members=per_team.get(t.id, 0)) for t in o.teams],
        )
        for o in organisations
    ]


def organisation_in(municipality_id: int, organisation_id: int) -> Organisation | None:
    """Return organisation ``organisation_id`` if it lies in the municipality, else None."""
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or organisation.municipality_id != municipality_id:
        return None
    return organisation


def team_in(municipality_id: int, team_id: int) -> Team | None:
    """Return team ``team_id`` if its organisation lies in the municipality, else None."""
    team = db.session.get(Team, team_id)
    if team is None or team.organisation.municipality_id != municipality_id:
        return None
    return team


def _check_in(municipality_id: int, organisation: Organisation) -> None:
    if organisation.municipality_id != municipality_id:
        raise OrganisationRefused(
            _l("Diese Organisation gehört nicht zu Ihrem Kreis bzw. Ihrer Stadt.")
        )


def _organisation_names(municipality_id: int) -> dict[int, str]:
    return dict(
        db.session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.municipality_id == municipality_id
            )
        ).all()
    )


def _team_names(organisation_id: int) -> dict[int, str]:
    return dict(
        db.session.execute(
            select(Team.id, Team.name).where(Team.organisation_id == organisation_id)
        ).all()
    )


_ORGANISATION_TAKEN = _l(
    "In Ihrem Kreis bzw. Ihrer Stadt gibt es schon eine Organisation dieses Namens."
)
_TEAM_TAKEN = _l("Diese Organisation hat schon ein Team dieses Namens.")


def create_organisation(
    municipality_id: int, name: str, kind: OrganisationKind | str
) -> Organisation:
    """Create and return an organisation (KI, municipal office, town, welfare organisation) in
    the municipality. Raises OrganisationRefused for an empty or too long name, a name the
    municipality already has (case-insensitive) or an unknown kind; nothing is written then."""
    name = clean_organisation_name(name)
    kind = parse_organisation_kind(kind)
    if same_name(name, _organisation_names(municipality_id)) is not None:
        raise OrganisationRefused(_ORGANISATION_TAKEN, field="name")
    try:
        with transaction() as session:
            organisation = Organisation(name=name, kind=kind, municipality_id=municipality_id)
            session.add(organisation)
    except IntegrityError as exc:  # the same name created at the same moment
        raise OrganisationRefused(_ORGANISATION_TAKEN, field="name") from exc
    return organisation


def create_team(municipality_id: int, organisation: Organisation, name: str) -> Team:
    """Create and return a team of ``organisation`` (which must lie in the municipality).
    Raises OrganisationRefused for an empty or too long name or one the organisation's teams
    already have (case-insensitive); nothing is written then."""
    _check_in(municipality_id, organisation)
    name = clean_team_name(name)
    if same_name(name, _team_names(organisation.id)) is not None:
        raise OrganisationRefused(_TEAM_TAKEN, field="name")
    try:
        with transaction() as session:
            team = Team(organisation_id=organisation.id, name=name)
            session.add(team)
    except IntegrityError as exc:
        raise OrganisationRefused(_TEAM_TAKEN, field="name") from exc
    return team


def rename_team(municipality_id: int, team: Team, name: str) -> Team:
    """Give ``team`` a new name; refused as in ``create_team``. Members and supervisions keep
    pointing to the team."""
    _check_in(municipality_id, team.organisation)
    name = clean_team_name(name)
    if same_name(name, _team_names(team.organisation_id), own_id=team.id) is not None:
        raise OrganisationRefused(_TEAM_TAKEN, field="name")
    try:
        with transaction():
            team.name = name
    except IntegrityError as exc:
        raise OrganisationRefused(_TEAM_TAKEN, field="name") from exc
    return team


def delete_team(municipality_id: int, team: Team) -> str:
    """Delete ``team`` and return its name. Raises OrganisationRefused while people belong to
    it or a supervision points to it (``check_team_deletable``); nothing is written then."""
    from kimdb.auth.models import Supervision, User

    _check_in(municipality_id, team.organisation)
    members = db.session.scalar(select(func.count(User.id)).where(User.team_id == team.id))
    supervisions = db.session.scalar(
        select(func.count(Supervision.id)).where(Supervision.team_id == team.id)
    )
    check_team_deletable(team.name, members, supervisions)
    name = team.name
    try:
        with transaction() as session:
            session.delete(team)
    except IntegrityError as exc:  # someone was put into the team at the same moment
        raise OrganisationRefused(
            _l("Das Team „%(name)s“ wird gerade verwendet und bleibt bestehen.", name=name)
        ) from exc
    return name
