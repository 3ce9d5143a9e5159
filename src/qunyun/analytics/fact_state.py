"""Member facts kept up to date in the mirror, so a refresh does not rescan all history.

`facts.member_facts` is the definition: one grouped scan of every activity up
to as-of, the same on DuckDB and Spark. Rescanning 20M rows per refresh costs
5-13x a bare GROUP BY (each fact is a conditional aggregate over every row).
This module keeps the same facts per (community, member) in a DuckDB table
`fact_state`, valid as of one instant E over the activities up to one id W,
and moves it forward instead (decision 0005):

- **all-time facts** (first/last join, leave, sign of life, message, purchase;
  totals) only grow: new rows are folded in with min / max / sum;
- **window counts** (7, 30, 90 days, and the baseline before the last 30)
  move from E to a later E' by subtracting the rows that slid out of each
  window — a few days' slice of the table, found through DuckDB's per-block
  min/max of `occurred_at`;
- **active local days** are bits of absolute local day numbers (day
  `base + p` is bit p of a 128-bit integer), so moving E shifts nothing; the
  partial first day of each window (only the hours after E - 30 d count) is
  read raw at query time.

Rows above the mirror's settled watermark (PostgreSQL's unsettled tail) are
aggregated raw at query time and combined. Members whose identities moved (a
merge or unmerge, recorded by the mirror in `member_changes`) are recomputed
from their raw rows. Each step rewrites the table in one statement and swaps
it in with the new as-of, in one DuckDB transaction; a step that touches few
members (`_PATCH_SHARE`) and keeps the bit base replaces only their rows.

The state is only used when it can be exact: no mirrored activity lies after
the as-of (otherwise a replay of history, and the scan is used), and the
state's mirror generation and windows match. Anything else rebuilds it from
the mirror (one full scan, as expensive as the scan itself). Tested equal to
`member_facts` over random histories, late rows and merges
(tests/test_fact_state.py).
"""

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from qunyun.domain import ANY_KINDS, INTERACTION_KINDS, MESSAGE_KINDS, ActivityKind

_WEEK_DAYS = 7
_QUARTER_DAYS = 90
_MAX_STEP = timedelta(days=31)  # a longer jump rebuilds (exit slices would be most of the table)
_SPAN = 91  # days the bits must cover behind the as-of's local day (90-day window + its first day)
_ROOM = 126  # highest bit used; past it the bits are re-based
_STATE_KEY = "fact_state"
_LAYOUT = 2  # bump when _COLUMNS change: a state of another layout is rebuilt
# A step touching at most this share of the memberships patches their rows instead of rewriting
# the table. Measured on 1.26M memberships: a day's step touches ~30% of them and costs 0.84-0.89 s
# patched against 1.0-1.2 s rewritten, steady over seven daily steps (no slowdown, no file growth);
# an hour's step with a new group's 300k rows touches ~4%.
_PATCH_SHARE = 0.5


def _sql_list(kinds: Collection[ActivityKind]) -> str:
    return ", ".join(f"'{k.value}'" for k in sorted(kinds))


_MESSAGE = f"kind IN ({_sql_list(MESSAGE_KINDS)})"
_INTERACTION = f"kind NOT IN ({_sql_list(set(ActivityKind) - INTERACTION_KINDS)})"
_LIFE = f"kind NOT IN ({_sql_list(set(ActivityKind) - ANY_KINDS)})"
_PURCHASE = f"kind = '{ActivityKind.PURCHASE.value}'"

