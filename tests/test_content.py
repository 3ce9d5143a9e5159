"""Best posting hours and content performance, by hand, on DuckDB and Spark."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from conftest import T0
from helpers import mirrored, row
from qunyun.analytics import ActivityMirror, AnalyticsEngine
from qunyun.analytics.content import (
    content_summary,
    hour_of_week,
    post_performance,
    post_topics,
    posting_hours,
    topic_summary,
)
from qunyun.analytics.metrics import MetricsQuery
from qunyun.store.tables import activities, message_text


def at(day: str, time: str) -> str:
    return f"2026-06-{day}T{time}:00+08:00"


ROWS = [
    row(at("01", "08:10"), "A", "message", "今天分享一个摄影构图技巧", reference_id="p1"),  # Monday
    row(at("01", "09:00"), "B", "reaction", "👍", reference_id="r1", reply_to="p1"),
    row(at("01", "20:00"), "C", "reply", "学到了，谢谢分享", reference_id="r2", reply_to="p1"),
    row(at("02", "09:00"), "D", "reaction", "👍", reference_id="r3", reply_to="p1"),  # 24h50m later: too late
    row(at("01", "10:00"), "S", "reaction", "👍", reference_id="r6", reply_to="p1"),  # staff: not a response
    row(
        at("02", "21:05"), "S", "message", "新活动报名 https://example.com/x", reference_id="p2"
    ),  # staff post counts
    row(at("02", "21:30"), "A", "reaction", "❤", reference_id="r4", reply_to="p2"),
    row(at("02", "22:00"), "B", "reaction", "👍", reference_id="r5", reply_to="p2"),
    row(at("03", "12:00"), "B", "message", "有没有人推荐相机？", reference_id="p3"),
    row(at("03", "08:30"), "A", "message", "收到", reference_id="p4"),  # a bare ack is not a post
]


@pytest.fixture
def mirror(engine: Engine, workspace_id: int, tmp_path: Path) -> ActivityMirror:
    return mirrored(engine, workspace_id, tmp_path, ROWS, staff=("S",))


def _q(workspace_id: int) -> MetricsQuery:
    return MetricsQuery(workspace_id=workspace_id, start=date(2026, 6, 1), end=date(2026, 6, 7))


def _rows(table: Any, keys: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in keys) for r in table.to_pyarrow().to_pylist()]


EXPECTED_POSTS = [  # text, type, replies, reactions
    ("今天分享一个摄影构图技巧", "text", 1, 1),
    ("新活动报名 https://example.com/x", "link", 0, 2),
    ("有没有人推荐相机？", "question", 0, 0),
]
EXPECTED_TYPES = [("link", 1, 2.0), ("text", 1, 2.0), ("question", 1, 0.0)]
EXPECTED_POST_HOURS = [(0, 8, 1, 2.0), (1, 21, 1, 2.0), (2, 12, 1, 0.0)]
# Real members' interactions per (weekday, hour): A B C D only, staff left out.
EXPECTED_CELLS = [(0, 8), (0, 9), (0, 20), (1, 9), (1, 21), (1, 22), (2, 8), (2, 12)]


def _check(engine: AnalyticsEngine, q: MetricsQuery) -> None:
    posts = sorted(
        _rows(post_performance(engine, q), ("occurred_at", "text", "content_type", "replies", "reactions"))
    )
    assert [p[1:] for p in posts] == EXPECTED_POSTS
    assert (
        _rows(content_summary(engine, q), ("content_type", "posts", "responses_per_post")) == EXPECTED_TYPES
    )
    assert (
        _rows(posting_hours(engine, q), ("weekday", "hour", "posts", "responses_per_post"))
        == EXPECTED_POST_HOURS
    )
    cells = _rows(hour_of_week(engine, q), ("weekday", "hour", "interactions", "members"))
    assert cells == [(*c, 1, 1) for c in EXPECTED_CELLS]


def test_content_and_hours_by_hand(mirror: ActivityMirror, workspace_id: int) -> None:
    _check(AnalyticsEngine.on_mirror(mirror), _q(workspace_id))


def test_spark_agrees(mirror: ActivityMirror, workspace_id: int, spark_session: Any, tmp_path: Path) -> None:
    mirror.export_parquet(tmp_path / "pq")
    _check(AnalyticsEngine.on_spark(spark_session, tmp_path / "pq"), _q(workspace_id))


def test_content_by_topic(engine: Engine, mirror: ActivityMirror, workspace_id: int) -> None:
    """Topics come from the text pass's `message_text` rows (set by hand here); a post about two
    topics counts for both, and a bare acknowledgement is no post whatever its topics."""
    tagged = {"p1": ["摄影"], "p2": ["优惠活动", "摄影"], "p3": ["摄影"], "p4": ["摄影"]}
    with engine.begin() as conn:
        refs = select(activities.c.reference_id, activities.c.id).where(activities.c.reference_id.in_(tagged))
        ids = dict(conn.execute(refs).all())
        community = conn.execute(select(activities.c.community_id).limit(1)).scalar_one()
        conn.execute(
            insert(message_text),
            [
                {
                    "activity_id": ids[ref],
                    "workspace_id": workspace_id,
                    "community_id": community,
                    "topics": [[t, t] for t in topics],
                    "flags": [],
                    "processed_at": T0,
                }
                for ref, topics in tagged.items()
            ],
        )
    posts = post_performance(AnalyticsEngine.on_mirror(mirror), _q(workspace_id)).to_pyarrow().to_pylist()
    with engine.connect() as conn:
        topics = post_topics(conn, workspace_id, [p["post_id"] for p in posts])
    assert ids["p4"] not in topics  # not a post, so not asked for
    summary = [
        (r["topic"], r["posts"], r["replies_per_post"], r["reactions_per_post"], r["responses_per_post"])
        for r in topic_summary(posts, topics)
    ]
    # 优惠活动: p2 (2 reactions); 摄影: p1 (1 reply, 1 reaction), p2 (2 reactions), p3 (none).
    assert summary == [("优惠活动", 1, 0.0, 2.0, 2.0), ("摄影", 3, 1 / 3, 1.0, 4 / 3)]
