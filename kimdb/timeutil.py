"""Dates as a German office sees them: "today" and "the day of" in Europe/Berlin."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Europe/Berlin")


def now() -> dt.datetime:
    """Return the current time, timezone-aware (UTC)."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Return today's date in Europe/Berlin."""
    return now().astimezone(LOCAL_ZONE).date()


def local_date(moment: dt.datetime) -> dt.date:
    """Return the Berlin calendar day of ``moment``; a naive value is taken as UTC (SQLite)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LOCAL_ZONE).date()
