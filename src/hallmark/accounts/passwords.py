"""Password hashing with argon2id, and the API token format."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "hm_"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of the password, with its salt and parameters."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash uses weaker parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


def new_api_token() -> str:
    """A fresh bearer token with 256 bits of randomness."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    """The stored form of a token: SHA-256 suffices for a random 256-bit secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
