"""The dashboard's per-request memo of formatted figures (kimdb.caseload.views.Formatted)."""

from decimal import Decimal

from kimdb.caseload.views import Formatted


def test_each_distinct_value_is_formatted_once_and_equal_numbers_share_the_text():
    calls = []

    def format_cases(value):
        calls.append(value)
        return f"<{value}>"

    texts = Formatted(format_cases)
    assert texts[Decimal("50.00")] == "<50.00>"
    assert texts[Decimal("50")] == "<50.00>"  # equal numbers, one entry
    assert texts[None] == "<None>"
    assert texts[Decimal("42.5")] == "<42.5>"
    assert calls == [Decimal("50.00"), None, Decimal("42.5")]
