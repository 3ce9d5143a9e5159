"""The DuckDB analytics mirror: incremental equals rebuild, resumes, respects settling."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from conftest import T0
from helpers import row, run_import, write_csv
from qunyun.analytics.mirror import ActivityMirror
from qunyun.domain import FixedClock
from qunyun.store.tables import activities


def _rows(start: int, n: int) -> list[dict[str, str]]:
    return [
        row(
            f"2026-05-01T{8 + i // 60 % 12:02d}:{i % 60:02d}:00+08:00",
            f"u{i % 13}",
            "message",
            f"第{start + i}条",
        )
        for i in range(start, start + n)
    ]


def _mirrored(mirror: ActivityMirror) -> list[tuple[Any, ...]]:
    return mirror.duck.execute(
        "SELECT id, identity_id, kind, occurred_at, text FROM activities ORDER BY id"
    ).fetchall()


def _source(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        q = select(
            activities.c.id,
            activities.c.identity_id,
            activities.c.kind,
            activities.c.occurred_at,
            activities.c.text,
        ).order_by(activities.c.id)
        return [
            (r.id, r.identity_id, r.kind, r.occurred_at.astimezone(UTC).replace(tzinfo=None), r.text)
            for r in conn.execute(q)
        ]


def test_sync_copies_everything_in_utc(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", _rows(0, 50)))
    mirror = ActivityMirror(engine, tmp_path / "m.duckdb", FixedClock(T0 + timedelta(days=1)), chunk_size=7)
    report = mirror.sync()
    assert (report.copied, report.chunks) == (50, 8)
    assert _mirrored(mirror) == _source(engine)
    midnight_utc = datetime(2026, 5, 1, tzinfo=UTC).replace(tzinfo=None)  # the mirror keeps naive UTC
    assert _mirrored(mirror)[0][3] == midnight_utc  # 08:00 in Shanghai
    assert mirror.duck.execute("SELECT count(*) FROM identities").fetchone() == (13,)


def test_incremental_sync_equals_rebuild(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    clock = FixedClock(T0 + timedelta(days=1))
    run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", _rows(0, 30)))
    mirror = ActivityMirror(engine, tmp_path / "m.duckdb", clock, chunk_size=8)
    mirror.sync()
    run_import(engine, workspace_id, write_csv(tmp_path / "b.csv", _rows(30, 20)))
    second = mirror.sync()
    assert (second.copied, second.recopied) == (20, 0)  # only the new rows
    incremental = _mirrored(mirror)
    rebuilt = mirror.rebuild()
    assert rebuilt.copied == 50
    assert _mirrored(mirror) == incremental == _source(engine)


def test_interrupted_sync_resumes(
    engine: Engine, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", _rows(0, 40)))
    mirror = ActivityMirror(engine, tmp_path / "m.duckdb", FixedClock(T0 + timedelta(days=1)), chunk_size=10)
    real = ActivityMirror._append
    calls = {"n": 0}

    def dying(self: ActivityMirror, table: Any, watermark: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # operator pressed Ctrl-C during the third chunk
        real(self, table, watermark)

    monkeypatch.setattr(ActivityMirror, "_append", dying)
    with pytest.raises(KeyboardInterrupt):
        mirror.sync()
    assert mirror.watermark == _source(engine)[19][0]  # two chunks landed
    monkeypatch.setattr(ActivityMirror, "_append", real)
    resumed = mirror.sync()
    assert resumed.copied == 20
    assert _mirrored(mirror) == _source(engine)


def test_unsettled_rows_are_copied_again_not_twice(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    """Rows ingested within the settle window may still have earlier-id rows in flight."""
    run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", _rows(0, 10)))  # ingested at T0
    clock = FixedClock(T0 + timedelta(minutes=2))
    mirror = ActivityMirror(engine, tmp_path / "m.duckdb", clock, chunk_size=4, settle=timedelta(minutes=10))
    mirror.settle = timedelta(minutes=10)  # on SQLite too, to exercise the PostgreSQL rule
    first = mirror.sync()
    assert first.copied == 10
    assert mirror.watermark == 0  # nothing is older than the settle time yet
    clock.advance(timedelta(minutes=30))
    second = mirror.sync()
    assert (second.recopied, second.copied) == (10, 10)
    assert mirror.watermark == _source(engine)[-1][0]
    assert _mirrored(mirror) == _source(engine)


def _physical_times(mirror: ActivityMirror) -> list[datetime]:
    """occurred_at in the table's storage order (rowid), which is what block skipping sees."""
    return [r[0] for r in mirror.duck.execute("SELECT occurred_at FROM activities ORDER BY rowid").fetchall()]


def test_history_imported_out_of_time_order_is_re_sorted_once(
    engine: Engine, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("qunyun.analytics.mirror._CLUSTER_MIN_ROWS", 20)
    # An export member by member: each member's whole history, one member after the other.
    scattered = [
        row(f"2026-05-{day:02d}T09:00:00+08:00", f"u{member}", "message", f"{member}-{day}")
        for member in range(5)
        for day in range(1, 11)
    ]
    run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", scattered))
    mirror = ActivityMirror(engine, tmp_path / "m.duckdb", FixedClock(T0 + timedelta(days=30)), chunk_size=10)
    report = mirror.sync()
    times = _physical_times(mirror)
    assert report.clustered
    assert times == sorted(times)
    assert _mirrored(mirror) == _source(engine)  # nothing lost or changed, only the order
    # Live activity after that arrives in time order: counted as nothing, no rewrite.
    live = [
        row(f"2026-05-11T{hour:02d}:00:00+08:00", "u1", "message", f"live{hour}") for hour in range(10, 22)
    ]
    run_import(engine, workspace_id, write_csv(tmp_path / "b.csv", live))
    assert mirror.sync().clustered is False
    assert mirror.duck.execute("SELECT value FROM mirror_state WHERE key = 'unclustered'").fetchone() == (
        "0",
    )


def test_a_few_late_rows_do_not_re_sort_a_large_table(
    engine: Engine, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("qunyun.analytics.mirror._CLUSTER_MIN_ROWS", 5)
    run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", _rows(0, 40)))
    mirror = ActivityMirror(engine, tmp_path / "m.duckdb", FixedClock(T0 + timedelta(days=30)))
    assert mirror.sync().clustered is False  # one chunk in time order: nothing scattered
    late = [row("2026-04-01T09:00:00+08:00", f"u{i}", "message", f"late{i}") for i in range(6)]
    run_import(engine, workspace_id, write_csv(tmp_path / "b.csv", late))
    assert mirror.sync().clustered is False  # 6 scattered rows: over the minimum, under a quarter of 46
    assert mirror.duck.execute("SELECT value FROM mirror_state WHERE key = 'unclustered'").fetchone() == (
        "6",
    )
