"""The source of truth: SQLAlchemy tables, migrations, and small repositories."""

# Registers the engagement, feedback and journey tables on the shared metadata (for migrations, tests).
from qunyun.store import auth_tables as auth_tables
from qunyun.store import engage_tables as engage_tables
from qunyun.store import feedback_tables as feedback_tables
from qunyun.store import journey_tables as journey_tables
from qunyun.store import report_tables as report_tables
from qunyun.store.engine import make_engine, migrate, normalise_url
from qunyun.store.workspace import ensure_workspace

__all__ = ["ensure_workspace", "make_engine", "migrate", "normalise_url"]
