"""Consent rules (R1, FAQ KIM NRW Q34) on plain values."""

import datetime as dt
import io

import pytest
from PIL import Image

from kimdb.consent import rules
from kimdb.consent.rules import ScanType


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(buffer, format=fmt)
    return buffer.getvalue()


def test_scan_type_is_judged_by_content():
    assert rules.scan_type(image_bytes("PNG")) is ScanType.PNG
    assert rules.scan_type(image_bytes("JPEG")) is ScanType.JPEG
    assert rules.scan_type(b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n") is ScanType.PDF


def test_renamed_text_file_is_refused():
    with pytest.raises(rules.ConsentRefused, match="PDF-, JPEG- oder PNG") as refused:
        rules.scan_type(b"Dies ist nur ein Text, umbenannt in scan.pdf\n")
    assert refused.value.field == "scan"


def test_gif_is_refused():
    with pytest.raises(rules.ConsentRefused):
        rules.scan_type(image_bytes("GIF"))


def test_truncated_pdf_is_refused():
    with pytest.raises(rules.ConsentRefused):
        rules.scan_type(b"%PDF-1.4\n1 0 obj<<>>endobj\n")


def test_empty_scan_is_refused():
    with pytest.raises(rules.ConsentRefused, match="hochladen"):
        rules.scan_type(b"")


def test_scan_size_limit_in_megabytes():
    rules.check_scan_size(10 * 1024 * 1024, 10)
    with pytest.raises(rules.ConsentRefused, match="10 MB"):
        rules.check_scan_size(10 * 1024 * 1024 + 1, 10)


def test_consent_signed_in_the_future_is_refused():
    today = dt.date(2026, 11, 22)
    rules.check_signed_on(today, today)
    with pytest.raises(rules.ConsentRefused, match="Zukunft"):
        rules.check_signed_on(today + dt.timedelta(days=1), today)


def test_processing_scope_is_required():
    rules.check_processing_agreed(True)
    with pytest.raises(rules.ConsentRefused) as refused:
        rules.check_processing_agreed(False)
    assert refused.value.field == "processing_agreed"


def test_partner_names_one_per_line_without_blanks_or_repeats():
    text = "Jobcenter Warendorf\n\n  jobcenter   warendorf \nAusländerbehörde\n"
    assert rules.partner_names(text) == ["Jobcenter Warendorf", "Ausländerbehörde"]
