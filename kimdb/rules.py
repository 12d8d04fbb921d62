"""What every domain's rules share: the error a rule raises."""

from __future__ import annotations


class RuleViolation(Exception):
    """A domain rule refuses an action.

    ``message`` is the German, user-facing text (a lazy gettext string); ``field`` names the form
    field the message belongs to, or None for the whole form.
    """

    def __init__(self, message, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


def clean_name(
    text: str | None,
    *,
    max_length: int,
    missing,
    field: str,
    error: type[RuleViolation] = RuleViolation,
) -> str:
    """Return the name ``text`` with inner whitespace collapsed to single spaces.

    Raises ``error`` for ``field`` with the German message ``missing`` when nothing is left, or
    saying that at most ``max_length`` characters are allowed.
    """
    from kimdb.i18n import lazy_gettext as _l

    name = " ".join((text or "").split())
    if not name:
        raise error(missing, field=field)
    if len(name) > max_length:
        raise error(
            _l("Der Name darf höchstens %(max)d Zeichen haben.", max=max_length), field=field
        )
    return name


def page_window(total: int, page: int, page_size: int) -> tuple[int, int]:
    """Return (page, pages) of a list of ``total`` rows shown ``page_size`` a page: ``pages``
    at least 1, ``page`` (from 1) clamped to them."""
    pages = max(1, -(-total // page_size))
    return min(max(1, page), pages), pages
