"""The caseload guideline (R5, FAQ KIM NRW Q33) on plain values."""

from decimal import Decimal

import pytest

from kimdb.caseload.rules import Band, Caseload, caseload_band, guideline_band


def test_band_is_50_to_60_per_full_time_post():
    assert guideline_band(Decimal("1.0")) == (50, 60)


def test_half_time_post_has_25_to_30():
    assert guideline_band(Decimal("0.5")) == (25, 30)


@pytest.mark.parametrize(
    ("open_cases", "fte", "band"),
    [
        (24, "0.5", Band.BELOW),
        (25, "0.5", Band.WITHIN),
        (30, "0.5", Band.WITHIN),
        (31, "0.5", Band.ABOVE),
        (49, "1.0", Band.BELOW),
        (61, "1.0", Band.ABOVE),
        (40, "0.8", Band.WITHIN),
        (49, "0.8", Band.ABOVE),
    ],
)
def test_band_edges(open_cases, fte, band):
    assert caseload_band(open_cases, Decimal(fte)) is band


def test_notice_within_ten_percent_of_the_upper_bound():
    assert Caseload(fte=Decimal("1.0"), open_cases=54, open_cm=18).near_upper
    assert not Caseload(fte=Decimal("1.0"), open_cases=53, open_cm=18).near_upper
    assert not Caseload(fte=Decimal("1.0"), open_cases=61, open_cm=18).near_upper


def test_cm_share_of_open_cases():
    assert Caseload(fte=Decimal("1.0"), open_cases=30, open_cm=10).cm_share == Decimal(1) / 3
    assert Caseload(fte=Decimal("1.0"), open_cases=0, open_cm=0).cm_share is None


def test_open_cases_per_fte():
    assert Caseload(fte=Decimal("0.5"), open_cases=36, open_cm=12).per_fte == 72
