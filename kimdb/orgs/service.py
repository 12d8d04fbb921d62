"""Use cases of organisations."""

from __future__ import annotations

from sqlalchemy import select

from kimdb.extensions import transaction
from kimdb.orgs.models import Municipality, MunicipalityKind, Organisation, OrganisationKind


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
