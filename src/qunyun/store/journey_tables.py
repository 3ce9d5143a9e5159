"""Journey tables (Step 7): playbooks, enrolments, the outbox, operator tasks, tags, opt-outs.
Same metadata as `tables.py` (migration 0008).

An enrolment is one member's (or, for scheduled posts, one community's) pass
through one version of a playbook: its program counter, when it is next due
and what its steps left behind (a coupon code, the outcome of a wait). Every
message a step produces is an outbox row whose idempotency key is made of
(playbook, subject, occurrence, step); the dispatcher sends those rows
through the channels, which remember each key, so nothing goes out twice.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from qunyun.store.tables import metadata
from qunyun.store.types import BigId, UtcDateTime

# Only enrolments that can still move, and outbox rows still to send, are searched by the workers.
LIVE_ENROLMENT = text("status IN ('active', 'waiting')")
UNSENT = text("status IN ('pending', 'sending')")

playbooks = Table(
    "playbooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("origin", String(10), nullable=False),  # builtin | custom
    Column("enabled", Boolean, nullable=False),
    Column("enabled_at", UtcDateTime),  # triggers only react to what happened after this
    Column("version", Integer, nullable=False),  # the latest version in playbook_versions
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(100), nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

playbook_versions = Table(
    "playbook_versions",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", Text, nullable=False),  # the YAML as saved; enrolments run the version they began on
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    PrimaryKeyConstraint("workspace_id", "name", "version"),
)

enrolments = Table(
    "enrolments",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("playbook", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("subject", String(24), nullable=False),  # "m:<member id>" or "c:<community id>"
    Column("member_id", ForeignKey("members.id")),
    Column("community_id", ForeignKey("communities.id")),
    Column("occurrence", BigInteger, nullable=False),  # nth entry, or the schedule's fire minute
    Column("arm", String(8), nullable=False),  # treated | control
    # active | waiting | completed | converted | exited | failed
    Column("status", String(10), nullable=False),
    Column("pc", Integer, nullable=False),  # index of the next step in the compiled program
    Column("due_at", UtcDateTime),
    Column("context", JSON, nullable=False),
    Column("trigger", String(120), nullable=False),
    Column("enrolled_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("outcome", String(200)),
    UniqueConstraint("workspace_id", "playbook", "subject", "occurrence"),
    # The workers' claim: a workspace's live enrolments by due time (leading with the workspace so
    # that planners without statistics prefer it to the unique key, which also starts with it).
    Index(None, "workspace_id", "due_at", postgresql_where=LIVE_ENROLMENT, sqlite_where=LIVE_ENROLMENT),
    Index(None, "member_id", "playbook"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("enrolment_id", ForeignKey("enrolments.id")),
    Column("playbook", String(64), nullable=False),
    Column("step", String(60), nullable=False),
    Column("member_id", ForeignKey("members.id")),
    Column("community_id", ForeignKey("communities.id")),
    Column("kind", String(10), nullable=False),  # message | post | webhook
    Column("channel", String(40), nullable=False),  # a registered channel, or "task" (an operator sends it)
    Column("recipient", String(200), nullable=False),
    Column("direct", Boolean, nullable=False),
    Column("text", Text, nullable=False),
    Column("subject", String(200)),
    Column("locale", String(8), nullable=False),
    Column("priority", Float, nullable=False),  # higher first when a quota binds
    # pending | sending | sent | task | in_doubt | suppressed | expired | dead
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("platform_id", String(200)),
    UniqueConstraint("workspace_id", "idempotency_key"),
    # Sends are claimed highest priority first among the rows not yet sent.
    Index(None, "workspace_id", "priority", "id", postgresql_where=UNSENT, sqlite_where=UNSENT),
    Index(None, "member_id", "sent_at"),
    Index(None, "recipient", "sent_at"),
)

operator_tasks = Table(
    "operator_tasks",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("outbox_id", ForeignKey("outbox.id"), nullable=False, unique=True),
    Column("member_id", ForeignKey("members.id")),
    Column("community_id", ForeignKey("communities.id")),
    Column("platform", String(20), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("deadline", UtcDateTime, nullable=False),
    Column("status", String(10), nullable=False),  # open | done | skipped
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Column("done_by", String(100)),
    Index(None, "workspace_id", "status", "deadline"),
)

member_tags = Table(
    "member_tags",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("member_id", ForeignKey("members.id"), nullable=False),
    Column("tag", String(60), nullable=False),
    Column("source", String(100), nullable=False),  # "playbook:<name>" or "operator:<who>"
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("member_id", "tag"),
    Index(None, "workspace_id", "tag"),
)

member_optouts = Table(
    "member_optouts",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("member_id", ForeignKey("members.id"), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("source", String(20), nullable=False),  # reply | operator
    Column("detail", String(200), nullable=False),
)
