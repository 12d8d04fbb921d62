"""The audit chain's rules without the app (issue 6 item 3): hashing and verification."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from kimdb.audit import rules
from kimdb.audit.rules import GENESIS_HASH, ProblemKind, entry_hash, verify_chain


@dataclasses.dataclass
class Entry:
    id: int
    at: dt.datetime
    user_id: int | None
    on_behalf_of_id: int | None
    session_ref: str | None
    action: str
    client_id: int | None
    case_id: int | None
    detail: str
    prev_hash: str = ""
    hash: str = ""


def chain(n: int) -> list[Entry]:
    """Return ``n`` correctly chained entries with ids 1..n."""
    entries, prev = [], GENESIS_HASH
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    for i in range(1, n + 1):
        entry = Entry(
            i, start + dt.timedelta(seconds=i), 7, None, "ab" * 16, "read:cases.show", 3, 5, ""
        )
        entry.prev_hash = prev
        entry.hash = prev = entry_hash(prev, entry)
        entries.append(entry)
    return entries


def head(entries):
    return (entries[-1].id, entries[-1].hash) if entries else (None, GENESIS_HASH)


def kinds(problems):
    return [(p.entry_id, p.kind) for p in problems]


def test_hash_is_deterministic_and_a_hex_sha256():
    a, b = chain(1)[0], chain(1)[0]
    assert entry_hash(GENESIS_HASH, a) == entry_hash(GENESIS_HASH, b) == a.hash
    assert len(a.hash) == 64 and int(a.hash, 16) >= 0


def test_hash_is_the_same_for_the_same_moment_with_or_without_zone():
    """SQLite gives back naive UTC, PostgreSQL an aware moment in its session zone."""
    entry = chain(1)[0]
    naive = dataclasses.replace(entry, at=entry.at.replace(tzinfo=None))
    berlin = dataclasses.replace(entry, at=entry.at.astimezone(ZoneInfo("Europe/Berlin")))
    assert entry_hash(GENESIS_HASH, naive) == entry_hash(GENESIS_HASH, berlin) == entry.hash
    assert rules.normalise_moment(entry.at) == "2026-03-01T09:00:01.000000+00:00"


def test_every_field_and_the_previous_hash_count():
    entry = chain(1)[0]
    changes = dict(
        at=entry.at + dt.timedelta(microseconds=1),
        user_id=8,
        on_behalf_of_id=1,
        session_ref="cd" * 16,
        action="write:cases.show",
        client_id=4,
        case_id=None,
        detail="x",
    )
    for name, value in changes.items():
        changed = dataclasses.replace(entry, **{name: value})
        assert entry_hash(GENESIS_HASH, changed) != entry.hash, name
    assert entry_hash("1" * 64, entry) != entry.hash


def test_separators_are_unambiguous():
    entry = chain(1)[0]
    a = dataclasses.replace(entry, action="read:a", detail="b,c")
    b = dataclasses.replace(entry, action="read:a,b", detail="c")
    assert entry_hash(GENESIS_HASH, a) != entry_hash(GENESIS_HASH, b)


def test_an_intact_chain_has_no_problems():
    entries = chain(5)
    assert verify_chain(entries, *head(entries)) == []
    assert verify_chain([]) == []


def test_an_altered_field_is_reported_at_its_entry():
    entries = chain(5)
    entries[1].action = "x"
    assert kinds(verify_chain(entries, *head(entries))) == [(2, ProblemKind.ALTERED)]


def test_an_altered_entry_with_a_recomputed_hash_breaks_the_next_link():
    entries = chain(5)
    entries[1].client_id = 99
    entries[1].hash = entry_hash(entries[1].prev_hash, entries[1])
    assert kinds(verify_chain(entries, *head(entries))) == [(3, ProblemKind.BROKEN_LINK)]


def test_a_removed_entry_is_reported_at_the_next_one():
    entries = chain(5)
    del entries[2]
    assert kinds(verify_chain(entries, *head(entries))) == [(4, ProblemKind.BROKEN_LINK)]


def test_a_removed_first_entry_is_reported():
    entries = chain(3)[1:]
    assert kinds(verify_chain(entries, *head(entries))) == [(2, ProblemKind.BROKEN_LINK)]


def test_reordered_entries_are_reported():
    entries = chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    problems = kinds(verify_chain(entries, *head(entries)))
    assert (3, ProblemKind.BROKEN_LINK) in problems and (2, ProblemKind.BROKEN_LINK) in problems


def test_a_cut_tail_is_reported_by_the_head():
    entries = chain(5)
    full_head = head(entries)
    problems = verify_chain(entries[:3], *full_head)
    assert kinds(problems) == [(5, ProblemKind.CUT)]
    assert "last entry is 3" in str(problems[0])


def test_an_emptied_log_with_a_head_is_reported():
    entries = chain(2)
    assert kinds(verify_chain([], *head(entries))) == [(2, ProblemKind.CUT)]


def test_a_missing_head_is_reported_when_entries_exist():
    entries = chain(2)
    assert kinds(verify_chain(entries, None, None)) == [(2, ProblemKind.CUT)]


def test_audited_endpoints_and_actions():
    assert rules.is_audited("cases.show")
    assert rules.is_audited("privacy.export")  # a new route of the blueprint is covered
    assert rules.is_audited("substitution.takeover")
    assert not rules.is_audited("substitution.substitutions")
    assert not rules.is_audited("audit.index")
    assert not rules.is_audited(None)
    assert rules.action_for("cases.show", "GET") == "read:cases.show"
    assert rules.action_for("cases.add_note", "POST") == "write:cases.add_note"
    assert rules.action_for("emergency.index", "POST") == "write:emergency.open"
    assert rules.action_label("read:cases.show") == "Fall angesehen"
    assert "privacy.export" in rules.action_label("read:privacy.export")


def test_session_ref_is_32_hex_digits_and_depends_on_token_and_user():
    ref = rules.session_ref("token", 1)
    assert len(ref) == 32 and int(ref, 16) >= 0
    assert ref != rules.session_ref("token", 2) != rules.session_ref("other", 1)
    assert "token" not in ref
