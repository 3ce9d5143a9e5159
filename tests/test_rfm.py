"""Event summaries (x, t_x, T, repeat spend) per member, by hand, on DuckDB and PySpark."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from helpers import mirrored, row
from qunyun.analytics import ActivityMirror, AnalyticsEngine
from qunyun.analytics.rfm import event_summary
from qunyun.domain import MESSAGE_KINDS, ActivityKind
from qunyun.store.tables import identities

AS_OF = datetime(2026, 9, 1, 0, 0, tzinfo=UTC)  # 08:00 on 1 September in Shanghai
PURCHASE = [ActivityKind.PURCHASE]


def _rows() -> list[dict[str, str]]:
    def buy(at: str, who: str, amount: str, ref: str) -> dict[str, str]:
        return row(at, who, "purchase", amount=amount, reference_id=ref)

    return [
        buy("2026-08-01T10:00:00+08:00", "buyer", "199", "b1"),
        buy("2026-08-01T21:00:00+08:00", "buyer", "50", "b2"),  # same local day: one occasion
        buy("2026-08-10T10:00:00+08:00", "buyer", "100", "b3"),
        buy("2026-08-20T10:00:00+08:00", "buyer", "300", "b4"),
        buy("2026-09-02T10:00:00+08:00", "buyer", "999", "b5"),  # after as-of: not seen
        buy("2026-08-31T23:30:00+08:00", "once", "80", "o1"),
        buy("2026-08-05T10:00:00+08:00", "staffer", "10", "s1"),
        buy("2026-08-06T10:00:00+08:00", "staffer", "10", "s2"),
        row("2026-08-30T23:30:00+08:00", "talker", "message", "晚安"),
        row("2026-08-31T00:30:00+08:00", "talker", "reply", "还没睡"),  # next local day
        row("2026-08-31T09:00:00+08:00", "talker", "view"),  # not a message
    ]


@pytest.fixture
def mirror(engine: Engine, workspace_id: int, tmp_path: Path) -> ActivityMirror:
    return mirrored(engine, workspace_id, tmp_path, _rows(), staff=("staffer",))


def _named(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        names = dict(conn.execute(select(identities.c.member_id, identities.c.external_id)).all())
    return {names[r["member_id"]]: r for r in rows}


def test_purchase_summary_by_hand(engine: Engine, workspace_id: int, mirror: ActivityMirror) -> None:
    table = event_summary(AnalyticsEngine.on_mirror(mirror), workspace_id, AS_OF, PURCHASE)
    got = _named(engine, table.to_pyarrow().to_pylist())
    assert set(got) == {"buyer", "once"}  # staff left out, the talker never bought
    buyer = got["buyer"]
    # occasions on 1, 10 and 20 Aug; as-of's local day is 1 Sep
    assert (buyer["days"], buyer["x"], buyer["t_x"], buyer["T"]) == (3, 2, 19, 31)
    assert buyer["repeat_spend_minor"] == pytest.approx(20_000)  # (100 + 300) / 2 CNY, in fen
    once = got["once"]
    assert (once["x"], once["t_x"], once["T"], once["repeat_spend_minor"]) == (0, 0, 1, 0)


def test_message_summary_uses_local_days(engine: Engine, workspace_id: int, mirror: ActivityMirror) -> None:
    table = event_summary(AnalyticsEngine.on_mirror(mirror), workspace_id, AS_OF, MESSAGE_KINDS)
    talker = _named(engine, table.to_pyarrow().to_pylist())["talker"]
    assert (talker["x"], talker["t_x"], talker["T"]) == (1, 1, 2)


def test_duckdb_and_spark_agree(
    workspace_id: int, mirror: ActivityMirror, spark_session: Any, tmp_path: Path
) -> None:
    mirror.export_parquet(tmp_path / "parquet")
    spark = AnalyticsEngine.on_spark(spark_session, tmp_path / "parquet")
    for kinds in (PURCHASE, MESSAGE_KINDS):
        duck = event_summary(AnalyticsEngine.on_mirror(mirror), workspace_id, AS_OF, kinds)
        other = event_summary(spark, workspace_id, AS_OF, kinds)
        assert other.to_pyarrow().to_pylist() == duck.to_pyarrow().to_pylist()
