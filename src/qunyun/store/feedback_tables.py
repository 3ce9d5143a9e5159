"""Feedback tables (Step 6): surveys and polls, who they were sent to, and the answers.
Same metadata as `tables.py` (migration 0007).

A survey keeps its whole validated definition as JSON, so the answers stored
beside it can always be read against the questions they answered. Responses
are one per member per survey (the unique key below makes that hold even for
two writers racing); each also becomes an activity of the member.
"""

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from qunyun.store.tables import metadata
from qunyun.store.types import BigId, UtcDateTime

surveys = Table(
    "surveys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("slug", String(60), nullable=False),
    Column("kind", String(10), nullable=False),  # survey | poll | nps | exit
    Column("title", String(200), nullable=False),  # zh-CN title, for lists; both languages in definition
    Column("definition", JSON, nullable=False),
    Column("fingerprint", String(64), nullable=False),  # of the create request, to refuse a changed slug
    Column("community_id", ForeignKey("communities.id")),
    Column("opens_at", UtcDateTime, nullable=False),
    Column("closes_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "slug"),
)

survey_deliveries = Table(
    "survey_deliveries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("survey_id", ForeignKey("surveys.id"), nullable=False),
    Column("member_id", ForeignKey("members.id"), nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key"),
    Index(None, "survey_id", "member_id"),
)

survey_responses = Table(
    "survey_responses",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("survey_id", ForeignKey("surveys.id"), nullable=False),
    Column("member_id", ForeignKey("members.id"), nullable=False),
    # Where the answer was given (the community its activity was recorded in).
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("answers", JSON, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key"),
    UniqueConstraint("survey_id", "member_id"),
    Index(None, "workspace_id", "submitted_at"),
)
