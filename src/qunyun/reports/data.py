"""Everything one weekly report shows, gathered once and rendered in any language."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from qunyun.reports import activity
from qunyun.reports.anomalies import Anomaly, find_anomalies
from qunyun.reports.kpis import KPIS, WeekKpis, kpis_for_week
from qunyun.reports.source import ReportSource
from qunyun.reports.state import AlertSummary, Movement, PlaybookLine, movement, playbooks, week_alerts
from qunyun.reports.weeks import IsoWeek

# NPS moves with a handful of answers and members/MAU with the calendar; the rest are judged.
ANOMALY_KPIS = tuple(k for k in KPIS if k not in ("members", "nps"))


@dataclass(frozen=True)
class WeeklyData:
    week: IsoWeek
    generated_at: datetime
    timezone: str
    kpis: WeekKpis
    anomalies: list[Anomaly]
    trend: list[dict[str, Any]]
    cohorts: list[dict[str, Any]]
    heat: list[dict[str, Any]]
    slots: list[dict[str, Any]]
    content_types: list[dict[str, Any]]
    top_posts: list[dict[str, Any]]
    movement: Movement
    playbooks: list[PlaybookLine]
    alerts: AlertSummary

    @property
    def complete(self) -> bool:
        """Whether the week had ended when the report was generated."""
        return self.generated_at >= self.week.bounds(ZoneInfo(self.timezone))[1]


def collect(source: ReportSource, week: IsoWeek, now: datetime) -> WeeklyData:
    """Gather the week's report as of `now` (playbook results: as of the week's end, if earlier)."""
    start, end = week.bounds(source.zone)
    kpis = kpis_for_week(source, week)
    hours = activity.hours(source, week)
    content = activity.content(source, week)
    return WeeklyData(
        week=week,
        generated_at=now,
        timezone=source.settings.general.timezone,
        kpis=kpis,
        anomalies=find_anomalies(kpis.this, kpis.history, ANOMALY_KPIS),
        trend=activity.daily_trend(source, week),
        cohorts=activity.cohorts(source, week),
        heat=hours["heat"],
        slots=hours["slots"],
        content_types=content["types"],
        top_posts=content["top"],
        movement=movement(source, start, end),
        playbooks=playbooks(source, min(now, end)),
        alerts=week_alerts(source, start, end),
    )
