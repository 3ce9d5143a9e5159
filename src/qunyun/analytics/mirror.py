"""The analytics mirror: a DuckDB copy of the activity tables, fed by a watermark.

The SQL database stays the source of truth; the mirror is a cache that can be
thrown away and rebuilt at any time (`qunyun analytics rebuild`).

Activities are append-only, so a sync copies only rows with an id above the
**settled watermark**: the highest id below which every row is known to be
final. On SQLite (one writer) that is simply the highest id copied. On
PostgreSQL a transaction that took a lower id may commit after one with a
higher id, so a row only settles once it was ingested `settle` ago (default
10 minutes); the unsettled tail is deleted and copied again on the next sync.
Each chunk and its watermark commit together in DuckDB, so an interrupted
sync or rebuild resumes where it stopped. Identities, members and
communities change (merges, renames) and are small: each sync replaces them,
and records in `member_changes` every member whose identities moved (a merge
or unmerge), so an incremental refresh knows whom to revisit.

`checkpoint()` names the mirror's state: its generation (a new one after every
rebuild), the number of syncs so far and the activity watermark. A refresh
stores it and asks `changes` for everyone touched since.

Timestamps in the mirror are naive UTC (`TIMESTAMP`), which DuckDB and Spark
read the same way.
"""

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, select

from qunyun.domain import Clock
from qunyun.store.tables import merges

