"""The rules of the generated world (issue 8 item 1), without a database."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from kimdb.cases.rules import (
    CM_PATH,
    EARLY_KB_CLOSURE_REASONS,
    KB_MIN_CONSULTATIONS,
    KB_PATH,
    CaseKind,
    Stage,
)
from kimdb.orgs.service import municipalities_from_csv
from kimdb.seed import plan, seed_totp_secret, slug

TODAY = dt.date(2026, 11, 23)


def test_the_state_scale_funds_713_posts_in_54_municipalities():
    entries = [e for e in municipalities_from_csv() if plan.SCALES["state"].selects(e.name)]
    assert len(entries) == 54
    assert sum(plan.SCALES["state"].posts(e.cm_posts_2022) for e in entries) == 713


def test_the_county_scale_is_the_muensterland_a_tenth_of_the_state():
    county = plan.SCALES["county"]
    entries = [e for e in municipalities_from_csv() if county.selects(e.name)]
    assert sorted(e.name for e in entries) == sorted(plan.MUENSTERLAND)
    posts = sum(county.posts(e.cm_posts_2022) for e in entries)
    assert posts == 68
    assert 36_000 < float(posts) * county.cases_per_post < 42_000


@pytest.mark.parametrize("scale", ["state", "county", "tiny"])
def test_case_managers_fill_the_posts_exactly(scale):
    rnd = random.Random(3)
    for entry in municipalities_from_csv():
        if not plan.SCALES[scale].selects(entry.name):
            continue
        posts = plan.SCALES[scale].posts(entry.cm_posts_2022)
        ftes = plan.split_posts(posts, rnd)
        assert sum(ftes) == posts
        assert all(Decimal("0.10") <= f <= Decimal("1.00") for f in ftes)


@pytest.mark.parametrize("posts", ["0.5", "1.0", "1.1", "1.25", "1.3", "2.05", "9", "18"])
def test_no_rest_smaller_than_the_minimum_is_left(posts):
    for seed in range(50):
        ftes = plan.split_posts(Decimal(posts), random.Random(seed))
        assert sum(ftes) == Decimal(posts)
        assert min(ftes) >= min(plan.MIN_FTE / 2, Decimal(posts)), ftes


def test_split_posts_refuses_no_posts():
    with pytest.raises(ValueError):
        plan.split_posts(Decimal(0), random.Random(1))


def test_open_cases_spread_around_the_guideline_some_above():
    rnd = random.Random(5)
    loads = [plan.open_case_target(Decimal("1.00"), rnd) for _ in range(2000)]
    above = sum(load > 60 for load in loads) / len(loads)
    within = sum(50 <= load <= 60 for load in loads) / len(loads)
    assert 0.06 < above < 0.2
    assert within > 0.45
    half = [plan.open_case_target(Decimal("0.50"), rnd) for _ in range(2000)]
    assert 24 < sum(half) / len(half) < 30


def test_distribute_adds_up_and_follows_the_weights():
    parts = plan.distribute(1000, [1.0, 0.5, 0.5, 0.8])
    assert sum(parts) == 1000
    assert parts[0] == 357 and abs(parts[1] - parts[2]) <= 1 and parts[0] > parts[3] > parts[1]
    with pytest.raises(ValueError):
        plan.distribute(5, [0.0])


def test_one_team_per_about_six_case_managers():
    assert plan.teams_for(1) == 1
    assert plan.teams_for(12) == 2
    assert plan.teams_for(20) == 3


def _shapes(closed: bool, n: int = 3000) -> list[plan.CaseShape]:
    rnd = random.Random(11)
    return [plan.case_shape(rnd, TODAY, closed) for _ in range(n)]


def test_about_a_third_of_the_cases_is_case_management():
    shapes = _shapes(closed=True)
    share = sum(s.kind is CaseKind.CASE_MANAGEMENT for s in shapes) / len(shapes)
    assert 0.3 < share < 0.37


@pytest.mark.parametrize("closed", [True, False])
def test_case_courses_follow_the_stage_paths(closed):
    start = plan.history_start(TODAY)
    for shape in _shapes(closed):
        path = CM_PATH if shape.kind is CaseKind.CASE_MANAGEMENT else KB_PATH
        assert shape.stages[0] is Stage.INTAKE
        if closed:
            assert shape.stages[:-1] == path[: len(shape.stages) - 1]
            assert shape.stage is Stage.CLOSED and shape.closure_reason is not None
        else:
            assert shape.stages == path[: len(shape.stages)] and not shape.closed
            assert shape.closure_reason is None
        assert start <= shape.opened_on <= shape.last_on <= TODAY
        assert list(shape.stage_days) == sorted(shape.stage_days)
        assert shape.stage_days[0] == shape.opened_on and shape.stage_days[-1] <= shape.last_on
        days = shape.consultation_days
        assert days[0] == shape.opened_on and list(days) == sorted(days)
        assert days[-1] <= shape.last_on


def test_a_short_counselling_closed_early_says_why():
    for shape in _shapes(closed=True):
        if shape.kind is CaseKind.SHORT_COUNSELLING and (
            len(shape.consultation_days) < KB_MIN_CONSULTATIONS
        ):
            assert shape.closure_reason in EARLY_KB_CLOSURE_REASONS


def test_about_ten_consultations_per_case():
    shapes = _shapes(closed=True)
    mean = sum(len(s.consultation_days) for s in shapes) / len(shapes)
    assert 8 < mean < 11


def test_some_open_cases_fell_silent():
    shapes = _shapes(closed=False)
    silent = sum((TODAY - s.last_on).days > 30 for s in shapes) / len(shapes)
    assert 0.08 < silent < 0.2


def test_stages_get_what_they_need():
    rnd = random.Random(2)
    for shape in _shapes(closed=True, n=500) + _shapes(closed=False, n=500):
        needs = plan.needs_required(shape, rnd)
        if shape.reached(Stage.ASSESSMENT) or shape.kind is CaseKind.SHORT_COUNSELLING:
            assert needs >= 1
        if shape.kind is CaseKind.SHORT_COUNSELLING:
            assert needs <= 2
        assert (plan.goals_required(shape, rnd) >= 1) == shape.reached(Stage.PLANNING)


def test_the_same_seed_draws_the_same_world():
    first = [plan.case_shape(random.Random(7), TODAY, closed=c) for c in (True, False)]
    again = [plan.case_shape(random.Random(7), TODAY, closed=c) for c in (True, False)]
    assert first == again


def test_history_starts_five_years_back_also_from_a_leap_day():
    assert plan.history_start(TODAY) == dt.date(2021, 11, 24)
    assert plan.history_start(dt.date(2024, 2, 29)) == dt.date(2019, 3, 1)


def test_usernames_and_secrets_of_the_account_contract():
    assert slug("Kreis Gütersloh") == "kreis-guetersloh"
    assert slug("Mülheim an der Ruhr") == "muelheim-an-der-ruhr"
    assert seed_totp_secret("sv.bottrop") == seed_totp_secret("sv.bottrop")
    assert seed_totp_secret("sv.bottrop") != seed_totp_secret("sv.remscheid")
    assert len(seed_totp_secret("sv.bottrop")) == 32
