"""Rule-based lifecycle: stage (seed 000) and segment (seed 002) from member facts.

Pure functions of (facts, previous state, config): no I/O, no clock. The
thresholds live in `[lifecycle]` of qunyun.toml; docs/lifecycle.md states
every rule in the operator's words. Each decision names the rule that made it.

Hysteresis: promotions take effect at once (a silent member who speaks is
active again today), demotions only once their condition has held for
`demotion_grace_days` beyond the threshold, and a mature member stays mature
until interactions fall below a lower "keep" threshold. A member near a
threshold therefore does not flip between segments day after day.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from qunyun.config import LifecycleConfig
from qunyun.domain import (
    BASELINE_WINDOW_DAYS,
    RECENT_WINDOW_DAYS,
    MemberFacts,
    Segment,
    Stage,
    add_months,
    months_between,
)

# Better segments first: moving right is a demotion.
_SEGMENT_RANK = {Segment.NEW: 0, Segment.ACTIVE: 0, Segment.SILENT: 1, Segment.CHURNED: 2}


@dataclass(frozen=True, slots=True)
class Previous:
    stage: Stage
    segment: Segment


@dataclass(frozen=True, slots=True)
class Decision:
    stage: Stage
    segment: Segment
    stage_rule: str
    segment_rule: str


@cache
def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _grace(previous: Previous | None, target: Segment, config: LifecycleConfig) -> timedelta:
    """Extra time a demotion waits when the member currently holds a better segment."""
    if previous is None or _SEGMENT_RANK[previous.segment] >= _SEGMENT_RANK[target]:
        return timedelta(0)
    return _days(config.demotion_grace_days)


def decide_segment(
    facts: MemberFacts, previous: Previous | None, config: LifecycleConfig
) -> tuple[Segment, str]:
    as_of = facts.as_of
    if not facts.is_member:
        return Segment.CHURNED, "left_group"
    joined = facts.joined_at
    if joined is not None and as_of - joined < _days(config.new_member_days) and not facts.rejoined:
        return Segment.NEW, "joined_recently"
    life = facts.last_life_at
    churn_after = _days(config.churn_inactive_days) + _grace(previous, Segment.CHURNED, config)
    if life is None or as_of - life >= churn_after:
        return Segment.CHURNED, "no_activity"
    message = facts.last_message_at
    silent_after = _days(config.silent_after_days) + _grace(previous, Segment.SILENT, config)
    if message is None or as_of - message >= silent_after:
        return Segment.SILENT, "never_spoke" if message is None else "no_recent_message"
    return Segment.ACTIVE, "spoke_recently"


def _collapse_holds(recent: int, previous: int, ratio: float, min_baseline: float) -> bool:
    """`recent` interactions in 30 days are below `ratio` x the 30-day baseline of `previous`
    interactions in the 90 days before, and that baseline is at least `min_baseline`.
    Monotone: more `previous` or fewer `recent` can only make it hold."""
    baseline = previous / 3.0
    return baseline >= min_baseline and recent < ratio * baseline


def _collapsed(facts: MemberFacts, ratio: float, min_baseline: float) -> bool:
    """Recent interactions fell below `ratio` x the member's own 30-day baseline."""
    return _collapse_holds(facts.interactions_30d, facts.interactions_prev_90d, ratio, min_baseline)


def _tenure_months(facts: MemberFacts, zone: ZoneInfo) -> int:
    joined = facts.joined_at
    if joined is None:
        return 0
    return months_between(joined.astimezone(zone), facts.as_of.astimezone(zone))


