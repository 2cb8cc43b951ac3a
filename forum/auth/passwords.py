"""Password hashing (argon2id) and the password rules."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from forum.errors import Invalid

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
# A hash of a random password, verified when the user is unknown so both paths cost the same.
_DUMMY_PASSWORD = "not-a-real-password-but-just-as-slow"


def _hasher() -> PasswordHasher:
    config = current_app.config
    return _cached_hasher(
        config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]
    )


@cache
def _cached_hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


@cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _cached_hasher(time_cost, memory_cost, parallelism).hash(_DUMMY_PASSWORD)


@cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def check_password_rules(password: str, field: str = "password") -> None:
    """NIST-style rules: length only, no composition rules, common passwords refused."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"Use at least {MIN_PASSWORD_LENGTH} characters (15 or more is best).", field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(f"Use at most {MAX_PASSWORD_LENGTH} characters.", field)
    if password.lower() in common_passwords():
        raise Invalid("This password is one of the most common ones; choose another.", field)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown user) still spend one verification."""
    hasher = _hasher()
    if password_hash is None:
        try:
            hasher.verify(_dummy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism), password)
        except VerificationError:
            pass
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
