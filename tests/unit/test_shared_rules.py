"""The small rules every domain shares (``kimdb.rules``)."""

from __future__ import annotations

import pytest

from kimdb.rules import page_window


@pytest.mark.parametrize(
    ("total", "page", "expected"),
    [
        (0, 1, (1, 1)),  # an empty list still has its one (empty) page
        (50, 1, (1, 1)),
        (51, 2, (2, 2)),
        (120, 9, (3, 3)),  # beyond the last page: the last page
        (120, 0, (1, 3)),  # before the first: the first
        (120, -4, (1, 3)),
    ],
)
def test_page_window_clamps_the_page_to_the_pages_there_are(total, page, expected):
    assert page_window(total, page, 50) == expected
