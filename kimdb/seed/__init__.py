"""Generated data at county or state scale for benchmarks and load tests (issue 8).

``flask --app wsgi kimdb seed --scale state|county|tiny [--seed N]`` fills an empty database
with a statewide (or county-sized) installation built from the state's table of funded posts
(``kimdb/orgs/municipalities.csv``, seed 004 Baustein 2). Never for production data: the
generator refuses a database that already holds clients.

The accounts it creates share one published password and deterministic TOTP secrets, so that a
benchmark can log in through the real login form:

- ``land.nrw``: the state's statistics office (role ``state``);
- per municipality, with ``<slug>`` from :func:`slug` of its name: a supervisor ``sv.<slug>``
  (supervises the municipality's integration centre), case managers ``cm.<slug>.<n>``
  (n = 1, 2, ...) and an administrator ``admin.<slug>``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata

#: The password of every generated account (generated data only; published on purpose).
SEED_PASSWORD = "kimdb-generiert"  # noqa: S105 - published on purpose, like the demo's

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def slug(name: str) -> str:
    """Return the ASCII slug of a municipality's name for generated usernames.

    ``"Kreis Gütersloh"`` → ``"kreis-guetersloh"``; ``"Mülheim an der Ruhr"`` →
    ``"muelheim-an-der-ruhr"``.
    """
    folded = unicodedata.normalize("NFKD", name.lower().translate(_FOLD))
    ascii_only = folded.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")


def seed_totp_secret(username: str) -> str:
    """Return the base-32 TOTP secret of the generated account ``username`` (deterministic,
    published: generated data only). Feed it to ``pyotp.TOTP(secret).now()`` to log in."""
    digest = hashlib.sha256(b"kimdb-seed-totp:" + username.encode()).digest()[:20]
    return base64.b32encode(digest).decode()
