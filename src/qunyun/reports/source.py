"""Where a report's numbers come from: the database, the analytics engine, the workspace's settings."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from qunyun.analytics import ActivityMirror, AnalyticsEngine
from qunyun.analytics.metrics import Grain, MetricsQuery
from qunyun.config import Settings


@dataclass(frozen=True)
class ReportSource:
    """Everything the report reads. The analytics engine is made on first use, so a report
    that is already stored costs no mirror sync; the CLI, the worker and the dashboard each
    build one (`on_mirror`)."""

    engine: Engine
    workspace_id: int
    settings: Settings
    make_analytics: Callable[[], AnalyticsEngine]

    @classmethod
    def on_mirror(
        cls, engine: Engine, mirror: ActivityMirror, workspace_id: int, settings: Settings
    ) -> "ReportSource":
        def synced() -> AnalyticsEngine:
            mirror.sync()
            return AnalyticsEngine.on_mirror(mirror)

        return cls(engine, workspace_id, settings, synced)

    @cached_property
    def analytics(self) -> AnalyticsEngine:
        return self.make_analytics()

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    def query(self, start: date, end: date, grain: Grain = "week") -> MetricsQuery:
        return MetricsQuery(
            workspace_id=self.workspace_id,
            start=start,
            end=end,
            grain=grain,
            timezone=self.settings.general.timezone,
        )
