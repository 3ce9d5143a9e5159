"""member_topics (topic, member_id) index: the dashboard's tag filter starts from a topic

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 00:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member_topics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_topics_topic_member_id"), ["topic", "member_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("member_topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_topics_topic_member_id"))
