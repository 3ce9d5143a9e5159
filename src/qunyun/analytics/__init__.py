"""Analytics over the activity table: Ibis expressions on a DuckDB mirror (or PySpark)."""

from qunyun.analytics.engine import AnalyticsEngine, naive_utc
from qunyun.analytics.facts import FactsSource, FactWindows, iter_member_facts, member_facts, mirrored_facts
from qunyun.analytics.mirror import ActivityMirror, SyncReport

__all__ = [
    "ActivityMirror",
    "AnalyticsEngine",
    "FactWindows",
    "FactsSource",
    "SyncReport",
    "iter_member_facts",
    "member_facts",
    "mirrored_facts",
    "naive_utc",
]
