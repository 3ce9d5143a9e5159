"""Analytics at scale: member facts through Ibis on DuckDB vs pandas vs the bare DuckDB floor.

Prints, for one database (by default the 1M-member / 20M-activity one that
`bench_import.py` leaves in benchmarks/out/ours.db):
- mirror rebuild (copy of the activity tables into DuckDB), rows/s;
- member facts as our Ibis expression on the DuckDB mirror, fully materialised;
- the same facts in idiomatic pandas (written here), data already in memory;
- the floor: the bare minimum DuckDB query (one GROUP BY member with max
  timestamp and count), the fastest any facts query could be;
- a full `qunyun refresh`, then an incremental one after 1% new activity;
- peak memory of this process and of each refresh.
Targets (issue: Step 2): Ibis >= 3x faster than pandas, within 2x of the floor,
incremental refresh < 10% of a full one, peak memory < 4 GiB.

    .venv/bin/python benchmarks/bench_analytics.py                    # after bench_import.py
    .venv/bin/python benchmarks/bench_analytics.py --members 20000    # builds its own small database
"""

import argparse
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from bench_import import OUT, fresh_sqlite, generate, run_cli

from qunyun.analytics import ActivityMirror, AnalyticsEngine, member_facts, naive_utc
from qunyun.domain import ANY_KINDS, INTERACTION_KINDS, MESSAGE_KINDS, FixedClock
from qunyun.sim import SimConfig, Simulator, write_activities_csv
from qunyun.store import make_engine

FLOOR_SQL = """
SELECT a.community_id, i.member_id, max(a.occurred_at) AS last_seen, count(*) AS n
FROM activities a JOIN identities i ON a.identity_id = i.id
GROUP BY 1, 2
"""


