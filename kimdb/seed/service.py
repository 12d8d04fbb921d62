"""Fill an empty database with a generated installation (``flask kimdb seed``, issue 8 item 1).

The steps: refuse a database that holds clients; add the municipalities of NRW and the state's
office; staff every selected municipality's integration centre (``plan.split_posts``) with
case managers, a supervisor and an administrator; then, municipality by municipality, write
the clients and their cases with one bulk write and one commit each, so memory stays bounded
and progress can be shown. At the end the id sequences are set (PostgreSQL) and the planner
statistics refreshed.

Determinism: each municipality has its own ``random.Random`` seeded with the run's seed and
the municipality's name, and all dates are drawn relative to ``today`` (Europe/Berlin): the same
seed on the same day writes the same rows (ids, dates, times, codes, plaintexts, scan keys);
only the random nonces of the ciphertexts (AES-GCM) differ, as they must.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from kimdb import demo
from kimdb.auth.models import Role, User
from kimdb.auth.service import hash_password
from kimdb.clients.models import Client
from kimdb.extensions import db
from kimdb.orgs.models import Municipality, Organisation, OrganisationKind
from kimdb.orgs.service import (
    STATE_NAME,
    ensure_organisation,
    municipalities_from_csv,
    seed_municipalities,
)
from kimdb.reports import facts as report_facts
from kimdb.seed import SEED_PASSWORD, plan, seed_totp_secret, slug
from kimdb.seed.generate import (
    CASE_TABLES,
    COLUMNS,
    SCAN,
    STRUCTURE_TABLES,
    TEAM_NAMES,
    CaseManager,
    CaseWriter,
    Ids,
    Rows,
    SearchIndexes,
    moment,
    partner_rows,
    staff_name,
)
from kimdb.seed.load import BulkWriter, ScanWriter
from kimdb.timeutil import today

STATE_USERNAME = "land.nrw"
#: Usernames the generator gives (see the package docstring).
GENERATED_USERNAME = re.compile(
    r"^(cm\.[a-z0-9-]+\.\d+|sv\.[a-z0-9-]+|admin\.[a-z0-9-]+|land\.nrw)$"
)


class SeedRefused(Exception):
    """The database is not empty enough to be filled; the message says why (English, for
    operators)."""


@dataclass
class StaffPlan:
    """The staff of one municipality: its case managers' FTEs and open cases."""

    name: str
    municipality_id: int
    rnd: random.Random
    ftes: list[Decimal]
    open_cases: list[int]
    closed_cases: list[int] = field(default_factory=list)


@dataclass
class SeedSummary:
    """What a run wrote: rows and write seconds per table, and the run's figures."""

    scale: str
    seed: int
    municipalities: int
    case_managers: int
    fte: Decimal
    open_cases: int
    cases: int
    rows: dict[str, int]
    write_seconds: dict[str, float]
    generate_seconds: float
    scan_files: int
    scan_seconds: float
    seconds: float

    def lines(self) -> list[str]:
        """The summary for the command line: one line per table, then the totals."""
        out = []
        for table, count in self.rows.items():
            seconds = self.write_seconds.get(table, 0.0)
            rate = f"{count / seconds:,.0f} rows/s" if seconds > 0 else "-"
            out.append(f"  {table:<24} {count:>10,} rows  {seconds:7.1f} s  {rate}")
        for step, seconds in self.write_seconds.items():
            if step not in self.rows:
                out.append(f"  {step:<24} {'':>10}       {seconds:7.1f} s")
        out.append(f"  {'scan files':<24} {self.scan_files:>10,}       {self.scan_seconds:7.1f} s")
        out.append(
            f"seeded scale {self.scale} (seed {self.seed}): {self.municipalities} "
            f"municipalities, {self.case_managers} case managers ({self.fte} FTE), "
            f"{self.cases:,} cases ({self.open_cases:,} open), "
            f"{sum(self.rows.values()):,} rows in {self.seconds:.0f} s "
            f"(generating {self.generate_seconds:.0f} s, writing "
            f"{sum(self.write_seconds.values()):.0f} s)"
        )
        return out


