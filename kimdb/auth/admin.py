"""Fachadministration: user accounts of the administrator's municipality (issue 5, item 8).

An administrator creates, edits, deactivates and reactivates the accounts of every organisation
of their own municipality (Kreis or kreisfreie Stadt), and sets initial passwords. The rules are
the small functions at the top, over plain values (no Flask, no session); the use cases below
load, call the rules and write in one transaction each.

Decisions documented here:
- User names are unique regardless of case: they are stored in lower case (the login lowers
  what is typed, ``kimdb.auth.service.authenticate``), letters a–z, digits and ``. _ - @``.
- An administrator can neither deactivate nor demote themself, so a municipality always keeps
  the administrator who is acting; other administrators can be changed.
- A person who still owns open cases keeps role and organisation until a supervisor has
  reassigned the cases: otherwise the cases would drop out of their supervisors' dashboard
  (``kimdb.caseload.service.supervisor_dashboard`` lists the case managers supervised by
  organisation or team). Deactivating them is allowed: the dashboard keeps listing them,
  tagged "deaktiviert", while they hold open cases.
- Setting a password or deactivating an account ends every session of the account (a new
  session token, as ``kimdb.auth.service.end_sessions``), so a reactivated account does not
  revive an old cookie either.
- Administrators see no client data (R8): per account only the number of open cases.
- A person belongs to at most one team, of their own organisation. A supervisor supervises
  one or more organisations or teams of the administrator's municipality (``Supervision`` rows,
  replaced as a whole on save); at least one. Other roles have no supervisions: a change of
  role away from supervisor removes them.
- The FTE is set in the account form only when the account is created (valid from that day).
  Later changes go through ``change_fte`` with the day they take effect (issue 5, item 3), so
  that caseload bands of earlier days keep the FTE valid then. The day may lie in the past or
  the future, but at most FTE_HISTORY_YEARS (5) years before the account's first recorded FTE
  (older history is not worth typing and is most likely a typo) and at most FTE_PLANNING_YEARS
  (2) years after today (a typo such as 2062). A second change on the same day replaces the
  first.
- Deactivating a person ends the running and future substitutions in which they are the
  substitute (they cannot log in to work them); substitutions for their own absence stay, so
  their cases stay covered. Their open cases stay with them until a supervisor reassigns them.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from kimdb.auth.models import FtePeriod, Role, Supervision, User
from kimdb.auth.service import MIN_PASSWORD_LENGTH, hash_password
from kimdb.cases.models import Case
from kimdb.cases.rules import Stage
from kimdb.extensions import db, transaction
from kimdb.i18n import lazy_gettext as _l
from kimdb.orgs.models import Organisation, Team
from kimdb.rules import RuleViolation, clean_name
from kimdb.substitution.models import Substitution
from kimdb.timeutil import now, today

USERNAME_MAX = 80  # characters, the column's length
DISPLAY_NAME_MAX = 120  # characters, the column's length
PASSWORD_MAX = 200  # characters; Argon2 hashes any length, this bounds the work per request
FTE_MIN = Decimal("0.10")
FTE_MAX = Decimal("1.00")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]*")
_FTE = re.compile(r"\d{1,3}(?:[.,]\d+)?")
FTE_HISTORY_YEARS = 5  # an FTE change may take effect this long before the first one
FTE_PLANNING_YEARS = 2  # ... and this long after today
_TAKEN = _l("Dieser Benutzername ist bereits vergeben.")
_OUTSIDE_SCOPE = _l("Bitte nur Organisationen und Teams Ihres Kreises bzw. Ihrer Stadt wählen.")
_SCOPE = re.compile(r"(organisation|team):(\d{1,10})")


class AccountRefused(RuleViolation):
    """A user account cannot be created or changed as asked; the message says why."""


# -- rules ------------------------------------------------------------------------------------
def clean_username(username: str | None) -> str:
    """Return ``username`` trimmed and in lower case; raise AccountRefused (field ``username``)
    if it is empty, longer than 80 characters or holds other characters than a–z, 0–9 and
    ``. _ - @``."""
    name = (username or "").strip().lower()
    if not name:
        raise AccountRefused(_l("Bitte einen Benutzernamen angeben."), field="username")
    if len(name) > USERNAME_MAX:
        raise AccountRefused(
            _l("Der Benutzername darf höchstens %(max)d Zeichen haben.", max=USERNAME_MAX),
            field="username",
        )
    if not _USERNAME.fullmatch(name):
        raise AccountRefused(
            _l(
                "Der Benutzername darf nur Buchstaben a–z, Ziffern und . _ - @ enthalten "
                "(keine Umlaute, keine Leerzeichen)."
            ),
            field="username",
        )
    return name


def check_username_free(holder_id: int | None, account_id: int | None = None) -> None:
    """Raise AccountRefused (field ``username``) if the user name is held by another account.

    ``holder_id`` is the id of the account holding the name (None if nobody does);
    ``account_id`` the account being edited (None when creating one).
    """
    if holder_id is not None and holder_id != account_id:
        raise AccountRefused(_TAKEN, field="username")


def clean_display_name(display_name: str | None) -> str:
    """Return the name shown in kimdb, inner spaces collapsed; raise AccountRefused (field
    ``display_name``) if it is empty or longer than 120 characters."""
    return clean_name(
        display_name,
        max_length=DISPLAY_NAME_MAX,
        missing=_l("Bitte den Namen angeben."),
        field="display_name",
        error=AccountRefused,
    )


# The roles a municipality's administrator gives. State accounts (statewide statistics) are
# not theirs to make: the operator creates them with `flask kimdb create-user --role state`.
MUNICIPAL_ROLES = (Role.CASE_MANAGER, Role.SUPERVISOR, Role.ADMIN, Role.DPO)


def parse_role(value: Role | str | None) -> Role:
    """Return the role named by ``value`` (a ``Role`` or its code) if an administrator may give
    it (``MUNICIPAL_ROLES``); raise AccountRefused (field ``role``) for anything else."""
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role not in MUNICIPAL_ROLES:
        raise AccountRefused(_l("Bitte eine der angebotenen Rollen wählen."), field="role")
    return role


def parse_fte(text: str | None) -> Decimal:
    """Return the full-time equivalent typed as ``text``: German decimal comma or point
    ("0,5", "0.75", "1"). Raise AccountRefused (field ``fte``) if it is not such a number or
    not a valid FTE (see ``check_fte``)."""
    value = (text or "").strip()
    if not _FTE.fullmatch(value):
        raise AccountRefused(
            _l("Bitte den Stellenumfang als Zahl angeben, z. B. 0,5 oder 1,0."), field="fte"
        )
    fte = Decimal(value.replace(",", "."))
    check_fte(fte)
    return fte


def check_fte(fte: Decimal | None) -> None:
    """Raise AccountRefused (field ``fte``) unless ``fte`` lies within 0.10–1.00 full-time
    equivalents with at most two decimals (the ``users.fte`` column, DESIGN.md §2 "VZÄ")."""
    if fte is None or not fte.is_finite() or not FTE_MIN <= fte <= FTE_MAX:
        raise AccountRefused(
            _l("Der Stellenumfang muss zwischen 0,10 und 1,00 VZÄ liegen (z. B. 0,5)."),
            field="fte",
        )
    if fte != fte.quantize(Decimal("0.01")):
        raise AccountRefused(
            _l("Bitte den Stellenumfang mit höchstens zwei Nachkommastellen angeben."),
            field="fte",
        )


def check_password(password: str | None, field: str = "password") -> None:
    """Raise AccountRefused (at ``field``) if ``password`` is shorter than
    MIN_PASSWORD_LENGTH or longer than PASSWORD_MAX characters."""
    length = len(password or "")
    if length < MIN_PASSWORD_LENGTH:
        raise AccountRefused(
            _l(
                "Das Passwort muss mindestens %(min)d Zeichen lang sein.",
                min=MIN_PASSWORD_LENGTH,
            ),
            field=field,
        )
    if length > PASSWORD_MAX:
        raise AccountRefused(
            _l("Das Passwort darf höchstens %(max)d Zeichen lang sein.", max=PASSWORD_MAX),
            field=field,
        )


def check_in_municipality(
    organisation_municipality_id: int | None, admin_municipality_id: int
) -> None:
    """Raise AccountRefused (field ``organisation_id``) unless the chosen organisation exists
    (``organisation_municipality_id`` is not None) and lies in the administrator's
    municipality."""
    if organisation_municipality_id != admin_municipality_id:
        raise AccountRefused(
            _l("Bitte eine Organisation Ihres Kreises bzw. Ihrer Stadt wählen."),
            field="organisation_id",
        )


def check_not_self_demotion(admin_id: int, account_id: int, role: Role) -> None:
    """Raise AccountRefused (field ``role``) if an administrator takes their own admin role."""
    if admin_id == account_id and role is not Role.ADMIN:
        raise AccountRefused(
            _l(
                "Sie können sich nicht selbst die Rolle Fachadministration entziehen. "
                "Bitten Sie eine andere Person der Fachadministration darum."
            ),
            field="role",
        )


def check_not_self_deactivation(admin_id: int, account_id: int) -> None:
    """Raise AccountRefused (for the whole form) if an administrator deactivates themself."""
    if admin_id == account_id:
        raise AccountRefused(
            _l(
                "Sie können Ihr eigenes Konto nicht deaktivieren. "
                "Bitten Sie eine andere Person der Fachadministration darum."
            )
        )


def check_open_cases_keep_their_place(
    open_cases: int,
    role: Role,
    new_role: Role,
    organisation_id: int,
    new_organisation_id: int,
) -> None:
    """Raise AccountRefused if a person with ``open_cases`` open cases would leave the case
    manager role or their organisation: the cases would drop out of the organisation's
    caseload table (R5, R7). A supervisor reassigns them first."""
    if open_cases == 0:
        return
    if role is Role.CASE_MANAGER and new_role is not Role.CASE_MANAGER:
        raise AccountRefused(
            _l(
                "Offene Fälle dieser Person: %(num)d. Die Rolle kann erst geändert werden, "
                "wenn die Koordination alle neu zugewiesen hat.",
                num=open_cases,
            ),
            field="role",
        )
    if organisation_id != new_organisation_id:
        raise AccountRefused(
            _l(
                "Offene Fälle dieser Person: %(num)d. Die Organisation kann erst gewechselt "
                "werden, wenn die Koordination alle neu zugewiesen hat.",
                num=open_cases,
            ),
            field="organisation_id",
        )


def check_team_of_organisation(team_organisation_id: int | None, organisation_id: int) -> None:
    """Raise AccountRefused (field ``team_id``) unless the chosen team exists
    (``team_organisation_id`` is not None) and belongs to the organisation chosen for the
    person (issue 5, item 1)."""
    if team_organisation_id != organisation_id:
        raise AccountRefused(
            _l("Bitte ein Team der gewählten Organisation wählen – oder „kein Team“."),
            field="team_id",
        )


def parse_supervised(values: list[str] | None) -> set[tuple[str, int]]:
    """Return the supervised scopes named by ``values`` ("organisation:<id>" or "team:<id>")
    as a set of (kind, id). Raise AccountRefused (field ``supervised``) for anything else."""
    scopes = set()
    for value in values or []:
        match = _SCOPE.fullmatch(str(value))
        if match is None:
            raise AccountRefused(_OUTSIDE_SCOPE, field="supervised")
        scopes.add((match[1], int(match[2])))
    return scopes


def check_supervised(role: Role, scopes: set | list) -> None:
    """Raise AccountRefused (field ``supervised``) if a supervisor is given no organisation and
    no team to supervise (issue 5, item 1)."""
    if role is Role.SUPERVISOR and not scopes:
        raise AccountRefused(
            _l(
                "Bitte mindestens eine Organisation oder ein Team wählen, für die die "
                "Koordination zuständig ist."
            ),
            field="supervised",
        )


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def fte_dates_allowed(first_day: dt.date | None, on: dt.date) -> tuple[dt.date, dt.date]:
    """Return (earliest, latest) day an FTE change may take effect, for an account whose first
    recorded FTE period begins ``first_day`` (None: no period yet), decided on day ``on``:
    FTE_HISTORY_YEARS before the first period (or before ``on``) up to FTE_PLANNING_YEARS
    after ``on``."""
    earliest = _years_before(min(first_day or on, on), FTE_HISTORY_YEARS)
    latest = _years_before(on, -FTE_PLANNING_YEARS)
    return earliest, latest


def check_fte_valid_from(
    valid_from: dt.date | None, first_day: dt.date | None, on: dt.date
) -> None:
    """Raise AccountRefused (field ``valid_from``) if ``valid_from`` is missing or outside
    ``fte_dates_allowed(first_day, on)`` (issue 5, item 3)."""
    if valid_from is None:
        raise AccountRefused(
            _l("Bitte das Datum angeben, ab dem der neue Stellenumfang gilt (TT.MM.JJJJ)."),
            field="valid_from",
        )
    earliest, latest = fte_dates_allowed(first_day, on)
    if valid_from < earliest:
        raise AccountRefused(
            _l(
                "Das Datum darf höchstens %(years)d Jahre vor dem ersten erfassten "
                "Stellenumfang liegen (frühestens %(day)s).",
                years=FTE_HISTORY_YEARS,
                day=earliest.strftime("%d.%m.%Y"),
            ),
            field="valid_from",
        )
    if valid_from > latest:
        raise AccountRefused(
            _l(
                "Das Datum darf höchstens %(years)d Jahre in der Zukunft liegen "
                "(spätestens %(day)s).",
                years=FTE_PLANNING_YEARS,
                day=latest.strftime("%d.%m.%Y"),
            ),
            field="valid_from",
        )


def ends_with_deactivation(last_day: dt.date, ended: bool, on: dt.date) -> bool:
    """True if a substitution in which the deactivated person is the substitute ends with the
    deactivation on day ``on``: it is not ended yet and runs or lies ahead (``last_day`` not
    before ``on``). Past substitutions stay as they were (R7)."""
    return not ended and last_day >= on


# -- reading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountRow:
    """One line of the administrator's user list: the account and its open cases (a count)."""

    user: User
    open_cases: int