def timed(label: str, work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    print(f"{label:<34}: {seconds:8.2f} s")
    return seconds, result


def pandas_facts(acts: pd.DataFrame, idents: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """The member facts of analytics/facts.py, the way a pandas user would write them."""
    df = acts.merge(idents, left_on="identity_id", right_on="id")
    df = df[df["occurred_at"] <= as_of]
    recent = as_of - pd.Timedelta(days=30)
    baseline = recent - pd.Timedelta(days=90)
    kind = df["kind"]
    message = kind.isin([k.value for k in MESSAGE_KINDS])
    interaction = kind.isin([k.value for k in INTERACTION_KINDS])
    df = df.assign(
        join_at=df["occurred_at"].where(kind == "join"),
        leave_at=df["occurred_at"].where(kind == "leave"),
        life_at=df["occurred_at"].where(kind.isin([k.value for k in ANY_KINDS])),
        message_at=df["occurred_at"].where(message),
        purchase_at=df["occurred_at"].where(kind == "purchase"),
        is_message=message,
        message_30d=message & (df["occurred_at"] > recent),
        interaction_30d=interaction & (df["occurred_at"] > recent),
        interaction_prev=interaction & (df["occurred_at"] > baseline) & (df["occurred_at"] <= recent),
        is_purchase=kind == "purchase",
        spend=df["amount_minor"].where(kind == "purchase"),
    )
    return df.groupby(["community_id", "member_id"]).agg(
        first_join_at=("join_at", "min"),
        last_join_at=("join_at", "max"),
        last_leave_at=("leave_at", "max"),
        first_seen_at=("life_at", "min"),
        last_seen_at=("life_at", "max"),
        last_message_at=("message_at", "max"),
        last_purchase_at=("purchase_at", "max"),
        messages_total=("is_message", "sum"),
        messages_30d=("message_30d", "sum"),
        interactions_30d=("interaction_30d", "sum"),
        interactions_prev_90d=("interaction_prev", "sum"),
        purchases_total=("is_purchase", "sum"),
        spend_minor=("spend", "sum"),
    )


def small_database(members: int) -> str:
    csv_path, _, _ = generate(members, 180, 1)
    url = f"sqlite:///{fresh_sqlite(f'analytics-{members}.db')}"
    run_cli(["import", "csv", str(csv_path), "--db", url], bench_env())
    return url


def bench_env() -> dict[str, str]:
    return {**os.environ, "QUNYUN_PRIVACY__KEY_FILE": str(OUT / "bench.key")}


def one_percent_more(members: int, as_of: Any) -> Path:
    """New activity worth 1% of the database: a small community of fresh members, recent days."""
    extra = SimConfig(
        members=max(1, members // 100),
        days=7,
        seed=99,
        start=as_of - timedelta(days=7),
        community="bench-extra",
        views_per_day=0.2,
        activity_scale=0.3,
    )
    path = OUT / f"extra-{members}.csv"
    write_activities_csv(Simulator(extra), path)
    return path


def compare_facts(url: str, reuse_mirror: bool) -> Any:
    """Mirror, then member facts three ways; returns the data's last instant (aware UTC).

    Everything DuckDB holds is released on return: DuckDB locks its file per
    process, and `qunyun refresh` opens it next.
    """
    engine = make_engine(url)
    now = FixedClock(pd.Timestamp.now(tz="UTC").to_pydatetime())
    if reuse_mirror:
        mirror = ActivityMirror(engine, Path(url.removeprefix("sqlite:///") + ".analytics.duckdb"), now)
        rebuild_s, report = timed("mirror sync (reused)", mirror.sync)
        report.copied = int(mirror.duck.execute("SELECT count(*) FROM activities").fetchone()[0])
    else:
        mirror_path = OUT / "bench-analytics.duckdb"
        mirror_path.unlink(missing_ok=True)
        mirror = ActivityMirror(engine, mirror_path, now)
        rebuild_s, report = timed("mirror rebuild", mirror.rebuild)
    rate = "" if reuse_mirror else f", {report.copied / rebuild_s:,.0f} rows/s"
    print(f"{'':<34}  {report.copied:,} activities{rate}")
    as_of_naive = mirror.duck.execute("SELECT max(occurred_at) FROM activities").fetchone()[0]
    as_of = pd.Timestamp(as_of_naive).tz_localize("UTC").to_pydatetime()
    analytics = AnalyticsEngine.on_mirror(mirror)
    ibis_s, facts = timed(
        "member facts, Ibis on DuckDB", lambda: member_facts(analytics, 1, as_of).to_pyarrow()
    )
    floor_s, _ = timed("bare DuckDB floor (1 GROUP BY)", lambda: mirror.duck.execute(FLOOR_SQL).arrow())
    acts = mirror.duck.execute(
        "SELECT community_id, identity_id, kind, occurred_at, amount_minor FROM activities"
    ).df()
    idents = mirror.duck.execute("SELECT id, member_id FROM identities").df()
    pandas_s, pdf = timed(
        "member facts, idiomatic pandas", lambda: pandas_facts(acts, idents, naive_utc(as_of))
    )
    assert len(pdf) == facts.num_rows, (len(pdf), facts.num_rows)
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{'Ibis vs pandas':<34}: {pandas_s / ibis_s:8.1f}x faster   (target >= 3x)")
    print(f"{'Ibis vs floor':<34}: {ibis_s / floor_s:8.1f}x the floor (target <= 2x)")
    print(f"{'peak memory of this process':<34}: {peak_gib:8.2f} GiB")
    mirror.close()
    engine.dispose()
    return as_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="Source database URL (default: benchmarks/out/ours.db).")
    parser.add_argument("--members", type=int, help="Build a fresh simulated database of this size instead.")
    parser.add_argument(
        "--reuse-mirror",
        action="store_true",
        help="Sync the mirror `qunyun refresh` left instead of rebuilding it.",
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    url = small_database(args.members) if args.members else args.db or f"sqlite:///{OUT / 'ours.db'}"
    as_of = compare_facts(url, args.reuse_mirror)
    env = bench_env()
    at = (as_of + timedelta(hours=1)).isoformat()
    full_s, full_rss, full = run_cli(["refresh", "--as-of", at, "--db", url], env)
    print(
        f"{'qunyun refresh (full)':<34}: {full_s:8.1f} s for {full['memberships']:,} memberships, "
        f"peak RSS {full_rss / 2**30:.2f} GiB"
    )
    extra = one_percent_more(int(full["memberships"]), as_of)
    run_cli(["import", "csv", str(extra), "--db", url], env)
    later = (as_of + timedelta(hours=2)).isoformat()
    inc_s, inc_rss, _ = run_cli(["refresh", "--as-of", later, "--db", url], env)
    print(
        f"{'qunyun refresh after +1% activity':<34}: {inc_s:8.1f} s = {inc_s / full_s:.0%} of full "
        f"(target < 10%), peak RSS {inc_rss / 2**30:.2f} GiB"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
