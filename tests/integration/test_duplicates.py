"""The duplicate check on registration (issue 6 item 2): same normalised name and date of birth,
or same date of birth and names that sound alike (Kölner Phonetik), found through keyed hashes
only; the case manager sees names only of clients they may see (R8) and can confirm "another
person"; the uploaded scan is held encrypted for that round."""

import hashlib
import io
import re

import pytest
from sqlalchemy import select

from kimdb.clients.models import Client
from kimdb.clients.phonetics import phonetic_key
from kimdb.clients.service import held_scans, read_scan
from kimdb.crypto import blind_index
from kimdb.timeutil import now
from tests.factories import (
    count_rows,
    csrf_token,
    login,
    make_case,
    make_client,
    make_user,
    png_bytes,
)

BIRTHDAY = "1990-05-17"  # the date of birth tests.factories.make_client gives


def form_data(http, **changes):
    data = {
        # Read once per test (``anna``): opening the form afresh drops a held scan.
        "csrf_token": http.kimdb_csrf,
        "consent_form": "2026-01/de",
        "signed_on": "2026-01-20",
        "processing_agreed": "y",
        "given_name": "Juergen",
        "family_name": "Mueller",
        "date_of_birth": BIRTHDAY,
        "gender": "male",
        "country_of_origin": "SY",
        "languages": ["ar"],
        "residence_status": "residence_permit",
        "scan": (io.BytesIO(png_bytes()), "scan.png"),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def register(http, **changes):
    return http.post(
        "/clients/new", data=form_data(http, **changes), content_type="multipart/form-data"
    )


def held_files() -> set:
    return {p for p in (held_scans().root / "scans").glob("*/*") if p.is_file()}


@pytest.fixture()
def anna(client):
    user = make_user("cm.anna")
    login(client, "cm.anna")
    client.kimdb_csrf = csrf_token(client, "/clients/new")
    return user


def test_same_name_in_another_spelling_and_same_birthday_is_shown_before_saving(client, db, anna):
    known = make_client(anna, given="Jürgen", family="Müller")

    response = register(client)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Mögliche Doppelerfassung" in page
    assert "Müller, Jürgen" in page and f"/clients/{known.id}" in page
    assert "gleicher Name" in page
    assert 'value="Mueller"' in page and 'value="Juergen"' in page  # what was typed is kept
    assert "Es ist eine andere Person – trotzdem aufnehmen" in page
    assert count_rows(db, Client) == 1


@pytest.mark.parametrize(
    ("given", "family"),
    [("Muhammad", "Hadad"), ("Mohamad", "Haddad"), ("Hadad", "Muhammad")],
)
def test_names_that_sound_alike_with_the_same_birthday_are_shown(client, db, anna, given, family):
    make_client(anna, given="Mohammed", family="Haddad")

    response = register(client, given_name=given, family_name=family)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Haddad, Mohammed" in page and "ähnlich klingender Name" in page
    assert count_rows(db, Client) == 1


def test_same_name_with_another_birthday_is_no_duplicate(client, db, anna):
    make_client(anna, given="Jürgen", family="Müller")

    response = register(client, date_of_birth="1990-05-18")

    assert response.status_code == 302
    assert count_rows(db, Client) == 2


def test_another_organisations_client_is_not_found(client, db, anna):
    other = make_user("cm.carla", organisation="Caritas Testkreis")
    make_client(other, given="Jürgen", family="Müller")

    response = register(client)

    assert response.status_code == 302
    assert count_rows(db, Client) == 2


def test_a_colleagues_client_is_named_only_by_case_and_case_manager(client, db, anna):
    bea = make_user("cm.bea")
    case = make_case(bea, client=make_client(bea, given="Jürgen", family="Müller"))

    response = register(client)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "eine Person mit gleichem Geburtsdatum und gleichem Namen" in page
    assert case.number in page and "betreut von Cm.Bea (KI Testkreis)" in page
    assert "Müller" not in page and "Jürgen" not in page
    assert f"/clients/{case.client_id}" not in page
    # Showing the match is a read of that client's data: in the audit log, for their Art. 15.
    from kimdb.audit.models import AuditEntry

    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "read:clients.duplicate_check")
    )
    assert entry.client_id == case.client_id and entry.user_id == anna.id


