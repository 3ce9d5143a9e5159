"""Community metrics per period: members, DAU/WAU/MAU, stickiness, speaking and interaction.

Definitions, in the operator's words, are in docs/metrics.md. Every function
returns an Ibis expression, so DuckDB and Spark compute the same numbers.
Days are the community's local days: timestamps (naive UTC) are shifted by
the zone's UTC offset, which is exact for zones without daylight saving
(Asia/Shanghai, and every zone China uses) and off by an hour around DST
changes elsewhere.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import ibis

from qunyun.analytics.engine import AnalyticsEngine
from qunyun.domain import MESSAGE_KINDS, SYSTEM_KINDS, ActivityKind

Grain = Literal["day", "week", "month"]
_TRUNC = {"day": "D", "week": "W", "month": "M"}

# Members who did one of these on a day were active that day (configurable per query).
DEFAULT_ACTIVE_KINDS = tuple(
    sorted(
        k.value
        for k in ActivityKind
        if k not in (ActivityKind.JOIN, ActivityKind.LEAVE, ActivityKind.VIEW) and k not in SYSTEM_KINDS
    )
)
INTERACTION_KINDS = tuple(
    sorted({*(k.value for k in MESSAGE_KINDS), ActivityKind.REACTION.value, ActivityKind.SHARE.value})
)
# A bare acknowledgement: only thanks/ok/+1 words, emoji, stickers ([表情]) and punctuation.
ACK_PATTERN = (
    r"^\s*(收到|谢谢大家|谢谢|多谢|感谢|好的|好滴|好哒|好|嗯嗯|嗯|哦|噢|哈哈+|ok|OK|Ok|thanks|Thanks|thx"
    r"|\+1|1|\[[^\]]{1,6}\]|\p{So}|\p{Sk}|\x{FE0F}|\x{200D}|\s)+[!！。.~～,，]*\s*$"
)


@dataclass(frozen=True)
class MetricsQuery:
    workspace_id: int
    start: date  # first local day, inclusive
    end: date  # last local day, inclusive
    grain: Grain = "week"
    community_id: int | None = None
    timezone: str = "Asia/Shanghai"
    active_kinds: tuple[str, ...] = field(default=DEFAULT_ACTIVE_KINDS)

    @property
    def offset(self) -> timedelta:
        """The zone's UTC offset in the middle of the queried range."""
        middle = datetime.combine(self.start + (self.end - self.start) / 2, datetime.min.time())
        offset = ZoneInfo(self.timezone).utcoffset(middle)
        return offset or timedelta(0)


def events(engine: AnalyticsEngine, q: MetricsQuery) -> ibis.Table:
    """Activities of real members (no staff, no bots) with member id, local day and period."""
    acts = engine.table("activities")
    idents = engine.table("identities")
    people = engine.table("members").filter(lambda m: ~m.is_staff & ~m.is_bot)
    comms = engine.table("communities").filter(lambda c: c.workspace_id == q.workspace_id)
    if q.community_id is not None:
        comms = comms.filter(lambda c: c.id == q.community_id)
    joined = (
        acts.join(idents, acts.identity_id == idents.id)
        .semi_join(people, idents.member_id == people.id)
        .semi_join(comms, acts.community_id == comms.id)
    )
    seconds = int(q.offset.total_seconds())
    local_day = (joined.occurred_at + ibis.interval(seconds=seconds)).date()
    return joined.select(
        "community_id",
        "member_id",
        "kind",
        "text",
        "reply_to",
        "amount_minor",
        "occurred_at",
        day=local_day,
        period=local_day.truncate(_TRUNC[q.grain]),
    )


def periods(q: MetricsQuery) -> ibis.Table:
    """One row per period overlapping [start, end]: its start, and its first and last day in range."""
    rows = []
    day = q.start
    while day <= q.end:
        first = _period_start(day, q.grain)
        last = min(_period_end(first, q.grain), q.end)
        rows.append({"period": first, "first_day": max(first, q.start), "last_day": last})
        day = last + timedelta(days=1)
    return ibis.memtable(rows, schema={"period": "date", "first_day": "date", "last_day": "date"})


