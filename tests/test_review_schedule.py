"""`next_review` never promises too much: no decision changes between as-of and the review.

A brute-force walk is the expectation: members with random histories (bursty,
fading, steady, many interactions and few), their facts recomputed naively at
every instant a window edge passes and every 12 hours, decided again with the
held decision as "previous"; up to the scheduled review nothing may differ.
"""

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from qunyun.config import LifecycleConfig
from qunyun.domain import OLDEST_KEPT, MemberFacts
from qunyun.lifecycle.rules import Decision, Previous, decide, next_review

ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 9, 15, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _facts_at(joined: datetime, times: list[datetime], purchases: int, at: datetime) -> MemberFacts:
    """A second, naive aggregation of one member's interactions (all messages) as of `at`."""
    past = [t for t in times if t <= at]
    recent = sorted(t for t in past if t > at - 30 * DAY)
    baseline = [t for t in past if at - 120 * DAY < t <= at - 30 * DAY]
    return MemberFacts(
        community_id=1,
        member_id=1,
        as_of=at,
        first_join_at=joined,
        last_join_at=joined,
        first_seen_at=joined,
        last_seen_at=max(past, default=joined),
        last_message_at=max(past, default=None),
        messages_30d=len(recent),
        interactions_30d=len(recent),
        interactions_prev_90d=len(baseline),
        purchases_total=purchases,
        oldest_interactions_30d=tuple(recent[:OLDEST_KEPT]),
        oldest_interactions_prev=tuple(sorted(baseline)[:OLDEST_KEPT]),
    )


def _history(rng: random.Random) -> tuple[datetime, list[datetime], int]:
    joined = AS_OF - timedelta(days=rng.uniform(20, 400))
    times: list[datetime] = []
    # a few bursts of different density: a busy baseline that faded, a steady chatter, …
    for _ in range(rng.randint(0, 4)):
        start = rng.uniform(0, 150)
        length = rng.uniform(1, 60)
        for _ in range(rng.choice([1, 3, 10, 30, 80])):
            at = AS_OF - timedelta(days=start - rng.uniform(0, length))
            if joined <= at <= AS_OF:
                times.append(at)
    return joined, times, rng.choice([0, 0, 1, 2])


def _same(a: Decision, b: Decision) -> bool:
    return (a.stage, a.segment, a.stage_rule, a.segment_rule) == (
        b.stage,
        b.segment,
        b.stage_rule,
        b.segment_rule,
    )


@pytest.mark.parametrize("seed", range(4))
def test_no_decision_changes_before_the_scheduled_review(seed: int) -> None:
    rng = random.Random(seed)
    config = LifecycleConfig()
    later_than_first_slide = 0
    for _ in range(150):
        joined, times, purchases = _history(rng)
        facts = _facts_at(joined, times, purchases, AS_OF)
        decision = decide(facts, None, config, ZONE)
        review = next_review(facts, decision, config, ZONE)
        horizon = min(review or AS_OF + 200 * DAY, AS_OF + 200 * DAY)
        edges = [t + d for t in times for d in (30 * DAY, 120 * DAY)]
        grid = [AS_OF + timedelta(hours=12 * i) for i in range(1, 401)]
        held = Previous(decision.stage, decision.segment)
        for at in sorted(x for x in edges + grid if AS_OF < x < horizon):
            later = decide(_facts_at(joined, times, purchases, at), held, config, ZONE)
            assert _same(later, decision), (seed, at, review, decision, later)
        if review is not None and facts.oldest_interactions_30d:
            later_than_first_slide += review > facts.oldest_interactions_30d[0] + 30 * DAY
    # the schedule is not just "the first slide": most busy members are left alone for longer
    assert later_than_first_slide > 10
