"""Rules of the audit log: what is recorded, how an entry is hashed, and how the chain is checked.

Plain functions over plain values (no Flask, no session), so that the chain can be verified and
tested without the app. Source: issue 6 item 3; DESIGN.md §4; GDPR Art. 5(2) (accountability),
Art. 32 (security of processing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from kimdb.i18n import lazy_gettext as _l

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first entry, and ``last_hash`` of the head of an empty log."""

ACTION_LENGTH = 60
DETAIL_LENGTH = 200
SESSION_REF_LENGTH = 32

# -- what is recorded -------------------------------------------------------------------------
AUDITED_BLUEPRINTS = frozenset({"cases", "clients", "households", "emergency", "privacy"})
"""Every route of these blueprints shows or changes client data: matched by blueprint name, so a
new route is recorded without anyone remembering to add it (issue 6 item 3)."""

AUDITED_ENDPOINTS = frozenset({"substitution.takeover"})
"""Single routes of other blueprints that show or change client data."""

ACTION_OVERRIDES: dict[tuple[str, str], str] = {
    ("emergency.index", "POST"): "write:emergency.open",
}
"""(endpoint, method) → action, where ``read:``/``write:`` + endpoint would say it badly."""

ACTION_LABELS: dict[str, object] = {
    "read:cases.index": _l("Fallsuche"),
    "read:cases.show": _l("Fall angesehen"),
    "read:cases.plan": _l("Hilfeplan angesehen"),
    "read:cases.timeline": _l("Verlauf angesehen"),
    "read:cases.assessment": _l("Assessment angesehen"),
    "write:cases.assessment": _l("Assessment gespeichert"),
    "write:cases.open_case": _l("Fall eröffnet"),
    "write:cases.change_stage": _l("Phase geändert"),
    "write:cases.close": _l("Fall abgeschlossen"),
    "write:cases.reopen": _l("Fall wieder eröffnet"),
    "write:cases.reclassify": _l("Einstufung geändert"),
    "write:cases.add_need": _l("Bedarf erfasst"),
    "write:cases.need_focus": _l("Bedarf in/aus dem Fokus"),
    "write:cases.add_goal": _l("Ziel erfasst"),
    "write:cases.update_goal": _l("Ziel geändert"),
    "write:cases.add_consultation": _l("Beratungsgespräch erfasst"),
    "write:cases.add_referral": _l("Vermittlung erfasst"),
    "write:cases.update_referral": _l("Vermittlung geändert"),
    "write:cases.add_monitoring": _l("Monitoring erfasst"),
    "write:cases.add_note": _l("Vermerk geschrieben"),
    "write:cases.correct_note": _l("Vermerk korrigiert"),
    "write:cases.add_follow_up": _l("Wiedervorlage angelegt"),
    "write:cases.complete_follow_up": _l("Wiedervorlage erledigt"),
    "read:clients.index": _l("Klient:innen-Liste"),
    "read:clients.new": _l("Registrierung geöffnet"),
    "write:clients.new": _l("Klient:in registriert"),
    "read:clients.show": _l("Klient:in angesehen"),
    "read:clients.consent_scan": _l("Einwilligung (Scan) angesehen"),
    "read:households.show": _l("Bedarfsgemeinschaft angesehen"),
    "write:households.create": _l("Bedarfsgemeinschaft angelegt"),
    "write:households.add_member": _l("Mitglied aufgenommen"),
    "write:households.remove_member": _l("Mitglied entfernt"),
    "read:emergency.index": _l("Notfallzugriffe angesehen"),
    "write:emergency.open": _l("Notfallzugriff geöffnet"),
    "read:emergency.show": _l("Fall im Notfallzugriff angesehen"),
    "write:emergency.end": _l("Notfallzugriff beendet"),
    "read:emergency.log": _l("Protokoll der Notfallzugriffe angesehen"),
    "write:emergency.seen": _l("Notfallzugriff zur Kenntnis genommen"),
    "write:emergency.seen_all": _l("Notfallzugriffe zur Kenntnis genommen"),
    "read:substitution.takeover": _l("Übernahme geöffnet"),
    "write:substitution.takeover": _l("Fall übernommen"),
    "read:clients.duplicate_check": _l("Als mögliche Doppelerfassung angezeigt"),
    "read:caseload.start": _l("Startseite mit eigenen Fällen"),
    "read:privacy.withdrawal": _l("Widerruf vorbereitet"),
    "write:privacy.withdrawal": _l("Einwilligung widerrufen, Daten gelöscht"),
    "read:privacy.withdrawn": _l("Bestätigung des Widerrufs angesehen"),
    "write:privacy.withdraw_exchange": _l("Datenaustausch mit einer Stelle widerrufen"),
    "write:privacy.erase": _l("Personenbezogene Daten gelöscht"),
    "write:privacy.purge": _l("Nach Ablauf der Aufbewahrungsfrist gelöscht"),
    "read:privacy.export_json": _l("Auskunft (Art. 15) als JSON erstellt"),
    "read:privacy.export_pdf": _l("Auskunft (Art. 15) als PDF erstellt"),
}
"""German labels of the actions for the DPO's page; an action without one shows a generic label
(``action_label``)."""


