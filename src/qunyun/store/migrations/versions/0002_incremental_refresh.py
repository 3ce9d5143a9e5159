"""incremental refresh: member review times and what each refresh saw

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_member_state_review_at"), ["review_at"], unique=False)
    with op.batch_alter_table("refresh_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mode", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("mirror_generation", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("mirror_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("mirror_watermark", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("rules_fingerprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refresh_runs", schema=None) as batch_op:
        for column in ("rules_fingerprint", "mirror_watermark", "mirror_seq", "mirror_generation", "mode"):
            batch_op.drop_column(column)
    with op.batch_alter_table("member_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_state_review_at"))
        batch_op.drop_column("review_at")
