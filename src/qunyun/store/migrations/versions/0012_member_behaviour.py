"""member_behaviour, behaviour_state: behavioural tags stored by the refresh for lists and playbooks

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_behaviour",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_behaviour_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_member_behaviour_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("member_id", "tag", name=op.f("pk_member_behaviour")),
    )
    with op.batch_alter_table("member_behaviour", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_behaviour_workspace_id_tag"), ["workspace_id", "tag"])
    op.create_table(
        "behaviour_state",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_behaviour_state_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_behaviour_state")),
    )


def downgrade() -> None:
    op.drop_table("behaviour_state")
    op.drop_table("member_behaviour")
