"""Pseudonyms and ciphertexts for contact identifiers (phone numbers, union ids).

Two derived keys come from the one workspace secret (HKDF-SHA256, distinct
`info` labels) so that the matching key and the encryption key are never the
same bytes:

- `pseudonym(kind, value)`: HMAC-SHA256 over the normalised value. Equal
  inputs give equal pseudonyms, which is all matching and merging needs; without
  the key a pseudonym cannot be brute-forced from the small space of phone numbers.
- `encrypt` / `decrypt`: Fernet (AES-128-CBC + HMAC), for the few screens where
  an operator must see the number.

    >>> p = PiiProtector(SecretKey(bytes(32)))
    >>> a = p.pseudonym(ContactKind.PHONE, "+86 138-0000-0000")
    >>> a == p.pseudonym(ContactKind.PHONE, "13800000000")
    True
"""

import base64
import hashlib
import hmac
import re
from enum import StrEnum

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from qunyun.errors import PrivacyError
from qunyun.privacy.keys import SecretKey


class ContactKind(StrEnum):
    PHONE = "phone"
    UNION_ID = "union_id"


_NON_DIGITS = re.compile(r"\D")


def normalise_contact(kind: ContactKind, value: str) -> str:
    """Canonical form so that formatting differences still match.

    Phones: digits only, mainland numbers (11 digits starting with 1) get the
    86 country code. Union ids: trimmed, case kept (they are case-sensitive).
    """
    if kind is ContactKind.PHONE:
        digits = _NON_DIGITS.sub("", value)
        if digits.startswith("00"):
            digits = digits[2:]
        if len(digits) == 11 and digits.startswith("1"):
            digits = "86" + digits
        if len(digits) < 6:
            raise ValueError(f"not a phone number: {len(digits)} digits")
        return digits
    cleaned = value.strip()
    if not cleaned:
        raise ValueError("empty union id")
    return cleaned


def _derive(secret: SecretKey, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret.raw)


class PiiProtector:
    def __init__(self, secret: SecretKey) -> None:
        self._mac_key = _derive(secret, b"qunyun/pseudonym/v1")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"qunyun/encrypt/v1")))

    def pseudonym(self, kind: ContactKind, value: str) -> str:
        canonical = normalise_contact(kind, value)
        message = f"{kind.value}:{canonical}".encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken as exc:
            raise PrivacyError(
                "cannot decrypt: the configured secret key is not the one this data was stored with",
                code="privacy.decrypt",
            ) from exc
