"""Lifecycle rules at their boundaries, against hand-worked expectations."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from qunyun.config import LifecycleConfig
from qunyun.domain import MemberFacts, Segment, Stage, add_months, months_between
from qunyun.lifecycle.rules import Previous, decide, next_review

ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 9, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
CFG = LifecycleConfig()


def facts(**kw: object) -> MemberFacts:
    base: dict[str, object] = {"community_id": 1, "member_id": 1, "as_of": AS_OF}
    base.update(kw)
    return MemberFacts(**base)  # type: ignore[arg-type]  # test helper forwards keywords


def long_member(**kw: object) -> MemberFacts:
    """Joined a year ago, otherwise as given."""
    joined = AS_OF - timedelta(days=365)
    return facts(first_join_at=joined, last_join_at=joined, first_seen_at=joined, **kw)


@pytest.mark.parametrize(
    ("days", "expected"),
    [(29, Segment.ACTIVE), (30, Segment.SILENT), (31, Segment.SILENT)],
)
def test_silent_after_30_days_without_a_message(days: int, expected: Segment) -> None:
    last = AS_OF - timedelta(days=days)
    decision = decide(long_member(last_message_at=last, last_seen_at=last), None, CFG, ZONE)
    assert decision.segment is expected


def test_silent_member_who_still_reads_is_silent_not_churned() -> None:
    decision = decide(
        long_member(last_message_at=AS_OF - timedelta(days=60), last_seen_at=AS_OF - timedelta(days=2)),
        None,
        CFG,
        ZONE,
    )
    assert (decision.segment, decision.segment_rule) == (Segment.SILENT, "no_recent_message")
    assert decision.stage is Stage.CHURNING


@pytest.mark.parametrize(("days", "expected"), [(89, Segment.SILENT), (90, Segment.CHURNED)])
def test_churned_when_no_sign_of_life_for_90_days(days: int, expected: Segment) -> None:
    last = AS_OF - timedelta(days=days)
    decision = decide(long_member(last_message_at=last, last_seen_at=last), None, CFG, ZONE)
    assert decision.segment is expected


def test_demotion_waits_for_the_grace_period_when_previously_active() -> None:
    active = Previous(Stage.GROWING, Segment.ACTIVE)
    for days, expected in ((30, Segment.ACTIVE), (32, Segment.ACTIVE), (33, Segment.SILENT)):
        last = AS_OF - timedelta(days=days)
        decision = decide(long_member(last_message_at=last, last_seen_at=last), active, CFG, ZONE)
        assert decision.segment is expected, days


def test_promotion_back_to_active_is_immediate() -> None:
    silent = Previous(Stage.CHURNING, Segment.SILENT)
    last = AS_OF - timedelta(hours=1)
    decision = decide(long_member(last_message_at=last, last_seen_at=last), silent, CFG, ZONE)
    assert decision.segment is Segment.ACTIVE


def test_daily_refreshes_near_the_threshold_do_not_flip() -> None:
    """A member who speaks every 31 days stays active under daily refreshes."""
    previous: Previous | None = None
    segments = []
    joined = AS_OF - timedelta(days=400)
    for day in range(0, 120):
        at = AS_OF - timedelta(days=120 - day)
        last_message = at - timedelta(days=day % 31)
        f = MemberFacts(
            1,
            1,
            at,
            first_join_at=joined,
            last_join_at=joined,
            first_seen_at=joined,
            last_seen_at=last_message,
            last_message_at=last_message,
        )
        decision = decide(f, previous, CFG, ZONE)
        previous = Previous(decision.stage, decision.segment)
        segments.append(decision.segment)
    assert set(segments[1:]) == {Segment.ACTIVE}


def test_new_member_within_30_days_even_if_quiet() -> None:
    joined = AS_OF - timedelta(days=29, hours=23)
    decision = decide(facts(first_join_at=joined, last_join_at=joined), None, CFG, ZONE)
    assert (decision.segment, decision.stage) == (Segment.NEW, Stage.NEW)


def test_member_who_left_is_churned() -> None:
    joined, left = AS_OF - timedelta(days=100), AS_OF - timedelta(days=3)
    decision = decide(
        facts(first_join_at=joined, last_join_at=joined, last_leave_at=left, last_message_at=left),
        None,
        CFG,
        ZONE,
    )
    assert (decision.segment, decision.stage, decision.segment_rule) == (
        Segment.CHURNED,
        Stage.CHURNING,
        "left_group",
    )


def test_left_then_rejoined_is_not_new_and_counts_tenure_from_first_join() -> None:
    first = AS_OF - timedelta(days=200)
    left, back = AS_OF - timedelta(days=60), AS_OF - timedelta(days=5)
    rejoined = facts(
        first_join_at=first,
        last_join_at=back,
        last_leave_at=left,
        last_message_at=AS_OF - timedelta(days=2),
        last_seen_at=AS_OF - timedelta(days=2),
        interactions_30d=1,
    )
    decision = decide(rejoined, Previous(Stage.CHURNING, Segment.CHURNED), CFG, ZONE)
    assert rejoined.is_member
    assert rejoined.rejoined
    assert decision.segment is Segment.ACTIVE
    assert decision.stage is Stage.GROWING  # 6 months of tenure, but not interacting enough to be mature


def test_rejoined_but_silent_is_silent() -> None:
    first = AS_OF - timedelta(days=200)
    rejoined = facts(
        first_join_at=first,
        last_join_at=AS_OF - timedelta(days=5),
        last_leave_at=AS_OF - timedelta(days=60),
        last_message_at=AS_OF - timedelta(days=70),
    )
    assert decide(rejoined, None, CFG, ZONE).segment is Segment.SILENT


def _joined_months_ago(months: int, delta: timedelta) -> MemberFacts:
    local_as_of = AS_OF.astimezone(ZONE)
    joined = add_months(local_as_of, -months) + delta
    recent = AS_OF - timedelta(days=1)
    return facts(
        first_join_at=joined,
        last_join_at=joined,
        first_seen_at=joined,
        last_seen_at=recent,
        last_message_at=recent,
        interactions_30d=10,
        messages_30d=10,
    )


@pytest.mark.parametrize(
    ("months", "delta", "expected"),
    [
        (1, timedelta(seconds=1), Stage.NEW),  # one second short of a month
        (1, timedelta(0), Stage.GROWING),  # exactly one month ago
        (3, timedelta(seconds=1), Stage.GROWING),
        (3, timedelta(0), Stage.MATURE),  # exactly three months, interacting
        (6, timedelta(0), Stage.MATURE),  # six months and still engaged: not churning
    ],
)
def test_stage_by_calendar_months_of_tenure(months: int, delta: timedelta, expected: Stage) -> None:
    assert decide(_joined_months_ago(months, delta), None, CFG, ZONE).stage is expected


def test_six_months_and_faded_is_churning() -> None:
    f = _joined_months_ago(6, timedelta(0))
    # Baseline: 9 interactions in the 90 days before the last 30 = 3 per 30 days.
    steady = replace(f, interactions_30d=3, interactions_prev_90d=9)
    assert decide(steady, None, CFG, ZONE).stage is not Stage.CHURNING
    faded = replace(steady, interactions_30d=1)  # below 0.5 x baseline after six months
    assert decide(faded, None, CFG, ZONE).stage_rule == "faded_after_6_months"
    joined = AS_OF - timedelta(days=100)
    young = replace(faded, first_join_at=joined, last_join_at=joined, first_seen_at=joined)
    assert decide(young, None, CFG, ZONE).stage is not Stage.CHURNING  # the same dip at 3 months is not


def test_activity_collapse_at_any_tenure() -> None:
    joined = AS_OF - timedelta(days=70)
    recent = AS_OF - timedelta(days=1)
    base = dict(
        community_id=1,
        member_id=1,
        as_of=AS_OF,
        first_join_at=joined,
        last_join_at=joined,
        last_seen_at=recent,
        last_message_at=recent,
        interactions_prev_90d=60,
    )
    assert decide(MemberFacts(**base, interactions_30d=4), None, CFG, ZONE).stage_rule == "activity_collapsed"
    assert decide(MemberFacts(**base, interactions_30d=5), None, CFG, ZONE).stage is Stage.GROWING


def test_mature_keeps_with_a_lower_threshold() -> None:
    f = _joined_months_ago(4, timedelta(0))
    three = replace(f, interactions_30d=3)
    assert decide(three, None, CFG, ZONE).stage is Stage.GROWING
    assert decide(three, Previous(Stage.MATURE, Segment.ACTIVE), CFG, ZONE).stage is Stage.MATURE


def test_repeat_buyer_is_mature() -> None:
    f = _joined_months_ago(4, timedelta(0))
    buyer = replace(f, interactions_30d=1, purchases_total=2)
    assert decide(buyer, None, CFG, ZONE).stage_rule == "repeat_buyer"


def test_calendar_months() -> None:
    jan31 = datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert add_months(jan31, 1) == datetime(2026, 2, 28, 10, tzinfo=UTC)
    assert months_between(jan31, datetime(2026, 2, 28, 9, 59, tzinfo=UTC)) == 0
    assert months_between(jan31, datetime(2026, 2, 28, 10, tzinfo=UTC)) == 1
    assert months_between(jan31, datetime(2026, 7, 31, 10, tzinfo=UTC)) == 6


def _review(f: MemberFacts, previous: Previous | None = None) -> datetime | None:
    return next_review(f, decide(f, previous, CFG, ZONE), CFG, ZONE)


def test_review_at_the_first_calendar_month_of_tenure() -> None:
    # joined 31 Jan 10:00 Shanghai; as-of 20 Feb; spoke yesterday; nothing in the windows
    joined = datetime(2026, 1, 31, 10, 0, tzinfo=ZONE)
    as_of = datetime(2026, 2, 20, 12, 0, tzinfo=ZONE)
    spoke = as_of - timedelta(days=1)
    f = facts(
        as_of=as_of,
        first_join_at=joined,
        last_join_at=joined,
        first_seen_at=joined,
        last_seen_at=spoke,
        last_message_at=spoke,
    )
    # new-member period ends 2 Mar 10:00; one calendar month (stage new → growing) is 28 Feb 10:00
    assert _review(f) == datetime(2026, 2, 28, 10, 0, tzinfo=ZONE)
    before = replace(f, as_of=datetime(2026, 2, 28, 9, 59, tzinfo=ZONE))
    after = replace(f, as_of=datetime(2026, 2, 28, 10, 0, tzinfo=ZONE))
    assert decide(before, None, CFG, ZONE).stage is Stage.NEW
    assert decide(after, None, CFG, ZONE).stage is Stage.GROWING


def test_review_when_enough_interactions_left_the_window_to_lose_maturity() -> None:
    spoke = AS_OF - timedelta(days=2)
    oldest = tuple(AS_OF - timedelta(days=d) for d in (25, 20, 15, 10, 5))
    f = long_member(
        last_seen_at=spoke, last_message_at=spoke, interactions_30d=5, oldest_interactions_30d=oldest
    )
    assert decide(f, None, CFG, ZONE).stage is Stage.MATURE
    # mature keeps at 2 interactions: the 4th oldest leaving (10 days ago + 30) leaves only one
    assert _review(f) == oldest[3] + timedelta(days=30)
    # only the oldest two known: the second is the earliest instant that can be promised
    assert _review(replace(f, oldest_interactions_30d=oldest[:2])) == oldest[1] + timedelta(days=30)


def test_review_when_a_collapse_or_fade_becomes_possible() -> None:
    spoke = AS_OF - timedelta(days=1)
    # a baseline of 60 interactions (20 a month), its 16 oldest one a day from 119 days ago, and
    # 16 recent ones, one a day from 29 days ago
    busy = long_member(
        last_seen_at=spoke,
        last_message_at=spoke,
        interactions_30d=16,
        interactions_prev_90d=60,
        oldest_interactions_30d=tuple(AS_OF - timedelta(days=29 - d) for d in range(16)),
        oldest_interactions_prev=tuple(AS_OF - timedelta(days=119 - d) for d in range(16)),
    )
    assert decide(busy, None, CFG, ZONE).stage is Stage.MATURE
    # after k slide into the baseline: fade (a year in the group) needs 16 - k < 0.5 x (60 + k) / 3,
    # first at k = 6 (10 < 11; k = 5 gives 11 < 10.83, no); collapse needs 16 - k < 0.25 x
    # (60 + k) / 3, first at k = 11 (5 < 5.92); losing maturity (keep 2) needs k = 15
    assert _review(busy) == busy.oldest_interactions_30d[5] + timedelta(days=30)
    # not yet six months in the group: no fade, so the collapse is the first (tenure: day 183)
    joined = AS_OF - timedelta(days=100)
    young = replace(busy, first_join_at=joined, last_join_at=joined, first_seen_at=joined)
    assert decide(young, None, CFG, ZONE).stage is Stage.MATURE
    assert _review(young) == young.oldest_interactions_30d[10] + timedelta(days=30)


def test_review_when_a_collapse_could_end_or_a_fade_become_a_collapse() -> None:
    spoke = AS_OF - timedelta(days=1)
    prev = tuple(AS_OF - timedelta(days=119 - d) for d in range(16))
    base = long_member(
        last_seen_at=spoke,
        last_message_at=spoke,
        interactions_prev_90d=60,
        oldest_interactions_prev=prev,
    )
    # 4 recent against 20 a month: collapsed (4 < 5). Slides keep it so; it ends once j baseline
    # interactions left with 4 >= 0.25 x (60 - j) / 3, i.e. j = 12: the 12th oldest + 120 days
    recent = tuple(AS_OF - timedelta(days=d) for d in (20, 15, 10, 5))
    collapsed = replace(base, interactions_30d=4, oldest_interactions_30d=recent)
    assert decide(collapsed, None, CFG, ZONE).stage_rule == "activity_collapsed"
    assert _review(collapsed) == prev[11] + timedelta(days=120)
    # 5 recent has faded (5 < 10) but not collapsed (5 < 5 fails): one slide makes it a collapse
    # (4 < 5.08), before the fade could end (j = 30, past the 16 kept: the 16th is the bound)
    faded = replace(base, interactions_30d=5, oldest_interactions_30d=(AS_OF - timedelta(days=25), *recent))
    assert decide(faded, None, CFG, ZONE).stage_rule == "faded_after_6_months"
    assert _review(faded) == AS_OF + timedelta(days=5)
    alone = replace(faded, oldest_interactions_30d=())  # no recent edge known: the fade's end
    assert _review(alone) == prev[15] + timedelta(days=120)


def test_review_of_a_silent_member_is_their_churn_date_with_grace() -> None:
    spoke, read = AS_OF - timedelta(days=40), AS_OF - timedelta(days=5)
    f = long_member(last_seen_at=read, last_message_at=spoke, oldest_interactions_prev=(spoke,))
    assert decide(f, None, CFG, ZONE).segment is Segment.SILENT
    # the windows and tenure no longer matter (stage is churning); churn waits 90 + 3 days
    assert _review(f) == read + timedelta(days=93)


def test_no_review_for_a_member_who_left() -> None:
    left = AS_OF - timedelta(days=3)
    assert _review(long_member(last_leave_at=left, last_seen_at=left)) is None
