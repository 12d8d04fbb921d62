"""The per-request memo of labels and formatted figures (kimdb.views.Memo), e.g. the
dashboard's figures."""

from decimal import Decimal

from kimdb.views import Memo


def test_each_distinct_value_is_formatted_once_and_equal_numbers_share_the_text():
    calls = []

    def format_cases(value):
        calls.append(value)
        return f"<{value}>"

    texts = Memo(format_cases)
    assert texts[Decimal("50.00")] == "<50.00>"
    assert texts[Decimal("50")] == "<50.00>"  # equal numbers, one entry
    assert texts[None] == "<None>"
    assert texts[Decimal("42.5")] == "<42.5>"
    assert calls == [Decimal("50.00"), None, Decimal("42.5")]