def _open_case():
    """A SQL condition on ``Case``: the case is open (not closed, R5)."""
    return Case.stage != Stage.CLOSED


def _open_case_counts():
    """A subquery: open cases per owner (``owner_id``, ``open_cases``); counts only (R8)."""
    return (
        select(Case.owner_id, func.count(Case.id).label("open_cases"))
        .where(_open_case())
        .group_by(Case.owner_id)
        .subquery()
    )


def _municipality_id(admin: User) -> int:
    return admin.organisation.municipality_id


def users_of(admin: User) -> list[AccountRow]:
    """Return the accounts of every organisation in ``admin``'s municipality with their team,
    FTE periods and number of open cases, sorted by organisation and name. Two queries (the
    accounts with open cases grouped by owner; the FTE periods of all of them)."""
    counts = _open_case_counts()
    rows = db.session.execute(
        select(User, func.coalesce(counts.c.open_cases, 0))
        .join(User.organisation)
        .outerjoin(User.team)
        .outerjoin(counts, counts.c.owner_id == User.id)
        .where(Organisation.municipality_id == _municipality_id(admin))
        .options(
            contains_eager(User.organisation),
            contains_eager(User.team),
            selectinload(User.fte_periods),
        )
        .order_by(Organisation.name, User.display_name, User.id)
    ).all()
    return [AccountRow(user=u, open_cases=int(n)) for u, n in rows]


