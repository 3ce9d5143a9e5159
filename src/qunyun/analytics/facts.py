"""Member facts as one Ibis expression: a grouped scan of activities up to `as_of`.

Members are reached through identities, so merges and unmerges change the
grouping without rewriting a single activity. Every fact is a conditional
aggregate, computed by the backend (DuckDB or Spark) in one pass; Python only
turns the result into `MemberFacts`, a chunk at a time.
"""

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from qunyun.analytics.engine import AnalyticsEngine, naive_utc
from qunyun.analytics.fact_state import FactState
from qunyun.analytics.mirror import ActivityMirror, Changes, Checkpoint
from qunyun.domain import (
    ANY_KINDS,
    BASELINE_WINDOW_DAYS,
    INTERACTION_KINDS,
    MESSAGE_KINDS,
    OLDEST_KEPT,
    RECENT_WINDOW_DAYS,
    ActivityKind,
    MemberFacts,
)


@dataclass(frozen=True)
class FactWindows:
    recent_days: int = RECENT_WINDOW_DAYS
    baseline_days: int = BASELINE_WINDOW_DAYS
    # Active days are local days: UTC shifted by the community zone's offset (Asia/Shanghai: +8).
    local_offset_hours: float = 8.0


# Every mirrored kind is a valid ActivityKind (ingest validates it), so the broad sets are
# written as their short complements: two comparisons per row instead of thirteen.
_NOT_LIFE = sorted(k.value for k in set(ActivityKind) - ANY_KINDS)
_NOT_INTERACTION = sorted(k.value for k in set(ActivityKind) - INTERACTION_KINDS)
_MESSAGE = sorted(k.value for k in MESSAGE_KINDS)
# Active days are counted as bits: bit d set = active on the local day d days before as-of's
# local day. A bit-OR per member is one cheap aggregate where COUNT(DISTINCT day) is a hash set
# per member (measured at 20M rows: +3 s for the two counts, ~0 for the masks). A mask holds
# 46 days (exact doubles go to 2 ** 53), so 31 days take one mask and 91 days two.
_MASK_BITS = 46


def _day_mask(offset: ir.IntegerValue, include: ir.BooleanValue, low: int) -> ir.IntegerScalar:
    # 2 ** n as a double, exact up to 2 ** 53: backends disagree on the width of `1 << n`
    # (Spark shifts a 32-bit int and wraps at 32; Ibis drops the cast on the literal).
    bit = (ibis.literal(2.0) ** (offset - low)).cast("int64")
    in_mask = include & (offset >= low) & (offset < low + _MASK_BITS)
    return in_mask.ifelse(bit, ibis.literal(0, type="int64")).bit_or()


def _window_starts(as_of: datetime, windows: FactWindows) -> tuple[datetime, datetime, datetime]:
    """As-of (naive UTC), and where the recent window and the baseline before it start."""
    end = naive_utc(as_of)
    recent = end - timedelta(days=windows.recent_days)
    return end, recent, recent - timedelta(days=windows.baseline_days)


def _member_activities(
    engine: AnalyticsEngine, workspace_id: int, end: datetime, members: Collection[int] | None
) -> ir.Table:
    """Activities up to `end` in the workspace's communities, with their member (through the
    current identities); only `members`' if given, filtered before any aggregation."""
    acts = engine.table("activities")
    idents = engine.table("identities")
    comms = engine.table("communities").filter(lambda c: c.workspace_id == workspace_id)
    if members is not None:
        wanted = ibis.memtable({"wanted_member_id": sorted(members)}, schema={"wanted_member_id": "int64"})
        idents = idents.semi_join(wanted, idents.member_id == wanted.wanted_member_id)
    return (
        acts.filter(acts.occurred_at <= end)
        .join(idents, acts.identity_id == idents.id)
        .semi_join(comms, acts.community_id == comms.id)
    )


