"""Use cases of data protection for one client: full consent withdrawal and erasure (R2),
withdrawal of one exchange scope, the retention purge, and the preview of what erasure takes
(issue 6 items 4 and 5; GDPR Art. 7(3), Art. 17).

Erasure runs in one database transaction; the encrypted scan *file* is deleted only after the
commit succeeded. If deleting the file fails, the file stays as an orphan (no consent refers to
it any more) and the next ``purge`` removes it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from flask import current_app, g, has_request_context
from sqlalchemy import Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from kimdb.auth.models import User
from kimdb.cases.models import Case, StageChange
from kimdb.cases.rules import ClosureReason, Stage
from kimdb.cases.service import on_behalf_of
from kimdb.clients.models import Client
from kimdb.consent.models import Consent, ConsentExchange
from kimdb.consent.storage import ScanStorage
from kimdb.extensions import db, transaction
from kimdb.households.models import Household
from kimdb.privacy import rules
from kimdb.privacy.rules import PrivacyRefused
from kimdb.timeutil import now, today

log = logging.getLogger(__name__)

# A scan file younger than this is never swept as an orphan: registration writes the file
# before its transaction commits (kimdb.clients.service.register_client).
ORPHAN_GRACE = dt.timedelta(hours=24)
_SCAN_KEY = re.compile(r"^[0-9a-f]{32}$")


class ErasureReason(StrEnum):
    """Why a client's personal data are erased."""

    WITHDRAWAL = "withdrawal"  # consent withdrawn (R2, Art. 7(3), Art. 17(1)(b) GDPR)
    RETENTION = "retention"  # retention period over (issue 6 item 5, Art. 5(1)(e) GDPR)


def _audit(action: str, *, user: User | None, client_id: int, detail: str) -> None:
    """Write the audit entry of a withdrawal or erasure (issue 6 item 3) in the running
    transaction (after its first write, so it commits or rolls back with it): who, when,
    which client, never the erased content. In a request, the session reference and the
    substituted owner are those of the request's own entry (``kimdb.audit.views``)."""
    from kimdb.audit import service as audit

    extra = {}
    pending = g.get("audit_pending") if has_request_context() else None
    if pending is not None:
        extra = {"session_ref": pending.session_ref, "on_behalf_of_id": pending.on_behalf_of_id}
    audit.record(action, user=user, client_id=client_id, detail=detail, **extra)


def storage() -> ScanStorage:
    """Return the scan storage of the running app (``KIMDB_STORAGE_DIR``)."""
    return ScanStorage(current_app.config["STORAGE_DIR"])


# -- what erasure would take ------------------------------------------------------------------


@dataclass(frozen=True)
class ErasurePreview:
    """What erasing a client takes (counts) and what stays; shown on the confirmation page."""

    cases: int
    open_case_number: str | None
    notes: int
    follow_ups: int
    needs: int
    goals: int
    consultations_with_summary: int
    assessment_areas: int
    referrals: int
    monitoring_entries: int
    reasons: int  # classification, stage, transfer and emergency-access reasons, closure texts
    has_phone: bool
    has_email: bool
    has_scan: bool
    household_label_erased: bool  # the client is the last member: the household goes too
    in_household: bool


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def preview_erasure(client: Client) -> ErasurePreview:
    """Return the counts of what erasing ``client`` would erase (nothing is changed)."""
    from kimdb.cases.models import (
        Assessment,
        AssessmentArea,
        ClassificationChange,
        Consultation,
        FollowUp,
        Goal,
        MonitoringEntry,
        Need,
        Note,
        Referral,
    )
    from kimdb.emergency.models import EmergencyAccess
    from kimdb.substitution.models import CaseTransfer

    case_ids = select(Case.id).where(Case.client_id == client.id)
    open_case = db.session.scalar(
        select(Case).where(Case.client_id == client.id, Case.stage != Stage.CLOSED)
    )
    others = 0
    if client.household_id is not None:
        others = _count(Client, Client.household_id == client.household_id, Client.id != client.id)
    reasons = (
        _count(
            ClassificationChange,
            ClassificationChange.case_id.in_(case_ids),
            ClassificationChange.reason.is_not(None),
        )
        + _count(StageChange, StageChange.case_id.in_(case_ids), StageChange.reason.is_not(None))
        + _count(Case, Case.client_id == client.id, Case.closure_text.is_not(None))
        + _count(CaseTransfer, CaseTransfer.case_id.in_(case_ids))
        + _count(EmergencyAccess, EmergencyAccess.case_id.in_(case_ids))
    )
    return ErasurePreview(
        cases=_count(Case, Case.client_id == client.id),
        open_case_number=open_case.number if open_case else None,
        notes=_count(Note, Note.case_id.in_(case_ids)),
        follow_ups=_count(FollowUp, FollowUp.case_id.in_(case_ids)),
        needs=_count(Need, Need.case_id.in_(case_ids)),
        goals=_count(Goal, Goal.case_id.in_(case_ids)),
        consultations_with_summary=_count(
            Consultation, Consultation.case_id.in_(case_ids), Consultation.summary.is_not(None)
        ),
        assessment_areas=_count(
            AssessmentArea,
            AssessmentArea.assessment_id.in_(
                select(Assessment.id).where(Assessment.case_id.in_(case_ids))
            ),
        ),
        referrals=_count(Referral, Referral.case_id.in_(case_ids)),
        monitoring_entries=_count(MonitoringEntry, MonitoringEntry.case_id.in_(case_ids)),
        reasons=reasons,
        has_phone=bool(client.phone),
        has_email=bool(client.email),
        has_scan=client.consent.scan_key is not None,
        in_household=client.household_id is not None,
        household_label_erased=client.household_id is not None and others == 0,
    )