def open_case_count(user: User) -> int:
    """Return how many open cases ``user`` owns (a count only, R8)."""
    return db.session.scalar(
        select(func.count(Case.id)).where(Case.owner_id == user.id, _open_case())
    )


def managed_user(admin: User, user_id: int) -> User | None:
    """Return the account ``user_id`` if it belongs to ``admin``'s municipality, else None."""
    user = db.session.get(User, user_id)
    if user is None or user.organisation.municipality_id != _municipality_id(admin):
        return None
    return user


def organisations_of(admin: User) -> list[Organisation]:
    """Return the organisations of ``admin``'s municipality, sorted by name."""
    return list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.municipality_id == _municipality_id(admin))
            .order_by(Organisation.name)
        )
    )


def organisations_with_teams(admin: User) -> list[Organisation]:
    """Return the organisations of ``admin``'s municipality, sorted by name, their teams
    loaded (sorted by name): the choices of team and supervision in the account form."""
    return list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.municipality_id == _municipality_id(admin))
            .options(selectinload(Organisation.teams))
            .order_by(Organisation.name)
        )
    )


def supervised_values(user: User) -> list[str]:
    """Return ``user``'s supervisions as the account form names them ("organisation:<id>",
    "team:<id>")."""
    return [
        f"organisation:{s.organisation_id}" if s.organisation_id else f"team:{s.team_id}"
        for s in user.supervisions
    ]


