"""Use cases of the audit log: append an entry to the chain, verify the chain, search it (DPO),
and list a client's entries (Art. 15 export).

Entries are only ever appended: there is no function (and no route) that changes or deletes one
(issue 6 item 3). Source: issue 6 item 3; DESIGN.md §4; GDPR Art. 5(2), Art. 15, Art. 32.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

from flask import current_app, g, has_request_context
from sqlalchemy import (
    Text,
    bindparam,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from kimdb.audit import rules
from kimdb.audit.models import AuditEntry, AuditHead
from kimdb.auth.models import Role, User
from kimdb.extensions import db, transaction
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation, page_window
from kimdb.timeutil import LOCAL_ZONE, now

HEAD_ID = 1
VERIFY_BATCH = 2000
PAGE_SIZE = 50
_WROTE = "kimdb_audit_wrote"  # session.info key: this transaction has flushed changes


class NotAllowed(RuleViolation):
    """Only the data protection officer reads the audit log (views answer 403)."""


# -- is a write under way? ----------------------------------------------------------------------
@event.listens_for(Session, "after_flush")
def _mark_written(session: Session, _context) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_statement_written(state) -> None:
    """An UPDATE, DELETE or INSERT run through ``session.execute`` (a bulk or conditional
    write, e.g. the withdrawal's ``UPDATE consents ... WHERE withdrawn_at IS NULL``) leaves
    nothing pending and may flush nothing: mark the transaction as written too, so the
    entry of that use case joins it instead of committing it early."""
    if state.is_update or state.is_delete or state.is_insert:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _clear_written(session: Session) -> None:
    session.info.pop(_WROTE, None)


def writing(session: Session) -> bool:
    """True if ``session``'s transaction holds changes of a use case (pending or flushed), i.e.
    an entry added now commits (or rolls back) together with them."""
    return bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE))


# -- appending ----------------------------------------------------------------------------------
_HEAD = AuditHead.__table__
_ENTRIES = AuditEntry.__table__
# The statements of ``append``, built once: a statement built anew for every entry cost about
# a fifth of the entry's time in building it and computing its cache key (issue 8, profiled).
_READ_HEAD = select(_HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ID).with_for_update()
_TAKE_WRITE_LOCK = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(id=_HEAD.c.id)
_ENTRY_COLUMNS = (
    "at",
    "user_id",
    "on_behalf_of_id",
    "session_ref",
    "action",
    "client_id",
    "case_id",
    "detail",
    "prev_hash",
    "hash",
)
_INSERT_ENTRY = (
    insert(_ENTRIES)
    .values({name: bindparam(name) for name in _ENTRY_COLUMNS})
    .returning(_ENTRIES.c.id)
)
# PostgreSQL: lock and read the head, insert the entry with its hash (the head's hash and
# ``rules.canonical_tail``, SHA-256 in the database) and move the head to it, in ONE statement:
# one round trip instead of two, and the head stays locked one round trip less (issue 8).
_APPEND_ON_POSTGRESQL = """
WITH head AS MATERIALIZED (
    SELECT last_hash{asynchronous} FROM audit_head WHERE id = :head_id FOR UPDATE
), entry AS (
    INSERT INTO audit_entries
        (at, user_id, on_behalf_of_id, session_ref, action, client_id, case_id, detail,
         prev_hash, hash)
    SELECT :at, :user_id, :on_behalf_of_id, :session_ref, :action, :client_id, :case_id,
           :detail, head.last_hash,
           encode(sha256(convert_to('["' || head.last_hash || '",' || :tail, 'UTF8')), 'hex')
      FROM head
    RETURNING id, hash
)
UPDATE audit_head SET last_entry_id = entry.id, last_hash = entry.hash
  FROM entry
 WHERE audit_head.id = :head_id
RETURNING audit_head.last_entry_id
"""
_APPEND_PARAMETERS = [
    bindparam("head_id", type_=_HEAD.c.id.type),
    *(bindparam(name, type_=_ENTRIES.c[name].type) for name in _ENTRY_COLUMNS[:8]),
    bindparam("tail", type_=Text()),
]
_APPEND_AND_MOVE_HEAD = {
    asynchronous: text(
        _APPEND_ON_POSTGRESQL.format(
            asynchronous=", set_config('synchronous_commit', 'off', true)" if asynchronous else ""
        )
    ).bindparams(*_APPEND_PARAMETERS)
    for asynchronous in (False, True)
}
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(last_entry_id=bindparam("entry_id"), last_hash=bindparam("hash"))
)


def _lock_head(session: Session) -> str:
    """Return the chain's last hash, with the head row locked until the end of the transaction,
    so that concurrent writers append one after the other. PostgreSQL: ``SELECT ... FOR
    UPDATE``; SQLite has no row locks, so a no-op UPDATE takes the database's write lock before
    the head is read (otherwise two readers could both try to upgrade and one would fail).
    Creates the head if it is missing.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(_TAKE_WRITE_LOCK)
    row = session.execute(_READ_HEAD).first()
    if row is None:
        # The migration writes the head; it is recreated only for an emptied table (tests). A
        # restarted chain next to old entries shows as a broken link in ``verify``.
        # IntegrityError: another writer created it at the same moment; read theirs.
        with contextlib.suppress(IntegrityError), session.begin_nested():
            session.execute(
                insert(_HEAD).values(id=HEAD_ID, last_entry_id=None, last_hash=rules.GENESIS_HASH)
            )
        row = session.execute(_READ_HEAD).first()
    return row.last_hash


@dataclass(frozen=True)
class _Fields:
    """The fields of a new entry, as ``rules.entry_hash`` reads them."""

    at: dt.datetime
    user_id: int | None
    on_behalf_of_id: int | None
    session_ref: str | None
    action: str
    client_id: int | None
    case_id: int | None
    detail: str


def append(
    session: Session,
    action: str,
    *,
    user_id: int | None = None,
    client_id: int | None = None,
    case_id: int | None = None,
    on_behalf_of_id: int | None = None,
    detail: str = "",
    session_ref: str | None = None,
    asynchronous: bool = False,
) -> int:
    """Append one entry to the chain in ``session``'s current transaction and return its id.
    Does not commit. Locks the head row until the transaction ends. ``asynchronous``: see
    ``append_read``.

    One statement on PostgreSQL (``_APPEND_ON_POSTGRESQL``: lock and read the head, insert the
    entry hashed in the database from ``rules.canonical_tail``, move the head), three on SQLite
    (lock, insert with the hash computed here, move the head); plain Core statements: an entry
    is never read back, so it needs no ORM object (issue 8, fixed cost per page).
    """
    fields = _Fields(
        at=now(),
        user_id=user_id,
        on_behalf_of_id=on_behalf_of_id,
        session_ref=session_ref,
        action=action[: rules.ACTION_LENGTH],
        client_id=client_id,
        case_id=case_id,
        detail=(detail or "")[: rules.DETAIL_LENGTH],
    )
    if session.get_bind().dialect.name == "postgresql":
        values = {**vars(fields), "head_id": HEAD_ID, "tail": rules.canonical_tail(fields)}
        statement = _APPEND_AND_MOVE_HEAD[asynchronous]
        connection = session.connection()  # Core: no ORM execution around a plain statement
        entry_id = connection.scalar(statement, values)
        if entry_id is None:  # no head row (an emptied table, tests): create it, append again
            _lock_head(session)
            entry_id = connection.scalar(statement, values)
        return entry_id
    prev_hash = _lock_head(session)
    entry_hash = rules.entry_hash(prev_hash, fields)
    values = {**vars(fields), "prev_hash": prev_hash, "hash": entry_hash}
    entry_id = session.scalar(_INSERT_ENTRY, values)
    session.execute(_MOVE_HEAD, {"entry_id": entry_id, "hash": entry_hash})
    return entry_id


def record(
    action: str,
    *,
    user: User | int | None = None,
    client_id: int | None = None,
    case_id: int | None = None,
    on_behalf_of_id: int | None = None,
    detail: str = "",
    session_ref: str | None = None,
) -> int:
    """Record one read or write of client data and return the entry's id.

    ``action`` like ``"write:privacy.withdraw"`` (at most 60 characters); ``user`` the acting
    user (a User or its id; None for the system, e.g. a cron purge); ``on_behalf_of_id`` the
    case owner when ``user`` acts as substitute; ``detail`` at most 200 characters and never
    personal data; ``session_ref`` see ``rules.session_ref``.

    Inside a use case that has already written (pending or flushed changes in ``db.session``),
    the entry joins that transaction: it commits with the use case and rolls back with it, so
    call ``record`` after the use case's first write. Otherwise (a read) the entry is committed
    at once in a small transaction of its own, without expiring what the session has loaded.
    Within a request, an explicit call replaces the entry the request hook would write (one
    entry per request).
    """
    user_id = user.id if isinstance(user, User) else user
    session = db.session()
    fields = dict(
        user_id=user_id,
        client_id=client_id,
        case_id=case_id,
        on_behalf_of_id=on_behalf_of_id,
        detail=detail,
        session_ref=session_ref,
    )
    if has_request_context():
        g.audit_recorded = True
    if writing(session):
        return append(session, action, **fields)
    return append_read(action, **fields)


def append_read(action: str, **fields) -> int:
    """Append the entry of a read (``fields`` as for ``append``) in a small transaction of its
    own, commit it and return its id. What the session has loaded stays loaded.

    On PostgreSQL the transaction commits with ``synchronous_commit`` off (``SET LOCAL``, set
    by the statement that locks the head): the request does not wait for the WAL flush (about
    10 ms a page). The risk: if the database
    server crashes (not the application; a clean shutdown flushes), the read entries of the
    last fraction of a second (at most three times ``wal_writer_delay``, 0.6 s by default)
    can be lost. The chain stays valid, because lost entries are always the newest (the head
    row is written in the same transaction and is lost with them). Entries of writes never
    take this path: they commit inside the write's own transaction, synchronously. The
    setting ``AUDIT_SYNCHRONOUS_READS`` (``KIMDB_AUDIT_SYNCHRONOUS_READS``) true makes read
    entries synchronous as well. SQLite commits as always. Source: issue 8 item 3; GDPR
    Art. 5(2), Art. 32 (the log of reads is kept; a crash window is documented, not hidden).
    """
    session = db.session()
    # The use case wrote nothing, so nothing loaded can be stale for it; expiring it would
    # make the page that is still being rendered load every row again (one statement per
    # row: N+1, issue 8 item 3).
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        with transaction() as tx:
            asynchronous = tx.get_bind().dialect.name == "postgresql" and not (
                current_app.config.get("AUDIT_SYNCHRONOUS_READS", False)
            )
            return append(tx, action, asynchronous=asynchronous, **fields)
    finally:
        session.expire_on_commit = keep


# -- verifying ------------------------------------------------------------------------------------
def verify(batch: int = VERIFY_BATCH) -> tuple[int, list[rules.Problem]]:
    """Check the whole chain: stream every entry in id order, ``batch`` rows per query, then
    compare with the head. Returns (number of entries checked, problems); no problems means the
    chain is intact. Entries appended while it runs are checked too."""
    table = AuditEntry.__table__
    names = ("id", "at", "user_id", "on_behalf_of_id", "session_ref", "action", "client_id")
    columns = [table.c[name] for name in (*names, "case_id", "detail", "prev_hash", "hash")]
    verifier = rules.ChainVerifier()
    session = db.session
    last_id = 0
    for _round in range(10):  # catch up with writers a few times, then judge
        while True:
            rows = session.execute(
                select(*columns).where(table.c.id > last_id).order_by(table.c.id).limit(batch)
            ).all()
            for row in rows:
                verifier.feed(row)
            if rows:
                last_id = rows[-1].id
            if len(rows) < batch:
                break
        head = session.execute(
            select(AuditHead.last_entry_id, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)
        ).first()
        session.rollback()  # end the read transaction: the next round sees new commits
        if head is None or head.last_entry_id is None or head.last_entry_id <= last_id:
            break
    if head is None:
        return verifier.count, verifier.finish(None, None)
    return verifier.count, verifier.finish(head.last_entry_id, head.last_hash)


# -- reading (DPO, Art. 15) -----------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One entry as the DPO's page shows it: no client data beyond ids and the case number."""

    id: int
    at: dt.datetime
    user_name: str | None
    on_behalf_of_name: str | None
    action: str
    label: str
    client_id: int | None
    case_id: int | None
    case_number: str | None
    session_ref: str | None
    detail: str


@dataclass(frozen=True)
class AuditPage:
    """One page of search results, newest first."""

    rows: list[Row]
    page: int
    pages: int
    total: int  # at most COUNT_LIMIT (see ``capped``)
    capped: bool = False  # more than COUNT_LIMIT entries match: narrow the search


#: The search counts matching entries up to this many (issue 8: counting all ten million
#: entries of a statewide log took 2.4–6.3 s; the capped count 3 ms). Pages beyond it are not
#: offered: narrow the search by user, client, case or days instead.
COUNT_LIMIT = 10_000


def municipality_users(dpo: User) -> list[User]:
    """Return the users of organisations in ``dpo``'s municipality, by display name (the choice
    of the DPO's search form)."""
    from kimdb.orgs.models import Organisation

    return list(
        db.session.scalars(
            select(User)
            .join(Organisation, User.organisation_id == Organisation.id)
            .where(Organisation.municipality_id == _municipality_of(dpo))
            .order_by(User.display_name, User.username)
        )
    )


def _municipality_of(dpo: User):
    from kimdb.orgs.models import Organisation

    return (
        select(Organisation.municipality_id)
        .where(Organisation.id == dpo.organisation_id)
        .scalar_subquery()
    )


def _visible(dpo: User):
    """SQL condition on AuditEntry: entries of users in ``dpo``'s municipality, and system
    entries (no user)."""
    from kimdb.orgs.models import Organisation

    users = (
        select(User.id)
        .join(Organisation, User.organisation_id == Organisation.id)
        .where(Organisation.municipality_id == _municipality_of(dpo))
    )
    return or_(AuditEntry.user_id.is_(None), AuditEntry.user_id.in_(users))


def local_day_start(day: dt.date) -> dt.datetime:
    """Return the first moment (UTC) of the Berlin calendar day ``day``."""
    return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)