def member_facts(
    engine: AnalyticsEngine,
    workspace_id: int,
    as_of: datetime,
    windows: FactWindows | None = None,
    members: Collection[int] | None = None,
) -> ibis.Table:
    """One row per (community, member) with activity up to `as_of` (only `members` if given:
    they are filtered before the aggregation, so a few members cost a scan, not a full group-by).

    `active_days_*_mask` are bit sets of active local days (see `active_days`).
    """
    windows = windows or FactWindows()
    end, recent, baseline = _window_starts(as_of, windows)
    a = _member_activities(engine, workspace_id, end, members)
    at, kind = a.occurred_at, a.kind
    message = kind.isin(_MESSAGE)
    interaction = kind.notin(_NOT_INTERACTION)
    life = kind.notin(_NOT_LIFE)
    purchase = kind == ActivityKind.PURCHASE.value
    week = end - timedelta(days=7)
    quarter = end - timedelta(days=90)
    offset_s = int(windows.local_offset_hours * 3600)
    end_day = (int(end.replace(tzinfo=UTC).timestamp()) + offset_s) // 86400
    days_back = end_day - (at.epoch_seconds() + offset_s) // 86400
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
            active_days_30d_mask=_day_mask(days_back, life & (at > recent), 0),
            active_days_90d_mask_a=_day_mask(days_back, life & (at > quarter), 0),
            active_days_90d_mask_b=_day_mask(days_back, life & (at > quarter), _MASK_BITS),
            purchases_90d=a.count(where=purchase & (at > quarter)),
            spend_90d_minor=a.amount_minor.sum(where=purchase & (at > quarter)),
        )
        .order_by(["community_id", "member_id"])
    )


def window_edges(
    engine: AnalyticsEngine,
    workspace_id: int,
    as_of: datetime,
    windows: FactWindows | None = None,
    members: Collection[int] | None = None,
) -> ibis.Table:
    """Per (community, member) with an interaction in the recent or the baseline window: the
    `OLDEST_KEPT` oldest interactions of the recent window and of the baseline window, sorted
    (`oldest_interactions_30d`, `oldest_interactions_prev`).

    Not facts but where the windows' edges are: a refresh schedules its next review of a member
    from them (`rules.next_review`). One scan of the last recent + baseline days.
    """
    windows = windows or FactWindows()
    end, recent, baseline = _window_starts(as_of, windows)
    a = _member_activities(engine, workspace_id, end, members)
    a = a.filter((a.occurred_at > baseline) & a.kind.notin(_NOT_INTERACTION))
    at = a.occurred_at
    # Sorted after collecting: Spark cannot order inside an aggregate. Empty, not NULL, when a
    # window has none (DuckDB's aggregate of nothing is NULL, Spark's an empty list).
    none = ibis.literal([], type="array<timestamp>")
    return a.group_by([a.community_id, a.member_id]).aggregate(
        oldest_interactions_30d=at.collect(where=at > recent).sort()[:OLDEST_KEPT].fill_null(none),
        oldest_interactions_prev=at.collect(where=at <= recent).sort()[:OLDEST_KEPT].fill_null(none),
    )


def facts_with_edges(
    engine: AnalyticsEngine,
    workspace_id: int,
    as_of: datetime,
    windows: FactWindows | None = None,
    members: Collection[int] | None = None,
) -> ibis.Table:
    """`member_facts` with each member's `window_edges` (empty when none), as a refresh reads them."""
    facts = member_facts(engine, workspace_id, as_of, windows, members)
    edges = window_edges(engine, workspace_id, as_of, windows, members)
    joined = facts.left_join(edges, ["community_id", "member_id"])
    return joined.select(
        *[joined[c] for c in facts.columns],
        oldest_interactions_30d=joined.oldest_interactions_30d,
        oldest_interactions_prev=joined.oldest_interactions_prev,
    ).order_by(["community_id", "member_id"])


def active_days(row: dict[str, Any]) -> tuple[int, int]:
    """(active days in 30, in 90) from a `member_facts` row's masks: the set bits."""
    thirty = int(row["active_days_30d_mask"] or 0).bit_count()
    ninety = (
        int(row["active_days_90d_mask_a"] or 0).bit_count()
        + int(row["active_days_90d_mask_b"] or 0).bit_count()
    )
    return thirty, ninety


def iter_member_facts(
    engine: AnalyticsEngine,
    workspace_id: int,
    as_of: datetime,
    windows: FactWindows | None = None,
    chunk: int = 20_000,
    members: Collection[int] | None = None,
) -> Iterator[list[MemberFacts]]:
    """`member_facts` as `MemberFacts` lists of at most `chunk` members; only `members` if given."""
    if members is not None and not members:
        return
    expr = facts_with_edges(engine, workspace_id, as_of, windows, members)
    for batch in expr.to_pyarrow_batches(chunk_size=chunk):
        yield [_facts(row, as_of) for row in batch.to_pylist()]


