"""Passwords are stored as Argon2id hashes with production-strength parameters."""

import subprocess
import sys

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from kimdb.auth import service


def test_outside_the_test_suite_hashes_use_64_mib_and_three_passes():
    # A fresh interpreter: the suite's conftest made hashing cheap in this one.
    code = "from kimdb.auth.service import hash_password; print(hash_password('geheim-123'))"
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_verifies_and_a_wrong_password_does_not():
    stored = service.hash_password("richtiges-passwort")
    assert stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, "richtiges-passwort")
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(stored, "falsches-passwort")