def fte_history(user: User) -> list[FtePeriod]:
    """Return ``user``'s FTE periods, latest first (valid_from, fte)."""
    return sorted(user.fte_periods, key=lambda p: p.valid_from, reverse=True)


def _valid_id(value: int | None) -> bool:
    return value is not None and 0 < value < 2**31


def _organisation_in_municipality(admin: User, organisation_id: int | None) -> Organisation:
    organisation = (
        db.session.get(Organisation, organisation_id) if _valid_id(organisation_id) else None
    )
    check_in_municipality(
        organisation.municipality_id if organisation else None, _municipality_id(admin)
    )
    return organisation


def _team_of(organisation: Organisation, team_id: int | None) -> Team | None:
    """The team ``team_id`` of ``organisation``; None for no team. Raises AccountRefused."""
    if team_id is None:
        return None
    team = db.session.get(Team, team_id) if _valid_id(team_id) else None
    check_team_of_organisation(team.organisation_id if team else None, organisation.id)
    return team


def _supervised_scopes(
    admin: User, role: Role, values: list[str]
) -> set[tuple[int | None, int | None]]:
    """The (organisation_id, team_id) pairs named by ``values``, all in ``admin``'s
    municipality; empty for other roles than supervisor. Raises AccountRefused."""
    scopes = parse_supervised(values)
    if role is not Role.SUPERVISOR:
        return set()
    check_supervised(role, scopes)
    municipality_id = _municipality_id(admin)
    pairs = set()
    for kind, scope_id in scopes:
        model = Organisation if kind == "organisation" else Team
        found = db.session.get(model, scope_id) if _valid_id(scope_id) else None
        organisation = found if kind == "organisation" else (found.organisation if found else None)
        if organisation is None or organisation.municipality_id != municipality_id:
            raise AccountRefused(_OUTSIDE_SCOPE, field="supervised")
        pairs.add((scope_id, None) if kind == "organisation" else (None, scope_id))
    return pairs