def _period_start(day: date, grain: Grain) -> date:
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _period_end(first: date, grain: Grain) -> date:
    if grain == "day":
        return first
    if grain == "week":
        return first + timedelta(days=6)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def membership_deltas(ev: ibis.Table) -> ibis.Table:
    """+1 / -1 per member and local day as members come and go (docs/metrics.md, "Members").

    A join counts when the member was out (first join, or after a leave); a leave
    when the member was in. A member whose history starts without a join (an
    export that began after they joined) is counted in from their first activity.
    """
    moves = ev.filter(ev.kind.isin([ActivityKind.JOIN.value, ActivityKind.LEAVE.value]))
    order = ibis.window(
        group_by=[moves.community_id, moves.member_id], order_by=[moves.occurred_at, moves.kind]
    )
    moves = moves.mutate(before=moves.kind.lag().over(order))
    joins = moves.filter(
        (moves.kind == ActivityKind.JOIN.value)
        & (moves.before.isnull() | (moves.before == ActivityKind.LEAVE.value))
    ).select("community_id", "member_id", "day", delta=ibis.literal(1))
    leaves = moves.filter(
        (moves.kind == ActivityKind.LEAVE.value)
        & (moves.before.isnull() | (moves.before == ActivityKind.JOIN.value))
    ).select("community_id", "member_id", "day", delta=ibis.literal(-1))
    first = ev.group_by(["community_id", "member_id"]).aggregate(
        day=ev.day.min(),
        first_move=ev.kind.argmin(ev.occurred_at, where=ev.kind.isin(["join", "leave"])),
    )
    implicit = first.filter(
        first.first_move.isnull() | (first.first_move == ActivityKind.LEAVE.value)
    ).select("community_id", "member_id", "day", delta=ibis.literal(1))
    return joins.union(leaves).union(implicit)


def member_counts(ev: ibis.Table, q: MetricsQuery) -> ibis.Table:
    """Per period: joined, left, net, and members at the end of the period."""
    deltas = membership_deltas(ev)
    daily = deltas.group_by("day").aggregate(
        joined=deltas.delta.sum(where=deltas.delta > 0), left=-deltas.delta.sum(where=deltas.delta < 0)
    )
    daily = daily.mutate(joined=daily.joined.fill_null(0), left=daily.left.fill_null(0))
    p = periods(q)
    upto = (
        p.join(daily, daily.day <= p.last_day)
        .group_by(["period", "first_day", "last_day"])
        .aggregate(members=(daily.joined - daily.left).sum())
    )
    within = (
        p.join(daily, (daily.day >= p.first_day) & (daily.day <= p.last_day))
        .group_by("period")
        .aggregate(joined=daily.joined.sum(), left=daily.left.sum())
    )
    out = upto.left_join(within, upto.period == within.period).select(
        upto.period,
        upto.first_day,
        upto.last_day,
        joined=within.joined.fill_null(0),
        left=within.left.fill_null(0),
        members=upto.members,
    )
    return out.mutate(net=out.joined - out.left)


def activity_counts(ev: ibis.Table, q: MetricsQuery) -> ibis.Table:
    """Per period: DAU (average), WAU and MAU at the period's last day, active members, speakers …"""
    p = periods(q)
    in_range = ev.filter((ev.day >= q.start) & (ev.day <= q.end))
    active_days = (
        in_range.filter(in_range.kind.isin(list(q.active_kinds))).select("member_id", "day").distinct()
    )
    daily = active_days.group_by("day").aggregate(dau=active_days.count())
    dau = (
        p.left_join(daily, (daily.day >= p.first_day) & (daily.day <= p.last_day))
        .group_by(["period", "first_day", "last_day"])
        .aggregate(dau_total=daily.dau.sum())
    )
    everything = ev.filter(ev.kind.isin(list(q.active_kinds))).select("member_id", "day").distinct()
    wau = _distinct_before(p, everything, 7, "wau")
    mau = _distinct_before(p, everything, 30, "mau")
    message = in_range.kind.isin(sorted(k.value for k in MESSAGE_KINDS))
    ack = message & in_range.text.fill_null("").re_search(ACK_PATTERN)
    interaction = in_range.kind.isin(list(INTERACTION_KINDS))
    active = in_range.kind.isin(list(q.active_kinds))
    # Taking part in a topic someone raised: a reply or reaction pointing at a post, not a bare ack.
    responds = (
        in_range.kind.isin([ActivityKind.REPLY.value, ActivityKind.REACTION.value])
        & in_range.reply_to.notnull()
        & ~ack
    )
    member = in_range.member_id
    per_period = in_range.group_by("period").aggregate(
        active=member.nunique(where=active),
        speakers=member.nunique(where=message & ~ack),
        speakers_incl_ack=member.nunique(where=message),
        interactors=member.nunique(where=interaction & ~ack),
        interactors_incl_ack=member.nunique(where=interaction),
        participants=member.nunique(where=responds),
        messages=in_range.count(where=message),
        ack_messages=in_range.count(where=ack),
    )
    out = dau.join(wau, "period").join(mau, "period").left_join(per_period, dau.period == per_period.period)
    return out.select(
        dau.period,
        dau_total=dau.dau_total.fill_null(0),
        wau=wau.wau,
        mau=mau.mau,
        active=per_period.active.fill_null(0),
        speakers=per_period.speakers.fill_null(0),
        speakers_incl_ack=per_period.speakers_incl_ack.fill_null(0),
        interactors=per_period.interactors.fill_null(0),
        interactors_incl_ack=per_period.interactors_incl_ack.fill_null(0),
        participants=per_period.participants.fill_null(0),
        messages=per_period.messages.fill_null(0),
        ack_messages=per_period.ack_messages.fill_null(0),
    )