def decide_stage(
    facts: MemberFacts,
    segment: Segment,
    previous: Previous | None,
    config: LifecycleConfig,
    zone: ZoneInfo,
) -> tuple[Stage, str]:
    if not facts.is_member:
        return Stage.CHURNING, "left_group"
    if segment in (Segment.SILENT, Segment.CHURNED):
        return Stage.CHURNING, f"segment_{segment.value}"
    if _collapsed(facts, config.collapse_ratio, config.collapse_min_baseline_30d):
        return Stage.CHURNING, "activity_collapsed"
    months = _tenure_months(facts, zone)
    if months >= config.churning_after_months and _collapsed(facts, config.fade_ratio, 1.0):
        return Stage.CHURNING, "faded_after_6_months"
    if months < config.growing_after_months:
        return Stage.NEW, "first_month"
    if months >= config.mature_after_months:
        keep = previous is not None and previous.stage is Stage.MATURE
        needed = config.mature_keep_interactions_30d if keep else config.mature_enter_interactions_30d
        if facts.interactions_30d >= needed:
            return Stage.MATURE, "interacts"
        if facts.purchases_total >= config.mature_repeat_purchases:
            return Stage.MATURE, "repeat_buyer"
    return Stage.GROWING, "past_first_month"


def decide(
    facts: MemberFacts, previous: Previous | None, config: LifecycleConfig, zone: ZoneInfo
) -> Decision:
    segment, segment_rule = decide_segment(facts, previous, config)
    stage, stage_rule = decide_stage(facts, segment, previous, config, zone)
    return Decision(stage, segment, stage_rule, segment_rule)


def next_review(
    facts: MemberFacts,
    decision: Decision,
    config: LifecycleConfig,
    zone: ZoneInfo,
    *,
    decided_with: Previous | None = None,
) -> datetime | None:
    """The first instant after `facts.as_of` at which `decide` could answer differently with no
    new activity (`facts.as_of` itself if it already would, given the decision as "previous"),
    or None if only new activity can change it.

    Every rule above compares a timestamp plus a duration with as-of, or counts activities in a
    window that slides with as-of; this returns the earliest such crossing, computed with the
    decision as the next refresh's "previous" (so demotion grace is counted). An incremental
    refresh revisits a member only at this instant or when new activity arrives.
    `decided_with` is the "previous" the decision was made with (the check that it is its
    own fixed point is skipped when that already was the decision).
    """
    if not facts.is_member:
        return None  # churned/churning until they join again, which is new activity
    held = Previous(decision.stage, decision.segment)
    if decided_with != held and decide(facts, held, config, zone) != decision:
        # Hysteresis: with itself as "previous" the rules name another rule (a repeat buyer who
        # is mature by interactions once mature): the next refresh must look again.
        return facts.as_of
    crossings: list[datetime] = []
    joined, life, message = facts.joined_at, facts.last_life_at, facts.last_message_at
    if joined is not None and not facts.rejoined:
        crossings.append(joined + _days(config.new_member_days))
    if life is not None:
        crossings.append(life + _days(config.churn_inactive_days) + _grace(held, Segment.CHURNED, config))
    if message is not None:
        crossings.append(message + _days(config.silent_after_days) + _grace(held, Segment.SILENT, config))
    if decision.segment in (Segment.NEW, Segment.ACTIVE):
        # The stage of a silent or churned member is churning whatever the windows say.
        crossings.extend(_window_crossings(facts, decision, config, zone))
        tenure = (config.growing_after_months, config.mature_after_months, config.churning_after_months)
        # Tenure thresholds all passed long ago for most members: skip the calendar arithmetic.
        if joined is not None and facts.as_of - joined < _days(31 * (max(tenure) + 1)):
            local = joined.astimezone(zone)
            # Only the first still ahead can be the earliest: later ones come after it.
            ahead = (t for t in (add_months(local, m) for m in sorted(tenure)) if t > facts.as_of)
            crossings.extend(itertools.islice(ahead, 1))
    future = [t for t in crossings if t > facts.as_of]
    return min(future) if future else None


