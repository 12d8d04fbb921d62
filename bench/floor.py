"""The floor of each daily page for ``bench/pages.py``: the same data as the kimdb page, read
with ONE hand-written SQL statement on a raw DBAPI connection (no ORM, no login, no CSRF, no
audit), the encrypted fields the page shows decrypted with ``kimdb.crypto``, rendered by a bare
Jinja2 template (a plain table). What the page costs above its floor is what kimdb's layers
(Flask, SQLAlchemy ORM, access rules, forms, audit, the layout) add.

Also a bare WSGI app (``app``) that serves the floors of the case manager's start page (``/``)
and case list (``/cases/``) for one user, for ``wrk`` against gunicorn::

    BENCH_FLOOR_USER_ID=12 KIMDB_DATABASE_URL=... KIMDB_ENCRYPTION_KEYS=... \\
        .venv/bin/gunicorn -w 2 bench.floor:app

Each floor function takes a DBAPI connection and the page's subject values and returns the
HTML (str). SQL is written with ``%s`` placeholders and rewritten to ``?`` for SQLite.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import threading
from pathlib import Path

from jinja2 import Environment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kimdb import crypto  # noqa: E402 - after the path
from kimdb.caseload.rules import month_ends  # noqa: E402
from kimdb.clients.rules import normalise_name  # noqa: E402
from kimdb.timeutil import today  # noqa: E402

_env = Environment(autoescape=True)  # noqa: S701 - autoescape is on

#: One bare page: a heading, figures, and a plain table of rows.
TABLE = _env.from_string(
    "<!doctype html><html><head><title>{{ title }}</title></head><body><h1>{{ title }}</h1>"
    "{% for label, value in figures %}<p>{{ label }}: {{ value }}</p>{% endfor %}"
    "{% for caption, head, rows in tables %}<table><caption>{{ caption }}</caption><tr>"
    "{% for h in head %}<th>{{ h }}</th>{% endfor %}</tr>"
    "{% for row in rows %}<tr>{% for v in row %}<td>{{ v if v is not none else '' }}</td>"
    "{% endfor %}</tr>{% endfor %}</table>{% endfor %}</body></html>"
)


def render(title: str, tables: list[tuple[str, list[str], list]], figures=()) -> str:
    """Return the bare page: ``figures`` as (label, value) lines, ``tables`` as (caption,
    column heads, rows)."""
    return TABLE.render(title=title, tables=tables, figures=figures)


def is_sqlite(conn) -> bool:
    """True for an SQLite DBAPI connection (also behind SQLAlchemy's pool proxy)."""
    raw = getattr(conn, "driver_connection", None) or getattr(conn, "dbapi_connection", conn)
    return type(raw).__module__.startswith("sqlite3")


def run(conn, sql: str, params: tuple) -> list[tuple]:
    """Like ``execute``, recognising SQLite behind a pool proxy."""
    if is_sqlite(conn):
        sql = sql.replace("%s", "?")
    cursor = conn.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def text(blob) -> str | None:
    """Decrypt an ``EncryptedText`` column value (bytes/memoryview) to str; None stays None."""
    return None if blob is None else crypto.keyring().decrypt(bytes(blob)).decode("utf-8")


def day_of(blob) -> dt.date | None:
    """Decrypt an ``EncryptedDate`` column value to a date."""
    return None if blob is None else dt.date.fromisoformat(text(blob))


def as_date(value) -> dt.date | None:
    """A DATE column value as a date (SQLite's DBAPI returns ISO text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def as_moment(value) -> dt.datetime | None:
    """A timestamp column value as a datetime (SQLite's DBAPI returns ISO text)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


# -- Case manager: start page with caseload -------------------------------------------------
# (PostgreSQL types the columns of a UNION from its first branch on: no bare NULL there.)

START_SQL = """
SELECT 'case', c.id, c.opened_on, c.kind, c.stage, c.last_activity_on, c.last_consultation_on,
       cl.family_name, cl.given_name, CAST(NULL AS BYTEA), CAST(NULL AS TIMESTAMP WITH TIME ZONE),
       (SELECT p.fte FROM fte_periods p WHERE p.user_id = c.owner_id AND p.valid_from <= %s
         ORDER BY p.valid_from DESC LIMIT 1)
  FROM cases c JOIN clients cl ON cl.id = c.client_id
 WHERE c.owner_id = %s AND c.stage <> 'closed'
UNION ALL
SELECT 'due', c.id, c.opened_on, NULL, NULL, f.due_on, NULL, cl.family_name, cl.given_name,
       f.text, NULL, NULL
  FROM follow_ups f JOIN cases c ON c.id = f.case_id JOIN clients cl ON cl.id = c.client_id
 WHERE c.owner_id = %s AND c.stage <> 'closed' AND f.done_at IS NULL AND f.due_on <= %s
UNION ALL
SELECT 'lag', NULL, co.held_on, NULL, NULL, NULL, NULL, NULL, NULL, NULL, co.entered_at, NULL
  FROM consultations co WHERE co.entered_by_id = %s AND co.held_on >= %s
"""


def start_page(conn, user_id: int, day: dt.date, inactivity_days: int = 30) -> str:
    """The case manager's start page: caseload against 50–60 per FTE, CM share, inactive
    count, median entry lag of the last 30 days, due follow-ups, open cases with names."""
    rows = run(
        conn,
        START_SQL,
        (day, user_id, user_id, day, user_id, day - dt.timedelta(days=30)),
    )
    cases, due, lags, fte = [], [], [], None
    for kind, case_id, opened, a, b, last, last_consultation, family, given, ftext, at, f in rows:
        opened = as_date(opened)
        number = f"{opened.year}-{case_id:06d}" if case_id else ""
        if kind == "case":
            fte = f
            idle = (day - as_date(last)).days
            name = f"{text(family)}, {text(given)}"
            cases.append((number, name, a, b, opened, as_date(last_consultation), idle))
        elif kind == "due":
            name = f"{text(family)}, {text(given)}"
            due.append((as_date(last), number, name, text(ftext)))
        else:
            lags.append(max(0, (as_moment(at).date() - opened).days))
    cases.sort(key=lambda r: (-r[6], r[0]))
    fte = float(fte or 0)
    figures = [
        ("offene Fälle", len(cases)),
        ("Empfehlung", f"{50 * fte:.0f}–{60 * fte:.0f}"),
        ("Anteil CM", sum(1 for c in cases if c[2] == "case_management") / max(1, len(cases))),
        ("inaktiv", sum(1 for c in cases if c[6] >= inactivity_days)),
        ("Median Erfassung", statistics.median(lags) if lags else None),
    ]
    return render(
        "Meine Fälle",
        [
            ("Wiedervorlagen", ["fällig", "Fall", "Klient:in", "Text"], due),
            (
                "Offene Fälle",
                ["Fall", "Klient:in", "Art", "Phase", "eröffnet", "Gespräch", "Tage"],
                cases,
            ),
        ],
        figures,
    )


# -- Case manager: own case list, search by name ----------------------------------------------

LIST_SQL = """
SELECT c.id, c.opened_on, c.kind, c.stage, c.last_activity_on,
       cl.family_name, cl.given_name, cl.date_of_birth
  FROM cases c JOIN clients cl ON cl.id = c.client_id
 WHERE c.owner_id = %s {condition}
 ORDER BY c.last_activity_on DESC, c.id DESC
 LIMIT 200
"""


def _case_rows(rows) -> list[tuple]:
    return [
        (
            f"{as_date(opened).year}-{case_id:06d}",
            f"{text(family)}, {text(given)}",
            day_of(born),
            kind,
            stage,
            as_date(last),
        )
        for case_id, opened, kind, stage, last, family, given, born in rows
    ]


CASE_HEAD = ["Fall", "Klient:in", "Geburtsdatum", "Art", "Phase", "Letzte Aktivität"]


def case_list(conn, user_id: int) -> str:
    """The own case list (open and closed, newest activity first, at most 200)."""
    rows = run(conn, LIST_SQL.format(condition=""), (user_id,))
    return render("Fälle", [("Fälle", CASE_HEAD, _case_rows(rows))])


def name_search(conn, user_id: int, name: str) -> str:
    """The search of own open cases by a name (one word), exact on the blind index."""
    digest = crypto.blind_index(normalise_name(name))
    condition = (
        "AND c.stage <> 'closed' AND (cl.family_name_index = %s OR cl.given_name_index = %s)"
    )
    rows = run(conn, LIST_SQL.format(condition=condition), (user_id, digest, digest))
    return render("Fälle suchen", [("Gefunden", CASE_HEAD, _case_rows(rows))])


# -- Case page and timeline ---------------------------------------------------------------------

CASE_SQL = """
SELECT 'case', c.id, c.opened_on, c.updated_at, c.kind, c.stage, cl.family_name, cl.given_name,
       u.display_name
  FROM cases c JOIN clients cl ON cl.id = c.client_id JOIN users u ON u.id = c.owner_id
 WHERE c.id = %s
UNION ALL
SELECT 'stage', s.id, s.closed_on, s.changed_at, s.from_stage, s.to_stage, s.reason, NULL,
       u.display_name
  FROM stage_changes s JOIN users u ON u.id = s.changed_by_id WHERE s.case_id = %s
UNION ALL
SELECT 'classification', k.id, NULL, k.changed_at, k.from_kind, k.to_kind, k.reason, NULL,
       u.display_name
  FROM classification_changes k JOIN users u ON u.id = k.changed_by_id WHERE k.case_id = %s
UNION ALL
SELECT 'need', n.id, NULL, n.recorded_at, n.life_area, n.legal_domain, n.description, NULL,
       u.display_name
  FROM needs n JOIN users u ON u.id = n.recorded_by_id WHERE n.case_id = %s
UNION ALL
SELECT 'goal', g.id, g.agreed_on, g.recorded_at, g.status, g.responsible, g.text, NULL,
       u.display_name
  FROM goals g JOIN users u ON u.id = g.recorded_by_id WHERE g.case_id = %s
UNION ALL
SELECT 'consultation', co.id, co.held_on, co.entered_at, co.mode, co.interpreter_language,
       co.summary, NULL, u.display_name
  FROM consultations co JOIN users u ON u.id = co.entered_by_id WHERE co.case_id = %s
UNION ALL
SELECT 'referral', r.id, r.referred_on, r.recorded_at, r.status, p.name, r.purpose, r.outcome,
       u.display_name
  FROM referrals r JOIN partners p ON p.id = r.partner_id JOIN users u ON u.id = r.recorded_by_id
 WHERE r.case_id = %s
UNION ALL
SELECT 'monitoring', m.id, m.entry_on, m.recorded_at, NULL, NULL, m.text, NULL, u.display_name
  FROM monitoring_entries m JOIN users u ON u.id = m.recorded_by_id WHERE m.case_id = %s
UNION ALL
SELECT 'note', nt.id, nt.noted_on, nt.written_at, nt.kind, CAST(nt.supersedes_id AS VARCHAR(20)),
       nt.text, NULL, u.display_name
  FROM notes nt JOIN users u ON u.id = nt.written_by_id WHERE nt.case_id = %s
UNION ALL
SELECT 'follow_up', f.id, f.due_on, f.done_at, NULL, NULL, f.text, NULL, u.display_name
  FROM follow_ups f JOIN users u ON u.id = f.created_by_id WHERE f.case_id = %s
UNION ALL
SELECT 'assessment', a.id, NULL, a.started_at, CAST(a.version AS VARCHAR(10)), NULL, NULL, NULL,
       u.display_name
  FROM assessments a JOIN users u ON u.id = a.started_by_id WHERE a.case_id = %s
"""


def _case_entries(conn, case_id: int) -> tuple[tuple, list[tuple]]:
    """Return the case's head line and its entries (type, day, text, detail, who), decrypted;
    a note superseded by a correction is left out (only the latest version is shown)."""
    rows = run(conn, CASE_SQL, (case_id,) * 11)
    superseded = {int(r[5]) for r in rows if r[0] == "note" and r[5] is not None}
    head, entries = None, []
    for kind, row_id, day, moment, a, b, enc1, enc2, who in rows:
        if kind == "case":
            opened = as_date(day)
            head = (f"{opened.year}-{row_id:06d}", f"{text(enc1)}, {text(enc2)}", a, b, who)
            continue
        if kind == "note" and row_id in superseded:
            continue
        moment = as_moment(moment)
        entries.append(
            (
                as_date(day) or (moment.date() if moment else None),
                kind,
                a,
                b,
                text(enc1),
                text(enc2),
                who,
            )
        )
    return head, entries


ENTRY_HEAD = ["Tag", "Art", "", "", "Text", "", "von"]


def case_page(conn, case_id: int) -> str:
    """The case page: head (number, client, kind, stage, owner) and every section's rows."""
    head, entries = _case_entries(conn, case_id)
    sections: dict[str, list] = {}
    for entry in entries:
        sections.setdefault(entry[1], []).append(entry)
    return render(
        f"Fall {head[0]}",
        [(kind, ENTRY_HEAD, rows) for kind, rows in sections.items()],
        [("Klient:in", head[1]), ("Art", head[2]), ("Phase", head[3]), ("Fallführung", head[4])],
    )


def timeline(conn, case_id: int) -> str:
    """The case timeline: every entry of the case in date order."""
    head, entries = _case_entries(conn, case_id)
    entries.sort(key=lambda e: (e[0] or dt.date.min, e[1]))
    return render(f"Verlauf {head[0]}", [("Verlauf", ENTRY_HEAD, entries)])


# -- Supervisor dashboard -----------------------------------------------------------------------

DASHBOARD_SQL = """
SELECT u.id, u.display_name, u.active, u.team_id,
       (SELECT p.fte FROM fte_periods p WHERE p.user_id = u.id AND p.valid_from <= %s
         ORDER BY p.valid_from DESC LIMIT 1),
       f.open_cases, f.cm, f.inactive, o.overdue, {months}
  FROM users u
  LEFT JOIN (SELECT owner_id, COUNT(*) AS open_cases,
                    SUM(CASE WHEN kind = 'case_management' THEN 1 ELSE 0 END) AS cm,
                    SUM(CASE WHEN last_activity_on <= %s THEN 1 ELSE 0 END) AS inactive
               FROM cases WHERE stage <> 'closed' AND organisation_id IN ({orgs})
              GROUP BY owner_id) f ON f.owner_id = u.id
  LEFT JOIN (SELECT c.owner_id, COUNT(*) AS overdue
               FROM follow_ups fu JOIN cases c ON c.id = fu.case_id
              WHERE c.stage <> 'closed' AND fu.done_at IS NULL AND fu.due_on < %s
                AND c.organisation_id IN ({orgs})
              GROUP BY c.owner_id) o ON o.owner_id = u.id
  LEFT JOIN (SELECT owner_id, {sums}
               FROM cases
              WHERE organisation_id IN ({orgs}) AND opened_on <= %s
                AND (closed_on IS NULL OR closed_on > %s)
              GROUP BY owner_id) t ON t.owner_id = u.id
 WHERE u.role = 'case_manager' AND u.organisation_id IN ({orgs})
 ORDER BY u.display_name
"""
SUPERVISED_ORGS = "SELECT s.organisation_id FROM supervisions s WHERE s.supervisor_id = %s"


def dashboard(conn, supervisor_id: int, day: dt.date, inactivity_days: int = 30) -> str:
    """The supervisor's dashboard: per case manager of the supervised organisations FTE, open
    cases, CM cases, inactive cases, overdue follow-ups and open cases at 12 month ends."""
    days = month_ends(day)
    sums = ", ".join(
        f"SUM(CASE WHEN opened_on <= %s AND (closed_on IS NULL OR closed_on > %s) "
        f"THEN 1 ELSE 0 END) AS m{i}"
        for i in range(len(days))
    )
    sql = DASHBOARD_SQL.format(
        months=", ".join(f"t.m{i}" for i in range(len(days))), sums=sums, orgs=SUPERVISED_ORGS
    )
    cutoff = day - dt.timedelta(days=inactivity_days)
    params = (
        day,
        cutoff,
        supervisor_id,
        day,
        supervisor_id,
        *(d for d in days for _ in (0, 1)),
        supervisor_id,
        days[-1],
        days[0],
        supervisor_id,
    )
    rows = run(conn, sql, params)
    people = [
        (name, active, team, fte, n or 0, cm or 0, idle or 0, overdue or 0)
        for _id, name, active, team, fte, n, cm, idle, overdue, *_months in rows
    ]
    trend = [sum(int(r[9 + i] or 0) for r in rows) for i in range(len(days))]
    return render(
        "Übersicht",
        [
            (
                "Fallzahlen",
                ["Name", "aktiv", "Team", "VZÄ", "offen", "CM", "inaktiv", "fällig"],
                people,
            ),
            ("Verlauf", ["Monat", "offen"], list(zip(days, trend, strict=True))),
        ],
    )


# -- Statistics report -------------------------------------------------------------------------

REPORT_SQL = """
SELECT 'opened', kind, NULL, COUNT(*) FROM cases WHERE opened_on BETWEEN %s AND %s GROUP BY kind
UNION ALL
SELECT 'open_at_start', kind, NULL, COUNT(*) FROM cases
 WHERE opened_on < %s AND (closed_on IS NULL OR closed_on >= %s) GROUP BY kind
UNION ALL
SELECT 'closed', kind, closure_reason, COUNT(*) FROM cases WHERE closed_on BETWEEN %s AND %s
 GROUP BY kind, closure_reason
UNION ALL
SELECT 'needs', n.life_area, n.legal_domain, COUNT(*)
  FROM needs n JOIN cases c ON c.id = n.case_id
 WHERE c.opened_on <= %s AND (c.closed_on IS NULL OR c.closed_on >= %s)
 GROUP BY n.life_area, n.legal_domain
UNION ALL
SELECT 'referrals', p.kind, r.status, COUNT(*)
  FROM referrals r JOIN partners p ON p.id = r.partner_id
 WHERE r.referred_on BETWEEN %s AND %s GROUP BY p.kind, r.status
UNION ALL
SELECT 'consultations', mode, CASE WHEN interpreter_used THEN 'y' ELSE 'n' END, COUNT(*)
  FROM consultations WHERE held_on BETWEEN %s AND %s
 GROUP BY mode, CASE WHEN interpreter_used THEN 'y' ELSE 'n' END
UNION ALL
SELECT 'gender', cl.gender, c.kind, COUNT(DISTINCT c.client_id)
  FROM cases c JOIN clients cl ON cl.id = c.client_id
 WHERE c.opened_on <= %s AND (c.closed_on IS NULL OR c.closed_on >= %s)
 GROUP BY cl.gender, c.kind
UNION ALL
SELECT 'country', cl.country_of_origin, NULL, COUNT(DISTINCT c.client_id)
  FROM cases c JOIN clients cl ON cl.id = c.client_id
 WHERE c.opened_on <= %s AND (c.closed_on IS NULL OR c.closed_on >= %s)
 GROUP BY cl.country_of_origin
UNION ALL
SELECT 'residence', cl.residence_status, NULL, COUNT(DISTINCT c.client_id)
  FROM cases c JOIN clients cl ON cl.id = c.client_id
 WHERE c.opened_on <= %s AND (c.closed_on IS NULL OR c.closed_on >= %s)
 GROUP BY cl.residence_status
UNION ALL
SELECT 'birth_year', CAST(cl.birth_year AS VARCHAR(10)), NULL, COUNT(DISTINCT c.client_id)
  FROM cases c JOIN clients cl ON cl.id = c.client_id
 WHERE c.opened_on <= %s AND (c.closed_on IS NULL OR c.closed_on >= %s)
 GROUP BY cl.birth_year
"""


def report(conn, year: int) -> str:
    """The statewide statistics report of ``year``: cases opened, open at the start, closed by
    reason; needs by life area and legal domain; referrals; consultations; people by gender,
    country, residence status and year of birth — grouped counts, one table per figure set."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    params = (start, end, start, start, start, end, end, start, start, end, start, end)
    params += (end, start) * 4
    tables: dict[str, list] = {}
    for key, a, b, n in run(conn, REPORT_SQL, params):
        tables.setdefault(key, []).append((a, b, n))
    return render(
        f"Bericht {year}", [(key, ["", "", "Anzahl"], rows) for key, rows in tables.items()]
    )


# -- The bare WSGI floor app (for wrk) -----------------------------------------------------------

_engine = None
_engine_lock = threading.Lock()


def _connection():
    """A pooled DBAPI connection to ``KIMDB_DATABASE_URL`` (SQLAlchemy's pool, no ORM); the
    first request of a worker sets the keys and the pool up, once for all its threads."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _create_engine()
    return _engine.raw_connection()


def _create_engine():
    """Configure the keyring and blind index from the environment; return a new engine."""
    from sqlalchemy import create_engine

    crypto.configure(
        crypto.keyring_from_settings(
            os.environ.get("KIMDB_ENCRYPTION_KEYS"),
            os.environ.get("KIMDB_ENCRYPTION_KEYS_FILE"),
            os.environ.get("KIMDB_ENCRYPTION_KEY"),
        )
    )
    crypto.configure_blind_index(os.environ["KIMDB_BLIND_INDEX_KEY"])
    return create_engine(os.environ["KIMDB_DATABASE_URL"])


def app(environ, start_response):
    """WSGI app: ``/`` the start page floor, ``/cases/`` the case list floor of the user
    ``BENCH_FLOOR_USER_ID``; anything else 404."""
    user_id = int(os.environ["BENCH_FLOOR_USER_ID"])
    path = environ.get("PATH_INFO", "/")
    if path not in ("/", "/cases/"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    conn = _connection()
    try:
        body = start_page(conn, user_id, today()) if path == "/" else case_list(conn, user_id)
    finally:
        conn.close()
    data = body.encode("utf-8")
    start_response(
        "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]
