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
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_import import OUT, QUNYUN, fresh_sqlite, generate, refresh_env, run_cli

from qunyun.analytics import ActivityMirror, AnalyticsEngine, member_facts, naive_utc, window_edges
from qunyun.analytics.facts import MirroredFacts, active_days
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
    """The member facts of analytics/facts.py, the way a pandas user would write them (all of
    them: the active-day counts as `nunique` of the local day)."""
    df = acts.merge(idents, left_on="identity_id", right_on="id")
    df = df[df["occurred_at"] <= as_of]
    recent = as_of - pd.Timedelta(days=30)
    baseline = recent - pd.Timedelta(days=90)
    kind = df["kind"]
    message = kind.isin([k.value for k in MESSAGE_KINDS])
    interaction = kind.isin([k.value for k in INTERACTION_KINDS])
    week = as_of - pd.Timedelta(days=7)
    quarter = as_of - pd.Timedelta(days=90)
    at = df["occurred_at"]
    life = kind.isin([k.value for k in ANY_KINDS])
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
        message_7d=message & (at > week),
        message_90d=message & (at > quarter),
        purchase_90d=(kind == "purchase") & (at > quarter),
        spend_90d=df["amount_minor"].where((kind == "purchase") & (at > quarter)),
        local_day=(at + pd.Timedelta(hours=8)).dt.floor("D"),
    )
    keys = ["community_id", "member_id"]
    days_30 = df[life & (at > recent)].groupby(keys)["local_day"].nunique().rename("active_days_30d")
    days_90 = df[life & (at > quarter)].groupby(keys)["local_day"].nunique().rename("active_days_90d")
    facts = df.groupby(keys).agg(
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
        messages_7d=("message_7d", "sum"),
        messages_90d=("message_90d", "sum"),
        purchases_90d=("purchase_90d", "sum"),
        spend_90d_minor=("spend_90d", "sum"),
    )
    facts = facts.join(days_30).join(days_90)
    return facts.fillna({"active_days_30d": 0, "active_days_90d": 0})


def agree_with_pandas(facts: Any, pdf: pd.DataFrame) -> None:
    """The two implementations must agree, member by member, on the counts they both compute."""
    ours = facts.to_pandas().set_index(["community_id", "member_id"]).sort_index()
    theirs = pdf.sort_index()
    for column in ("messages_total", "messages_30d", "interactions_prev_90d", "messages_7d", "purchases_90d"):
        assert (ours[column].to_numpy() == theirs[column].to_numpy()).all(), column
    days = [active_days(r) for r in ours[[c for c in ours.columns if "mask" in c]].to_dict("records")]
    assert [d[0] for d in days] == theirs["active_days_30d"].astype(int).tolist(), "active_days_30d"
    assert [d[1] for d in days] == theirs["active_days_90d"].astype(int).tolist(), "active_days_90d"
    print(f"{'Ibis and pandas agree':<34}:  every member, counts and active days")


def _counted(table: Any) -> dict[str, Any]:
    """Columns of a facts table sorted by (community, member), masks replaced by their bit counts."""
    frame = table.to_pandas().sort_values(["community_id", "member_id"], kind="stable")
    masks = [c for c in frame.columns if "mask" in c]
    counted = {c: frame[c].to_numpy() for c in frame.columns if c not in masks}
    bits = [np.bitwise_count(frame[c].fillna(0).to_numpy(dtype=np.int64)) for c in masks]
    counted["active_days_30d"] = bits[0]
    counted["active_days_90d"] = bits[1] + bits[2]
    return counted


def _read_all(reader: Any) -> Any:
    """Every batch of a maintained read, as one table (what the timing must include)."""
    assert reader is not None, "the maintained state refused: an activity after the as-of?"
    return reader.read_all()