def _distinct_before(p: ibis.Table, active_days: ibis.Table, days: int, name: str) -> ibis.Table:
    """Distinct members active in the `days` local days ending on each period's last day."""
    window_start = p.last_day - ibis.interval(days=days - 1)
    joined = p.left_join(active_days, (active_days.day >= window_start) & (active_days.day <= p.last_day))
    return joined.group_by("period").aggregate(**{name: joined.member_id.nunique()})


def commerce_counts(ev: ibis.Table, q: MetricsQuery) -> ibis.Table:
    """Per period: buyers, purchases, revenue, and buyers who had bought before (repeat buyers)."""
    buys = ev.filter(ev.kind == ActivityKind.PURCHASE.value)
    order = ibis.window(group_by=[buys.community_id, buys.member_id], order_by=[buys.occurred_at])
    buys = buys.mutate(nth=ibis.row_number().over(order))  # 0 for a member's first purchase ever
    buys = buys.filter((buys.day >= q.start) & (buys.day <= q.end))
    p = periods(q)
    joined = p.left_join(buys, (buys.day >= p.first_day) & (buys.day <= p.last_day))
    return joined.group_by("period").aggregate(
        buyers=joined.member_id.nunique(),
        repeat_buyers=joined.member_id.nunique(where=joined.nth > 0),
        purchases=joined.member_id.count(),
        revenue_minor=joined.amount_minor.sum().fill_null(0),
    )


def community_metrics(engine: AnalyticsEngine, q: MetricsQuery) -> ibis.Table:
    """Every metric of docs/metrics.md, one row per period, ordered by period."""
    ev = events(engine, q)
    members = member_counts(ev, q)
    activity = activity_counts(ev, q)
    t = members.join(activity, "period").join(commerce_counts(ev, q), "period")
    days = (t.last_day.delta(t.first_day, unit="day") + 1).cast("float64")
    present = t.members.cast("float64").nullif(0)
    dau = t.dau_total.cast("float64") / days
    return t.select(
        "period",
        "first_day",
        "last_day",
        "joined",
        "left",
        "net",
        "members",
        dau=dau,
        wau=t.wau,
        mau=t.mau,
        stickiness=dau / t.mau.cast("float64").nullif(0),
        active=t.active,
        speakers=t.speakers,
        speakers_incl_ack=t.speakers_incl_ack,
        speaking_rate=t.speakers / present,
        speaking_rate_incl_ack=t.speakers_incl_ack / present,
        interaction_rate=t.interactors / present,
        interaction_rate_incl_ack=t.interactors_incl_ack / present,
        participants=t.participants,
        topic_participation_rate=t.participants / present,
        messages=t.messages,
        ack_messages=t.ack_messages,
        messages_per_active=t.messages.cast("float64") / t.active.cast("float64").nullif(0),
        buyers=t.buyers,
        purchases=t.purchases,
        revenue_minor=t.revenue_minor,
        conversion_rate=t.buyers / present,
        repurchase_rate=t.repeat_buyers / t.buyers.cast("float64").nullif(0),
        average_order_minor=t.revenue_minor.cast("float64") / t.purchases.cast("float64").nullif(0),
        churn_rate=t.left / (t.members - t.net).cast("float64").nullif(0),
    ).order_by("period")
