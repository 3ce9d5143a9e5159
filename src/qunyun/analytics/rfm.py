"""Recency-frequency(-monetary) summaries per member: the input of the Step 3 models.

An "event" is a local day on which the member did something of the chosen
kinds (messages for "is the member alive in the group", purchases for "is the
customer still buying"), as customer-base analysis counts purchase occasions
rather than items. Per (community, member), in whole days:

- x   = event days - 1 (repeat events after the first);
- t_x = last event day - first event day;
- T   = as-of's local day - first event day;
- spend (purchases): the mean value per repeat event day, the first day left
  out as in the Gamma-Gamma papers, in minor units.

Two Ibis aggregations: first per (member, local day), then per member.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

import ibis

from qunyun.analytics.engine import AnalyticsEngine, naive_utc
from qunyun.analytics.facts import FactWindows
from qunyun.domain import ActivityKind

SECONDS_PER_DAY = 86_400


def local_day_number(at: datetime, offset_hours: float) -> int:
    """Days since 1970-01-01 of `at`'s local day (UTC shifted by the community zone's offset)."""
    return (int(naive_utc(at).replace(tzinfo=UTC).timestamp()) + int(offset_hours * 3600)) // SECONDS_PER_DAY


def event_summary(
    engine: AnalyticsEngine,
    workspace_id: int,
    as_of: datetime,
    kinds: Iterable[ActivityKind],
    windows: FactWindows | None = None,
    since: datetime | None = None,
) -> ibis.Table:
    """(community_id, member_id, x, t_x, T, days, repeat_spend_minor) for members with at least
    one event of `kinds` in [since, as_of]; staff and bots left out."""
    offset = int((windows or FactWindows()).local_offset_hours * 3600)
    end = naive_utc(as_of)
    acts = engine.table("activities")
    idents = engine.table("identities")
    people = engine.table("members").filter(lambda m: ~(m.is_staff | m.is_bot))
    comms = engine.table("communities").filter(lambda c: c.workspace_id == workspace_id)
    selected = acts.filter(acts.occurred_at <= end, acts.kind.isin(sorted(k.value for k in kinds)))
    if since is not None:
        selected = selected.filter(selected.occurred_at >= naive_utc(since))
    a = (
        selected.join(idents, selected.identity_id == idents.id)
        .semi_join(people, idents.member_id == people.id)
        .semi_join(comms, selected.community_id == comms.id)
    )
    day = (a.occurred_at.epoch_seconds() + offset) // SECONDS_PER_DAY
    daily = a.group_by([a.community_id, a.member_id, day.name("day")]).aggregate(
        spend=a.amount_minor.sum().fill_null(0)
    )
    today = local_day_number(as_of, offset / 3600)
    per_member = daily.group_by([daily.community_id, daily.member_id]).aggregate(
        days=daily.count(),
        first_day=daily.day.min(),
        last_day=daily.day.max(),
        spend_total=daily.spend.sum(),
        first_day_spend=daily.spend.argmin(daily.day),
    )
    repeat = per_member.days - 1
    return per_member.select(
        "community_id",
        "member_id",
        "days",
        x=repeat,
        t_x=per_member.last_day - per_member.first_day,
        T=today - per_member.first_day,
        repeat_spend_minor=ibis.ifelse(
            repeat > 0, (per_member.spend_total - per_member.first_day_spend) / repeat, 0.0
        ),
    ).order_by(["community_id", "member_id"])
