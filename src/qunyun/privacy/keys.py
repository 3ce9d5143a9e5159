"""The workspace secret: where it comes from and how it is kept out of the database.

The secret is a 32-byte key given as urlsafe base64 (a Fernet key). It comes
from configuration (`QUNYUN_SECRET_KEY`, or `[privacy] secret_key`) or from a
key file (`[privacy] key_file`, created with mode 0600 on first use). It is
never written to the database or to logs; `repr()` hides it.
"""

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from qunyun.errors import PrivacyError


@dataclass(frozen=True)
class SecretKey:
    raw: bytes = field(repr=False)
    origin: str = "configuration"

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise PrivacyError("the secret key must be 32 bytes", code="privacy.bad_key")


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _decode(text: str, origin: str) -> SecretKey:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise PrivacyError(f"secret key from {origin} is not base64", code="privacy.bad_key") from exc
    if len(raw) != 32:
        raise PrivacyError(
            f"secret key from {origin} must decode to 32 bytes, got {len(raw)}",
            code="privacy.bad_key",
        )
    return SecretKey(raw, origin)


def load_key(secret: str | None, key_file: Path) -> SecretKey:
    """The configured key; PrivacyError if there is none."""
    if secret:
        return _decode(secret, "configuration")
    if key_file.is_file():
        return _decode(key_file.read_text(encoding="ascii"), str(key_file))
    raise PrivacyError(
        f"no secret key: set QUNYUN_SECRET_KEY or run `qunyun init` to create {key_file}",
        code="privacy.no_key",
    )


def load_or_create_key(secret: str | None, key_file: Path) -> SecretKey:
    """The configured key, creating the key file (0600) when nothing is configured."""
    if secret or key_file.is_file():
        return load_key(secret, key_file)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    text = generate_key()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    return _decode(text, str(key_file))