def check_empty() -> None:
    """Raise SeedRefused unless the database holds no client, no account and no organisation.

    A database with clients is refused in any case; the message says whether they are real
    (registered by any account not named as the generator names them) or generated (then:
    use an empty database). A database with accounts or organisations but no clients yet (an
    installation before its first registration) is refused too: the generator adds
    administrators and supervisors with a published password and published TOTP secrets.
    Source: issue 8, contract "refuses to run against a database that holds real clients".
    """
    clients = db.session.scalar(select(func.count(Client.id)))
    if clients:
        registrants = db.session.scalars(
            select(User.username).where(User.id.in_(select(Client.registered_by_id).distinct()))
        ).all()
        if all(GENERATED_USERNAME.match(name) for name in registrants):
            raise SeedRefused(
                f"the database already holds generated data ({clients} clients); "
                "use an empty database (flask db upgrade on a new one)"
            )
        raise SeedRefused(
            f"the database holds {clients} real clients; the generator writes only into a "
            "database without clients"
        )
    usernames = db.session.scalars(select(User.username)).all()
    if any(GENERATED_USERNAME.match(name) for name in usernames):
        raise SeedRefused(
            "the database already holds generated accounts (an interrupted run?); "
            "use an empty database"
        )
    organisations = db.session.scalar(select(func.count(Organisation.id)))
    if usernames or organisations:
        raise SeedRefused(
            f"the database holds {len(usernames)} accounts and {organisations} organisations: "
            "the generator writes only into a new, empty database (it adds accounts with a "
            "published password), never into an installation people use"
        )


def plan_staff(scale: plan.Scale, seed: int, municipality_ids: dict[str, int]) -> list[StaffPlan]:
    """Return the staff of every municipality of ``scale``, in the order of the CSV: FTEs that
    add up to the municipality's posts at this scale, and each one's open cases."""
    staff = []
    for entry in municipalities_from_csv():
        if not scale.selects(entry.name):
            continue
        rnd = random.Random(f"kimdb-seed:{seed}:{entry.name}")  # noqa: S311 - not secrets
        ftes = plan.split_posts(scale.posts(entry.cm_posts_2022), rnd)
        staff.append(
            StaffPlan(
                name=entry.name,
                municipality_id=municipality_ids[entry.name],
                rnd=rnd,
                ftes=ftes,
                open_cases=[plan.open_case_target(f, rnd) for f in ftes],
            )
        )
    return staff


