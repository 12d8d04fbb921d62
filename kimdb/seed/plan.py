"""The rules of the generated world: scales, posts into people, caseloads, the shape of a case.

Plain functions over plain values and a seeded ``random.Random``: no Flask, no database, so
the rules are tested in microseconds (``tests/unit/test_seed_plan.py``).

Sources of the figures:

- Posts: ``kimdb/orgs/municipalities.csv``, column ``cm_posts_2022``: the posts the state
  funds per county and county-free city (Baustein 2; 713 in all). The generator staffs the
  funded posts, not the 367 posts filled on 30.09.2022 (seed 004): with the cases of a
  statewide installation (DESIGN.md §6: 713 × 60 ≈ 43,000 open cases) on the filled posts
  every case manager would carry twice the guideline, and no page would show a realistic
  caseload. The funded posts are what the state plans for, and what a full installation has.
- Caseload: 50–60 open cases per 1.0 FTE (R5, FAQ KIM NRW Q33); about one third of the cases
  is Case Management (R5).
- Volume: about 400,000 cases in five years statewide (DESIGN.md §6), i.e. ``CASES_PER_POST``
  cases per funded post, open and closed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from kimdb.cases.rules import CM_PATH, KB_PATH, CaseKind, ClosureReason, Stage

#: Cases (open and closed, five years) per funded post: 400,000 statewide over 713 posts.
STATE_CASES = 400_000
STATE_POSTS = 713
CASES_PER_POST = STATE_CASES / STATE_POSTS
#: Years of history: closed cases were opened and closed within this many years before today.
HISTORY_YEARS = 5
#: Share of Case Management among the cases (R5: "about one third").
CM_SHARE = 1 / 3
#: Open cases per 1.0 FTE: normal around OPEN_PER_FTE_MEAN; with the spread about 12 % of the
#: case managers are above the guideline's 60 and about 30 % below its 50 (R5).
OPEN_PER_FTE_MEAN = 53.0
OPEN_PER_FTE_SPREAD = 6.0
OPEN_PER_FTE_RANGE = (30.0, 75.0)
#: FTE values of case-management posts and how often they occur (weights).
FTE_CHOICES = (
    (Decimal("1.00"), 5),
    (Decimal("0.80"), 2),
    (Decimal("0.75"), 2),
    (Decimal("0.50"), 3),
)
MIN_FTE = Decimal("0.30")  # no post split is left with a smaller rest than this
CASE_MANAGERS_PER_TEAM = 6
#: Open cases whose last activity lies 31–120 days back (R6 flags them as inactive).
SILENT_SHARE = 0.12

#: The Münsterland (Regierungsbezirk Münster without the Ruhr cities): five municipalities with
#: 68 funded posts, a tenth of the state (9.5 %): the "county" scale of the benchmark.
MUENSTERLAND = (
    "Kreis Borken",
    "Kreis Coesfeld",
    "Kreis Steinfurt",
    "Kreis Warendorf",
    "Münster",
)
#: Three small cities for tests and the CI smoke run of the benchmark.
TINY = ("Bottrop", "Remscheid", "Solingen")


@dataclass(frozen=True)
class Scale:
    """A size of the generated installation.

    ``municipalities``: names from municipalities.csv (None: all 54). ``post_factor``: the
    funded posts are multiplied by it (1 = as funded). ``cases_per_post``: cases (open and
    closed, five years) per post after the factor.
    """

    name: str
    municipalities: tuple[str, ...] | None
    post_factor: Decimal = Decimal(1)
    cases_per_post: float = CASES_PER_POST

    def posts(self, funded: Decimal) -> Decimal:
        """Return the posts (FTE) a municipality with ``funded`` posts gets at this scale,
        rounded to 0.05 FTE, at least 0.5."""
        posts = (funded * self.post_factor / Decimal("0.05")).quantize(Decimal(1)) * Decimal("0.05")
        return max(posts, Decimal("0.50"))

    def selects(self, name: str) -> bool:
        """True if the municipality ``name`` belongs to this scale."""
        return self.municipalities is None or name in self.municipalities


SCALES = {
    "state": Scale("state", None),
    "county": Scale("county", MUENSTERLAND),
    # 3 × 1.80 FTE; about 1,000 cases, 290 of them open.
    "tiny": Scale("tiny", TINY, post_factor=Decimal("0.2"), cases_per_post=185.0),
}


def split_posts(posts: Decimal, rnd: random.Random) -> list[Decimal]:
    """Return the FTEs of the case managers who fill ``posts`` (FTE): they add up exactly.

    Each FTE is one of FTE_CHOICES (drawn by weight) or, for the last person, the rest; no
    one gets less than MIN_FTE unless ``posts`` itself is smaller. Raises ValueError for
    ``posts`` ≤ 0.
    """
    if posts <= 0:
        raise ValueError("posts must be positive")
    values = [v for v, _ in FTE_CHOICES]
    weights = [w for _, w in FTE_CHOICES]
    ftes: list[Decimal] = []
    rest = posts
    while rest > Decimal("1.00"):
        fitting = [(v, w) for v, w in zip(values, weights, strict=True) if rest - v >= MIN_FTE]
        if not fitting:  # between 1.00 and 1.00 + MIN_FTE: two halves of the rest
            half = (rest / 2).quantize(Decimal("0.01"))
            ftes += [half, rest - half]
            return ftes
        value = rnd.choices([v for v, _ in fitting], weights=[w for _, w in fitting])[0]
        ftes.append(value)
        rest -= value
    ftes.append(rest)
    return ftes


def open_case_target(fte: Decimal, rnd: random.Random) -> int:
    """Return how many open cases a case manager with ``fte`` holds: FTE × a value drawn
    around OPEN_PER_FTE_MEAN (R5 guideline 50–60 per 1.0 FTE; some above, some below)."""
    low, high = OPEN_PER_FTE_RANGE
    per_fte = min(high, max(low, rnd.gauss(OPEN_PER_FTE_MEAN, OPEN_PER_FTE_SPREAD)))
    return max(1, round(float(fte) * per_fte))


def distribute(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into whole parts proportional to ``weights`` (largest remainder):
    the parts add up to ``total`` exactly. Raises ValueError without a positive weight."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("no positive weight")
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def teams_for(case_managers: int) -> int:
    """Return the number of teams for ``case_managers`` (about CASE_MANAGERS_PER_TEAM each)."""
    return max(1, round(case_managers / CASE_MANAGERS_PER_TEAM))


def history_start(today: dt.date) -> dt.date:
    """Return the first day of the generated history: HISTORY_YEARS years before ``today``."""
    try:
        start = today.replace(year=today.year - HISTORY_YEARS)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - HISTORY_YEARS, day=28)
    return start + dt.timedelta(days=1)


@dataclass(frozen=True)
class CaseShape:
    """The course of one generated case, without its texts.

    ``stages``: the stages entered in order, the last being the current one; ``stage_days``:
    the day each was entered. ``consultation_days``: sorted, the first on ``opened_on``.
    ``last_on``: the last activity (for a closed case its closure day).
    """

    kind: CaseKind
    stages: tuple[Stage, ...]
    stage_days: tuple[dt.date, ...]
    opened_on: dt.date
    last_on: dt.date
    consultation_days: tuple[dt.date, ...]
    closure_reason: ClosureReason | None

    @property
    def stage(self) -> Stage:
        """The current stage."""
        return self.stages[-1]

    @property
    def closed(self) -> bool:
        """True for a closed case."""
        return self.stage is Stage.CLOSED

    def reached(self, stage: Stage) -> bool:
        """True if the case entered ``stage`` at some time."""
        return stage in self.stages

    def entered(self, stage: Stage) -> dt.date:
        """The day the case entered ``stage`` (which it reached)."""
        return self.stage_days[self.stages.index(stage)]


def between(rnd: random.Random, low: int, high: int) -> int:
    """Return a whole number from ``low`` to ``high`` (both included); ``rnd.randint`` costs
    three times as much, which counts at four million consultations."""
    return low + int(rnd.random() * (high - low + 1))


def _days_between(rnd: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=between(rnd, 0, max(0, (last - first).days)))


def case_shape(rnd: random.Random, today: dt.date, closed: bool) -> CaseShape:
    """Draw the course of a case that is ``closed`` or open on ``today``.

    Kind: CM with probability CM_SHARE (R5). Closed cases lie within the HISTORY_YEARS before
    ``today`` (KB 1 week to 4 months, CM 2 to 18 months); a quarter of the closed CM cases end
    before evaluation (contact broke off, moved away). Open KB cases are at most 4 months old,
    open CM cases at most 18 months; SILENT_SHARE of the open cases had no activity for 31–120
    days (R6). Consultations: closed CM 10–44, closed KB mostly 2–4 (about four million at
    state scale); a KB case closed after one consultation gets a reason that explains it (R3).
    Every stage reached has what R4 needs (the caller records needs and goals for the stages,
    see ``needs_required``).
    """
    kind = CaseKind.CASE_MANAGEMENT if rnd.random() < CM_SHARE else CaseKind.SHORT_COUNSELLING
    cm = kind is CaseKind.CASE_MANAGEMENT
    path = CM_PATH if cm else KB_PATH
    start = history_start(today)
    if closed:
        duration = int(60 + 480 * rnd.random() ** 1.3) if cm else int(7 + 110 * rnd.random() ** 1.5)
        latest_start = max(start, today - dt.timedelta(days=duration))
        opened = _days_between(rnd, start, latest_start)
        last = min(today, opened + dt.timedelta(days=duration))
        if cm:
            count = between(rnd, 10, 44)
        else:
            count = rnd.choices([1, 2, 3, 4, 5, 6, 8], weights=[8, 30, 25, 15, 10, 7, 5])[0]
        if cm and rnd.random() < 0.25:  # ended before evaluation
            stop = between(rnd, 1, len(path) - 2)
            reached = path[:stop] + (Stage.CLOSED,)
            reason = rnd.choice([ClosureReason.CONTACT_BROKE_OFF, ClosureReason.MOVED_AWAY])
            count = max(1, count * stop // (len(path) - 1))
        else:
            reached = path
            reason = None
        if reason is None:
            if not cm and count < 2:
                reason = rnd.choice([ClosureReason.CONTACT_BROKE_OFF, ClosureReason.MOVED_AWAY])
            else:
                reason = rnd.choice(
                    [ClosureReason.GOALS_ACHIEVED] * 4
                    + [ClosureReason.REFERRED, ClosureReason.MOVED_AWAY, ClosureReason.CLIENT_ENDED]
                )
    else:
        span = 540 if cm else 120
        opened = today - dt.timedelta(days=int(span * rnd.random() ** 1.2))
        if rnd.random() < SILENT_SHARE:
            last = today - dt.timedelta(days=between(rnd, 31, 120))
        else:
            last = today - dt.timedelta(days=between(rnd, 0, 25))
        last = max(last, opened)
        if cm:
            target = rnd.choices(path[:-1], weights=[10, 20, 20, 20, 25, 5])[0]
            count = max(1, min(36, round(rnd.uniform(0.6, 1.4) * (last - opened).days / 14)))
        else:
            target = rnd.choices(path[:-1], weights=[25, 75])[0]
            count = rnd.choice([1, 2, 2, 3])
        reached = path[: path.index(target) + 1]
        reason = None
    days = sorted(_days_between(rnd, opened, last) for _ in range(count))
    days[0] = opened
    if count > 1:
        days[-1] = last
    days.sort()
    span_days = (last - opened).days
    stage_days = tuple(
        opened + dt.timedelta(days=span_days * i // max(1, len(reached) - 1))
        for i in range(len(reached))
    )
    return CaseShape(
        kind=kind,
        stages=tuple(reached),
        stage_days=stage_days,
        opened_on=opened,
        last_on=last,
        consultation_days=tuple(days),
        closure_reason=reason,
    )


def needs_required(shape: CaseShape, rnd: random.Random) -> int:
    """Return how many needs to record: KB 1–2 (at most two in focus, R3); CM 2–5 once the
    assessment was reached (R4: at least one), else 0–1."""
    if shape.kind is CaseKind.SHORT_COUNSELLING:
        return between(rnd, 1, 2)
    return between(rnd, 2, 5) if shape.reached(Stage.ASSESSMENT) else between(rnd, 0, 1)


def goals_required(shape: CaseShape, rnd: random.Random) -> int:
    """Return how many agreed goals to record: 1–3 once planning was reached (R4), else 0."""
    return between(rnd, 1, 3) if shape.reached(Stage.PLANNING) else 0


def notes_count(shape: CaseShape, rnd: random.Random) -> int:
    """Return how many notes to write: CM 2–10, KB 0–5 (closed cases; open ones fewer)."""
    high = 10 if shape.kind is CaseKind.CASE_MANAGEMENT else 5
    low = 2 if shape.kind is CaseKind.CASE_MANAGEMENT else 0
    if not shape.closed:
        high = max(low, min(high, len(shape.consultation_days)))
    return between(rnd, low, high)
