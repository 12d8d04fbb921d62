"""Registering a client only together with the signed consent (R1, FAQ KIM NRW Q34)."""

import datetime as dt
import io

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from kimdb.clients.models import Client
from kimdb.clients.service import storage
from kimdb.consent.models import Consent
from kimdb.timeutil import today
from tests.factories import PDF_BYTES, csrf_token, login, make_client, make_user, png_bytes


def form_data(client, **changes):
    data = {
        "csrf_token": csrf_token(client, "/clients/new"),
        "consent_form": "2026-01/de",
        "signed_on": "2026-11-02",
        "processing_agreed": "y",
        "exchange_partners": "Jobcenter Kreis Warendorf\nAusländerbehörde",
        "given_name": "Rania",
        "family_name": "Al-Hassan",
        "date_of_birth": "1988-03-14",
        "gender": "female",
        "country_of_origin": "SY",
        "languages": ["ar", "de"],
        "residence_status": "residence_permit",
        "phone": "+49 2581 123456",
        "email": "",
        "scan": (io.BytesIO(png_bytes()), "scan.png"),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture()
def case_manager(client):
    user = make_user("cm.anna")
    login(client, "cm.anna")
    return user


def counts(db):
    return (
        db.session.scalar(select(func.count(Client.id))),
        db.session.scalar(select(func.count(Consent.id))),
    )


def test_registration_stores_client_and_consent(client, db, case_manager):
    response = client.post(
        "/clients/new", data=form_data(client), content_type="multipart/form-data"
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Al-Hassan, Rania" in page
    assert "14.03.1988" in page
    assert "Jobcenter Kreis Warendorf" in page
    assert counts(db) == (1, 1)


def test_stored_scan_can_be_opened_again(client, db, case_manager):
    client.post("/clients/new", data=form_data(client), content_type="multipart/form-data")
    client_id = db.session.scalar(select(Client.id))
    response = client.get(f"/clients/{client_id}/consent-scan")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data == png_bytes()
    assert response.headers["Cache-Control"] == "no-store"


def test_pdf_scan_is_accepted(client, db, case_manager):
    data = form_data(client, scan=(io.BytesIO(PDF_BYTES), "einwilligung.pdf"))
    assert (
        client.post("/clients/new", data=data, content_type="multipart/form-data").status_code
        == 302
    )


def assert_refused(response, db, message, typed=("Al-Hassan", "Rania", "1988-03-14")):
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert "Bitte prüfen Sie Ihre Eingaben" in page  # the error summary
    for value in typed:
        assert f'value="{value}"' in page
    assert counts(db) == (0, 0)


def test_missing_consent_scope_writes_nothing(client, db, case_manager):
    response = client.post(
        "/clients/new",
        data=form_data(client, processing_agreed=None),
        content_type="multipart/form-data",
    )
    assert_refused(response, db, "Ohne Einwilligung in die Verarbeitung")


def test_missing_scan_writes_nothing(client, db, case_manager):
    response = client.post(
        "/clients/new", data=form_data(client, scan=None), content_type="multipart/form-data"
    )
    assert_refused(response, db, "Bitte den unterschriebenen Scan hochladen.")


def stored_scans():
    return set(storage().root.glob("scans/*/*"))


def test_renamed_text_file_is_refused(client, db, case_manager):
    before = stored_scans()
    fake = (io.BytesIO(b"Kein Scan, nur Text.\n"), "scan.pdf")
    response = client.post(
        "/clients/new", data=form_data(client, scan=fake), content_type="multipart/form-data"
    )
    assert_refused(response, db, "diese Datei ist keine")
    assert stored_scans() == before  # no file left behind


def test_future_signing_date_is_refused(client, db, case_manager):
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = client.post(
        "/clients/new",
        data=form_data(client, signed_on=tomorrow),
        content_type="multipart/form-data",
    )
    assert_refused(response, db, "Das Datum der Unterschrift darf nicht in der Zukunft liegen.")


def test_missing_name_and_bad_email_are_named_at_their_fields(client, db, case_manager):
    response = client.post(
        "/clients/new",
        data=form_data(client, given_name="", email="kein-at-zeichen"),
        content_type="multipart/form-data",
    )
    assert_refused(response, db, "Bitte den Vornamen angeben.", typed=("Al-Hassan",))
    assert "Bitte eine gültige E-Mail-Adresse angeben." in response.get_data(as_text=True)


def test_too_large_scan_is_refused(app, client, db, case_manager, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 0)
    response = client.post(
        "/clients/new", data=form_data(client), content_type="multipart/form-data"
    )
    assert_refused(response, db, "Der Scan ist zu groß")


def test_registration_without_csrf_token_is_refused(client, db, case_manager):
    response = client.post(
        "/clients/new", data=form_data(client, csrf_token=None), content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert counts(db) == (0, 0)


def test_database_refuses_a_client_without_consent(db):
    user = make_user("cm.raw")
    statement = text(
        "INSERT INTO clients (organisation_id, given_name, family_name, date_of_birth, gender,"
        " country_of_origin, languages, residence_status, registered_by_id, registered_at)"
        " VALUES (:org, :b, :b, :b, 'female', 'SY', '', 'unknown', :user, CURRENT_TIMESTAMP)"
    )
    with pytest.raises(IntegrityError):
        db.session.execute(statement, {"org": user.organisation_id, "b": b"x", "user": user.id})
    db.session.rollback()


def test_database_refuses_a_client_with_a_missing_consent(db):
    user = make_user("cm.raw")
    statement = text(
        "INSERT INTO clients (consent_id, organisation_id, given_name, family_name,"
        " date_of_birth, gender, country_of_origin, languages, residence_status,"
        " registered_by_id, registered_at) VALUES (4711, :org, :b, :b, :b, 'female', 'SY', '',"
        " 'unknown', :user, CURRENT_TIMESTAMP)"
    )
    with pytest.raises(IntegrityError):
        db.session.execute(statement, {"org": user.organisation_id, "b": b"x", "user": user.id})
    db.session.rollback()


def test_personal_fields_and_scan_are_not_stored_in_plaintext(db):
    user = make_user("cm.raw")
    make_client(user, given="Ülkü", family="Zaharieva")
    raw = db.session.execute(
        text("SELECT given_name, family_name, date_of_birth FROM clients")
    ).one()
    for value in raw:
        blob = bytes(value)
        assert b"Zaharieva" not in blob and "Ülkü".encode() not in blob and b"1990" not in blob
    key = db.session.scalar(select(Consent.scan_key))
    assert png_bytes() not in storage().raw(key)
    assert b"PNG" not in storage().raw(key)[:16]


def test_failed_database_write_removes_the_stored_scan(db, monkeypatch):
    user = make_user("cm.raw")
    before = stored_scans()

    def broken_commit():
        raise IntegrityError("INSERT", {}, Exception("simulated outage"))

    monkeypatch.setattr(db.session, "commit", broken_commit)
    with pytest.raises(IntegrityError):
        make_client(user)
    monkeypatch.undo()
    assert stored_scans() == before
    assert counts(db) == (0, 0)


def test_other_case_manager_cannot_see_the_client(client, db):
    owner = make_user("cm.owner")
    other_client = make_client(owner)
    make_user("cm.other")
    login(client, "cm.other")
    assert client.get(f"/clients/{other_client.id}").status_code == 404
    assert client.get(f"/clients/{other_client.id}/consent-scan").status_code == 404
    assert "Haddad" not in client.get("/clients/").get_data(as_text=True)
