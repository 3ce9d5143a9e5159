"""Member facts through Ibis: hand-computed values, and DuckDB and PySpark agree exactly."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from helpers import mirrored, row
from qunyun.analytics import ActivityMirror, AnalyticsEngine, facts_with_edges, member_facts, window_edges
from qunyun.analytics.facts import active_days
from qunyun.store.tables import identities
from test_refresh import AS_OF, community_rows


@pytest.fixture
def mirror(engine: Engine, workspace_id: int, tmp_path: Path) -> ActivityMirror:
    return mirrored(engine, workspace_id, tmp_path, community_rows())


def _by_member(engine: Engine, table: Any) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        names = {
            r.member_id: r.external_id
            for r in conn.execute(select(identities.c.member_id, identities.c.external_id))
        }
    return {names[r["member_id"]]: r for r in table.to_pylist()}


def _utc(days_ago: float) -> datetime:
    return (AS_OF - timedelta(days=days_ago)).astimezone(UTC).replace(tzinfo=None)


def test_facts_match_hand_computed_values(engine: Engine, workspace_id: int, mirror: ActivityMirror) -> None:
    facts = _by_member(
        engine, member_facts(AnalyticsEngine.on_mirror(mirror), workspace_id, AS_OF).to_pyarrow()
    )
    chatty = facts["chatty"]
    # six messages at 1, 3, 5, 7, 9, 11 days ago; joined 200 days ago
    assert (chatty["messages_total"], chatty["messages_30d"], chatty["interactions_30d"]) == (6, 6, 6)
    assert chatty["last_message_at"] == _utc(1)
    assert chatty["first_join_at"] == _utc(200)
    # 7 days back reaches the messages 1, 3 and 5 days ago (exactly 7 days is outside); one per day
    assert (chatty["messages_7d"], chatty["messages_90d"]) == (3, 6)
    assert active_days(chatty) == (6, 6)
    buyer = facts["buyer"]
    # purchases of 199 CNY at 100 and 60 days ago, a message 40 days ago: all three fall in the
    # baseline window (120, 30] days before as-of, none in the last 30 days
    assert (buyer["purchases_total"], buyer["spend_minor"]) == (2, 39800)
    assert (buyer["interactions_prev_90d"], buyer["interactions_30d"]) == (3, 0)
    assert (buyer["purchases_90d"], buyer["spend_90d_minor"]) == (1, 19900)  # the one 60 days ago
    returner = facts["returner"]
    assert (returner["last_join_at"], returner["last_leave_at"]) == (_utc(8), _utc(50))
    lurker = facts["lurker"]
    assert (lurker["messages_total"], lurker["last_message_at"], lurker["last_seen_at"]) == (
        0,
        None,
        _utc(20),
    )
    # as-of is respected: nothing after it is counted
    early = _by_member(
        engine,
        member_facts(AnalyticsEngine.on_mirror(mirror), workspace_id, AS_OF - timedelta(days=6)).to_pyarrow(),
    )
    assert early["chatty"]["messages_total"] == 3  # the messages 7, 9 and 11 days ago


def test_window_edges_match_hand_computed_values(
    engine: Engine, workspace_id: int, mirror: ActivityMirror
) -> None:
    edges = _by_member(
        engine, window_edges(AnalyticsEngine.on_mirror(mirror), workspace_id, AS_OF).to_pyarrow()
    )
    # chatty's six messages 11, 9, …, 1 days ago, oldest first; nothing in the baseline window
    assert edges["chatty"]["oldest_interactions_30d"] == [_utc(d) for d in (11, 9, 7, 5, 3, 1)]
    assert edges["chatty"]["oldest_interactions_prev"] == []
    # buyer: purchases 100 and 60 days ago and a message 40 days ago, all in the baseline
    assert edges["buyer"]["oldest_interactions_30d"] == []
    assert edges["buyer"]["oldest_interactions_prev"] == [_utc(100), _utc(60), _utc(40)]
    # the lurker only reads: reading is not an interaction, so no edges at all
    assert "lurker" not in edges
    facts = _by_member(
        engine, facts_with_edges(AnalyticsEngine.on_mirror(mirror), workspace_id, AS_OF).to_pyarrow()
    )
    assert facts["lurker"]["oldest_interactions_30d"] is None
    assert facts["buyer"]["oldest_interactions_prev"] == [_utc(100), _utc(60), _utc(40)]
    assert facts["chatty"]["messages_30d"] == 6


def test_duckdb_and_spark_give_identical_facts(
    engine: Engine, workspace_id: int, mirror: ActivityMirror, spark_session: Any, tmp_path: Path
) -> None:
    counts = mirror.export_parquet(tmp_path / "parquet")
    assert counts["activities"] == len(community_rows())
    duck = facts_with_edges(AnalyticsEngine.on_mirror(mirror), workspace_id, AS_OF).to_pyarrow().to_pylist()
    spark = facts_with_edges(
        AnalyticsEngine.on_spark(spark_session, tmp_path / "parquet"), workspace_id, AS_OF
    )
    spark_rows = spark.to_pyarrow().to_pylist()
    differing = [
        (i, key, d[key], s.get(key))
        for i, (d, s) in enumerate(zip(duck, spark_rows, strict=True))
        for key in d
        if d[key] != s.get(key)
    ]
    assert differing == []
    assert len(duck) == 8


def test_active_days_are_local_days_in_the_community_zone(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    # as-of is 2026-09-01 08:00 in Asia/Shanghai; every time below is Shanghai local
    local = [
        "2026-08-20T23:30:00+08:00",  # these two share a UTC day but are two local days
        "2026-08-21T00:30:00+08:00",
        "2026-08-25T00:10:00+08:00",  # these two span two UTC days but are one local day
        "2026-08-25T23:50:00+08:00",
        "2026-08-02T09:00:00+08:00",  # 1 h inside the 30 x 24 h window, local day 30 days back
        "2026-08-01T23:00:00+08:00",  # outside 30 days, inside 90
        "2026-06-03T09:00:00+08:00",  # 1 h inside 90 x 24 h: the highest bit, 90 local days back
        "2026-06-03T07:00:00+08:00",  # 1 h outside 90 days (the same local day as the one above)
    ]
    rows = [row("2026-05-01T00:00:00+08:00", "owl", "join")]
    rows += [row(t, "owl", "view" if i % 2 else "message", f"m{i}") for i, t in enumerate(local)]
    mirror = mirrored(engine, workspace_id, tmp_path, rows)
    facts = member_facts(AnalyticsEngine.on_mirror(mirror), workspace_id, AS_OF).to_pyarrow().to_pylist()
    assert active_days(facts[0]) == (4, 6)