def _replace_supervisions(user: User, wanted: set[tuple[int | None, int | None]]) -> None:
    """Make ``user``'s supervisions exactly ``wanted``: keep rows still wanted (no delete and
    insert of the same row, which the unique constraint would refuse within one flush)."""
    for supervision in list(user.supervisions):
        pair = (supervision.organisation_id, supervision.team_id)
        if pair in wanted:
            wanted = wanted - {pair}
        else:
            user.supervisions.remove(supervision)
    for organisation_id, team_id in sorted(wanted, key=lambda p: (p[0] or 0, p[1] or 0)):
        user.supervisions.append(Supervision(organisation_id=organisation_id, team_id=team_id))


def _check_manages(admin: User, user: User) -> None:
    check_in_municipality(user.organisation.municipality_id, _municipality_id(admin))


def _holder_of(username: str) -> int | None:
    return db.session.scalar(select(User.id).where(User.username == username))


def _new_session_token() -> str:
    # The same as kimdb.auth.service.end_sessions, but inside the caller's transaction.
    return secrets.token_hex(16)


# -- use cases --------------------------------------------------------------------------------
def create_user_account(
    admin: User,
    *,
    username: str,
    display_name: str,
    role: Role | str,
    organisation_id: int | None,
    fte: Decimal | None,
    password: str,
    active: bool = True,
    team_id: int | None = None,
    supervised: list[str] | None = None,
) -> User:
    """Create and return an account in an organisation of ``admin``'s municipality.

    ``fte`` in full-time equivalents (0.10–1.00), valid from today; ``password`` the initial
    password (at least MIN_PASSWORD_LENGTH characters); ``team_id`` a team of the organisation
    or None; ``supervised`` for a supervisor the organisations and teams they supervise
    ("organisation:<id>", "team:<id>"; None: their own organisation). Raises AccountRefused for
    a user name that is malformed or taken (case-insensitive), an unknown role, an organisation
    outside the municipality, a team of another organisation, a supervisor without or with a
    foreign scope, an FTE out of range or a short password; nothing is written then.
    """
    username = clean_username(username)
    check_username_free(_holder_of(username))
    display_name = clean_display_name(display_name)
    role = parse_role(role)
    organisation = _organisation_in_municipality(admin, organisation_id)
    team = _team_of(organisation, team_id)
    if supervised is None:  # supervises their organisation until told otherwise
        scopes = {(organisation.id, None)} if role is Role.SUPERVISOR else set()
    else:
        scopes = _supervised_scopes(admin, role, supervised)
    check_fte(fte)
    check_password(password)
    password_hash = hash_password(password)
    try:
        with transaction() as session:
            user = User(
                username=username,
                display_name=display_name,
                role=role,
                organisation=organisation,
                team=team,
                fte=fte,
                active=active,
                password_hash=password_hash,
                session_token=_new_session_token(),
            )
            _replace_supervisions(user, scopes)
            session.add(user)
            session.flush()
    except IntegrityError as exc:  # the same name taken at the same moment
        raise AccountRefused(_TAKEN, field="username") from exc
    return user


