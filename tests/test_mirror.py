"""The DuckDB analytics mirror: incremental equals rebuild, resumes, respects settling."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine, select, update

from conftest import T0
from helpers import row, run_import, write_csv
from qunyun.analytics.mirror import ActivityMirror
from qunyun.domain import FixedClock
from qunyun.store.merges import merge_members
from qunyun.store.tables import activities, identities, members, merges


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


T_TEXT = "2026-05-02T09:00:00+08:00"


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


def _small_tables(mirror: ActivityMirror) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    idents = mirror.duck.execute("SELECT id, member_id FROM identities ORDER BY id").fetchall()
    people = mirror.duck.execute("SELECT id, merged_into_id FROM members ORDER BY id").fetchall()
    return idents, people


def _source_small_tables(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        idents = conn.execute(select(identities.c.id, identities.c.member_id).order_by("id"))
        people = conn.execute(select(members.c.id, members.c.merged_into_id).order_by("id"))
        return [tuple(r) for r in idents], [tuple(r) for r in people]


def _merge(engine: Engine, workspace_id: int, survivor: int, merged: int) -> None:
    with engine.begin() as conn:
        merge_members(
            conn,
            workspace_id=workspace_id,
            survivor_id=survivor,
            merged_id=merged,
            reason="test",
            actor="test",
            now=T0,
        )


def _count_replacements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the tables the mirror replaces whole from now on."""
    replaced: list[str] = []
    real_replace = ActivityMirror._replace

    def counting(self: ActivityMirror, conn: Any, name: str, columns: Any, seq: int) -> None:
        replaced.append(name)
        real_replace(self, conn, name, columns, seq)

    monkeypatch.setattr(ActivityMirror, "_replace", counting)
    return replaced


def _moved_since(mirror: ActivityMirror, seq: int) -> set[int]:
    rows = mirror.duck.execute("SELECT member_id FROM member_changes WHERE seq > ?", [seq]).fetchall()
    return {int(r[0]) for r in rows}


def test_merges_are_patched_in_place_not_recopied(
    engine: Engine, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", _rows(0, 40)))
    mirror = ActivityMirror(engine, tmp_path / "m.duckdb", FixedClock(T0 + timedelta(days=1)))
    mirror.sync()
    replaced = _count_replacements(monkeypatch)
    # Two merges, the second a chain (3's identities, including 5's, move to 7), plus new members.
    _merge(engine, workspace_id, 3, 5)
    _merge(engine, workspace_id, 7, 3)
    run_import(engine, workspace_id, write_csv(tmp_path / "b.csv", [row(T_TEXT, "new1", "message", "hi")]))
    seq = mirror.checkpoint().seq
    mirror.sync()
    assert replaced == ["communities"]
    assert _small_tables(mirror) == _source_small_tables(engine)
    assert _moved_since(mirror, seq) == {3, 5, 7}  # both ends of every identity that moved
    changes = mirror.changes(mirror.checkpoint(), T0, T0)
    assert changes is not None
    assert changes.members == set()  # nothing moved since the last sync
    # The same mirror rebuilt from scratch agrees.
    patched = _small_tables(mirror)
    mirror.rebuild()
    assert _small_tables(mirror) == patched


def test_a_merge_committed_out_of_id_order_replaces_the_tables(
    engine: Engine, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a merge with a lower id can commit after one with a higher id: the merges
    above the mirrored highest id are then fewer than the count says, and the patch gives way."""
    run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", _rows(0, 40)))
    mirror = ActivityMirror(engine, tmp_path / "m.duckdb", FixedClock(T0 + timedelta(days=1)))
    _merge(engine, workspace_id, 2, 4)
    mirror.sync()
    _merge(engine, workspace_id, 6, 8)
    _merge(engine, workspace_id, 9, 10)
    with engine.begin() as conn:  # as if merge 2 had not been visible at the last sync
        late = conn.execute(select(merges.c.id).order_by(merges.c.id)).scalars().all()
        conn.execute(update(merges).where(merges.c.id == late[1]).values(id=late[0] - 1))
    replaced = _count_replacements(monkeypatch)
    seq = mirror.checkpoint().seq
    mirror.sync()
    assert sorted(replaced) == ["communities", "identities", "members"]
    assert _small_tables(mirror) == _source_small_tables(engine)
    assert _moved_since(mirror, seq) == {6, 8, 9, 10}


def _naive(hour: int, minute: int = 0) -> datetime:
    """The mirror's naive UTC."""
    return datetime(2026, 5, 1, hour, minute, tzinfo=UTC).replace(tzinfo=None)


def test_the_settled_watermark_stops_before_the_first_late_row() -> None:
    early, late = _naive(8), _naive(9)
    chunk = pa.table(
        {"id": [5, 6, 7, 8], "ingested_at": pa.array([early, early, late, early], pa.timestamp("us"))}
    )
    assert ActivityMirror._settled(chunk, _naive(8, 30), 4) == (6, True)  # 8 is early, but after 7
    assert ActivityMirror._settled(chunk, _naive(10), 4) == (8, False)
    assert ActivityMirror._settled(chunk, _naive(7), 4) == (4, True)
    assert ActivityMirror._settled(chunk.slice(0, 0), _naive(8, 30), 4) == (4, False)
