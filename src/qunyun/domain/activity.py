"""One observed activity, in the shape every importer and connector produces.

An `ActivityRecord` is what a source says happened, before it is stored:
community and member are still the platform's own identifiers. The store
resolves them to rows; the idempotency key makes a replay a no-op.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from qunyun.domain.kinds import ActivityKind, Platform

# ISO 4217 minor-unit exponents for the currencies our operators use; others default to 2.
_MINOR_UNIT_EXPONENT = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "BHD": 3, "KWD": 3}


# The columns of the generic import format (docs/import-format.md), in file order.
IMPORT_COLUMNS = (
    "occurred_at",
    "community",
    "community_name",
    "platform",
    "member",
    "nickname",
    "kind",
    "text",
    "amount",
    "currency",
    "reference_id",
    "reply_to",
    "phone",
    "union_id",
)


class Money(NamedTuple):
    minor: int
    currency: str


def to_minor_units(amount: str | Decimal, currency: str) -> int:
    """'12.5' CNY → 1250. Raises ValueError for amounts the currency cannot hold."""
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    exponent = _MINOR_UNIT_EXPONENT.get(currency.upper(), 2)
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows ({exponent})")
    return int(scaled)


def reference_key(platform: str, community: str, kind: str, reference_id: str) -> str:
    """The idempotency key of an activity that carries a platform reference (message id, order no.).

    Also how to find such an activity again from its reference alone (a reaction's target).
    """
    parts = [platform, community, kind, "ref", reference_id]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    """A source's account of one activity (all datetimes aware UTC)."""

    occurred_at: datetime
    platform: Platform
    community: str
    member: str
    kind: ActivityKind
    nickname: str | None = None
    community_name: str | None = None
    text: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    reference_id: str | None = None
    reply_to: str | None = None
    # Contact identifiers for cross-platform matching; pseudonymised before storage.
    phone: str | None = None
    union_id: str | None = None

    def idempotency_key(self) -> str:
        """A stable key for this activity, whatever file or format it came in.

        With a platform reference id (message id, order number) the key is
        that id; without one it is the content itself, so the same row
        imported twice — from CSV or JSONL — collapses to one activity.
        """
        if self.reference_id:
            return reference_key(self.platform, self.community, self.kind, self.reference_id)
        parts = [
            self.platform,
            self.community,
            self.member,
            self.kind,
            self.occurred_at.isoformat(),
            self.text or "",
            str(self.amount_minor if self.amount_minor is not None else ""),
            self.currency or "",
        ]
        digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16)
        return digest.hexdigest()
