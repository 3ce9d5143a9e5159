"""Retention: N-day and cohort retention, bounded and unbounded (docs/metrics.md, "Retention").

- A member's **start** is their first join in the data (or first activity if the
  history has no join), as a local day; their cohort is the week (Monday) or
  month of that day.
- **Bounded** ("on day N"): active exactly on day N after the start day
  (day 0 = the start day). **Unbounded** ("on day N or later"): active on day
  N or any later day. The same split applies to cohort periods (week k after
  the cohort's week).
- Only members whose day/period N is complete by the end of the data count in
  the denominator (`eligible`), so a young cohort is not shown as churned.
"""

from typing import Literal

import ibis

from qunyun.analytics.engine import AnalyticsEngine
from qunyun.analytics.metrics import MetricsQuery, events

CohortGrain = Literal["week", "month"]


def _starts_and_days(engine: AnalyticsEngine, q: MetricsQuery) -> tuple[ibis.Table, ibis.Table]:
    ev = events(engine, q)
    starts = ev.group_by("member_id").aggregate(
        start=ev.day.min(where=ev.kind == "join").coalesce(ev.day.min())
    )
    active = (
        ev.filter(ev.kind.isin(list(q.active_kinds)) & (ev.day <= q.end))
        .select("member_id", "day")
        .distinct()
    )
    return starts.filter((starts.start >= q.start) & (starts.start <= q.end)), active


def n_day_retention(engine: AnalyticsEngine, q: MetricsQuery, days: list[int]) -> ibis.Table:
    """For each N in `days`: eligible members, retained on day N, retained on day N or later."""
    starts, active = _starts_and_days(engine, q)
    offsets = active.join(starts, "member_id")
    offsets = offsets.select("member_id", "start", n=offsets.day.delta(offsets.start, unit="day"))
    last_n = offsets.group_by("member_id").aggregate(last=offsets.n.max())
    ns = ibis.memtable({"n": days}, schema={"n": "int64"})
    eligible_members = starts.cross_join(ns)
    eligible_members = eligible_members.filter(
        eligible_members.start + eligible_members.n.as_interval("D") <= ibis.literal(q.end)
    )
    on_day = offsets.select("member_id", "n").distinct()
    bounded = eligible_members.join(on_day, ["member_id", "n"]).group_by("n").aggregate(on_day=ibis._.count())
    later = eligible_members.join(last_n, "member_id")
    unbounded = later.filter(later.last >= later.n).group_by("n").aggregate(or_later=ibis._.count())
    eligible = eligible_members.group_by("n").aggregate(eligible=ibis._.count())
    out = eligible.left_join(bounded, "n").left_join(unbounded, "n")
    return out.select(
        eligible.n,
        eligible.eligible,
        retained=out.on_day.fill_null(0),
        retained_or_later=out.or_later.fill_null(0),
    ).order_by("n")


def cohort_retention(engine: AnalyticsEngine, q: MetricsQuery, grain: CohortGrain = "week") -> ibis.Table:
    """Rows (cohort, size, k, eligible, retained, retained_or_later) for k = 0, 1, … periods."""
    unit = "W" if grain == "week" else "M"
    starts, active = _starts_and_days(engine, q)
    starts = starts.mutate(cohort=starts.start.truncate(unit))
    last_period = ibis.literal(q.end).truncate(unit)
    activity = active.join(starts, "member_id")
    activity = activity.select(
        "member_id", "cohort", k=_periods_between(activity.day.truncate(unit), activity.cohort, grain)
    ).distinct()
    sizes = starts.group_by("cohort").aggregate(size=ibis._.count())
    horizon = sizes.mutate(last_k=_periods_between(last_period, sizes.cohort, grain))
    # Ten years of weeks is enough periods for any cohort table anyone reads.
    periods = ibis.memtable({"k": list(range(0, 520))}, schema={"k": "int64"})
    grid = horizon.join(periods, periods.k <= horizon.last_k).select("cohort", "size", "k")
    in_k = (
        activity.group_by(["cohort", "k"])
        .aggregate(retained=activity.member_id.nunique())
        .rename(in_cohort="cohort", in_k="k")
    )
    last = (
        activity.group_by(["member_id", "cohort"])
        .aggregate(last=activity.k.max())
        .rename(last_cohort="cohort")
    )
    later = grid.join(last, (grid.cohort == last.last_cohort) & (last.last >= grid.k))
    or_later = (
        later.group_by(["cohort", "k"])
        .aggregate(retained_or_later=ibis._.count())
        .rename(later_cohort="cohort", later_k="k")
    )
    out = grid.left_join(in_k, (grid.cohort == in_k.in_cohort) & (grid.k == in_k.in_k)).left_join(
        or_later, (ibis._.cohort == or_later.later_cohort) & (ibis._.k == or_later.later_k)
    )
    return out.select(
        "cohort",
        "size",
        "k",
        retained=ibis._.retained.fill_null(0),
        retained_or_later=ibis._.retained_or_later.fill_null(0),
    ).order_by(["cohort", "k"])


def _periods_between(later: ibis.Value, earlier: ibis.Value, grain: CohortGrain) -> ibis.Value:
    if grain == "week":
        return later.delta(earlier, unit="day") // 7
    return later.delta(earlier, unit="month")


def day_list(max_day: int = 30) -> list[int]:
    """The N of the usual N-day retention table: 0, 1, 3, 7, 14, 30 (up to `max_day`)."""
    return [n for n in (0, 1, 3, 7, 14, 30, 60, 90) if n <= max_day]


__all__ = ["cohort_ltv", "cohort_retention", "day_list", "n_day_retention"]


def cohort_ltv(engine: AnalyticsEngine, q: MetricsQuery, grain: CohortGrain = "month") -> ibis.Table:
    """Historical LTV per cohort: everything the cohort's members spent up to `q.end`, per member."""
    unit = "W" if grain == "week" else "M"
    starts, _ = _starts_and_days(engine, q)
    starts = starts.mutate(cohort=starts.start.truncate(unit))
    ev = events(engine, q)
    spend = (
        ev.filter((ev.kind == "purchase") & (ev.day <= q.end))
        .group_by("member_id")
        .aggregate(spend_minor=ibis._.amount_minor.sum(), purchases=ibis._.count())
    )
    per_member = starts.left_join(spend, starts.member_id == spend.member_id)
    per_member = per_member.select(
        "cohort", spend_minor=per_member.spend_minor.fill_null(0), purchases=per_member.purchases.fill_null(0)
    )
    out = per_member.group_by("cohort").aggregate(
        size=ibis._.count(),
        buyers=(ibis._.purchases > 0).sum(),
        revenue_minor=ibis._.spend_minor.sum(),
    )
    return out.mutate(ltv_minor=out.revenue_minor.cast("float64") / out.size).order_by("cohort")
