"""N-day and cohort retention, bounded and unbounded, on the hand-made community of test_metrics."""

from datetime import date
from pathlib import Path
from typing import Any

from qunyun.analytics import ActivityMirror, AnalyticsEngine
from qunyun.analytics.metrics import MetricsQuery
from qunyun.analytics.retention import cohort_retention, n_day_retention
from test_metrics import mirror  # noqa: F401  (the fixture)

# Starts in range: A, B, D on 1 June (joins), C on 2 June, E on 8 June (first message, no join).
# Active days: A 1, 2 June · B 3 June · D 4, 9, 13 June · E 8 June · C never (only reads).
EXPECTED_N_DAY = [
    # n, eligible, active exactly on day n, active on day n or later
    (0, 5, 2, 4),  # A and E on their first day; A B D E ever after
    (1, 5, 1, 3),  # A on 2 June; A B D on day 1 or later
    (3, 5, 1, 1),  # D on 4 June; B's last day was day 2
    (7, 4, 0, 1),  # E's day 7 (15 June) is past the end; only D is still around after a week
]
EXPECTED_COHORTS = [
    # cohort, size, k, retained in week k, retained in week k or later
    (date(2026, 6, 1), 4, 0, 3, 3),
    (date(2026, 6, 1), 4, 1, 1, 1),
    (date(2026, 6, 8), 1, 0, 1, 1),
]


def _query(workspace_id: int) -> MetricsQuery:
    return MetricsQuery(workspace_id=workspace_id, start=date(2026, 6, 1), end=date(2026, 6, 14))


def _rows(table: Any, keys: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in keys) for r in table.to_pyarrow().to_pylist()]


def test_n_day_retention_by_hand(mirror: ActivityMirror, workspace_id: int) -> None:  # noqa: F811
    table = n_day_retention(AnalyticsEngine.on_mirror(mirror), _query(workspace_id), [0, 1, 3, 7])
    assert _rows(table, ("n", "eligible", "retained", "retained_or_later")) == EXPECTED_N_DAY


def test_cohort_retention_by_hand(mirror: ActivityMirror, workspace_id: int) -> None:  # noqa: F811
    table = cohort_retention(AnalyticsEngine.on_mirror(mirror), _query(workspace_id), "week")
    assert _rows(table, ("cohort", "size", "k", "retained", "retained_or_later")) == EXPECTED_COHORTS


def test_spark_agrees(mirror: ActivityMirror, workspace_id: int, spark_session: Any, tmp_path: Path) -> None:  # noqa: F811
    mirror.export_parquet(tmp_path / "pq")
    spark = AnalyticsEngine.on_spark(spark_session, tmp_path / "pq")
    q = _query(workspace_id)
    assert _rows(
        n_day_retention(spark, q, [0, 1, 3, 7]), ("n", "eligible", "retained", "retained_or_later")
    ) == (EXPECTED_N_DAY)
    keys = ("cohort", "size", "k", "retained", "retained_or_later")
    assert _rows(cohort_retention(spark, q, "week"), keys) == EXPECTED_COHORTS
