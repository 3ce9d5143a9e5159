"""Member facts as one grouped scan of the activity table, streamed.

One pass over activities up to `as_of`, grouped by (community, member), with
conditional aggregates for every fact the lifecycle rules need. Members are
reached through identities, so merges and unmerges change the grouping
without rewriting a single activity.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, and_, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from qunyun.domain import INTERACTION_KINDS, MESSAGE_KINDS, ActivityKind, MemberFacts
from qunyun.domain.kinds import ANY_KINDS
from qunyun.store.tables import activities, communities, identities


@dataclass(frozen=True)
class FactWindows:
    recent_days: int = 30
    baseline_days: int = 90


def _when(condition: ColumnElement[bool], value: Any) -> Any:
    return case((condition, value), else_=None)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, literal(1, Integer)), else_=literal(0, Integer))), 0)


def facts_query(workspace_id: int, as_of: datetime, windows: FactWindows) -> Any:
    a = activities.c
    kind = a.kind
    at = a.occurred_at
    is_message = kind.in_([k.value for k in MESSAGE_KINDS])
    is_interaction = kind.in_([k.value for k in INTERACTION_KINDS])
    is_life = kind.in_([k.value for k in ANY_KINDS])
    is_purchase = kind == ActivityKind.PURCHASE.value
    recent_start = as_of - timedelta(days=windows.recent_days)
    baseline_start = recent_start - timedelta(days=windows.baseline_days)
    return (
        select(
            a.community_id,
            identities.c.member_id,
            func.min(_when(kind == ActivityKind.JOIN.value, at)).label("first_join_at"),
            func.max(_when(kind == ActivityKind.JOIN.value, at)).label("last_join_at"),
            func.max(_when(kind == ActivityKind.LEAVE.value, at)).label("last_leave_at"),
            func.min(_when(is_life, at)).label("first_seen_at"),
            func.max(_when(is_life, at)).label("last_seen_at"),
            func.max(_when(is_message, at)).label("last_message_at"),
            func.max(_when(is_purchase, at)).label("last_purchase_at"),
            _count(is_message).label("messages_total"),
            _count(and_(is_message, at > recent_start)).label("messages_30d"),
            _count(and_(is_interaction, at > recent_start)).label("interactions_30d"),
            _count(and_(is_interaction, at > baseline_start, at <= recent_start)).label(
                "interactions_prev_90d"
            ),
            _count(is_purchase).label("purchases_total"),
            func.coalesce(func.sum(_when(is_purchase, a.amount_minor)), 0).label("spend_minor"),
        )
        .select_from(activities)
        .join(identities, identities.c.id == a.identity_id)
        .join(communities, communities.c.id == a.community_id)
        .where(communities.c.workspace_id == workspace_id, at <= as_of)
        .group_by(a.community_id, identities.c.member_id)
        .order_by(a.community_id, identities.c.member_id)
    )


def iter_member_facts(
    conn: Connection,
    workspace_id: int,
    as_of: datetime,
    windows: FactWindows | None = None,
    chunk: int = 5000,
) -> Iterator[list[MemberFacts]]:
    """Facts for every (community, member) with activity up to `as_of`, in chunks."""
    query = facts_query(workspace_id, as_of, windows or FactWindows())
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(query)
    for partition in result.partitions(chunk):
        yield [_facts(row._mapping, as_of) for row in partition]


def _facts(row: Any, as_of: datetime) -> MemberFacts:
    return MemberFacts(
        community_id=int(row["community_id"]),
        member_id=int(row["member_id"]),
        as_of=as_of,
        first_join_at=row["first_join_at"],
        last_join_at=row["last_join_at"],
        last_leave_at=row["last_leave_at"],
        first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"],
        last_message_at=row["last_message_at"],
        last_purchase_at=row["last_purchase_at"],
        messages_total=int(row["messages_total"]),
        messages_30d=int(row["messages_30d"]),
        interactions_30d=int(row["interactions_30d"]),
        interactions_prev_90d=int(row["interactions_prev_90d"]),
        purchases_total=int(row["purchases_total"]),
        spend_minor=int(row["spend_minor"]),
    )
