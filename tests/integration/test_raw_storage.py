"""No plaintext personal data at rest (issue 6 item 1 and its contract; DESIGN.md §4).

A client with a distinctive name, date of birth and contact data, a note, a need and a goal
with distinctive texts, and a consent scan with a distinctive byte string are written through
the services; then every column of every table is read raw with plain SQL, and every file
below the storage directory as it lies on disk: none holds any of it, in UTF-8 or UTF-16,
in any letter case. On SQLite the database file itself is searched too.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from kimdb.cases import casework
from kimdb.cases import service as cases_service
from kimdb.cases.models import LifeArea, NoteKind
from kimdb.cases.rules import CaseKind
from kimdb.clients import service as clients_service
from kimdb.clients.models import Client, Gender, ResidenceStatus
from kimdb.clients.phonetics import cologne_code
from kimdb.clients.rules import normalise_name
from tests.factories import make_case, make_user

GIVEN, FAMILY = "Zarathustra", "Quellenberg"
BORN = dt.date(1937, 4, 29)
PHONE = "+49 176 90817263"
EMAIL = "z.quellenberg@example.org"
NOTE = "Zahnarzttermin wegen Kieferoperation in Wuppertal-Elberfeld"
NEED = "Meisterbrief als Orgelbauer anerkennen lassen"
GOAL = "Segelflugschein bis Herbst ablegen"
SCAN_MARK = "SCANMARKE-Xylophonwerkstatt-4471"

SECRETS = [
    GIVEN,
    FAMILY,
    f"{GIVEN} {FAMILY}",
    BORN.isoformat(),
    BORN.strftime("%d.%m.%Y"),
    "90817263",
    EMAIL,
    "Kieferoperation",
    "Orgelbauer",
    "Segelflugschein",
    SCAN_MARK,
]
ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")


@pytest.fixture()
def storage_dir(app, data_app, tmp_path, monkeypatch):
    """A storage directory of this test only, so the search reads exactly its files."""
    path = tmp_path / "storage"
    monkeypatch.setitem(app.config, "STORAGE_DIR", str(path))
    monkeypatch.setitem(data_app.config, "STORAGE_DIR", str(path))
    return path


def scan_with_mark() -> bytes:
    """A real PNG whose text chunk carries SCAN_MARK (as a scanner's metadata would)."""
    info = PngInfo()
    info.add_text("Comment", f"{SCAN_MARK} {GIVEN} {FAMILY}")
    buffer = io.BytesIO()
    Image.new("RGB", (40, 60), "white").save(buffer, format="PNG", pnginfo=info)
    data = buffer.getvalue()
    assert SCAN_MARK.encode() in data  # the plaintext scan really holds it
    return data


@pytest.fixture()
def quellenberg(db, storage_dir):
    """The client, a Case Management case with a note, a need and a goal."""
    owner = make_user("cm.raw")
    client = clients_service.register_client(
        clients_service.ConsentInput(
            form_version="2026-01",
            form_language="de",
            signed_on=dt.date(2026, 1, 15),
            processing_agreed=True,
            exchange_partners=[],
            scan=scan_with_mark(),
        ),
        clients_service.ClientInput(
            given_name=GIVEN,
            family_name=FAMILY,
            date_of_birth=BORN,
            gender=Gender.MALE,
            country_of_origin="AT",
            residence_status=ResidenceStatus.RESIDENCE_PERMIT,
            phone=PHONE,
            email=EMAIL,
        ),
        by=owner,
    )
    case = make_case(owner, CaseKind.CASE_MANAGEMENT, client)
    cases_service.add_need(case, LifeArea.WORK, None, NEED, True, owner)
    cases_service.add_goal(case, GOAL, dt.date(2026, 2, 1), owner)
    casework.write_note(case, NoteKind.CONSULTATION, dt.date(2026, 2, 2), NOTE, owner)
    db.session.commit()
    return client


def as_bytes(value) -> bytes:
    """A raw column value as bytes: binary as is, text UTF-8, anything else its text form."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    return str(value).encode("utf-8")


def leaks(haystack: bytes) -> list[str]:
    """Return the SECRETS found in ``haystack`` in any encoding and letter case."""
    lowered = haystack.lower()
    return [
        f"{secret!r} ({encoding})"
        for secret in SECRETS
        for encoding in ENCODINGS
        if secret.encode(encoding).lower() in lowered
    ]


def raw_tables(db) -> dict[str, bytes]:
    """Every column of every row of every table in the database, raw, by plain SQL."""
    names = inspect(db.engine).get_table_names()
    assert set(db.metadata.tables) <= set(names)
    found = {}
    for name in names:
        rows = db.session.execute(text(f'SELECT * FROM "{name}"')).all()  # noqa: S608
        found[name] = b"\x00".join(as_bytes(v) for row in rows for v in row if v is not None)
    db.session.rollback()
    return found


def test_search_finds_the_secrets_in_plaintext():
    """The search itself works: it would see each secret, in each encoding and case."""
    for secret in SECRETS:
        for encoding in ENCODINGS:
            assert leaks(b"xx" + secret.upper().encode(encoding) + b"yy")


def test_no_table_holds_plaintext_personal_data(db, quellenberg):
    tables = raw_tables(db)
    assert tables["clients"] and tables["notes"] and tables["needs"] and tables["goals"]
    found = {name: leaks(content) for name, content in tables.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_blind_indexes_are_not_the_plaintext(db, quellenberg):
    row = db.session.execute(
        select(Client.__table__).where(Client.__table__.c.id == quellenberg.id)
    ).one()
    indexes = {
        "family_name_index": row.family_name_index,
        "given_name_index": row.given_name_index,
        "date_of_birth_index": row.date_of_birth_index,
        "family_name_phonetic": row.family_name_phonetic,
        "given_name_phonetic": row.given_name_phonetic,
    }
    plain = {
        normalise_name(FAMILY),
        normalise_name(GIVEN),
        BORN.isoformat(),
        cologne_code(FAMILY),
        cologne_code(GIVEN),
    }
    for name, value in indexes.items():
        assert value, f"{name} is empty"
        assert value not in plain and len(value) == 64, name  # a keyed SHA-256, hex
        assert not any(p.lower() in value.lower() for p in plain if not p.isdigit()), name


def test_no_stored_file_holds_the_plaintext(db, quellenberg, storage_dir):
    files = [p for p in storage_dir.rglob("*") if p.is_file()]
    assert files, "the scan was not stored"
    found = {str(p): leaks(p.read_bytes()) for p in files}
    assert {path: hits for path, hits in found.items() if hits} == {}


def test_the_sqlite_database_file_holds_no_plaintext(db, quellenberg):
    url = make_url(str(db.engine.url))
    if url.get_backend_name() != "sqlite":
        pytest.skip("the database file is searched on SQLite only")
    db.session.commit()
    database = Path(url.database)
    parts = [database, Path(f"{database}-wal"), Path(f"{database}-journal")]
    content = b"".join(p.read_bytes() for p in parts if p.exists())
    assert len(content) > 0
    assert leaks(content) == []
