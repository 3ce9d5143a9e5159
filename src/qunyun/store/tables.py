"""The relational schema: the source of truth for members and their activity.

Every change here needs an Alembic revision in `store/migrations/versions`;
`tests/test_migrations.py` fails when the two disagree.
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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from qunyun.store.types import BigId, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

communities = Table(
    "communities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("name", String(200)),
    Column("timezone", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "platform", "external_id"),
)

members = Table(
    "members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("display_name", String(200)),
    Column("is_staff", Boolean, nullable=False, default=False),
    Column("is_bot", Boolean, nullable=False, default=False),
    # A merged member keeps its row (so the merge can be undone) but points at the survivor.
    Column("merged_into_id", ForeignKey("members.id")),
    Column("created_at", UtcDateTime, nullable=False),
    # Set when the member's personal data was erased (store/erasure.py).
    Column("erased_at", UtcDateTime),
    Index(None, "workspace_id", "merged_into_id"),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("member_id", ForeignKey("members.id"), nullable=False, index=True),
    Column("platform", String(20), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("nickname", String(200)),
    # The member this identity was first created for: where an unmerge sends it back.
    Column("original_member_id", ForeignKey("members.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "platform", "external_id"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("identity_id", ForeignKey("identities.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    # HMAC pseudonym (hex) for matching; the clear value only as Fernet ciphertext.
    Column("pseudonym", String(64), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("identity_id", "kind", "pseudonym"),
    Index(None, "workspace_id", "kind", "pseudonym"),
)

# The columns a bulk insert of activities fills, in order (ingest, and the text pass's flags).
ACTIVITY_INSERT_COLUMNS = (
    "community_id",
    "identity_id",
    "kind",
    "occurred_at",
    "text",
    "amount_minor",
    "currency",
    "reference_id",
    "reply_to",
    "source",
    "idempotency_key",
    "ingested_at",
)


activities = Table(
    "activities",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("identity_id", ForeignKey("identities.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("text", Text),
    Column("amount_minor", BigInteger),
    Column("currency", String(3)),
    Column("reference_id", String(200)),
    Column("reply_to", String(200)),
    Column("source", String(50), nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("ingested_at", UtcDateTime, nullable=False),
    UniqueConstraint("source", "idempotency_key"),
    Index(None, "identity_id", "occurred_at"),
    Index(None, "community_id", "occurred_at"),
)

member_state = Table(
    "member_state",
    metadata,
    Column("community_id", ForeignKey("communities.id"), primary_key=True),
    Column("member_id", ForeignKey("members.id"), primary_key=True),
    Column("stage", String(20), nullable=False),
    Column("segment", String(20), nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("stage_since", UtcDateTime, nullable=False),
    Column("segment_since", UtcDateTime, nullable=False),
    Column("is_member", Boolean, nullable=False),
    Column("joined_at", UtcDateTime),
    Column("left_at", UtcDateTime),
    Column("last_seen_at", UtcDateTime),
    Column("last_message_at", UtcDateTime),
    Column("last_purchase_at", UtcDateTime),
    Column("messages_total", Integer, nullable=False, default=0),
    Column("messages_30d", Integer, nullable=False, default=0),
    Column("interactions_30d", Integer, nullable=False, default=0),
    Column("purchases_total", Integer, nullable=False, default=0),
    Column("spend_minor", BigInteger, nullable=False, default=0),
    Column("reason", String(200), nullable=False),
    # When the rules could next decide differently without new activity (lifecycle/rules.py
    # `next_review`); NULL = only new activity can change this member. An incremental refresh
    # revisits the members due and those with new activity; the rest keep the row (and the
    # window counts above, as of the row's `as_of`).
    Column("review_at", UtcDateTime),
    Index(None, "community_id", "segment"),
    Index(None, "member_id"),
    Index(None, "review_at"),
    # The dashboard's member table: one segment or stage, in member order, a page at a time.
    Index(None, "segment", "member_id"),
    Index(None, "stage", "member_id"),
)

segment_transitions = Table(
    "segment_transitions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("member_id", ForeignKey("members.id"), nullable=False),
    # 'segment' or 'stage': one history table for both dimensions of the lifecycle.
    Column("dimension", String(10), nullable=False),
    Column("from_value", String(20)),
    Column("to_value", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("rule", String(60), nullable=False),
    Column("facts", JSON, nullable=False),
    UniqueConstraint("community_id", "member_id", "dimension", "at"),
    Index(None, "community_id", "at"),
    Index(None, "member_id", "at"),
)

merges = Table(
    "merges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("survivor_id", ForeignKey("members.id"), nullable=False),
    Column("merged_id", ForeignKey("members.id"), nullable=False),
    Column("identity_ids", JSON, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("undone_at", UtcDateTime),
    Column("undone_by", String(100)),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(60), nullable=False),
    Column("target", String(200), nullable=False),
    Column("detail", JSON, nullable=False),
    Index(None, "workspace_id", "at"),
)

import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("format", String(20), nullable=False),
    Column("path", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("status", String(20), nullable=False),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("inserted", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
)

refresh_runs = Table(
    "refresh_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("status", String(20), nullable=False),
    Column("memberships", Integer, nullable=False, default=0),
    Column("transitions", Integer, nullable=False, default=0),
    # "full" or "incremental", and what the run saw, so the next run can be incremental.
    Column("mode", String(20)),
    Column("mirror_generation", String(40)),
    Column("mirror_seq", BigInteger),
    Column("mirror_watermark", BigInteger),
    Column("rules_fingerprint", String(64)),
)


# Step 3: the lifecycle models. One row per fit (history kept); backtests likewise.
model_fits = Table(
    "model_fits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("target", String(20), nullable=False),  # activity | purchase | spend
    Column("model", String(20), nullable=False),  # bgnbd | mbgnbd | pareto | gamma_gamma | rules
    Column("as_of", UtcDateTime, nullable=False),
    Column("fitted_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # ok | too_few | rules_win | failed
    Column("params", JSON, nullable=False),
    Column("log_likelihood", Float),
    Column("members", Integer, nullable=False, default=0),
    Column("diagnostics", JSON, nullable=False),
    Index(None, "community_id", "target", "as_of"),
)

model_backtests = Table(
    "model_backtests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("cutoff", UtcDateTime, nullable=False),
    Column("horizon_days", Integer, nullable=False),
    Column("ran_at", UtcDateTime, nullable=False),
    Column("winner", String(20), nullable=False),
    Column("results", JSON, nullable=False),
    Index(None, "community_id", "ran_at"),
)

# Latest scores per membership, rewritten at each fit (weekly by default): the ranking inputs.
member_scores = Table(
    "member_scores",
    metadata,
    Column("community_id", ForeignKey("communities.id"), primary_key=True),
    Column("member_id", ForeignKey("members.id"), primary_key=True),
    Column("as_of", UtcDateTime, nullable=False),
    Column("activity_model", String(20), nullable=False),
    Column("p_alive", Float),
    Column("expected_activity_30d", Float),
    Column("past_activity_30d", Float),  # the member's own average per 30 days so far
    Column("p_alive_purchase", Float),
    Column("expected_purchases", Float),
    Column("expected_spend_minor", Float),
    Column("clv_minor", Float),
    Index(None, "member_id"),
)

# Every idempotency key a channel was asked to send (Step 4): claimed before the
# request leaves, so a key is sent at most once however often it is replayed.
channel_sends = Table(
    "channel_sends",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("channel", String(40), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(20), nullable=False),  # sending | sent
    Column("platform_id", String(200)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
)

# Where each live connector has read up to (a Matrix sync token …), written in
# the same transaction as the activities it covers.
connector_cursors = Table(
    "connector_cursors",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("connector", String(200), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Inbound webhook and callback deliveries already taken, by the sender's event id.
inbound_events = Table(
    "inbound_events",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("source", String(40), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("activities", Integer, nullable=False, default=0),
)

# Text intelligence (Step 5): what each message says, per member topics, alerts.
message_text = Table(
    "message_text",
    metadata,
    Column("activity_id", ForeignKey("activities.id"), primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("sentiment", String(8)),  # positive | neutral | negative; NULL without a model
    Column("sentiment_score", Float),  # P(positive) - P(negative), in [-1, 1]
    Column("topics", JSON, nullable=False),  # [[topic, keyword], …]
    Column("flags", JSON, nullable=False),  # [{"kind", "category", "term"}, …]
    Column("processed_at", UtcDateTime, nullable=False),
    Index(None, "community_id", "activity_id"),
)

member_topics = Table(
    "member_topics",
    metadata,
    Column("community_id", ForeignKey("communities.id"), primary_key=True),
    Column("member_id", ForeignKey("members.id"), primary_key=True),
    Column("topic", String(60), primary_key=True),
    Column("score", Float, nullable=False),  # decayed count as of `as_of` (docs/text.md)
    Column("as_of", UtcDateTime, nullable=False),
    Column("reasons", JSON, nullable=False),  # the messages behind it, strongest first
    Index(None, "member_id"),
    Index(None, "topic", "member_id"),  # the dashboard's tag filter starts from a topic
)

member_behaviour = Table(
    "member_behaviour",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("member_id", ForeignKey("members.id"), primary_key=True),
    Column("tag", String(60), primary_key=True),  # 热衷分享, 夜猫子 … (lifecycle/behaviour.py)
    Column("reason", String(200), nullable=False),  # the counts behind it
    Column("as_of", UtcDateTime, nullable=False),  # the pass that found it
    Index(None, "workspace_id", "tag"),
)

behaviour_state = Table(
    "behaviour_state",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("as_of", UtcDateTime, nullable=False),  # the last pass over the whole workspace
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column(
        "kind", String(30), nullable=False
    ),  # negative_message | complaint | sensitive_word | spam | negative_rise
    Column("severity", String(10), nullable=False),  # info | warning | critical
    Column("member_id", ForeignKey("members.id")),
    Column("activity_id", ForeignKey("activities.id")),
    Column("detail", JSON, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(12), nullable=False, default="open"),  # open | acknowledged
    Column("dedupe_key", String(120), nullable=False),
    UniqueConstraint("workspace_id", "dedupe_key"),
    Index(None, "workspace_id", "status", "occurred_at"),
)

text_state = Table(
    "text_state",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("last_activity_id", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
