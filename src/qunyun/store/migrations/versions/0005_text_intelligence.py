"""text intelligence: message_text, member_topics, alerts, text_state

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_text",
        sa.Column("activity_id", _big_id(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("sentiment", sa.String(length=8), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("processed_at", _utc(), nullable=False),
        _fk("message_text", "activity_id", "activities"),
        _fk("message_text", "workspace_id", "workspaces"),
        _fk("message_text", "community_id", "communities"),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_message_text")),
    )
    op.create_index(
        op.f("ix_message_text_community_id_activity_id"), "message_text", ["community_id", "activity_id"]
    )
    op.create_table(
        "member_topics",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=60), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("as_of", _utc(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        _fk("member_topics", "community_id", "communities"),
        _fk("member_topics", "member_id", "members"),
        sa.PrimaryKeyConstraint("community_id", "member_id", "topic", name=op.f("pk_member_topics")),
    )
    op.create_index(op.f("ix_member_topics_member_id"), "member_topics", ["member_id"])
    op.create_table(
        "alerts",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("activity_id", _big_id(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("occurred_at", _utc(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        _fk("alerts", "workspace_id", "workspaces"),
        _fk("alerts", "community_id", "communities"),
        _fk("alerts", "member_id", "members"),
        _fk("alerts", "activity_id", "activities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("workspace_id", "dedupe_key", name=op.f("uq_alerts_workspace_id_dedupe_key")),
    )
    op.create_index(
        op.f("ix_alerts_workspace_id_status_occurred_at"), "alerts", ["workspace_id", "status", "occurred_at"]
    )
    op.create_table(
        "text_state",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("last_activity_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        _fk("text_state", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_text_state")),
    )


def downgrade() -> None:
    op.drop_table("text_state")
    op.drop_table("alerts")
    op.drop_table("member_topics")
    op.drop_table("message_text")
