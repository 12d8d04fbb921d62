"""Rules of the consent (R1; FAQ KIM NRW Q34: no data without the signed consent)."""

from __future__ import annotations

import datetime as dt
import io
from enum import StrEnum

from PIL import Image, UnidentifiedImageError

from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation


class ScanType(StrEnum):
    """The media types a consent scan may have."""

    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"


class ConsentRefused(RuleViolation):
    """The consent given is not a valid legal basis; nothing is stored."""


def scan_type(data: bytes) -> ScanType:
    """Return the media type of a scan judged by its content, never by its file name.

    PDF: the ``%PDF-`` header and an ``%%EOF`` marker near the end. JPEG and PNG: Pillow must
    recognise and verify the image. Raises ConsentRefused (field ``scan``) for anything else,
    e.g. a text file renamed to ``.pdf``.
    """
    if not data:
        raise ConsentRefused(_l("Bitte den unterschriebenen Scan hochladen."), field="scan")
    if data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]:
        return ScanType.PDF
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        image_format = None
    if image_format == "JPEG":
        return ScanType.JPEG
    if image_format == "PNG":
        return ScanType.PNG
    raise ConsentRefused(
        _l("Der Scan muss eine PDF-, JPEG- oder PNG-Datei sein; diese Datei ist keine."),
        field="scan",
    )


def check_scan_size(size: int, limit_mb: int) -> None:
    """Raise ConsentRefused if a scan of ``size`` bytes exceeds ``limit_mb`` megabytes."""
    if size > limit_mb * 1024 * 1024:
        raise ConsentRefused(
            _l("Der Scan ist zu groß (höchstens %(mb)s MB).", mb=limit_mb), field="scan"
        )


def check_signed_on(signed_on: dt.date, today: dt.date) -> None:
    """Raise ConsentRefused if the consent is dated after ``today`` (it cannot be signed yet)."""
    if signed_on > today:
        raise ConsentRefused(
            _l("Das Datum der Unterschrift darf nicht in der Zukunft liegen."), field="signed_on"
        )


def check_processing_agreed(agreed: bool) -> None:
    """Raise ConsentRefused unless the scope "processing in kimdb" is agreed (Q34)."""
    if not agreed:
        raise ConsentRefused(
            _l(
                "Ohne Einwilligung in die Verarbeitung in der KIM-Datenbank dürfen keine Daten "
                "gespeichert werden."
            ),
            field="processing_agreed",
        )


MAX_PARTNER_NAME = 200


def partner_names(text: str) -> list[str]:
    """Return the partner agencies named in ``text``, one per line, blanks and repeats dropped.

    Raises ConsentRefused (field ``exchange_partners``) for a name longer than 200 characters.
    """
    seen: dict[str, None] = {}
    for line in text.splitlines():
        name = " ".join(line.split())
        if len(name) > MAX_PARTNER_NAME:
            raise ConsentRefused(
                _l("Ein Stellenname ist zu lang (höchstens %(n)s Zeichen).", n=MAX_PARTNER_NAME),
                field="exchange_partners",
            )
        if name and name.casefold() not in {s.casefold() for s in seen}:
            seen[name] = None
    return list(seen)
