"""Member facts: what the activity table says about one member in one community."""

from dataclasses import dataclass
from datetime import datetime

# The sliding windows of the facts: "the last 30 days" and the 90-day baseline before them.
RECENT_WINDOW_DAYS = 30
BASELINE_WINDOW_DAYS = 90
# How many of each window's oldest interactions the facts carry (`oldest_interactions_*`).
OLDEST_KEPT = 16


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """Aggregates over activities up to `as_of` (never after: state is computed as of a time).

    `last_seen_at` counts any sign of life (reading included); join and leave
    are membership and are kept apart.
    """

    community_id: int
    member_id: int
    as_of: datetime
    first_join_at: datetime | None = None
    last_join_at: datetime | None = None
    last_leave_at: datetime | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    last_message_at: datetime | None = None
    last_purchase_at: datetime | None = None
    messages_total: int = 0
    messages_30d: int = 0
    interactions_30d: int = 0
    interactions_prev_90d: int = 0
    purchases_total: int = 0
    spend_minor: int = 0
    # Wider windows and recency/frequency/monetary inputs (Step 2; the Step 3 models use them).
    messages_7d: int = 0
    messages_90d: int = 0
    active_days_30d: int = 0
    active_days_90d: int = 0
    purchases_90d: int = 0
    spend_90d_minor: int = 0
    # Window edges, for scheduling the next review (not aggregates): the oldest interactions of
    # the recent window and of the baseline window, sorted, at most `OLDEST_KEPT` of each (the
    # window counts change as they slide out).
    oldest_interactions_30d: tuple[datetime, ...] = ()
    oldest_interactions_prev: tuple[datetime, ...] = ()

    @property
    def is_member(self) -> bool:
        """Still in the group: never left, or joined again after the last leave."""
        if self.last_leave_at is None:
            return True
        return self.last_join_at is not None and self.last_join_at > self.last_leave_at

    @property
    def rejoined(self) -> bool:
        return self.is_member and self.last_leave_at is not None

    @property
    def joined_at(self) -> datetime | None:
        """First join; members first seen without a join record joined when first seen."""
        candidates = [t for t in (self.first_join_at, self.first_seen_at) if t is not None]
        return min(candidates) if candidates else None

    @property
    def last_life_at(self) -> datetime | None:
        """Latest sign the member is there at all: any activity or a (re)join."""
        candidates = [t for t in (self.last_seen_at, self.last_join_at) if t is not None]
        return max(candidates) if candidates else None