def is_audited(endpoint: str | None) -> bool:
    """True if requests to ``endpoint`` (``"blueprint.view"``) show or change client data and
    are therefore recorded (issue 6 item 3)."""
    if not endpoint:
        return False
    blueprint = endpoint.split(".", 1)[0] if "." in endpoint else ""
    return blueprint in AUDITED_BLUEPRINTS or endpoint in AUDITED_ENDPOINTS


def is_write(method: str) -> bool:
    """True if an HTTP ``method`` changes something (everything but GET and HEAD)."""
    return method.upper() not in {"GET", "HEAD", "OPTIONS"}


def action_for(endpoint: str, method: str) -> str:
    """Return the action of a request: ``read:<endpoint>`` for GET/HEAD, ``write:<endpoint>``
    otherwise, or the entry of ACTION_OVERRIDES; at most ACTION_LENGTH characters."""
    method = method.upper()
    action = ACTION_OVERRIDES.get((endpoint, "GET" if method == "HEAD" else method))
    if action is None:
        action = f"{'write' if is_write(method) else 'read'}:{endpoint}"
    return action[:ACTION_LENGTH]


def action_label(action: str) -> str:
    """Return the German label of ``action`` (e.g. "Fall angesehen"), or a generic one that still
    says read or write and names the endpoint."""
    label = ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    kind, _, endpoint = action.partition(":")
    if kind == "write":
        return str(_l("Änderung (%(endpoint)s)", endpoint=endpoint))
    if kind == "read":
        return str(_l("Lesen (%(endpoint)s)", endpoint=endpoint))
    return action


def session_ref(session_token: str, user_id: int) -> str:
    """Return the reference of a login session: the first 32 hex digits of SHA-256 over the
    session's random token and the user id. Identifies the session in the log without holding
    anything that could be used as the cookie."""
    digest = hashlib.sha256(f"{session_token}:{user_id}".encode()).hexdigest()
    return digest[:SESSION_REF_LENGTH]


# -- the chain --------------------------------------------------------------------------------
class EntryFields(Protocol):
    """What the hash covers; an AuditEntry or any object with these attributes."""

    at: dt.datetime
    user_id: int | None
    on_behalf_of_id: int | None
    session_ref: str | None
    action: str
    client_id: int | None
    case_id: int | None
    detail: str


class ChainedEntry(EntryFields, Protocol):
    """An entry as stored: its fields, its id and both hashes."""

    id: int
    prev_hash: str
    hash: str


