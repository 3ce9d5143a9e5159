"""Behavioural tags on hand-made members: each rule on, each rule just off."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from helpers import row, run_import, write_csv
from qunyun.lifecycle.behaviour import behaviour_tags
from qunyun.store.tables import identities

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _tags(engine: Engine, member: str) -> set[str]:
    with engine.connect() as conn:
        member_id = conn.execute(
            select(identities.c.member_id).where(identities.c.external_id == member)
        ).scalar()
        assert member_id is not None
        return {t["tag"] for t in behaviour_tags(conn, member_id, AS_OF, SHANGHAI)}


def test_behaviour_rules(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    rows = [
        # sharer: 3 shares; night owl: 10 messages, 3 of them at 23:30 Shanghai (15:30 UTC)
        *[row(f"2026-06-0{d}T02:00:00+00:00", "sharer", "share", "好文分享") for d in (1, 2, 3)],
        *[row(f"2026-06-1{d}T15:30:00+00:00", "owl", "message", f"夜里还在学习 {d}") for d in range(3)],
        *[row(f"2026-06-2{d}T02:00:00+00:00", "owl", "message", f"白天打卡 {d}") for d in range(7)],
        # almost an owl: 2 of 10 at night
        *[row(f"2026-06-1{d}T15:30:00+00:00", "lark", "message", f"晚安 {d}") for d in range(2)],
        *[row(f"2026-06-2{d}T02:00:00+00:00", "lark", "message", f"早 {d}") for d in range(8)],
        # asker: 4 of 10 messages are questions; events: 2 attended; deals: 2 coupons
        *[row(f"2026-06-1{d}T02:00:00+00:00", "asker", "message", f"这个怎么报名呢？{d}") for d in range(4)],
        *[row(f"2026-06-2{d}T02:00:00+00:00", "asker", "message", f"收到 {d}") for d in range(6)],
        *[row(f"2026-06-0{d}T12:00:00+00:00", "asker", "event_attend") for d in (4, 5)],
        *[row(f"2026-06-0{d}T12:00:00+00:00", "asker", "coupon_redeem") for d in (6, 7)],
        # long ago: outside the 90-day window
        *[row("2026-02-01T02:00:00+00:00", "old", "share", "旧分享") for _ in range(1)],
        row("2026-02-02T02:00:00+00:00", "old", "share", "旧分享2"),
        row("2026-02-03T02:00:00+00:00", "old", "share", "旧分享3"),
    ]
    run_import(engine, workspace_id, write_csv(tmp_path / "b.csv", rows))
    assert _tags(engine, "sharer") == {"热衷分享"}
    assert _tags(engine, "owl") == {"夜猫子"}
    assert _tags(engine, "lark") == set()
    assert _tags(engine, "asker") == {"爱提问", "活动达人", "喜欢优惠活动"}
    assert _tags(engine, "old") == set()
