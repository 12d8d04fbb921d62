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
