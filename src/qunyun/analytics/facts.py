"""Member facts as one Ibis expression: a grouped scan of activities up to `as_of`.

Members are reached through identities, so merges and unmerges change the
grouping without rewriting a single activity. Every fact is a conditional
aggregate, computed by the backend (DuckDB or Spark) in one pass; Python only
turns the result into `MemberFacts`, a chunk at a time.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis

from qunyun.analytics.engine import AnalyticsEngine, naive_utc
from qunyun.analytics.mirror import ActivityMirror
from qunyun.domain import ANY_KINDS, INTERACTION_KINDS, MESSAGE_KINDS, ActivityKind, MemberFacts


@dataclass(frozen=True)
class FactWindows:
    recent_days: int = 30
    baseline_days: int = 90
    # Active days are local days: UTC shifted by the community zone's offset (Asia/Shanghai: +8).
    local_offset_hours: float = 8.0


def _values(kinds: frozenset[ActivityKind]) -> list[str]:
    return sorted(k.value for k in kinds)


def member_facts(
    engine: AnalyticsEngine, workspace_id: int, as_of: datetime, windows: FactWindows | None = None
) -> ibis.Table:
    """One row per (community, member) with activity up to `as_of`."""
    windows = windows or FactWindows()
    end = naive_utc(as_of)
    recent = end - timedelta(days=windows.recent_days)
    baseline = recent - timedelta(days=windows.baseline_days)
    acts = engine.table("activities")
    idents = engine.table("identities")
    comms = engine.table("communities").filter(lambda c: c.workspace_id == workspace_id)
    a = (
        acts.filter(acts.occurred_at <= end)
        .join(idents, acts.identity_id == idents.id)
        .semi_join(comms, acts.community_id == comms.id)
    )
    at, kind = a.occurred_at, a.kind
    message = kind.isin(_values(MESSAGE_KINDS))
    interaction = kind.isin(_values(INTERACTION_KINDS))
    life = kind.isin(_values(ANY_KINDS))
    purchase = kind == ActivityKind.PURCHASE.value
    week = end - timedelta(days=7)
    quarter = end - timedelta(days=90)
    local_day = (at + ibis.interval(seconds=int(windows.local_offset_hours * 3600))).date()
    return (
        a.group_by([a.community_id, a.member_id])
        .aggregate(
            first_join_at=at.min(where=kind == ActivityKind.JOIN.value),
            last_join_at=at.max(where=kind == ActivityKind.JOIN.value),
            last_leave_at=at.max(where=kind == ActivityKind.LEAVE.value),
            first_seen_at=at.min(where=life),
            last_seen_at=at.max(where=life),
            last_message_at=at.max(where=message),
            last_purchase_at=at.max(where=purchase),
            messages_total=a.count(where=message),
            messages_30d=a.count(where=message & (at > recent)),
            interactions_30d=a.count(where=interaction & (at > recent)),
            interactions_prev_90d=a.count(where=interaction & (at > baseline) & (at <= recent)),
            purchases_total=a.count(where=purchase),
            spend_minor=a.amount_minor.sum(where=purchase),
            messages_7d=a.count(where=message & (at > week)),
            messages_90d=a.count(where=message & (at > quarter)),
            active_days_30d=local_day.nunique(where=life & (at > recent)),
            active_days_total=local_day.nunique(where=life),
            purchases_90d=a.count(where=purchase & (at > quarter)),
            spend_90d_minor=a.amount_minor.sum(where=purchase & (at > quarter)),
        )
        .order_by(["community_id", "member_id"])
    )


def iter_member_facts(
    engine: AnalyticsEngine,
    workspace_id: int,
    as_of: datetime,
    windows: FactWindows | None = None,
    chunk: int = 20_000,
) -> Iterator[list[MemberFacts]]:
    """`member_facts` as `MemberFacts` lists of at most `chunk` members."""
    expr = member_facts(engine, workspace_id, as_of, windows)
    for batch in expr.to_pyarrow_batches(chunk_size=chunk):
        yield [_facts(row, as_of) for row in batch.to_pylist()]


FactsSource = Callable[[datetime], Iterable[list[MemberFacts]]]


def mirrored_facts(
    mirror: ActivityMirror, workspace_id: int, windows: FactWindows | None = None
) -> FactsSource:
    """Facts for a refresh: bring the mirror up to date, then compute on it."""

    def facts(as_of: datetime) -> Iterable[list[MemberFacts]]:
        mirror.sync()
        return iter_member_facts(AnalyticsEngine.on_mirror(mirror), workspace_id, as_of, windows)

    return facts


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _facts(row: dict[str, Any], as_of: datetime) -> MemberFacts:
    return MemberFacts(
        community_id=int(row["community_id"]),
        member_id=int(row["member_id"]),
        as_of=as_of,
        first_join_at=_aware(row["first_join_at"]),
        last_join_at=_aware(row["last_join_at"]),
        last_leave_at=_aware(row["last_leave_at"]),
        first_seen_at=_aware(row["first_seen_at"]),
        last_seen_at=_aware(row["last_seen_at"]),
        last_message_at=_aware(row["last_message_at"]),
        last_purchase_at=_aware(row["last_purchase_at"]),
        messages_total=int(row["messages_total"]),
        messages_30d=int(row["messages_30d"]),
        interactions_30d=int(row["interactions_30d"]),
        interactions_prev_90d=int(row["interactions_prev_90d"]),
        purchases_total=int(row["purchases_total"]),
        spend_minor=int(row["spend_minor"] or 0),
        messages_7d=int(row["messages_7d"]),
        messages_90d=int(row["messages_90d"]),
        active_days_30d=int(row["active_days_30d"]),
        active_days_total=int(row["active_days_total"]),
        purchases_90d=int(row["purchases_90d"]),
        spend_90d_minor=int(row["spend_90d_minor"] or 0),
    )