# -- erasure ----------------------------------------------------------------------------------


def _scope_condition(table_name: str, client_id: int, scope: dict[str, rules.ScopeTable]):
    """SQL condition selecting the rows of ``table_name`` that belong to client ``client_id``."""
    tables = db.metadata.tables
    entry = scope[table_name]
    table = tables[table_name]
    if entry.parent is None:
        return table.c.id == client_id
    parent = tables[entry.parent]
    return table.c[entry.fk_column].in_(
        select(parent.c[entry.parent_column]).where(
            _scope_condition(entry.parent, client_id, scope)
        )
    )


def _close_open_case(
    session: Session, client: Client, by: User, closed_on: dt.date, reason: ClosureReason
) -> int | None:
    """Close the client's open case (stage history kept); return its id or None."""
    case = session.scalar(
        select(Case).where(Case.client_id == client.id, Case.stage != Stage.CLOSED)
    )
    if case is None:
        return None
    day = max(closed_on, case.opened_on)
    case.stage_changes.append(
        StageChange(
            from_stage=case.stage,
            to_stage=Stage.CLOSED,
            closed_on=day,
            closure_reason=reason,
            changed_by_id=by.id,
            on_behalf_of_id=on_behalf_of(case, by),
            changed_at=now(),
        )
    )
    case.stage = Stage.CLOSED
    case.closed_on = day
    case.closure_reason = reason
    case.updated_at = now()
    session.flush()
    return case.id


def _erase_in_session(
    session: Session,
    client: Client,
    by: User | None,
    reason: ErasureReason,
    closed_on: dt.date,
    audit_action: str | None,
) -> str | None:
    """Erase ``client`` within the running transaction; return the scan key to delete after
    the commit (or None). See ``erase_client``. ``audit_action`` None: the caller records."""
    client_id, household_id = client.id, client.household_id
    client.erased_at = now()
    session.flush()
    if audit_action is not None:
        _audit(audit_action, user=by, client_id=client_id, detail=f"erased, reason={reason.value}")
    if by is not None:
        closure = (
            ClosureReason.CONSENT_WITHDRAWN
            if reason is ErasureReason.WITHDRAWAL
            else ClosureReason.OTHER
        )
        _close_open_case(session, client, by, closed_on, closure)
    elif session.scalar(
        select(Case.id).where(Case.client_id == client_id, Case.stage != Stage.CLOSED)
    ):
        raise PrivacyRefused("an open case is closed only by a user")
    scan_key = client.consent.scan_key
    consent_id = client.consent_id

    metadata = db.metadata
    scope = {t.name: t for t in rules.client_scope(metadata)}
    by_table: dict[str, dict[str, object]] = {}
    for column in rules.erased_columns(metadata):
        by_table.setdefault(column.table, {})[column.column] = (
            None if column.nullable else rules.ERASED_MARKER
        )
    for name in rules.DELETED_TABLES:
        table = metadata.tables[name]
        condition = _scope_condition(name, client_id, scope)
        for fk in table.foreign_keys:  # self-references first (notes.supersedes_id)
            if fk.column.table is table:
                session.execute(update(table).where(condition).values({fk.parent.name: None}))
        session.execute(delete(table).where(condition))
    for name, values in by_table.items():
        if name == rules.ROOT_TABLE:
            values = {**values, **rules.CLEARED_CLIENT_FIELDS}
        table = metadata.tables[name]
        session.execute(
            update(table).where(_scope_condition(name, client_id, scope)).values(values)
        )
    session.execute(update(Consent.__table__).where(Consent.id == consent_id).values(scan_key=None))
    if household_id is not None:
        remaining = session.scalar(
            select(func.count(Client.id)).where(Client.household_id == household_id)
        )
        if not remaining:
            session.execute(delete(Household.__table__).where(Household.id == household_id))
    session.expire_all()
    return scan_key


