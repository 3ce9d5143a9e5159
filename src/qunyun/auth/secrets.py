"""Password hashes (argon2id) and random bearer secrets kept only as their SHA-256."""

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from qunyun.errors import AuthError

MIN_PASSWORD_LENGTH = 10
# argon2-cffi's defaults follow RFC 9106's second recommended option (64 MiB, 3 passes).
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters", code="auth.weak_password"
        )
    return _hasher.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """Verifying against this when the user does not exist keeps the answer time the same
    whether or not a username is taken. Made on first use: hashing costs ~0.1 s, which every
    CLI command would otherwise pay at import."""
    return _hasher.hash("qunyun-dummy-password")


def burn_time(password: str) -> None:
    password_matches(_dummy_hash(), password)


def new_secret(prefix: str) -> str:
    """A bearer secret: `prefix` + 43 URL-safe characters (256 random bits)."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
