"""channels and inbound: send log, connector cursors, inbound event ids

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces")
    )


def upgrade() -> None:
    op.create_table(
        "channel_sends",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("platform_id", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        _workspace_fk("channel_sends"),
        sa.PrimaryKeyConstraint("workspace_id", "idempotency_key", name=op.f("pk_channel_sends")),
    )
    op.create_table(
        "connector_cursors",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=200), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        _workspace_fk("connector_cursors"),
        sa.PrimaryKeyConstraint("workspace_id", "connector", name=op.f("pk_connector_cursors")),
    )
    op.create_table(
        "inbound_events",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("activities", sa.Integer(), nullable=False),
        _workspace_fk("inbound_events"),
        sa.PrimaryKeyConstraint("workspace_id", "source", "event_id", name=op.f("pk_inbound_events")),
    )


def downgrade() -> None:
    op.drop_table("inbound_events")
    op.drop_table("connector_cursors")
    op.drop_table("channel_sends")