def maintained_facts(mirror: ActivityMirror, as_of: Any) -> tuple[float, float]:
    """The maintained state (analytics/fact_state.py): built once, then daily steps (shift, fold,
    read every member) as a daily refresh pays them, each next to a run of the floor (the other
    core may be busy: the best of three of each is compared); checked equal to the scan.
    Returns the best step and the best floor."""
    source = MirroredFacts(mirror, 1)
    timed("maintained state, built once", lambda: _read_all(source.maintained_facts(as_of)))
    timed("maintained facts, read only", lambda: _read_all(source.maintained_facts(as_of)))
    steps, floors = [], []
    for day in (1, 2, 3):
        step_s, stepped = timed(
            f"maintained facts, {day} day(s) later",
            lambda d=day: _read_all(source.maintained_facts(as_of + timedelta(days=d))),
        )
        floor_s, _ = timed("bare DuckDB floor (again)", lambda: mirror.duck.execute(FLOOR_SQL).arrow())
        steps.append(step_s)
        floors.append(floor_s)
    rescanned = member_facts(AnalyticsEngine.on_mirror(mirror), 1, as_of + timedelta(days=3)).to_pyarrow()
    ours, theirs = _counted(stepped), _counted(rescanned)
    assert ours.keys() == theirs.keys()
    for column, values in ours.items():
        other = theirs[column]
        assert len(values) == len(other), column
        same = (values == other) | (pd.isna(values) & pd.isna(other))
        assert bool(np.all(same)), (column, int((~same).sum()))
    print(f"{'maintained and scanned facts agree':<34}:  every member, 3 days later")
    return min(steps), min(floors)


def small_database(members: int) -> str:
    csv_path, _, _ = generate(members, 180, 1)
    url = f"sqlite:///{fresh_sqlite(f'analytics-{members}.db')}"
    run_cli(["import", "csv", str(csv_path), "--db", url], bench_env())
    return url


