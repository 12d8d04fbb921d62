"""Pre-aggregated figures of the statewide report (issue 8: the state report under 1 s).

The state report over a year, half or quarter reads its largest figures — consultations by
mode, interpreter languages, needs, referrals, the entry lag, stages, cases and clients — from
these facts instead of
grouping millions of rows live (``kimdb.reports.facts``). They hold counts per calendar month
and group, and per group at most ``cap`` client ids. That is pseudonymous personal data, not
anonymous: a client id is paired with the group's life area, legal domain or interpreter
language (special categories in their source tables; no name, date of birth or free text).
Nobody reads them directly, only the suppressed state report. Erased clients count in them as
in the live report (R2). ``flask kimdb refresh-report-facts`` (nightly) replaces all of them
in one transaction; ``flask kimdb purge`` deletes those older than ``FACTS_MAX_AGE``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kimdb.extensions import db

_BIG_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER only


class ReportFact(db.Model):
    """One count or one client id of one group of the report in one calendar month.

    ``measure`` names the figure ("consultations", "interpreters", "lag", "referrals",
    "needs_open", "needs_opened", "stages"; ``kimdb.reports.facts``), ``part`` the group
    kind ("cell", "row", "column", "all"), ``row_key`` and ``column_key`` the group (None:
    "ohne Angabe" or not grouped). A count row has ``client_id`` None and carries
    ``records`` (and ``minutes``, ``flagged``); an id row carries one of the at most ``cap``
    smallest client ids of the group in that month and zeros. ``month`` is the first day of
    the month the records fall into ("needs_open", "stages": the month at whose start the
    cases were open). ``closed_month``: for "needs_opened" only, the month of a closure dated
    before the case's opening month (a data error the live report also honours); None
    otherwise. ``period_end``: for the facts of a whole year, half or quarter (cases and
    clients, counted over the period as a whole), its last day; ``month`` is then its first.
    ``refresh_id``: the refresh that wrote the row; a report reads only the facts of the
    refresh ``facts.usable`` chose. No foreign key to the clients: the facts are a snapshot,
    replaced whole, and must never hold up the erasure of a client.
    """

    __tablename__ = "report_facts"
    __table_args__ = (Index("ix_report_facts_month", "refresh_id", "month", "measure"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    refresh_id: Mapped[int] = mapped_column(
        ForeignKey("report_fact_refreshes.id", ondelete="CASCADE")
    )
    month: Mapped[dt.date] = mapped_column(Date)
    measure: Mapped[str] = mapped_column(String(20))
    part: Mapped[str] = mapped_column(String(8))
    row_key: Mapped[str | None] = mapped_column(String(30))
    column_key: Mapped[str | None] = mapped_column(String(30))
    closed_month: Mapped[dt.date | None] = mapped_column(Date)
    records: Mapped[int] = mapped_column(BigInteger)
    minutes: Mapped[int] = mapped_column(BigInteger)
    flagged: Mapped[int] = mapped_column(BigInteger)
    client_id: Mapped[int | None] = mapped_column(Integer)
    period_end: Mapped[dt.date | None] = mapped_column(Date)


class ReportFactRefresh(db.Model):
    """The one refresh the facts come from: when its snapshot was taken (``refreshed_at``, the
    report's "Datenstand"), the ``cap`` of client ids kept per group (``KIMDB_STATS_MIN_CELL``
    at the time), and the months covered, ``first_month`` to ``last_month`` (first days)."""

    __tablename__ = "report_fact_refreshes"

    id: Mapped[int] = mapped_column(primary_key=True)
    refreshed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    cap: Mapped[int] = mapped_column(Integer)
    first_month: Mapped[dt.date] = mapped_column(Date)
    last_month: Mapped[dt.date] = mapped_column(Date)
    seconds: Mapped[float] = mapped_column(Float)
