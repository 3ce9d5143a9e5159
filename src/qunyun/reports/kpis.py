"""KPIs for a period, survey scores included, and the week's KPIs against last week and the targets.

One function for the CLI (`qunyun metrics`), the weekly report and the
dashboard overview, so the three never disagree. Definitions: docs/metrics.md;
what the report adds (retention, member growth over a quarter): docs/reports.md.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from qunyun.analytics.metrics import MetricsQuery, community_metrics
from qunyun.analytics.retention import cohort_retention
from qunyun.analytics.targets import TargetProgress, target_progress
from qunyun.feedback import brand_scores
from qunyun.reports.source import ReportSource
from qunyun.reports.weeks import IsoWeek

# The KPIs of the report, in the order it shows them.
KPIS = (
    "members",
    "net",
    "dau",
    "wau",
    "mau",
    "stickiness",
    "speaking_rate",
    "interaction_rate",
    "retention",
    "conversion_rate",
    "repurchase_rate",
    "nps",
    "churn_rate",
)
HISTORY_WEEKS = 8  # the weeks an anomaly is judged against
# The member-growth target is the seed's "+50% in 3 months" (docs/configuration.md): a quarter.
GROWTH_WEEKS = 13


def period_kpis(source: ReportSource, query: MetricsQuery) -> list[dict[str, Any]]:
    """Every metric of docs/metrics.md per period of `query`, with NPS and satisfaction joined."""
    rows: list[dict[str, Any]] = community_metrics(source.analytics, query).to_pyarrow().to_pylist()
    add_survey_scores(source, rows, query.community_id)
    return rows


def add_survey_scores(source: ReportSource, rows: list[dict[str, Any]], community_id: int | None) -> None:
    """NPS and satisfaction per period from survey answers (docs/surveys.md); None without answers.

    Computed by feedback/ and joined here: analytics/ does not know about surveys.
    """
    ranges = [
        (_midnight(r["first_day"], source), _midnight(r["last_day"] + timedelta(days=1), source))
        for r in rows
    ]
    with source.engine.connect() as conn:
        scores = brand_scores(conn, source.workspace_id, ranges, community_id)
    for row, score in zip(rows, scores, strict=True):
        nps, sat = score.nps, score.satisfaction
        row["nps"] = None if nps is None else nps.score
        row["nps_responses"] = 0 if nps is None else nps.responses
        row["satisfaction"] = None if sat is None else sat.mean
        row["csat"] = None if sat is None else sat.csat
        row["satisfaction_responses"] = 0 if sat is None else sat.responses


def _midnight(day: date, source: ReportSource) -> datetime:
    return datetime.combine(day, time(0), tzinfo=source.zone).astimezone(UTC)


def weekly_retention(source: ReportSource, weeks: list[IsoWeek]) -> dict[IsoWeek, float | None]:
    """Per week W: of the members who started in the week before W, the share active in W
    (cohort retention, week 1 — docs/metrics.md); None when nobody started that week."""
    query = source.query(weeks[0].previous().monday, weeks[-1].sunday)
    rows = cohort_retention(source.analytics, query, "week").to_pyarrow().to_pylist()
    week_one = {_as_date(r["cohort"]): r for r in rows if r["k"] == 1}
    out: dict[IsoWeek, float | None] = {}
    for week in weeks:
        cohort = week_one.get(week.previous().monday)
        out[week] = None if cohort is None or not cohort["size"] else cohort["retained"] / cohort["size"]
    return out


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class WeekKpis:
    """One week's KPIs (`this`), the week before (`last`), the `HISTORY_WEEKS` weeks before it
    (oldest first, `last` included) and progress against the targets."""

    week: IsoWeek
    this: dict[str, Any]
    last: dict[str, Any]
    history: list[dict[str, Any]]
    targets: list[TargetProgress]

    @property
    def deltas(self) -> dict[str, float | None]:
        """This week minus last week, per KPI (rates: in points of the rate); None if either is missing."""
        out: dict[str, float | None] = {}
        for kpi in KPIS:
            now, before = self.this.get(kpi), self.last.get(kpi)
            out[kpi] = None if now is None or before is None else float(now) - float(before)
        return out

    def target(self, kpi: str) -> TargetProgress | None:
        return next((t for t in self.targets if t.kpi == kpi), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": str(self.week),
            "this": self.this,
            "last": self.last,
            "deltas": self.deltas,
            "history": self.history,
            "targets": [t.as_dict() for t in self.targets],
        }


def kpis_for_week(source: ReportSource, week: IsoWeek) -> WeekKpis:
    """The week's KPIs, last week's, the previous weeks' and the targets (member growth over 13 weeks)."""
    weeks = [week.previous(n) for n in range(GROWTH_WEEKS - 1, -1, -1)]
    found = {r["period"]: r for r in period_kpis(source, source.query(weeks[0].monday, week.sunday))}
    recent = weeks[-(HISTORY_WEEKS + 1) :]
    retention = weekly_retention(source, recent)
    rows = [found.get(w.monday) or _empty(w) for w in weeks]
    for w, row in zip(weeks, rows, strict=True):
        row["iso_week"] = str(w)
        row["retention"] = retention.get(w)
    # Weeks before the first data have no row; target progress needs the weeks that have one.
    present = [r for r in rows if r.get("members") is not None]
    targets = target_progress(present, source.settings.targets.model_dump())
    return WeekKpis(week, rows[-1], rows[-2], rows[-(HISTORY_WEEKS + 1) : -1], targets)


def _empty(week: IsoWeek) -> dict[str, Any]:
    return {"period": week.monday, "first_day": week.monday, "last_day": week.sunday} | dict.fromkeys(KPIS)
