"""lifecycle models: fits, backtests and member scores

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_fits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=20), nullable=False),
        sa.Column("as_of", _utc(), nullable=False),
        sa.Column("fitted_at", _utc(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("log_likelihood", sa.Float(), nullable=True),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("diagnostics", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_model_fits_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_model_fits_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_fits")),
    )
    op.create_index(
        op.f("ix_model_fits_community_id_target_as_of"), "model_fits", ["community_id", "target", "as_of"]
    )
    op.create_table(
        "model_backtests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("cutoff", _utc(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("ran_at", _utc(), nullable=False),
        sa.Column("winner", sa.String(length=20), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_model_backtests_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_model_backtests_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_backtests")),
    )
    op.create_index(
        op.f("ix_model_backtests_community_id_ran_at"), "model_backtests", ["community_id", "ran_at"]
    )
    op.create_table(
        "member_scores",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("as_of", _utc(), nullable=False),
        sa.Column("activity_model", sa.String(length=20), nullable=False),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("expected_activity_30d", sa.Float(), nullable=True),
        sa.Column("past_activity_30d", sa.Float(), nullable=True),
        sa.Column("p_alive_purchase", sa.Float(), nullable=True),
        sa.Column("expected_purchases", sa.Float(), nullable=True),
        sa.Column("expected_spend_minor", sa.Float(), nullable=True),
        sa.Column("clv_minor", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_member_scores_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_scores_member_id_members")
        ),
        sa.PrimaryKeyConstraint("community_id", "member_id", name=op.f("pk_member_scores")),
    )
    op.create_index(op.f("ix_member_scores_member_id"), "member_scores", ["member_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_member_scores_member_id"), table_name="member_scores")
    op.drop_table("member_scores")
    op.drop_index(op.f("ix_model_backtests_community_id_ran_at"), table_name="model_backtests")
    op.drop_table("model_backtests")
    op.drop_index(op.f("ix_model_fits_community_id_target_as_of"), table_name="model_fits")
    op.drop_table("model_fits")
