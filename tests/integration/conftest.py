"""Fixtures shared by the request tests."""

import pytest

from tests.factories import login, make_user


@pytest.fixture()
def anna(client):
    """A logged-in case manager, cm.anna."""
    user = make_user("cm.anna")
    login(client, "cm.anna")
    return user
