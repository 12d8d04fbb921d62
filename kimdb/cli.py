"""The ``flask kimdb`` commands: demo data, the municipalities of NRW, and user and
organisation creation for operators."""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation

import click
from flask.cli import AppGroup
from sqlalchemy import select

from kimdb.auth import service as auth_service
from kimdb.auth.models import Role
from kimdb.extensions import db
from kimdb.orgs.models import Organisation

kimdb_cli = AppGroup("kimdb", help="kimdb administration.")


@kimdb_cli.command("demo")
@click.option("--seed", default=2026, show_default=True, help="Random seed of the demo data.")
def demo_command(seed: int) -> None:
    """Build the Kreis Warendorf demo installation (idempotent) and print the logins."""
    from kimdb.demo import DEMO_LOGINS, DEMO_PASSWORD, build_demo

    summary = build_demo(seed=seed)
    click.echo(summary)
    click.echo("\nkimdb demo: http://127.0.0.1:5000")
    click.echo(f"Logins (password for all: {DEMO_PASSWORD}):")
    for username, what in DEMO_LOGINS:
        click.echo(f"  {username:<11} {what}")
    click.echo(
        "\nTwo-factor login: after the password, kimdb asks the users marked '2FA code' for "
        "the 6-digit code of their authenticator app. On this demo instance print it with\n"
        "  flask --app wsgi kimdb demo-code <username>   (KIMDB_CONFIG=development only)\n"
        "Real accounts scan the QR code shown at their first login (or under 'Konto') with an "
        "authenticator app (e.g. FreeOTP, Aegis, Google or Microsoft Authenticator)."
    )


@kimdb_cli.command("demo-code")
@click.argument("username")
def demo_code_command(username: str) -> None:
    """Print the current two-factor code of a demo user (development instances only).

    Refuses (exit status 1) unless KIMDB_CONFIG is ``development`` and ``username`` is one of
    the demo logins with its published demo secret (``kimdb.demo.DEMO_TOTP_SECRETS``), so it
    never reveals the code of a real account.
    """
    import os

    from kimdb.auth import totp
    from kimdb.auth.models import User
    from kimdb.demo import DEMO_LOGINS, DEMO_TOTP_SECRETS
    from kimdb.timeutil import now

    if os.environ.get("KIMDB_CONFIG") != "development":
        click.echo("demo-code works only on a demo instance (KIMDB_CONFIG=development).", err=True)
        sys.exit(1)
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if (
        username not in dict(DEMO_LOGINS)
        or user is None
        or user.totp_secret is None
        or user.totp_secret != DEMO_TOTP_SECRETS.get(username)
    ):
        click.echo(f"{username!r} is not a demo user with a demo two-factor secret.", err=True)
        sys.exit(1)
    moment = now().timestamp()
    step = totp.time_step(moment)
    seconds_left = totp.STEP_SECONDS - int(moment) % totp.STEP_SECONDS
    click.echo(totp.code_at_step(user.totp_secret, step))
    click.echo(f"(valid for {seconds_left} more seconds, each code once)", err=True)


@kimdb_cli.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--organisation", "organisation_name", required=True, help="Name of an existing organisation."
)
@click.option("--fte", default="1.0", show_default=True, help="Full-time equivalent 0.1–1.0.")
@click.option("--name", "display_name", default="", help="Display name (default: user name).")
def create_user_command(username, role, organisation_name, fte, display_name) -> None:
    """Create a user; the password is read from standard input (one line)."""
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.name == organisation_name)
    )
    if organisation is None:
        names = db.session.scalars(select(Organisation.name).order_by(Organisation.name)).all()
        raise click.ClickException(
            f"no organisation named {organisation_name!r}; known: {', '.join(names) or 'none'}"
        )
    try:
        fte_value = Decimal(fte.replace(",", "."))
    except InvalidOperation as exc:
        raise click.ClickException(f"FTE {fte!r} is not a number") from exc
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        user = auth_service.create_user(
            username, display_name, Role(role), organisation, fte_value, password
        )
    except auth_service.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.role.value} {user.username} in {organisation.name}, FTE {user.fte}")


