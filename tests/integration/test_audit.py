"""The audit log through real requests (issue 6 item 3): every read and write of client data is
recorded once, with who, which client and case, as whose substitute, from which session; the
chain shows tampering; the data protection officer searches it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from kimdb.audit import service as audit_service
from kimdb.audit.models import AuditEntry
from kimdb.audit.rules import is_audited
from kimdb.auth.models import Role, User
from kimdb.cases.models import Need, Note
from kimdb.cases.rules import CaseKind
from kimdb.emergency.models import EmergencyAccess
from kimdb.extensions import transaction
from kimdb.households import service as households_service
from kimdb.orgs.service import ensure_organisation
from kimdb.substitution import service as substitution_service
from kimdb.substitution.models import Substitution
from kimdb.timeutil import now, today
from tests.factories import (
    count_rows,
    csrf_token,
    login,
    make_case,
    make_client,
    make_user,
    post_case_form,
)

KB = CaseKind.SHORT_COUNSELLING


@pytest.fixture()
def world(db):
    """An owner with a case of a client in a household, a substitute covering the owner today,
    a colleague, a supervisor with a running emergency access to the case, an admin and the
    data protection officer of the municipality."""
    owner = make_user("cm.owner")
    substitute = make_user("cm.sub")
    make_user("cm.colleague")
    supervisor = make_user("sv.org", role=Role.SUPERVISOR)
    make_user("admin.kreis", role=Role.ADMIN)
    make_user("dpo.kreis", role=Role.DPO)
    client = make_client(owner)
    case = make_case(owner, KB, client)
    household = households_service.create_household(client, "Familie Test", owner)
    substitution_service.set_substitution(
        supervisor, owner, substitute, today(), today() + dt.timedelta(days=5)
    )
    with transaction() as session:
        access = EmergencyAccess(
            case_id=case.id,
            supervisor_id=supervisor.id,
            owner_id=owner.id,
            reason="Klientin steht ohne Termin vor der Tür, Case Manager krank",
            granted_at=now(),
            expires_at=now() + dt.timedelta(hours=4),
        )
        session.add(access)
    return {
        "owner": owner.id,
        "substitute": substitute.id,
        "supervisor": supervisor.id,
        "client_id": client.id,
        "case_id": case.id,
        "household_id": household.id,
        "access_id": access.id,
    }


def entries(db) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_reading_a_case_page_writes_an_entry_with_client_and_case(app, client, db, world):
    login(client, "cm.owner")
    before = len(entries(db))
    assert client.get(f"/cases/{world['case_id']}").status_code == 200
    new = entries(db)[before:]
    assert len(new) == 1
    entry = new[0]
    assert entry.action == "read:cases.show"
    assert (entry.user_id, entry.client_id, entry.case_id) == (
        world["owner"],
        world["client_id"],
        world["case_id"],
    )
    assert entry.on_behalf_of_id is None
    assert re.fullmatch(r"[0-9a-f]{32}", entry.session_ref)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert entry.session_ref not in cookie and cookie not in (entry.session_ref, entry.detail)
    # The same login keeps its session reference; a new login gets another one.
    client.get(f"/clients/{world['client_id']}")
    assert entries(db)[-1].session_ref == entry.session_ref
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "cm.owner")
    client.get(f"/cases/{world['case_id']}")
    assert entries(db)[-1].session_ref != entry.session_ref


def test_a_substitutes_read_is_marked_on_behalf_of_the_owner(client, db, world):
    login(client, "cm.sub")
    assert client.get(f"/cases/{world['case_id']}").status_code == 200
    entry = entries(db)[-1]
    assert (entry.user_id, entry.on_behalf_of_id, entry.case_id) == (
        world["substitute"],
        world["owner"],
        world["case_id"],
    )
    assert client.get(f"/clients/{world['client_id']}").status_code == 200
    assert entries(db)[-1].on_behalf_of_id == world["owner"]


def test_a_refused_or_missing_page_writes_nothing(client, db, world):
    login(client, "cm.colleague")
    before = len(entries(db))
    assert client.get(f"/cases/{world['case_id']}").status_code == 404
    assert client.get("/cases/999999").status_code == 404
    assert client.get(f"/clients/{world['client_id']}").status_code == 404
    assert len(entries(db)) == before


def test_a_written_note_and_its_entry_commit_together(client, db, world):
    login(client, "cm.owner")
    before = len(entries(db))
    response = post_case_form(
        client,
        world["case_id"],
        "notes",
        "note",
        kind="phone_call",
        noted_on=today().isoformat(),
        text="Termin beim Jobcenter vereinbart",
    )
    assert response.status_code == 302
    new = entries(db)[before:]
    # The case page read for the CSRF token, then the write: one entry each.
    assert [e.action for e in new] == ["read:cases.show", "write:cases.add_note"]
    assert (new[1].client_id, new[1].case_id) == (world["client_id"], world["case_id"])


def test_a_write_that_fails_at_commit_leaves_no_entry(app, client, db, world):
    """The entry is part of the use case's transaction: a commit that fails after it was added
    takes the entry with it."""
    login(client, "cm.owner")
    token = csrf_token(client, f"/cases/{world['case_id']}")
    before = len(entries(db))

    def fail(session):
        # Runs after the audit hook's listener: the entry is in this transaction already.
        written = select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "write:cases.add_note"
        )
        if session.scalar(written):
            raise RuntimeError("disk full")

    event.listen(Session, "before_commit", fail)
    try:
        with pytest.raises(RuntimeError):
            client.post(
                f"/cases/{world['case_id']}/notes",
                data={
                    "note-csrf_token": token,
                    "note-kind": "phone_call",
                    "note-noted_on": today().isoformat(),
                    "note-text": "geht verloren",
                },
            )
    finally:
        event.remove(Session, "before_commit", fail)
    assert count_rows(db, Note) == 0
    assert len(entries(db)) == before


def test_a_refused_third_focus_need_writes_no_entry(client, db, world):
    login(client, "cm.owner")
    for area in ("housing", "work"):
        post_case_form(
            client,
            world["case_id"],
            "needs",
            "need",
            life_area=area,
            description=area,
            in_focus="y",
        )
    before = len(entries(db))
    token = csrf_token(client, f"/cases/{world['case_id']}")
    after_token = len(entries(db))
    response = client.post(
        f"/cases/{world['case_id']}/needs",
        data={
            "need-csrf_token": token,
            "need-life_area": "health",
            "need-description": "Facharzt",
            "need-in_focus": "y",
        },
    )
    assert response.status_code == 422
    assert count_rows(db, Need) == 2
    assert after_token == before + 1  # the read of the page
    assert len(entries(db)) == after_token  # nothing for the refused write


def test_opening_an_emergency_access_records_the_case_it_opened(client, db, world):
    with transaction():
        db.session.get(EmergencyAccess, world["access_id"]).ended_at = now()
        for substitution in db.session.scalars(select(Substitution)):
            substitution.ended_at = now()  # a running substitution refuses emergency access
    login(client, "sv.org")
    number = f"{today().year}-{world['case_id']:06d}"
    response = client.post(
        "/emergency/",
        data={
            "csrf_token": csrf_token(client, "/emergency/"),
            "case_number": number,
            "reason": "Klientin steht vor der Tür, niemand erreichbar",
        },
    )
    assert response.status_code == 302
    entry = [e for e in entries(db) if e.action == "write:emergency.open"][-1]
    assert (entry.user_id, entry.case_id, entry.client_id) == (
        world["supervisor"],
        world["case_id"],
        world["client_id"],
    )
    assert entry.on_behalf_of_id is None


# -- every route of client data -------------------------------------------------------------
# Who gets 200 on a GET route of client data (default: the case owner).
READER_OF = {
    "emergency.index": "sv.org",
    "emergency.show": "sv.org",
    "emergency.log": "dpo.kreis",
    "substitution.takeover": "cm.sub",
}
# GET routes of client data that do not answer 200 in this world, and why. Each must still
# write no entry unless it answers 200 (checked below).
NOT_SHOWN = {
    "privacy.withdrawn": "the page after a withdrawal; redirects while the consent stands",
}


def test_every_client_data_page_writes_one_entry(app, client, db, world):
    """Every GET route of the audited blueprints (and single routes), requested by someone who
    may read it, answers 200 and writes exactly one entry naming its action. A new route
    without audit, or one this test cannot reach, fails here."""
    rules = sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if is_audited(rule.endpoint) and "GET" in rule.methods
        ),
        key=lambda rule: (READER_OF.get(rule.endpoint, "cm.owner"), rule.endpoint),
    )
    assert len(rules) >= 10
    logged_in, wrong = None, []
    for rule in rules:
        reader = READER_OF.get(rule.endpoint, "cm.owner")
        if reader != logged_in:
            if logged_in:
                client.post("/logout", data={"csrf_token": csrf_token(client, "/consent-forms/")})
            assert login(client, reader).status_code == 302
            logged_in = reader
        missing = rule.arguments - world.keys()
        if missing:
            wrong.append(f"{rule.endpoint}: no value for {sorted(missing)} in the test world")
            continue
        url = rule.build({name: world[name] for name in rule.arguments}, append_unknown=False)[1]
        before = len(entries(db))
        response = client.get(url)
        new = entries(db)[before:]
        if rule.endpoint in NOT_SHOWN and response.status_code != 200:
            if new:
                wrong.append(f"{rule.endpoint} {url}: {response.status_code} wrote {len(new)}")
        elif response.status_code != 200:
            wrong.append(f"{rule.endpoint} {url}: {response.status_code} for {reader}")
        elif [e.action for e in new] != [f"read:{rule.endpoint}"]:
            wrong.append(f"{rule.endpoint} {url}: entries {[e.action for e in new]}")
    assert not wrong, "\n".join(wrong)


# -- verification ---------------------------------------------------------------------------
def some_entries(n: int = 4) -> None:
    for i in range(n):
        audit_service.record("read:cases.show", client_id=i + 1, case_id=i + 1, detail=str(i))


def test_verify_passes_on_a_clean_chain(data_app, db):
    some_entries()
    result = data_app.test_cli_runner().invoke(args=["kimdb", "audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 4 entries, chain intact" in result.output


def test_an_entry_altered_in_the_database_is_reported(data_app, db):
    some_entries()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET action='x' WHERE id=2"))
    result = data_app.test_cli_runner().invoke(args=["kimdb", "audit", "verify"])
    assert result.exit_code == 1
    assert "entry 2: entry was altered" in result.output
    assert "OK" not in result.output


def test_an_entry_deleted_in_the_middle_is_reported(data_app, db):
    some_entries()
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE id=2"))
    count, problems = audit_service.verify()
    assert count == 3
    assert [(p.entry_id, p.kind.value) for p in problems] == [(3, "broken_link")]
    result = data_app.test_cli_runner().invoke(args=["kimdb", "audit", "verify"])
    assert result.exit_code == 1 and "entry 3: chain broken" in result.output


def test_entries_cut_from_the_end_are_reported(data_app, db):
    some_entries()
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE id=4"))
    _count, problems = audit_service.verify(batch=2)
    assert [(p.entry_id, p.kind.value) for p in problems] == [(4, "cut")]


def test_a_chain_of_several_batches_verifies(data_app, db):
    some_entries(7)
    assert audit_service.verify(batch=3) == (7, [])


def test_entries_for_client_oldest_first(db):
    some_entries(3)
    audit_service.record("write:privacy.export", client_id=2)
    assert [e.action for e in audit_service.entries_for_client(2)] == [
        "read:cases.show",
        "write:privacy.export",
    ]


# -- the DPO's page -------------------------------------------------------------------------
def test_only_the_dpo_reads_the_audit_page(client, db, world):
    assert client.get("/audit/").status_code == 302  # to the login
    for username in ("cm.owner", "sv.org", "admin.kreis"):
        login(client, username)
        assert client.get("/audit/").status_code == 403, username
        client.post("/logout", data={"csrf_token": csrf_token(client, "/consent-forms/")})
    login(client, "dpo.kreis")
    page = client.get("/audit/")
    assert page.status_code == 200
    assert "Audit-Protokoll" in page.get_data(as_text=True)


def test_dpo_searches_by_user_client_and_case_and_sees_no_names(client, db, world):
    login(client, "cm.owner")
    client.get(f"/cases/{world['case_id']}")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/consent-forms/")})
    login(client, "cm.sub")
    client.get(f"/cases/{world['case_id']}")
    other = make_client(db.session.get(User, world["owner"]), given="Zoe", family="Berg")
    audit_service.record("read:clients.show", user=world["owner"], client_id=other.id)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/consent-forms/")})
    login(client, "dpo.kreis")
    page = client.get("/audit/").get_data(as_text=True)
    assert "Fall angesehen" in page and "Cm.Sub" in page and "Cm.Owner" in page
    assert "Haddad" not in page and "Amina" not in page  # no client names
    by_user = client.get(f"/audit/?user={world['substitute']}").get_data(as_text=True)
    assert "Cm.Sub" in by_user and f"{today().year}-{world['case_id']:06d}" in by_user
    assert by_user.count("<tr>") - 1 == len(
        [e for e in entries(db) if e.user_id == world["substitute"]]
    )
    by_client = client.get(f"/audit/?client={other.id}").get_data(as_text=True)
    assert "1 Eintrag" in by_client and "Klient:in angesehen" in by_client
    by_case = client.get(f"/audit/?case={today().year}-{world['case_id']:06d}")
    assert by_case.status_code == 200 and "Fall angesehen" in by_case.get_data(as_text=True)


def test_dpo_search_counts_up_to_a_limit_and_asks_to_narrow(client, db, world, monkeypatch):
    for _ in range(4):
        audit_service.record("read:clients.show", user=world["owner"], client_id=1)
    monkeypatch.setattr(audit_service, "COUNT_LIMIT", 3)
    login(client, "dpo.kreis")
    page = client.get("/audit/").get_data(as_text=True)
    assert "Mehr als 3 Einträge: bitte die Suche" in page
    assert page.count("<tr>") - 1 >= 4  # the newest page still lists its entries
    narrow = client.get(f"/audit/?user={world['substitute']}").get_data(as_text=True)
    assert "Mehr als" not in narrow


def test_dpo_bad_search_input_is_refused_with_the_input_kept(client, db, world):
    login(client, "dpo.kreis")
    response = client.get("/audit/?date_from=31.02.2026&client=abc&user=99999&case=x-1")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)." in page
    assert 'value="31.02.2026"' in page
    assert "Bitte die Klient:innen-ID als Zahl angeben" in page and 'value="abc"' in page
    assert "Diese Benutzer:in gibt es in Ihrem Bereich nicht." in page
    assert "Bitte eine Fallnummer wie 2026-000123 angeben." in page
    backwards = client.get("/audit/?date_from=2026-03-02&date_to=2026-03-01")
    assert backwards.status_code == 422
    assert "Das Ende darf nicht vor dem Anfang liegen." in backwards.get_data(as_text=True)


def test_dpo_sees_only_entries_of_their_municipality(client, db, world):
    far = ensure_organisation("KI Fernkreis", "Kreis Fernkreis", "integration_centre")
    stranger = make_user("cm.far")
    with transaction():
        stranger.organisation_id = far.id
    audit_service.record("read:cases.show", user=stranger.id, case_id=1, detail="weit weg")
    audit_service.record("write:privacy.purge", detail="system")
    login(client, "dpo.kreis")
    page = client.get("/audit/").get_data(as_text=True)
    assert "weit weg" not in page
    assert "System" in page


def test_the_case_managers_start_page_with_client_names_is_recorded(client, db):
    from kimdb.audit.models import AuditEntry
    from tests.factories import login, make_case, make_user

    anna = make_user("cm.start")
    make_case(anna)
    login(client, "cm.start")
    assert client.get("/").status_code == 200
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "read:caseload.start"))
    assert entry.user_id == anna.id and entry.detail == "1 Fälle"
