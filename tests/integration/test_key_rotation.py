"""Key rotation on the real database and file storage (issue 6 item 1 and its contract).

After rotation every ciphertext in the raw tables and every raw scan file carries the new key's
id and decrypts to the same value as before; a rotation with a missing old key refuses before
touching anything; an interrupted rotation resumes; a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import select, text

from kimdb import create_app, crypto, rotation
from kimdb.cases import casework
from kimdb.cases import service as cases_service
from kimdb.cases.models import LifeArea, Need, Note, NoteKind
from kimdb.cases.rules import CaseKind
from kimdb.clients import service as clients_service
from kimdb.clients.models import Client, Gender, ResidenceStatus
from kimdb.consent.storage import ScanStorage
from kimdb.crypto import Keyring, generate_key
from tests.factories import PDF_BYTES, login, make_case, make_user, png_bytes


@pytest.fixture()
def storage_dir(app, data_app, tmp_path, monkeypatch):
    """A storage directory of this test only (the suite's one holds other tests' scans)."""
    path = tmp_path / "storage"
    monkeypatch.setitem(app.config, "STORAGE_DIR", str(path))
    monkeypatch.setitem(data_app.config, "STORAGE_DIR", str(path))
    return path


@pytest.fixture()
def keys():
    """Key A (the suite's key, which encrypts the data written here) and a new key B.

    The suite's keyring is put back afterwards, whatever the test configured.
    """
    before = crypto.keyring()
    yield os.environ["KIMDB_ENCRYPTION_KEYS"], generate_key()
    crypto.configure(before)


@pytest.fixture()
def casefile(db, storage_dir):
    """Two clients under key A: names, date of birth, phone, email, a need, a note, scans."""
    owner = make_user("cm.rotation")
    first = register(owner, "Leyla", "Okonkwo-Said", png_bytes(), phone="+49 2581 4711")
    register(owner, "Jonas", "Brzęczyszczykiewicz", PDF_BYTES, email="jb@example.org")
    case = make_case(owner, CaseKind.SHORT_COUNSELLING, first)
    cases_service.add_need(
        case, LifeArea.HOUSING, None, "Schimmel in der Wohnung, Kind mit Asthma", True, owner
    )
    casework.write_note(
        case, NoteKind.CONSULTATION, dt.date(2026, 2, 2), "Termin beim Jobcenter vereinbart", owner
    )
    db.session.commit()
    return case


def register(by, given, family, scan, phone=None, email=None) -> Client:
    """Register a client with a consent scan through the service."""
    return clients_service.register_client(
        clients_service.ConsentInput(
            form_version="2026-01",
            form_language="de",
            signed_on=dt.date(2026, 1, 15),
            processing_agreed=True,
            exchange_partners=[],
            scan=scan,
        ),
        clients_service.ClientInput(
            given_name=given,
            family_name=family,
            date_of_birth=dt.date(1988, 3, 9),
            gender=Gender.FEMALE,
            country_of_origin="NG",
            residence_status=ResidenceStatus.RESIDENCE_PERMIT,
            phone=phone,
            email=email,
        ),
        by=by,
    )


def plaintexts(db) -> dict:
    """Everything the app reads back: decrypted client fields, need, note, scans."""
    db.session.expire_all()
    found = {}
    for client in db.session.scalars(select(Client).order_by(Client.id)):
        found[f"client {client.id}"] = (
            client.given_name,
            client.family_name,
            client.date_of_birth,
            client.phone,
            client.email,
        )
        found[f"scan {client.id}"] = clients_service.read_scan(client.consent)
    found["needs"] = db.session.scalars(select(Need.description)).all()
    found["notes"] = db.session.scalars(select(Note.text)).all()
    return found


def raw_values(db) -> dict:
    """Every non-empty encrypted value as stored: {(table, column, id): bytes}, by plain SQL."""
    values = {}
    for table in rotation.encrypted_tables(db.metadata):
        for column in table.columns:
            rows = db.session.execute(
                text(
                    f"SELECT {table.primary_key}, {column} FROM {table.name} "  # noqa: S608
                    f"WHERE {column} IS NOT NULL"
                )
            )
            for pk, value in rows:
                values[(table.name, column, pk)] = bytes(value)
    db.session.rollback()
    return values


def raw_files(storage_dir) -> dict:
    """Every file below the storage directory as it lies on disk: {path: bytes}."""
    return {p: p.read_bytes() for p in sorted(storage_dir.rglob("*")) if p.is_file()}


def key_ids(blobs) -> set[bytes]:
    """The key ids carried by ``blobs`` (bytes 2–5 of each ciphertext)."""
    return {blob[1:5] for blob in blobs}


def run_rotation(db, storage_dir, **options) -> rotation.RotationResult:
    db.session.commit()
    storage = ScanStorage(str(storage_dir))
    return rotation.rotate(db.engine, db.metadata, storage, crypto.keyring(), **options)


def test_rotation_moves_every_ciphertext_to_the_new_key_and_loses_nothing(
    db, casefile, keys, storage_dir, app
):
    key_a, key_b = keys
    id_a, id_b = Keyring(key_a).current_id, Keyring(key_b).current_id
    before = plaintexts(db)
    values_before = raw_values(db)
    assert key_ids(values_before.values()) == {id_a}
    assert key_ids(raw_files(storage_dir).values()) == {id_a}

    crypto.configure(f"{key_b},{key_a}")
    result = run_rotation(db, storage_dir, batch_size=2)

    values_after = raw_values(db)
    assert values_after.keys() == values_before.keys()  # no value lost, none added
    assert key_ids(values_after.values()) == {id_b}
    files = raw_files(storage_dir)
    assert len(files) == 2 and key_ids(files.values()) == {id_b}
    assert result.rows_reencrypted == len({(t, pk) for t, _, pk in values_before})
    assert result.files_reencrypted == 2

    crypto.configure(key_b)  # the old key removed: the app reads everything with B alone
    assert plaintexts(db) == before
    with app.test_client() as http:
        login(http, "cm.rotation")
        page = http.get(f"/cases/{casefile.id}").get_data(as_text=True)
        assert "Termin beim Jobcenter vereinbart" in page and "Okonkwo-Said" in page


def test_rotation_with_the_old_key_missing_refuses_and_changes_nothing(
    db, casefile, keys, storage_dir, data_app
):
    _, key_b = keys
    values_before, files_before = raw_values(db), raw_files(storage_dir)
    rows = len({(t, pk) for t, _, pk in values_before})
    crypto.configure(key_b)

    with pytest.raises(rotation.RotationRefused) as refused:
        run_rotation(db, storage_dir)
    assert f"{rows} rows" in refused.value.message
    assert "2 scan files" in refused.value.message
    assert "not configured" in refused.value.message

    cli = data_app.test_cli_runner().invoke(args=["kimdb", "rotate-keys"])
    assert cli.exit_code == 1 and "refused, nothing was changed" in cli.output

    assert raw_values(db) == values_before
    assert raw_files(storage_dir) == files_before


def test_interrupted_rotation_resumes_and_completes(db, casefile, keys, storage_dir):
    key_a, key_b = keys
    id_a, id_b = Keyring(key_a).current_id, Keyring(key_b).current_id
    before = plaintexts(db)
    crypto.configure(f"{key_b},{key_a}")

    class Stop(Exception):
        pass

    def stop_after_two_rows(progress: rotation.Progress) -> None:
        if progress.done == 2:
            raise Stop

    with pytest.raises(Stop):
        run_rotation(db, storage_dir, batch_size=1, on_progress=stop_after_two_rows)
    half = raw_values(db)
    moved = {(t, pk) for (t, _, pk), blob in half.items() if blob[1:5] == id_b}
    assert len(moved) == 2  # two batches of one row committed, nothing more
    assert key_ids(half.values()) == {id_a, id_b}
    assert key_ids(raw_files(storage_dir).values()) == {id_a}
    assert plaintexts(db) == before  # both keys configured: everything reads

    result = run_rotation(db, storage_dir, batch_size=1)
    assert result.rows_skipped == 2
    assert result.rows_reencrypted == len({(t, pk) for t, _, pk in half}) - 2
    assert key_ids(raw_values(db).values()) == {id_b}
    assert key_ids(raw_files(storage_dir).values()) == {id_b}
    assert plaintexts(db) == before


def test_a_crash_inside_a_batch_rolls_that_batch_back(db, casefile, keys, storage_dir, monkeypatch):
    key_a, key_b = keys
    id_b = Keyring(key_b).current_id
    crypto.configure(f"{key_b},{key_a}")
    real = Keyring.reencrypt
    calls = []

    def failing(self, blob):
        calls.append(1)
        if len(calls) == 6:  # in the second client's row: the first one is in the same batch
            raise RuntimeError("power cut")
        return real(self, blob)

    monkeypatch.setattr(Keyring, "reencrypt", failing)
    with pytest.raises(RuntimeError):
        run_rotation(db, storage_dir, batch_size=10)
    # No row is half under the new key: the batch in progress was rolled back.
    rows_moved = {(t, pk) for (t, _, pk), blob in raw_values(db).items() if blob[1:5] == id_b}
    assert rows_moved == set()

    monkeypatch.setattr(Keyring, "reencrypt", real)
    run_rotation(db, storage_dir, batch_size=10)
    assert key_ids(raw_values(db).values()) == {id_b}


def test_a_crash_while_replacing_a_scan_leaves_the_old_file_whole(
    db, casefile, keys, storage_dir, monkeypatch
):
    key_a, key_b = keys
    before = plaintexts(db)
    files_before = raw_files(storage_dir)
    crypto.configure(f"{key_b},{key_a}")

    def crash(src, dst):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr("kimdb.consent.storage.os.replace", crash)
        with pytest.raises(OSError):
            run_rotation(db, storage_dir)
    assert raw_files(storage_dir) == files_before  # no half file, no temporary file left

    run_rotation(db, storage_dir)
    crypto.configure(key_b)
    assert plaintexts(db) == before


def test_running_it_twice_is_a_no_op_the_second_time(db, casefile, keys, storage_dir):
    key_a, key_b = keys
    crypto.configure(f"{key_b},{key_a}")
    first = run_rotation(db, storage_dir)
    values, files = raw_values(db), raw_files(storage_dir)

    second = run_rotation(db, storage_dir)
    assert (second.rows_reencrypted, second.files_reencrypted) == (0, 0)
    assert second.rows_skipped == first.rows_reencrypted and second.files_skipped == 2
    assert raw_values(db) == values and raw_files(storage_dir) == files


def test_check_and_dry_run_say_what_is_left_and_when_the_old_key_can_go(
    db, casefile, keys, storage_dir, data_app
):
    key_a, key_b = keys
    crypto.configure(f"{key_b},{key_a}")
    values = raw_values(db)
    cli = data_app.test_cli_runner()

    dry = cli.invoke(args=["kimdb", "rotate-keys", "--dry-run"])
    assert dry.exit_code == 0 and "nothing was changed" in dry.output
    assert "clients: 2 of 2 rows" in dry.output and "scan files: 2 of 2" in dry.output
    assert raw_values(db) == values

    check = cli.invoke(args=["kimdb", "rotate-keys", "--check"])
    assert check.exit_code == 1 and "not under the newest key yet" in check.output
    assert "can be removed" not in check.output

    done = cli.invoke(args=["kimdb", "rotate-keys", "--batch-size", "1"])
    assert done.exit_code == 0, done.output
    assert "re-encrypted" in done.output and "rows/s" in done.output
    old_id = Keyring(key_a).current_id.hex()
    assert f"key 2 ({old_id}) is no longer used and can be removed" in done.output

    check = cli.invoke(args=["kimdb", "rotate-keys", "--check"])
    assert check.exit_code == 0 and "every ciphertext uses the newest key" in check.output


def test_a_scan_held_for_a_registration_is_rotated_too(db, keys, storage_dir, data_app):
    key_a, key_b = keys
    held = ScanStorage(str(storage_dir / "pending"))
    key = held.put(b"%PDF-1.4 held scan %%EOF")
    crypto.configure(f"{key_b},{key_a}")
    result = run_rotation(db, storage_dir)
    assert result.files_reencrypted == 1
    crypto.configure(key_b)
    assert held.get(key) == b"%PDF-1.4 held scan %%EOF"


def test_start_up_names_the_key_variable_when_no_key_or_a_bad_key_is_set(monkeypatch, keys):
    from kimdb import ConfigurationError

    monkeypatch.delenv("KIMDB_ENCRYPTION_KEYS")
    with pytest.raises(
        ConfigurationError, match="KIMDB_ENCRYPTION_KEYS or KIMDB_ENCRYPTION_KEYS_F"
    ):
        create_app("testing")
    monkeypatch.setenv("KIMDB_ENCRYPTION_KEYS", generate_key() + ",short")
    with pytest.raises(ConfigurationError, match="key 2 of KIMDB_ENCRYPTION_KEYS"):
        create_app("testing")
    monkeypatch.setenv("KIMDB_ENCRYPTION_KEY", generate_key())
    with pytest.raises(ConfigurationError, match="only one of"):
        create_app("testing")
