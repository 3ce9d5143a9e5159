"""Operator tables (Step 8): accounts, dashboard sessions, API tokens, idempotent API requests.
Same metadata as `tables.py` (migration 0009).

Secrets are never stored: a session or API token is kept as the SHA-256 of the
random value handed out (the value itself has 256 bits of entropy, so a plain
hash is enough and lookups stay one index probe); passwords as argon2 hashes.
"""

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from qunyun.store.tables import metadata
from qunyun.store.types import BigId, UtcDateTime

operators = Table(
    "operators",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    # Log-in names are unique across workspaces: the log-in form does not ask for a workspace.
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("locale", String(8), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime),
)

operator_sessions = Table(
    "operator_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("operator_id", ForeignKey("operators.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Index(None, "operator_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("operator_id", ForeignKey("operators.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    # The first characters of the token, shown in lists so an operator can tell tokens apart.
    Column("prefix", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)

api_requests = Table(
    "api_requests",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("operator_id", ForeignKey("operators.id"), nullable=False),
    # method + path + body: the same key sent with another request is a conflict, not a replay.
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key"),
)
