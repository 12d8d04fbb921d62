"""Kölner Phonetik (Cologne phonetics, Postel 1969) of names, for the duplicate check on
registration (issue 6 item 2).

The algorithm itself comes from the ``cologne-phonetics`` library (MIT; letters to digits with
the context rules for C, D/T, X and P/H, repeated digits collapsed, zeros dropped except at the
start); this module decides how kimdb feeds names into it:

- The name is first folded with ``normalise_name`` (the same folding as the exact blind index):
  case, umlauts, ß and diacritics (``ä`` → ``a``, ``ß`` → ``ss``, ``é`` → ``e``, ``ł`` → ``l``).
- A name of several parts is coded as one word: spaces, hyphens and apostrophes separate no
  sounds in speech, and the exact search ignores them too, so "Al-Hassan", "Al Hassan" and
  "Alhassan" get the same code. The published example "Müller-Lüdenscheidt" → 65752682 holds
  either way.
- Letters outside the Latin alphabet carry no code; a name without any codeable letter has no
  phonetic code (empty string), and then no phonetic index, so two such names never "sound
  alike" by accident.
"""

from __future__ import annotations

import cologne_phonetics

from kimdb.clients.rules import normalise_name


def cologne_code(name: str) -> str:
    """Return the Kölner Phonetik code of ``name`` (digits as text, e.g. "Meier" → "67").

    The whole name is coded as one word after folding (see the module docstring); returns ""
    if ``name`` holds no Latin letter. Source: H. J. Postel, "Die Kölner Phonetik", IBM-Nachrichten
    19 (1969); issue 6 item 2.
    """
    folded = normalise_name(name)
    if not folded:
        return ""
    # ``concat=True`` keeps the folded name one word; it has no spaces or hyphens left anyway.
    return "".join(code for _, code in cologne_phonetics.encode(folded, concat=True))


def phonetic_key(name: str | None) -> str | None:
    """Return the text whose keyed hash is the phonetic index of ``name``, or None.

    ``"phon:"`` + the Kölner Phonetik code, so the hash can never equal the blind index of a
    normalised name; None for a missing name (erased) or one without a code.
    """
    if name is None:
        return None
    code = cologne_code(name)
    return f"phon:{code}" if code else None
