"""Audit entries, chained by hash (issue 6 item 3; DESIGN.md §4; GDPR Art. 5(2), Art. 32)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kimdb.extensions import db


class AuditEntry(db.Model):
    """One read or write of client data: who (``user_id``, as substitute for
    ``on_behalf_of_id``), when, which client or case, what ``action``, from which session
    (``session_ref``, a hash of the session, never the cookie). ``detail`` holds no personal
    data (e.g. "page 2", "3 results").

    ``hash`` is SHA-256 over ``prev_hash`` and the entry's fields, so an entry changed or
    removed in the database breaks the chain (``flask kimdb audit verify``). ``client_id`` and
    ``case_id`` carry no foreign key: the log outlives erasure and never blocks it.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_client_at", "client_id", "at"),
        Index("ix_audit_entries_user_at", "user_id", "at"),
        # Entries arrive in time order: a BRIN index (a few pages at ten million entries
        # instead of ~300 MB) serves the DPO's search by period on PostgreSQL (issue 8).
        Index("ix_audit_entries_at", "at", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    session_ref: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    client_id: Mapped[int | None] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str] = mapped_column(String(200), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    # Not unique by index: the chain makes every hash depend on all before it (``audit
    # verify`` checks each one), and a unique index on random values cost 1.2 GB and random
    # reads per write at ten million entries (bench/audit.py, issue 8).
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):
    """The single row that holds the chain's newest entry; writers lock it (PostgreSQL
    ``SELECT ... FOR UPDATE``) so that concurrent requests append one after the other."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    last_entry_id: Mapped[int | None] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
