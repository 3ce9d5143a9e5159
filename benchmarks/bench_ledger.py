"""Points-ledger throughput: transactions per second on SQLite and PostgreSQL,
one writer and eight concurrent writer processes.

Each transaction is a random mix over 200 members (40% earn, 30% spend,
30% transfer; amounts 1-50), every one with its own idempotency key, through
the public `Ledger` API (own transaction each, as the CLI, the member pages
and playbooks use it). PostgreSQL is a throwaway server started here
(scripts/pg-throwaway, fsync off as in the tests). At the end `verify_ledger`
must be clean and the points held must equal earned − spent.

    .venv/bin/python benchmarks/bench_ledger.py [--ops 3000] [--writers 8]
"""

import argparse
import multiprocessing as mp
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from qunyun.domain import SystemClock
from qunyun.engage.errors import InsufficientPointsError
from qunyun.engage.ledger_verify import verify_ledger
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.store import ensure_workspace, make_engine, migrate
from qunyun.store.tables import members

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 200


def prepare(url: str) -> tuple[int, list[int]]:
    engine = make_engine(url)
    migrate(engine)
    now = SystemClock().now()
    with engine.begin() as conn:
        workspace = ensure_workspace(conn, f"bench-{time.time_ns()}", now)
        ids = []
        for _ in range(MEMBERS):
            row = conn.execute(
                insert(members).values(workspace_id=workspace, display_name="m", created_at=now)
            )
            assert row.inserted_primary_key is not None
            ids.append(int(row.inserted_primary_key[0]))
    ledger = Ledger(engine, workspace, SystemClock(), PointsPolicy(validity_days=365))
    for member in ids:
        ledger.earn(member, 500, key=f"seed-{member}")
    engine.dispose()
    return workspace, ids


def writer(url: str, workspace: int, ids: list[int], ops: int, seed: int) -> int:
    engine = make_engine(url)
    ledger = Ledger(engine, workspace, SystemClock(), PointsPolicy(validity_days=365))
    rng = random.Random(seed)
    done = 0
    for i in range(ops):
        kind = rng.random()
        a, b = rng.sample(ids, 2)
        amount = rng.randint(1, 50)
        key = f"w{seed}-{i}"
        try:
            if kind < 0.4:
                ledger.earn(a, amount, key=key)
            elif kind < 0.7:
                ledger.spend(a, amount, key=key)
            else:
                ledger.transfer(a, b, amount, key=key)
        except InsufficientPointsError:
            pass  # a refused spend is still a transaction attempt answered correctly
        done += 1
    engine.dispose()
    return done


def measure(url: str, writers: int, ops: int) -> float:
    workspace, ids = prepare(url)
    start = time.perf_counter()
    if writers == 1:
        writer(url, workspace, ids, ops, 0)
    else:
        with mp.get_context("spawn").Pool(writers) as pool:
            pool.starmap(writer, [(url, workspace, ids, ops, seed) for seed in range(writers)])
    elapsed = time.perf_counter() - start
    engine = make_engine(url)
    report = verify_ledger(engine, workspace)
    engine.dispose()
    if not report.ok:
        sys.exit(f"ledger not clean after the run: {report.problems[:5]}")
    return writers * ops / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=3000, help="transactions per writer")
    parser.add_argument("--writers", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # Its own directory under /tmp: the server runs as `postgres`, which cannot enter `tmp` (0700).
        pgdir = Path(tempfile.mkdtemp(prefix="qunyun-bench-pg."))
        pg_url = subprocess.run(
            [str(ROOT / "scripts" / "pg-throwaway"), "start", str(pgdir), "55437"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        try:
            for name, url in (("sqlite", f"sqlite:///{tmp}/ledger.db"), ("postgresql", pg_url)):
                one = measure(url, 1, args.ops)
                many = measure(url, args.writers, args.ops)
                print(
                    f"{name}: 1 writer {one:,.0f} tx/s; {args.writers} writers {many:,.0f} tx/s "
                    "(ledger verified)"
                )
        finally:
            subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "stop", str(pgdir)], check=False)


if __name__ == "__main__":
    main()
