"""Behavioural tags (MISSION.md section 3): rules over what a member did in the last 90 days.

| tag | rule (last `WINDOW_DAYS` days) |
|---|---|
| 热衷分享 (loves sharing) | at least 3 shares, or shares are at least 20% of 5+ interactions |
| 喜欢优惠活动 (likes deals) | at least 2 coupon redemptions, or an interest score of 1+ in 优惠活动 |
| 关注技能提升 (skill-minded) | an interest score of 1+ in 职场/技能提升 |
| 活动达人 (event regular) | attended at least 2 events |
| 夜猫子 (night owl) | at least 30% of 10+ messages written 23:00-04:00 member-local time |
| 爱提问 (asks questions) | at least 40% of 10+ messages are questions |

Each tag carries its reason in numbers, so an operator can see why.
"""

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from qunyun.domain import MESSAGE_KINDS, ActivityKind
from qunyun.store.tables import activities, identities, member_topics

WINDOW_DAYS = 90
QUESTION_PATTERN = r"[？?]\s*\S{0,4}$|吗[？?。！!…\s]*$|呢[？?。\s]*$"  # also run by DuckDB (RE2)
_QUESTION = re.compile(QUESTION_PATTERN)
NIGHT_HOURS = (23, 0, 1, 2, 3)
NOT_INTERACTIONS = ("join", "leave", "view", "text_flag", "delivery")
RULE_TOPICS = ("优惠活动", "职场/技能提升")  # the interests the rules read


@dataclass(frozen=True)
class BehaviourCounts:
    """What one member did in the window: everything the rules look at."""

    interactions: int = 0
    shares: int = 0
    coupons: int = 0
    events: int = 0
    messages: int = 0
    night_messages: int = 0
    questions: int = 0


def rules(counts: BehaviourCounts, interests: Mapping[str, float]) -> list[dict[str, str]]:
    """The behavioural tags these counts earn, each with its reason in numbers."""
    tags: list[dict[str, str]] = []

    def tag(name: str, reason: str) -> None:
        tags.append({"tag": name, "reason": reason})

    c = counts
    if c.shares >= 3 or (c.interactions >= 5 and c.shares / c.interactions >= 0.2):
        tag("热衷分享", f"{c.shares} shares of {c.interactions} interactions in {WINDOW_DAYS} days")
    deals = interests.get("优惠活动", 0.0)
    if c.coupons >= 2 or deals >= 1.0:
        tag("喜欢优惠活动", f"{c.coupons} coupons redeemed; 优惠活动 interest {deals:.1f}")
    skills = interests.get("职场/技能提升", 0.0)
    if skills >= 1.0:
        tag("关注技能提升", f"职场/技能提升 interest {skills:.1f}")
    if c.events >= 2:
        tag("活动达人", f"attended {c.events} events")
    if c.messages >= 10:
        if c.night_messages / c.messages >= 0.3:
            tag("夜猫子", f"{c.night_messages} of {c.messages} messages between 23:00 and 04:00")
        if c.questions / c.messages >= 0.4:
            tag("爱提问", f"{c.questions} of {c.messages} messages are questions")
    return tags


def behaviour_tags(conn: Connection, member_id: int, as_of: datetime, zone: ZoneInfo) -> list[dict[str, Any]]:
    """One member's tags as of now (the member page); `behaviour_pass` stores everyone's."""
    since = as_of - timedelta(days=WINDOW_DAYS)
    rows = conn.execute(
        select(activities.c.kind, activities.c.occurred_at, activities.c.text)
        .join(identities, identities.c.id == activities.c.identity_id)
        .where(
            identities.c.member_id == member_id,
            activities.c.occurred_at > since,
            activities.c.occurred_at <= as_of,
        )
    ).all()
    kinds = Counter(row.kind for row in rows)
    messages = [row for row in rows if row.kind in {k.value for k in MESSAGE_KINDS}]
    interests: dict[str, float] = {}
    for topic, score in conn.execute(
        select(member_topics.c.topic, member_topics.c.score).where(
            member_topics.c.member_id == member_id, member_topics.c.topic.in_(RULE_TOPICS)
        )
    ):
        interests[topic] = max(interests.get(topic, 0.0), float(score))  # the strongest of its groups
    counts = BehaviourCounts(
        interactions=sum(n for kind, n in kinds.items() if kind not in NOT_INTERACTIONS),
        shares=kinds[ActivityKind.SHARE.value],
        coupons=kinds[ActivityKind.COUPON_REDEEM.value],
        events=kinds[ActivityKind.EVENT_ATTEND.value],
        messages=len(messages),
        night_messages=sum(row.occurred_at.astimezone(zone).hour in NIGHT_HOURS for row in messages),
        questions=sum(bool(row.text and _QUESTION.search(row.text)) for row in messages),
    )
    return rules(counts, interests)
