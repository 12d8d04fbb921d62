"""Rules about clients' names: normalisation for exact search (DESIGN.md §4, blind index)."""

from __future__ import annotations

import datetime as dt
import unicodedata

# German transliterations are folded to the plain vowel, so "Müller", "Mueller" and "MULLER"
# all become "muller" (issue "Data protection" item 2).
_DIGRAPHS = (("ae", "a"), ("oe", "o"), ("ue", "u"))
_SPECIAL = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ı": "i",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
    }
)


def normalise_name(name: str) -> str:
    """Return ``name`` folded for exact matching: case, umlauts and diacritics folded.

    Letters only, lower case, diacritics removed (``ü`` → ``u``), the German digraphs ``ae``,
    ``oe``, ``ue`` folded to ``a``, ``o``, ``u``; spaces, hyphens and apostrophes dropped, so
    "Al-Hassan" = "al hassan" and "Müller" = "Mueller" = "MULLER".
    """
    text = name.translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in decomposed if c.isalpha() and not unicodedata.combining(c))
    folded = letters.casefold()
    for digraph, vowel in _DIGRAPHS:
        folded = folded.replace(digraph, vowel)
    return folded


def search_terms(query: str) -> list[str]:
    """Split a name search into normalised words, dropping empty ones."""
    words = [normalise_name(w) for w in query.replace(",", " ").split()]
    return [w for w in words if w]


def normalise_date(value: dt.date) -> str:
    """Return the ISO form of a date for its blind index."""
    return value.isoformat()
