"""Analytics over the activity table: Ibis expressions on a DuckDB mirror (or PySpark)."""

from qunyun.analytics.engine import AnalyticsEngine, naive_utc
from qunyun.analytics.facts import FactsSource, FactWindows, MirroredFacts, iter_member_facts, member_facts
from qunyun.analytics.mirror import ActivityMirror, Checkpoint, SyncReport

__all__ = [
    "ActivityMirror",
    "AnalyticsEngine",
    "Checkpoint",
    "FactWindows",
    "FactsSource",
    "MirroredFacts",
    "SyncReport",
    "iter_member_facts",
    "member_facts",
    "naive_utc",
]
