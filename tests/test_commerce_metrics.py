"""Conversion, repurchase, order value and churn rate, by hand, on DuckDB and Spark."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from helpers import mirrored, row
from qunyun.analytics import ActivityMirror, AnalyticsEngine
from qunyun.analytics.metrics import MetricsQuery, community_metrics


def at(day: str) -> str:
    return f"2026-{day}T10:00:00+08:00"


ROWS = [
    row(at("05-01"), "G", "join"),
    row(at("05-10"), "G", "purchase", amount="100.00", reference_id="o1"),
    row(at("06-03"), "G", "purchase", amount="50.00", reference_id="o2"),  # bought before: repeat buyer
    row(at("06-01"), "H", "join"),
    row(at("06-02"), "H", "purchase", amount="30.00", reference_id="o3"),
    row(at("06-04"), "H", "purchase", amount="20.00", reference_id="o4"),  # second purchase in the week
    row(at("06-01"), "I", "join"),
    row(at("06-06"), "I", "leave"),
    row(at("05-01"), "J", "join"),
]
# Week of 1 June: in at the start G J (2); H I join; I leaves → 3 at the end.
EXPECTED = {
    "members": 3,
    "net": 1,
    "buyers": 2,
    "purchases": 3,
    "revenue_minor": 10000,
    "conversion_rate": 2 / 3,
    "repurchase_rate": 1.0,
    "average_order_minor": 10000 / 3,
    "churn_rate": 1 / 2,
}


@pytest.fixture
def mirror(engine: Engine, workspace_id: int, tmp_path: Path) -> ActivityMirror:
    return mirrored(engine, workspace_id, tmp_path, ROWS)


def _week(engine: AnalyticsEngine, workspace_id: int) -> dict[str, Any]:
    q = MetricsQuery(workspace_id=workspace_id, start=date(2026, 6, 1), end=date(2026, 6, 7), grain="week")
    (week,) = community_metrics(engine, q).to_pyarrow().to_pylist()
    return week


def test_commerce_and_churn_by_hand(mirror: ActivityMirror, workspace_id: int) -> None:
    week = _week(AnalyticsEngine.on_mirror(mirror), workspace_id)
    assert {k: week[k] for k in EXPECTED} == pytest.approx(EXPECTED)


def test_spark_agrees(mirror: ActivityMirror, workspace_id: int, spark_session: Any, tmp_path: Path) -> None:
    mirror.export_parquet(tmp_path / "pq")
    week = _week(AnalyticsEngine.on_spark(spark_session, tmp_path / "pq"), workspace_id)
    assert {k: week[k] for k in EXPECTED} == pytest.approx(EXPECTED)


def test_cohort_ltv_by_hand(
    mirror: ActivityMirror, workspace_id: int, spark_session: Any, tmp_path: Path
) -> None:
    from qunyun.analytics.retention import cohort_ltv

    q = MetricsQuery(workspace_id=workspace_id, start=date(2026, 5, 1), end=date(2026, 6, 30))
    # May cohort: G (150.00 in two orders) and J (nothing); June cohort: H (50.00) and I (nothing).
    expected = [(date(2026, 5, 1), 2, 1, 15000, 7500.0), (date(2026, 6, 1), 2, 1, 5000, 2500.0)]
    keys = ("cohort", "size", "buyers", "revenue_minor", "ltv_minor")
    duck = [
        tuple(r[k] for k in keys)
        for r in cohort_ltv(AnalyticsEngine.on_mirror(mirror), q).to_pyarrow().to_pylist()
    ]
    assert duck == expected
    mirror.export_parquet(tmp_path / "pq")
    spark = cohort_ltv(AnalyticsEngine.on_spark(spark_session, tmp_path / "pq"), q).to_pyarrow().to_pylist()
    assert [tuple(r[k] for k in keys) for r in spark] == expected
