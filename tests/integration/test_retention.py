"""Retention (issue 6 item 5): ``flask kimdb purge`` erases clients whose cases were closed more
than KIMDB_RETENTION_DAYS ago, shows them with --dry-run, and finds nothing on a second run."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kimdb.cases import service as cases_service
from kimdb.cases.models import Case, Note, NoteKind
from kimdb.cases.rules import CaseKind, ClosureReason
from kimdb.clients.models import Client
from kimdb.consent.models import Consent
from kimdb.privacy import service
from kimdb.timeutil import now, today
from tests.factories import count_rows as count
from tests.factories import make_client, make_user
from tests.integration.test_withdrawal import storage_files

KB = CaseKind.SHORT_COUNSELLING


def closed_case(db, owner, family: str, days_ago: int) -> Case:
    """A client with a KB case (with a note) closed ``days_ago`` days ago."""
    from kimdb.cases import casework

    person = make_client(owner, given="Test", family=family)
    case = cases_service.open_case(person, KB, owner)
    casework.write_note(case, NoteKind.INTERNAL, today(), f"Vermerk zu {family}", owner)
    cases_service.close_case(case, today(), ClosureReason.CONTACT_BROKE_OFF, "", owner)
    day = today() - dt.timedelta(days=days_ago)
    db.session.execute(update(Case).where(Case.id == case.id).values(opened_on=day, closed_on=day))
    db.session.commit()
    return case


@pytest.fixture()
def people(db):
    """Clients: closed long ago, closed recently, closed long ago but with an open case now,
    registered long ago without a case, registered recently without a case."""
    owner = make_user("cm.owner")
    old = closed_case(db, owner, "Alt", 1200)
    boundary = closed_case(db, owner, "Grenze", 1095)  # exactly the period: kept one more day
    recent = closed_case(db, owner, "Neu", 30)
    reopened = closed_case(db, owner, "Offen", 1200)
    cases_service.open_case(db.session.get(Client, reopened.client_id), KB, owner)
    caseless_old = make_client(owner, given="Test", family="Ohnefall")
    db.session.execute(
        update(Client)
        .where(Client.id == caseless_old.id)
        .values(registered_at=now() - dt.timedelta(days=1200))
    )
    caseless_new = make_client(owner, given="Test", family="Frisch")
    db.session.commit()
    return {
        "old": old.client_id,
        "boundary": boundary.client_id,
        "recent": recent.client_id,
        "reopened": reopened.client_id,
        "caseless_old": caseless_old.id,
        "caseless_new": caseless_new.id,
    }


def names(db) -> dict[int, str | None]:
    db.session.expire_all()
    return {c.id: c.family_name for c in db.session.scalars(select(Client))}


def purge(app, *args):
    return app.test_cli_runner().invoke(args=["kimdb", "purge", *args])


def test_dry_run_shows_what_would_go_and_erases_nothing(app, db, people):
    before, files = names(db), storage_files()
    result = purge(app, "--dry-run")
    assert result.exit_code == 0, result.output
    ids = ", ".join(str(i) for i in sorted([people["old"], people["caseless_old"]]))
    assert f"clients would erase: 2 (ids {ids})" in result.output
    assert "cases concerned: 1" in result.output
    assert "scan files to delete: 2" in result.output
    assert names(db) == before and storage_files() == files
    assert count(db, Note) == 4


def test_purge_erases_only_clients_whose_period_is_over_and_a_second_run_finds_nothing(
    app, db, people
):
    keys = {c.id: c.consent.scan_key for c in db.session.scalars(select(Client))}
    result = purge(app)
    assert result.exit_code == 0, result.output
    assert "clients erased: 2" in result.output and "scan files deleted: 2" in result.output
    after = names(db)
    assert after[people["old"]] is None and after[people["caseless_old"]] is None
    for kept in ("boundary", "recent", "reopened", "caseless_new"):
        assert after[people[kept]] is not None, kept
    files = storage_files()
    assert keys[people["old"]] not in files and keys[people["caseless_old"]] not in files
    assert keys[people["recent"]] in files
    erased = db.session.get(Client, people["old"])
    assert erased.erased_at is not None and erased.consent.scan_key is None
    assert erased.consent.withdrawn_at is None  # retention is no withdrawal
    notes = db.session.scalars(select(Note)).all()
    assert len(notes) == 3 and all("Alt" not in n.text for n in notes)
    assert count(db, Case) == 5  # the anonymous remainder stays

    again = purge(app)
    assert again.exit_code == 0
    assert "clients erased: 0" in again.output and "scan files deleted: 0" in again.output
    assert names(db) == after


def test_purge_removes_old_orphan_scan_files_but_not_young_or_referenced_ones(app, db):
    owner = make_user("cm.owner")
    person = make_client(owner)
    root = Path(app.config["STORAGE_DIR"]) / "scans"
    old_orphan = root / "ab" / ("ab" + "0" * 30)
    young_orphan = root / "cd" / ("cd" + "1" * 30)
    for path in (old_orphan, young_orphan):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x01ciphertext")
    past = time.time() - 2 * 86400
    os.utime(old_orphan, (past, past))
    referenced = root / person.consent.scan_key[:2] / person.consent.scan_key
    os.utime(referenced, (past, past))
    result = purge(app, "--dry-run")
    assert "orphan scan files to remove: 1" in result.output and old_orphan.exists()
    result = purge(app)
    assert "orphan scan files removed: 1" in result.output
    assert not old_orphan.exists() and young_orphan.exists() and referenced.exists()
    young_orphan.unlink()
    os.utime(referenced)  # young again: no orphan for later tests once the tables are emptied


def test_a_scan_file_left_after_a_failed_delete_goes_with_the_next_purge(app, db, monkeypatch):
    owner = make_user("cm.owner")
    person = make_client(owner)
    key = person.consent.scan_key

    def fail(self, key):
        raise OSError("disk busy")

    monkeypatch.setattr("kimdb.consent.storage.ScanStorage.delete", fail)
    service.erase_client(person, owner, service.ErasureReason.WITHDRAWAL)
    monkeypatch.undo()
    assert db.session.scalar(select(Consent.scan_key)) is None
    path = Path(app.config["STORAGE_DIR"]) / "scans" / key[:2] / key
    assert path.exists()  # the database is erased; the file is an orphan now
    past = time.time() - 2 * 86400
    os.utime(path, (past, past))
    assert "orphan scan files removed: 0" not in purge(app).output
    assert not path.exists()


def test_purge_removes_scans_held_for_a_registration_that_was_never_finished(app, db):
    with app.app_context():
        from kimdb.clients.service import held_scans, hold_scan

        abandoned, fresh = hold_scan(b"scan of a person never registered"), hold_scan(b"now")
        files = held_scans()
        path = files.root / "scans" / abandoned[:2] / abandoned
        past = time.time() - 60 * (app.config["SESSION_IDLE_MINUTES"] + 1)
        os.utime(path, (past, past))
    result = purge(app)
    assert "held registration scans removed: 1" in result.output
    assert not path.exists()
    assert (files.root / "scans" / fresh[:2] / fresh).exists()
    (files.root / "scans" / fresh[:2] / fresh).unlink()


def test_a_closed_case_of_a_withdrawn_client_cannot_be_reopened(app, db):
    owner = make_user("cm.owner")
    person = make_client(owner)
    case = cases_service.open_case(person, CaseKind.SHORT_COUNSELLING, owner)
    cases_service.close_case(case, today(), ClosureReason.CONTACT_BROKE_OFF, "weggezogen", owner)
    service.withdraw_consent(db.session.get(Client, person.id), owner)
    with pytest.raises(cases_service.RuleViolation):
        cases_service.reopen_case(db.session.get(Case, case.id), "kommt zurück", owner, 90)
    assert db.session.get(Case, case.id).stage.value == "closed"
