"""The report's activity sections, from the analytics engine: the daily trend, cohorts, hours, content.

Hours and posting slots look at the four weeks ending with the report's week:
one week has too few posts per (weekday, hour) slot to rank (analytics/content.py
ranks only slots with at least 5 posts).
"""

from datetime import date, datetime
from typing import Any

import ibis

from qunyun.analytics.content import (
    best_slots,
    content_summary,
    hour_of_week,
    post_performance,
    posting_hours,
)
from qunyun.analytics.metrics import community_metrics
from qunyun.analytics.retention import cohort_retention
from qunyun.reports.source import ReportSource
from qunyun.reports.weeks import IsoWeek

TREND_WEEKS = 8
HOURS_WEEKS = 4
COHORT_WEEKS = 8
TOP_POSTS = 5
TOP_SLOTS = 3


def daily_trend(source: ReportSource, week: IsoWeek) -> list[dict[str, Any]]:
    """Per local day of the last TREND_WEEKS weeks: DAU, WAU and MAU ending that day."""
    start = week.previous(TREND_WEEKS - 1).monday
    rows = community_metrics(source.analytics, source.query(start, week.sunday, "day"))
    return [
        {"day": _as_date(r["period"]), "dau": r["dau"], "wau": r["wau"], "mau": r["mau"]}
        for r in rows.to_pyarrow().to_pylist()
    ]


def cohorts(source: ReportSource, week: IsoWeek) -> list[dict[str, Any]]:
    """Weekly cohorts of the last COHORT_WEEKS weeks: size and share active in week k after joining."""
    query = source.query(week.previous(COHORT_WEEKS - 1).monday, week.sunday)
    rows = cohort_retention(source.analytics, query, "week").to_pyarrow().to_pylist()
    return [
        {"cohort": _as_date(r["cohort"]), "k": r["k"], "size": r["size"], "rate": r["retained"] / r["size"]}
        for r in rows
        if r["size"]
    ]


def hours(source: ReportSource, week: IsoWeek) -> dict[str, list[dict[str, Any]]]:
    """Interactions per (weekday, hour) and the best posting slots, over HOURS_WEEKS weeks."""
    query = source.query(week.previous(HOURS_WEEKS - 1).monday, week.sunday)
    heat = hour_of_week(source.analytics, query).to_pyarrow().to_pylist()
    slots = best_slots(posting_hours(source.analytics, query).to_pyarrow().to_pylist(), top=TOP_SLOTS)
    return {"heat": heat, "slots": slots}


def content(source: ReportSource, week: IsoWeek) -> dict[str, list[dict[str, Any]]]:
    """This week's posts: responses per content type, and the posts that drew most responses."""
    query = source.query(week.monday, week.sunday)
    types = content_summary(source.analytics, query).to_pyarrow().to_pylist()
    perf = post_performance(source.analytics, query)
    top = (
        perf.filter(perf.responses > 0)
        .order_by([ibis.desc("responses"), "occurred_at", "post_id"])
        .limit(TOP_POSTS)
        .to_pyarrow()
        .to_pylist()
    )
    return {"types": types, "top": top}


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