def test_erased_client_is_no_duplicate(client, db, anna):
    known = make_client(anna, given="Jürgen", family="Müller")
    known.erased_at = now()
    db.session.commit()

    assert register(client).status_code == 302


def test_confirming_another_person_saves_with_the_held_scan(client, db, anna):
    make_client(anna, given="Jürgen", family="Müller")
    before = held_files()
    assert register(client).status_code == 409
    held = held_files() - before
    assert len(held) == 1
    assert png_bytes() not in next(iter(held)).read_bytes()  # held encrypted
    again = register(client, scan=None)
    assert again.status_code == 409  # not confirmed: asked again, the scan still held
    assert "liegt verschlüsselt bereit" in again.get_data(as_text=True)

    response = register(client, scan=None, not_a_duplicate="y")

    assert response.status_code == 302
    db.session.expire_all()
    newest = db.session.scalars(select(Client).order_by(Client.id.desc())).first()
    assert newest.family_name == "Mueller"
    assert read_scan(newest.consent) == png_bytes()
    assert held_files() == before


def test_opening_the_form_afresh_drops_the_held_scan(client, db, anna):
    make_client(anna, given="Jürgen", family="Müller")
    before = held_files()
    register(client)
    assert held_files() != before

    page = client.get("/clients/new").get_data(as_text=True)

    assert held_files() == before
    assert "liegt verschlüsselt bereit" not in page


def test_confirming_with_a_new_scan_saves_it(client, db, anna):
    make_client(anna, given="Jürgen", family="Müller")
    before = held_files()
    register(client)

    response = register(client, not_a_duplicate="y")

    assert response.status_code == 302
    assert count_rows(db, Client) == 2
    assert held_files() == before


def test_bad_input_in_the_confirmation_round_is_422_and_keeps_the_held_scan(client, db, anna):
    make_client(anna, given="Jürgen", family="Müller")
    register(client)

    response = register(client, scan=None, not_a_duplicate="y", given_name="", signed_on="")

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Bitte den Vornamen angeben." in page
    assert "Bitte das Datum der Unterschrift angeben." in page
    assert "liegt verschlüsselt bereit" in page
    assert re.search(r'<input [^>]*checked[^>]*name="not_a_duplicate"', page)
    assert count_rows(db, Client) == 1
    assert register(client, scan=None, not_a_duplicate="y").status_code == 302


def test_bad_input_is_checked_before_duplicates(client, db, anna):
    make_client(anna, given="Jürgen", family="Müller")
    before = held_files()

    response = register(client, date_of_birth="17.05.2090")

    assert response.status_code == 422
    assert "Das Geburtsdatum darf nicht in der Zukunft liegen." in response.get_data(as_text=True)
    assert held_files() == before


def test_phonetic_indexes_are_keyed_hashes_and_reindex_fills_them(client, data_app, db, anna):
    known = make_client(anna, given="Mohammed", family="Haddad")
    # A keyed hash (HMAC with the blind-index key) of the code, never the code itself nor a
    # plain hash anyone could compute ("662" may well occur among 64 hex digits by chance).
    code = phonetic_key("Mohammed")
    assert code == "phon:662"
    assert re.fullmatch(r"[0-9a-f]{64}", known.given_name_phonetic)
    assert known.given_name_phonetic == blind_index(code)
    assert known.given_name_phonetic != hashlib.sha256(code.encode()).hexdigest()
    known.given_name_phonetic = known.family_name_phonetic = None
    db.session.commit()
    assert register(client, given_name="Muhammad", family_name="Hadad").status_code == 302

    result = data_app.test_cli_runner().invoke(args=["kimdb", "reindex"])

    assert result.exit_code == 0
    db.session.expire_all()
    assert db.session.get(Client, known.id).given_name_phonetic is not None
    assert register(client, given_name="Muhamad", family_name="Hadad").status_code == 409
