"""The analytics engine: Ibis tables over one backend (DuckDB mirror by default, or PySpark).

Every computation in `analytics/` takes an `AnalyticsEngine` and returns an
Ibis expression, so the same code runs on either backend. Timestamps are naive
UTC in every backend (see `mirror.py`); `naive_utc` converts our aware
datetimes at the boundary.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import ibis
from ibis.backends import BaseBackend

from qunyun.analytics.mirror import ActivityMirror

TABLES = ("activities", "identities", "members", "communities")


def naive_utc(value: datetime) -> datetime:
    """Aware → naive UTC, the form timestamps take inside the analytics backends."""
    return value.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class AnalyticsEngine:
    backend: BaseBackend

    @classmethod
    def on_mirror(cls, mirror: ActivityMirror) -> "AnalyticsEngine":
        return cls(ibis.duckdb.from_connection(mirror.duck))

    def table(self, name: str) -> ibis.Table:
        if name not in TABLES:
            raise KeyError(f"not an analytics table: {name}")
        return self.backend.table(name)
