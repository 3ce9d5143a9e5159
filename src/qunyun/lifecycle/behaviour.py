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
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from qunyun.domain import MESSAGE_KINDS, ActivityKind
from qunyun.store.tables import activities, identities, member_topics

WINDOW_DAYS = 90
_QUESTION = re.compile(r"[？?]\s*\S{0,4}$|吗[？?。！!…\s]*$|呢[？?。\s]*$")
_NIGHT_HOURS = {23, 0, 1, 2, 3}


_NOT_INTERACTIONS = ("join", "leave", "view", "text_flag", "delivery")


def behaviour_tags(conn: Connection, member_id: int, as_of: datetime, zone: ZoneInfo) -> list[dict[str, Any]]:
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
    interests = {
        row.topic: row.score
        for row in conn.execute(
            select(member_topics.c.topic, member_topics.c.score).where(member_topics.c.member_id == member_id)
        )
    }
    tags: list[dict[str, Any]] = []

    def tag(name: str, reason: str) -> None:
        tags.append({"tag": name, "reason": reason})

    interactions = sum(n for kind, n in kinds.items() if kind not in _NOT_INTERACTIONS)
    shares = kinds[ActivityKind.SHARE.value]
    if shares >= 3 or (interactions >= 5 and shares / interactions >= 0.2):
        tag("热衷分享", f"{shares} shares of {interactions} interactions in {WINDOW_DAYS} days")
    coupons = kinds[ActivityKind.COUPON_REDEEM.value]
    if coupons >= 2 or interests.get("优惠活动", 0.0) >= 1.0:
        tag(
            "喜欢优惠活动",
            f"{coupons} coupons redeemed; 优惠活动 interest {interests.get('优惠活动', 0.0):.1f}",
        )
    if interests.get("职场/技能提升", 0.0) >= 1.0:
        tag("关注技能提升", f"职场/技能提升 interest {interests['职场/技能提升']:.1f}")
    events = kinds[ActivityKind.EVENT_ATTEND.value]
    if events >= 2:
        tag("活动达人", f"attended {events} events")
    if len(messages) >= 10:
        night = sum(row.occurred_at.astimezone(zone).hour in _NIGHT_HOURS for row in messages)
        if night / len(messages) >= 0.3:
            tag("夜猫子", f"{night} of {len(messages)} messages between 23:00 and 04:00")
        questions = sum(bool(row.text and _QUESTION.search(row.text)) for row in messages)
        if questions / len(messages) >= 0.4:
            tag("爱提问", f"{questions} of {len(messages)} messages are questions")
    return tags