@kimdb_cli.command("create-organisation")
@click.argument("name")
@click.option(
    "--municipality", required=True, help="Kreis or kreisfreie Stadt, e.g. 'Kreis Warendorf'."
)
@click.option(
    "--kind",
    type=click.Choice(["integration_centre", "municipal_office", "town", "welfare"]),
    default="integration_centre",
    show_default=True,
)
def create_organisation_command(name, municipality, kind) -> None:
    """Create an organisation (and its municipality if new), for a fresh installation."""
    from kimdb.orgs import service as orgs_service

    organisation = orgs_service.ensure_organisation(name, municipality, kind)
    click.echo(f"organisation {organisation.name} ({organisation.municipality.name})")


@kimdb_cli.command("seed-municipalities")
def seed_municipalities_command() -> None:
    """Add the 54 municipalities of NRW that run KIM (53 counties and county-free cities, and
    the city of Aachen within the Städteregion) from kimdb/orgs/municipalities.csv; those
    already present are left as they are (safe to run again)."""
    from kimdb.orgs import service as orgs_service

    result = orgs_service.seed_municipalities()
    click.echo(
        f"municipalities: {result.added} added, {result.present} already present "
        f"({result.total} in the list)"
    )


@kimdb_cli.command("reindex")
@click.option("--all", "everything", is_flag=True, help="Rebuild every index, not only missing.")
@click.option("--batch", default=500, show_default=True, help="Clients per transaction.")
def reindex_command(everything: bool, batch: int) -> None:
    """Fill the name and date-of-birth search indexes (blind indexes) of clients, and the
    phonetic name indexes of the duplicate check (issue 6 item 2).

    Needed once after upgrading from the foundation release, to the phonetic indexes or to the
    birth year of the statistics, and
    with --all after changing KIMDB_BLIND_INDEX_KEY. Runs in batches; safe to interrupt and
    run again.
    """
    from sqlalchemy import or_

    from kimdb.clients.models import Client

    done, last_id = 0, 0
    while True:
        query = select(Client).where(Client.id > last_id).order_by(Client.id).limit(batch)
        if not everything:
            query = query.where(
                Client.erased_at.is_(None),
                or_(
                    Client.family_name_index.is_(None),
                    Client.family_name_phonetic.is_(None),
                    Client.birth_year.is_(None),  # age groups of the statistics (issue 7)
                ),
            )
        clients = db.session.scalars(query).all()
        if not clients:
            break
        for client in clients:
            client.refresh_search_index()
        db.session.commit()
        done += len(clients)
        last_id = clients[-1].id
    click.echo(f"reindexed {done} clients")


@kimdb_cli.command("rotate-keys")
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows per transaction.",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be re-encrypted.")
@click.option("--check", is_flag=True, help="Say which keys are used and which can be removed.")
def rotate_keys_command(batch_size: int, dry_run: bool, check: bool) -> None:
    """Re-encrypt every encrypted column and consent scan to the newest key (issue 6 item 1).

    Add the new key first in KIMDB_ENCRYPTION_KEYS, keep the old ones after it, then run this.
    Refuses, changing nothing, if any ciphertext uses a key that is not configured. Safe to
    interrupt and run again: what is already under the newest key is skipped. With --check it
    exits with status 1 while anything still needs rotation (README.md, Key rotation).
    """
    from flask import current_app

    from kimdb import rotation
    from kimdb.consent.storage import ScanStorage
    from kimdb.crypto import keyring

    ring = keyring()
    storage = ScanStorage(current_app.config["STORAGE_DIR"])
    if check or dry_run:
        census = rotation.take_census(db.engine, db.metadata, storage, ring)
        reason = rotation.refusal(census, ring)
        if dry_run:
            for table in census.tables:
                click.echo(
                    f"{table.name}: {table.rows_to_rotate} of {table.rows} rows to re-encrypt"
                )
            click.echo(f"scan files: {census.files_to_rotate} of {sum(census.files.values())}")
            if reason:
                raise click.ClickException(reason)
            click.echo(
                f"dry run: {census.rows_to_rotate} rows and {census.files_to_rotate} scan files "
                "would be re-encrypted; nothing was changed"
            )
            return
        for line in rotation.describe_census(census, ring):
            click.echo(line)
        if reason or census.rows_to_rotate or census.files_to_rotate:
            sys.exit(1)
        return

    def report(progress: rotation.Progress) -> None:
        click.echo(f"  {progress.what}: {progress.done}/{progress.total}")

    try:
        result = rotation.rotate(db.engine, db.metadata, storage, ring, batch_size, report)
    except rotation.RotationRefused as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(result.summary())
    census = rotation.take_census(db.engine, db.metadata, storage, ring)
    for line in rotation.describe_census(census, ring):
        click.echo(line)


