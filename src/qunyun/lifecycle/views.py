"""Read models over member_state for the CLI, reports and (later) the API."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from qunyun.config import CleanupConfig
from qunyun.domain import MESSAGE_KINDS, Segment, Stage
from qunyun.nlp.interests import strong
from qunyun.store.journey_tables import member_tags
from qunyun.store.tables import (
    activities,
    communities,
    identities,
    member_behaviour,
    member_scores,
    member_state,
    member_topics,
    members,
    refresh_runs,
    segment_transitions,
)


@dataclass(frozen=True)
class StateFilter:
    workspace_id: int
    segment: Segment | None = None
    stage: Stage | None = None
    community: str | None = None
    platform: str | None = None
    tag: str | None = None  # an operator/playbook tag or an interest topic
    member_id: int | None = None


def _scoped(query: Any, flt: StateFilter) -> Any:
    query = query.join(communities, communities.c.id == member_state.c.community_id).where(
        communities.c.workspace_id == flt.workspace_id
    )
    if flt.segment is not None:
        query = query.where(member_state.c.segment == flt.segment.value)
    if flt.stage is not None:
        query = query.where(member_state.c.stage == flt.stage.value)
    if flt.community is not None:
        query = query.where(communities.c.external_id == flt.community)
    if flt.platform is not None:
        query = query.where(communities.c.platform == flt.platform)
    if flt.member_id is not None:
        query = query.where(member_state.c.member_id == flt.member_id)
    if flt.tag is not None:
        query = query.where(_tagged(flt.tag))
    return query


def _tagged(tag: str) -> Any:
    """Members with the operator/playbook or behavioural tag, or with the interest topic in that community.

    The candidate ids come first (from the tag and topic indexes), so the planner starts from
    them: a rare tag no longer means scanning every membership (1M: 1-4 s → ~15 ms)."""
    candidates = (
        select(member_tags.c.member_id)
        .where(member_tags.c.tag == tag)
        .union(
            select(member_topics.c.member_id).where(member_topics.c.topic == tag),
            select(member_behaviour.c.member_id).where(member_behaviour.c.tag == tag),
        )
    )
    tagged = (
        select(member_tags.c.member_id)
        .where(member_tags.c.tag == tag)
        .union(select(member_behaviour.c.member_id).where(member_behaviour.c.tag == tag))
    )
    topical = (
        select(member_topics.c.member_id)
        .where(
            member_topics.c.topic == tag,
            member_topics.c.community_id == member_state.c.community_id,
            member_topics.c.member_id == member_state.c.member_id,
        )
        .exists()
    )
    return member_state.c.member_id.in_(candidates) & or_(member_state.c.member_id.in_(tagged), topical)


def distribution(conn: Connection, flt: StateFilter) -> dict[str, dict[str, int]]:
    """Counts per segment and per stage (every value present, zero if empty)."""
    result: dict[str, dict[str, int]] = {
        "segments": {s.value: 0 for s in Segment},
        "stages": {s.value: 0 for s in Stage},
    }
    for column, bucket in ((member_state.c.segment, "segments"), (member_state.c.stage, "stages")):
        query = _scoped(select(column, func.count()).select_from(member_state), flt).group_by(column)
        for value, count in conn.execute(query):
            result[bucket][value] = int(count)
    return result


def last_as_of(conn: Connection, workspace_id: int) -> datetime | None:
    """As-of of the last completed refresh (rows an incremental run skipped keep an older
    `as_of`: their decision was provably the same)."""
    value: datetime | None = conn.execute(
        select(func.max(refresh_runs.c.as_of)).where(
            refresh_runs.c.workspace_id == workspace_id, refresh_runs.c.status == "done"
        )
    ).scalar()
    return value


def last_refresh_id(conn: Connection, workspace_id: int) -> int:
    """The id of the last completed refresh (0 before the first): member state changes only with it."""
    value = conn.execute(
        select(func.max(refresh_runs.c.id)).where(
            refresh_runs.c.workspace_id == workspace_id, refresh_runs.c.status == "done"
        )
    ).scalar()
    return int(value or 0)


def list_members(
    conn: Connection, flt: StateFilter, limit: int, offset: int = 0, by_value: bool = False
) -> list[dict[str, Any]]:
    """Members with their state and latest model scores; `by_value` sorts by P(alive) x value
    (CLV for buyers, else expected activity; unscored members last)."""
    scores = member_scores.c
    value = scores.p_alive * func.coalesce(func.nullif(scores.clv_minor, 0), scores.expected_activity_30d, 0)
    order = (
        (value.desc().nulls_last(), member_state.c.member_id)
        if by_value
        # Not the community's name: (member, community id) pages along an index instead of sorting.
        else (member_state.c.member_id, member_state.c.community_id)
    )
    query = (
        _scoped(
            select(
                member_state.c.member_id,
                members.c.display_name,
                communities.c.external_id.label("community"),
                member_state.c.stage,
                member_state.c.segment,
                member_state.c.joined_at,
                member_state.c.last_message_at,
                member_state.c.last_seen_at,
                member_state.c.messages_total,
                member_state.c.messages_30d,
                member_state.c.purchases_total,
                member_state.c.spend_minor,
                member_state.c.reason,
                scores.activity_model,
                scores.p_alive,
                scores.expected_activity_30d,
                scores.past_activity_30d,
                scores.p_alive_purchase,
                scores.expected_purchases,
                scores.expected_spend_minor,
                scores.clv_minor,
                value.label("value"),
            )
            .select_from(member_state)
            .join(members, members.c.id == member_state.c.member_id)
            .outerjoin(
                member_scores,
                (scores.community_id == member_state.c.community_id)
                & (scores.member_id == member_state.c.member_id),
            ),
            flt,
        )
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def transitions_between(
    conn: Connection, workspace_id: int, start: datetime, end: datetime, dimension: str = "segment"
) -> dict[str, int]:
    """How many members entered each value of `dimension` in [start, end), from a different one."""
    query = (
        select(segment_transitions.c.to_value, func.count())
        .join(communities, communities.c.id == segment_transitions.c.community_id)
        .where(
            communities.c.workspace_id == workspace_id,
            segment_transitions.c.dimension == dimension,
            segment_transitions.c.from_value.is_not(None),
            segment_transitions.c.at >= start,
            segment_transitions.c.at < end,
        )
        .group_by(segment_transitions.c.to_value)
    )
    return {value: int(count) for value, count in conn.execute(query)}


def silent_worth_waking(conn: Connection, workspace_id: int, limit: int) -> list[dict[str, Any]]:
    """Silent members still in the group: highest P(alive) x value first where the lifecycle
    models scored them (docs/models.md), then the most engaged in the past (messages, spend)."""
    flt = StateFilter(workspace_id, segment=Segment.SILENT)
    scores = member_scores.c
    value = scores.p_alive * func.coalesce(func.nullif(scores.clv_minor, 0), scores.expected_activity_30d, 0)
    query = _scoped(
        select(
            member_state.c.member_id,
            member_state.c.community_id,
            members.c.display_name,
            member_state.c.segment,
            member_state.c.last_message_at,
            member_state.c.messages_total,
            member_state.c.spend_minor,
            scores.activity_model,
            scores.p_alive,
            scores.expected_activity_30d,
            scores.past_activity_30d,
            scores.p_alive_purchase,
            scores.expected_purchases,
            scores.expected_spend_minor,
            scores.clv_minor,
        )
        .select_from(member_state)
        .join(members, members.c.id == member_state.c.member_id)
        .outerjoin(
            member_scores,
            (scores.community_id == member_state.c.community_id)
            & (scores.member_id == member_state.c.member_id),
        )
        .where(member_state.c.is_member.is_(True), member_state.c.messages_total > 0),
        flt,
    ).order_by(
        value.desc().nulls_last(),
        member_state.c.messages_total.desc(),
        member_state.c.spend_minor.desc(),
        member_state.c.member_id,
    )
    rows = [dict(r._mapping) for r in conn.execute(query.limit(limit))]
    for row in rows:
        row["interests"] = interests_in(conn, row["member_id"], row["community_id"])
        row["last_messages"] = last_messages(conn, row["member_id"], row["community_id"], 3)
    return rows


def interests_in(conn: Connection, member_id: int, community_id: int) -> list[str]:
    """The member's interest tags in one community, strongest first: what a wake-up message is
    about (weak topics are stored but are not tags, docs/text.md)."""
    scored = [
        (str(topic), float(score))
        for topic, score in conn.execute(
            select(member_topics.c.topic, member_topics.c.score)
            .where(member_topics.c.member_id == member_id, member_topics.c.community_id == community_id)
            .order_by(member_topics.c.score.desc(), member_topics.c.topic)
        )
    ]
    keep = strong(scored)
    return [topic for topic, _ in scored if topic in keep]


def last_messages(conn: Connection, member_id: int, community_id: int | None, limit: int) -> list[str]:
    query = (
        select(activities.c.text)
        .join(identities, identities.c.id == activities.c.identity_id)
        .where(
            identities.c.member_id == member_id,
            activities.c.kind.in_([k.value for k in MESSAGE_KINDS]),
            activities.c.text.is_not(None),
        )
        .order_by(activities.c.occurred_at.desc())
        .limit(limit)
    )
    if community_id is not None:
        query = query.where(activities.c.community_id == community_id)
    return [str(t) for t in conn.execute(query).scalars()]


def cleanup_list(
    conn: Connection,
    workspace_id: int,
    as_of: datetime,
    config: CleanupConfig,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """周期淘汰: long in the group, no message and no purchase in the window, low lifetime spend."""
    window_start = as_of - timedelta(days=config.window_days)
    joined_before = as_of - timedelta(days=config.min_days_in_group)
    protect_minor = round(config.protect_lifetime_spend * 100)
    query = _scoped(
        select(
            member_state.c.member_id,
            members.c.display_name,
            communities.c.external_id.label("community"),
            member_state.c.joined_at,
            member_state.c.last_message_at,
            member_state.c.last_purchase_at,
            member_state.c.messages_total,
            member_state.c.purchases_total,
            member_state.c.spend_minor,
            member_state.c.segment,
        )
        .select_from(member_state)
        .join(members, members.c.id == member_state.c.member_id)
        .where(
            member_state.c.is_member.is_(True),
            member_state.c.joined_at <= joined_before,
            or_(
                member_state.c.last_message_at.is_(None),
                member_state.c.last_message_at < window_start,
            ),
            or_(
                member_state.c.last_purchase_at.is_(None),
                member_state.c.last_purchase_at < window_start,
            ),
            and_(member_state.c.spend_minor < protect_minor),
        ),
        StateFilter(workspace_id),
    ).order_by(member_state.c.joined_at, member_state.c.member_id)
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]
