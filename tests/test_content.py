"""Best posting hours and content performance, by hand, on DuckDB and Spark."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from helpers import mirrored, row
from qunyun.analytics import ActivityMirror, AnalyticsEngine
from qunyun.analytics.content import content_summary, hour_of_week, post_performance, posting_hours
from qunyun.analytics.metrics import MetricsQuery


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
