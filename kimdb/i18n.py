"""Translation of kimdb's texts through Flask-Babel, with the request's translations looked up
once, and lazy texts whose HTML escapes what is filled into them.

Flask-Babel finds the translations again at every string (about 15 µs each, a third of the
rendering time of a case page; issue 8 item 3, profiled), so ``translations`` keeps them in
``flask.g`` for the request. Flask-Babel's ``LazyString`` gives Jinja its text as markup
(``__html__``) with the variables filled in unescaped: a name or reason a user typed into a
message (a case's history, a rule's error) reached the page as HTML. ``LazyText`` escapes
the variables, as Jinja's own i18n does for ``{{ _("…%(name)s", name=…) }}``. This module
imports nothing of kimdb, so any module can take its texts from here.
"""

from __future__ import annotations

from babel import support
from flask import g, has_request_context
from flask_babel import LazyString, get_translations
from markupsafe import Markup

_TRANSLATIONS = "kimdb_translations"  # flask.g: the request's translations


def translations() -> support.NullTranslations:
    """Return the translations of the request's language (Flask-Babel's ``get_translations``),
    looked up once per request and kept in ``flask.g``; outside a request, Flask-Babel's."""
    if not has_request_context():
        return get_translations()
    found = g.get(_TRANSLATIONS)
    if found is None:
        found = get_translations()
        setattr(g, _TRANSLATIONS, found)
    return found


def gettext(text: str, **variables) -> str:
    """Translate ``text`` into the request's language and fill ``%(name)s`` placeholders from
    ``variables`` (as ``flask_babel.gettext``, through ``translations``). Plain text: the
    variables are not escaped (HTML gets them escaped from ``LazyText`` or Jinja)."""
    translated = translations().ugettext(text)
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """Translate the singular or plural form for ``num`` (as ``flask_babel.ngettext``);
    ``%(num)s`` is filled with ``num``."""
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def pgettext(context: str, text: str, **variables) -> str:
    """Translate ``text`` in message context ``context`` (as ``flask_babel.pgettext``)."""
    translated = translations().upgettext(context, text)
    return translated % variables if variables else translated


def npgettext(context: str, singular: str, plural: str, num: int, **variables) -> str:
    """``ngettext`` in message context ``context`` (as ``flask_babel.npgettext``)."""
    variables.setdefault("num", num)
    return translations().unpgettext(context, singular, plural, num) % variables


class LazyText(LazyString):
    """A text translated when it is used, like Flask-Babel's ``LazyString``; as HTML
    (``__html__``: Jinja, ``markupsafe.escape``, a flashed message) the translated message is
    markup from kimdb's catalogue and every variable is escaped, unless it is markup itself.
    As ``str`` (exports, logs) it is plain text, as before. JSON must get ``str(text)``:
    Flask's JSON encoder and ``|tojson`` take ``__html__``, i.e. the escaped form."""

    def __html__(self) -> Markup:
        # The message alone (kimdb's catalogue), not filled in; % escapes the variables.
        translated = Markup(self._func(*self._args))  # noqa: S704
        return translated % self._kwargs if self._kwargs else translated


def lazy_gettext(text: str, **variables) -> LazyText:
    """A text translated when it is used (``flask_babel.lazy_gettext`` through ``gettext``),
    its variables escaped in HTML (``LazyText``)."""
    return LazyText(gettext, text, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables) -> LazyText:
    """A singular or plural text for ``num`` translated when it is used (as
    ``flask_babel.lazy_ngettext``), its variables escaped in HTML (``LazyText``)."""
    return _LazyPlural(ngettext, singular, plural, num, **variables)


class _LazyPlural(LazyText):
    """``LazyText`` of ``ngettext``: the message depends on the number; ``%(num)s`` is it."""

    def __html__(self) -> Markup:
        singular, plural, num = self._args
        translated = Markup(translations().ungettext(singular, plural, num))  # noqa: S704
        return translated % {"num": num, **self._kwargs}