_COLUMNS = """
    community_id INTEGER, member_id INTEGER,
    first_join_at TIMESTAMP, last_join_at TIMESTAMP, last_leave_at TIMESTAMP,
    first_seen_at TIMESTAMP, last_seen_at TIMESTAMP, last_message_at TIMESTAMP,
    last_purchase_at TIMESTAMP, messages_total BIGINT, purchases_total BIGINT, spend_minor BIGINT,
    messages_7d BIGINT, messages_30d BIGINT, messages_90d BIGINT, interactions_30d BIGINT,
    interactions_prev_90d BIGINT, purchases_90d BIGINT, spend_90d_minor BIGINT,
    day_bits HUGEINT
"""
_COLUMN_NAMES = tuple(
    line.strip().split()[0] for line in _COLUMNS.replace(",", "\n").splitlines() if line.strip()
)
# The facts that depend on where the windows are (the rest only grow with new rows).
_WINDOWED = (
    "messages_7d", "messages_30d", "messages_90d", "interactions_30d", "interactions_prev_90d",
    "purchases_90d", "spend_90d_minor",
)  # fmt: skip
_MIN = ("first_join_at", "first_seen_at")
_MAX = ("last_join_at", "last_leave_at", "last_seen_at", "last_message_at", "last_purchase_at")
_SUM = (
    "messages_total", "purchases_total", "spend_minor", "messages_7d", "messages_30d", "messages_90d",
    "interactions_30d", "interactions_prev_90d", "purchases_90d", "spend_90d_minor",
)  # fmt: skip


@dataclass(frozen=True)
class _Instants:
    """As-of and the window edges, naive UTC, and the local day numbers the bits use."""

    end: datetime
    week: datetime
    recent: datetime
    quarter: datetime
    baseline: datetime
    end_day: int
    offset_s: int

    @classmethod
    def at(cls, end: datetime, recent_days: int, baseline_days: int, offset_s: int) -> "_Instants":
        recent = end - timedelta(days=recent_days)
        day = (int(end.replace(tzinfo=UTC).timestamp()) + offset_s) // 86400
        return cls(
            end,
            end - timedelta(days=_WEEK_DAYS),
            recent,
            end - timedelta(days=_QUARTER_DAYS),
            recent - timedelta(days=baseline_days),
            day,
            offset_s,
        )

    def day_start(self, day: int) -> datetime:
        """The UTC instant (naive) the local day `day` starts."""
        return datetime.fromtimestamp(day * 86400 - self.offset_s, UTC).replace(tzinfo=None)


def _day_expr(offset_s: int) -> str:
    return f"((epoch_us(occurred_at) // 1000000 + {offset_s}) // 86400)"


def _rows(where: str) -> str:
    """Activities with their member (through the current identities), filtered by `where`."""
    return f"""(
        SELECT a.id, a.community_id, i.member_id, a.kind, a.occurred_at, a.amount_minor
        FROM activities a JOIN identities i ON a.identity_id = i.id WHERE {where}
    )"""


