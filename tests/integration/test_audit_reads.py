"""The read entries of the audit log at the cost of a daily page (issue 8 item 3): committed
without waiting for the WAL flush on PostgreSQL (unless configured otherwise), the case page's
entry filled from the case the view loaded, and the substitutions of a case manager read once
per request by the need-to-know conditions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from kimdb.audit import service as audit_service
from kimdb.audit.models import AuditEntry
from kimdb.auth import policy
from kimdb.auth.models import Role, User
from kimdb.cases.models import Case
from kimdb.cases.rules import CaseKind
from kimdb.substitution import service as substitution_service
from kimdb.substitution.models import Substitution
from kimdb.timeutil import today
from tests.factories import login, make_case, make_client, make_user, post_case_form

# The statement that locks the chain's head also switches the synchronous commit off (the
# function form of ``SET LOCAL synchronous_commit = off``).
ASYNC = "set_config('synchronous_commit', 'off', true)"


def asynchronous_commits(texts: list[str]) -> int:
    """Return how many of the statements ``texts`` switch the synchronous commit off."""
    return sum(ASYNC in text for text in texts)


@pytest.fixture()
def world(db):
    """An owner with a case, a substitute covering the owner from today, their supervisor."""
    owner = make_user("cm.owner")
    substitute = make_user("cm.sub")
    supervisor = make_user("sv.org", role=Role.SUPERVISOR)
    case = make_case(owner, CaseKind.SHORT_COUNSELLING, make_client(owner))
    substitution_service.set_substitution(
        supervisor, owner, substitute, today(), today() + dt.timedelta(days=5)
    )
    return {"owner": owner.id, "substitute": substitute.id, "case_id": case.id}


class Statements:
    """Every statement sent to any database while the block runs."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def _record(self, _conn, _cursor, statement, *_args) -> None:
        self.texts.append(" ".join(statement.split()))

    def __enter__(self) -> Statements:
        event.listen(Engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(Engine, "before_cursor_execute", self._record)


def newest_entry(db) -> AuditEntry:
    db.session.expire_all()
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()


def test_a_read_entry_commits_asynchronously_on_postgresql_only(app, client, db, world):
    login(client, "cm.owner")
    # The first entry after another test emptied the log recreates the chain's head.
    assert client.get(f"/cases/{world['case_id']}").status_code == 200
    with Statements() as sent:
        assert client.get(f"/cases/{world['case_id']}").status_code == 200
    assert newest_entry(db).action == "read:cases.show"
    expected = 1 if db.engine.dialect.name == "postgresql" else 0
    assert asynchronous_commits(sent.texts) == expected
    assert audit_service.verify()[1] == []


def test_read_entries_commit_synchronously_when_configured(app, client, db, world):
    login(client, "cm.owner")
    app.config["AUDIT_SYNCHRONOUS_READS"] = True
    try:
        with Statements() as sent:
            assert client.get(f"/cases/{world['case_id']}").status_code == 200
    finally:
        app.config["AUDIT_SYNCHRONOUS_READS"] = False
    assert newest_entry(db).action == "read:cases.show"
    assert asynchronous_commits(sent.texts) == 0


def test_a_read_entry_takes_one_statement_on_postgresql(app, client, db, world):
    """Lock the head (switching the synchronous commit off), insert the entry hashed in the
    database and move the head, all in one statement; SQLite takes the write lock, reads the
    head, inserts and moves separately. The chain verifies in Python either way."""
    login(client, "cm.owner")
    assert client.get(f"/cases/{world['case_id']}").status_code == 200
    with Statements() as sent:
        assert client.get(f"/cases/{world['case_id']}").status_code == 200
    audit = [s for s in sent.texts if "audit_" in s]
    assert len(audit) == (1 if db.engine.dialect.name == "postgresql" else 4), audit
    assert newest_entry(db).action == "read:cases.show"
    assert audit_service.verify()[1] == []


def test_a_write_entry_commits_synchronously_with_its_write(client, db, world):
    login(client, "cm.owner")
    # The first entry after another test emptied the log recreates the chain's head.
    assert client.get(f"/cases/{world['case_id']}").status_code == 200
    with Statements() as sent:
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
    assert newest_entry(db).action == "write:cases.add_note"
    # post_case_form reads the case page first (one read entry); the write adds none.
    expected = 1 if db.engine.dialect.name == "postgresql" else 0
    assert asynchronous_commits(sent.texts) == expected
    assert audit_service.verify()[1] == []


def test_a_substitutes_case_page_entry_names_the_owner_without_a_query_of_its_own(
    client, db, world
):
    login(client, "cm.sub")
    with Statements() as sent:
        assert client.get(f"/cases/{world['case_id']}").status_code == 200
    entry = newest_entry(db)
    assert (entry.user_id, entry.on_behalf_of_id, entry.case_id) == (
        world["substitute"],
        world["owner"],
        world["case_id"],
    )
    assert entry.client_id is not None
    case_reads = [s for s in sent.texts if s.startswith("SELECT cases.")]
    assert len(case_reads) == 1, case_reads  # get_case only, the entry reuses its case
    substitution_reads = [s for s in sent.texts if s.startswith("SELECT substitutions.")]
    assert len(substitution_reads) == 1, substitution_reads  # once, however many conditions


def test_substituted_owner_ids_are_read_again_when_a_substitution_ends(db, world):
    sub = db.session.get(User, world["substitute"])
    supervisor = db.session.scalars(select(User).where(User.username == "sv.org")).one()
    assert policy.substituted_owner_ids(sub) == (world["owner"],)
    visible = select(Case.id).where(policy.case_visible(sub))
    assert db.session.scalars(visible).all() == [world["case_id"]]
    substitution = db.session.scalars(select(Substitution)).one()
    substitution_service.end_substitution(supervisor, substitution)
    assert policy.substituted_owner_ids(sub) == ()
    assert db.session.scalars(select(Case.id).where(policy.case_visible(sub))).all() == []
    # On a day outside the period the owner is not substituted either.
    later = today() + dt.timedelta(days=30)
    assert policy.substituted_owner_ids(sub, later) == ()


def test_a_case_manager_who_substitutes_no_one_needs_no_query_of_substitutions(client, db, world):
    """The user's own statement says whether they substitute anyone today (issue 8)."""
    login(client, "cm.owner")
    assert client.get("/cases/?include_closed=y").status_code == 200
    with Statements() as sent:
        assert client.get("/cases/?include_closed=y").status_code == 200
    assert not [s for s in sent.texts if s.startswith("SELECT substitutions.")]


def test_a_substitution_written_after_the_user_was_loaded_counts_at_once(app, db):
    from kimdb.auth import service as auth_service
    from kimdb.extensions import db as database

    owner_id = make_user("cm.absent").id
    newcomer = make_user("cm.newcomer")
    session_id = newcomer.get_id()
    supervisor_id = make_user("sv.lead", role=Role.SUPERVISOR).id
    with app.app_context():  # a request of its own: its own session and flask.g
        user = auth_service.load_user(session_id)
        assert user.substitutes is False
        with Statements() as sent:
            assert policy.substituted_owner_ids(user) == ()
        assert sent.texts == []  # known from the user's own statement
        substitution_service.set_substitution(
            database.session.get(User, supervisor_id),
            database.session.get(User, owner_id),
            user,
            today(),
            today() + dt.timedelta(days=3),
        )
        assert policy.substituted_owner_ids(user) == (owner_id,)


def test_the_statement_that_loads_the_user_of_a_request_is_built_once_a_day(app, db):
    """Building it (two subqueries) and its cache key anew cost about 1 ms per request."""
    from kimdb.auth.service import _request_user_query

    assert _request_user_query(today()) is _request_user_query(today())


def test_concurrent_entries_chain_one_after_the_other(app, db):
    """Entries appended at once from several connections (as from several gunicorn workers)
    queue at the head: every entry is kept, and the chain verifies (on PostgreSQL the hash is
    computed in the appending statement; texts with quotes, backslashes and umlauts included)."""
    import threading

    db.session.execute(AuditEntry.__table__.delete())
    db.session.commit()
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def append_some(worker: int) -> None:
        try:
            with app.app_context():
                start.wait(10)
                for n in range(15):
                    audit_service.append_read(
                        "read:cases.show",
                        case_id=worker * 100 + n,
                        detail=f'Grüße "{worker}" \\ {n} – ß',
                        session_ref=None if n % 2 else f"s{worker}",
                    )
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=append_some, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    db.session.rollback()
    checked, problems = audit_service.verify()
    assert (checked, problems) == (60, [])
    details = db.session.scalars(select(AuditEntry.detail).order_by(AuditEntry.id)).all()
    assert 'Grüße "3" \\ 14 – ß' in details


TRICKY_TEXTS = [
    'quote " and \\ backslash',
    "single ' quote; -- comment",
    "newline\n tab\t cr\r bell\x07 \x01 \x1f del\x7f",
    "line sep \u2028 para \u2029",
    "emoji 😀 astral 𝄞",
    "umlaut Grüße ß é (NFD e\u0301)",
    "%(name)s %s %% :x ?",
    "x" * 199 + "😀" + "tail beyond 200",
    "",
    "</script><b>",
    "\ufeff bom",
]


def test_entries_with_any_text_verify(app, db):
    # On PostgreSQL the database hashes what Python serialised: both must agree for any text.
    for i, detail in enumerate(TRICKY_TEXTS):
        audit_service.append_read('read:Ünïcode"\\', case_id=i, detail=detail, session_ref=f's"{i}')
    with db.session.begin():
        audit_service.append(db.session(), "write:x", detail='w"\\ü')
    checked, problems = audit_service.verify()
    assert problems == []
    assert checked >= len(TRICKY_TEXTS) + 1


def test_a_read_entry_really_switches_the_synchronous_commit_off(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's synchronous_commit")
    from sqlalchemy import text

    session = db.session()
    session.rollback()
    audit_service.append(session, "read:y", asynchronous=True)
    assert session.execute(text("SHOW synchronous_commit")).scalar() == "off"
    session.commit()
    audit_service.append(session, "write:y")
    assert session.execute(text("SHOW synchronous_commit")).scalar() == "on"
    session.commit()


def test_a_writer_waits_for_the_head_and_chains_onto_the_newer_entry(app, db):
    """Transaction A holds the head with two entries; B's append waits, then chains onto A's
    last entry (PostgreSQL re-reads the locked row once A commits)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks")
    import threading
    import time

    from sqlalchemy.orm import Session

    db.session.execute(AuditEntry.__table__.delete())
    db.session.commit()
    audit_service.append_read("read:first")
    first = Session(db.engine)
    audit_service.append(first, "write:a1")
    audit_service.append(first, "write:a2")
    result: dict = {}

    def second() -> None:
        with app.app_context(), Session(db.engine) as other:
            try:
                result["id"] = audit_service.append(other, "write:b")
                other.commit()
            except BaseException as error:  # noqa: BLE001 - reported by the test
                result["error"] = error

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()  # waits for the head
    first.commit()
    first.close()
    thread.join(10)
    assert "error" not in result and result["id"] is not None
    db.session.rollback()
    checked, problems = audit_service.verify()
    assert problems == []
    assert checked == 4
