"""The audit log in requests: the hook that records every read and write of client data, and
the data protection officer's search page.

The hook (``arm_audit`` and ``record_request``, app-wide hooks of this blueprint) arms one
pending entry per request to an audited endpoint (``rules.is_audited``) and writes it exactly once:

- a write (POST …) adds it inside the use case's own transaction, just before that commits
  (SQLAlchemy ``before_commit``): the write and its entry commit together, and a write that
  rolls back leaves no entry;
- a read (GET), or a write that committed nothing, gets a small transaction of its own after
  the view, only for a successful response (2xx; 3xx after a write). Refused and failed
  requests (4xx, 5xx) are not recorded as reads. A read's entry commits without waiting for
  the WAL flush on PostgreSQL (``service.append_read``, ``AUDIT_SYNCHRONOUS_READS``), and takes
  client and owner from the case the view loaded (``case_loaded``).

Source: issue 6 item 3; DESIGN.md §4; GDPR Art. 5(2), Art. 32.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Blueprint, abort, g, has_request_context, render_template, request
from flask import session as http_session
from flask_login import current_user
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kimdb.audit import rules, service
from kimdb.audit.forms import AuditSearchForm, parse_case, parse_id
from kimdb.auth.models import Role
from kimdb.extensions import db, transaction
from kimdb.i18n import lazy_gettext as _l
from kimdb.views import requested_page, role_required

bp = Blueprint("audit", __name__, url_prefix="/audit")

SESSION_TOKEN_KEY = "audit_sid"  # noqa: S105 - a session key name, not a secret


# -- the request hook -----------------------------------------------------------------------------
@dataclass
class PendingEntry:
    """The entry a request will write: armed before the view, written once (``done``)."""

    action: str
    write: bool
    user_id: int
    session_ref: str
    client_id: int | None = None
    case_id: int | None = None
    on_behalf_of_id: int | None = None
    detail: str = ""
    in_commit: bool = False  # added to a transaction that is committing now
    case_pending: bool = False  # a read: client and owner taken from the case after the view
    done: bool = False

    def fields(self) -> dict:
        """The keyword arguments of ``service.append``."""
        return dict(
            user_id=self.user_id,
            client_id=self.client_id,
            case_id=self.case_id,
            on_behalf_of_id=self.on_behalf_of_id,
            detail=self.detail,
            session_ref=self.session_ref,
        )


def current_session_ref(user_id: int) -> str:
    """Return the session reference of the logged-in user (``rules.session_ref``): a random
    token kept in the login's session (new after each login, which clears the session),
    hashed with the user id. The cookie itself is never stored."""
    token = http_session.get(SESSION_TOKEN_KEY)
    if not token:
        token = http_session[SESSION_TOKEN_KEY] = secrets.token_hex(16)
    return rules.session_ref(token, user_id)


def record_reads(action: str, client_ids: list[int], detail: str = "") -> None:
    """Record that the logged-in user saw data of each of ``client_ids`` in this request (one
    entry per client, so each appears in that client's Art. 15 access list); for pages that
    show other clients than the one in the URL, e.g. the duplicate check of a registration."""
    ref = current_session_ref(current_user.id)
    for client_id in client_ids:
        service.record(
            action, user=current_user, client_id=client_id, detail=detail, session_ref=ref
        )


def record_list_read(action: str, detail: str = "") -> None:
    """Record that the logged-in user saw a list of clients (names, no single client), e.g.
    the own caseload on the start page: one entry without client id, ``detail`` a count."""
    service.record(
        action,
        user=current_user,
        detail=detail,
        session_ref=current_session_ref(current_user.id),
    )


def _case_subject(pending: PendingEntry, user, case_id: int) -> None:
    """Fill client and substituted owner from case ``case_id`` (one small query)."""
    from kimdb.cases.models import Case

    row = db.session.execute(
        select(Case.client_id, Case.owner_id).where(Case.id == case_id)
    ).first()
    pending.case_id = case_id
    if row is not None:
        _fill_case_subject(pending, user, row.client_id, row.owner_id)
    pending.case_pending = False


def _fill_case_subject(pending: PendingEntry, user, client_id: int, owner_id: int) -> None:
    pending.client_id = client_id
    if user.role is Role.CASE_MANAGER and owner_id != user.id:
        # A case manager reaches someone else's case only as substitute (policy.case_visible).
        pending.on_behalf_of_id = owner_id


def case_loaded(case) -> None:
    """Tell the entry of this request (a read of ``case``'s page) the client and owner of
    ``case``, which the view has just loaded: the entry then needs no query of its own. Does
    nothing for other requests (writes take them before the view, as they were)."""
    pending = g.get("audit_pending") if has_request_context() else None
    if pending is not None and pending.case_pending and pending.case_id == case.id:
        _fill_case_subject(pending, current_user, case.client_id, case.owner_id)
        pending.case_pending = False


def _client_subject(pending: PendingEntry, user, client_id: int) -> None:
    """Fill the substituted owner when ``user`` sees client ``client_id`` only through a case
    they substitute (R7)."""
    from kimdb.auth import policy
    from kimdb.cases.models import Case

    pending.client_id = client_id
    if user.role is not Role.CASE_MANAGER:
        return
    owners = set(
        db.session.scalars(
            select(Case.owner_id).where(Case.client_id == client_id, policy.case_visible(user))
        )
    )
    if owners and user.id not in owners:
        pending.on_behalf_of_id = min(owners)


def _arm(endpoint: str, view_args: dict, user) -> PendingEntry:
    """Build the pending entry of a request to ``endpoint`` with ``view_args`` by ``user``."""
    from kimdb.emergency.models import EmergencyAccess

    pending = PendingEntry(
        action=rules.action_for(endpoint, request.method),
        write=rules.is_write(request.method),
        user_id=user.id,
        session_ref=current_session_ref(user.id),
    )
    details = []
    case_id = view_args.get("case_id")
    if "access_id" in view_args and endpoint.startswith("emergency."):
        details.append(f"emergency access {view_args['access_id']}")
        case_id = db.session.scalar(
            select(EmergencyAccess.case_id).where(EmergencyAccess.id == view_args["access_id"])
        )
    if "household_id" in view_args:
        details.append(f"household {view_args['household_id']}")
    if case_id is not None and not pending.write and "client_id" not in view_args:
        # A read changes no case: client and owner come from the case the view loads
        # (``case_loaded``), else from a query after the view, only if the read succeeds.
        pending.case_id, pending.case_pending = case_id, True
    elif case_id is not None:
        _case_subject(pending, user, case_id)
    elif view_args.get("client_id") is not None:
        _client_subject(pending, user, view_args["client_id"])
    if view_args.get("client_id") is not None and pending.client_id != view_args["client_id"]:
        details.append(f"client {view_args['client_id']}")
    pending.detail = ", ".join(details)
    return pending


def _fill_from_created(pending: PendingEntry, session: Session) -> None:
    """A write that created the client, the case or the emergency access names it only now."""
    from kimdb.cases.models import Case

    created = session.info.get("kimdb_audit_created", {})
    if pending.case_id is None and "case" in created:
        pending.case_id, pending.client_id = created["case"]
    if pending.client_id is None and "client" in created:
        pending.client_id = created["client"]
    if pending.case_id is None and "access_case" in created:
        pending.case_id = created["access_case"]
    if pending.client_id is None and pending.case_id is not None:
        pending.client_id = session.scalar(select(Case.client_id).where(Case.id == pending.case_id))


def _pending_write(session: Session) -> PendingEntry | None:
    if not has_request_context():
        return None
    pending = g.get("audit_pending")
    if pending is None or not pending.write or pending.done or g.get("audit_recorded"):
        return None
    if session is not db.session():
        return None
    return pending


@event.listens_for(Session, "after_flush")
def _note_created(session: Session, _context) -> None:
    """Remember the ids of a client, case or emergency access a write creates."""
    if _pending_write(session) is None:
        return
    from kimdb.cases.models import Case
    from kimdb.clients.models import Client
    from kimdb.emergency.models import EmergencyAccess

    created = session.info.setdefault("kimdb_audit_created", {})
    for obj in session.new:
        if isinstance(obj, Case):
            created.setdefault("case", (obj.id, obj.client_id))
        elif isinstance(obj, Client):
            created.setdefault("client", obj.id)
        elif isinstance(obj, EmergencyAccess):
            created.setdefault("access_case", obj.case_id)


@event.listens_for(Session, "before_commit")
def _write_with_use_case(session: Session) -> None:
    """Add the request's write entry to the transaction that is committing the write."""
    pending = _pending_write(session)
    if pending is None or pending.in_commit or not service.writing(session):
        return
    session.flush()  # so that created rows are known (``_note_created``)
    _fill_from_created(pending, session)
    service.append(session, pending.action, **pending.fields())
    pending.in_commit = True


@event.listens_for(Session, "after_commit")
def _written(session: Session) -> None:
    session.info.pop("kimdb_audit_created", None)
    pending = g.get("audit_pending") if has_request_context() else None
    if pending is not None and pending.in_commit:
        pending.done = True


@event.listens_for(Session, "after_rollback")
def _not_written(session: Session) -> None:
    session.info.pop("kimdb_audit_created", None)
    pending = g.get("audit_pending") if has_request_context() else None
    if pending is not None and pending.in_commit and not pending.done:
        pending.in_commit = False


@bp.before_app_request
def arm_audit() -> None:
    """Before the view: arm the entry of a request to an audited endpoint by a logged-in user."""
    if rules.is_audited(request.endpoint) and current_user.is_authenticated:
        g.audit_pending = _arm(request.endpoint, request.view_args or {}, current_user)


@bp.after_app_request
def record_request(response):
    """After the view: write the entry of a successful read (2xx), or of a write that has not
    written it with its use case (2xx, 3xx), in a transaction of its own."""
    pending = g.pop("audit_pending", None)
    if pending is None or pending.done or g.get("audit_recorded"):
        return response
    status = response.status_code
    if pending.write and status < 400:
        with transaction() as session:
            service.append(session, pending.action, **pending.fields())
    elif status < 300:
        if pending.case_pending:  # the view did not call ``case_loaded``
            _case_subject(pending, current_user, pending.case_id)
        service.append_read(pending.action, **pending.fields())
    return response


# -- the DPO's page -------------------------------------------------------------------------------
@bp.get("/")
@role_required(Role.DPO)
def index():
    """Search the audit log of the municipality: by user, client id, case number and period,
    newest first, 50 a page. Shows who, when, what, which client id and case number, as whose
    substitute, from which session; no case contents (R8). Bad input: 422 with the message at
    the field and what was typed kept."""
    users = service.municipality_users(current_user)
    form = AuditSearchForm(request.args)
    form.user.choices = [("", str(_l("alle"))), *[(str(u.id), u.display_name) for u in users]]
    if not form.validate():
        result = service.AuditPage(rows=[], page=1, pages=1, total=0)
        return render_template("audit/index.html", form=form, result=result, query={}), 422
    query = {
        "user": form.user.data or None,
        "client": form.client.data or None,
        "case": form.case.data or None,
        "date_from": request.args.get("date_from") or None,
        "date_to": request.args.get("date_to") or None,
    }
    try:
        result = service.search(
            current_user,
            user_id=int(form.user.data) if form.user.data else None,
            client_id=parse_id(form.client.data) if form.client.data else None,
            case_id=parse_case(form.case.data) if form.case.data else None,
            date_from=form.date_from.data,
            date_to=form.date_to.data,
            page=requested_page(),
        )
    except service.NotAllowed:
        abort(403)
    return render_template("audit/index.html", form=form, result=result, query=query)