_ACTIVITY_COLUMNS = (
    "id",
    "community_id",
    "identity_id",
    "kind",
    "occurred_at",
    "text",
    "amount_minor",
    "currency",
    "reference_id",
    "reply_to",
    "ingested_at",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS activities (
    id BIGINT, community_id INTEGER, identity_id INTEGER, kind VARCHAR, occurred_at TIMESTAMP,
    text VARCHAR, amount_minor BIGINT, currency VARCHAR, reference_id VARCHAR, reply_to VARCHAR,
    ingested_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS mirror_state (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS member_changes (seq BIGINT, member_id INTEGER);
CREATE TABLE IF NOT EXISTS identities (
    id INTEGER, workspace_id INTEGER, member_id INTEGER, platform VARCHAR, external_id VARCHAR
);
CREATE TABLE IF NOT EXISTS members (
    id INTEGER, workspace_id INTEGER, is_staff BOOLEAN, is_bot BOOLEAN, merged_into_id INTEGER
);
CREATE TABLE IF NOT EXISTS communities (
    id INTEGER, workspace_id INTEGER, platform VARCHAR, external_id VARCHAR, name VARCHAR, timezone VARCHAR
);
"""
# Small mutable tables, replaced whole on every sync: name → columns.
_REPLACED = {
    "identities": ("id", "workspace_id", "member_id", "platform", "external_id"),
    "members": ("id", "workspace_id", "is_staff", "is_bot", "merged_into_id"),
    "communities": ("id", "workspace_id", "platform", "external_id", "name", "timezone"),
}
_TIMESTAMPS = ("occurred_at", "ingested_at")
_CLUSTER_MIN_ROWS = 1_000_000  # below this a full scan is cheap anyway
_CLUSTER_MEMORY = "1536MB"
# Erasure rewrites identities (store/erasure.py) and must blank the mirrored texts.
_ERASED_VERSION = "SELECT count(*), coalesce(sum(id), 0) FROM members WHERE erased_at IS NOT NULL"
# What identities and members rows can change by: merges (made and undone), the staff/bot
# flags and erasures. While these read the same, the two tables only grow.
_MAPPING_VERSION = (
    "SELECT count(*), coalesce(max(id), 0), count(undone_at) FROM merges",
    "SELECT count(*), coalesce(sum(CASE WHEN is_staff THEN id ELSE 0 END), 0),"
    " coalesce(sum(CASE WHEN is_bot THEN id ELSE 0 END), 0) FROM members WHERE is_staff OR is_bot",
    _ERASED_VERSION,
)
_ERASED_IDENTITIES = (
    "SELECT i.id FROM identities i JOIN members m ON m.id = i.member_id WHERE m.erased_at IS NOT NULL"
)


def _record_moved_identities(new_rows: str, *, whole: bool) -> str:
    """SQL recording (parameter: the sync number) both members of every identity whose member
    differs in `new_rows`: the whole new table (`whole`: an identity missing from it vanished,
    and its member is recorded too) or a patch of some rows. Brand-new identities are left out:
    they arrive with activities, which name their member anyway."""
    join, vanished = ("LEFT JOIN", "n.id IS NULL OR ") if whole else ("JOIN", "")
    return f"""
INSERT INTO member_changes
SELECT ?, m FROM (
    SELECT o.member_id AS m FROM identities o {join} {new_rows} n ON n.id = o.id
    WHERE {vanished}n.member_id <> o.member_id
    UNION
    SELECT n.member_id FROM identities o JOIN {new_rows} n ON n.id = o.id
    WHERE n.member_id <> o.member_id
)
"""


_PATCH_IN = 1_000  # ids per IN (...) when reading patched rows


def _new_merges_only(stored: list[list[Any]] | None, current: list[list[Any]]) -> tuple[int, int] | None:
    """What changed in the identity mapping since `stored` (see `_MAPPING_VERSION`):
    (0, 0) for nothing; (highest merge id then, number of merges since) when the only change is
    new merges; None when anything else changed (an unmerge, a flag, an erasure: replace whole)."""
    if stored is None or len(stored) != len(current) or stored[1:] != current[1:]:
        return None
    (count_then, top_then, undone_then), (count_now, _top_now, undone_now) = stored[0], current[0]
    if undone_now != undone_then or count_now < count_then:
        return None
    return (int(top_then), int(count_now) - int(count_then)) if count_now > count_then else (0, 0)


@dataclass(frozen=True)
class Changes:
    """What moved since a checkpoint: (community, member) pairs with new or replayed activity,
    and members whose identities moved (each in every community)."""

    memberships: set[tuple[int, int]]
    members: set[int]


@dataclass(frozen=True)
class Checkpoint:
    generation: str
    seq: int
    watermark: int


@dataclass
class SyncReport:
    copied: int = 0
    recopied: int = 0
    watermark: int = 0
    chunks: int = 0
    clustered: bool = False  # the activities were re-sorted by time after this sync


def _utc_naive(values: Sequence[Any]) -> pa.Array:
    """SQLite gives 'YYYY-MM-DD HH:MM:SS.ffffff' text, PostgreSQL aware datetimes: both → naive UTC."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, datetime):
        return pa.array(values, type=pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
    return pa.array(values, type=pa.string()).cast(pa.timestamp("us"))


def _arrow(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> pa.Table:
    by_column = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    arrays = [
        _utc_naive(values) if name in _TIMESTAMPS else pa.array(values)
        for name, values in zip(columns, by_column, strict=True)
    ]
    return pa.table(dict(zip(columns, arrays, strict=True)))


class ActivityMirror:
    def __init__(
        self,
        engine: Engine,
        path: Path | str,
        clock: Clock,
        *,
        chunk_size: int = 200_000,
        settle: timedelta = timedelta(minutes=10),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.chunk_size = chunk_size
        # SQLite has one writer, so ids commit in order and nothing needs to settle.
        self.settle = timedelta(0) if engine.dialect.name == "sqlite" else settle
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.duck = duckdb.connect(str(path))
        self.duck.execute(_SCHEMA)

    def close(self) -> None:
        self.duck.close()

    def _state(self, key: str) -> str | None:
        row = self.duck.execute("SELECT value FROM mirror_state WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    @property
    def watermark(self) -> int:
        return int(self._state("watermark") or 0)

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self._state("generation") or "", int(self._state("seq") or 0), self.watermark)

    def changes(self, since: Checkpoint, after: datetime, upto: datetime) -> "Changes | None":
        """Whose facts as of `upto` may differ from those computed at `since` as of `after`
        (naive UTC): the memberships with activities copied since or that happened in between
        (a replay of history), and the members whose identities moved since (all their
        memberships). None when `since` belongs to another generation: after a rebuild nobody
        can tell."""
        if since.generation != self.checkpoint().generation:
            return None
        rows = self.duck.execute(
            """
            SELECT DISTINCT a.community_id, i.member_id
            FROM activities a JOIN identities i ON a.identity_id = i.id
            WHERE a.id > ? OR (a.occurred_at > ? AND a.occurred_at <= ?)
            """,
            [since.watermark, after, upto],
        ).fetchall()
        moved = self.duck.execute("SELECT DISTINCT member_id FROM member_changes WHERE seq > ?", [since.seq])
        return Changes({(int(c), int(m)) for c, m in rows}, {int(r[0]) for r in moved.fetchall()})

    def rebuild(self, progress: Callable[[SyncReport], None] | None = None) -> SyncReport:
        """Throw the mirror away and copy everything again (resumable like any sync)."""
        self.duck.execute("BEGIN")
        for name in ("activities", "mirror_state", "member_changes", *_REPLACED):
            self.duck.execute(f"DELETE FROM {name}")
        self.duck.execute("COMMIT")
        return self.sync(progress)

    def sync(self, progress: Callable[[SyncReport], None] | None = None) -> SyncReport:
        """Copy new activities (and the current identities, members, communities)."""
        report = SyncReport(watermark=self.watermark)
        cutoff = (self.clock.now() - self.settle).astimezone(UTC).replace(tzinfo=None)
        self._next_seq()
        self._replace_small_tables()
        self._scrub_erased()
        settled = report.watermark
        tail_open = False  # once a row is unsettled, the watermark stops for this sync
        with self.engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # raw rows for speed
            placeholder = "?" if self.engine.dialect.name == "sqlite" else "%s"
            cursor.execute(
                f"SELECT {', '.join(_ACTIVITY_COLUMNS)} FROM activities WHERE id > {placeholder} ORDER BY id",
                (report.watermark,),
            )
            self._delete_above(report.watermark, report)
            while rows := cursor.fetchmany(self.chunk_size):
                table = _arrow(_ACTIVITY_COLUMNS, rows)
                if not tail_open:
                    settled, tail_open = self._settled(table, cutoff, settled)
                self._append(table, settled)
                report.copied += table.num_rows
                report.chunks += 1
                if progress is not None:
                    progress(report)
            cursor.close()
        report.watermark = self.watermark
        report.clustered = self._cluster_if_scattered()
        return report

    def _cluster_if_scattered(self) -> bool:
        """Re-sort the activities by time once many rows arrived out of time order.

        DuckDB skips blocks by their min/max `occurred_at`, which is what makes the maintained
        facts' window edges (analytics/fact_state.py) and the week's charts read a day of
        activity instead of all of it. Live activity arrives in time order; a bulk import of an
        export (member by member, channel by channel) does not, and leaves every block spanning
        the whole history. Rows older than a day before the newest mirrored one are counted as
        they are copied (`_scattered`); past a quarter of the table
        (and at least `_CLUSTER_MIN_ROWS`) the table is rewritten in time order, in one
        transaction (an interrupted rewrite is redone by the next sync). Measured at 20.6M rows:
        ~45 s; a one-day slice then scans in ~2-7 ms instead of ~85 ms.
        """
        pending = int(self._state("unclustered") or 0)
        total_row = self.duck.execute("SELECT count(*) FROM activities").fetchone()
        total = int(total_row[0]) if total_row else 0
        if pending < _CLUSTER_MIN_ROWS or pending * 4 < total:
            return False
        limit_row = self.duck.execute("SELECT current_setting('memory_limit')").fetchone()
        # The sort spills to disk rather than hold the table in memory (a refresh stays < 4 GiB).
        self.duck.execute(f"SET memory_limit = '{_CLUSTER_MEMORY}'")
        try:
            self.duck.execute("BEGIN")
            self.duck.execute(
                "CREATE OR REPLACE TABLE activities AS SELECT * FROM activities ORDER BY occurred_at"
            )
            self.duck.execute("INSERT OR REPLACE INTO mirror_state VALUES ('unclustered', '0')")
            self.duck.execute("COMMIT")
        finally:
            if limit_row is not None:
                self.duck.execute(f"SET memory_limit = '{limit_row[0]}'")
        return True

    def export_parquet(self, directory: Path) -> dict[str, int]:
        """Write every mirrored table as Parquet under `directory/<table>/` (for Spark)."""
        counts = {}
        for name in ("activities", *_REPLACED):
            target = directory / name
            target.mkdir(parents=True, exist_ok=True)
            for old in target.glob("*.parquet"):
                old.unlink()
            quoted = str(target / "part-0.parquet").replace("'", "''")
            self.duck.execute(f"COPY {name} TO '{quoted}' (FORMAT parquet)")
            row = self.duck.execute(f"SELECT count(*) FROM {name}").fetchone()
            counts[name] = int(row[0]) if row else 0
        return counts

    def _delete_above(self, watermark: int, report: SyncReport) -> None:
        """Drop the unsettled tail copied by an earlier sync; it is copied again now."""
        row = self.duck.execute("SELECT count(*) FROM activities WHERE id > ?", [watermark]).fetchone()
        report.recopied = int(row[0]) if row else 0
        self.duck.execute("DELETE FROM activities WHERE id > ?", [watermark])

    @staticmethod
    def _settled(table: pa.Table, cutoff: datetime, settled: int) -> tuple[int, bool]:
        """(the id before the chunk's first row ingested at or after `cutoff`, whether there is
        one); rows arrive in id order."""
        if table.num_rows == 0:
            return settled, False
        late = pc.greater_equal(table.column("ingested_at"), pa.scalar(cutoff, type=pa.timestamp("us")))
        first = pc.index(late, True).as_py()
        if first == -1:
            return int(table.column("id")[-1].as_py()), False
        return (int(table.column("id")[first - 1].as_py()) if first > 0 else settled), True

    def _append(self, table: pa.Table, watermark: int) -> None:
        """A chunk and the watermark it reached, in one DuckDB transaction."""
        self.duck.execute("BEGIN")
        scattered = self._scattered(table)
        self.duck.register("chunk", table)
        self.duck.execute(f"INSERT INTO activities SELECT {', '.join(_ACTIVITY_COLUMNS)} FROM chunk")
        self.duck.unregister("chunk")
        self.duck.execute("INSERT OR REPLACE INTO mirror_state VALUES ('watermark', ?)", [str(watermark)])
        unclustered = int(self._state("unclustered") or 0) + scattered
        self.duck.execute("INSERT OR REPLACE INTO mirror_state VALUES ('unclustered', ?)", [str(unclustered)])
        self.duck.execute("COMMIT")

    def _scattered(self, table: pa.Table) -> int:
        """Rows of a chunk older than a day before the newest mirrored activity: what a bulk
        import of history adds, not what live activity does."""
        row = self.duck.execute("SELECT max(occurred_at) FROM activities").fetchone()
        if row is None or row[0] is None:
            return 0
        threshold = pa.scalar(row[0] - timedelta(days=1), type=pa.timestamp("us"))
        older = pc.sum(pc.less(table.column("occurred_at"), threshold)).as_py()
        return int(older or 0)

    def _next_seq(self) -> None:
        """Start a sync: a new generation if the mirror is empty, and the next sync number."""
        self.duck.execute("BEGIN")
        if self._state("generation") is None:
            self.duck.execute("INSERT INTO mirror_state VALUES ('generation', ?)", [uuid.uuid4().hex])
        seq = int(self._state("seq") or 0) + 1
        self.duck.execute("INSERT OR REPLACE INTO mirror_state VALUES ('seq', ?)", [str(seq)])
        self.duck.execute("COMMIT")

    def _replace_small_tables(self) -> None:
        """Bring identities, members and communities up to date.

        Rows of identities and members change only through merges (and unmerges, staff/bot flags,
        erasures), so while none happened, appending the rows above the mirrored maximum id is
        enough; after new merges alone, the rows each merge names (its two members, its moved
        identities) are patched in place too. If the counts then disagree (a lower id committed
        late) or anything else changed, both tables are replaced whole (re-copying 1.4M
        identities costs ~8 s). Communities are few and always replaced.
        """
        seq = int(self._state("seq") or 0)
        with self.engine.connect() as conn:
            current = [list(conn.exec_driver_sql(sql).one()) for sql in _MAPPING_VERSION]
            stored = self._state("mapping_version")
            merged = _new_merges_only(json.loads(stored) if stored else None, current)
            grown = merged is not None and all(
                self._append_new(conn, name, _REPLACED[name]) for name in ("identities", "members")
            )
            patched = (
                grown and merged is not None and (merged[1] == 0 or self._patch_merges(conn, merged, seq))
            )
            names = ("communities",) if patched else tuple(_REPLACED)
            for name in names:
                self._replace(conn, name, _REPLACED[name], seq)
            self.duck.execute(
                "INSERT OR REPLACE INTO mirror_state VALUES ('mapping_version', ?)", [json.dumps(current)]
            )

    def _scrub_erased(self) -> None:
        """Drop the texts of members erased since the last sync (store/erasure.py): the mirror
        must not keep what the source of truth forgot."""
        with self.engine.connect() as conn:
            version = json.dumps(list(conn.exec_driver_sql(_ERASED_VERSION).one()))
            if version == self._state("erased_version"):
                return
            ids = [int(r[0]) for r in conn.exec_driver_sql(_ERASED_IDENTITIES).all()]
        self.duck.execute("BEGIN")
        if ids:
            self.duck.register("erased", pa.table({"identity_id": pa.array(ids, pa.int64())}))
            self.duck.execute(
                "UPDATE activities SET text = NULL WHERE text IS NOT NULL"
                " AND identity_id IN (SELECT identity_id FROM erased)"
            )
            self.duck.unregister("erased")
        self.duck.execute("INSERT OR REPLACE INTO mirror_state VALUES ('erased_version', ?)", [version])
        self.duck.execute("COMMIT")

    def _append_new(self, conn: Connection, name: str, columns: tuple[str, ...]) -> bool:
        """Append source rows above the mirrored maximum id; False if the counts then disagree."""
        top = self.duck.execute(f"SELECT coalesce(max(id), 0), count(*) FROM {name}").fetchone()
        highest, mirrored = (int(top[0]), int(top[1])) if top else (0, 0)
        rows = conn.exec_driver_sql(
            f"SELECT {', '.join(columns)} FROM {name} WHERE id > {highest} ORDER BY id"
        ).all()
        total = int(conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one())
        if mirrored + len(rows) != total:
            return False
        if rows:
            self.duck.register("appended", _arrow(columns, [tuple(r) for r in rows]))
            self.duck.execute(f"INSERT INTO {name} SELECT {', '.join(columns)} FROM appended")
            self.duck.unregister("appended")
        return True

    def _patch_merges(self, conn: Connection, merged: tuple[int, int], seq: int) -> bool:
        """Apply the merges made since the last sync to the mirrored identities and members rows
        they touched (instead of re-copying both tables); False if the source's merges above the
        mirrored highest id are not the expected number (one committed late), so the caller
        replaces the tables whole."""
        above, expected = merged
        rows = conn.execute(
            select(merges.c.survivor_id, merges.c.merged_id, merges.c.identity_ids).where(merges.c.id > above)
        ).all()
        if len(rows) != expected:
            return False
        identity_ids = sorted({int(i) for r in rows for i in r.identity_ids})
        member_ids = sorted({int(m) for r in rows for m in (r.survivor_id, r.merged_id)})
        patches = {"identities": ("id", identity_ids), "members": ("id", member_ids)}
        self.duck.execute("BEGIN")
        for name, (key, ids) in patches.items():
            columns = _REPLACED[name]
            fresh = [
                tuple(r)
                for i in range(0, len(ids), _PATCH_IN)
                for r in conn.exec_driver_sql(
                    f"SELECT {', '.join(columns)} FROM {name} WHERE {key} IN "
                    f"({', '.join(str(int(v)) for v in ids[i : i + _PATCH_IN])})"
                ).all()
            ]
            self.duck.register("patch", _arrow(columns, fresh))
            if name == "identities":
                self.duck.execute(_record_moved_identities("patch", whole=False), [seq])
            self.duck.execute(f"DELETE FROM {name} WHERE {key} IN (SELECT {key} FROM patch)")
            self.duck.execute(f"INSERT INTO {name} SELECT {', '.join(columns)} FROM patch")
            self.duck.unregister("patch")
        self.duck.execute("COMMIT")
        return True

    def _replace(self, conn: Connection, name: str, columns: tuple[str, ...], seq: int) -> None:
        rows = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM {name} ORDER BY id").all()
        table = _arrow(columns, [tuple(r) for r in rows])
        self.duck.execute("BEGIN")
        self.duck.register("replacement", table)
        if name == "identities":
            self.duck.execute(_record_moved_identities("replacement", whole=True), [seq])
        self.duck.execute(f"DELETE FROM {name}")
        if table.num_rows:
            self.duck.execute(f"INSERT INTO {name} SELECT {', '.join(columns)} FROM replacement")
        self.duck.unregister("replacement")
        self.duck.execute("COMMIT")
