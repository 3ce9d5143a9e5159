"""Personal data protection: keyed pseudonyms for matching, encryption for display."""

from qunyun.privacy.keys import SecretKey, generate_key, load_key, load_or_create_key
from qunyun.privacy.pii import ContactKind, PiiProtector, normalise_contact

__all__ = [
    "ContactKind",
    "PiiProtector",
    "SecretKey",
    "generate_key",
    "load_key",
    "load_or_create_key",
    "normalise_contact",
]
