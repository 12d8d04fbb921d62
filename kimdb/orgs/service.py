"""Use cases of organisations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from kimdb.extensions import db, transaction
from kimdb.orgs.models import (
    Municipality,
    MunicipalityKind,
    Organisation,
    OrganisationKind,
    Partner,
    PartnerKind,
)
from kimdb.rules import RuleViolation


class PartnerRefused(RuleViolation):
    """A partner cannot be added to the directory as asked."""


def ensure_organisation(name: str, municipality_name: str, kind: str) -> Organisation:
    """Return the organisation ``name`` in ``municipality_name``, creating both if missing.

    A municipality whose name starts with "Kreis" is a county, else a county-free city.
    """
    with transaction() as session:
        municipality = session.scalar(
            select(Municipality).where(Municipality.name == municipality_name)
        )
        if municipality is None:
            municipality = Municipality(
                name=municipality_name,
                kind=(
                    MunicipalityKind.COUNTY
                    if municipality_name.startswith("Kreis")
                    else MunicipalityKind.CITY
                ),
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
