"""Community metrics on a hand-made community, every number worked out by hand, on DuckDB and Spark."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from helpers import mirrored, row
from qunyun.analytics import ActivityMirror, AnalyticsEngine
from qunyun.analytics.metrics import MetricsQuery, community_metrics


def rows() -> list[dict[str, str]]:
    def at(day: str, time: str) -> str:
        return f"2026-{day}T{time}:00+08:00"

    return [
        row(at("05-20", "10:00"), "F", "join"),
        row(at("05-25", "10:00"), "F", "message", "五月的消息"),
        row(at("06-01", "10:00"), "A", "join"),
        row(at("06-01", "23:30"), "A", "message", "大家好，我是做摄影的", reference_id="a1"),
        row(at("06-02", "00:30"), "A", "message", "收到"),  # after local midnight, before UTC midnight
        row(at("06-01", "09:00"), "B", "join"),
        row(at("06-03", "12:00"), "B", "reaction", "👍", reference_id="b1", reply_to="a1"),
        row(at("06-05", "20:00"), "B", "leave"),
        row(at("06-02", "08:00"), "C", "join"),
        row(at("06-03", "09:00"), "C", "view"),  # reads, never posts
        row(at("06-01", "08:00"), "D", "join"),
        row(at("06-04", "10:00"), "D", "message", "👍", reference_id="d0"),
        row(at("06-09", "10:00"), "D", "message", "分享一个摄影构图技巧"),
        row(at("06-10", "10:00"), "D", "leave"),
        row(at("06-12", "10:00"), "D", "join"),
        row(at("06-13", "10:00"), "D", "message", "我回来了"),
        row(at("06-01", "08:00"), "S", "join"),  # staff: excluded from every metric
        row(at("06-02", "10:00"), "S", "message", "欢迎新朋友"),
        row(at("06-08", "21:00"), "E", "reply", "hello everyone", reply_to="d0"),  # no join record
    ]


@pytest.fixture
def mirror(engine: Engine, workspace_id: int, tmp_path: Path) -> ActivityMirror:
    return mirrored(engine, workspace_id, tmp_path, rows(), staff=("S",))


WEEKLY = MetricsQuery(workspace_id=1, start=date(2026, 6, 1), end=date(2026, 6, 14), grain="week")

EXPECTED_WEEKS = [
    {  # Mon 1 – Sun 7 June
        "joined": 4,
        "left": 1,
        "net": 3,
        "members": 4,  # A B C D in, B out; F carried in from May
        "dau": 4 / 7,
        "wau": 3,
        "mau": 4,
        "stickiness": (4 / 7) / 4,  # A(1st, 2nd) B(3rd) D(4th); MAU adds F
        "active": 3,
        "speakers": 1,
        "speakers_incl_ack": 2,  # only A said something real; D only 👍
        "speaking_rate": 1 / 4,
        "speaking_rate_incl_ack": 2 / 4,
        "interaction_rate": 2 / 4,
        "interaction_rate_incl_ack": 3 / 4,  # A's message, B's reaction (+ D's 👍)
        "participants": 1,  # B reacted to A's post
        "topic_participation_rate": 1 / 4,
        "messages": 3,
        "ack_messages": 2,
        "messages_per_active": 1.0,
    },
    {  # Mon 8 – Sun 14 June
        "joined": 2,
        "left": 1,
        "net": 1,
        "members": 5,  # E appears, D leaves and rejoins
        "dau": 3 / 7,
        "wau": 2,
        "mau": 5,
        "stickiness": (3 / 7) / 5,
        "active": 2,
        "speakers": 2,
        "speakers_incl_ack": 2,
        "speaking_rate": 2 / 5,
        "speaking_rate_incl_ack": 2 / 5,
        "interaction_rate": 2 / 5,
        "interaction_rate_incl_ack": 2 / 5,
        "participants": 1,  # E replied to D's 👍
        "topic_participation_rate": 1 / 5,
        "messages": 3,
        "ack_messages": 0,
        "messages_per_active": 1.5,
    },
]


def _check(result: list[dict[str, Any]]) -> None:
    assert [r["period"] for r in result] == [date(2026, 6, 1), date(2026, 6, 8)]
    for got, want in zip(result, EXPECTED_WEEKS, strict=True):
        for key, value in want.items():
            assert got[key] == pytest.approx(value), (got["period"], key)


def test_weekly_metrics_by_hand_on_duckdb(mirror: ActivityMirror, workspace_id: int) -> None:
    query = MetricsQuery(workspace_id=workspace_id, start=WEEKLY.start, end=WEEKLY.end, grain="week")
    _check(community_metrics(AnalyticsEngine.on_mirror(mirror), query).to_pyarrow().to_pylist())


def test_daily_grain_and_local_midnight(mirror: ActivityMirror, workspace_id: int) -> None:
    query = MetricsQuery(workspace_id=workspace_id, start=date(2026, 6, 1), end=date(2026, 6, 3), grain="day")
    days = {
        r["period"]: r
        for r in community_metrics(AnalyticsEngine.on_mirror(mirror), query).to_pyarrow().to_pylist()
    }
    assert days[date(2026, 6, 2)]["dau"] == 1  # A's 00:30 "收到" is on the 2nd in Shanghai
    assert days[date(2026, 6, 2)]["ack_messages"] == 1
    assert (days[date(2026, 6, 2)]["joined"], days[date(2026, 6, 2)]["members"]) == (1, 5)  # C; F A B C D
    assert days[date(2026, 6, 3)]["speakers"] == 0
    assert days[date(2026, 6, 3)]["interaction_rate"] == pytest.approx(1 / 5)  # B's reaction


def test_spark_gives_the_same_numbers(
    mirror: ActivityMirror, workspace_id: int, spark_session: Any, tmp_path: Path
) -> None:
    mirror.export_parquet(tmp_path / "pq")
    query = MetricsQuery(workspace_id=workspace_id, start=WEEKLY.start, end=WEEKLY.end, grain="week")
    spark = community_metrics(AnalyticsEngine.on_spark(spark_session, tmp_path / "pq"), query).to_pyarrow()
    duck = community_metrics(AnalyticsEngine.on_mirror(mirror), query).to_pyarrow()
    _check(spark.to_pylist())
    assert spark.to_pylist() == duck.to_pylist()