def _delta_sql(t: _Instants, base: int, low_id: int, high_id: int | None, only: str = "") -> str:
    """Facts as of `t.end` of the activities with `low_id` < id <= `high_id`, per member (of the
    members in the table `only`, if given)."""
    day = _day_expr(t.offset_s)
    upper = "" if high_id is None else f" AND a.id <= {high_id}"
    if only:
        upper += f" AND i.member_id IN (SELECT member_id FROM {only})"
    e, w7, w30, w90, w120 = (f"TIMESTAMP '{x.isoformat(sep=' ')}'" for x in (
        t.end, t.week, t.recent, t.quarter, t.baseline))  # fmt: skip
    prev = f"occurred_at > {w120} AND occurred_at <= {w30}"
    return f"""
    SELECT community_id, member_id,
        min(occurred_at) FILTER (WHERE kind = 'join') AS first_join_at,
        max(occurred_at) FILTER (WHERE kind = 'join') AS last_join_at,
        max(occurred_at) FILTER (WHERE kind = 'leave') AS last_leave_at,
        min(occurred_at) FILTER (WHERE {_LIFE}) AS first_seen_at,
        max(occurred_at) FILTER (WHERE {_LIFE}) AS last_seen_at,
        max(occurred_at) FILTER (WHERE {_MESSAGE}) AS last_message_at,
        max(occurred_at) FILTER (WHERE {_PURCHASE}) AS last_purchase_at,
        count(*) FILTER (WHERE {_MESSAGE}) AS messages_total,
        count(*) FILTER (WHERE {_PURCHASE}) AS purchases_total,
        sum(amount_minor) FILTER (WHERE {_PURCHASE}) AS spend_minor,
        count(*) FILTER (WHERE {_MESSAGE} AND occurred_at > {w7}) AS messages_7d,
        count(*) FILTER (WHERE {_MESSAGE} AND occurred_at > {w30}) AS messages_30d,
        count(*) FILTER (WHERE {_MESSAGE} AND occurred_at > {w90}) AS messages_90d,
        count(*) FILTER (WHERE {_INTERACTION} AND occurred_at > {w30}) AS interactions_30d,
        count(*) FILTER (WHERE {_INTERACTION} AND {prev}) AS interactions_prev_90d,
        count(*) FILTER (WHERE {_PURCHASE} AND occurred_at > {w90}) AS purchases_90d,
        sum(amount_minor) FILTER (WHERE {_PURCHASE} AND occurred_at > {w90}) AS spend_90d_minor,
        coalesce(
            bit_or(1::HUGEINT << greatest({day} - {base}, 0)) FILTER (WHERE {_LIFE} AND {day} >= {base}), 0
        ) AS day_bits
    FROM {_rows(f"a.id > {low_id}{upper} AND a.occurred_at <= {e}")}
    GROUP BY community_id, member_id
    """


