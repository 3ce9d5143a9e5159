"""The stored behavioural-tag pass (`lifecycle/behaviour_pass.py`) at 1M members.

Runs on a copy of the database `bench_import.py` built (the pass writes `member_behaviour`):
once as of the last activity, then a day later (only the difference is written). The
benchmark database has no interest rows (its text pass is off), so the two interest-based
tags are not exercised.

    cp benchmarks/out/ours.db /tmp/b.db
    cp benchmarks/out/ours.db.analytics.duckdb /tmp/b.db.analytics.duckdb
    .venv/bin/python benchmarks/bench_behaviour.py sqlite:////tmp/b.db
"""

import argparse
import resource
import time
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from qunyun.cli.context import AppContext
from qunyun.lifecycle.behaviour_pass import store_behaviour_tags


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("db", help="database URL of a copy of the benchmark database")
    args = parser.parse_args()
    ctx = AppContext.create(args.db, None)
    duck = ctx.mirror.duck
    last = duck.execute("SELECT max(occurred_at) FROM activities").fetchone()
    workspace = duck.execute("SELECT min(workspace_id) FROM identities").fetchone()
    if not last or last[0] is None or not workspace:
        raise SystemExit(f"{args.db}: its analytics mirror is empty; run bench_import.py first")
    as_of = last[0].replace(tzinfo=UTC)
    for label, at in (("first pass", as_of), ("a day later", as_of + timedelta(days=1))):
        started = time.perf_counter()
        zone = ZoneInfo("Asia/Shanghai")
        report = store_behaviour_tags(ctx.engine, ctx.mirror, int(workspace[0]), at, zone)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{label:12} {time.perf_counter() - started:6.1f} s  {report.members:,} members tagged, "
            f"+{report.added:,} −{report.removed:,}  peak RSS {peak:,.0f} MiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
