"""Engagement tables (Step 6): points ledger, check-ins, coupons, referrals, paid
membership, badges and squads. Same metadata as `tables.py` (migration 0006).

The ledger is double-entry: a transaction's entries sum to zero; member
accounts carry a cached balance that a CHECK keeps at or above zero, and the
points inside it as lots (one per earning, with its own expiry) so expiry and
spending are FIFO and a refund goes back where it came from.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)

from qunyun.store.tables import metadata
from qunyun.store.types import BigId, UtcDateTime

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("kind", String(10), nullable=False),  # member | squad | system
    # The member's or squad's id; 0 for system accounts (a NULL would escape the unique key).
    Column("owner_id", Integer, nullable=False),
    Column("name", String(40), nullable=False),  # points | issued | redeemed | expired
    Column("balance", BigInteger, nullable=False, default=0),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "kind", "owner_id", "name"),
    CheckConstraint("kind = 'system' OR balance >= 0", name="ck_ledger_accounts_not_negative"),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("kind", String(12), nullable=False),  # earn | spend | refund | expire | transfer
    Column("fingerprint", String(64), nullable=False),  # of the request, to refuse a reused key
    Column("member_id", ForeignKey("members.id")),
    Column("amount", BigInteger, nullable=False),
    Column("rule", String(60)),
    Column("refers_to", BigInteger),  # the spend a refund returns
    Column("detail", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key"),
    Index(None, "member_id", "created_at"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("transaction_id", ForeignKey("ledger_transactions.id"), nullable=False, index=True),
    Column("account_id", ForeignKey("ledger_accounts.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),  # signed: credit to the account > 0
)

LIVE_LOT = text("remaining > 0")

point_lots = Table(
    "point_lots",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", ForeignKey("ledger_accounts.id"), nullable=False),
    Column("transaction_id", ForeignKey("ledger_transactions.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("earned_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    CheckConstraint("remaining >= 0 AND remaining <= amount", name="ck_point_lots_remaining"),
    # Only lots with points left are ever searched (spending, expiry); used-up ones stay out of the
    # indexes, so an account that received thousands of transfers is still read in a few rows.
    Index(None, "account_id", "expires_at", "id", postgresql_where=LIVE_LOT, sqlite_where=LIVE_LOT),
    Index(None, "expires_at", postgresql_where=LIVE_LOT, sqlite_where=LIVE_LOT),
)

lot_consumptions = Table(
    "lot_consumptions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("transaction_id", ForeignKey("ledger_transactions.id"), nullable=False, index=True),
    Column("lot_id", ForeignKey("point_lots.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False, default=0),
)

checkins = Table(
    "checkins",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("member_id", ForeignKey("members.id"), primary_key=True),
    Column("day", Date, primary_key=True),  # the member's local calendar day
    Column("community_id", ForeignKey("communities.id")),
    Column("at", UtcDateTime, nullable=False),
    Column("makeup", Boolean, nullable=False, default=False),
    Column("idempotency_key", String(200), nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key"),
)

coupon_campaigns = Table(
    "coupon_campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("slug", String(60), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(10), nullable=False),  # amount | percent
    Column("value", Integer, nullable=False),  # minor units, or percent off
    Column("currency", String(3)),
    Column("min_spend_minor", BigInteger),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("validity_days", Integer),  # each coupon expires this long after issue (and by ends_at)
    Column("per_member_limit", Integer, nullable=False, default=1),
    Column("total_limit", Integer),
    Column("issued_count", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "slug"),
)

coupons = Table(
    "coupons",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("campaign_id", ForeignKey("coupon_campaigns.id"), nullable=False),
    Column("member_id", ForeignKey("members.id"), nullable=False),
    Column("code", String(32), nullable=False, unique=True),
    Column("status", String(10), nullable=False),  # issued | redeemed | void
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("redeemed_at", UtcDateTime),
    Column("order_ref", String(200)),
    Column("issue_key", String(200), nullable=False),
    Column("redeem_key", String(200)),
    UniqueConstraint("workspace_id", "issue_key"),
    Index(None, "member_id"),
    Index(None, "campaign_id", "member_id"),
)

referral_codes = Table(
    "referral_codes",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("member_id", ForeignKey("members.id"), primary_key=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("inviter_id", ForeignKey("members.id"), nullable=False),
    Column("invitee_id", ForeignKey("members.id"), nullable=False),
    Column("community_id", ForeignKey("communities.id")),
    Column("code", String(20), nullable=False),
    Column("joined_at", UtcDateTime, nullable=False),
    Column("status", String(10), nullable=False),  # credited | rejected
    Column("reason", String(60), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # A member is someone's invitee at most once, whatever happens later.
    UniqueConstraint("workspace_id", "invitee_id"),
    Index(None, "inviter_id", "status"),
)

paid_memberships = Table(
    "paid_memberships",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("member_id", ForeignKey("members.id"), nullable=False),
    Column("plan", String(40), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key"),
    Index(None, "member_id", "expires_at"),
)

badges = Table(
    "badges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("member_id", ForeignKey("members.id"), nullable=False),
    Column("badge", String(60), nullable=False),
    Column("period", String(10), nullable=False),  # '2026-11' for monthly titles, '' for lasting ones
    Column("awarded_at", UtcDateTime, nullable=False),
    Column("detail", JSON, nullable=False),
    UniqueConstraint("workspace_id", "member_id", "badge", "period"),
)

squads = Table(
    "squads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("community_id", ForeignKey("communities.id")),
    Column("name", String(100), nullable=False),
    Column("leader_id", ForeignKey("members.id")),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

squad_members = Table(
    "squad_members",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("member_id", ForeignKey("members.id"), primary_key=True),  # one squad per member
    Column("squad_id", ForeignKey("squads.id"), nullable=False, index=True),
    Column("joined_at", UtcDateTime, nullable=False),
)
