"""The source of truth: SQLAlchemy tables, migrations, and small repositories."""

from qunyun.store.engine import make_engine, migrate, normalise_url
from qunyun.store.workspace import ensure_workspace

__all__ = ["ensure_workspace", "make_engine", "migrate", "normalise_url"]