def update_user_account(
    admin: User,
    user: User,
    *,
    username: str,
    display_name: str,
    role: Role | str,
    organisation_id: int | None,
    team_id: int | None = None,
    supervised: list[str] | None = None,
) -> User:
    """Change an account of ``admin``'s municipality: user name, name, role, organisation,
    team and, for a supervisor, what they supervise (``supervised`` as in
    ``create_user_account``; None keeps the supervisions, or gives a new supervisor their
    organisation). The FTE changes through ``change_fte``.

    Raises AccountRefused as ``create_user_account`` does, and when an administrator would
    take their own admin role, or a person with open cases would change role or
    organisation before the cases are reassigned; nothing is written then. A change of role or
    organisation ends the substitutions the person would still do and their emergency accesses.
    """
    _check_manages(admin, user)
    username = clean_username(username)
    check_username_free(_holder_of(username), user.id)
    display_name = clean_display_name(display_name)
    role = parse_role(role)
    check_not_self_demotion(admin.id, user.id, role)
    organisation = _organisation_in_municipality(admin, organisation_id)
    check_open_cases_keep_their_place(
        open_case_count(user), user.role, role, user.organisation_id, organisation.id
    )
    team = _team_of(organisation, team_id)
    if supervised is not None:
        scopes = _supervised_scopes(admin, role, supervised)
    elif role is not Role.SUPERVISOR:
        scopes = set()
    else:
        scopes = {(s.organisation_id, s.team_id) for s in user.supervisions} or {
            (organisation.id, None)
        }
    moved = role is not user.role or organisation.id != user.organisation_id
    try:
        with transaction():
            if moved:  # a substitute changing organisation or role stops substituting (R7, R8)
                _end_substitutions_by(user)
                _end_emergency_accesses_of(user)
            user.username = username
            user.display_name = display_name
            user.role = role
            user.organisation = organisation
            user.team = team
            _replace_supervisions(user, scopes)
    except IntegrityError as exc:
        raise AccountRefused(_TAKEN, field="username") from exc
    return user