def _delete_scan_file(scan_key: str | None) -> bool:
    """Delete the scan file after the commit; log and keep going if that fails (orphan)."""
    if scan_key is None:
        return True
    try:
        storage().delete(scan_key)
    except OSError:
        log.exception("scan file %s could not be deleted; purge will remove it", scan_key)
        return False
    return True


def erase_client(
    client: Client, by: User | None, reason: ErasureReason, closed_on: dt.date | None = None
) -> None:
    """Erase the personal data of ``client`` in one transaction (R2; GDPR Art. 17).

    Sets names, date of birth, contact data, languages and search indexes to NULL/empty,
    residence status to "unknown", erases every free text of the client's cases
    (``rules.erased_columns``), deletes notes and follow-ups, takes the client out of their
    household (the household goes when it has no member left), forgets the scan (``scan_key``
    NULL) and marks ``client.erased_at``. An open case is closed on ``closed_on`` (default
    today) with reason "consent withdrawn" (withdrawal) or "other" (retention), keeping the
    stage history. The scan file is deleted after the commit. ``by`` is None only for the
    retention purge, which erases clients without open cases. Raises PrivacyRefused if the
    client is already erased.
    """
    if client.erased_at is not None:
        raise PrivacyRefused(_already_erased())
    with transaction() as session:
        scan_key = _erase_in_session(
            session, client, by, reason, closed_on or today(), "write:privacy.erase"
        )
    _delete_scan_file(scan_key)


def _already_erased():
    from kimdb.i18n import lazy_gettext as _l

    return _l("Die Daten dieser Person sind bereits gelöscht.")


def withdraw_consent(client: Client, by: User, declared_on: dt.date | None = None) -> None:
    """Record the full withdrawal of ``client``'s consent and erase the client, in one
    transaction (R2; GDPR Art. 7(3), Art. 17(1)(b)).

    ``declared_on`` is the day the client declared the withdrawal (default today); it must lie
    between the signing date and today and becomes the closure date of an open case. The
    consent keeps who recorded the withdrawal and when (``withdrawn_at``, ``withdrawn_by_id``);
    the audit log says the same, never the erased content. Raises PrivacyRefused (German
    message, nothing written) if the consent is already withdrawn or the date is wrong.
    """
    consent = client.consent
    rules.check_not_withdrawn(consent.withdrawn_at)
    if client.erased_at is not None:
        raise PrivacyRefused(_already_erased())
    declared_on = declared_on or today()
    rules.check_declared_on(declared_on, consent.signed_on, today())
    with transaction() as session:
        # Only one of two simultaneous withdrawals gets past this (the other changes nothing).
        won = session.execute(
            update(Consent)
            .where(Consent.id == consent.id, Consent.withdrawn_at.is_(None))
            .values(withdrawn_at=now(), withdrawn_by_id=by.id)
            .execution_options(synchronize_session="fetch")
        ).rowcount
        if won != 1:
            raise PrivacyRefused(_already_erased())
        session.flush()
        _audit(
            "write:privacy.withdrawal",
            user=by,
            client_id=client.id,
            detail=f"consent withdrawn, declared on {declared_on.isoformat()}; data erased",
        )
        scan_key = _erase_in_session(
            session, client, by, ErasureReason.WITHDRAWAL, declared_on, None
        )
    _delete_scan_file(scan_key)


