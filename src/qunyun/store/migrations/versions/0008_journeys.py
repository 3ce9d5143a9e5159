"""journeys: playbooks, enrolments, outbox, operator tasks, tags, opt-outs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "playbook_versions",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_playbook_versions_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", "version", name=op.f("pk_playbook_versions")),
    )
    op.create_table(
        "playbooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("enabled_at", _utc(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_playbooks_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbooks")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_playbooks_workspace_id_name")),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("playbook", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=24), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("occurrence", sa.BigInteger(), nullable=False),
        sa.Column("arm", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("pc", sa.Integer(), nullable=False),
        sa.Column("due_at", _utc(), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("trigger", sa.String(length=120), nullable=False),
        sa.Column("enrolled_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_enrolments_community_id_communities")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_enrolments_member_id_members")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_enrolments_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint(
            "workspace_id",
            "playbook",
            "subject",
            "occurrence",
            name=op.f("uq_enrolments_workspace_id_playbook_subject_occurrence"),
        ),
    )
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrolments_workspace_id_due_at"),
            ["workspace_id", "due_at"],
            unique=False,
            postgresql_where=sa.text("status IN ('active', 'waiting')"),
            sqlite_where=sa.text("status IN ('active', 'waiting')"),
        )
        batch_op.create_index(
            batch_op.f("ix_enrolments_member_id_playbook"), ["member_id", "playbook"], unique=False
        )

    op.create_table(
        "member_optouts",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_optouts_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_member_optouts_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_optouts")),
    )
    op.create_table(
        "member_tags",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_tags_member_id_members")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_member_tags_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("member_id", "tag", name=op.f("pk_member_tags")),
    )
    with op.batch_alter_table("member_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_tags_workspace_id_tag"), ["workspace_id", "tag"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("enrolment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("playbook", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=60), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.Column("lease_until", _utc(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.Column("platform_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_outbox_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolments.id"], name=op.f("fk_outbox_enrolment_id_enrolments")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_outbox_member_id_members")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_outbox_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint(
            "workspace_id", "idempotency_key", name=op.f("uq_outbox_workspace_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_member_id_sent_at"), ["member_id", "sent_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_workspace_id_priority_id"),
            ["workspace_id", "priority", "id"],
            unique=False,
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_recipient_sent_at"), ["recipient", "sent_at"], unique=False
        )

    op.create_table(
        "operator_tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("deadline", _utc(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("done_at", _utc(), nullable=True),
        sa.Column("done_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_operator_tasks_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_operator_tasks_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_operator_tasks_outbox_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_operator_tasks_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_tasks")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_operator_tasks_outbox_id")),
    )
    with op.batch_alter_table("operator_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_tasks_workspace_id_status_deadline"),
            ["workspace_id", "status", "deadline"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("operator_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_tasks_workspace_id_status_deadline"))

    op.drop_table("operator_tasks")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_recipient_sent_at"))
        batch_op.drop_index(
            batch_op.f("ix_outbox_workspace_id_priority_id"),
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        )
        batch_op.drop_index(batch_op.f("ix_outbox_member_id_sent_at"))

    op.drop_table("outbox")
    with op.batch_alter_table("member_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_tags_workspace_id_tag"))

    op.drop_table("member_tags")
    op.drop_table("member_optouts")
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolments_member_id_playbook"))
        batch_op.drop_index(
            batch_op.f("ix_enrolments_workspace_id_due_at"),
            postgresql_where=sa.text("status IN ('active', 'waiting')"),
            sqlite_where=sa.text("status IN ('active', 'waiting')"),
        )

    op.drop_table("enrolments")
    op.drop_table("playbooks")
    op.drop_table("playbook_versions")