@kimdb_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Show what would be erased; change nothing.")
def purge_command(dry_run: bool) -> None:
    """Erase the personal data of clients whose retention period is over (issue 6 item 5).

    Due are clients whose cases are all closed and whose latest closure lies more than
    KIMDB_RETENTION_DAYS days back, and clients without a case registered that long ago.
    Idempotent and safe from cron (a second run finds nothing); prints ids and counts only.
    """
    from flask import current_app

    from kimdb.privacy import service as privacy_service
    from kimdb.timeutil import today

    report = privacy_service.purge(today(), current_app.config["RETENTION_DAYS"], dry_run=dry_run)
    for line in report.lines():
        click.echo(line)


@kimdb_cli.group("audit")
def audit_cli() -> None:
    """The audit log of reads and writes of client data (issue 6 item 3)."""


@audit_cli.command("verify")
@click.option("--batch", default=2000, show_default=True, help="Entries read per query.")
def audit_verify_command(batch: int) -> None:
    """Check the hash chain of the audit log: every entry matches its hash, follows the one
    before it, and the head names the last one. Exit code 0 if intact, 1 with the problems."""
    from kimdb.audit import service as audit_service

    count, problems = audit_service.verify(batch=batch)
    if not problems:
        click.echo(f"OK: {count} entries, chain intact")
        return
    click.echo(f"FAILED: {count} entries checked, {len(problems)} problem(s):", err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


@kimdb_cli.command("seed")
@click.option(
    "--scale",
    type=click.Choice(["tiny", "county", "state"]),
    default="county",
    show_default=True,
    help="state: all 54 municipalities (713 posts, ~400,000 cases); county: the Münsterland "
    "(68 posts, ~38,000 cases); tiny: 3 small cities (~1,000 cases) for tests.",
)
@click.option("--seed", "seed_value", default=1, show_default=True, help="Random seed.")
@click.option(
    "--cases", type=click.IntRange(min=0), default=None, help="Total cases instead of the scale's."
)
def seed_command(scale: str, seed_value: int, cases: int | None) -> None:
    """Fill an EMPTY database with generated data for benchmarks and load tests (issue 8).

    Refuses a database that holds clients. Every generated account has the password
    kimdb-generiert; see kimdb/seed/__init__.py for the user names and two-factor secrets.
    """
    from kimdb.seed import service as seed_service

    bar = None

    def on_plan(total: int) -> None:
        nonlocal bar
        bar = click.progressbar(length=total, label=f"seeding {scale}: cases", show_pos=True)
        bar.__enter__()

    try:
        summary = seed_service.seed(
            scale, seed_value, cases, progress=lambda n: bar.update(n), on_plan=on_plan
        )
    except seed_service.SeedRefused as exc:
        raise click.ClickException(f"refused: {exc}") from exc
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for line in summary.lines():
        click.echo(line)


@kimdb_cli.command("refresh-report-facts")
def refresh_report_facts_command() -> None:
    """Recompute the pre-aggregated facts of the statewide report (nightly cron, issue 8).

    Replaces all facts in one transaction, with as many client ids per group as
    KIMDB_STATS_MIN_CELL (the cap). The state report over whole months uses them while they
    are at most 36 hours old (kimdb.reports.rules.FACTS_MAX_AGE); otherwise it is computed
    live (correct, but 3-4 s at state scale).
    """
    from flask import current_app

    from kimdb.reports import facts

    summary = facts.refresh(current_app.config["STATS_MIN_CELL"])
    click.echo(
        f"report facts refreshed: {summary.rows:,} rows, months "
        f"{summary.first_month:%m/%Y}–{summary.last_month:%m/%Y}, cap {summary.cap}, "
        f"{summary.seconds:.1f} s"
    )
