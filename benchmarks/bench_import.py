"""Import and refresh at scale: 1M simulated members, ~20M activities, on SQLite.

Prints, for one run on this machine:
- import throughput of `qunyun import csv` (rows/s, end to end: parse, validate,
  resolve identities, dedupe, insert) next to the raw `sqlite3.executemany`
  rate into the same `activities` table, same pragmas, same indexes
  (target: ours >= 1/2 of raw);
- peak memory (max RSS) of the import process (target: < 1 GiB);
- wall time and peak memory of a full `qunyun refresh`.

    .venv/bin/python benchmarks/bench_import.py                 # 1M members (make bench)
    .venv/bin/python benchmarks/bench_import.py --members 50000 # a quick look
"""

import argparse
import csv
import json
import os
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from qunyun.domain import ActivityRecord
from qunyun.ingest.pipeline import STORED_COLUMNS
from qunyun.ingest.rows import RowDefaults, parse_row
from qunyun.sim import SimConfig, Simulator, write_activities_csv
from qunyun.store import make_engine, migrate
from qunyun.store.types import encode_utc

OUT = Path(__file__).parent / "out"
QUNYUN = Path(sys.executable).parent / "qunyun"
# ~20 activities per member on average (docs/simulator.md, volume table).
VIEWS_PER_DAY = 0.2
ACTIVITY_SCALE = 0.3


def generate(members: int, days: int, seed: int) -> tuple[Path, SimConfig, float]:
    config = SimConfig(
        members=members, days=days, seed=seed, views_per_day=VIEWS_PER_DAY, activity_scale=ACTIVITY_SCALE
    )
    path = OUT / f"sim-{members}-{days}-{seed}-v{VIEWS_PER_DAY}-a{ACTIVITY_SCALE}.csv"
    if path.exists():
        return path, config, 0.0
    started = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    write_activities_csv(Simulator(config), tmp)
    tmp.rename(path)
    return path, config, time.perf_counter() - started


def fresh_sqlite(name: str) -> Path:
    db = OUT / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    engine.dispose()
    return db


def raw_executemany(csv_path: Path, chunk: int = 5000) -> tuple[int, float]:
    """Seconds spent in executemany + commit alone; rows prepared outside the timer."""
    db = fresh_sqlite("raw.db")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-131072")
    sql = (
        f"INSERT INTO activities ({', '.join(STORED_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(STORED_COLUMNS))}) ON CONFLICT DO NOTHING"
    )
    ids: dict[str, int] = {}
    defaults = RowDefaults()
    stamp = encode_utc(datetime.fromisoformat("2026-11-24T00:00:00+00:00"), "sqlite")
    spent, total, batch = 0.0, 0, []
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for raw in csv.DictReader(handle):
            record = parse_row(raw, defaults)
            batch.append(_tuple(record, ids, stamp))
            if len(batch) == chunk:
                spent += _timed_insert(conn, sql, batch)
                total += len(batch)
                batch = []
    if batch:
        spent += _timed_insert(conn, sql, batch)
        total += len(batch)
    conn.close()
    return total, spent


def _tuple(record: ActivityRecord, ids: dict[str, int], stamp: str) -> tuple[object, ...]:
    identity = ids.setdefault(record.member, len(ids) + 1)
    return (
        1,
        identity,
        record.kind.value,
        encode_utc(record.occurred_at, "sqlite"),
        record.text,
        record.amount_minor,
        record.currency,
        record.reference_id,
        record.reply_to,
        record.platform.value,
        record.idempotency_key(),
        stamp,
    )


def _timed_insert(conn: sqlite3.Connection, sql: str, batch: list[tuple[object, ...]]) -> float:
    started = time.perf_counter()
    conn.executemany(sql, batch)
    conn.commit()
    return time.perf_counter() - started


# Runs the command as its own child, then reports that child's peak RSS on the last stderr line,
# so each measured command gets its own figure (RUSAGE_CHILDREN is a running maximum).
_MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


def refresh_env() -> dict[str, str]:
    """The environment a benchmarked `qunyun refresh` runs in: the benchmark's key; bytecode
    cached as on an installed system (a shell with PYTHONDONTWRITEBYTECODE set would recompile
    every module on every run, ~5 s); and lifecycle alone. The models' refit (Step 3), the text
    pass (Step 5: every message of a 20M-row history, ~30 min on a first run) and points for first
    messages (Step 6) are other steps' work, timed by their own benchmarks."""
    config = OUT / "bench-refresh.toml"
    config.write_text("[points]\nearn = { checkin = 5 }\n", encoding="utf-8")
    env = {
        **os.environ,
        "QUNYUN_PRIVACY__KEY_FILE": str(OUT / "bench.key"),
        "QUNYUN_MODELS__ENABLED": "false",
        "QUNYUN_TEXT__ENABLED": "false",
        "QUNYUN_CONFIG": str(config),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, int, dict[str, Any]]:
    """Wall seconds, peak RSS (bytes) of the command, and its --json output."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(QUNYUN), *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"qunyun {' '.join(args)} failed:\n{done.stderr}")
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return elapsed, peak_kib * 1024, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-raw", action="store_true", help="Only time qunyun.")
    parser.add_argument(
        "--concurrent", action="store_true", help="Run the raw baseline on the other core at the same time."
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    csv_path, config, gen_seconds = generate(args.members, args.days, args.seed)
    size_mib = csv_path.stat().st_size / 2**20
    made = f", simulated in {gen_seconds:,.0f} s" if gen_seconds else " (cached)"
    print(f"input: {csv_path.name} ({size_mib:,.0f} MiB){made}")

    env = {**os.environ, "QUNYUN_PRIVACY__KEY_FILE": str(OUT / "bench.key")}
    url = f"sqlite:///{fresh_sqlite('ours.db')}"
    raw_job = None
    if args.concurrent and not args.skip_raw:
        # Both on their own core, sharing the disk: halves the wall time of a 20M-row run.
        raw_job = ProcessPoolExecutor(max_workers=1).submit(raw_executemany, csv_path)
    import_s, import_rss, report = run_cli(["import", "csv", str(csv_path), "--db", url], env)
    rows = int(report["rows_read"])
    ours_rate = rows / import_s
    print(
        f"rows: {rows:,} ({rows / args.members:.1f} per member), inserted {report['inserted']:,}, "
        f"rejected {report['rejected']:,}"
    )
    peak = import_rss / 2**20
    print(f"qunyun import csv      : {import_s:8.1f} s  {ours_rate:10,.0f} rows/s  peak RSS {peak:,.0f} MiB")
    if not args.skip_raw:
        raw_rows, raw_s = raw_job.result() if raw_job else raw_executemany(csv_path)
        raw_rate = raw_rows / raw_s
        mode = "concurrently with ours" if raw_job else "after ours"
        print(
            f"raw sqlite3.executemany: {raw_s:8.1f} s  {raw_rate:10,.0f} rows/s  (insert time only, {mode})"
        )
        print(f"ours / raw             : {ours_rate / raw_rate:8.2f}   (target >= 0.50)")
    refresh_s, refresh_rss, refreshed = run_cli(
        ["refresh", "--as-of", config.end.isoformat(), "--db", url], refresh_env()
    )
    print(
        f"qunyun refresh         : {refresh_s:8.1f} s  for {refreshed['memberships']:,} memberships, "
        f"peak RSS {refresh_rss / 2**20:,.0f} MiB"
    )
    print(f"segments: {refreshed['segments']}")


if __name__ == "__main__":
    main()
