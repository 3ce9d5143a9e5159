"""The 唤醒名单 (silent members worth waking): each member's interest tags, and one line per member."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, update

from helpers import rendered_rows
from journey_helpers import add_members, community
from qunyun.cli.demo_cmd import waking_list
from qunyun.config import ModelsConfig
from qunyun.lifecycle.views import silent_worth_waking
from qunyun.store.tables import member_state, member_topics

AT = datetime(2026, 9, 1, tzinfo=UTC)


def test_wake_list_names_each_members_strong_interests_in_that_group(
    engine: Engine, workspace_id: int
) -> None:
    g1, g2 = community(engine, workspace_id, "g1"), community(engine, workspace_id, "g2")
    keen, quiet = add_members(engine, workspace_id, g1, 2, segment="silent")
    scores = [
        (g1, keen, "摄影", 4.0),
        (g1, keen, "旅行", 1.5),
        (g1, keen, "美食", 0.6),  # above the 0.5 floor but under a quarter of 摄影's 4.0: not a tag
        (g2, keen, "育儿", 9.0),  # another group's interest
        (g1, quiet, "读书", 0.4),  # under the floor
    ]
    with engine.begin() as conn:
        conn.execute(
            update(member_state)
            .where(member_state.c.community_id == g1)
            .values(messages_total=5, last_message_at=AT)
        )
        conn.execute(
            insert(member_topics),
            [
                {"community_id": c, "member_id": m, "topic": t, "score": s, "as_of": AT, "reasons": []}
                for c, m, t, s in scores
            ],
        )
        rows = {r["member_id"]: r for r in silent_worth_waking(conn, workspace_id, 10)}
    assert rows[keen]["interests"] == ["摄影", "旅行"]
    assert rows[quiet]["interests"] == []


@pytest.mark.parametrize("width", [80, 120])
def test_wake_list_is_one_line_per_member_and_fits_the_terminal(width: int) -> None:
    said = "周末带孩子去郊外露营，帐篷搭了一个小时终于好了，大家有什么轻便的装备推荐吗？" * 3
    rows = [
        {
            "member_id": 1000 + i,
            "display_name": "一个很长很长的群昵称",
            "last_message_at": AT,
            "messages_total": 120,
            "p_alive": 0.9,
            "clv_minor": 98_765_00,
            "activity_model": "pareto",
            "expected_activity_30d": 4.0,
            "past_activity_30d": 0,
            "interests": ["职场/技能提升", "亲子育儿", "摄影"],
            "last_messages": [said],
        }
        for i in range(3)
    ]
    table = waking_list(rows, ZoneInfo("Asia/Shanghai"), ModelsConfig(), width)
    body = rendered_rows(table, width, ["1000", "1001", "1002"])
    assert all("2026-09-01" in line and "98,765" in line and "职场" in line for line in body)
    assert all(("周末带孩子" in line) is (width >= 100) for line in body)