def withdraw_exchange(client: Client, exchange_id: int, by: User) -> ConsentExchange:
    """Withdraw the consent's scope "data exchange with partner X" alone (R2).

    Afterwards a referral that passes data to that partner is refused
    (``kimdb.cases.casework.exchange_partner_ids``). Raises PrivacyRefused (German message,
    nothing written) if the scope is not part of this consent or already withdrawn.
    """
    from kimdb.i18n import lazy_gettext as _l

    exchange = next((e for e in client.consent.exchanges if e.id == exchange_id), None)
    if exchange is None:
        raise PrivacyRefused(_l("Diesen Datenaustausch gibt es in dieser Einwilligung nicht."))
    rules.check_not_withdrawn(client.consent.withdrawn_at)
    rules.check_exchange_not_withdrawn(exchange.withdrawn_at)
    with transaction():
        exchange.withdrawn_at = now()
        exchange.withdrawn_by_id = by.id
        db.session.flush()
        _audit(
            "write:privacy.withdraw_exchange",
            user=by,
            client_id=client.id,
            detail=f"exchange={exchange.id} partner={exchange.partner_id}",
        )
    return exchange


# -- retention --------------------------------------------------------------------------------


@dataclass
class PurgeReport:
    """What a purge run erased (or would erase, ``dry_run``): ids and counts only."""

    dry_run: bool
    cutoff: dt.date
    client_ids: list[int] = field(default_factory=list)
    case_ids: list[int] = field(default_factory=list)
    scan_files: int = 0  # scan files of the erased clients deleted (or to delete)
    orphan_files: int = 0  # files no consent refers to, removed (or to remove)
    failed_files: int = 0  # files that could not be deleted (left for the next run)
    held_files: int = 0  # scans held for an unfinished registration, past the idle time
    skipped: int = 0  # clients no longer due when their turn came (a case was opened)
    report_facts: int = 0  # rows of state report facts older than FACTS_MAX_AGE (deleted)

    def lines(self) -> list[str]:
        """The report as lines of text for the command line (no personal data)."""
        verb = "would erase" if self.dry_run else "erased"
        return [
            f"retention cutoff: cases closed on or before {self.cutoff.isoformat()}",
            f"clients {verb}: {len(self.client_ids)}"
            + (f" (ids {', '.join(map(str, self.client_ids))})" if self.client_ids else ""),
            f"cases concerned: {len(self.case_ids)}",
            f"scan files {'to delete' if self.dry_run else 'deleted'}: {self.scan_files}",
            f"orphan scan files {'to remove' if self.dry_run else 'removed'}: {self.orphan_files}",
        ] + (
            ([f"files that could not be deleted: {self.failed_files}"] if self.failed_files else [])
            + ([f"held registration scans removed: {self.held_files}"] if self.held_files else [])
            + ([f"clients skipped (no longer due): {self.skipped}"] if self.skipped else [])
            + (
                [
                    f"stale report facts {'to delete' if self.dry_run else 'deleted'}: "
                    f"{self.report_facts}"
                ]
                if self.report_facts
                else []
            )
        )


def _due_condition(cutoff: dt.date, registered_before: dt.datetime):
    """SQL condition on Client: not erased, and either every case closed with the latest
    closure on or before ``cutoff``, or no case at all and registered before
    ``registered_before``."""
    any_case = exists(select(Case.id).where(Case.client_id == Client.id))
    open_case = exists(
        select(Case.id).where(Case.client_id == Client.id, Case.stage != Stage.CLOSED)
    )
    recent_closure = exists(
        select(Case.id).where(Case.client_id == Client.id, Case.closed_on > cutoff)
    )
    return and_(
        Client.erased_at.is_(None),
        or_(
            and_(any_case, ~open_case, ~recent_closure),
            and_(~any_case, Client.registered_at < registered_before),
        ),
    )


def due_clients(cutoff: dt.date, registered_before: dt.datetime) -> Select:
    """Return a query of the ids of clients whose data are due for erasure, oldest first."""
    return select(Client.id).where(_due_condition(cutoff, registered_before)).order_by(Client.id)


