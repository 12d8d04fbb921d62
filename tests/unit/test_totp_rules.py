"""Rules of the two-factor login (kimdb.auth.totp; issue 6 item 7, RFC 6238), without the app."""

from __future__ import annotations

import base64
import urllib.parse

import pyotp
import pytest

from kimdb.auth import totp
from kimdb.auth.totp import CodeRefused, SecondStep

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# 2026-03-02 10:00:00 UTC, at the start of a 30-second step
AT = 1_772_445_600.0
REQUIRED = ("supervisor", "admin", "dpo")


def code(step: int) -> str:
    return pyotp.TOTP(SECRET).at(step * 30)


def test_time_steps_are_30_seconds_from_the_epoch():
    assert totp.time_step(0) == 0
    assert totp.time_step(29.999) == 0
    assert totp.time_step(30) == 1
    assert totp.time_step(AT) == int(AT) // 30
    assert totp.time_step(AT + 29) == totp.time_step(AT)


def test_rfc_6238_test_vector():
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); we use the last 6.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp.code_at_step(secret, totp.time_step(59)) == "287082"


def test_code_of_the_current_step_is_accepted_and_its_step_returned():
    step = totp.time_step(AT)
    assert totp.accepted_step(SECRET, code(step), AT, None) == step


@pytest.mark.parametrize("offset", [-1, 1])
def test_code_one_step_early_or_late_is_accepted(offset):
    step = totp.time_step(AT)
    assert totp.accepted_step(SECRET, code(step + offset), AT, None) == step + offset


@pytest.mark.parametrize("offset", [-2, 2])
def test_code_two_steps_away_is_wrong(offset):
    step = totp.time_step(AT)
    with pytest.raises(CodeRefused) as refused:
        totp.accepted_step(SECRET, code(step + offset), AT, None)
    assert str(refused.value.message) == "Der Code stimmt nicht."
    assert refused.value.field == "code"


def test_wrong_code_is_refused():
    step = totp.time_step(AT)
    wrong = f"{(int(code(step)) + 1) % 1_000_000:06d}"
    with pytest.raises(CodeRefused, match="Der Code stimmt nicht."):
        totp.accepted_step(SECRET, wrong, AT, None)


def test_code_of_a_used_step_is_a_replay():
    step = totp.time_step(AT)
    with pytest.raises(CodeRefused, match="Dieser Code wurde bereits verwendet."):
        totp.accepted_step(SECRET, code(step), AT, last_step=step)


def test_earlier_code_after_a_later_one_is_a_replay():
    step = totp.time_step(AT)
    with pytest.raises(CodeRefused, match="Dieser Code wurde bereits verwendet."):
        totp.accepted_step(SECRET, code(step - 1), AT, last_step=step)


def test_next_step_after_a_used_one_is_accepted():
    step = totp.time_step(AT)
    assert totp.accepted_step(SECRET, code(step + 1), AT + 30, last_step=step) == step + 1


@pytest.mark.parametrize("typed", ["123 456", " 123-456 ", "123456"])
def test_code_format_allows_the_spaces_apps_show(typed):
    assert totp.clean_code(typed) == "123456"


@pytest.mark.parametrize("typed", [None, "", "12345", "1234567", "12a456", "１２３４５６"])
def test_malformed_codes_are_refused_with_a_german_message(typed):
    with pytest.raises(CodeRefused) as refused:
        totp.clean_code(typed)
    assert "6-stelligen Code" in str(refused.value.message)
    assert refused.value.field == "code"


def test_second_step_by_role_and_enrolment():
    assert totp.second_step("supervisor", False, REQUIRED) is SecondStep.ENROL
    assert totp.second_step("supervisor", True, REQUIRED) is SecondStep.CODE
    assert totp.second_step("case_manager", False, REQUIRED) is SecondStep.NONE
    assert totp.second_step("case_manager", True, REQUIRED) is SecondStep.CODE
    assert totp.second_step("case_manager", False, (*REQUIRED, "case_manager")) is SecondStep.ENROL


def test_only_roles_that_do_not_require_it_may_disable():
    assert totp.may_disable("case_manager", REQUIRED)
    assert not totp.may_disable("admin", REQUIRED)
    assert not totp.may_disable("case_manager", ("case_manager",))


def test_new_secrets_are_160_bit_base32_and_differ():
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second
    assert len(base64.b32decode(first)) == 20


def test_secret_is_grouped_by_four():
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"


def test_provisioning_uri_names_issuer_and_account():
    uri = totp.provisioning_uri(SECRET, "sv.vogt")
    parsed = urllib.parse.urlsplit(uri)
    query = urllib.parse.parse_qs(parsed.query)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert urllib.parse.unquote(parsed.path) == "/kimdb:sv.vogt"
    assert query["issuer"] == ["kimdb"]
    assert query["secret"] == [SECRET]


def test_qr_code_is_an_svg_data_uri():
    uri = totp.qr_svg_data_uri("otpauth://totp/kimdb:x?secret=" + SECRET)
    assert uri.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(uri.split(",", 1)[1])
    assert b"<svg" in svg and b"<script" not in svg


def test_password_marker_lasts_five_minutes():
    assert not totp.pending_expired(AT, AT + 299)
    assert not totp.pending_expired(AT, AT + 300)
    assert totp.pending_expired(AT, AT + 301)
    assert totp.pending_expired(None, AT)
    assert totp.pending_expired(AT + 10, AT)  # from the future: not ours


def test_idle_expiry_after_the_configured_minutes():
    assert not totp.idle_expired(AT, AT + 30 * 60, 30)
    assert totp.idle_expired(AT, AT + 30 * 60 + 1, 30)
    assert totp.idle_expired(None, AT, 30)
    assert not totp.idle_expired(AT, AT + 60 * 60, 90)
