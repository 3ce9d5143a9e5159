"""The report's state sections, from the database: segment movement, playbook results, alerts."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from qunyun.domain import FixedClock, Segment
from qunyun.journeys.catalog import Catalog
from qunyun.journeys.results import playbook_results
from qunyun.journeys.stats import Comparison
from qunyun.lifecycle.views import StateFilter, distribution, transitions_between
from qunyun.reports.source import ReportSource
from qunyun.store.tables import alerts, communities, member_scores, member_state

TOP_ALERTS = 8
_SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Movement:
    """Members per segment and stage now, and how many entered each during the week."""

    segments: dict[str, int]
    stages: dict[str, int]
    entered_segments: dict[str, int]
    entered_stages: dict[str, int]
    worth_waking: int  # silent members still in a group whose P(alive) is at least the configured bar


def movement(source: ReportSource, start: datetime, end: datetime) -> Movement:
    with source.engine.connect() as conn:
        now = distribution(conn, StateFilter(source.workspace_id))
        return Movement(
            now["segments"],
            now["stages"],
            transitions_between(conn, source.workspace_id, start, end, "segment"),
            transitions_between(conn, source.workspace_id, start, end, "stage"),
            _worth_waking(conn, source),
        )


def _worth_waking(conn: Connection, source: ReportSource) -> int:
    """The count behind `qunyun members --segment silent --sort value`'s "worth waking" outlook."""
    bar = source.settings.models.worth_waking_p_alive
    query = (
        select(func.count())
        .select_from(member_state)
        .join(communities, communities.c.id == member_state.c.community_id)
        .join(
            member_scores,
            (member_scores.c.community_id == member_state.c.community_id)
            & (member_scores.c.member_id == member_state.c.member_id),
        )
        .where(
            communities.c.workspace_id == source.workspace_id,
            member_state.c.segment == Segment.SILENT.value,
            member_state.c.is_member.is_(True),
            member_scores.c.p_alive >= bar,
        )
    )
    return int(conn.execute(query).scalar_one())


@dataclass(frozen=True)
class PlaybookLine:
    name: str
    titles: dict[str, str]  # per language
    unit: str  # member | community
    window_days: int
    enrolled: dict[str, int]
    matured: dict[str, int]
    metrics: dict[str, Comparison] = field(default_factory=dict)


def playbooks(source: ReportSource, until: datetime) -> list[PlaybookLine]:
    """Treated vs control of every enabled playbook, over enrolments whose window had passed by `until`."""
    catalog = Catalog(source.engine, source.workspace_id, FixedClock(until))
    lines = []
    for entry in catalog.enabled():
        results = playbook_results(source.engine, catalog, entry.name, until)
        titles = {lang: entry.playbook.describe(lang) for lang in ("zh-CN", "en")}
        lines.append(
            PlaybookLine(
                entry.name,
                titles,
                results.unit,
                results.window_days,
                results.enrolled,
                results.matured,
                results.metrics,
            )
        )
    return lines


@dataclass(frozen=True)
class AlertSummary:
    by_kind: dict[str, int]
    by_severity: dict[str, int]
    top: list[dict[str, Any]]  # the most severe first, then the latest


def week_alerts(source: ReportSource, start: datetime, end: datetime) -> AlertSummary:
    """Alerts raised for things that happened in [start, end) (docs/text.md)."""
    query = (
        select(alerts.c.kind, alerts.c.severity, alerts.c.detail, alerts.c.occurred_at, alerts.c.status)
        .where(
            alerts.c.workspace_id == source.workspace_id,
            alerts.c.occurred_at >= start,
            alerts.c.occurred_at < end,
        )
        .order_by(alerts.c.occurred_at.desc(), alerts.c.id.desc())
    )
    with source.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    by_kind: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    for r in rows:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + 1
        by_severity[r["severity"]] = by_severity.get(r["severity"], 0) + 1
    ranked = sorted(rows, key=lambda r: _SEVERITY_RANK.get(r["severity"], 3))  # stable: latest first within
    return AlertSummary(by_kind, by_severity, ranked[:TOP_ALERTS])
