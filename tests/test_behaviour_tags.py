"""Behavioural tags on hand-made members: each rule on, each rule just off."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, select

from helpers import mirrored, row, run_import, write_csv
from qunyun.analytics import ActivityMirror, MirroredFacts
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.journeys.views import load_views
from qunyun.lifecycle import refresh
from qunyun.lifecycle.behaviour import behaviour_tags
from qunyun.lifecycle.behaviour_pass import behaviour_due, store_behaviour_tags
from qunyun.lifecycle.views import StateFilter, list_members
from qunyun.store.erasure import erase_member
from qunyun.store.journey_tables import member_tags
from qunyun.store.tables import communities, identities, member_behaviour, member_topics

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _tags(engine: Engine, member: str) -> set[str]:
    with engine.connect() as conn:
        member_id = conn.execute(
            select(identities.c.member_id).where(identities.c.external_id == member)
        ).scalar()
        assert member_id is not None
        return {t["tag"] for t in behaviour_tags(conn, member_id, AS_OF, SHANGHAI)}


def _rows() -> list[dict[str, str]]:
    return [
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
        # a night owl in Berlin only: 3 of 10 messages at 21:30 UTC in June = 23:30 CEST, 05:30 Shanghai
        *[row(f"2026-06-1{d}T21:30:00+00:00", "berliner", "message", f"gute Nacht {d}") for d in range(3)],
        *[row(f"2026-06-2{d}T09:00:00+00:00", "berliner", "message", f"Morgen {d}") for d in range(7)],
    ]


def test_behaviour_rules(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    run_import(engine, workspace_id, write_csv(tmp_path / "b.csv", _rows()))
    assert _tags(engine, "sharer") == {"热衷分享"}
    assert _tags(engine, "owl") == {"夜猫子"}
    assert _tags(engine, "lark") == set()
    assert _tags(engine, "asker") == {"爱提问", "活动达人", "喜欢优惠活动"}
    assert _tags(engine, "old") == set()
    assert _tags(engine, "berliner") == set()


def _live(engine: Engine, zone: ZoneInfo) -> dict[int, dict[str, str]]:
    """Every member's tags by the member page's own per-member code."""
    with engine.connect() as conn:
        ids = conn.execute(select(identities.c.member_id)).scalars().all()
        return {
            m: {t["tag"]: t["reason"] for t in behaviour_tags(conn, m, AS_OF, zone)}
            for m in ids
            if behaviour_tags(conn, m, AS_OF, zone)
        }


def _stored(engine: Engine) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    with engine.connect() as conn:
        for m, t, r in conn.execute(
            select(member_behaviour.c.member_id, member_behaviour.c.tag, member_behaviour.c.reason)
        ):
            found.setdefault(m, {})[t] = r
    return found


@pytest.mark.parametrize("zone", [SHANGHAI, ZoneInfo("Europe/Berlin")])
def test_the_stored_pass_agrees_with_the_member_page(
    engine: Engine, workspace_id: int, tmp_path: Path, zone: ZoneInfo
) -> None:
    """Two implementations of the counts (DuckDB over the mirror, Python per member), one set of rules."""
    mirror = mirrored(engine, workspace_id, tmp_path, _rows())
    with engine.begin() as conn:
        asker = conn.execute(
            select(identities.c.member_id).where(identities.c.external_id == "asker")
        ).scalar_one()
        community_id = conn.execute(select(communities.c.id)).scalar_one()
        conn.execute(
            insert(member_topics).values(
                community_id=community_id,
                member_id=asker,
                topic="职场/技能提升",
                score=2.5,
                as_of=AS_OF,
                reasons=[],
            )
        )
    report = store_behaviour_tags(engine, mirror, workspace_id, AS_OF, zone)
    live = _live(engine, zone)
    assert _stored(engine) == live
    owls = {m for m, tags in live.items() if "夜猫子" in tags}
    owl = "berliner" if zone.key == "Europe/Berlin" else "owl"  # their night is the other's day
    with engine.connect() as conn:
        expected = conn.execute(
            select(identities.c.member_id).where(identities.c.external_id == owl)
        ).scalar_one()
    assert owls == {expected}
    assert (report.members, report.added, report.removed) == (len(live), sum(map(len, live.values())), 0)


def _with_states(engine: Engine, workspace_id: int, tmp_path: Path, settings: Settings) -> ActivityMirror:
    """The fixture imported, mirrored and refreshed (member lists start from member_state)."""
    mirror = mirrored(engine, workspace_id, tmp_path, _rows())
    refresh(engine, settings, workspace_id, AS_OF, FixedClock(AS_OF), MirroredFacts(mirror, workspace_id))
    return mirror


def test_a_later_pass_writes_only_the_difference_and_leaves_operator_tags(
    engine: Engine, workspace_id: int, tmp_path: Path, settings: Settings
) -> None:
    mirror = _with_states(engine, workspace_id, tmp_path, settings)
    with engine.begin() as conn:
        sharer = conn.execute(
            select(identities.c.member_id).where(identities.c.external_id == "sharer")
        ).scalar_one()
        conn.execute(
            insert(member_tags).values(
                workspace_id=workspace_id,
                member_id=sharer,
                tag="热衷分享",
                source="operator:test",
                created_at=AS_OF,
            )
        )
    store_behaviour_tags(engine, mirror, workspace_id, AS_OF, SHANGHAI)
    again = store_behaviour_tags(engine, mirror, workspace_id, AS_OF, SHANGHAI)
    assert (again.added, again.removed) == (0, 0)
    # 90 days after the shares (1-3 June) they have left the window; the operator's tag stays.
    later = datetime(2026, 9, 2, tzinfo=UTC)
    report = store_behaviour_tags(engine, mirror, workspace_id, later, SHANGHAI)
    assert report.removed >= 1
    assert sharer not in _stored(engine)
    with engine.connect() as conn:
        assert conn.execute(
            select(member_tags.c.tag).where(member_tags.c.member_id == sharer)
        ).scalars().all() == ["热衷分享"]
        tagged = list_members(conn, StateFilter(workspace_id, tag="热衷分享"), 10, 0)
    assert [r["member_id"] for r in tagged] == [sharer]  # through the operator's tag


def test_member_lists_and_playbook_audiences_see_stored_behaviour_tags(
    engine: Engine, workspace_id: int, tmp_path: Path, settings: Settings
) -> None:
    mirror = _with_states(engine, workspace_id, tmp_path, settings)
    store_behaviour_tags(engine, mirror, workspace_id, AS_OF, SHANGHAI)
    with engine.connect() as conn:
        owl = conn.execute(
            select(identities.c.member_id).where(identities.c.external_id == "owl")
        ).scalar_one()
        community_id = conn.execute(select(communities.c.id)).scalar_one()
        found = list_members(conn, StateFilter(workspace_id, tag="夜猫子"), 10, 0)
        views = load_views(conn, workspace_id, [(owl, community_id)], SHANGHAI)
    assert [r["member_id"] for r in found] == [owl]
    assert "夜猫子" in views[(owl, community_id)].tags


def test_erasure_removes_stored_behaviour_tags(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    mirror = mirrored(engine, workspace_id, tmp_path, _rows())
    store_behaviour_tags(engine, mirror, workspace_id, AS_OF, SHANGHAI)
    owl = next(m for m, tags in _stored(engine).items() if "夜猫子" in tags)
    with engine.begin() as conn:
        report = erase_member(conn, workspace_id, owl, AS_OF)
    assert report.counts["behaviour_tags"] == 1
    assert owl not in _stored(engine)


def test_the_pass_is_due_once_a_period(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    mirror = mirrored(engine, workspace_id, tmp_path, _rows())
    day = timedelta(hours=24)
    with engine.connect() as conn:
        assert behaviour_due(conn, workspace_id, AS_OF, day)
    store_behaviour_tags(engine, mirror, workspace_id, AS_OF, SHANGHAI)
    with engine.connect() as conn:
        assert not behaviour_due(conn, workspace_id, AS_OF + timedelta(hours=23), day)
        assert behaviour_due(conn, workspace_id, AS_OF + day, day)
        assert behaviour_due(conn, workspace_id, AS_OF, timedelta(0))
