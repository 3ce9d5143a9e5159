"""What the template prints: the report's numbers as words of one language, charts as SVG."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from qunyun.analytics.targets import TargetProgress
from qunyun.domain import Segment, Stage
from qunyun.reports import charts
from qunyun.reports.actions import recommendations
from qunyun.reports.data import WeeklyData
from qunyun.reports.kpis import KPIS
from qunyun.reports.messages import Texts
from qunyun.reports.state import PlaybookLine

# The outcomes each playbook row shows (member playbooks); community playbooks show their one measure.
PLAYBOOK_OUTCOMES = ("reactivated", "converted", "harm")


def context(data: WeeklyData, t: Texts) -> dict[str, Any]:
    zone = ZoneInfo(data.timezone)
    return {
        "lang": t.lang,
        "t": t,
        "title": t("title"),
        "subtitle": t(
            "subtitle",
            week=str(data.week),
            start=t.day(data.week.monday),
            end=t.day(data.week.sunday),
            zone=data.timezone,
        ),
        "generated": t("generated", at=_local(data.generated_at, zone)),
        "partial": not data.complete,
        "kpis": kpi_rows(data, t),
        "anomalies": [
            t(
                "anomaly_line",
                kpi=t.name("kpi", a.kpi),
                value=t.kpi_value(a.kpi, a.value),
                median=t.kpi_value(a.kpi, a.median),
                z=f"{a.z:+.1f}",
                direction=t(a.direction),
            )
            for a in data.anomalies
        ],
        "charts": chart_svgs(data, t),
        "segments": _movement_rows(data, t, "segment", [s.value for s in Segment]),
        "stages": _movement_rows(data, t, "stage", [s.value for s in Stage]),
        "worth_waking": t("worth_waking", n=t.count(data.movement.worth_waking)),
        "slots": [
            t(
                "slot_line",
                slot=t.slot(s["weekday"], s["hour"]),
                posts=t.count(s["posts"]),
                responses=t.average(s["responses_per_post"]),
            )
            for s in data.slots
        ],
        "content_types": [
            {
                "name": t.name("content", r["content_type"]),
                "posts": t.count(r["posts"]),
                "responses": t.average(r["responses_per_post"]),
            }
            for r in data.content_types
        ],
        "top_posts": [
            {
                "text": r["text"],
                "kind": t.name("content", r["content_type"]),
                "replies": t.count(r["replies"]),
                "reactions": t.count(r["reactions"]),
            }
            for r in data.top_posts
        ],
        "playbooks": [row for line in data.playbooks for row in playbook_rows(line, t)],
        "alert_counts": [
            {"name": t.name("alert", kind), "n": t.count(n)}
            for kind, n in sorted(data.alerts.by_kind.items())
        ],
        "alerts": [
            {
                "when": _local(a["occurred_at"], zone),
                "kind": t.name("alert", a["kind"]),
                "severity": t.name("severity", a["severity"]),
                "critical": a["severity"] == "critical",
                "detail": _detail(a["detail"]),
            }
            for a in data.alerts.top
        ],
        "actions": recommendations(data, t),
    }


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def kpi_rows(data: WeeklyData, t: Texts) -> list[dict[str, Any]]:
    k = data.kpis
    deltas = k.deltas
    rows = [
        {
            "name": t.name("kpi", kpi),
            "this": t.kpi_value(kpi, k.this.get(kpi)),
            "last": t.kpi_value(kpi, k.last.get(kpi)),
            "change": t.kpi_delta(kpi, deltas[kpi]),
            **_target_cells(k.target(kpi), t),
        }
        for kpi in KPIS
    ]
    growth = k.target("member_growth")
    if growth is not None:
        rows.append(
            {
                "name": t.name("kpi", "member_growth"),
                "this": t.rate(growth.value),
                "last": "—",
                "change": "—",
                **_target_cells(growth, t),
            }
        )
    return rows


def _target_cells(progress: TargetProgress | None, t: Texts) -> dict[str, Any]:
    if progress is None:
        return {"target": t("no_target"), "progress": None, "status": ""}
    prefix = "≤ " if progress.kpi == "churn_rate" else ""
    status = "" if progress.met is None else t("met") if progress.met else t("below")
    width = None if progress.progress is None else round(progress.progress * 100)
    return {
        "target": prefix + t.kpi_value(progress.kpi, progress.target),
        "progress": width,
        "met": progress.met,
        "status": status,
    }


def _movement_rows(data: WeeklyData, t: Texts, group: str, order: list[str]) -> list[dict[str, str]]:
    now = data.movement.segments if group == "segment" else data.movement.stages
    entered = data.movement.entered_segments if group == "segment" else data.movement.entered_stages
    return [
        {"name": t.name(group, key), "now": t.count(now.get(key, 0)), "entered": t.count(entered.get(key, 0))}
        for key in order
    ]


def playbook_rows(line: PlaybookLine, t: Texts) -> list[dict[str, str]]:
    title = line.titles.get(t.lang, line.name)
    measured = f"{t.count(line.matured.get('treated', 0))} / {t.count(line.matured.get('control', 0))}"
    if not any(line.matured.values()) or not line.metrics:
        return [{"title": title, "measured": measured, "outcome": t("not_yet"), "treated": "", "control": "",
                 "difference": ""}]  # fmt: skip
    wanted = [m for m in PLAYBOOK_OUTCOMES if m in line.metrics] or list(line.metrics)
    rows: list[dict[str, str]] = []
    for metric in wanted:
        c = line.metrics[metric]
        ci = "" if c.p_value is None else f" ({t.points(c.low)}, {t.points(c.high)})"
        rows.append(
            {
                "title": title if not rows else "",
                "measured": measured if not rows else "",
                "outcome": t.name("outcome", metric),
                "treated": t.rate(c.treated),
                "control": t.rate(c.control),
                "difference": t.points(c.difference) + ci,
            }
        )
    return rows


def _detail(detail: dict[str, Any]) -> str:
    text = detail.get("text")
    if text:
        return str(text)[:120]
    return ", ".join(f"{k}={v}" for k, v in detail.items())[:120]


def chart_svgs(data: WeeklyData, t: Texts) -> dict[str, Markup]:
    """Every chart of the report as inline SVG (vl-convert output: trusted, not user text)."""
    segments = [
        {"label": t.name("segment", s.value), "members": data.movement.segments.get(s.value, 0)}
        for s in Segment
    ]
    cohort_rows = [r | {"cohort": f"{r['cohort']:%m-%d}"} for r in data.cohorts]
    built = {
        "trend": charts.activity_trend(
            data.trend,
            names={k: t.name("kpi", k) for k in ("dau", "wau", "mau")},
            title=t("trend"),
            day_title=t("day"),
            value_title=t("members_axis"),
            series_title=t("series"),
        ),
        "segments": charts.segment_distribution(
            segments, title=t("distribution"), value_title=t("members_axis")
        ),
        "cohorts": charts.cohort_heatmap(
            cohort_rows,
            title=t("cohorts"),
            cohort_title=t("cohort_axis"),
            k_title=t("week_k"),
            rate_title=t("retained_axis"),
        ),
        "hours": charts.hours_heatmap(
            data.heat,
            weekdays=t.weekdays,
            title=t("hours_chart"),
            weekday_title=t("weekday_axis"),
            hour_title=t("hour_axis"),
            value_title=t("interactions_axis"),
        ),
    }
    return {name: Markup(charts.to_svg(chart)) for name, chart in built.items()}