# (messages_30d, interactions_30d, community_id, member_id)
_Counts = tuple[int, int, int, int]
Membership = tuple[int, int]  # (community_id, member_id)


class FactsSource(Protocol):
    """Where a refresh gets member facts, and how it learns whom an incremental run must revisit."""

    def prepare(self) -> Checkpoint:
        """Bring the data up to date; name the state the facts will be computed on."""
        ...

    def changes(self, since: Checkpoint, after: datetime, upto: datetime) -> Changes | None:
        """Whose facts may differ between a refresh at (`since`, `after`) and one at `upto`
        because of activity (new, late or in between) or identity moves; None = unknown."""
        ...

    def facts(
        self,
        as_of: datetime,
        members: Collection[int] | None = None,
        memberships: Collection[Membership] | None = None,
    ) -> Iterable[list[MemberFacts]]:
        """Facts of everyone (both None), or of the given members (in every community) and the
        given memberships, in (community, member) order."""
        ...

    def slid_out(self, after: datetime, upto: datetime) -> set[Membership]:
        """Memberships with a message or interaction that left the recent window between as-of
        `after` and `upto`: their 30-day counts moved with no new activity."""
        ...

    def window_counts(self, as_of: datetime, memberships: Collection[Membership]) -> Iterable[list[_Counts]]:
        """(messages_30d, interactions_30d, community_id, member_id) of the given memberships, in
        chunks."""
        ...


def _key(community: pa.Array, member: pa.Array) -> pa.Array:
    """One int64 per (community, member), for set membership tests on whole batches."""
    return pc.add(pc.multiply(community.cast(pa.int64()), 1 << 32), member.cast(pa.int64()))


