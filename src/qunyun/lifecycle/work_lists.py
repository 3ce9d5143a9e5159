"""The lists that drive an operator's day: who to wake, who is slipping, who could lead, who to clear.

Each is a ranked query over member state and model scores (docs/dashboard.md
states every rule); the rows carry the same columns so one export writes any.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from qunyun.config import Settings
from qunyun.domain import Segment
from qunyun.lifecycle.views import cleanup_list, silent_worth_waking
from qunyun.store.tables import communities, member_scores, member_state, members

# Above this share of their own past rate a member is not "slipping".
AT_RISK_RATIO = 0.5
KOC_MIN_MESSAGES_30D = 10

COLUMNS = (
    "member_id", "display_name", "community", "segment", "stage", "last_message_at", "messages_30d",
    "messages_total", "spend_minor", "p_alive", "expected_activity_30d", "past_activity_30d",
)  # fmt: skip


def _base(workspace_id: int) -> Any:
    scores = member_scores.c
    return (
        select(
            member_state.c.member_id,
            members.c.display_name,
            communities.c.external_id.label("community"),
            member_state.c.segment,
            member_state.c.stage,
            member_state.c.last_message_at,
            member_state.c.messages_30d,
            member_state.c.messages_total,
            member_state.c.spend_minor,
            scores.p_alive,
            scores.expected_activity_30d,
            scores.past_activity_30d,
        )
        .select_from(member_state)
        .join(members, members.c.id == member_state.c.member_id)
        .join(communities, communities.c.id == member_state.c.community_id)
        .outerjoin(
            member_scores,
            (scores.community_id == member_state.c.community_id)
            & (scores.member_id == member_state.c.member_id),
        )
        .where(communities.c.workspace_id == workspace_id, member_state.c.is_member.is_(True))
    )


def churn_risk(conn: Connection, workspace_id: int, limit: int) -> list[dict[str, Any]]:
    """New or active members the models expect to do under half their own past 30 days."""
    scores = member_scores.c
    query = (
        _base(workspace_id)
        .where(
            member_state.c.segment.in_((Segment.NEW.value, Segment.ACTIVE.value)),
            scores.past_activity_30d > 0,
            scores.expected_activity_30d < AT_RISK_RATIO * scores.past_activity_30d,
        )
        .order_by((scores.expected_activity_30d / scores.past_activity_30d).asc(), member_state.c.member_id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def koc_candidates(conn: Connection, workspace_id: int, limit: int) -> list[dict[str, Any]]:
    """Community stars (KOC): active members who speak most this month, then spend."""
    query = (
        _base(workspace_id)
        .where(
            member_state.c.segment == Segment.ACTIVE.value,
            member_state.c.messages_30d >= KOC_MIN_MESSAGES_30D,
        )
        .order_by(
            member_state.c.messages_30d.desc(),
            func.coalesce(member_state.c.spend_minor, 0).desc(),
            member_state.c.member_id,
        )
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def worth_waking(conn: Connection, workspace_id: int, limit: int) -> list[dict[str, Any]]:
    return silent_worth_waking(conn, workspace_id, limit)


ListMaker = Callable[[Connection, int, int, Settings, datetime], list[dict[str, Any]]]

WORK_LISTS: dict[str, ListMaker] = {
    "worth-waking": lambda conn, ws, limit, _s, _now: worth_waking(conn, ws, limit),
    "churn-risk": lambda conn, ws, limit, _s, _now: churn_risk(conn, ws, limit),
    "koc": lambda conn, ws, limit, _s, _now: koc_candidates(conn, ws, limit),
    "cleanup": lambda conn, ws, limit, s, now: cleanup_list(conn, ws, now, s.cleanup, limit),
}
