"""The consent form texts in ``consent_forms/<version>/<language>.md`` (versioned, per language).

Each file starts with Python-Markdown "meta" lines (Title, Version, Language, Status,
Direction), then the Markdown text. German is the official text; the others are working
translations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import markdown
from markupsafe import Markup


@dataclass(frozen=True)
class ConsentForm:
    """One consent text: ``version`` (e.g. ``2026-01``), ``language`` (ISO 639-1)."""

    version: str
    language: str
    title: str
    official: bool
    direction: str
    html: Markup

    @property
    def key(self) -> str:
        """``version/language``, the value of the form selector."""
        return f"{self.version}/{self.language}"


def _load(path: Path) -> ConsentForm:
    md = markdown.Markdown(extensions=["meta"])
    # The texts are our own files; HTML in them is not expected, so escape it anyway.
    source = path.read_text(encoding="utf-8")
    html = md.convert(source.replace("<", "&lt;"))
    meta = {k: " ".join(v) for k, v in md.Meta.items()}
    return ConsentForm(
        version=meta.get("version", path.parent.name),
        language=meta.get("language", path.stem),
        title=meta.get("title", path.stem),
        official=meta.get("status", "") == "official",
        direction="rtl" if meta.get("direction") == "rtl" else "ltr",
        html=Markup(html),  # noqa: S704 - rendered from our own escaped Markdown
    )


@lru_cache(maxsize=8)
def load_forms(directory: str) -> tuple[ConsentForm, ...]:
    """Return every consent form below ``directory``, newest version first, German first."""
    forms = [_load(p) for p in sorted(Path(directory).glob("*/*.md"))]
    return tuple(
        sorted(forms, key=lambda f: (f.version, f.language == "de", f.language), reverse=True)
    )


def find_form(directory: str, version: str, language: str) -> ConsentForm | None:
    """Return the form of ``version`` in ``language``, or None if there is none."""
    for form in load_forms(directory):
        if form.version == version and form.language == language:
            return form
    return None