def bench_env() -> dict[str, str]:
    """The CLI's environment: the benchmark's key, and bytecode cached as on an installed system
    (a shell with PYTHONDONTWRITEBYTECODE set would recompile every module on every run, ~5 s)."""
    env = {**os.environ, "QUNYUN_PRIVACY__KEY_FILE": str(OUT / "bench.key")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def one_percent_more(members: int, as_of: Any, seed: int) -> Path:
    """New activity worth about 1% of the database's rows: a community of fresh members over the
    last 60 days (3% of the members at ~6.7 rows each; a new seed and community each run, so a
    rerun on the same database adds new rows again)."""
    extra = SimConfig(
        members=max(1, members * 3 // 100),
        days=60,
        seed=seed,
        start=as_of - timedelta(days=60),
        community=f"bench-extra-{seed}",
        views_per_day=0.2,
        activity_scale=0.3,
    )
    path = OUT / f"extra-{members}-{seed}.csv"
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
    step_s, step_floor_s = maintained_facts(mirror, as_of)
    # Not facts: where each member's windows end, which a refresh reads beside them to schedule
    # its next look (rules.next_review); paid by every refresh, timed here on its own.
    timed("window edges (refresh only), all", lambda: window_edges(analytics, 1, as_of).to_pyarrow())
    acts = mirror.duck.execute(
        "SELECT community_id, identity_id, kind, occurred_at, amount_minor FROM activities"
    ).df()
    idents = mirror.duck.execute("SELECT id, member_id FROM identities").df()
    pandas_s, pdf = timed(
        "member facts, idiomatic pandas", lambda: pandas_facts(acts, idents, naive_utc(as_of))
    )
    assert len(pdf) == facts.num_rows, (len(pdf), facts.num_rows)
    agree_with_pandas(facts, pdf)
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{'Ibis vs pandas':<34}: {pandas_s / ibis_s:8.1f}x faster   (target >= 3x)")
    print(f"{'Ibis vs floor':<34}: {ibis_s / floor_s:8.1f}x the floor (target <= 2x)")
    print(
        f"{'maintained daily step vs floor':<34}: {step_s / step_floor_s:8.1f}x the floor (best of 3 each; "
        "target <= 2x)"
    )
    print(f"{'peak memory of this process':<34}: {peak_gib:8.2f} GiB")
    mirror.close()
    engine.dispose()
    return as_of


def data_end_of(url: str) -> Any:
    """The last instant of the source data (aware UTC)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        last = conn.exec_driver_sql("SELECT max(occurred_at) FROM activities").scalar()
    engine.dispose()
    stamp = pd.Timestamp(last)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def after_last_refresh(url: str, as_of: Any) -> Any:
    """The data's end, or the last refresh's as-of if a previous run went further (history
    only moves forward, so a rerun on the same database refreshes after it)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        last = conn.exec_driver_sql("SELECT max(as_of) FROM refresh_runs WHERE status = 'done'").scalar()
    engine.dispose()
    if last is None:
        return as_of
    stamp = pd.Timestamp(last)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return max(as_of, stamp.to_pydatetime())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="Source database URL (default: benchmarks/out/ours.db).")
    parser.add_argument("--members", type=int, help="Build a fresh simulated database of this size instead.")
    parser.add_argument(
        "--reuse-mirror",
        action="store_true",
        help="Sync the mirror `qunyun refresh` left instead of rebuilding it.",
    )
    parser.add_argument(
        "--refresh-only", action="store_true", help="Skip the facts comparison and the model fit."
    )
    parser.add_argument("--skip-models", action="store_true", help="Skip the model fit (Step 3).")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    url = small_database(args.members) if args.members else args.db or f"sqlite:///{OUT / 'ours.db'}"
    data_end = data_end_of(url) if args.refresh_only else compare_facts(url, args.reuse_mirror)
    as_of = after_last_refresh(url, data_end)
    # Refresh alone (points for first messages would be ~10k ledger postings after the +1%
    # import, ~25 s: Step 6's work, like the models and the text pass; see refresh_env).
    env = refresh_env()
    # Warm the bytecode caches the way any earlier command would (not timed).
    subprocess.run([str(QUNYUN), "refresh", "--help"], env=env, check=True, capture_output=True)
    at = (as_of + timedelta(hours=1)).isoformat()
    full_s, full_rss, full = run_cli(["refresh", "--full", "--as-of", at, "--db", url], env)
    print(
        f"{'qunyun refresh --full':<34}: {full_s:8.1f} s for {full['memberships']:,} memberships, "
        f"peak RSS {full_rss / 2**30:.2f} GiB"
    )
    engine = make_engine(url)
    with engine.connect() as conn:
        seed = int(conn.exec_driver_sql("SELECT count(*) FROM communities").scalar_one()) + 100
    engine.dispose()
    extra = one_percent_more(int(full["memberships"]), as_of, seed)
    _, _, imported = run_cli(["import", "csv", str(extra), "--db", url], env)
    print(f"{'new activity imported':<34}: {imported['inserted']:,} rows")
    for label, hours in (("refresh after +1% activity", 2), ("refresh a day later, nothing new", 26)):
        later = (as_of + timedelta(hours=hours)).isoformat()
        inc_s, inc_rss, inc = run_cli(["refresh", "--as-of", later, "--db", url], env)
        print(
            f"{label:<34}: {inc_s:8.1f} s = {inc_s / full_s:.0%} of full (target < 10%), "
            f"{inc['mode']}, {inc['memberships']:,} revisited, {inc['recounted']:,} recounted, "
            f"peak RSS {inc_rss / 2**30:.2f} GiB"
        )
    if args.refresh_only or args.skip_models:
        return
    models_s, models_rss, fitted = run_cli(["models", "fit", "--as-of", later, "--db", url], bench_env())
    chosen = ", ".join(f"{c['members']:,} members → {c['chosen']}" for c in fitted["communities"])
    print(
        f"{'qunyun models fit (Step 3)':<34}: {models_s:8.1f} s, "
        f"peak RSS {models_rss / 2**30:.2f} GiB ({chosen})"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