def seed(
    scale_name: str,
    seed: int = 1,
    cases: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> SeedSummary:
    """Fill the (empty) database with the installation of scale ``scale_name`` (``plan.SCALES``).

    ``cases``: total cases (open and closed) instead of the scale's; the open cases follow the
    caseloads, the rest are closed. ``on_plan`` is called once with the number of cases to
    write, ``progress`` with the cases written after each municipality. Ends with a refresh of
    the state report's facts (``kimdb.reports.facts.refresh``). Raises SeedRefused
    (see ``check_empty``) before writing anything, KeyError for an unknown scale.
    """
    started = time.perf_counter()
    scale = plan.SCALES[scale_name]
    check_empty()
    day = today()
    seed_municipalities()
    state_organisation_id = _state_office()
    municipality_ids = dict(db.session.execute(select(Municipality.name, Municipality.id)).all())
    db.session.commit()
    staff = plan_staff(scale, seed, municipality_ids)
    open_total = sum(sum(s.open_cases) for s in staff)
    posts = sum(sum(s.ftes) for s in staff)
    total = cases if cases is not None else round(float(posts) * scale.cases_per_post)
    weights = [float(f) for s in staff for f in s.ftes]
    closed = iter(plan.distribute(max(0, total - open_total), weights))
    for s in staff:
        s.closed_cases = [next(closed) for _ in s.ftes]
    to_write = sum(sum(s.open_cases) + sum(s.closed_cases) for s in staff)
    if on_plan:
        on_plan(to_write)

    tables = db.metadata.tables
    with db.engine.connect() as connection:
        ids = Ids(
            {
                name: (connection.scalar(select(func.max(tables[name].c.id))) or 0) + 1
                for name in COLUMNS
            }
        )
        writer = BulkWriter(connection, tables)
        try:
            generating, written, scans = _load(
                writer, ids, staff, state_organisation_id, day, progress
            )
        except BaseException:
            connection.invalidate()  # not back into the pool with the triggers switched off
            raise
    # The state report's nightly facts (issue 8), as the cron would make them: without them the
    # state report of a freshly seeded database is computed live.
    tick = time.perf_counter()
    report_facts.refresh(current_app.config["STATS_MIN_CELL"])
    writer.seconds["(report facts)"] = time.perf_counter() - tick
    return SeedSummary(
        scale=scale.name,
        seed=seed,
        municipalities=len(staff),
        case_managers=sum(len(s.ftes) for s in staff),
        fte=posts,
        open_cases=open_total,
        cases=written,
        rows=dict(writer.rows),
        write_seconds=dict(writer.seconds),
        generate_seconds=generating - scans.seconds,
        scan_files=scans.files,
        scan_seconds=scans.seconds,
        seconds=time.perf_counter() - started,
    )


def _load(
    writer: BulkWriter,
    ids: Ids,
    staff: list[StaffPlan],
    state_organisation_id: int,
    day: dt.date,
    progress: Callable[[int], None] | None,
) -> tuple[float, int, ScanWriter]:
    """Write the structure, then the cases municipality by municipality (one commit each),
    check the references, set the sequences and refresh the statistics. Returns the seconds
    spent generating, the cases written and the scan writer (for its figures)."""
    connection = writer.connection
    scans = ScanWriter(current_app.config["STORAGE_DIR"], SCAN)
    structure = Rows()
    managers, partners = _structure(structure, ids, staff, state_organisation_id, day)
    for name in STRUCTURE_TABLES:
        writer.write(name, COLUMNS[name], structure.tables.get(name, []))
    connection.commit()
    generating = 0.0
    written = 0
    indexes = SearchIndexes()
    for s in staff:
        tick = time.perf_counter()
        rows = Rows()
        case_writer = CaseWriter(s.rnd, ids, day, partners[s.name], scans.store, indexes)
        for manager in managers[s.name]:
            written += case_writer.cases_of(manager, rows)
        generating += time.perf_counter() - tick
        for name in CASE_TABLES:
            writer.write(name, COLUMNS[name], rows.tables.get(name, []))
        connection.commit()
        if progress:
            progress(sum(s.open_cases) + sum(s.closed_cases))
    tick = time.perf_counter()
    problems = writer.verify_references([*STRUCTURE_TABLES, *CASE_TABLES])
    if problems:  # a defect of the generator: say so rather than leave it unnoticed
        raise RuntimeError("generated rows point at missing rows: " + "; ".join(problems))
    writer.seconds["(verify references)"] = time.perf_counter() - tick
    writer.finish()
    writer.reset_sequences()
    connection.commit()
    tick = time.perf_counter()
    writer.analyze()
    connection.commit()
    writer.seconds["(analyze)"] = time.perf_counter() - tick
    return generating, written, scans


def _state_office() -> int:
    """Return the id of the state's office (the demo's KfI in the state's "municipality" of
    kind ``state``), adding both if missing (issue 7 item 5)."""
    office = ensure_organisation(demo.KFI, STATE_NAME, OrganisationKind.MUNICIPAL_OFFICE.value)
    return office.id


def _structure(
    rows: Rows,
    ids: Ids,
    staff: list[StaffPlan],
    state_organisation_id: int,
    day: dt.date,
) -> tuple[dict[str, list[CaseManager]], dict[str, list[dict]]]:
    """Add organisations, teams, users, FTE periods, supervisions and partner directories.

    Every account shares one Argon2 hash of SEED_PASSWORD (hashing is deliberately slow; one
    hash per account would cost minutes). Roles in TOTP_REQUIRED_ROLES get the deterministic
    secret ``seed_totp_secret(username)``, enabled as enrolment leaves it. Returns the case
    managers and the partner directory per municipality name.
    """
    password_hash = hash_password(SEED_PASSWORD)
    totp_roles = set(current_app.config["TOTP_REQUIRED_ROLES"])
    start = plan.history_start(day)

    def user(rnd, username, name, role: Role, organisation_id, team_id=None) -> int:
        user_id = ids.take("users")
        with_totp = role.value in totp_roles
        at = moment(rnd, start)
        rows.add(
            "users",
            user_id,
            username,
            name,
            password_hash,
            role.value,
            organisation_id,
            team_id,
            True,
            at,
            "",
            seed_totp_secret(username) if with_totp else None,
            at if with_totp else None,
        )
        return user_id

    state_rnd = random.Random("kimdb-seed:state")  # noqa: S311 - not secrets
    state_user = user(
        state_rnd, STATE_USERNAME, "Land NRW – Statistik", Role.STATE, state_organisation_id
    )
    rows.add("fte_periods", ids.take("fte_periods"), state_user, Decimal("1.00"), start)

    managers: dict[str, list[CaseManager]] = {}
    partners: dict[str, list[dict]] = {}
    for s in staff:
        rnd, key = s.rnd, slug(s.name)
        organisation_id = ids.take("organisations")
        rows.add(
            "organisations",
            organisation_id,
            f"Kommunales Integrationszentrum {s.name}",
            OrganisationKind.INTEGRATION_CENTRE.value,
            s.municipality_id,
        )
        team_ids = []
        for n in range(plan.teams_for(len(s.ftes))):
            team_ids.append(ids.take("teams"))
            label = TEAM_NAMES[n] if n < len(TEAM_NAMES) else str(n + 1)
            rows.add("teams", team_ids[-1], organisation_id, f"Team {label}")
        supervisor = user(rnd, f"sv.{key}", staff_name(rnd), Role.SUPERVISOR, organisation_id)
        rows.add("supervisions", ids.take("supervisions"), supervisor, organisation_id, None)
        admin = user(rnd, f"admin.{key}", staff_name(rnd), Role.ADMIN, organisation_id)
        for user_id in (supervisor, admin):
            rows.add("fte_periods", ids.take("fte_periods"), user_id, Decimal("1.00"), start)
        managers[s.name] = []
        for n, (fte, open_cases, closed_cases) in enumerate(
            zip(s.ftes, s.open_cases, s.closed_cases, strict=True), start=1
        ):
            team_id = team_ids[(n - 1) * len(team_ids) // len(s.ftes)]
            user_id = user(
                rnd,
                f"cm.{key}.{n}",
                staff_name(rnd),
                Role.CASE_MANAGER,
                organisation_id,
                team_id,
            )
            if fte < 1 and rnd.random() < 0.3:  # a full post before, part-time since
                rows.add("fte_periods", ids.take("fte_periods"), user_id, Decimal("1.00"), start)
                since = day - dt.timedelta(days=rnd.randint(90, 700))
                rows.add("fte_periods", ids.take("fte_periods"), user_id, fte, since)
            else:
                rows.add("fte_periods", ids.take("fte_periods"), user_id, fte, start)
            managers[s.name].append(
                CaseManager(user_id, organisation_id, fte, open_cases, closed_cases)
            )
        partners[s.name] = partner_rows(rows, ids, organisation_id, s.name)
    return managers, partners