def _window_crossings(
    facts: MemberFacts, decision: Decision, config: LifecycleConfig, zone: ZoneInfo
) -> list[datetime]:
    """When the sliding windows could first change the decision, with no new activity.

    With no new activity, recent interactions only slide into the baseline, which makes a
    collapse or a fade more likely and the mature count smaller, and baseline interactions
    only leave it, which makes them less likely. Both rules are monotone, so nothing can change
    before the k-th oldest recent interaction slides out (k the fewest slides after which a
    rule could start or stop holding, no exit meanwhile) or the j-th oldest baseline one leaves
    (j the fewest exits after which a collapse or fade could stop holding, no slide meanwhile).
    """
    out = []
    slides = _slides_until_a_rule_can_hold(facts, decision, config, zone)
    if slides is not None and facts.oldest_interactions_30d:
        out.append(_kth(facts.oldest_interactions_30d, slides) + _days(RECENT_WINDOW_DAYS))
    exits = _exits_until_recovery(facts, decision, config)
    if exits is not None and facts.oldest_interactions_prev:
        edge = _days(RECENT_WINDOW_DAYS + BASELINE_WINDOW_DAYS)
        out.append(_kth(facts.oldest_interactions_prev, exits) + edge)
    return out


def _kth(oldest: tuple[datetime, ...], k: int) -> datetime:
    # Only the OLDEST_KEPT oldest are known: past them, the last one is an earlier bound.
    return oldest[min(k, len(oldest)) - 1]


def _fewest(high: int, holds: Callable[[int], bool]) -> int | None:
    """The least n in 1..high for which the monotone `holds(n)` is true, or None."""
    if high < 1 or not holds(high):
        return None
    low = 1
    while low < high:
        middle = (low + high) // 2
        if holds(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _slides_until_a_rule_can_hold(
    facts: MemberFacts, decision: Decision, config: LifecycleConfig, zone: ZoneInfo
) -> int | None:
    """The fewest recent interactions that must slide into the baseline (none leaving it) before
    the collapse or fade rule could hold, or a mature-by-interactions member could drop below
    the keep threshold; None if sliding alone never gets there."""
    recent, previous = facts.interactions_30d, facts.interactions_prev_90d
    if decision.stage_rule == "activity_collapsed":
        return None  # slides keep it collapsed
    rules = [(config.collapse_ratio, config.collapse_min_baseline_30d)]
    if decision.stage_rule != "faded_after_6_months" and (
        _tenure_months(facts, zone) >= config.churning_after_months
    ):
        rules.append((config.fade_ratio, 1.0))
    candidates = []
    for ratio, floor in rules:

        def after(n: int, ratio: float = ratio, floor: float = floor) -> bool:
            return _collapse_holds(recent - n, previous + n, ratio, floor)

        k = _fewest(recent, after)
        if k is not None:
            candidates.append(k)
    if decision.stage_rule == "interacts" and recent >= config.mature_keep_interactions_30d > 0:
        candidates.append(recent - config.mature_keep_interactions_30d + 1)
    return min(candidates, default=None)


def _exits_until_recovery(facts: MemberFacts, decision: Decision, config: LifecycleConfig) -> int | None:
    """For a member churning because of a collapse (or fade): the fewest baseline interactions
    that must leave it (none sliding in) before that rule could stop holding."""
    recent, previous = facts.interactions_30d, facts.interactions_prev_90d
    if decision.stage_rule == "activity_collapsed":
        ratio, floor = config.collapse_ratio, config.collapse_min_baseline_30d
    elif decision.stage_rule == "faded_after_6_months":
        ratio, floor = config.fade_ratio, 1.0
    else:
        return None  # exits only make a collapse or fade less likely
    return _fewest(previous, lambda n: not _collapse_holds(recent, previous - n, ratio, floor))


def explain(facts: MemberFacts) -> dict[str, object]:
    """The facts a transition row keeps, so an operator can see why it happened."""

    def days_since(value: datetime | None) -> float | None:
        return None if value is None else round((facts.as_of - value).total_seconds() / 86400, 2)

    return {
        "is_member": facts.is_member,
        "days_since_join": days_since(facts.joined_at),
        "days_since_message": days_since(facts.last_message_at),
        "days_since_activity": days_since(facts.last_life_at),
        "messages_30d": facts.messages_30d,
        "interactions_30d": facts.interactions_30d,
        "interactions_prev_90d": facts.interactions_prev_90d,
        "purchases_total": facts.purchases_total,
    }
