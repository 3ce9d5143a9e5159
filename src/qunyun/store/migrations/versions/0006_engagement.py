"""engagement: ledger, checkins, coupons, referrals, memberships, badges, squads

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "coupon_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("min_spend_minor", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", _utc(), nullable=False),
        sa.Column("ends_at", _utc(), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=True),
        sa.Column("per_member_limit", sa.Integer(), nullable=False),
        sa.Column("total_limit", sa.Integer(), nullable=True),
        sa.Column("issued_count", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_coupon_campaigns_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_campaigns")),
        sa.UniqueConstraint("workspace_id", "slug", name=op.f("uq_coupon_campaigns_workspace_id_slug")),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint("kind = 'system' OR balance >= 0", name="ck_ledger_accounts_not_negative"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_ledger_accounts_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint(
            "workspace_id",
            "kind",
            "owner_id",
            "name",
            name=op.f("uq_ledger_accounts_workspace_id_kind_owner_id_name"),
        ),
    )
    op.create_table(
        "badges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("badge", sa.String(length=60), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("awarded_at", _utc(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_badges_member_id_members")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_badges_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badges")),
        sa.UniqueConstraint(
            "workspace_id",
            "member_id",
            "badge",
            "period",
            name=op.f("uq_badges_workspace_id_member_id_badge_period"),
        ),
    )
    op.create_table(
        "checkins",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("makeup", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_checkins_community_id_communities")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_checkins_member_id_members")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_checkins_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", "member_id", "day", name=op.f("pk_checkins")),
        sa.UniqueConstraint(
            "workspace_id", "idempotency_key", name=op.f("uq_checkins_workspace_id_idempotency_key")
        ),
    )
    op.create_table(
        "coupons",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("issued_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("redeemed_at", _utc(), nullable=True),
        sa.Column("order_ref", sa.String(length=200), nullable=True),
        sa.Column("issue_key", sa.String(length=200), nullable=False),
        sa.Column("redeem_key", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["coupon_campaigns.id"], name=op.f("fk_coupons_campaign_id_coupon_campaigns")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_coupons_member_id_members")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_coupons_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
        sa.UniqueConstraint("workspace_id", "issue_key", name=op.f("uq_coupons_workspace_id_issue_key")),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coupons_campaign_id_member_id"), ["campaign_id", "member_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_coupons_member_id"), ["member_id"], unique=False)

    op.create_table(
        "ledger_transactions",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=True),
        sa.Column("refers_to", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_ledger_transactions_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_ledger_transactions_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint(
            "workspace_id",
            "idempotency_key",
            name=op.f("uq_ledger_transactions_workspace_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_transactions_member_id_created_at"),
            ["member_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "paid_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=40), nullable=False),
        sa.Column("starts_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_paid_memberships_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_paid_memberships_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paid_memberships")),
        sa.UniqueConstraint(
            "workspace_id", "idempotency_key", name=op.f("uq_paid_memberships_workspace_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("paid_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paid_memberships_member_id_expires_at"), ["member_id", "expires_at"], unique=False
        )

    op.create_table(
        "referral_codes",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_referral_codes_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_referral_codes_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", "member_id", name=op.f("pk_referral_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_referral_codes_code")),
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("inviter_id", sa.Integer(), nullable=False),
        sa.Column("invitee_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("joined_at", _utc(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_referrals_community_id_communities")
        ),
        sa.ForeignKeyConstraint(["invitee_id"], ["members.id"], name=op.f("fk_referrals_invitee_id_members")),
        sa.ForeignKeyConstraint(["inviter_id"], ["members.id"], name=op.f("fk_referrals_inviter_id_members")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_referrals_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("workspace_id", "invitee_id", name=op.f("uq_referrals_workspace_id_invitee_id")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referrals_inviter_id_status"), ["inviter_id", "status"], unique=False
        )

    op.create_table(
        "squads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_squads_community_id_communities")
        ),
        sa.ForeignKeyConstraint(["leader_id"], ["members.id"], name=op.f("fk_squads_leader_id_members")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_squads_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_squads")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_squads_workspace_id_name")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("transaction_id", _big_id(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_entries_account_id_ledger_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entries_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_transaction_id"), ["transaction_id"], unique=False
        )

    op.create_table(
        "point_lots",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", _big_id(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("earned_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=True),
        sa.CheckConstraint("remaining >= 0 AND remaining <= amount", name="ck_point_lots_remaining"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_point_lots_account_id_ledger_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_point_lots_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_lots")),
    )
    with op.batch_alter_table("point_lots", schema=None) as batch_op:
        live = sa.text("remaining > 0")  # partial: only lots with points left are searched
        batch_op.create_index(
            batch_op.f("ix_point_lots_account_id_expires_at_id"),
            ["account_id", "expires_at", "id"],
            unique=False,
            postgresql_where=live,
            sqlite_where=live,
        )
        batch_op.create_index(
            batch_op.f("ix_point_lots_expires_at"),
            ["expires_at"],
            unique=False,
            postgresql_where=live,
            sqlite_where=live,
        )

    op.create_table(
        "squad_members",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("squad_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_squad_members_member_id_members")
        ),
        sa.ForeignKeyConstraint(["squad_id"], ["squads.id"], name=op.f("fk_squad_members_squad_id_squads")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_squad_members_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", "member_id", name=op.f("pk_squad_members")),
    )
    with op.batch_alter_table("squad_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_squad_members_squad_id"), ["squad_id"], unique=False)

    op.create_table(
        "lot_consumptions",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("transaction_id", _big_id(), nullable=False),
        sa.Column("lot_id", _big_id(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["point_lots.id"], name=op.f("fk_lot_consumptions_lot_id_point_lots")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_lot_consumptions_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_consumptions")),
    )
    with op.batch_alter_table("lot_consumptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lot_consumptions_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lot_consumptions_transaction_id"), ["transaction_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("lot_consumptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lot_consumptions_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_lot_consumptions_lot_id"))

    op.drop_table("lot_consumptions")
    with op.batch_alter_table("squad_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_squad_members_squad_id"))

    op.drop_table("squad_members")
    with op.batch_alter_table("point_lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_point_lots_expires_at"))
        batch_op.drop_index(batch_op.f("ix_point_lots_account_id_expires_at_id"))

    op.drop_table("point_lots")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_account_id"))

    op.drop_table("ledger_entries")
    op.drop_table("squads")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_inviter_id_status"))

    op.drop_table("referrals")
    op.drop_table("referral_codes")
    with op.batch_alter_table("paid_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paid_memberships_member_id_expires_at"))

    op.drop_table("paid_memberships")
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_transactions_member_id_created_at"))

    op.drop_table("ledger_transactions")
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupons_member_id"))
        batch_op.drop_index(batch_op.f("ix_coupons_campaign_id_member_id"))

    op.drop_table("coupons")
    op.drop_table("checkins")
    op.drop_table("badges")
    op.drop_table("ledger_accounts")
    op.drop_table("coupon_campaigns")
