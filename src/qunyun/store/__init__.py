"""The source of truth: SQLAlchemy tables, migrations, and small repositories."""

# Registers the engagement and feedback tables on the shared metadata (migrations and tests see them).
from qunyun.store import engage_tables as engage_tables
from qunyun.store import feedback_tables as feedback_tables
from qunyun.store.engine import make_engine, migrate, normalise_url
from qunyun.store.workspace import ensure_workspace

__all__ = ["ensure_workspace", "make_engine", "migrate", "normalise_url"]