def set_password(admin: User, user: User, password: str) -> None:
    """Give ``user`` a new initial password and end all their sessions (also ``admin``'s own
    when they set their own password). Raises AccountRefused for a password shorter than
    MIN_PASSWORD_LENGTH characters (field ``password``)."""
    _check_manages(admin, user)
    check_password(password)
    password_hash = hash_password(password)
    with transaction():
        user.password_hash = password_hash
        user.session_token = _new_session_token()


def change_fte(admin: User, user: User, fte: Decimal | None, valid_from: dt.date | None) -> None:
    """Record that ``user``'s FTE (full-time equivalents, 0.10–1.00) is ``fte`` from day
    ``valid_from`` on; a change already recorded for that day is replaced (issue 5, item 3).

    Caseload bands and trends of each day use the FTE valid on that day. Raises AccountRefused
    for an FTE out of range (field ``fte``) or a missing day or one outside
    ``fte_dates_allowed`` (field ``valid_from``); nothing is written then.
    """
    _check_manages(admin, user)
    check_fte(fte)
    first_day = min((p.valid_from for p in user.fte_periods), default=None)
    check_fte_valid_from(valid_from, first_day, today())
    with transaction():
        user.set_fte(fte, valid_from)


def deactivate(admin: User, user: User) -> int:
    """Deactivate ``user``: they cannot log in, and their sessions end at the next request.

    In the same transaction, the running and future substitutions in which ``user`` is the
    substitute end (``ends_with_deactivation``); those for ``user``'s own absence stay. Their
    open cases stay with them and show on the supervisor's caseload table until reassigned.
    Returns the number of substitutions ended. Raises AccountRefused if ``admin`` deactivates
    themself.
    """
    _check_manages(admin, user)
    check_not_self_deactivation(admin.id, user.id)
    with transaction():
        ended = _end_substitutions_by(user)
        _end_emergency_accesses_of(user)
        user.active = False
        user.session_token = _new_session_token()
    return ended


def _end_substitutions_by(user: User) -> int:
    """End (inside the caller's transaction) the running and future substitutions in which
    ``user`` is the substitute (``ends_with_deactivation``, in SQL); return how many."""
    substitutions = db.session.scalars(
        select(Substitution).where(
            Substitution.substitute_id == user.id,
            Substitution.ended_at.is_(None),
            Substitution.last_day >= today(),
        )
    ).all()
    moment = now()
    for substitution in substitutions:
        substitution.ended_at = moment
    return len(substitutions)


def _end_emergency_accesses_of(user: User) -> None:
    """End (inside the caller's transaction) ``user``'s running emergency accesses, so a
    reactivated account does not find them open again."""
    from kimdb.emergency.models import EmergencyAccess

    moment = now()
    for access in db.session.scalars(
        select(EmergencyAccess).where(
            EmergencyAccess.supervisor_id == user.id,
            EmergencyAccess.ended_at.is_(None),
            EmergencyAccess.expires_at > moment,
        )
    ):
        access.ended_at = moment


def reactivate(admin: User, user: User) -> None:
    """Let ``user`` log in again (with the password they had)."""
    _check_manages(admin, user)
    with transaction():
        user.active = True


def reset_second_factor(admin: User, user: User) -> None:
    """Remove ``user``'s authenticator app (a lost phone) and end all their sessions.

    At the next login they set up a new app if their role requires the two-factor login
    (``kimdb.auth.totp.second_step``); otherwise they log in with the password alone until
    they set one up again. Source: issue 6 item 7.
    """
    _check_manages(admin, user)
    with transaction():
        user.totp_secret = None
        user.totp_enabled_at = None
        user.totp_last_step = None
        user.session_token = _new_session_token()