def _ts(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


@dataclass(frozen=True)
class _Meta:
    generation: str
    as_of: datetime
    watermark: int
    seq: int  # the mirror sync whose identity moves are already applied
    base: int
    windows: tuple[int, int, int]


class FactState:
    """The maintained `fact_state` table of one mirror connection (see the module docstring)."""

    def __init__(
        self, duck: duckdb.DuckDBPyConnection, recent_days: int, baseline_days: int, offset_s: int
    ) -> None:
        self.duck = duck
        self.windows = (recent_days, baseline_days, offset_s)

    def _instants(self, end: datetime) -> _Instants:
        return _Instants.at(end, *self.windows)

    def _meta(self) -> _Meta | None:
        row = self.duck.execute("SELECT value FROM mirror_state WHERE key = ?", [_STATE_KEY]).fetchone()
        if row is None:
            return None
        try:
            raw = json.loads(row[0])
            if raw.get("layout") != _LAYOUT:
                return None
            return _Meta(
                str(raw["generation"]),
                datetime.fromisoformat(raw["as_of"]),
                int(raw["watermark"]),
                int(raw["seq"]),
                int(raw["base"]),
                (int(raw["windows"][0]), int(raw["windows"][1]), int(raw["windows"][2])),
            )
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            return None  # written by another version: rebuilt

    def _save(self, meta: _Meta) -> None:
        value = json.dumps(
            {
                "generation": meta.generation,
                "as_of": meta.as_of.isoformat(),
                "watermark": meta.watermark,
                "seq": meta.seq,
                "base": meta.base,
                "windows": list(meta.windows),
                "layout": _LAYOUT,
            }
        )
        self.duck.execute("INSERT OR REPLACE INTO mirror_state VALUES (?, ?)", [_STATE_KEY, value])

    def usable(self, end: datetime) -> bool:
        """Whether facts as of `end` (naive UTC) can come from the state: nothing mirrored after it."""
        row = self.duck.execute("SELECT max(occurred_at) FROM activities").fetchone()
        return row is None or row[0] is None or row[0] <= end

    def advance(self, end: datetime, generation: str, seq: int, watermark: int) -> None:
        """Bring the state to as-of `end` (naive UTC) over activities up to id `watermark` and the
        identities of mirror sync `seq`. Call only when `usable(end)`."""
        t = self._instants(end)
        meta = self._meta()
        self.duck.execute("BEGIN")
        try:
            if (
                meta is None
                or meta.generation != generation
                or meta.windows != self.windows
                or end < meta.as_of
                or end - meta.as_of > _MAX_STEP
                or watermark < meta.watermark
                or seq < meta.seq
            ):
                meta = self._rebuild(t, generation, seq, watermark)
            else:
                base = self._step(meta, t, watermark)
                self._recompute_moved(t, base, meta.seq, seq, watermark)
                meta = _Meta(generation, end, watermark, seq, base, self.windows)
            self._save(meta)
            self.duck.execute("COMMIT")
        except BaseException:
            self.duck.execute("ROLLBACK")
            raise

    def _rebuild(self, t: _Instants, generation: str, seq: int, watermark: int) -> _Meta:
        base = t.end_day - _SPAN
        self.duck.execute(f"CREATE OR REPLACE TABLE fact_state ({_COLUMNS})")
        self.duck.execute(
            f"INSERT INTO fact_state SELECT * FROM ({_delta_sql(t, base, -1, watermark)})"
            " ORDER BY community_id, member_id"
        )
        return _Meta(generation, t.end, watermark, seq, base, self.windows)

    def _step(self, meta: _Meta, t: _Instants, watermark: int) -> int:
        """Move the state from `meta.as_of` to `t.end` and fold in rows `meta.watermark` < id <=
        `watermark`, rewriting the table in one statement; returns the bit base it now uses.

        A rewrite, not UPDATE: updating ~300k rows picked by a join costs DuckDB ~1 s per column
        on freshly written storage (rows arrive in hash order), a sorted rewrite of 1M rows ~0.5 s.
        """
        moved_in_time = t.end > meta.as_of
        if not moved_in_time and watermark <= meta.watermark:
            return meta.base
        base = meta.base if t.end_day - meta.base <= _ROOM else t.end_day - _SPAN
        exits = self._exits_sql(meta, t) if moved_in_time else None
        delta = _delta_sql(t, base, meta.watermark, watermark) if watermark > meta.watermark else None
        if base == meta.base and self._patch(exits, delta):
            return base
        self.duck.execute(f"CREATE OR REPLACE TABLE fact_state_next ({_COLUMNS})")
        self.duck.execute(f"INSERT INTO fact_state_next {self._next_sql(meta.base, base, exits, delta)}")
        self.duck.execute("DROP TABLE fact_state")
        self.duck.execute("ALTER TABLE fact_state_next RENAME TO fact_state")
        return base

    def _patch(self, exits: str | None, delta: str | None) -> bool:
        """The step for only the members it touches (rows that slid out, new rows), when they are
        few: their next rows replace theirs; everyone else's row is already right (same bit
        base, nothing slid, nothing new). False, having changed nothing, when they are many
        (then one rewrite of the whole table is cheaper than deleting most of it)."""
        parts = [f"SELECT community_id, member_id FROM ({sql})" for sql in (exits, delta) if sql is not None]
        self.duck.execute(f"CREATE OR REPLACE TEMP TABLE fact_touched AS {' UNION '.join(parts)}")
        touched_row = self.duck.execute("SELECT count(*) FROM fact_touched").fetchone()
        total_row = self.duck.execute("SELECT count(*) FROM fact_state").fetchone()
        touched, total = (int(touched_row[0]) if touched_row else 0), (int(total_row[0]) if total_row else 0)
        if touched > _PATCH_SHARE * total:
            self.duck.execute("DROP TABLE fact_touched")
            return False
        if touched:
            only = "fact_state f SEMI JOIN fact_touched USING (community_id, member_id)"
            self.duck.execute(
                "CREATE OR REPLACE TEMP TABLE fact_patch AS "
                + self._next_sql(0, 0, exits, delta, source=only)
            )
            self.duck.execute(
                "DELETE FROM fact_state WHERE (community_id, member_id) IN"
                " (SELECT community_id, member_id FROM fact_touched)"
            )
            self.duck.execute("INSERT INTO fact_state SELECT * FROM fact_patch")
            self.duck.execute("DROP TABLE fact_patch")
        self.duck.execute("DROP TABLE fact_touched")
        return True

    def _exits_sql(self, meta: _Meta, new: _Instants) -> str:
        """Per member: the rows (up to the state's watermark) that slid out of each window."""
        old = self._instants(meta.as_of)

        def slid(before: datetime, after: datetime) -> str:
            return f"occurred_at > {_ts(before)} AND occurred_at <= {_ts(after)}"

        windows = {
            "w7": slid(old.week, new.week),
            "w30": slid(old.recent, new.recent),
            "w90": slid(old.quarter, new.quarter),
            "w120": slid(old.baseline, new.baseline),
        }
        # One range scan per window (DuckDB skips blocks by their min/max of occurred_at), each row
        # tagged with its window (a row can leave two windows in one long step); per identity
        # first, then members through the (small) result.
        slices = " UNION ALL ".join(
            f"SELECT identity_id, community_id, kind, occurred_at, amount_minor, '{name}' AS w"
            f" FROM activities WHERE id <= {meta.watermark} AND {window}"
            for name, window in windows.items()
        )
        return f"""
            SELECT p.community_id, i.member_id, sum(m7) AS m7, sum(m30) AS m30, sum(m90) AS m90,
                sum(i30) AS i30, sum(i120) AS i120, sum(p90) AS p90, sum(s90) AS s90
            FROM (
                SELECT community_id, identity_id,
                    count(*) FILTER (WHERE w = 'w7' AND {_MESSAGE}) AS m7,
                    count(*) FILTER (WHERE w = 'w30' AND {_MESSAGE}) AS m30,
                    count(*) FILTER (WHERE w = 'w90' AND {_MESSAGE}) AS m90,
                    count(*) FILTER (WHERE w = 'w30' AND {_INTERACTION}) AS i30,
                    count(*) FILTER (WHERE w = 'w120' AND {_INTERACTION}) AS i120,
                    count(*) FILTER (WHERE w = 'w90' AND {_PURCHASE}) AS p90,
                    sum(amount_minor) FILTER (WHERE w = 'w90' AND {_PURCHASE}) AS s90
                FROM ({slices}) GROUP BY community_id, identity_id
            ) p JOIN identities i ON p.identity_id = i.id
            GROUP BY p.community_id, i.member_id
        """

    def _next_sql(
        self, old_base: int, base: int, exits: str | None, delta: str | None, source: str = "fact_state f"
    ) -> str:
        """The next state: the old one (`source`, aliased f) shifted (exits subtracted, bits
        re-based), then the new rows' facts folded in with min / max / sum."""
        joins = "" if exits is None else f" LEFT JOIN ({exits}) x USING (community_id, member_id)"

        def minus(column: str, exit_column: str) -> str:
            return f"f.{column} - coalesce(x.{exit_column}, 0)"

        if exits is None:
            expressions = [f"f.{c}" for c in _WINDOWED]
        else:
            expressions = [
                minus("messages_7d", "m7"),
                minus("messages_30d", "m30"),
                minus("messages_90d", "m90"),
                minus("interactions_30d", "i30"),
                "f.interactions_prev_90d + coalesce(x.i30, 0) - coalesce(x.i120, 0)",
                minus("purchases_90d", "p90"),
                "CASE WHEN f.purchases_90d = x.p90 THEN NULL ELSE f.spend_90d_minor - coalesce(x.s90, 0) END",
            ]
        windowed = ", ".join(f"{e} AS {n}" for e, n in zip(expressions, _WINDOWED, strict=True))
        shifted = f"""
            SELECT f.community_id, f.member_id, f.first_join_at, f.last_join_at, f.last_leave_at,
                f.first_seen_at, f.last_seen_at, f.last_message_at, f.last_purchase_at,
                f.messages_total, f.purchases_total, f.spend_minor, {windowed},
                f.day_bits >> {base - old_base} AS day_bits
            FROM {source} {joins}
        """
        if delta is None:
            return f"SELECT * FROM ({shifted}) ORDER BY community_id, member_id"
        merged = ", ".join(
            [f"least(s.{c}, d.{c}) AS {c}" for c in _MIN]
            + [f"greatest(s.{c}, d.{c}) AS {c}" for c in _MAX]
            + [
                f"CASE WHEN s.{c} IS NULL AND d.{c} IS NULL THEN NULL"
                f" ELSE coalesce(s.{c}, 0) + coalesce(d.{c}, 0) END AS {c}"
                for c in _SUM
            ]
            + ["coalesce(s.day_bits, 0) | coalesce(d.day_bits, 0) AS day_bits"]
        )
        return f"""
            SELECT {", ".join(_COLUMN_NAMES)} FROM (
                SELECT coalesce(s.community_id, d.community_id) AS community_id,
                    coalesce(s.member_id, d.member_id) AS member_id, {merged}
                FROM ({shifted}) s FULL OUTER JOIN ({delta}) d
                    ON d.community_id = s.community_id AND d.member_id = s.member_id
            ) ORDER BY community_id, member_id
        """

    def _recompute_moved(self, t: _Instants, base: int, since_seq: int, seq: int, watermark: int) -> None:
        """Members whose identities moved since sync `since_seq`: their rows again, from scratch."""
        self.duck.execute(
            "CREATE OR REPLACE TEMP TABLE fact_moved AS"
            f" SELECT DISTINCT member_id FROM member_changes WHERE seq > {since_seq} AND seq <= {seq}"
        )
        moved = self.duck.execute("SELECT count(*) FROM fact_moved").fetchone()
        if moved is not None and moved[0]:
            self.duck.execute("DELETE FROM fact_state WHERE member_id IN (SELECT member_id FROM fact_moved)")
            self.duck.execute(
                f"INSERT INTO fact_state {_delta_sql(t, base, -1, watermark, only='fact_moved')}"
            )
        self.duck.execute("DROP TABLE fact_moved")

    def _edge_sql(self, t: _Instants) -> str:
        """Per member: any sign of life on the first local day of the 30- and 90-day windows after
        the window's start instant (that day is only partly inside; its bit says nothing)."""
        parts = []
        for name, start, first_day in (
            ("e30", t.recent, t.end_day - (self.windows[0] - 1)),
            ("e90", t.quarter, t.end_day - (_QUARTER_DAYS - 1)),
        ):
            inside = f"a.occurred_at > {_ts(start)} AND a.occurred_at < {_ts(t.day_start(first_day))}"
            other = "e90" if name == "e30" else "e30"
            parts.append(
                f"SELECT community_id, member_id, true AS {name}, false AS {other}"
                f" FROM {_rows(f'{inside} AND a.{_LIFE}')}"
            )
        return (
            "SELECT community_id, member_id, bool_or(e30) AS e30, bool_or(e90) AS e90"
            f" FROM ({parts[0]} UNION ALL BY NAME {parts[1]}) GROUP BY community_id, member_id"
        )

    def read(
        self,
        workspace_id: int,
        members: Collection[int] | None = None,
        batch_rows: int = 20_000,
        *,
        edges: str | None = None,
        memberships: Collection[tuple[int, int]] | None = None,
    ) -> pa.RecordBatchReader:
        """`member_facts` columns as of the state's as-of, per (community, member), ordered, as a
        stream of batches (read it before the next call on this connection); the mask columns
        are bit sets counted by `facts.active_days` (bit order differs). Everyone, or `members`
        (in every community) and `memberships` ((community, member) pairs). With `edges`, the
        name of a table of `facts.window_edges` rows, their two columns are joined on as well."""
        meta = self._meta()
        if meta is None:
            raise RuntimeError("fact_state read before advance")
        t = self._instants(meta.as_of)
        first30, first90 = t.end_day - (self.windows[0] - 1), t.end_day - (_QUARTER_DAYS - 1)
        wanted = self._wanted(members, memberships)
        thirty, ninety = (1 << self.windows[0]) - 1, (1 << _QUARTER_DAYS) - 1
        low46 = (1 << 46) - 1
        edge_columns, edge_join = "", ""
        if edges is not None:
            edge_columns = ", w.oldest_interactions_30d, w.oldest_interactions_prev"
            edge_join = f" LEFT JOIN {edges} w USING (community_id, member_id)"
        query = f"""
            WITH masks AS (
                SELECT s.*,
                    ((s.day_bits >> {first30 - meta.base}) & {thirty}::HUGEINT)
                        | CASE WHEN e.e30 THEN 1::HUGEINT << {self.windows[0]} ELSE 0 END AS m30,
                    ((s.day_bits >> {first90 - meta.base}) & {ninety}::HUGEINT)
                        | CASE WHEN e.e90 THEN 1::HUGEINT << {_QUARTER_DAYS} ELSE 0 END AS m90
                FROM ({self._current(t, meta)}) s
                LEFT JOIN ({self._edge_sql(t)}) e
                    ON e.community_id = s.community_id AND e.member_id = s.member_id
                WHERE s.community_id IN (SELECT id FROM communities WHERE workspace_id = {int(workspace_id)})
                    {wanted}
            )
            SELECT community_id, member_id, {", ".join(_MIN + _MAX)},
                {", ".join(f"{c}::BIGINT AS {c}" for c in _SUM)},
                m30::BIGINT AS active_days_30d_mask,
                (m90 & {low46}::HUGEINT)::BIGINT AS active_days_90d_mask_a,
                (m90 >> 46)::BIGINT AS active_days_90d_mask_b{edge_columns}
            FROM masks{edge_join} ORDER BY community_id, member_id
        """
        return self.duck.execute(query).fetch_record_batch(batch_rows)

    def _wanted(
        self, members: Collection[int] | None, memberships: Collection[tuple[int, int]] | None
    ) -> str:
        """The read's filter: whole members by id, single memberships by one int64 key each (a
        member in eight groups due in one is read once, not eight times)."""
        if members is None and memberships is None:
            return ""
        tables = {
            "fact_members": pa.table({"member_id": pa.array(sorted(members or ()), pa.int64())}),
            "fact_memberships": pa.table(
                {"key": pa.array(sorted((c << 32) + m for c, m in memberships or ()), pa.int64())}
            ),
        }
        for name, table in tables.items():
            self.duck.register(f"{name}_arrow", table)
            self.duck.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
            self.duck.unregister(f"{name}_arrow")
        return (
            " AND (s.member_id IN (SELECT member_id FROM fact_members)"
            " OR (s.community_id::BIGINT << 32) + s.member_id IN (SELECT key FROM fact_memberships))"
        )

    def _current(self, t: _Instants, meta: _Meta) -> str:
        """The state, with the unsettled tail (rows above the watermark) added if there is one."""
        above = self.duck.execute("SELECT count(*) FROM activities WHERE id > ?", [meta.watermark]).fetchone()
        if above is None or not above[0]:
            return "SELECT * FROM fact_state"
        aggregates = ", ".join(
            [f"min({c}) AS {c}" for c in _MIN]
            + [f"max({c}) AS {c}" for c in _MAX]
            + [f"sum({c}) AS {c}" for c in _SUM]
            + ["bit_or(day_bits) AS day_bits"]
        )
        return f"""
            SELECT community_id, member_id, {aggregates} FROM (
                SELECT * FROM fact_state
                UNION ALL BY NAME
                SELECT * FROM ({_delta_sql(t, meta.base, meta.watermark, None)})
            ) GROUP BY community_id, member_id
        """