def normalise_moment(moment: dt.datetime) -> str:
    """Return ``moment`` as UTC ISO 8601 with microseconds (``2026-03-01T09:15:00.000000+00:00``).

    A naive value is taken as UTC: SQLite gives back stored moments without their zone, so the
    same entry hashes the same on SQLite and PostgreSQL.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical(prev_hash: str, fields: EntryFields) -> bytes:
    """Return the canonical serialisation of an entry: a compact JSON array of ``prev_hash``
    and the fields in a fixed order (at, user, on behalf of, session, action, client, case,
    detail), UTF-8. JSON quoting makes the separators unambiguous ("a,b" + "c" ≠ "a" + "b,c").
    It is ``[``, ``prev_hash`` as a JSON string, ``,`` and ``canonical_tail(fields)``."""
    return f"[{json.dumps(prev_hash, ensure_ascii=False)},{canonical_tail(fields)}".encode()


def canonical_tail(fields: EntryFields) -> str:
    """Return the part of ``canonical`` after ``prev_hash`` and its comma: the fields as the
    rest of the JSON array, with its closing bracket. PostgreSQL completes it with the head's
    hash inside the statement that appends the entry (``service.append``), so that reading the
    head and appending to it are one round trip; a hash is 64 hex digits, so its JSON string
    is the hash in double quotes there as here."""
    values = [
        normalise_moment(fields.at),
        fields.user_id,
        fields.on_behalf_of_id,
        fields.session_ref,
        fields.action,
        fields.client_id,
        fields.case_id,
        fields.detail or "",
    ]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))[1:]


def entry_hash(prev_hash: str, fields: EntryFields) -> str:
    """Return the SHA-256 hex digest (64 characters) of ``canonical(prev_hash, fields)``."""
    return hashlib.sha256(canonical(prev_hash, fields)).hexdigest()


class ProblemKind(StrEnum):
    """What is wrong with the chain at one entry."""

    ALTERED = "altered"  # the entry's fields do not give its hash
    BROKEN_LINK = "broken_link"  # prev_hash is not the previous entry's hash
    CUT = "cut"  # the head names an entry that is not the last one (or is missing)


PROBLEM_TEXTS = {
    ProblemKind.ALTERED: "entry was altered (its fields do not match its hash)",
    ProblemKind.BROKEN_LINK: (
        "chain broken before this entry (an entry was removed, inserted or reordered)"
    ),
    ProblemKind.CUT: "entries were cut from the end (the head names another last entry)",
}


@dataclass(frozen=True)
class Problem:
    """One finding of ``verify_chain``: the entry id (None for an empty log whose head names an
    entry) and what is wrong with it."""

    entry_id: int | None
    kind: ProblemKind
    detail: str = ""

    def __str__(self) -> str:
        where = f"entry {self.entry_id}" if self.entry_id is not None else "log"
        text = PROBLEM_TEXTS[self.kind]
        return f"{where}: {text}" + (f" ({self.detail})" if self.detail else "")


class ChainVerifier:
    """Checks a chain fed entry by entry in id order (so that millions of entries can be
    streamed in batches); ``finish`` compares the end with the head and returns the problems."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.count = 0
        self.last_id: int | None = None
        self.last_hash = GENESIS_HASH

    def feed(self, entry: ChainedEntry) -> None:
        """Check one entry against its own fields and against the entry before it."""
        self.count += 1
        if entry_hash(entry.prev_hash, entry) != entry.hash:
            self.problems.append(Problem(entry.id, ProblemKind.ALTERED))
        if entry.prev_hash != self.last_hash:
            self.problems.append(Problem(entry.id, ProblemKind.BROKEN_LINK))
        self.last_id = entry.id
        self.last_hash = entry.hash

    def finish(self, head_entry_id: int | None, head_hash: str | None) -> list[Problem]:
        """Compare the last entry with the head (``head_entry_id``, ``head_hash``; both None when
        the head row is missing) and return every problem found, in id order."""
        if head_hash is None:
            if self.count:
                self.problems.append(Problem(self.last_id, ProblemKind.CUT, "head row missing"))
        elif head_entry_id != self.last_id or head_hash != self.last_hash:
            self.problems.append(
                Problem(
                    head_entry_id,
                    ProblemKind.CUT,
                    f"last entry is {self.last_id if self.last_id is not None else 'none'}",
                )
            )
        return self.problems


def verify_chain(
    entries: Iterable[ChainedEntry],
    head_entry_id: int | None = None,
    head_hash: str | None = GENESIS_HASH,
) -> list[Problem]:
    """Return the problems of a chain of ``entries`` in id order, ended by the head
    (``head_entry_id``, ``head_hash``): an altered entry (hash mismatch), an entry removed,
    inserted or reordered (prev_hash mismatch, reported at the entry after the gap), entries cut
    from the end (head mismatch). An empty list means the chain is intact.

    The defaults describe the head of an empty log; pass ``head_hash=None`` for a missing head.
    """
    verifier = ChainVerifier()
    for entry in entries:
        verifier.feed(entry)
    return verifier.finish(head_entry_id, head_hash)
