"""Analytics over the activity table: Ibis expressions on a DuckDB mirror (or PySpark)."""

from qunyun.analytics.engine import AnalyticsEngine, naive_utc
from qunyun.analytics.facts import (
    FactsSource,
    FactWindows,
    Membership,
    MirroredFacts,
    facts_with_edges,
    iter_member_facts,
    member_facts,
    window_edges,
)
from qunyun.analytics.mirror import ActivityMirror, Changes, Checkpoint, SyncReport

__all__ = [
    "ActivityMirror",
    "AnalyticsEngine",
    "Changes",
    "Checkpoint",
    "FactWindows",
    "FactsSource",
    "Membership",
    "MirroredFacts",
    "SyncReport",
    "facts_with_edges",
    "iter_member_facts",
    "member_facts",
    "naive_utc",
    "window_edges",
]