def purge(today_: dt.date, retention_days: int, dry_run: bool = False) -> PurgeReport:
    """Erase every client whose retention period is over; return the report (ids only).

    Due are clients whose every case is closed and whose latest closure lies more than
    ``retention_days`` days before ``today_``, and clients without a case registered more than
    ``retention_days`` days ago. Each client is erased in its own transaction (as
    ``erase_client``), re-checked inside it, so the run is idempotent and safe from cron: a
    second run finds nothing. Finally scan files no consent refers to (older than
    ORPHAN_GRACE) are removed, and the state report's facts older than
    ``reports.rules.FACTS_MAX_AGE`` (``reports.facts.purge_stale``: they hold client ids, and
    must not outlive a stopped nightly refresh). ``dry_run`` counts and changes nothing.
    Raises PrivacyRefused for a negative period. Source: issue 6 item 5; GDPR Art. 5(1)(e).
    """
    cutoff = rules.retention_cutoff(today_, retention_days)
    registered_before = dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    report = PurgeReport(dry_run=dry_run, cutoff=cutoff)
    ids = list(db.session.scalars(due_clients(cutoff, registered_before)))
    db.session.rollback()  # end the read transaction; every erasure starts its own
    for client_id in ids:
        case_ids = list(db.session.scalars(select(Case.id).where(Case.client_id == client_id)))
        if dry_run:
            client = db.session.get(Client, client_id)
            report.client_ids.append(client_id)
            report.case_ids += case_ids
            report.scan_files += client.consent.scan_key is not None
            continue
        scan_key = None
        try:
            with transaction() as session:
                client = session.scalar(
                    select(Client)
                    .where(Client.id == client_id, _due_condition(cutoff, registered_before))
                    .with_for_update()
                )
                if client is None:  # changed since the list was read
                    continue
                scan_key = _erase_in_session(
                    session, client, None, ErasureReason.RETENTION, today_, "write:privacy.purge"
                )
        except PrivacyRefused:  # a case was opened meanwhile: the client is no longer due
            report.skipped += 1
            continue
        report.client_ids.append(client_id)
        report.case_ids += case_ids
        if scan_key is not None:
            if _delete_scan_file(scan_key):
                report.scan_files += 1
            else:
                report.failed_files += 1
    removed, failed = sweep_orphan_scans(dry_run=dry_run)
    report.orphan_files += removed
    report.failed_files += failed
    if not dry_run:  # scans held for a registration that was never finished
        from kimdb.clients.service import expire_held_scans

        report.held_files = expire_held_scans()
    from kimdb.reports.facts import purge_stale

    report.report_facts = purge_stale(now(), dry_run=dry_run)
    return report


def sweep_orphan_scans(dry_run: bool = False, moment: dt.datetime | None = None) -> tuple[int, int]:
    """Remove scan files that no consent refers to and that are older than ORPHAN_GRACE.

    Such files are left when deleting a scan after an erasure failed, or by an interrupted
    upload (``.tmp``). Younger files are skipped: a registration writes its file before its
    transaction commits. Returns (removed or removable, failed).
    """
    root = Path(current_app.config["STORAGE_DIR"]) / "scans"
    if not root.is_dir():
        return 0, 0
    limit = (moment or now()).timestamp() - ORPHAN_GRACE.total_seconds()
    candidates: dict[str, Path] = {}
    for path in sorted(root.glob("*/*")):
        try:
            old = path.is_file() and path.stat().st_mtime < limit
        except OSError:
            continue
        if old:
            candidates[path.name] = path
    keys = [k for k in candidates if _SCAN_KEY.match(k)]
    referenced: set[str] = set()
    for start in range(0, len(keys), 500):
        referenced |= set(
            db.session.scalars(
                select(Consent.scan_key).where(Consent.scan_key.in_(keys[start : start + 500]))
            )
        )
    db.session.rollback()
    removed = failed = 0
    for name, path in candidates.items():
        if name in referenced:
            continue
        if dry_run:
            removed += 1
            continue
        try:
            path.unlink(missing_ok=True)
            removed += 1
        except OSError:
            log.exception("orphan scan file %s could not be removed", name)
            failed += 1
    return removed, failed
