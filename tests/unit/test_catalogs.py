"""The English catalog translates every German UI string (a missing one would show German)."""

import re
from pathlib import Path

from babel.messages.pofile import read_po

CATALOG = Path(__file__).parents[2] / "kimdb/translations/en/LC_MESSAGES/messages.po"
TEMPLATE = Path(__file__).parents[2] / "kimdb/translations/messages.pot"


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def test_every_string_has_an_english_translation_that_is_not_fuzzy():
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    missing = [m.id for m in catalog if m.id and (m.fuzzy or not all(_strings(m)))]
    assert not missing, f"untranslated or fuzzy: {missing[:10]}"


def test_the_catalog_holds_every_extracted_string():
    with TEMPLATE.open("rb") as f:
        template = read_po(f)
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    absent = [m.id for m in template if m.id and m.id not in catalog]
    assert not absent, f"run `make messages`: {absent[:10]}"


def test_the_strings_of_the_template_macros_are_in_the_catalog():
    # pybabel skips folders starting with "_" unless told otherwise (Makefile: --ignore-dirs).
    from babel.messages.extract import extract_from_file

    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    macros = Path(__file__).parents[2] / "templates" / "_macros"
    ids = [m[1] for path in macros.glob("*.html") for m in extract_from_file("jinja2", path)]
    assert ids and all(i in catalog and catalog[i].string for i in ids)


def test_every_string_of_the_code_is_in_the_catalog():
    """What pybabel finds in the code now (not only what the committed template lists) has an
    English translation: a text moved in or out of an f-string changes what is extracted
    (pybabel does not look inside f-strings), and without `make messages` it would show in
    German on the English pages."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file

    root = Path(__file__).parents[2]
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    sources = [("python", p) for p in (root / "kimdb").rglob("*.py")]
    sources += [("jinja2", p) for p in (root / "templates").rglob("*.html")]
    found = {
        message[1] if isinstance(message[1], str) else message[1][0]
        for method, path in sources
        for message in extract_from_file(method, path, keywords=keywords)
    }
    # pybabel cannot see a call inside an f-string: find those by their shape.
    inside = re.compile(r"""\{(?:str\()?_l?\((['"])(.+?)\1\)""")
    found |= {m[1] for _, p in sources if p.suffix == ".py" for m in inside.findall(p.read_text())}
    absent = sorted(i for i in found if i not in catalog or not all(_strings(catalog[i])))
    assert not absent, f"run `make messages` and translate: {absent[:10]}"