@dataclass(frozen=True)
class _Wanted:
    """Whom a read is for: whole members and single memberships. The mirror reads whole members
    (a superset); the memberships not asked for are dropped from each batch."""

    members: frozenset[int]
    memberships: frozenset[Membership]

    @classmethod
    def of(
        cls, members: Collection[int] | None, memberships: Collection[Membership] | None
    ) -> "_Wanted | None":
        if members is None and memberships is None:
            return None
        return cls(frozenset(members or ()), frozenset(memberships or ()))

    def member_ids(self) -> set[int]:
        return set(self.members) | {m for _, m in self.memberships}

    @cached_property
    def _membership_keys(self) -> pa.Array:
        return pa.array([(c << 32) + m for c, m in self.memberships], pa.int64())

    @cached_property
    def _member_ids(self) -> pa.Array:
        return pa.array(sorted(self.members), pa.int64())

    def keep(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if not self.memberships or batch.num_rows == 0:
            return batch
        community, member = batch.column("community_id"), batch.column("member_id")
        mask = pc.is_in(_key(community, member), value_set=self._membership_keys)
        if self.members:
            mask = pc.or_(mask, pc.is_in(member.cast(pa.int64()), value_set=self._member_ids))
        return batch.filter(mask)


class MirroredFacts:
    """Facts on the DuckDB mirror, synced from the source database first: from the maintained
    `fact_state` when it can be exact (analytics/fact_state.py), else by the grouped scan."""

    def __init__(
        self,
        mirror: ActivityMirror,
        workspace_id: int,
        windows: FactWindows | None = None,
        *,
        maintained: bool = True,
    ) -> None:
        self.mirror = mirror
        self.workspace_id = workspace_id
        self.windows = windows
        self.maintained = maintained

    def prepare(self) -> Checkpoint:
        self.mirror.sync()
        return self.mirror.checkpoint()

    def changes(self, since: Checkpoint, after: datetime, upto: datetime) -> Changes | None:
        return self.mirror.changes(since, naive_utc(after), naive_utc(upto))

    def facts(
        self,
        as_of: datetime,
        members: Collection[int] | None = None,
        memberships: Collection[Membership] | None = None,
    ) -> Iterable[list[MemberFacts]]:
        wanted = _Wanted.of(members, memberships)
        return (
            [_facts(row, as_of) for row in batch.to_pylist()]
            for batch in self._batches(as_of, wanted, with_edges=True)
        )

    def _batches(
        self, as_of: datetime, wanted: _Wanted | None, *, with_edges: bool
    ) -> Iterator[pa.RecordBatch]:
        ids = None if wanted is None else wanted.member_ids()
        table = None
        if self.maintained:
            whole, pairs = (None, None) if wanted is None else (wanted.members, wanted.memberships)
            table = self.maintained_facts(as_of, whole, with_edges=with_edges, memberships=pairs)
        if table is None:
            engine = AnalyticsEngine.on_mirror(self.mirror)
            make = facts_with_edges if with_edges else member_facts
            if ids is not None and not ids:
                return
            table = make(engine, self.workspace_id, as_of, self.windows, ids).to_pyarrow_batches(
                chunk_size=20_000
            )
        for batch in table:
            kept = batch if wanted is None else wanted.keep(batch)
            if kept.num_rows:
                yield kept

    def slid_out(self, after: datetime, upto: datetime) -> set[Membership]:
        recent = timedelta(days=(self.windows or FactWindows()).recent_days)
        kinds = ", ".join(f"'{k}'" for k in sorted(set(_MESSAGE) | {k.value for k in INTERACTION_KINDS}))
        rows = self.mirror.duck.execute(
            "SELECT DISTINCT a.community_id, i.member_id"
            " FROM activities a JOIN identities i ON a.identity_id = i.id"
            f" WHERE a.occurred_at > ? AND a.occurred_at <= ? AND a.kind IN ({kinds})",
            [naive_utc(after) - recent, naive_utc(upto) - recent],
        ).fetchall()
        return {(int(c), int(m)) for c, m in rows}

    def window_counts(self, as_of: datetime, memberships: Collection[Membership]) -> Iterable[list[_Counts]]:
        columns = ("messages_30d", "interactions_30d", "community_id", "member_id")
        for batch in self._batches(as_of, _Wanted(frozenset(), frozenset(memberships)), with_edges=False):
            yield list(zip(*(batch.column(c).to_pylist() for c in columns), strict=True))

    def maintained_facts(
        self,
        as_of: datetime,
        members: Collection[int] | None = None,
        *,
        with_edges: bool = False,
        memberships: Collection[Membership] | None = None,
    ) -> pa.RecordBatchReader | None:
        """`member_facts` rows from the maintained state (`facts_with_edges` rows `with_edges`)
        of everyone, or of `members` (every community) and `memberships`; None when the state
        cannot be exact (a mirrored activity lies after `as_of`: a replay of history)."""
        if (members is not None or memberships is not None) and not members and not memberships:
            return pa.RecordBatchReader.from_batches(pa.schema([]), [])
        windows = self.windows or FactWindows()
        state = FactState(
            self.mirror.duck,
            windows.recent_days,
            windows.baseline_days,
            int(windows.local_offset_hours * 3600),
        )
        end = naive_utc(as_of)
        if not state.usable(end):
            return None
        checkpoint = self.mirror.checkpoint()
        state.advance(end, checkpoint.generation, checkpoint.seq, checkpoint.watermark)
        edges = None
        if with_edges:
            # Edges are not maintained: scanning the last 120 days of the members asked for is
            # cheaper than keeping sorted lists up to date (docs/decisions/0006).
            engine = AnalyticsEngine.on_mirror(self.mirror)
            wanted = _Wanted.of(members, memberships)
            ids = None if wanted is None else wanted.member_ids()
            expr = window_edges(engine, self.workspace_id, as_of, self.windows, ids)
            engine.backend.create_table("fact_window_edges", expr, temp=True, overwrite=True)
            edges = "fact_window_edges"
        return state.read(self.workspace_id, members, edges=edges, memberships=memberships)


def _aware(value: datetime | None) -> datetime | None:
    # Arrow's own conversion to aware datetimes costs ~10x more per value than this.
    return None if value is None else value.replace(tzinfo=UTC)


def _facts(row: dict[str, Any], as_of: datetime) -> MemberFacts:
    thirty, ninety = active_days(row)
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
        active_days_30d=thirty,
        active_days_90d=ninety,
        purchases_90d=int(row["purchases_90d"]),
        spend_90d_minor=int(row["spend_90d_minor"] or 0),
        oldest_interactions_30d=tuple(t.replace(tzinfo=UTC) for t in row["oldest_interactions_30d"] or ()),
        oldest_interactions_prev=tuple(t.replace(tzinfo=UTC) for t in row["oldest_interactions_prev"] or ()),
    )