def search(
    dpo: User,
    *,
    user_id: int | None = None,
    client_id: int | None = None,
    case_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> AuditPage:
    """Return page ``page`` (1-based, clamped) of the entries the data protection officer
    ``dpo`` may read (users of their municipality and system entries), newest first, filtered
    by acting user, client id, case id and Berlin days ``date_from``..``date_to`` (inclusive).
    Matches are counted up to ``COUNT_LIMIT`` (``AuditPage.capped`` says there are more).

    Raises NotAllowed for anyone but the DPO. Source: issue 6 item 3; GDPR Art. 39.
    """

    from kimdb.cases.models import Case, case_number

    if dpo.role is not Role.DPO:
        raise NotAllowed(_l("Nur die Datenschutzbeauftragte kann das Audit-Protokoll lesen."))
    conditions = [_visible(dpo)]
    if user_id is not None:
        conditions.append(AuditEntry.user_id == user_id)
    if client_id is not None:
        conditions.append(AuditEntry.client_id == client_id)
    if case_id is not None:
        conditions.append(AuditEntry.case_id == case_id)
    if date_from is not None:
        conditions.append(AuditEntry.at >= local_day_start(date_from))
    if date_to is not None:
        conditions.append(AuditEntry.at < local_day_start(date_to + dt.timedelta(days=1)))
    matching = select(AuditEntry.id).where(*conditions).limit(COUNT_LIMIT + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(matching))
    capped = total > COUNT_LIMIT
    total = min(total, COUNT_LIMIT)
    page, pages = page_window(total, page, page_size)
    actor, owner = aliased(User), aliased(User)
    result = db.session.execute(
        select(
            AuditEntry,
            actor.display_name,
            owner.display_name,
            Case.opened_on,
        )
        .outerjoin(actor, actor.id == AuditEntry.user_id)
        .outerjoin(owner, owner.id == AuditEntry.on_behalf_of_id)
        .outerjoin(Case, Case.id == AuditEntry.case_id)
        .where(*conditions)
        .order_by(AuditEntry.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    rows = [
        Row(
            id=entry.id,
            at=entry.at,
            user_name=actor_name,
            on_behalf_of_name=owner_name,
            action=entry.action,
            label=rules.action_label(entry.action),
            client_id=entry.client_id,
            case_id=entry.case_id,
            case_number=(case_number(opened_on, entry.case_id) if opened_on is not None else None),
            session_ref=entry.session_ref,
            detail=entry.detail,
        )
        for entry, actor_name, owner_name, opened_on in result
    ]
    return AuditPage(rows=rows, page=page, pages=pages, total=total, capped=capped)


def entries_for_client(client_id: int) -> list[AuditEntry]:
    """Return every entry about client ``client_id``, oldest first (who accessed their data
    when; GDPR Art. 15(1)(c) for the export). Entries of the client's cases that were written
    without the client id (none by the request hook) are not included."""
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.client_id == client_id).order_by(AuditEntry.id)
        )
    )
